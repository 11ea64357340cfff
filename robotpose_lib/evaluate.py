"""Evaluation of trained checkpoints on a fixed synthetic test set (paper §IV-B).

Joint localization (Fig. 6, Table I):

* **pixel error per joint**: the paper localises joints per robot instance. For every
  true robot in a test image, a joint's prediction is the strongest peak of that joint's
  belief map whose pixel lies inside the robot's true instance mask (grown by a few
  pixels; the true mask keeps instance errors out of this measure). Peaks come from NMS
  (local maxima, :func:`robotpose_lib.decode.nms_peaks`) or from the Laplacian of
  Gaussian (:func:`robotpose_lib.decode.log_peaks`), both computed on the *unmasked*
  maps: zeroing the map outside the mask first (what the predictor does with predicted
  masks) bends the LoG response near the mask's edge, which moved LoG peaks of a perfect
  prediction by up to a pixel in our tests. The error is the distance to the true joint
  projection, reported at 480x640 scale (pixels x 640 / input width). A joint counts when it is *visible*
  (``Sample.visibility``: inside the frame and not hidden behind another robot; a joint
  behind another robot has no belief inside its own robot's mask). A counted joint
  without a peak above ``min_score`` is a *miss*: NaN error, counted separately.
* **depth error** (Table I): over the pixels where the true belief is at least phi (the
  weight W of eq. 2), |decoded predicted depth - true depth| in cm, split near [0, 5) m
  and far [5, 10] m. The predicted map is decoded with the checkpoint's
  :class:`~robotpose_lib.targets.DepthCoding` and the sample's focal length; the true
  depth is the metric depth of the same joint discs the training targets use.

The test set is rendered from :data:`TEST_SEED` (never a training seed: training uses
``--data-seed``, 0 by default) with the *test* split of the background photos, at the
model's input size (the size the training samples are rendered at).

Instances (Fig. 7): :func:`robotpose_lib.eval.instances.evaluate_instances` on the same
test set; the CLI prints the AP table for boxes and masks and the counting accuracy.

CLI::

    robotpose eval localization --checkpoint PATH --n N [--seed S] [--method nms|log|both]
    robotpose eval instances --checkpoint PATH --n N [--min-active-fraction F | --paper-rule]
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch

from . import metrics
from .config import resolve_device, show_progress
from .decode import DEFAULT_LOG_SIGMAS, METHODS, Peaks, decode_instances, log_peaks, nms_peaks
from .models.instances import DEFAULT_MIN_ACTIVE_FRACTION, PAPER_MIN_ACTIVE_FRACTION
from .eval.instances import evaluate_instances, format_instance_results
from .targets import DepthCoding, TargetParams, image_to_tensor, make_targets, resize_sample
from .tasks import load_model
from .types import Sample

# The test set's seed: 10,000 + the paper's year. Training runs use --data-seed (0 by
# default, small integers in practice), so test scenes are never trained on.
TEST_SEED = 10_000 + 2019
REFERENCE_WIDTH = 640  # the paper reports pixel errors at 480x640


# Folder of shipped checkpoints; ROBOTPOSE_CHECKPOINT_DIR points elsewhere (tests, users).
CHECKPOINT_DIR_ENV = "ROBOTPOSE_CHECKPOINT_DIR"


def checkpoint_dir() -> Path:
    """Where shipped checkpoints and their logs live: $ROBOTPOSE_CHECKPOINT_DIR when set,
    else the reference checkpoints installed with the package (``checkpoint.checkpoint_dir``,
    the one place that decides it)."""
    from .checkpoint import checkpoint_dir as _checkpoint_dir

    return _checkpoint_dir()


def reference_checkpoint(robot: str, config: str = "cpu", task: str = "localization") -> Path | None:
    """The shipped checkpoint ``{robot}_{task}_{config}.pt`` (see :func:`checkpoint_dir`),
    or None when the file is absent."""
    path = checkpoint_dir() / f"{robot}_{task}_{config}.pt"
    return path if path.is_file() else None


# ------------------------------------------------------------------------------ test set
def test_params(robot: str):
    """Synthesis parameters of the test set: the robot's defaults with the *test* split of
    the background photos (no photo is shared with training)."""
    from .backgrounds import BackgroundPool
    from .synth import params_for

    return params_for(robot, background=BackgroundPool(split="test"))


def test_dataset(robot: str, n: int, size: tuple[int, int], seed: int = TEST_SEED):
    """The fixed synthetic test set: ``n`` scenes of (H, W) = ``size`` from ``seed``."""
    from .data import SyntheticDataset

    if seed == 0:
        raise ValueError("seed: 0 is the default training seed; a test set needs its own seed")
    return SyntheticDataset(robot, n, size=tuple(size), seed=seed, params=test_params(robot))


# ------------------------------------------------------------------------------- report
@dataclass
class LocalizationReport:
    """Joint and depth errors of one model on one test set.

    N is the number of (image, true robot) pairs, J the joints per robot.

    Attributes:
        robot, joint_names: the robot model and its J keypoint names.
        input_size: (H, W) the model ran at.
        scale: factor from input pixels to 480x640 pixels (640 / W).
        pixel_errors: method -> float (N, J) errors at 480x640 scale; NaN where the joint
            is not counted (``counted`` False) or was missed.
        counted: bool (N, J) joints that are evaluated (visible).
        depth_errors_cm: (P,) absolute depth errors over the weight pixels of all images.
        depth_true_m: (P,) true depth of those pixels (metres).
        num_images: test images; robot_depth_m: (N, J) true joint depths (metres).
    """

    robot: str
    joint_names: list[str]
    input_size: tuple[int, int]
    scale: float
    pixel_errors: dict[str, np.ndarray]
    counted: np.ndarray
    depth_errors_cm: np.ndarray
    depth_true_m: np.ndarray
    num_images: int
    robot_depth_m: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def methods(self) -> list[str]:
        return list(self.pixel_errors)

    def misses(self, method: str) -> int:
        """Counted joints without a peak above the score threshold."""
        return int((self.counted & ~np.isfinite(self.pixel_errors[method])).sum())

    def depth_table(self) -> dict[str, dict[str, float]]:
        """Table I: depth error summaries (cm) near [0, 5) m and far [5, 10] m."""
        return metrics.near_far_table(self.depth_errors_cm, self.depth_true_m)

    def depth_baseline_table(self) -> dict[str, dict[str, float]]:
        """Table I of a model that knows nothing about the image: it predicts the test
        pixels' median true depth everywhere. A depth head worth having beats it."""
        z = self.depth_true_m
        guess = np.median(z) if len(z) else np.nan
        return metrics.near_far_table(np.abs(z - guess) * 100.0, z)

    def joint_table(self, method: str) -> list[dict]:
        """Per joint (and 'all'): mean, median, 75 % pixel error at 480x640 and misses."""
        e = self.pixel_errors[method]
        rows = []
        for j, name in enumerate([*self.joint_names, "all"]):
            col = e[:, j] if name != "all" else e
            cnt = self.counted[:, j] if name != "all" else self.counted
            s = metrics.summary(col[cnt])
            rows.append({"joint": name, "mean": s["mean"], "50%": s["50%"], "75%": s["75%"],
                         "n": int(cnt.sum()), "missed": int((cnt & ~np.isfinite(col)).sum())})
        return rows

    def format(self, reference: dict | None = metrics.PAPER_TABLE_I) -> str:
        """Plain-text tables: pixel errors per joint and method, then Table I."""
        H, W = self.input_size
        lines = [f"{self.robot}: {self.num_images} test images, {self.counted.shape[0]} robots, "
                 f"input {H}x{W}; pixel errors at 480x640 (x{self.scale:g})"]
        for m in self.methods:
            lines.append(f"\npixel error per joint, {m.upper()} peaks [px]")
            lines.append(f"{'joint':>14s}{'mean':>9s}{'median':>9s}{'75%':>9s}{'n':>7s}{'missed':>8s}")
            for r in self.joint_table(m):
                lines.append(f"{r['joint']:>14s}{r['mean']:9.2f}{r['50%']:9.2f}{r['75%']:9.2f}"
                             f"{r['n']:7d}{r['missed']:8d}")
        lines.append("\ndepth error where the true belief >= phi (Table I)")
        lines.append(metrics.format_error_table(self.depth_table(), reference=reference))
        base = self.depth_baseline_table()
        lines.append("baseline, the median true depth predicted everywhere: mean near "
                     f"{base['near']['mean']:.2f} cm, far {base['far']['mean']:.2f} cm")
        return "\n".join(lines)


# --------------------------------------------------------------------------- evaluation
def true_depth_map(sample: Sample, params: TargetParams) -> np.ndarray:
    """float32 (H, W) metric depth of the joint discs of the training targets (metres),
    0 outside the weight region. ``sample`` must be at the target size.

    Built by :func:`make_targets` with an inverse-depth coding that is the identity up to
    float rounding (a huge range, reference focal length = the sample's), so the discs are
    exactly those of the targets, without the clamping of the training range.
    """
    H, W = sample.size
    exact = DepthCoding(z_min=1e-3, z_max=1e4, fx_over_width_ref=float(sample.K[0, 0]) / W)
    t = make_targets(sample, (H, W), TargetParams(sigma=params.sigma, phi=params.phi,
                                                  joints=params.joints, depth=exact))
    z = exact.decode(t["depth"][0].astype(np.float64), float(sample.K[0, 0]), W)
    return np.where(t["weight"][0] > 0, z, 0.0).astype(np.float32)


def _dilate(masks: np.ndarray, radius: int) -> np.ndarray:
    """bool (R, H, W) masks grown by ``radius`` pixels (joints on a silhouette's edge)."""
    if radius <= 0 or len(masks) == 0:
        return masks
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return np.stack([cv2.dilate(m.astype(np.uint8), kernel) > 0 for m in masks])


def robot_peaks(peaks: Peaks, b: int, beliefs: torch.Tensor, masks: np.ndarray,
                min_score: float) -> np.ndarray:
    """Per robot and joint, the strongest peak of image ``b`` inside the robot's mask.

    Args:
        peaks: peaks of the batch, sorted by (batch, channel, descending score).
        beliefs: (J, H, W) belief maps of image b (a joint is found when the belief at
            its peak pixel exceeds ``min_score``).
        masks: bool (R, H, W) masks of the robots.

    Returns:
        float (R, J, 2) sub-pixel (u, v); NaN where no peak qualifies.
    """
    R, J = masks.shape[0], beliefs.shape[0]
    out = np.full((R, J, 2), np.nan)
    sel = (peaks.batch == b).nonzero(as_tuple=True)[0]
    if not len(sel) or not R:
        return out
    px = peaks.pixel[sel].cpu().numpy()
    ch = peaks.channel[sel].cpu().numpy()
    xy = peaks.xy[sel].double().cpu().numpy()
    belief = beliefs[peaks.channel[sel], peaks.pixel[sel, 1], peaks.pixel[sel, 0]].cpu().numpy()
    inside = masks[:, px[:, 1], px[:, 0]] & (belief > min_score)[None]  # (R, P)
    for r in range(R):
        for j in range(J):
            hits = np.flatnonzero(inside[r] & (ch == j))
            if len(hits):  # peaks are sorted best first within a channel
                out[r, j] = xy[hits[0]]
    return out


@torch.no_grad()
def predict_maps(model, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Run a localization model: images (B, 3, H, W) in [0, 1] -> (beliefs (B, J, H, W),
    encoded depth (B, 1, H, W)) of the last stage."""
    out = model(images, upsample="last")
    return out.beliefs, out.depth


def evaluate_samples(model, samples: Sequence[Sample], targets: TargetParams,
                     input_size: tuple[int, int], joint_names: Sequence[str] | None = None,
                     batch_size: int = 8, methods: Sequence[str] = METHODS, device=None,
                     min_score: float = 0.1, mask_dilation: int = 3,
                     log_sigmas: Sequence[float] = DEFAULT_LOG_SIGMAS, log_threshold: float = 0.05,
                     progress: bool = True) -> LocalizationReport:
    """Pixel and depth errors of ``model`` on ``samples`` (see the module docstring).

    Args:
        model: a localization model: ``model(images, upsample="last")`` returns an object
            with ``.beliefs`` (B, J, H, W) and ``.depth`` (B, 1, H, W) (encoded, in [0, 1]).
        samples: test samples (any size; resized to ``input_size``).
        targets: the checkpoint's target parameters (sigma, phi, depth coding).
        input_size: (H, W) of the model input.
        methods: peak finders, a subset of ("nms", "log").
        min_score: a joint is found when its belief at the peak exceeds this.
        mask_dilation: grow the true masks by this many pixels (joints on the edge).
        log_sigmas, log_threshold: LoG scales and response threshold (as the predictor).
    """
    from tqdm import tqdm  # text bars: widget bars stalled notebook execution (nbclient)

    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ValueError(f"methods: expected a non-empty subset of {METHODS}, got {list(methods)}")
    if len(samples) == 0:
        raise ValueError("samples: empty test set")
    device = resolve_device(device)
    H, W = input_size
    scale = REFERENCE_WIDTH / W
    errors = {m: [] for m in methods}
    counted, robot_depth, d_err, d_true = [], [], [], []
    name = None
    starts = range(0, len(samples), batch_size)
    for start in tqdm(starts, desc="evaluating", unit="batch", disable=not show_progress(progress)):
        chunk = [resize_sample(samples[i], (H, W)) for i in range(start, min(start + batch_size, len(samples)))]
        images = torch.stack([image_to_tensor(s.image) for s in chunk]).to(device)
        beliefs, depth = predict_maps(model, images)
        beliefs, depth = beliefs.float(), depth.float()
        peaks = {}
        if "nms" in methods:
            peaks["nms"] = nms_peaks(beliefs, threshold=min_score)
        if "log" in methods:
            peaks["log"] = log_peaks(beliefs, sigmas=log_sigmas, threshold=log_threshold)
        for b, s in enumerate(chunk):
            name = name or s.robot
            fx = float(s.K[0, 0])
            # depth (Table I): every weight pixel of the image
            z_true = true_depth_map(s, targets)
            region = z_true > 0
            z_pred = targets.depth.decode(depth[b, 0].cpu().numpy().astype(np.float64), fx, W)
            e, z = metrics.depth_errors_cm(z_pred, z_true, region)
            d_err.append(e)
            d_true.append(z)
            # joints: per true robot, beliefs masked with its (dilated) true mask
            if s.num_robots == 0:
                continue
            masks = _dilate(s.masks, mask_dilation)
            vis = s.visibility.astype(bool) & (s.joints_3d[..., 2] > 0)
            counted.append(vis)
            robot_depth.append(s.joints_3d[..., 2])
            for m in methods:
                pred = robot_peaks(peaks[m], b, beliefs[b], masks, min_score)  # (R, J, 2)
                err = metrics.pixel_errors(pred, s.joints_2d, scale)
                errors[m].append(np.where(vis, err, np.nan))
    J = beliefs.shape[1]
    if joint_names is None:
        joint_names = [f"joint {j}" for j in range(J)]
    cat = lambda xs, shape: np.concatenate(xs) if xs else np.zeros(shape)  # noqa: E731
    return LocalizationReport(
        robot=name, joint_names=list(joint_names), input_size=(H, W), scale=scale,
        pixel_errors={m: cat(errors[m], (0, J)) for m in methods},
        counted=cat(counted, (0, J)).astype(bool), depth_errors_cm=cat(d_err, (0,)),
        depth_true_m=cat(d_true, (0,)), num_images=len(samples),
        robot_depth_m=cat(robot_depth, (0, J)))


def evaluate_localization(model, task, n: int, seed: int = TEST_SEED, batch_size: int = 8,
                          methods: Sequence[str] = METHODS, device=None, progress: bool = True,
                          **kwargs) -> LocalizationReport:
    """Evaluate a model from :func:`robotpose_lib.tasks.load_model` (model, task) on the
    fixed synthetic test set of ``n`` scenes of ``task.robot`` (rendered at the model's
    input size). Extra keyword arguments go to :func:`evaluate_samples`."""
    from .robots import get_robot

    if n < 1:
        raise ValueError(f"n: expected at least 1 test scene, got {n}")
    data = test_dataset(task.robot, n, task.input_size, seed)
    device = resolve_device(device)
    return evaluate_samples(model.to(device).eval(), data, task.targets, task.input_size,
                            get_robot(task.robot).keypoint_names, batch_size, methods, device,
                            progress=progress, **kwargs)


# ------------------------------------------------------------------------- real photos
@dataclass
class PhotoResult:
    """One real photo: predicted and true joints in the photo's pixels.

    Attributes:
        name: photo name.
        pred_2d, true_2d: (J, 2) pixels of the original photo (NaN where not found).
        errors_px: (J,) pixel errors in the photo's own resolution.
        pred_3d, true_3d: (J, 3) camera frame, metres (NaN where not found).
        scores: (J,) peak beliefs.
    """

    name: str
    pred_2d: np.ndarray
    true_2d: np.ndarray
    errors_px: np.ndarray
    pred_3d: np.ndarray
    true_3d: np.ndarray
    scores: np.ndarray


@torch.no_grad()
def evaluate_photos(model, task, photos, method: str = "nms", device=None,
                    min_score: float = 0.1) -> list[PhotoResult]:
    """Run the model on real photos (``real_panda.load_real_panda()``), one robot each:
    resize to the input size, decode the whole image (no mask), map the joints back to
    the photo's pixels and compare with the ground truth."""
    device = resolve_device(device)
    model = model.to(device).eval()
    H, W = task.input_size
    out = []
    for p in photos:
        h0, w0 = p.image.shape[:2]
        sx, sy = W / w0, H / h0
        image = cv2.resize(p.image, (W, H), interpolation=cv2.INTER_AREA if sx < 1 else cv2.INTER_LINEAR)
        K = np.asarray(p.K, np.float64).copy()
        K[0, 0] *= sx; K[1, 1] *= sy  # noqa: E702
        K[0, 2] = (K[0, 2] + 0.5) * sx - 0.5
        K[1, 2] = (K[1, 2] + 0.5) * sy - 0.5
        beliefs, depth = predict_maps(model, image_to_tensor(image)[None].to(device))
        fx = float(K[0, 0])
        pose = decode_instances(beliefs[0].float(), depth[0].float(), None, K, method=method,
                                min_score=min_score,
                                depth_to_metres=lambda d: task.targets.depth.decode(d, fx, W))[0]
        uv = pose.joints_2d.astype(np.float64).copy()
        uv[:, 0] = (uv[:, 0] + 0.5) / sx - 0.5
        uv[:, 1] = (uv[:, 1] + 0.5) / sy - 0.5
        out.append(PhotoResult(p.name, uv, np.asarray(p.joints_2d, float),
                               metrics.pixel_errors(uv, p.joints_2d), pose.joints_3d.astype(np.float64),
                               np.asarray(p.joints_3d, float), pose.joint_scores))
    return out


# ------------------------------------------------------------------------------- plots
def plot_pixel_errors(report: LocalizationReport, ax=None, methods: Sequence[str] | None = None,
                      ylim: float | None = None):
    """Fig. 6: box plots of the pixel error per joint (480x640 scale), one box per method
    side by side. Misses are left out (their count is in the legend)."""
    import matplotlib.pyplot as plt

    methods = list(methods or report.methods)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6, 1.1 * len(report.joint_names) + 2), 3.8))
    J = len(report.joint_names)
    width = 0.8 / len(methods)
    colors = {"nms": "tab:blue", "log": "tab:orange"}
    for k, m in enumerate(methods):
        e = report.pixel_errors[m]
        data = [e[:, j][np.isfinite(e[:, j])] for j in range(J)]
        pos = np.arange(J) + (k - (len(methods) - 1) / 2) * width
        bp = ax.boxplot(data, positions=pos, widths=width * 0.9, patch_artist=True,
                        showfliers=True, flierprops={"markersize": 2, "alpha": 0.4})
        for box in bp["boxes"]:
            box.set_facecolor(colors.get(m, "tab:gray"))
            box.set_alpha(0.6)
        ax.plot([], [], "s", color=colors.get(m, "tab:gray"), alpha=0.6,
                label=f"{m.upper()} ({report.misses(m)} missed)")
    if not any(np.isfinite(report.pixel_errors[m]).any() for m in methods):
        ax.text(0.5, 0.5, "no joint found above the score threshold", ha="center",
                transform=ax.transAxes)
        ax.set_ylim(0, 1)
    ax.set_xticks(np.arange(J))
    ax.set_xticklabels(report.joint_names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("pixel error at 480x640 [px]")
    ax.set_title(f"{report.robot}: joint pixel error ({report.num_images} test images)")
    if ylim is not None:
        ax.set_ylim(0, ylim)
    ax.legend(fontsize=8)
    return ax


def plot_depth_errors(report: LocalizationReport, ax=None, bins: int = 12, max_points: int = 3000,
                      seed: int = 0):
    """Depth error (cm) against true depth (m): a subsample of pixels and the binned
    median with its 25-75 % band; the near/far split of Table I as a dashed line."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.8))
    z, e = report.depth_true_m, report.depth_errors_cm
    if z.size == 0:
        ax.text(0.5, 0.5, "no depth pixels", ha="center", transform=ax.transAxes)
        return ax
    pick = np.random.default_rng(seed).permutation(z.size)[:max_points]
    ax.scatter(z[pick], e[pick], s=2, alpha=0.25, color="tab:gray", label="pixels (subsample)")
    edges = np.linspace(z.min(), z.max(), bins + 1)
    centres, q = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (z >= lo) & (z <= hi)
        if sel.sum() >= 5:
            centres.append(0.5 * (lo + hi))
            q.append(np.percentile(e[sel], [25, 50, 75]))
    if q:
        q = np.array(q)
        ax.plot(centres, q[:, 1], "o-", color="tab:red", label="median")
        ax.fill_between(centres, q[:, 0], q[:, 2], color="tab:red", alpha=0.2, label="25-75 %")
    if z.min() < metrics.NEAR_FAR_SPLIT_M <= z.max():
        ax.axvline(metrics.NEAR_FAR_SPLIT_M, ls="--", color="k", lw=0.8, label="near | far")
    ax.set_xlabel("true depth [m]")
    ax.set_ylabel("depth error [cm]")
    ax.set_ylim(0, max(1.0, np.percentile(e, 98) * 1.2))
    ax.set_title(f"{report.robot}: depth error where the true belief >= phi")
    ax.legend(fontsize=8)
    return ax


def plot_stage_beliefs(image: np.ndarray, stage_beliefs: Sequence[np.ndarray],
                       joint_names: Sequence[str], size: float = 1.6, vmax: float | None = None):
    """All stages x joints of one image: rows = stages, columns = joints, each belief
    map drawn over the grey image with opacity growing with the belief.

    ``stage_beliefs`` is a list of (J, H, W) arrays. All maps share one colour scale from
    0 to ``vmax`` (default: the largest belief of all maps, at least 0.05), so stages and
    joints compare directly; the scale is given in the figure title."""
    import matplotlib.pyplot as plt

    S, J = len(stage_beliefs), len(joint_names)
    if vmax is None:
        vmax = max(0.05, max(float(np.max(b)) for b in stage_beliefs))
    fig, axes = plt.subplots(S, J, figsize=(size * J * image.shape[1] / image.shape[0], size * S),
                             squeeze=False)
    grey = image.mean(axis=2) / 255.0
    cmap = plt.get_cmap("magma")
    for s in range(S):
        for j in range(J):
            ax = axes[s, j]
            ax.imshow(grey, cmap="gray", vmin=0, vmax=1)
            v = np.clip(stage_beliefs[s][j] / vmax, 0, 1)
            rgba = cmap(v)
            rgba[..., 3] = np.sqrt(v)  # faint beliefs stay visible, zero stays transparent
            ax.imshow(rgba)
            ax.set_xticks([]); ax.set_yticks([])  # noqa: E702
            if s == 0:
                ax.set_title(joint_names[j], fontsize=8)
            if j == 0:
                ax.set_ylabel(f"stage {s + 1}", fontsize=8)
    fig.suptitle(f"belief 0 (transparent) .. {vmax:.2f} (bright)", fontsize=8, y=0.995)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="robotpose eval",
                                description="Evaluate a checkpoint on the fixed synthetic test set "
                                            "(localization, instances) or on real photographs (real).")
    p.add_argument("task", choices=["localization", "instances", "real"])
    p.add_argument("--checkpoint", help="checkpoint file (.pt); real: the localization checkpoint "
                   "(default the shipped panda reference)")
    p.add_argument("--data", help="real: folder of calibrated photos (format of real_panda_dev; "
                   "default ../shared/data/real_panda_dev when present)")
    p.add_argument("--instances", help="real: instance checkpoint, or 'none' for one robot per "
                   "image (default the shipped reference)")
    p.add_argument("--json", help="real: also write the figures to this JSON file")
    p.add_argument("--n", type=int, default=100, help="test scenes (default 100)")
    p.add_argument("--seed", type=int, default=TEST_SEED, help=f"test set seed (default {TEST_SEED})")
    p.add_argument("--method", default="both", choices=["nms", "log", "both"],
                   help="joint peak finder (localization)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--min-active-fraction", type=float, default=DEFAULT_MIN_ACTIVE_FRACTION,
                   help="instances: stop when a mask covers less than this share of the image "
                        f"(default {DEFAULT_MIN_ACTIVE_FRACTION}; the paper uses {PAPER_MIN_ACTIVE_FRACTION})")
    p.add_argument("--paper-rule", action="store_true",
                   help=f"instances: use the paper's stopping rule ({PAPER_MIN_ACTIVE_FRACTION})")
    p.add_argument("--device", default="auto")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.task == "real":
            from .eval_real import main_real

            return main_real(args)
        if not args.checkpoint:
            raise ValueError(f"--checkpoint is required for {args.task}")
        if args.n < 1:
            raise ValueError(f"--n: expected at least 1 test scene, got {args.n}")
        device = resolve_device(args.device)
        if args.task == "localization":
            model, task, ckpt = load_model(args.checkpoint, device, expect={"task": "localization"})
            methods = METHODS if args.method == "both" else (args.method,)
            report = evaluate_localization(model, task, args.n, seed=args.seed, batch_size=args.batch_size,
                                           methods=methods, device=device, progress=not args.no_progress)
            print(f"checkpoint {args.checkpoint}: {ckpt['config'].get('name')} config, step {ckpt['step']}, "
                  f"test seed {args.seed}")
            print(report.format())
        else:
            model, task, ckpt = load_model(args.checkpoint, device, expect={"task": "instances"})
            fraction = PAPER_MIN_ACTIVE_FRACTION if args.paper_rule else args.min_active_fraction
            data = test_dataset(task.robot, args.n, task.input_size, args.seed)
            results = evaluate_instances(model, data, task.input_size, batch_size=args.batch_size,
                                         device=device, min_active_fraction=fraction)
            print(f"checkpoint {args.checkpoint}: step {ckpt['step']}, {args.n} test scenes of "
                  f"{task.robot}, seed {args.seed}, min active fraction {fraction}")
            print(format_instance_results(results))
    except (ValueError, FileNotFoundError) as exc:
        print(f"robotpose eval: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
