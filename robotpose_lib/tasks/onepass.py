"""The one-pass instance model (:mod:`..models.onepass`) as a training task for the generic
trainer: the alternative to the recurrent instance model (paper III-C) that the paper names
as future work.

Pieces:

* :func:`make_targets`: a batch's instance masks -> foreground, centre heatmap, offsets
  and offset weights (what a perfect network would output; decoding them gives the
  masks back, ``tests/test_onepass.py``); :func:`perfect_output` those as logits.
* :func:`onepass_loss`: BCE + Dice on the foreground, CenterNet's focal loss on the
  heatmap, L1 on the offsets (:class:`LossWeights`).
* :class:`OnePassModel`: the frozen localization network + :class:`OnePassNet`, on the
  same input F as the recurrent :class:`~.instances.InstanceModel` (it is one, with
  another head), so ``eval.instances.evaluate_instances`` and ``Predictor`` take it as is.
* :class:`OnePassTask`: the trainer's Task (``train.Task``, checkpoint task name
  ``"onepass"``) with ``from_checkpoint``; :func:`onepass_task` builds one from a
  localization checkpoint (``robotpose train onepass``).

Its decoding threshold is calibrated on validation scenes by
``eval.instances.calibrate_decoding``; its evaluation beside the ConvGRU is
``eval/instances.py`` and ``bench/runtime.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as nnf

from ..checkpoint import load_checkpoint, reference_path
from ..models.localization import LocalizationConfig
from ..models.localization import get_config as get_localization_config
from ..models.onepass import OnePassConfig, OnePassNet, OnePassOutput
from ..models.onepass import get_config as get_onepass_config
from .instances import InstanceCollate, InstanceModel, InstanceTask
from .localization import num_joints_of

TASK_NAME = "onepass"


# --------------------------------------------------------------------------- targets
@dataclass
class OnePassTargets:
    """What a perfect :class:`OnePassNet` outputs for a batch (probabilities, not logits).

    Attributes:
        foreground: (B, 1, H, W) union of the robot masks, {0, 1}.
        centre: (B, 1, h, w) max over robots of a Gaussian (sigma ``centre_sigma_px``
            in output pixels) centred on the cell holding the robot's centre; exactly 1
            there.
        offset: (B, 2, h, w) (du, dv) from each cell's centre to the centre of its robot,
            in feature cells: the robot covering most of the cell, or, for a cell no
            robot touches, the robot whose centre is nearest; 0 in robot-free images.
        offset_weight: (B, 1, h, w) 1 on cells a robot touches, ``background_weight``
            on the others of an image with robots, 0 in robot-free images.
        centres: (B, R, 2) robot centres (u, v) in output pixels (mean of the mask's
            pixel coordinates); NaN for padding and empty masks.
        valid: (B, R) bool, which rows are robots.
    """

    foreground: torch.Tensor
    centre: torch.Tensor
    offset: torch.Tensor
    offset_weight: torch.Tensor
    centres: torch.Tensor
    valid: torch.Tensor


def make_targets(masks: torch.Tensor, counts: torch.Tensor, feature_size: tuple[int, int],
                 centre_sigma_px: float = 8.0, background_weight: float = 0.1) -> OnePassTargets:
    """Targets of a batch from its instance masks (see :class:`OnePassTargets`).

    Args:
        masks: float or bool (B, R, H, W) instance masks, zero padded after ``counts``.
        counts: int (B,) robots per image.
        feature_size: (h, w) of the network's centre and offset maps.
        centre_sigma_px: heatmap Gaussian's standard deviation, output pixels.
        background_weight: offset weight of cells without robot pixels.
    """
    if masks.dim() != 4:
        raise ValueError(f"masks: expected (B, R, H, W), got shape {tuple(masks.shape)}")
    counts = torch.as_tensor(counts, device=masks.device)
    if counts.shape != masks.shape[:1]:
        raise ValueError(f"counts: expected ({masks.shape[0]},), got shape {tuple(counts.shape)}")
    if counts.numel() and (int(counts.max()) > masks.shape[1] or int(counts.min()) < 0):
        raise ValueError(f"counts: must be in 0..{masks.shape[1]}, got {counts.tolist()}")
    if not centre_sigma_px > 0:
        raise ValueError(f"centre_sigma_px: must be positive, got {centre_sigma_px}")
    h, w = (int(s) for s in feature_size)
    B, R, H, W = masks.shape
    if not (1 <= h <= H and 1 <= w <= W):
        raise ValueError(f"feature_size: {(h, w)} must be between 1 and the mask size {(H, W)}")
    dev = masks.device
    m = masks.float()
    valid = (torch.arange(R, device=dev)[None] < counts[:, None]) & (m.flatten(2).sum(-1) > 0)
    m = m * valid[..., None, None]
    area = m.sum((-2, -1)).clamp(min=1.0)
    u_px = (m.sum(-2) * torch.arange(W, device=dev, dtype=torch.float32)).sum(-1) / area    # (B, R)
    v_px = (m.sum(-1) * torch.arange(H, device=dev, dtype=torch.float32)).sum(-1) / area
    centres = torch.stack([u_px, v_px], -1).masked_fill(~valid[..., None], float("nan"))
    cu = (u_px + 0.5) * (w / W) - 0.5                                                       # cells
    cv = (v_px + 0.5) * (h / H) - 0.5
    gu = torch.arange(w, device=dev, dtype=torch.float32)
    gv = torch.arange(h, device=dev, dtype=torch.float32)
    peak_u = cu.round().clamp(0, w - 1)
    peak_v = cv.round().clamp(0, h - 1)
    su, sv = centre_sigma_px * w / W, centre_sigma_px * h / H
    gauss = torch.exp(-0.5 * (((gu.view(1, 1, 1, w) - peak_u[..., None, None]) / su) ** 2
                              + ((gv.view(1, 1, h, 1) - peak_v[..., None, None]) / sv) ** 2))  # (B, R, h, w)
    centre = (gauss * valid[..., None, None]).amax(1, keepdim=True)
    coverage = nnf.interpolate(m, size=(h, w), mode="area")                                # (B, R, h, w)
    best, label_cover = coverage.max(1)
    d2 = (gu.view(1, 1, 1, w) - cu[..., None, None]) ** 2 + (gv.view(1, 1, h, 1) - cv[..., None, None]) ** 2
    label_near = d2.masked_fill(~valid[..., None, None], float("inf")).argmin(1)
    touched = best > 0
    label = torch.where(touched, label_cover, label_near)                                 # (B, h, w)
    tu = torch.gather(cu, 1, label.flatten(1)).view(B, h, w) - gu.view(1, 1, w)
    tv = torch.gather(cv, 1, label.flatten(1)).view(B, h, w) - gv.view(1, h, 1)
    any_robot = valid.any(1).float().view(B, 1, 1)
    offset = torch.stack([tu, tv], 1) * any_robot[:, None]
    weight = torch.where(touched, torch.ones_like(best), torch.full_like(best, float(background_weight))) * any_robot
    return OnePassTargets(foreground=m.amax(1, keepdim=True), centre=centre, offset=offset,
                          offset_weight=weight[:, None], centres=centres, valid=valid)


def perfect_output(targets: OnePassTargets, logit: float = 20.0) -> OnePassOutput:
    """The raw output (logits) of a network that predicts ``targets`` exactly."""
    centre = targets.centre.clamp(1e-6, 1 - 1e-6)
    return OnePassOutput(foreground=(2 * targets.foreground - 1) * logit,
                         centre=torch.log(centre / (1 - centre)), offset=targets.offset)


# ------------------------------------------------------------------------------ loss
@dataclass
class LossWeights:
    """Factors of the one-pass loss's terms (ours; Panoptic-DeepLab / CenterNet style).

    Attributes:
        foreground: factor of BCE + soft Dice on the foreground (Dice because robots
            cover a few per cent of the image).
        centre: factor of CenterNet's penalty-reduced focal loss (alpha 2, beta 4) on the
            heatmap, normalised by the number of robots.
        offset: factor of the weighted mean L1 offset error, in feature cells.
        background_offset: offset weight of cells no robot touches (they are
            interpolated into the robot's edge pixels at decoding).
    """

    foreground: float = 1.0
    centre: float = 1.0
    offset: float = 0.1
    background_offset: float = 0.1

    def __post_init__(self):
        for f in fields(self):
            if not float(getattr(self, f.name)) >= 0:
                raise ValueError(f"{f.name}: loss weight must be >= 0, got {getattr(self, f.name)}")

    def to_dict(self) -> dict:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


def focal_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float = 2.0, beta: float = 4.0) -> torch.Tensor:
    """CenterNet's heatmap loss: logits and Gaussian target (B, 1, h, w); cells where the
    target is 1 are the positives. Summed, divided by max(1, positives)."""
    logits, target = logits.float(), target.float()
    p = torch.sigmoid(logits)
    positive = target >= 1 - 1e-6
    pos = nnf.logsigmoid(logits) * (1 - p) ** alpha
    neg = nnf.logsigmoid(-logits) * p ** alpha * (1 - target) ** beta
    loss = -(torch.where(positive, pos, neg)).sum()
    return loss / positive.sum().clamp(min=1)


def dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - soft Dice of the whole batch (B, 1, H, W), smoothed by 1 pixel. Over the batch,
    not per image: a robot-free image would make a per-image Dice punish any faint
    foreground as much as a missed robot."""
    p = torch.sigmoid(logits.float())
    t = target.float()
    return 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)


def onepass_loss(out: OnePassOutput, targets: OnePassTargets,
                 weights: LossWeights = LossWeights()) -> tuple[torch.Tensor, dict[str, float]]:
    """(scalar loss, logged parts) of raw outputs against :func:`make_targets`."""
    bce = nnf.binary_cross_entropy_with_logits(out.foreground.float(), targets.foreground)
    dice = dice_loss(out.foreground, targets.foreground)
    centre = focal_loss(out.centre, targets.centre)
    w = targets.offset_weight
    offset = ((out.offset.float() - targets.offset).abs() * w).sum() / (2 * w.sum()).clamp(min=1e-6)
    loss = weights.foreground * (bce + dice) + weights.centre * centre + weights.offset * offset
    parts = {"loss": float(loss.detach()), "bce": float(bce.detach()), "dice": float(dice.detach()),
             "centre": float(centre.detach()), "offset_cells": float(offset.detach())}
    return loss, parts


# ------------------------------------------------------------------------ model, task
class OnePassModel(InstanceModel):
    """Localization network + :class:`OnePassNet` (in ``.instances``, where ``Predictor``
    looks): images (B, 3, H, W) -> :class:`OnePassOutput` with the foreground at (H, W).
    ``predict`` (inherited) gives per image the ``Instance`` records."""

    def forward(self, images: torch.Tensor) -> OnePassOutput:
        return self.instances(self.instance_input(images), tuple(images.shape[-2:]))


class OnePassTask(InstanceTask):
    """The one-pass instance model as a trainer Task (``train.Task``).

    Args:
        robot: robot name (checkpoint metadata; J).
        config: the head's :class:`OnePassConfig`.
        localization_config: the localization network's configuration; its ``input_size``
            is the training image size.
        num_joints: J.
        localization_checkpoint: localization weights :meth:`build_model` loads (None:
            an untrained localization net).
        finetune_localization: train the localization net too.
        weights: the loss's :class:`LossWeights`.
    """

    name = TASK_NAME

    def __init__(self, robot: str, config: OnePassConfig, localization_config: LocalizationConfig,
                 num_joints: int, localization_checkpoint: str | Path | None = None,
                 finetune_localization: bool = False, weights: LossWeights | None = None):
        super().__init__(robot, config, localization_config, num_joints, localization_checkpoint,
                         finetune_localization)
        self.weights = weights or LossWeights()
        self.collate = InstanceCollate(self.input_size)

    def config_dict(self) -> dict:
        return {**self.config.to_dict(), "localization": self.localization_config.to_dict(),
                "finetune_localization": self.finetune_localization, "loss": self.weights.to_dict()}

    def build_model(self) -> OnePassModel:
        localization, in_channels = self.build_localization()
        return OnePassModel(localization, OnePassNet(in_channels, self.config), self.finetune_localization)

    def loss(self, model, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        out = model(batch["images"])
        targets = make_targets(batch["masks"], batch["counts"], tuple(out.centre.shape[-2:]),
                               self.config.centre_sigma_px, self.weights.background_offset)
        loss, parts = onepass_loss(out, targets, self.weights)
        parts["robots_per_image"] = float(batch["counts"].float().mean())
        return loss, parts

    @classmethod
    def from_checkpoint(cls, ckpt: dict) -> "OnePassTask":
        config = dict(ckpt["config"])
        localization = LocalizationConfig.from_dict(config.pop("localization"))
        finetune = bool(config.pop("finetune_localization", False))
        weights = LossWeights(**config.pop("loss", {}))
        task = cls(ckpt["robot"], OnePassConfig.from_dict(config), localization, ckpt["extra"]["num_joints"],
                   None, finetune, weights)
        task._weights_from_checkpoint = True
        return task


def onepass_task(config: str, robot: str, localization_checkpoint: str | Path | None = None,
                 **overrides) -> OnePassTask:
    """A one-pass task for a robot: named head config (+ overrides of
    :class:`OnePassConfig` or :class:`LossWeights` fields, and ``finetune_localization``),
    on the localization checkpoint given, by default the shipped
    ``{robot}_localization_{config}.pt`` ("quick" proceeds without one, on an untrained
    localization net of the same name)."""
    loss_keys = {f.name for f in fields(LossWeights)}
    model_keys = {f.name for f in fields(OnePassConfig)} - {"name"}
    bad = sorted(set(overrides) - loss_keys - model_keys - {"finetune_localization"})
    if bad:
        raise ValueError(f"override: unknown field(s) {bad} (expected {sorted(model_keys | loss_keys)} "
                         f"or finetune_localization)")
    finetune = bool(overrides.pop("finetune_localization", False))
    weights = LossWeights(**{k: overrides.pop(k) for k in list(overrides) if k in loss_keys})
    path = Path(localization_checkpoint) if localization_checkpoint else reference_path(robot, "localization", config)
    if not path.is_file():
        if localization_checkpoint or config != "quick":
            raise FileNotFoundError(f"{path}: localization checkpoint not found")
        path, localization_config = None, get_localization_config(config)
    else:
        ckpt = load_checkpoint(path, expect={"task": "localization", "robot": robot})
        localization_config = LocalizationConfig.from_dict(ckpt["config"])
    return OnePassTask(robot, get_onepass_config(config, **overrides), localization_config,
                       num_joints_of(robot), path, finetune, weights)
