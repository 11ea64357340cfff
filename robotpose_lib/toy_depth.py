"""Depth from apparent size on toy scenes: a ball of known radius seen at a random depth.

The localization network reads a joint's depth off the image alone, so it must use the
apparent size of parts whose metric size it has learned. This module checks that the
paper's recipe can learn that at all, and how the depth code changes what is learned
(``targets.DepthCoding``: the paper's inverse code against our log code), in seconds on a
CPU: a ball of radius ``BALL_RADIUS_M`` at depth Z in [z_min, z_max] through a pinhole of
focal length f appears as a disc of radius f * r / Z pixels on a noise background; a small
fully convolutional network predicts the depth code on a small disc at the ball's centre (the
weight region of eq. 1)
with the paper's squared error.

* :func:`toy_depth_batch`: images (B, 3, H, W), code targets and weights, true depths.
* :func:`train_toy_depth`: trains a :class:`ToyDepthNet` and reports errors on held-out
  scenes, near and far, next to the baseline that predicts the median depth.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .targets import DepthCoding

BALL_RADIUS_M = 0.25
WEIGHT_RADIUS_PX = 3.0
# the study's scenes (scripts/depth_diagnosis.py --toy uses these): depths spanning
# Table I's 0-10 m from a near floor, small images, a focal length that keeps the nearest
# ball inside the image
Z_RANGE_M = (0.8, 10.0)
IMAGE_SIZE_PX = 64
FOCAL_PX = 100.0


def toy_depth_batch(n: int, rng: np.random.Generator, coding: DepthCoding,
                    size: int = IMAGE_SIZE_PX, focal_px: float = FOCAL_PX) -> dict[str, torch.Tensor]:
    """``n`` toy scenes of one ball each.

    Returns:
        dict with "images" float (n, 3, size, size) in [0, 1], "depth" float (n, 1, size,
        size) the code of the ball's depth on the weight disc (0 elsewhere), "weight" float
        (n, 1, size, size) 1 within ``WEIGHT_RADIUS_PX`` of the ball's centre, "z" float64
        (n,) true depths in metres.
    """
    if n < 1 or size < 16:
        raise ValueError(f"toy_depth_batch: need n >= 1 and size >= 16, got {n}, {size}")
    # depths uniform in inverse depth would favour near balls; uniform in depth like Table I
    z = rng.uniform(coding.z_min, coding.z_max, n)
    radius = focal_px * BALL_RADIUS_M / z
    cu, cv = rng.uniform(0.3, 0.7, (2, n)) * size
    yy, xx = np.mgrid[0:size, 0:size]
    images = rng.uniform(0.2, 0.8, (n, 3, 1, 1)) * rng.uniform(0.7, 1.0, (n, 1, size, size))
    colour = rng.uniform(0.0, 1.0, (n, 3))
    disc = (xx[None] - cu[:, None, None]) ** 2 + (yy[None] - cv[:, None, None]) ** 2 <= \
        np.maximum(radius, 0.7)[:, None, None] ** 2
    images = np.where(disc[:, None], colour[:, :, None, None], images)
    # the code is defined for the reference focal length: f / W = fx_over_width_ref here
    code = coding.encode(z, coding.fx_over_width_ref * size, size)
    # as the paper's joint discs: a fixed radius around the centre, whatever the depth, so
    # every ball weighs the same in the loss
    centre = (xx[None] - cu[:, None, None]) ** 2 + (yy[None] - cv[:, None, None]) ** 2 <= WEIGHT_RADIUS_PX ** 2
    weight = centre[:, None].astype(np.float32)
    return {"images": torch.from_numpy(images.astype(np.float32)),
            "depth": torch.from_numpy((weight * code[:, None, None, None]).astype(np.float32)),
            "weight": torch.from_numpy(weight), "z": z}


class ToyDepthNet(nn.Module):
    """Five strided/dilated 3x3 conv + BatchNorm + ReLU layers (output stride 8,
    like the C blocks of the localization network) and a 1x1 sigmoid head:
    receptive field ~90 px, enough for the largest disc (radius f * r / z_min)."""

    def __init__(self, width: int = 32):
        super().__init__()
        layers, c = [], 3
        for stride, dilation in ((2, 1), (2, 1), (2, 1), (1, 2), (1, 2)):
            layers += [nn.Conv2d(c, width, 3, stride, padding=dilation, dilation=dilation, bias=False),
                       nn.BatchNorm2d(width), nn.ReLU()]
            c = width
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(width, 1, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        low = torch.sigmoid(self.head(self.body(images)))
        return F.interpolate(low, size=images.shape[-2:], mode="nearest")


@dataclass
class ToyDepthResult:
    """Errors (cm) of the ball depth read as the median of the prediction over its disc."""

    kind: str
    median_cm: float
    near_mean_cm: float
    far_mean_cm: float
    baseline_median_cm: float
    baseline_near_mean_cm: float
    baseline_far_mean_cm: float


def train_toy_depth(kind: str = "log", steps: int = 300, batch: int = 16, seed: int = 0,
                    z_range: tuple[float, float] = Z_RANGE_M, n_test: int = 200,
                    size: int = IMAGE_SIZE_PX, focal_px: float = FOCAL_PX) -> ToyDepthResult:
    """Train :class:`ToyDepthNet` with the squared error of eq. 1 on the ``kind`` code and
    measure the depth error on ``n_test`` held-out scenes; near / far split at the middle of
    ``z_range`` (Table I splits 0-10 m at 5 m)."""
    coding = DepthCoding(*z_range, kind=kind)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = ToyDepthNet()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        b = toy_depth_batch(batch, rng, coding, size, focal_px)
        pred = net(b["images"])
        loss = (b["weight"] * (pred - b["depth"]) ** 2).sum() / b["weight"].sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    test = toy_depth_batch(n_test, np.random.default_rng(seed + 10_000), coding, size, focal_px)
    with torch.no_grad():
        pred = net(test["images"])[:, 0].double().numpy()
    size = test["images"].shape[-1]
    z_pred = np.array([np.median(coding.decode(p[w > 0], coding.fx_over_width_ref * size, size))
                       for p, w in zip(pred, test["weight"][:, 0].numpy())])
    z = test["z"]
    err = np.abs(z_pred - z) * 100
    base = np.abs(np.median(z) - z) * 100
    near = z < 0.5 * sum(z_range)
    return ToyDepthResult(kind, float(np.median(err)), float(err[near].mean()), float(err[~near].mean()),
                          float(np.median(base)), float(base[near].mean()), float(base[~near].mean()))
