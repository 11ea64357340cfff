"""The one-pass instance model (:mod:`.models.onepass`) as a training task, its evaluation
and its runtime against the recurrent model.

Pieces:

* :func:`make_targets`: a batch's instance masks -> foreground, centre heatmap, offsets
  and offset weights (what a perfect network would output; decoding them gives the
  masks back, ``tests/test_onepass.py``).
* :func:`onepass_loss`: BCE + Dice on the foreground, CenterNet's focal loss on the
  heatmap, L1 on the offsets.
* :class:`OnePassModel`: the frozen localization network + :class:`OnePassNet`, on the
  same input F as the recurrent :class:`~.tasks.instances.InstanceModel` (it is one, with
  another head), so ``eval.instances.evaluate_instances`` and ``Predictor`` take it as is.
* :class:`OnePassTask`: the trainer's Task (``train.train``); :func:`onepass_task`
  builds one from a localization checkpoint; :func:`load_onepass` reads a checkpoint.
* :func:`calibrate_centre_threshold`: the decoding threshold that counts best on a
  validation seed, stored in the model (and so in its checkpoint).
* :func:`runtime_by_robot_count`: instance-stage milliseconds for scenes with 1..6
  robots, one-pass beside the ConvGRU.

CLI (not a ``robotpose`` subcommand)::

    python -m robotpose_lib.onepass_task study --checkpoint RUN/checkpoint.pt --n 100 --json RUN/study.json
    python -m robotpose_lib.onepass_task runtime --checkpoint RUN/checkpoint.pt --repeats 30 --json RUN/runtime.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as nnf

from .checkpoint import CheckpointError, load_checkpoint, reference_path
from .eval.instances import evaluate_instances
from .models.instances import DEFAULT_MIN_ACTIVE_FRACTION
from .tasks.instances import InstanceCollate, InstanceModel, InstanceTask
from .models.localization import LocalizationConfig, LocalizationNet
from .models.onepass import OnePassConfig, OnePassNet, OnePassOutput, decode_batch
from .models.onepass import get_config as get_onepass_config
from .types import Sample

TASK_NAME = "onepass"
# Validation scenes for calibrating the centre threshold: neither a training seed (small
# integers) nor the test seed (eval.testset.TEST_SEED = 12019).
VALIDATION_SEED = 31_337
# Robot-free scenes (as measured for the Predictor in the project's history: seed 777).
ROBOT_FREE_SEED = 777
THRESHOLD_GRID = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7)


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
        loc_config = self.localization_config
        if self._weights_from_checkpoint:
            loc_config = replace(loc_config, backbone_weights=None)
        localization = LocalizationNet(loc_config, self.num_joints)
        if self.localization_checkpoint is not None and not self._weights_from_checkpoint:
            ckpt = load_checkpoint(self.localization_checkpoint,
                                   expect={"task": "localization", "config": self.localization_config.to_dict()})
            localization.load_state_dict(ckpt["model"])
        in_channels = localization.backbone.out_channels + self.num_joints + 1
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
    from .models.localization import get_config as get_localization_config
    from .tasks import num_joints_of

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


def load_onepass(path: str | Path, device=None) -> tuple[OnePassModel, OnePassTask, dict]:
    """(model in eval mode on ``device``, task, checkpoint dict) from a one-pass checkpoint;
    a checkpoint of another task is a one-line CheckpointError."""
    from .config import resolve_device

    ckpt = load_checkpoint(path, expect={"task": TASK_NAME})
    try:
        task = OnePassTask.from_checkpoint(ckpt)
        model = task.build_model()
        model.load_state_dict(ckpt["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: one-pass checkpoint does not fit its configuration "
                              f"({str(exc).splitlines()[0][:120]})") from None
    return model.to(resolve_device(device)).eval(), task, ckpt


# ------------------------------------------------------------------------ evaluation
def summarize(results: dict) -> dict:
    """The headline figures of ``evaluate_instances`` results as plain floats."""
    counting = {str(row["true_count"]): {"images": row["images"], "accuracy": row["accuracy"],
                                         "mean_predicted": row["mean_predicted"]} for row in results["counting"]}
    return {"mask_ap50": results["mask"].at(0.5), "mask_ap": results["mask"].mean_ap,
            "box_ap50": results["box"].at(0.5), "box_ap": results["box"].mean_ap,
            "counting_accuracy": counting["all"]["accuracy"], "counting": counting}


@torch.no_grad()
def raw_outputs(model: OnePassModel, samples: Sequence[Sample], input_size: tuple[int, int], batch_size: int = 4,
                device=None) -> tuple[list[OnePassOutput], list[dict]]:
    """Network outputs and collated batches (CPU) for ``samples`` at ``input_size``."""
    from .config import resolve_device

    device = resolve_device(device)
    collate = InstanceCollate(input_size)
    model.eval()
    outs, batches = [], []
    for start in range(0, len(samples), batch_size):
        batch = collate([samples[i] for i in range(start, min(start + batch_size, len(samples)))])
        out = model(batch["images"].to(device))
        outs.append(OnePassOutput(*(t.float().cpu() for t in (out.foreground, out.centre, out.offset))))
        batches.append(batch)
    return outs, batches


def calibrate_centre_threshold(model: OnePassModel, samples: Sequence[Sample], input_size: tuple[int, int],
                               grid: Sequence[float] = THRESHOLD_GRID,
                               min_active_fraction: float = DEFAULT_MIN_ACTIVE_FRACTION,
                               batch_size: int = 4, device=None) -> tuple[float, list[dict]]:
    """Pick the centre threshold with the highest counting accuracy + mask AP@0.5 on
    ``samples`` (ties: the lower threshold) and store it in ``model``.

    Both terms, not counting alone: on 40 validation scenes counting accuracy moves in
    steps of 0.025, and alone it chose a threshold (0.4) that gave up 0.12 of mask AP@0.5
    for one more scene counted right (panda, step 2,400; see the issue-10 note).

    Returns:
        (chosen threshold, rows {"threshold", "counting_accuracy", "mask_ap50"}).
    """
    from .ap import average_precision, instances_to_detections

    if not samples:
        raise ValueError("samples: need at least one validation scene")
    outs, batches = raw_outputs(model, samples, input_size, batch_size, device)
    rows = []
    for threshold in grid:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"grid: thresholds must be in [0, 1], got {threshold}")
        scores, masks, truths, right = [], [], [], []
        for out, batch in zip(outs, batches):
            for b, found in enumerate(decode_batch(out, centre_threshold=threshold,
                                                   min_active_fraction=min_active_fraction)):
                count = int(batch["counts"][b])
                s, _, mk = instances_to_detections(found)
                scores.append(s)
                masks.append(mk if len(found) else np.zeros((0, *input_size), bool))
                truths.append(batch["masks"][b, :count].numpy() > 0.5)
                right.append(len(found) == count)
        ap50 = average_precision(scores, masks, truths, kind="mask").at(0.5)
        rows.append({"threshold": float(threshold), "counting_accuracy": float(np.mean(right)), "mask_ap50": ap50})
    best = max(rows, key=lambda r: (r["counting_accuracy"] + np.nan_to_num(r["mask_ap50"]), -r["threshold"]))
    model.instances.centre_threshold.fill_(best["threshold"])
    return best["threshold"], rows


# --------------------------------------------------------------------------- runtime
def _median_ms(times: list[float]) -> float:
    return float(np.median(times) * 1000.0)


@torch.no_grad()
def runtime_by_robot_count(onepass: OnePassModel, convgru: InstanceModel | None, robot: str,
                           counts: Sequence[int] = (1, 2, 3, 4, 5, 6), repeats: int = 10, warmup: int = 2,
                           min_active_fraction: float = DEFAULT_MIN_ACTIVE_FRACTION, seed: int = 0) -> list[dict]:
    """Milliseconds of the instance stage on synthetic 480x640 scenes with each robot count
    (``bench.runtime.scene_with_robots``), resized to the models' input size; medians
    over ``repeats``, rounds interleaved over counts and models (a shared machine's load
    spreads over all rows alike).

    Rows: "robots" asked, "scene_robots" rendered, "localization_ms" (forward pass, shared
    by both models), "onepass_ms" (head + decoding) and "onepass_found";
    "onepass_forced_ms" (every local maximum of the heatmap a centre, at most ``robots``
    of them, no area rule: the decoding cost with as many instances as robots, whatever
    the model finds); "convgru_ms" / "convgru_found" (its stopping rule) and
    "convgru_forced_ms" (exactly robots + 1 steps, the cost when it counts right) when
    ``convgru`` is given.
    """
    from .bench.runtime import scene_with_robots
    from .targets import image_to_tensor, resize_sample

    size = tuple(onepass.localization.config.input_size)
    scenes = {}
    for n in counts:
        sample = resize_sample(scene_with_robots(robot, n, seed), size)
        images = image_to_tensor(sample.image)[None]
        own = None if convgru is None else convgru.instance_input(images)  # its own localization weights
        scenes[n] = (sample.num_robots, images, onepass.instance_input(images), own)
    onepass.eval()
    if convgru is not None:
        convgru.eval()
    timers = {"localization_ms": lambda n: onepass.instance_input(scenes[n][1]),
              "onepass_ms": lambda n: onepass.instances.predict(scenes[n][2], size,
                                                                min_active_fraction=min_active_fraction),
              "onepass_forced_ms": lambda n: onepass.instances.predict(scenes[n][2], size, min_active_fraction=0.0,
                                                                       max_instances=n, centre_threshold=0.0)}
    if convgru is not None:
        timers["convgru_ms"] = lambda n: convgru.instances.predict(scenes[n][3], size,
                                                                   min_active_fraction=min_active_fraction)
        timers["convgru_forced_ms"] = lambda n: convgru.instances.predict(scenes[n][3], size,
                                                                          min_active_fraction=0.0,
                                                                          max_instances=n + 1)
    times = {(key, n): [] for key in timers for n in counts}
    found = {}
    for r in range(warmup + repeats):
        for n in counts:
            for key, fn in timers.items():
                t0 = time.perf_counter()
                result = fn(n)
                dt = time.perf_counter() - t0
                if r >= warmup:
                    times[(key, n)].append(dt)
                if key in ("onepass_ms", "onepass_forced_ms", "convgru_ms"):
                    found[(key, n)] = len(result[0])
    rows = []
    for n in counts:
        row = {"robots": n, "scene_robots": scenes[n][0]}
        for key in timers:
            row[key] = _median_ms(times[(key, n)])
        row["onepass_found"] = found[("onepass_ms", n)]
        row["onepass_forced_found"] = found[("onepass_forced_ms", n)]
        if convgru is not None:
            row["convgru_found"] = found[("convgru_ms", n)]
        rows.append(row)
    return rows


def flatness(rows: Sequence[dict], key: str = "onepass_ms") -> dict:
    """How flat a runtime column is: last/first and max/min over the robot counts."""
    values = [r[key] for r in rows]
    return {"last_over_first": values[-1] / values[0], "max_over_min": max(values) / min(values)}


def robot_free_scenes(robot: str, n: int, size: tuple[int, int], seed: int = ROBOT_FREE_SEED) -> list[Sample]:
    """``n`` synthetic scenes without any robot (the test set's parameters and photos,
    no robot placed), at (H, W) = ``size``: a model should find nothing in them."""
    from .data import SyntheticDataset
    from .eval.testset import test_params

    data = SyntheticDataset(robot, n, size=tuple(size), seed=seed,
                            params=test_params(robot).replace(min_robots=0, max_robots=0))
    return [data[i] for i in range(n)]


# -------------------------------------------------------------------------------- CLI
def study(checkpoint: str | Path, convgru_checkpoint: str | Path | None, n: int, seed: int | None = None,
          repeats: int = 10, min_active_fraction: float = DEFAULT_MIN_ACTIVE_FRACTION, batch_size: int = 4,
          device="cpu", runtime: bool = True, accuracy: bool = True, robot_free: int = 0) -> dict:
    """One-pass vs ConvGRU on the same ``n`` synthetic test scenes (AP, counting; unless
    ``accuracy`` is False), the share of ``robot_free`` robot-free scenes in which each
    finds nothing, and their runtime by robot count (unless ``runtime`` is False); plain
    values for a JSON file."""
    from .eval.testset import TEST_SEED, test_dataset
    from .tasks import load_model

    seed = TEST_SEED if seed is None else seed
    onepass, task, ckpt = load_onepass(checkpoint, device)
    samples = [s for s in test_dataset(task.robot, n, task.input_size, seed)] if accuracy else []
    report = {"checkpoint": str(checkpoint), "step": int(ckpt["step"]), "robot": task.robot, "test_seed": seed,
              "n": n if accuracy else 0, "min_active_fraction": min_active_fraction,
              "centre_threshold": float(onepass.instances.centre_threshold),
              "torch_threads": torch.get_num_threads()}
    kwargs = dict(batch_size=batch_size, device=device, min_active_fraction=min_active_fraction)
    if accuracy:
        report["onepass"] = summarize(evaluate_instances(onepass, samples, task.input_size, **kwargs))
    convgru = None
    if convgru_checkpoint:
        convgru, ctask, _ = load_model(convgru_checkpoint, device, expect={"task": "instances"})
        report["convgru_checkpoint"] = str(convgru_checkpoint)
        if accuracy:
            report["convgru"] = summarize(evaluate_instances(convgru, samples, ctask.input_size, **kwargs))
    if robot_free:
        empty = robot_free_scenes(task.robot, robot_free, task.input_size)
        report["robot_free"] = {"n": robot_free, "seed": ROBOT_FREE_SEED}
        for name, model in (("onepass", onepass), ("convgru", convgru)):
            if model is not None:
                counts = evaluate_instances(model, empty, task.input_size, **kwargs)["predicted_counts"]
                report["robot_free"][name] = {"none_found": float(np.mean(np.asarray(counts) == 0)),
                                              "mean_found": float(np.mean(counts))}
    if runtime:
        rows = runtime_by_robot_count(onepass, convgru, task.robot, repeats=repeats,
                                      min_active_fraction=min_active_fraction)
        report["runtime"] = {"rows": rows, "onepass_flatness": flatness(rows, "onepass_ms"),
                             "onepass_forced_flatness": flatness(rows, "onepass_forced_ms")}
        if convgru is not None:
            report["runtime"]["convgru_forced_flatness"] = flatness(rows, "convgru_forced_ms")
    return report


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m robotpose_lib.onepass_task",
                                description="One-pass instance model: AP, counting and runtime beside the ConvGRU.")
    p.add_argument("command", choices=["study", "runtime"],
                   help="study: AP, counting and runtime; runtime: no AP and counting on the test set")
    p.add_argument("--checkpoint", required=True, help="one-pass checkpoint (scripts/train_onepass.py)")
    p.add_argument("--convgru", help="ConvGRU instance checkpoint to compare with "
                   "(default the shipped {robot}_instances_cpu.pt; 'none' to skip)")
    p.add_argument("--n", type=int, default=100, help="test scenes")
    p.add_argument("--seed", type=int, help="test seed (default eval.testset.TEST_SEED)")
    p.add_argument("--repeats", type=int, default=10, help="runtime repeats per robot count")
    p.add_argument("--no-runtime", action="store_true")
    p.add_argument("--robot-free", type=int, default=0, metavar="N",
                   help=f"also count what each model finds in N robot-free scenes (seed {ROBOT_FREE_SEED})")
    p.add_argument("--min-active-fraction", type=float, default=DEFAULT_MIN_ACTIVE_FRACTION)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--json", help="write the figures to this file")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.n < 1:
            raise ValueError(f"--n: expected at least 1 test scene, got {args.n}")
        torch.set_num_threads(args.threads)
        convgru = args.convgru
        if convgru is None:
            robot = load_checkpoint(args.checkpoint, expect={"task": TASK_NAME})["robot"]
            path = reference_path(robot, "instances", "cpu")
            convgru = str(path) if Path(path).is_file() else None
        elif convgru.lower() == "none":
            convgru = None
        report = study(args.checkpoint, convgru, args.n, args.seed, args.repeats, args.min_active_fraction,
                       runtime=not args.no_runtime, accuracy=args.command == "study",
                       robot_free=args.robot_free)
    except (ValueError, FileNotFoundError) as exc:
        print(f"onepass: error: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
