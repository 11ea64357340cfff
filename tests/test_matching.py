"""Tests of the Hungarian soft-IoU instance loss (paper eq. 4-6)."""
import itertools

import numpy as np
import pytest
import torch

from robotpose_lib.matching import matching_loss, soft_iou_cost, stack_instance_targets


def _random_masks(generator, count, height=12, width=10, binary=True):
    values = torch.rand(count, height, width, generator=generator)
    return (values > 0.6).float() if binary else values


def test_soft_iou_cost_matches_a_direct_loop():
    g = torch.Generator().manual_seed(0)
    targets = _random_masks(g, 3)
    predictions = _random_masks(g, 4, binary=False)
    cost = soft_iou_cost(targets, predictions, eps=0.0)
    for i in range(3):
        for j in range(4):
            k = float((targets[i] * predictions[j]).sum())
            expected = 1 - k / (float(targets[i].sum()) + float(predictions[j].sum()) - k)
            assert cost[i, j].item() == pytest.approx(expected, rel=1e-5)


def test_soft_iou_of_binary_masks_is_one_minus_iou():
    a = torch.zeros(1, 4, 4)
    b = torch.zeros(1, 4, 4)
    a[0, :2, :] = 1  # 8 pixels
    b[0, 1:3, :] = 1  # 8 pixels, 4 shared
    assert soft_iou_cost(a, b, eps=0.0).item() == pytest.approx(1 - 4 / 12)


def test_loss_is_zero_for_perfect_predictions_in_any_order():
    g = torch.Generator().manual_seed(1)
    targets = _random_masks(g, 3)
    predictions = torch.cat([targets[[2, 0, 1]], torch.zeros(1, 12, 10)]).unsqueeze(0)
    result = matching_loss(predictions, targets.unsqueeze(0), [3])
    assert result.loss.item() == pytest.approx(0.0, abs=1e-6)
    # target 0 was predicted at step 1, target 1 at step 2, target 2 at step 0
    assert result.assignments[0].tolist() == [1, 2, 0]


def test_loss_is_invariant_to_permuting_targets():
    g = torch.Generator().manual_seed(2)
    targets = _random_masks(g, 4)
    predictions = _random_masks(g, 5, binary=False).unsqueeze(0)
    permutation = [3, 1, 0, 2]
    base = matching_loss(predictions, targets.unsqueeze(0), [4])
    permuted = matching_loss(predictions, targets[permutation].unsqueeze(0), [4])
    assert permuted.loss.item() == pytest.approx(base.loss.item(), rel=1e-6)
    # the same prediction follows each robot around
    assert permuted.assignments[0].tolist() == base.assignments[0][permutation].tolist()


def test_matching_is_the_minimum_over_all_permutations():
    g = torch.Generator().manual_seed(3)
    targets = _random_masks(g, 4)
    predictions = _random_masks(g, 5, binary=False)
    result = matching_loss(predictions.unsqueeze(0), targets.unsqueeze(0), [4], eos_weight=0.0)
    cost = soft_iou_cost(targets, predictions[:4]).numpy()
    brute = min(sum(cost[i, p[i]] for i in range(4)) for p in itertools.permutations(range(4)))
    assert result.loss.item() == pytest.approx(brute, rel=1e-5)
    assert np.allclose(result.costs[0], cost, atol=1e-6)


def test_end_of_sequence_term_is_the_mean_square_of_step_r_plus_one():
    g = torch.Generator().manual_seed(4)
    targets = _random_masks(g, 2)
    predictions = torch.cat([targets, _random_masks(g, 2, binary=False)]).unsqueeze(0)
    result = matching_loss(predictions, targets.unsqueeze(0), [2], eos_weight=2.0)
    expected_eos = float(predictions[0, 2].pow(2).mean())  # step 4 (index 3) is ignored
    assert result.eos_error.item() == pytest.approx(expected_eos, rel=1e-6)
    assert result.loss.item() == pytest.approx(2.0 * expected_eos, abs=1e-5)


def test_scene_without_robots_trains_the_end_of_sequence_mask_only():
    predictions = torch.full((1, 2, 6, 6), 0.5, requires_grad=True)
    targets, counts = stack_instance_targets([np.zeros((0, 6, 6), bool)])
    result = matching_loss(predictions, targets, counts)
    assert result.loss.item() == pytest.approx(0.25)
    result.loss.backward()
    assert predictions.grad[0, 0].abs().sum() > 0
    assert predictions.grad[0, 1].abs().sum() == 0
    assert result.assignments[0].shape == (0,) and result.costs[0].shape == (0, 0)


def test_batched_loss_equals_the_mean_of_single_image_losses_and_gradient_flows():
    g = torch.Generator().manual_seed(5)
    masks = [_random_masks(g, 2).numpy() > 0, _random_masks(g, 0).numpy() > 0, _random_masks(g, 3).numpy() > 0]
    targets, counts = stack_instance_targets(masks)
    assert targets.shape == (3, 3, 12, 10) and counts.tolist() == [2, 0, 3]
    predictions = torch.rand(3, 4, 12, 10, generator=g).requires_grad_(True)
    result = matching_loss(predictions, targets, counts)
    singles = []
    for b, m in enumerate(masks):
        single_targets, single_counts = stack_instance_targets([m])
        singles.append(matching_loss(predictions[b : b + 1], single_targets, single_counts).loss.item())
    assert result.loss.item() == pytest.approx(float(np.mean(singles)), rel=1e-6)
    result.loss.backward()
    grad = predictions.grad
    assert torch.isfinite(grad).all()
    # image 0 (R=2): steps 0..2 get gradient, step 3 none; image 1 (R=0): only step 0
    assert grad[0, :3].abs().sum() > 0 and grad[0, 3].abs().sum() == 0
    assert grad[1, 0].abs().sum() > 0 and grad[1, 1:].abs().sum() == 0
    assert grad[2].abs().flatten(1).sum(1).gt(0).all()


def test_bad_inputs_raise_one_clear_error():
    targets = torch.zeros(1, 2, 4, 4)
    with pytest.raises(ValueError, match="steps"):
        matching_loss(torch.zeros(1, 2, 4, 4), targets, [2])
    with pytest.raises(ValueError, match="counts"):
        matching_loss(torch.zeros(1, 3, 4, 4), targets, [3])
    with pytest.raises(ValueError, match="targets"):
        matching_loss(torch.zeros(1, 3, 4, 4), torch.zeros(1, 2, 5, 4), [1])
    with pytest.raises(ValueError, match=r"masks\[1\]"):
        stack_instance_targets([np.zeros((1, 4, 4)), np.zeros((1, 5, 4))])


def test_half_precision_predictions_do_not_overflow():
    # 400 x 400 = 160,000 pixels: a sum over the mask overflows float16 (max 65504)
    g = torch.Generator().manual_seed(6)
    targets = (torch.rand(1, 1, 400, 400, generator=g) > 0.3).float()
    predictions = torch.rand(1, 2, 400, 400, generator=g)
    full = matching_loss(predictions, targets, [1]).loss
    half = matching_loss(predictions.half(), targets.half(), [1]).loss
    assert torch.isfinite(half) and half.dtype == torch.float32
    assert half.item() == pytest.approx(full.item(), rel=1e-3)
