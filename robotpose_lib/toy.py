"""Toy data: small scenes that train in seconds on a CPU, for tests, demos and chapter 3.

* :class:`ToyDiscDataset`: J coloured discs on a noisy background, one "robot" per image,
  as :class:`~robotpose_lib.types.Sample` s for the localization task and the trainer
  (``robotpose train localization --robot toy``).
* :func:`disc_batch` and :func:`train_toy`: disc "robots" for demonstrating the instance
  model in a minute on a CPU; :func:`train_quick_toy` (the ``quick`` model with changed
  fields), :func:`toy_steps` and :func:`counts_by_rule` (run it and count with a stopping
  rule) and :func:`toy_sweep` / :func:`sweep_runs` (runs across seeds and settings):
  chapter 3's live demonstrations.

Each instance scene holds 0 .. max_robots discs that do not overlap (rejection sampling, 20 tries
per disc). The instance model's input F is
made by hand from what a perfect localization network would tell it: the union of the
discs at the feature resolution, plus the two pixel coordinates. Which disc is which must
be worked out by the recurrent model, as with real robots. Used for a live training demo
and by tests. Measured (``quick`` instance config, Adam 1e-3,
1000 steps of batch 16 at 32 x 32, about 50 s on one CPU thread): on 64 held-out scenes a
soft-IoU cost of 0.21 per disc, and the disc count right in 88 % of the scenes with
``min_active_fraction=0.02`` but in 66 % with the paper's 0.05, because the smallest discs
cover less than 5 % of the image.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as nnf
from torch.utils.data import Dataset

from .config import torch_threads
from .matching import matching_loss
from .models.instances import InstanceNet
from .models.instances import get_config as instance_config
from .structures import active_fractions, count_by_rule
from .types import Sample


class ToyDiscDataset(Dataset):
    """A stand-in dataset for tests and demos: J coloured discs on a noisy background.

    Joint j is a disc of colour ``COLORS[j]`` whose radius (pixels) is f * 0.12 m / Z, so
    depth is visible in the image as in the real task. One "robot" per image.
    """

    NUM_JOINTS = 3
    COLORS = np.array([[255, 40, 40], [40, 255, 40], [60, 60, 255]], np.uint8)

    def __init__(self, n: int, size: tuple[int, int] = (96, 128), seed: int = 0):
        self.n, self.size, self.seed = int(n), tuple(size), int(seed)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < self.n:
            raise IndexError(f"sample {index} out of range for a dataset of {self.n}")
        rng = np.random.default_rng([self.seed, index])
        H, W = self.size
        f = 0.76 * W
        K = np.array([[f, 0, (W - 1) / 2], [0, f, (H - 1) / 2], [0, 0, 1]], np.float32)
        image = rng.integers(0, 90, (H, W, 3), dtype=np.uint8)
        J = self.NUM_JOINTS
        uv = np.stack([rng.uniform(0.1 * W, 0.9 * W, J), rng.uniform(0.1 * H, 0.9 * H, J)], 1)
        z = rng.uniform(1.0, 4.0, J)
        for j in np.argsort(-z):  # far discs first, near ones drawn over them
            radius = max(1, int(round(f * 0.12 / z[j])))
            cv2.circle(image, (int(round(uv[j, 0])), int(round(uv[j, 1]))), radius,
                       self.COLORS[j].tolist(), -1)
        xyz = np.stack([(uv[:, 0] - K[0, 2]) * z / f, (uv[:, 1] - K[1, 2]) * z / f, z], 1)
        return Sample(image=image, masks=np.zeros((1, H, W), bool), depth=np.zeros((H, W), np.float32),
                      joints_2d=uv[None].astype(np.float32), joints_3d=xyz[None].astype(np.float32),
                      visibility=np.ones((1, J), bool), K=K, joint_angles=np.zeros((1, 0), np.float32),
                      base_poses=np.eye(4, dtype=np.float32)[None], camera_pose=np.eye(4, dtype=np.float32),
                      robot="toy", meta={"seed": self.seed, "index": index})


# -------------------------------------------------------------- discs for the instance model
TOY_INPUT_CHANNELS = 3


def disc_batch(
    batch_size: int,
    generator: torch.Generator,
    size: tuple[int, int] = (32, 32),
    stride: int = 4,
    max_robots: int = 3,
    radius: tuple[float, float] = (3.0, 6.0),
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A batch of random disc scenes.

    Args:
        batch_size: B.
        generator: the source of randomness (same generator state, same batch).
        size: (H, W) of the masks in pixels.
        stride: feature stride s of F.
        max_robots: discs per scene are drawn uniformly from 0 .. max_robots.
        radius: (min, max) disc radius in pixels.

    Returns:
        F: float (B, 3, H/s, W/s): disc union (area-averaged), u and v in [-1, 1].
        targets: float (B, max_robots, H, W) disc masks, zero padded.
        counts: int64 (B,) discs per scene.
    """
    height, width = size
    if max_robots < 1:
        raise ValueError(f"max_robots: must be >= 1, got {max_robots}")
    if height % stride or width % stride:
        raise ValueError(f"size: {size} is not divisible by the stride {stride}")
    v, u = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    counts = torch.randint(0, max_robots + 1, (batch_size,), generator=generator)
    targets = torch.zeros(batch_size, max_robots, height, width)
    margin = radius[1]
    for b in range(batch_size):
        for r in range(int(counts[b])):
            for _ in range(20):  # rejection sampling of a disc that overlaps none so far
                cu = margin + torch.rand((), generator=generator) * (width - 2 * margin)
                cv = margin + torch.rand((), generator=generator) * (height - 2 * margin)
                rad = radius[0] + torch.rand((), generator=generator) * (radius[1] - radius[0])
                disc = (((u - cu) ** 2 + (v - cv) ** 2) <= rad**2).float()
                if (disc * targets[b].sum(0)).sum() == 0:
                    break
            targets[b, r] = disc
    feature_size = (height // stride, width // stride)
    union = nnf.interpolate(targets.amax(1, keepdim=True), size=feature_size, mode="area")
    gv, gu = torch.meshgrid(torch.linspace(-1, 1, feature_size[0]), torch.linspace(-1, 1, feature_size[1]),
                            indexing="ij")
    f = torch.cat([union, gu.expand(batch_size, 1, -1, -1), gv.expand(batch_size, 1, -1, -1)], dim=1)
    return f, targets, counts


def train_toy(config, steps: int, seed: int = 0, lr: float = 1e-3, eos_weight: float = 1.0,
              batch_size: int = 16, size: tuple[int, int] = (32, 32)):
    """Train an :class:`~robotpose_lib.models.instances.InstanceNet` of ``config`` (a name
    or InstanceConfig) on fresh disc scenes with the matching loss (paper eq. 6).

    Returns:
        (the model in eval mode, log dict of per-step lists "loss", "cost_per_disc",
        "eos_error").
    """
    torch.manual_seed(seed)
    net = InstanceNet(TOY_INPUT_CHANNELS, config)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    log = {"loss": [], "cost_per_disc": [], "eos_error": []}
    with torch_threads(1):  # small tensors: one thread is fastest
        net.train()
        for _ in range(steps):
            f, disc_masks, counts = disc_batch(batch_size, generator, size=size)
            res = matching_loss(net(f, int(counts.max()) + 1, size), disc_masks, counts, eos_weight=eos_weight)
            optimizer.zero_grad()
            res.loss.backward()
            optimizer.step()
            log["loss"].append(res.loss.item())
            log["cost_per_disc"].append((res.matched_cost.detach().sum() / counts.sum().clamp(min=1)).item())
            log["eos_error"].append(res.eos_error.detach().mean().item())
    return net.eval(), log


def train_quick_toy(steps: int, seed: int = 0, lr: float = 1e-3, eos_weight: float = 1.0,
                    batch_size: int = 16, size: tuple[int, int] = (32, 32), **config_changes):
    """The ``quick`` instance model (paper III-C, Fig. 5, at toy size) trained on fresh disc
    scenes with :func:`train_toy`; ``config_changes`` override fields of the ``quick``
    :class:`~robotpose_lib.models.instances.InstanceConfig` (e.g. ``canvas_feedback=True``).

    Args:
        steps: optimiser steps, each on ``batch_size`` new scenes of ``size`` (H, W) pixels.
        seed: seeds the weights and the scenes (same seed, same run).
        lr: Adam's learning rate; eos_weight: the weight of eq. 6's end-of-sequence term.

    Returns:
        (the model in eval mode, the log of :func:`train_toy`: per-step lists "loss",
        "cost_per_disc", "eos_error").

    Raises:
        ValueError: ``config_changes`` names a field InstanceConfig does not have.
    """
    try:
        config = instance_config("quick", **config_changes)
    except TypeError as bad:
        raise ValueError(f"config_changes: {bad}") from None
    return train_toy(config, steps, seed=seed, lr=lr, eos_weight=eos_weight,
                     batch_size=batch_size, size=size)


def toy_steps(net, features: torch.Tensor, size: tuple[int, int] = (32, 32),
              steps: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Run a toy instance model ``steps`` steps on disc scenes' inputs (``disc_batch``'s F,
    (B, 3, H/s, W/s)), without gradients.

    Returns:
        masks: float (B, steps, H, W) in [0, 1]; fractions: (B, steps) the share of each
        step's pixels above 0.5 (the paper's stopping rule compares it with 5 %).
    """
    with torch.no_grad():
        masks = net(features, steps, size).numpy()
    return masks, np.stack([active_fractions(m) for m in masks])


def counts_by_rule(fractions: np.ndarray, rule: float) -> np.ndarray:
    """The count of every scene by a stopping rule (III-C): per row of ``fractions`` (B, T)
    (:func:`toy_steps`), the steps before the first whose active share is below ``rule``
    (a fraction, e.g. 0.05); int (B,)."""
    return np.array([count_by_rule(row, rule) for row in np.asarray(fractions)], dtype=np.int64)


def toy_sweep(settings, steps: int, features: torch.Tensor, counts: torch.Tensor,
              size: tuple[int, int] = (32, 32), rule: float = 0.02, models: list | None = None) -> list[dict]:
    """Train :func:`train_quick_toy` once per setting and measure where each run ends.

    Args:
        settings: (seed, lr, eos_weight) or (seed, lr, eos_weight, canvas_feedback)
            tuples, one run each, all of ``steps`` steps (canvas feedback off when left out).
        features, counts: held-out scenes (``disc_batch``'s F and counts) to count on.
        rule: the stopping rule's active fraction for counting.
        models: a list to which each run's trained model is appended, in the order of
            ``settings`` (for measures of the runs beyond these columns).

    Returns:
        one row per run: "seed", "lr", "end-of-sequence weight", "canvas feedback" ("yes"
        or "no"), "final cost per disc" (the mean soft-IoU cost per disc over the last
        tenth of the steps), "count right" (share of the held-out scenes counted right)
        and "mean count".
    """
    truth = np.asarray(counts)
    rows = []
    for seed, lr, eos_weight, *canvas in settings:
        canvas_feedback = bool(canvas and canvas[0])
        net, log = train_quick_toy(steps, seed=seed, lr=lr, eos_weight=eos_weight, size=size,
                                   canvas_feedback=canvas_feedback)
        if models is not None:
            models.append(net)
        counted = counts_by_rule(toy_steps(net, features, size)[1], rule)
        tail = log["cost_per_disc"][-max(1, steps // 10):]
        rows.append({"seed": seed, "lr": lr, "end-of-sequence weight": eos_weight,
                     "canvas feedback": "yes" if canvas_feedback else "no",
                     "final cost per disc": float(np.mean(tail)),
                     "count right": float(np.mean(counted == truth)),
                     "mean count": float(np.mean(counted))})
    return rows


def sweep_runs(rows: list[dict], lr: float, eos_weight: float, canvas: bool = False) -> list[dict]:
    """The rows of :func:`toy_sweep` trained with learning rate ``lr``, end-of-sequence
    weight ``eos_weight`` and canvas feedback on or off (``canvas``), all their seeds; []
    when there is none."""
    return [r for r in rows if r["lr"] == lr and r["end-of-sequence weight"] == eos_weight
            and r.get("canvas feedback", "no") == ("yes" if canvas else "no")]


def disc_sample(seed: int, robots: int, size: tuple[int, int] = (48, 64)) -> Sample:
    """A hand-made :class:`Sample` whose "robots" are ``robots`` bright discs (radius 5-9 px)
    on a dark noisy background: instance masks without any rendering, for instance-model
    tests. Joints are zeros (J = 7, robot "panda")."""
    rng = np.random.default_rng(seed)
    height, width = size
    v, u = np.mgrid[0:height, 0:width]
    image = rng.integers(0, 60, (height, width, 3), dtype=np.uint8)
    masks = []
    for _ in range(robots):
        cu, cv, radius = rng.uniform(10, width - 10), rng.uniform(10, height - 10), rng.uniform(5, 9)
        mask = (u - cu) ** 2 + (v - cv) ** 2 <= radius**2
        image[mask] = rng.integers(120, 255, 3)
        masks.append(mask)
    J = 7
    return Sample(
        image=image, masks=np.array(masks, bool).reshape(robots, height, width),
        depth=np.zeros(size, np.float32), joints_2d=np.zeros((robots, J, 2), np.float32),
        joints_3d=np.zeros((robots, J, 3), np.float32), visibility=np.zeros((robots, J), bool),
        K=np.eye(3, dtype=np.float32), joint_angles=np.zeros((robots, 7), np.float32),
        base_poses=np.tile(np.eye(4, dtype=np.float32), (robots, 1, 1)),
        camera_pose=np.eye(4, dtype=np.float32), robot="panda")
