"""Evaluation of the localization network on the fixed synthetic test set (paper §IV-B).

Joint localization (Fig. 6, Table I):

* **pixel error per joint**: the paper localises joints per robot instance. For every
  true robot in a test image, a joint's prediction is the strongest peak of that joint's
  belief map whose pixel lies inside the robot's true instance mask (grown by a few
  pixels; the true mask keeps instance errors out of this measure). Peaks come from NMS
  (local maxima, :func:`robotpose_lib.peaks.nms_peaks`) or from the Laplacian of
  Gaussian (:func:`robotpose_lib.peaks.log_peaks`), both computed on the *unmasked*
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

The test set is ``eval/testset.py``'s, at the model's input size (the size the training
samples are rendered at). ``robotpose eval localization`` prints :meth:`LocalizationReport.format`;
``viz/localization.py`` plots it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np
import torch

from .. import metrics
from ..camera import Camera
from ..config import resolve_device, show_progress
from ..metrics import REFERENCE_WIDTH
from ..peaks import DEFAULT_LOG_SIGMAS, METHODS, Peaks, log_peaks, nms_peaks
from ..robots import get_robot
from ..targets import DepthCoding, TargetParams, image_to_tensor, make_targets, resize_sample
from ..types import Sample
from .testset import TEST_SEED, test_dataset


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

    def figures(self) -> dict:
        """The report as data (JSON-ready; NaN where a figure has no value): the test set's
        size, Table I (cm) with its median-depth baseline, and per peak method the joint
        table (480x640 pixels) and misses. What ``eval localization --json`` writes."""
        return {"robot": self.robot, "input_size": list(self.input_size), "images": self.num_images,
                "robots": int(self.counted.shape[0]), "table_i_cm": self.depth_table(),
                "table_i_baseline_cm": self.depth_baseline_table(),
                "pixel_errors_px": {m: self.joint_table(m) for m in self.methods}}

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
            # depth (Table I): every weight pixel of the image
            z_true = true_depth_map(s, targets)
            region = z_true > 0
            grid = Camera(s.K, (H, W))
            z_pred = grid.metric_depth(depth[b, 0].cpu().numpy().astype(np.float64), targets.depth, W)
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
                          recipe: str = "paper", **kwargs) -> LocalizationReport:
    """Evaluate a model from :func:`robotpose_lib.tasks.load_model` (model, task) on the
    fixed synthetic test set of ``n`` scenes of ``task.robot`` (rendered at the model's
    input size; ``recipe`` other than "paper": the test set of that recipe's conditions,
    :func:`~robotpose_lib.eval.testset.test_dataset`). Extra keyword arguments go to
    :func:`evaluate_samples`."""
    if n < 1:
        raise ValueError(f"n: expected at least 1 test scene, got {n}")
    data = test_dataset(task.robot, n, task.input_size, seed, recipe)
    device = resolve_device(device)
    return evaluate_samples(model.to(device).eval(), data, task.targets, task.input_size,
                            get_robot(task.robot).keypoint_names, batch_size, methods, device,
                            progress=progress, **kwargs)
