"""Depth and joints on images of other shapes: the same scenes at 4:3, 16:9, 8:3 and 3:4.

`robotpose bench aspect` (:func:`benchmark`) renders the same
synthetic scenes (``synth.generate`` draws every scene from (seed, index); the image size
only changes the intrinsics, K = ``camera.intrinsics_from_fov`` with the same vertical field
of view) at several image sizes, runs the shipped reference *localization* model
(``Predictor.from_pretrained(robot, instances=False)``: the strongest peak per joint
channel; ``--instances`` adds the reference instance model) with each image's exact K, and prints per aspect ratio:

* ``depth ratio``: median over matched joints of predicted / true camera depth (1.00 is
  right; a network input squeezed to 4:3 without the matching focal length shows up here);
* ``px err``: median 2D error of the matched joints in the image's own pixels;
* ``matched``: found joints within the match radius of a true joint of the same kind
  (``--match-px`` at 320 px width, scaled with the image's longer side) over all true
  joints inside the image.

A joint prediction is matched to the nearest true joint of the same index among the
scene's robots. Nothing here is trained; the numbers depend on the shipped checkpoints.
"""
from __future__ import annotations

import time
import warnings
from typing import Sequence

import numpy as np

from ..config import torch_threads

# name -> (H, W); the first is the training shape of the reference models (240x320)
ASPECTS = {"4:3": (240, 320), "16:9": (240, 427), "8:3": (240, 640), "3:4": (320, 240)}


def aspect_table(robot: str, n: int = 16, seed: int = 777, aspects: dict | None = None, predictor=None,
                 match_px: float = 12.0, instances: bool = False, fit: str | None = None,
                 device="cpu") -> dict[str, dict]:
    """Median predicted/true depth, 2D error and match rate per aspect ratio (see module doc).

    Args:
        robot: robot name; the shipped reference localization model is used unless
            ``predictor`` is given (anything called as ``predictor(images, Ks)``).
        n: scenes per aspect (the same ``n`` scenes at every size).
        seed: dataset seed of the scenes.
        aspects: name -> (H, W); default :data:`ASPECTS`.
        match_px: match radius in pixels at 320 px width (scaled with max(H, W) / 320).
        instances: use the reference instance model too (one pose per robot found)
            instead of the localization model alone.
        fit: the predictor's ``fit`` ('extend', 'pad', 'crop'; None: its default).

    Returns:
        name -> {"size": (H, W), "depth_ratio": median, "px_error": median px,
        "matched": matched joints, "joints": true joints in the image, "seconds": time}.
    """
    from ..data import SyntheticDataset
    from ..predictor import Predictor

    aspects = aspects or ASPECTS
    if predictor is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "localization-only checkpoint" is intended here
            extra = {} if fit is None else {"fit": fit}
            predictor = Predictor.from_pretrained(robot, instances=instances, device=device, **extra)
    rows = {}
    for name, (H, W) in aspects.items():
        t0 = time.perf_counter()
        samples = SyntheticDataset(robot, n, size=(H, W), seed=seed).batch(range(n))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = predictor([s.image for s in samples], [s.K.astype(np.float64) for s in samples])
        radius = match_px * max(H, W) / 320.0
        ratios, errors, matched, total = [], [], 0, 0
        for sample, poses in zip(samples, results):
            true2d, true3d = sample.joints_2d.astype(float), sample.joints_3d.astype(float)
            inside = ((true2d[..., 0] >= -0.5) & (true2d[..., 0] <= W - 0.5) & (true2d[..., 1] >= -0.5)
                      & (true2d[..., 1] <= H - 0.5) & (true3d[..., 2] > 0))
            total += int(inside.sum())
            used = np.zeros_like(inside)
            for pose in poses:
                for j in range(true2d.shape[1]):
                    uv, xyz = pose.joints_2d[j].astype(float), pose.joints_3d[j].astype(float)
                    if not np.isfinite(uv).all() or len(true2d) == 0:
                        continue
                    d = np.linalg.norm(true2d[:, j] - uv, axis=-1)
                    d[~inside[:, j] | used[:, j]] = np.inf
                    r = int(np.argmin(d))
                    if d[r] > radius:
                        continue
                    used[r, j] = True
                    matched += 1
                    errors.append(d[r])
                    if np.isfinite(xyz[2]):
                        ratios.append(xyz[2] / true3d[r, j, 2])
        rows[name] = {"size": (H, W), "depth_ratio": float(np.median(ratios)) if ratios else float("nan"),
                      "px_error": float(np.median(errors)) if errors else float("nan"),
                      "matched": matched, "joints": total, "seconds": time.perf_counter() - t0}
    return rows


def format_aspect_rows(robot: str, rows: dict[str, dict]) -> str:
    lines = [f"{robot}: {'aspect':6s} {'size':>8s} {'depth ratio':>12s} {'px err':>7s} {'matched':>12s}"]
    for name, r in rows.items():
        H, W = r["size"]
        lines.append(f"{' ' * len(robot)}  {name:6s} {W:>4d}x{H:<3d} {r['depth_ratio']:12.2f} {r['px_error']:7.1f} "
                     f"{r['matched']:5d}/{r['joints']:<5d} ({r['seconds']:.0f} s)")
    return "\n".join(lines)


def benchmark(robots: Sequence[str] = ("panda", "kuka_kr16"), n: int = 16, seed: int = 777, match_px: float = 12.0,
              instances: bool = False, fit: str | None = None, threads: int = 1, device="cpu") -> int:
    """Print :func:`aspect_table` per robot (``threads`` torch CPU threads while it runs).
    Returns 0."""
    with torch_threads(threads):
        for robot in robots:
            rows = aspect_table(robot, n, seed, match_px=match_px, instances=instances,
                                fit=fit, device=device)
            print(format_aspect_rows(robot, rows), flush=True)
        return 0
