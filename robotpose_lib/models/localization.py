"""The staged joint localization network (paper section III-B, Fig. 4).

image (B, 3, H, W) --backbone--> features F (B, C, H/s, W/s)
stage 1:  F            -> n1 x C(k1, width) -> 1x1 head_width + ReLU -> 1x1 (J+1) -> sigmoid
stage t:  [F, out_t-1] -> nt x C(kt, width) -> 1x1 head_width + ReLU -> 1x1 (J+1) -> sigmoid
U block:  out_t -> nearest up-sampling x s -> m x C(3, up_width) -> 3x3 conv (J+1) -> sigmoid

C(k, n) is conv kxk with n channels (no bias) + BN + ReLU. Channels 0..J-1 of every output
are the joint belief maps, channel J the encoded (inverse) depth map. Losses apply to the
up-sampled outputs of every stage; at inference only the last stage is used.

Named configurations (:func:`get_config`; their settings are defined in ``presets.py``):
- ``paper``: VGG16 features, 128-wide stages with 7x7 later kernels, 480x640 input, five
  stages (the public printout has six: 25.9 M parameters).
- ``cpu``: the reference model trained on a 2-core CPU; frozen ImageNet-pretrained
  EfficientNet-Lite0 cut at stride 8, three 64-wide stages with 5x5 later kernels,
  240x320 input. Chosen for samples per second (see ``robotpose bench``); ``cpu_ft`` is
  the same with the backbone fine-tuned.
- ``gpu``: the paper's stages on a fine-tuned Lite0 at 240x320, for a GPU (no download).
- ``quick``: a tiny model that trains in a minute (CI, live demos).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ConfigDict
from ..presets import build_configs, pick

from .backbones import build_backbone, set_frozen_eval


@dataclass
class LocalizationConfig(ConfigDict):
    """Architecture and input size of a :class:`LocalizationNet` (paper III-B, Fig. 4).

    Attributes:
        name: label stored in checkpoints.
        backbone: "vgg16" (paper), "lite0_s4", "lite0_s8", "lite1_s8" or "lite2_s8"
            (see models.backbones.BACKBONES).
        backbone_weights: "imagenet" or None.
        freeze_backbone: keep backbone weights and BN statistics fixed.
        stages: number of stages N (paper 5, printout 6).
        width: channels of the C blocks inside a stage (paper 128).
        stage1_kernel, stage1_blocks: kernel and count of stage 1's C blocks (paper 3, 3).
        later_kernel, later_blocks: the same for stages 2..N (paper 7, 5).
        head_width: channels of the 1x1 layer before the output (paper 512).
        upsample_width, upsample_blocks: C(3x3) blocks of the U block.
        input_size: (H, W) the images are resized to before the network, pixels.
        depth_context: residual dilated 3x3 blocks (dilations 1, 2, 4, 8, ...) that correct
            the last stage's depth at the feature stride; 0 (the paper) for none. Not in the
            paper: the depth diagnosis found most of the depth error shared by all joints of
            one robot (its distance), and a later stage's 5x5 kernels at stride 8 do not see
            a whole near robot. See :class:`DepthContext`.
    """

    name: str = "custom"
    backbone: str = "vgg16"
    backbone_weights: str | None = "imagenet"
    freeze_backbone: bool = False
    stages: int = 5
    width: int = 128
    stage1_kernel: int = 3
    stage1_blocks: int = 3
    later_kernel: int = 7
    later_blocks: int = 5
    head_width: int = 512
    upsample_width: int = 16
    upsample_blocks: int = 1
    input_size: tuple[int, int] = (480, 640)
    depth_context: int = 0



# the named presets (``presets.py``: every preset's settings, defined once)
CONFIGS: dict[str, LocalizationConfig] = build_configs(LocalizationConfig, "localization")


def get_config(name: str, **overrides) -> LocalizationConfig:
    """A named configuration ("paper", "cpu", "quick") with optional field overrides."""
    return pick(CONFIGS, name, **overrides)


def conv_block(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    """C block of Fig. 4: conv kxk (same padding, no bias) + BN + ReLU."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


def _init_output_bias(conv: nn.Conv2d, belief_prior: float = 0.01) -> None:
    """Start belief channels near ``belief_prior`` instead of sigmoid(0) = 0.5: beliefs are
    almost everywhere 0, so this skips the first hundreds of steps that would otherwise
    only learn the background. The last channel (depth) keeps bias 0."""
    with torch.no_grad():
        conv.bias[:-1].fill_(float(torch.logit(torch.tensor(belief_prior))))
        conv.bias[-1:].zero_()


class Stage(nn.Module):
    """One refinement stage: (B, c_in, h, w) -> (B, J+1, h, w) in [0, 1]."""

    def __init__(self, c_in: int, out_channels: int, width: int, kernel: int, blocks: int,
                 head_width: int):
        super().__init__()
        layers = [conv_block(c_in if i == 0 else width, width, kernel) for i in range(blocks)]
        layers += [nn.Conv2d(width, head_width, 1), nn.ReLU(inplace=True),
                   nn.Conv2d(head_width, out_channels, 1), nn.Sigmoid()]
        self.body = nn.Sequential(*layers)
        _init_output_bias(layers[-2])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class UpBlock(nn.Module):
    """U block of Fig. 4: nearest up-sampling by ``scale``, C(3x3) blocks, 3x3 conv, sigmoid.
    (B, J+1, h, w) -> (B, J+1, h * scale, w * scale) in [0, 1]."""

    def __init__(self, channels: int, scale: int, width: int, blocks: int):
        super().__init__()
        self.scale = scale
        layers = [conv_block(channels if i == 0 else width, width, 3) for i in range(blocks)]
        layers += [nn.Conv2d(width if blocks else channels, channels, 3, padding=1), nn.Sigmoid()]
        self.body = nn.Sequential(*layers)
        _init_output_bias(layers[-2])

    def forward(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        # Up-sample to the exact input size (handles sizes not divisible by the stride).
        return self.body(F.interpolate(x, size=size, mode="nearest"))


class DepthContext(nn.Module):
    """Correction of the last stage's depth from a wide context (ours, not the paper's).

    ``blocks`` residual blocks of a dilated 3x3 convolution (dilation 2^i) + ReLU on
    ``width`` channels read the base features and the last stage's output, (B, c_in, h, w),
    and a 1x1 convolution gives a logit correction (B, 1, h, w) that
    :class:`LocalizationNet` adds to the depth channel's logit. Four blocks see 31x31
    cells (248 px at stride 8): a whole robot, so its apparent size can set its distance.
    The last convolution starts at zero, so a model warm-started from one without this
    branch starts with exactly its predictions.
    """

    def __init__(self, c_in: int, width: int, blocks: int):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(c_in, width, 1), nn.ReLU(inplace=True))
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(width, width, 3, padding=2 ** i, dilation=2 ** i), nn.ReLU(inplace=True))
            for i in range(blocks))
        self.out = nn.Conv2d(width, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = x + block(x)
        return self.out(x)


@dataclass
class LocalizationOutput:
    """What :class:`LocalizationNet` returns.

    Attributes:
        features: (B, C, H/s, W/s) base features (the instance model reuses them).
        low_res: per stage (B, J+1, H/s, W/s) outputs before the U block.
        stages: per stage (beliefs (B, J, H, W), depth (B, 1, H, W)) at input resolution,
            both in [0, 1] (depth is encoded, see targets.DepthCoding). Only the last stage
            when the forward pass was asked for ``upsample="last"``.
    """

    features: torch.Tensor
    low_res: list[torch.Tensor]
    stages: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)

    @property
    def beliefs(self) -> torch.Tensor:
        """(B, J, H, W) beliefs of the last stage."""
        return self.stages[-1][0]

    @property
    def depth(self) -> torch.Tensor:
        """(B, 1, H, W) encoded depth of the last stage."""
        return self.stages[-1][1]


class LocalizationNet(nn.Module):
    """Staged joint belief + depth network (paper Fig. 4).

    Args:
        config: a :class:`LocalizationConfig` (or a name of one).
        num_joints: J, keypoints per robot.
    """

    def __init__(self, config: LocalizationConfig | str, num_joints: int):
        super().__init__()
        if isinstance(config, str):
            config = get_config(config)
        if num_joints < 1:
            raise ValueError(f"num_joints: expected >= 1, got {num_joints}")
        if config.stages < 1:
            raise ValueError(f"config.stages: expected >= 1, got {config.stages}")
        self.config = config
        self.num_joints = num_joints
        self.backbone = build_backbone(config.backbone, config.backbone_weights,
                                       config.freeze_backbone)
        c_feat, c_out = self.backbone.out_channels, num_joints + 1
        self.stages = nn.ModuleList()
        for i in range(config.stages):
            if i == 0:
                stage = Stage(c_feat, c_out, config.width, config.stage1_kernel,
                              config.stage1_blocks, config.head_width)
            else:
                stage = Stage(c_feat + c_out, c_out, config.width, config.later_kernel,
                              config.later_blocks, config.head_width)
            self.stages.append(stage)
        self.upsample = nn.ModuleList(
            UpBlock(c_out, self.backbone.stride, config.upsample_width, config.upsample_blocks)
            for _ in range(config.stages))
        if config.depth_context < 0:
            raise ValueError(f"config.depth_context: expected >= 0, got {config.depth_context}")
        self.depth_context = (DepthContext(c_feat + c_out, config.width, config.depth_context)
                              if config.depth_context else None)

    # Weights a warm start may lack: branches whose output starts at zero (see train.py).
    WARM_START_OPTIONAL = ("depth_context.",)

    @property
    def stride(self) -> int:
        return self.backbone.stride

    def train(self, mode: bool = True):
        super().train(mode)
        set_frozen_eval(self)
        return self

    def forward(self, images: torch.Tensor, upsample: str = "all") -> LocalizationOutput:
        """images float (B, 3, H, W) in [0, 1] -> :class:`LocalizationOutput`.

        ``upsample="last"`` runs the U block for the last stage only (inference)."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images: expected (B, 3, H, W), got {tuple(images.shape)}")
        if upsample not in ("all", "last"):
            raise ValueError(f"upsample: expected 'all' or 'last', got {upsample!r}")
        size = (images.shape[-2], images.shape[-1])
        features = self.backbone(images)
        out = LocalizationOutput(features=features, low_res=[])
        prev = None
        for stage in self.stages:
            prev = stage(features if prev is None else torch.cat([features, prev], dim=1))
            out.low_res.append(prev)
        if self.depth_context is not None:
            J = self.num_joints
            correction = self.depth_context(torch.cat([features, prev], dim=1))
            depth = torch.sigmoid(torch.logit(prev[:, J:].float(), eps=1e-4) + correction.float()).to(prev.dtype)
            out.low_res[-1] = torch.cat([prev[:, :J], depth], dim=1)
        J = self.num_joints
        for i, (low, up) in enumerate(zip(out.low_res, self.upsample)):
            if upsample == "last" and i < len(out.low_res) - 1:
                continue
            full = up(low, size)
            out.stages.append((full[:, :J], full[:, J:]))
        return out


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (all, or only those with requires_grad)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_flops(model: nn.Module, input_size: tuple[int, int], upsample: str = "last") -> int:
    """FLOPs (multiply and add counted separately, i.e. 2 x MACs) of one forward pass of a
    single (1, 3, H, W) image, as counted by ``torch.utils.flop_counter.FlopCounterMode``
    (convolutions and matrix products; element-wise ops are not counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    device = next(model.parameters()).device
    x = torch.zeros(1, 3, *input_size, device=device)
    was_training = model.training
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x, upsample=upsample)
    model.train(was_training)
    return int(counter.get_total_flops())
