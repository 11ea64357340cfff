"""Tests of the recurrent instance model (paper III-C) and a tiny training run with the
matching loss."""
import contextlib

import pytest
import torch
import torch.nn.functional as nnf

from robotpose_lib.matching import matching_loss
from robotpose_lib.models.instances import (
    CONFIGS,
    ConvGRUCell,
    InstanceConfig,
    InstanceNet,
    build_instance_input,
    count_parameters,
    get_config,
    PAPER_MIN_ACTIVE_FRACTION,
)
from robotpose_lib.structures import activated_box


@contextlib.contextmanager
def _one_thread():
    # The test machine's cores are shared; one thread avoids oversubscription stalls.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@pytest.mark.parametrize("name, stride", [("quick", 8), ("cpu", 8), ("paper", 4)])
def test_forward_gives_one_full_resolution_mask_per_step(name, stride):
    torch.manual_seed(0)
    height, width = 32, 48
    net = InstanceNet(12, name)
    f = torch.randn(2, 12, height // stride, width // stride)
    masks = net(f, steps=3, out_size=(height, width))
    assert masks.shape == (2, 3, height, width)
    assert masks.min() >= 0 and masks.max() <= 1
    # every step differs: the state evolves although the input F is the same
    assert (masks[:, 0] - masks[:, 1]).abs().max() > 0


def test_conv_gru_cell_matches_the_gru_equations_on_concatenated_input():
    torch.manual_seed(1)
    cell = ConvGRUCell(5, 4, kernel_size=3)
    x, h = torch.randn(2, 5, 6, 7), torch.randn(2, 4, 6, 7)
    wx, bx = cell.input_conv.weight, cell.input_conv.bias
    wz, wr = cell.gate_conv.weight.chunk(2, dim=0)
    z = torch.sigmoid(nnf.conv2d(torch.cat([x, h], 1), torch.cat([wx[:4], wz], 1), bx[:4], padding=1))
    r = torch.sigmoid(nnf.conv2d(torch.cat([x, h], 1), torch.cat([wx[4:8], wr], 1), bx[4:8], padding=1))
    n = torch.tanh(nnf.conv2d(torch.cat([x, r * h], 1), torch.cat([wx[8:], cell.candidate_conv.weight], 1),
                              bx[8:], padding=1))
    expected = (1 - z) * n + z * h
    torch.testing.assert_close(cell(x, h), expected, rtol=1e-5, atol=1e-6)


def test_paper_config_sizes():
    config = get_config("paper")
    assert config.hidden_channels == 263 and config.gate_kernel == 3
    assert config.context_dropout == 0.25 and config.leaky_slope == 0.01
    net = InstanceNet(256 + 7, config)
    c, k = 263, 3
    expected_cell = (c + c) * 3 * c * k * k + 3 * c  # gates over [F, h], input biases only
    assert count_parameters(net.cell) == expected_cell
    assert any(isinstance(m, torch.nn.Dropout2d) and m.p == 0.25 for m in net.context.modules())
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in net.context.modules()) == len(config.context_channels)
    assert InstanceConfig.from_dict(config.to_dict()) == config
    assert set(CONFIGS) == {"paper", "cpu", "gpu", "quick"}


def test_build_instance_input_pools_maps_to_the_feature_resolution():
    features = torch.randn(2, 6, 4, 5)
    beliefs = torch.rand(2, 3, 16, 20)
    depth = torch.rand(2, 16, 20)
    f = build_instance_input(features, beliefs, depth)
    assert f.shape == (2, 6 + 3 + 1, 4, 5)
    torch.testing.assert_close(f[:, :6], features)
    torch.testing.assert_close(f[0, 6, 1, 2], beliefs[0, 0, 4:8, 8:12].mean())
    torch.testing.assert_close(f[1, 9, 3, 4], depth[1, 12:16, 16:20].mean())


def test_activated_box_uses_outer_pixel_edges():
    mask = torch.zeros(5, 6)
    mask[2, 3] = 0.7
    mask[1, 1] = 0.55  # below the box threshold
    torch.testing.assert_close(activated_box(mask, 0.6), torch.tensor([2.5, 1.5, 3.5, 2.5]))
    assert activated_box(torch.zeros(5, 6)) is None


def test_predict_stops_at_the_first_mask_with_too_few_active_pixels(monkeypatch):
    net = InstanceNet(4, "quick")
    height, width = 10, 10
    sequences = []  # per step, masks (B=2, 10, 10)
    for active_rows in [(5, 1), (1, 0), (0, 0)]:  # image 0: 50%, 10%, 0%; image 1: 10%, 0%
        masks = torch.zeros(2, height, width)
        for b, rows in enumerate(active_rows):
            masks[b, :rows] = 0.8
            masks[b, :rows, 0] = 0.55  # activated (> 0.5) but not in the box (< 0.6)
        sequences.append(masks)
    calls = iter(sequences)
    monkeypatch.setattr(net, "step", lambda x_gates, h, out_size, canvas=None: (next(calls), h))
    net.train()
    result = net.predict(torch.zeros(2, 4, 2, 2), (height, width), min_active_fraction=0.05)
    assert net.training  # mode restored
    assert [len(r) for r in result] == [2, 1]
    first = result[0][0]
    assert first.score == pytest.approx((45 * 0.8 + 5 * 0.55) / 50)  # mean over activated pixels
    torch.testing.assert_close(first.box, torch.tensor([0.5, -0.5, 9.5, 4.5]))
    assert result[0][1].mask[0, 5] == pytest.approx(0.8)


def test_predict_respects_max_instances():
    net = InstanceNet(4, "quick")
    torch.nn.init.zeros_(net.refine.to_logits.weight)
    torch.nn.init.constant_(net.refine.to_logits.bias, 5.0)  # every pixel active, every step
    result = net.predict(torch.randn(1, 4, 2, 3), (8, 12), max_instances=4)
    assert len(result[0]) == 4
    assert result[0][0].score == pytest.approx(torch.sigmoid(torch.tensor(5.0)).item(), rel=1e-5)
    torch.testing.assert_close(result[0][0].box, torch.tensor([-0.5, -0.5, 11.5, 7.5]))
    torch.nn.init.constant_(net.refine.to_logits.bias, -5.0)
    assert net.predict(torch.randn(1, 4, 2, 3), (8, 12)) == [[]]


def test_bad_inputs_raise_one_clear_error():
    net = InstanceNet(4, "quick")
    with pytest.raises(ValueError, match="F: expected"):
        net(torch.zeros(1, 5, 2, 2), 2, (8, 8))
    with pytest.raises(ValueError, match="steps"):
        net(torch.zeros(1, 4, 2, 2), 0, (8, 8))
    with pytest.raises(ValueError, match="config"):
        InstanceNet(4, "huge")
    with pytest.raises(ValueError, match="unknown fields"):
        InstanceConfig.from_dict({"hidden": 3})


def _disc_scene(height=32, width=32, stride=4):
    """Two images: one disc 'robot' in the first, two in the second; hand-made F."""
    v, u = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")

    def disc(cu, cv, radius):
        return (((u - cu) ** 2 + (v - cv) ** 2) <= radius**2).float()

    targets = torch.zeros(2, 2, height, width)
    targets[0, 0] = disc(10, 12, 6)
    targets[1, 0], targets[1, 1] = disc(8, 8, 5), disc(22, 21, 7)
    counts = torch.tensor([1, 2])
    # F: the union of the discs (what beliefs would show), pixel coordinates, noise
    size = (height // stride, width // stride)
    union = nnf.interpolate(targets.amax(1, keepdim=True), size=size, mode="area")
    gv, gu = torch.meshgrid(torch.linspace(-1, 1, size[0]), torch.linspace(-1, 1, size[1]), indexing="ij")
    noise = torch.randn(2, 4, *size, generator=torch.Generator().manual_seed(0))
    f = torch.cat([union, gu.expand(2, 1, -1, -1), gv.expand(2, 1, -1, -1), noise], dim=1)
    return f, targets, counts


def test_overfits_one_batch_of_disc_robots_with_the_matching_loss():
    torch.manual_seed(0)
    f, targets, counts = _disc_scene()
    net = InstanceNet(f.shape[1], get_config("quick", context_dropout=0.0))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    with _one_thread():
        for _ in range(100):
            result = matching_loss(net(f, steps=3, out_size=(32, 32)), targets, counts)
            optimizer.zero_grad()
            result.loss.backward()
            optimizer.step()
            losses.append(result.loss.item())
        assert losses[-1] < 0.25 * losses[0]
        # inference with the paper's stopping rule finds one and two robots
        found = net.predict(f, (32, 32), min_active_fraction=PAPER_MIN_ACTIVE_FRACTION)
    assert [len(r) for r in found] == [1, 2]
    for instances, image_targets in zip(found, targets):
        for instance in instances:
            overlap = max(
                float(((instance.mask > 0.5) & (t > 0)).sum() / ((instance.mask > 0.5) | (t > 0)).sum())
                for t in image_targets
            )
            assert overlap > 0.6


def test_disc_batch_is_reproducible_and_consistent():
    from robotpose_lib.toy import TOY_INPUT_CHANNELS, disc_batch

    f, targets, counts = disc_batch(6, torch.Generator().manual_seed(0), size=(32, 32), stride=4, max_robots=3)
    again = disc_batch(6, torch.Generator().manual_seed(0), size=(32, 32), stride=4, max_robots=3)
    assert all(torch.equal(a, b) for a, b in zip((f, targets, counts), again))
    assert f.shape == (6, TOY_INPUT_CHANNELS, 8, 8) and targets.shape == (6, 3, 32, 32)
    present = targets.flatten(2).sum(-1) > 0
    assert torch.equal(present.sum(1), counts)  # one non-empty mask per disc, padding empty
    torch.testing.assert_close(f[:, 0], nnf.avg_pool2d(targets.amax(1, keepdim=True), 4)[:, 0])
    with pytest.raises(ValueError, match="stride"):
        disc_batch(1, torch.Generator(), size=(30, 32), stride=4)


def test_canvas_feedback_unrolls_like_predict_and_sees_the_canvas():
    """With canvas feedback, training's unrolled forward and inference's step loop give the
    same masks, and the canvas changes what a step emits."""
    from dataclasses import replace

    torch.manual_seed(0)
    net = InstanceNet(4, replace(get_config("quick"), canvas_feedback=True)).eval()
    torch.nn.init.normal_(net.canvas_conv.weight, std=0.5)
    torch.nn.init.constant_(net.refine.to_logits.bias, 3.0)  # active masks: every step runs
    f = torch.randn(2, 4, 4, 6)
    with torch.no_grad():
        unrolled = net(f, 3, (16, 24))
    found = net.predict(f, (16, 24), min_active_fraction=0.0, max_instances=3)
    for b in range(2):
        for t in range(3):
            torch.testing.assert_close(found[b][t].mask, unrolled[b, t])
    with torch.no_grad():
        x_gates = net.cell.input_gates(f)
        h0 = net.context(f)
        empty = torch.zeros(2, 1, 4, 6)
        a, _ = net.step(x_gates, h0, (16, 24), empty)
        b, _ = net.step(x_gates, h0, (16, 24), torch.ones(2, 1, 4, 6))
    assert not torch.allclose(a, b)


def test_step_purity_tells_one_robot_per_step_from_unions():
    from robotpose_lib.eval.instances import step_purity

    targets = torch.zeros(1, 2, 8, 8)
    targets[0, 0, :, :4] = 1
    targets[0, 1, :, 4:] = 1
    one_each = targets.clone()
    union = targets.amax(1, keepdim=True).expand(1, 2, 8, 8)
    p = step_purity(one_each.numpy(), targets.numpy(), [2])
    assert p["single"] == 1.0 and p["union"] == 0.0 and p["repeated"] == 0.0
    p = step_purity(union.numpy(), targets.numpy(), [2])
    assert p["union"] == 1.0 and p["repeated"] == 1.0
    assert step_purity(one_each.numpy()[:, :1], targets.numpy()[:, :1], [1])["steps"] == 0  # one robot: skipped
