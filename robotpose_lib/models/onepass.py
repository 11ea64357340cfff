"""One-pass robot instances: centres and offsets instead of one recurrent step per robot.

The paper's instance model (III-C, :mod:`.instances`) emits one robot per ConvGRU step, so
its cost grows with the number of robots, and the paper calls it tricky to train. This
model is the alternative the paper names as future work, in the style of
Panoptic-DeepLab (Cheng et al. 2020) and CenterNet (Zhou et al. 2019): one forward pass
on the same input ``F`` the ConvGRU reads (base features + last-stage beliefs + depth at
the feature stride s, see :func:`.instances.build_instance_input`) predicts

* ``foreground`` (B, 1, H, W) logits: robot or not, at the requested output size
  (the ConvGRU's refine block: up-sampling stages to stride 2, then a bilinear resize);
* ``centre`` (B, 1, h, w) logits: a heatmap peaking at each robot's centre (the mean
  pixel of its visible mask), at the feature resolution;
* ``offset`` (B, 2, h, w): (du, dv) from each feature cell to the centre of the robot it
  belongs to, in feature cells (one cell is W/w by H/h output pixels).

Network: a 1x1 stem to ``width`` channels, residual 3x3 blocks with growing dilation
(1, 2, 4, 8: a receptive field of the whole 30x40 grid at stride 8, so a cell at a
robot's gripper can point at a centre far away), then three small heads.

Decoding (:func:`decode_masks`), per image, a fixed amount of work plus a distance
table of (robots x pixels):

1. centre peaks: k x k max-pool NMS on the centre heatmap (``centre_nms`` k, 3 by
   default), peaks above ``centre_threshold``, at most ``max_instances``;
2. every pixel with foreground probability above ``MASK_FLOOR`` (0.05) votes for ``its
   position + offset`` (offsets bilinearly up-sampled to the output size) and is
   assigned to the nearest peak; the other pixels belong to no robot;
3. instance k's mask is foreground probability x [pixel assigned to k]; an instance whose
   mask has fewer than ``min_active_fraction`` of the image's pixels above
   ``activation_threshold`` is dropped; score = centre peak x mean foreground over its
   activated pixels.

An image without a centre peak or without foreground gives no instance. The output is the
recurrent model's :class:`.instances.Instance` records, so ``ap.instances_to_detections``,
``eval.instances.evaluate_instances`` and ``Predictor`` treat both models alike.

The centre threshold and the NMS window are buffers of the module (saved with the weights),
so they are calibrated per checkpoint on a validation seed
(``eval.instances.calibrate_decoding``). A wider window than Panoptic-DeepLab's 3x3
matters here: at stride 8 a 3x3 window lets two peaks 16 px apart on one robot both count,
and that duplicate was the one-pass model's commonest counting error (see the issue-10 note).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as nnf
from torch import nn

from ..config import ConfigDict
from ..presets import build_configs, pick

from ..structures import DEFAULT_MIN_ACTIVE_FRACTION, masks_to_boxes
from .instances import FeatureHead, Instance, RefineBlock


def check_nms_window(window: int) -> None:
    """ValueError unless ``window`` is an odd positive int (an NMS window centred on its cell)."""
    if isinstance(window, bool) or int(window) != window or window < 1 or window % 2 == 0:
        raise ValueError(f"centre_nms: expected an odd positive number of cells, got {window!r}")


@dataclass
class OnePassConfig(ConfigDict):
    """Sizes of the one-pass instance model (ours; not in the paper).

    Attributes:
        name: label stored in checkpoints.
        width: channels of the stem, the dilated blocks and the heads.
        dilations: one residual [conv3x3 (dilation d), BN, ReLU] block per entry.
        refine_channels: channels of the foreground head's up-sampling stages (each x2),
            as the ConvGRU's refine block (``InstanceConfig.refine_channels``).
        centre_sigma_px: standard deviation of the centre heatmap's Gaussian, output
            pixels (Panoptic-DeepLab: 8 px).
        centre_threshold: default centre peak threshold of decoding (a buffer of the
            model afterwards, calibrated per checkpoint).
        centre_nms: default side, in feature cells (odd), of the NMS window on the centre
            heatmap (a buffer afterwards, calibrated with the threshold).
    """

    name: str = "custom"
    width: int = 64
    dilations: tuple[int, ...] = (1, 2, 4, 8)
    refine_channels: tuple[int, ...] = (32, 16)
    centre_sigma_px: float = 8.0
    centre_threshold: float = 0.3
    centre_nms: int = 3

    def __post_init__(self):
        if self.width < 1:
            raise ValueError(f"width: must be positive, got {self.width}")
        if any(int(d) < 1 for d in self.dilations):
            raise ValueError(f"dilations: must be positive integers, got {list(self.dilations)}")
        if not self.centre_sigma_px > 0:
            raise ValueError(f"centre_sigma_px: must be positive, got {self.centre_sigma_px}")
        if not 0.0 <= self.centre_threshold <= 1.0:
            raise ValueError(f"centre_threshold: must be in [0, 1], got {self.centre_threshold}")
        check_nms_window(self.centre_nms)


# the named presets (``presets.py``: every preset's settings, defined once)
CONFIGS: dict[str, OnePassConfig] = build_configs(OnePassConfig, "onepass")


def get_config(name: str, **overrides) -> OnePassConfig:
    """A named configuration ("cpu", "gpu", "quick") with optional field overrides."""
    return pick(CONFIGS, name, **overrides)


@dataclass
class OnePassOutput:
    """Raw outputs of :class:`OnePassNet` (logits and offsets, float).

    Attributes:
        foreground: (B, 1, H, W) robot-vs-background logits at the output size.
        centre: (B, 1, h, w) centre heatmap logits at the feature resolution.
        offset: (B, 2, h, w) (du, dv) to the robot's centre, in feature cells.
    """

    foreground: torch.Tensor
    centre: torch.Tensor
    offset: torch.Tensor


class _DilatedBlock(nn.Module):
    """x + ReLU(BN(conv3x3_dilated(x))): (B, C, h, w) -> (B, C, h, w)."""

    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation, bias=False)
        self.norm = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.relu(self.norm(self.conv(x)))


def _head(width: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(width, out, 1))


class OnePassNet(FeatureHead):
    """F (B, C_in, h, w) -> :class:`OnePassOutput` in one pass, whatever the robot count.
    Arguments as :class:`instances.FeatureHead` (config: an :class:`OnePassConfig`, default
    "cpu")."""

    def __init__(self, in_channels: int, config: OnePassConfig | str = "cpu"):
        super().__init__(in_channels, config, get_config)
        width = self.config.width
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 1, bias=False), nn.BatchNorm2d(width),
                                  nn.ReLU(inplace=True))
        self.blocks = nn.Sequential(*[_DilatedBlock(width, int(d)) for d in self.config.dilations])
        self.centre_head = _head(width, 1)
        self.offset_head = _head(width, 2)
        self.foreground_head = RefineBlock(width, self.config.refine_channels)
        with torch.no_grad():  # heatmap starts near 0.01 everywhere (CenterNet's prior)
            self.centre_head[-1].bias.fill_(math.log(0.01 / 0.99))
        self.register_buffer("centre_threshold", torch.tensor(float(self.config.centre_threshold)))
        self.register_buffer("centre_nms", torch.tensor(int(self.config.centre_nms)))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # checkpoints from before the calibrated NMS window decoded with 3x3: keep that
        state_dict.setdefault(prefix + "centre_nms", torch.tensor(3))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _check_input(self, f: torch.Tensor) -> None:
        if f.dim() != 4 or f.shape[1] != self.in_channels:
            raise ValueError(f"F: expected (B, {self.in_channels}, h, w), got shape {tuple(f.shape)}")

    def forward(self, f: torch.Tensor, out_size: tuple[int, int]) -> OnePassOutput:
        """F (B, C_in, h, w) -> outputs; ``out_size`` (H, W) of the foreground logits."""
        self._check_input(f)
        x = self.blocks(self.stem(f))
        return OnePassOutput(foreground=self.foreground_head(x, tuple(out_size)),
                             centre=self.centre_head(x), offset=self.offset_head(x))

    @torch.no_grad()
    def predict(
        self,
        f: torch.Tensor,
        out_size: tuple[int, int],
        min_active_fraction: float = DEFAULT_MIN_ACTIVE_FRACTION,
        max_instances: int = 10,
        activation_threshold: float = 0.5,
        box_threshold: float = 0.6,
        centre_threshold: float | None = None,
        centre_nms: int | None = None,
    ) -> list[list[Instance]]:
        """Instances per image, with the keywords of :meth:`InstanceNet.predict`.

        ``min_active_fraction`` here is the smallest share of the image an instance's
        activated pixels must cover (the recurrent model uses it to stop). Runs in eval
        mode (restoring the previous mode) without gradients.

        Returns:
            per image, the instances by decreasing score.
        """
        was_training = self.training
        self.eval()
        try:
            out = self(f, out_size)
        finally:
            self.train(was_training)
        threshold = float(self.centre_threshold) if centre_threshold is None else centre_threshold
        window = int(self.centre_nms) if centre_nms is None else centre_nms
        return decode_batch(out, min_active_fraction=min_active_fraction, max_instances=max_instances,
                            activation_threshold=activation_threshold, box_threshold=box_threshold,
                            centre_threshold=threshold, centre_nms=window)


# -------------------------------------------------------------------------- decoding
# Pixels whose foreground probability is at most this belong to no instance (0 in every
# mask); decoding assigns only the others to centres.
MASK_FLOOR = 0.05


def cell_centres(size: tuple[int, int], out_size: tuple[int, int], device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Output-pixel coordinates (u (w,), v (h,)) of the centres of an (h, w) grid laid over
    an (H, W) image (pixel centres at integers: cell j spans pixels j*W/w - 0.5 .. (j+1)*W/w - 0.5)."""
    (h, w), (height, width) = size, out_size
    u = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) * (width / w) - 0.5
    v = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) * (height / h) - 0.5
    return u, v


def find_centres(centre: torch.Tensor, threshold: float, max_instances: int,
                 window: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Peaks of one heatmap (h, w) in [0, 1]: ``window`` x ``window`` NMS, value >
    ``threshold``, the ``max_instances`` highest. Returns (cells (K, 2) long (row, col),
    values (K,))."""
    check_nms_window(window)
    window = int(window)
    pooled = nnf.max_pool2d(centre[None, None], window, stride=1, padding=window // 2)[0, 0]
    keep = (centre == pooled) & (centre > threshold)
    cells = torch.nonzero(keep)
    values = centre[keep]
    order = torch.argsort(values, descending=True)[:max_instances]
    return cells[order], values[order]


def decode_masks(
    foreground: torch.Tensor,
    centre: torch.Tensor,
    offset: torch.Tensor,
    min_active_fraction: float = DEFAULT_MIN_ACTIVE_FRACTION,
    max_instances: int = 10,
    activation_threshold: float = 0.5,
    box_threshold: float = 0.6,
    centre_threshold: float = 0.3,
    centre_nms: int = 3,
) -> list[Instance]:
    """Instances of one image from probabilities (see the module docstring).

    Args:
        foreground: (H, W) robot probability at the output size.
        centre: (h, w) centre heatmap in [0, 1].
        offset: (2, h, w) (du, dv) to the centre in feature cells.
        centre_nms: side of the NMS window on ``centre``, in cells (odd).

    Returns:
        instances by decreasing score; mask (H, W) float = foreground where the pixel is
        assigned to the instance, else 0 (pixels at most ``MASK_FLOOR`` are in no
        instance); box from the mask's pixels above
        ``box_threshold``.
    """
    if foreground.dim() != 2 or centre.dim() != 2 or offset.dim() != 3 or offset.shape[0] != 2 \
            or offset.shape[1:] != centre.shape:
        raise ValueError(f"foreground/centre/offset: expected (H, W), (h, w), (2, h, w), got "
                         f"{tuple(foreground.shape)}, {tuple(centre.shape)}, {tuple(offset.shape)}")
    if not 0.0 <= min_active_fraction <= 1.0:
        raise ValueError(f"min_active_fraction: must be in [0, 1], got {min_active_fraction}")
    if max_instances < 0:
        raise ValueError(f"max_instances: must be >= 0, got {max_instances}")
    foreground, centre, offset = foreground.float(), centre.float(), offset.float()
    (height, width), (h, w) = foreground.shape, centre.shape
    active = foreground > activation_threshold
    if max_instances == 0 or not bool(active.any()):
        return []
    cells, peaks = find_centres(centre, centre_threshold, max_instances, centre_nms)
    if len(peaks) == 0:
        return []
    cu, cv = cell_centres((h, w), (height, width), device=centre.device)
    centres = torch.stack([cu[cells[:, 1]], cv[cells[:, 0]]], dim=1)            # (K, 2) output pixels
    # Only pixels with some foreground are assigned (the rest are 0 in every mask): the
    # work per robot is then a pass over those pixels, not over the image.
    fg = foreground.reshape(-1)
    support = torch.nonzero(fg > min(MASK_FLOOR, activation_threshold, box_threshold)).flatten()   # (P,)
    scale = torch.tensor([width / w, height / h], device=offset.device).view(2, 1, 1)
    votes = nnf.interpolate((offset * scale)[None], size=(height, width), mode="bilinear",
                            align_corners=False)[0].reshape(2, -1)[:, support]      # (2, P) pixels
    pu = (support % width).float() + votes[0]
    pv = torch.div(support, width, rounding_mode="floor").float() + votes[1]
    K = len(peaks)
    best = (pu - centres[0, 0]) ** 2 + (pv - centres[0, 1]) ** 2
    owner = torch.zeros_like(support)
    for k in range(1, K):  # nearest centre; K <= max_instances, a few cheap passes over P
        d = (pu - centres[k, 0]) ** 2 + (pv - centres[k, 1]) ** 2
        closer = d < best
        best = torch.where(closer, d, best)
        owner = torch.where(closer, k, owner)
    values = fg[support]
    # per instance sums by bincount / scatter over all P pixels (no boolean selection,
    # whose cost grew with the robots found)
    on = values > activation_threshold
    n_active = torch.bincount(owner, weights=on.double(), minlength=K)
    fg_sum = torch.bincount(owner, weights=values.double() * on, minlength=K)
    min_pixels = max(1.0, min_active_fraction * height * width)
    keep = torch.nonzero(n_active >= min_pixels).flatten()
    if len(keep) == 0:
        return []
    scores = (peaks.double() * fg_sum / n_active.clamp(min=1))[keep]
    keep = keep[torch.argsort(scores, descending=True, stable=True)]
    # row of each centre in the mask stack; centres dropped go to a spare last row
    rank = torch.full((K,), len(keep), dtype=torch.long, device=fg.device)
    rank[keep] = torch.arange(len(keep), device=fg.device)
    masks = fg.new_zeros(len(keep) + 1, height * width)
    masks[rank[owner], support] = values
    masks = masks[:-1].view(len(keep), height, width)
    boxes = masks_to_boxes(masks > box_threshold)   # the box rule of the recurrent model
    found = []
    scores = (peaks.double() * fg_sum / n_active.clamp(min=1)).tolist()
    for i, k in enumerate(keep.tolist()):
        found.append(Instance(masks[i], scores[k], boxes[i] if bool(boxes[i, 2] > boxes[i, 0]) else None))
    return found


def decode_batch(out: OnePassOutput, **kwargs) -> list[list[Instance]]:
    """:func:`decode_masks` for every image of a batch of raw outputs (logits)."""
    foreground = torch.sigmoid(out.foreground.float())[:, 0]
    centre = torch.sigmoid(out.centre.float())[:, 0]
    return [decode_masks(foreground[b], centre[b], out.offset[b].float(), **kwargs)
            for b in range(foreground.shape[0])]
