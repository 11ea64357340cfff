"""3D evaluation of the whole pipeline (chapter 4): per-joint 3D position errors.

Unlike ``eval/localization.py`` (the localization model alone, with the *true* masks), this runs
the :class:`~robotpose_lib.predictor.Predictor` as a user would: predicted instance
masks, masked beliefs, NMS or LoG peaks, decoded depth and back-projection with K.

* :func:`evaluate_3d`: on the fixed synthetic test set (``eval.testset.test_dataset``), each
  true robot is matched to at most one predicted robot (Hungarian assignment on the mean
  2D distance of their common joints, accepted below ``max_match_px`` at 480x640 scale).
  A true joint is *counted* when it lies in front of the camera and inside the frame
  (the joints the network is trained to find, occluded or not). Its error is the
  Euclidean distance in cm between predicted and true camera-frame positions; a counted
  joint of an unmatched robot, or one the matched prediction did not find, is a *miss*
  (NaN, counted separately). Errors are split near [0, 5) m and far [5, 10] m by the true
  joint depth, as the paper's Table I. Both peak finders decode the same network outputs.
* ``testset.close_pair_scenes`` + :func:`wrong_robot_effect`: two robots standing close
  together, decoded with the predicted instance masks and without any mask (one robot
  per image assumed: each joint's strongest peak over the whole image, whichever robot it
  belongs to). Without masks the chain mixes joints of both robots; we count how many of
  its joints lie nearer (in 2D) to the *other* robot's joint than to its own robot's, a
  chain's own robot being the one most of its joints lie nearer to.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from .. import metrics
from ..peaks import METHODS
from ..metrics import REFERENCE_WIDTH
from ..types import RobotPose, Sample


def counted_joints(sample: Sample) -> np.ndarray:
    """bool (R, J): joints in front of the camera with their projection inside the image."""
    H, W = sample.size
    uv = sample.joints_2d
    inside = (uv[..., 0] >= -0.5) & (uv[..., 0] < W - 0.5) & (uv[..., 1] >= -0.5) & (uv[..., 1] < H - 0.5)
    return inside & (sample.joints_3d[..., 2] > 0)


def match_poses(poses: Sequence[RobotPose], true_2d: np.ndarray, valid: np.ndarray,
                max_px: float) -> np.ndarray:
    """For each true robot, the index of its predicted robot or -1.

    Args:
        poses: predictions (joints_2d (J, 2), NaN where not found).
        true_2d: (R, J, 2) true projections; valid: bool (R, J) joints to compare.
        max_px: a pair whose mean distance over common joints exceeds this is no match.
    """
    R = true_2d.shape[0]
    out = np.full(R, -1, dtype=int)
    if R == 0 or len(poses) == 0:
        return out
    cost = np.full((R, len(poses)), np.inf)
    for p, pose in enumerate(poses):
        d = np.linalg.norm(true_2d - pose.joints_2d[None], axis=-1)  # (R, J), NaN where not found
        ok = valid & np.isfinite(d)
        n = ok.sum(axis=1)
        mean = np.where(n > 0, np.where(ok, d, 0).sum(axis=1) / np.maximum(n, 1), np.inf)
        cost[:, p] = mean
    finite = np.where(np.isfinite(cost), cost, 1e9)
    rows, cols = linear_sum_assignment(finite)
    for r, c in zip(rows, cols):
        if cost[r, c] <= max_px:
            out[r] = c
    return out


@dataclass
class Report3D:
    """3D joint errors of one predictor on one test set (N true robots, J joints).

    Attributes:
        errors_cm: method -> float (N, J); NaN where not counted or missed.
        counted: bool (N, J); true_depth_m: (N, J) true joint depth (camera z).
        matched: method -> bool (N,) true robot matched to a prediction.
        predicted: method -> number of predicted robots in all images.
        pixel_errors: method -> (N, J) 2D errors at 480x640 scale (NaN as above).
    """

    robot: str
    num_images: int
    errors_cm: dict[str, np.ndarray]
    counted: np.ndarray
    true_depth_m: np.ndarray
    matched: dict[str, np.ndarray]
    predicted: dict[str, int]
    pixel_errors: dict[str, np.ndarray] = field(default_factory=dict)

    def misses(self, method: str) -> int:
        return int((self.counted & ~np.isfinite(self.errors_cm[method])).sum())

    def near_far(self, method: str) -> dict[str, dict[str, float]]:
        """Error summaries (cm) near [0, 5) m and far [5, 10] m of the found joints."""
        e = self.errors_cm[method]
        ok = self.counted & np.isfinite(e)
        return metrics.near_far_table(e[ok], self.true_depth_m[ok])

    def format(self) -> str:
        lines = [f"{self.robot}: {self.num_images} images, {len(self.counted)} true robots, "
                 f"{int(self.counted.sum())} counted joints"]
        for m in self.errors_cm:
            px = self.pixel_errors[m]
            mean_px = np.nanmean(px) if np.isfinite(px).any() else float("nan")
            lines.append(f"\n{m.upper()}: matched {int(self.matched[m].sum())}/{len(self.counted)} robots, "
                         f"{self.predicted[m]} predicted; missed joints {self.misses(m)}; "
                         f"mean 2D error {mean_px:.2f} px at 480x640")
            lines.append("3D joint position error")
            lines.append(metrics.format_error_table(self.near_far(m)))
        return "\n".join(lines)


def decode_variants(predictor, samples: Sequence[Sample], variants: dict[str, tuple[str, bool]],
                    batch_size: int = 4) -> dict[str, list[list[RobotPose]]]:
    """Per variant name -> (method, use_masks), per sample, the predicted poses in
    input-image pixels. The networks run once per image for all variants."""
    out = {k: [] for k in variants}
    for start in range(0, len(samples), batch_size):
        chunk = [samples[i] for i in range(start, min(start + batch_size, len(samples)))]
        prepared = [predictor.prepare(s.image, s.K) for s in chunk]
        net = predictor.network(torch.stack([p.tensor for p in prepared]))
        for b, item in enumerate(prepared):
            inst = None if net["instances"] is None else net["instances"][b]
            for key, (method, use_masks) in variants.items():
                poses = predictor.decode(net["beliefs"][b], net["depth"][b], inst, item.K_net, method=method,
                                         use_masks=use_masks)
                out[key].append(predictor.to_input(poses, item, with_masks=False))
    return out


def score_predictions(predictions: dict[str, list[list[RobotPose]]], samples: Sequence[Sample], robot: str,
                      num_joints: int, max_match_px: float = 40.0) -> Report3D:
    """:class:`Report3D` of given predictions (per variant, per sample) against the truth."""
    keys = list(predictions)
    errors = {m: [] for m in keys}
    pixel = {m: [] for m in keys}
    matched = {m: [] for m in keys}
    counted, depth = [], []
    for i, s in enumerate(samples):
        if s.num_robots == 0:
            continue
        valid = counted_joints(s)
        counted.append(valid)
        depth.append(s.joints_3d[..., 2])
        scale = REFERENCE_WIDTH / s.size[1]
        for m in keys:
            poses = predictions[m][i]
            match = match_poses(poses, s.joints_2d, valid, max_match_px / scale)
            e3 = np.full(valid.shape, np.nan)
            e2 = np.full(valid.shape, np.nan)
            for r, p in enumerate(match):
                if p >= 0:
                    e3[r] = metrics.position_errors_cm(poses[p].joints_3d, s.joints_3d[r])
                    e2[r] = metrics.pixel_errors(poses[p].joints_2d, s.joints_2d[r], scale)
            errors[m].append(np.where(valid, e3, np.nan))
            pixel[m].append(np.where(valid, e2, np.nan))
            matched[m].append(match >= 0)
    J = num_joints
    cat = lambda xs, shape: np.concatenate(xs) if xs else np.zeros(shape)  # noqa: E731
    return Report3D(
        robot=robot, num_images=len(samples),
        errors_cm={m: cat(errors[m], (0, J)) for m in keys},
        counted=cat(counted, (0, J)).astype(bool), true_depth_m=cat(depth, (0, J)),
        matched={m: cat(matched[m], (0,)).astype(bool) for m in keys},
        predicted={m: sum(len(p) for p in predictions[m]) for m in keys},
        pixel_errors={m: cat(pixel[m], (0, J)) for m in keys})


def evaluate_3d(predictor, samples: Sequence[Sample], methods: Sequence[str] = METHODS,
                max_match_px: float = 40.0, batch_size: int = 4, use_masks: bool = True) -> Report3D:
    """3D joint errors of ``predictor`` on ``samples`` for each peak finder (module
    docstring).

    Args:
        max_match_px: largest mean 2D distance (at 480x640 scale) of a matched pair.
        use_masks: False decodes every image as one unmasked robot.
    """
    if not samples:
        raise ValueError("samples: empty test set")
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ValueError(f"methods: expected a non-empty subset of {METHODS}, got {list(methods)}")
    predictions = decode_variants(predictor, samples, {m: (m, use_masks) for m in methods}, batch_size)
    return score_predictions(predictions, samples, predictor.robot, predictor.num_joints, max_match_px)


# ----------------------------------------------------------------------- wrong robot
@dataclass
class WrongRobotResult:
    """With and without instance masks on two-robot scenes.

    Attributes:
        with_masks, without_masks: :class:`Report3D` of each way of decoding.
        foreign_fraction: without masks, the fraction of the single chain's found joints
            that lie nearer (2D) to the other robot's joint than to its own robot's
            (:func:`other_robot_joints`).
        foreign_fraction_masked: the same for the chains decoded with masks.
    """

    with_masks: Report3D
    without_masks: Report3D
    foreign_fraction: float
    foreign_fraction_masked: float

    def rows(self) -> list[dict]:
        """One row per way of decoding ("with instance masks", "without masks"): robots
        recovered, robots, share of joints found, mean and median 3D error (cm), share of
        found joints nearer to the other robot's joint."""
        rows = []
        for label, rep, foreign in (("with instance masks", self.with_masks, self.foreign_fraction_masked),
                                    ("without masks", self.without_masks, self.foreign_fraction)):
            m = next(iter(rep.errors_cm))
            e = rep.errors_cm[m][rep.counted]
            found = np.isfinite(e)
            rows.append({"decoding": label, "robots recovered": int(rep.matched[m].sum()), "robots": len(rep.counted),
                         "joints found": float(found.mean()) if found.size else float("nan"),
                         "mean 3D [cm]": float(np.nanmean(e)) if found.any() else float("nan"),
                         "median 3D [cm]": float(np.nanmedian(e)) if found.any() else float("nan"),
                         "joints on the other robot": foreign})
        return rows

    def format(self) -> str:
        return "\n".join(
            f"{r['decoding']:22s} robots recovered {r['robots recovered']:3d}/{r['robots']:3d}  "
            f"joints found {r['joints found'] * 100:5.1f}%  mean 3D error {r['mean 3D [cm]']:7.2f} cm  "
            f"median {r['median 3D [cm]']:7.2f} cm  "
            f"joints on the other robot {r['joints on the other robot'] * 100:5.1f}%"
            for r in self.rows())


def paired_closer(report: Report3D, a: str, b: str) -> tuple[int, float, float]:
    """Which of two peak finders places the same joints closer in 3D (chapter 4.3).

    Over the counted joints both ``a`` and ``b`` found (``report.errors_cm``), a sign test:
    the share of them where ``a`` is closer, leaving out exact ties (the same peak), and
    the two-sided binomial p-value of so uneven a split if each were equally likely to be
    closer (``metrics.sign_test``).

    Returns:
        (joints both found, share where ``a`` is closer, p-value); (n, NaN, NaN) without
        a joint where they differ.
    """
    ea, eb = report.errors_cm[a], report.errors_cm[b]
    both = report.counted & np.isfinite(ea) & np.isfinite(eb)
    differ = both & (ea != eb)
    n = int(differ.sum())
    if n == 0:
        return int(both.sum()), float("nan"), float("nan")
    closer = int((ea[differ] < eb[differ]).sum())
    return int(both.sum()), closer / n, metrics.sign_test(closer, n - closer)


def masks_sign_test(per_scene) -> tuple[int, int, float]:
    """Scene by scene, whether the masks put fewer joints on the other robot (chapter 4.4):
    ``per_scene`` holds per two-robot scene ((found, on the other robot) with masks, (found,
    on the other robot) without), as :func:`other_robot_joints` counts them. Returns (scenes
    with fewer joints on the other robot with masks, scenes with more, the sign test's
    p-value over them; ties left out; NaN when no scene differs)."""
    fewer = sum(m[1] < p[1] for m, p in per_scene)
    more = sum(m[1] > p[1] for m, p in per_scene)
    return fewer, more, metrics.sign_test(fewer, more)


def other_robot_joints(poses: list[RobotPose], s: Sample) -> tuple[int, int]:
    """(found joints, of them nearer the other robot's same joint than their own robot's) over
    every chain of ``poses`` in the two-robot scene ``s``. A chain's own robot is the one most
    of its found joints lie nearer to in 2D (a tie: the one they lie nearer on average), so
    the count is what a chain takes from the second robot, whichever robot a matching would
    pair it with; a chain on the wrong robot altogether, or two chains on one robot, add
    nothing here (the robots recovered say that). Only joints counted for the own robot
    (``counted_joints``) that the chain found count. Raises ValueError unless ``s`` holds
    two robots."""
    if s.num_robots != 2:
        raise ValueError(f"other_robot_joints: a two-robot scene needed, got {s.num_robots} robots")
    valid = counted_joints(s)
    found = foreign = 0
    for pose in poses:
        d = np.stack([np.linalg.norm(pose.joints_2d - s.joints_2d[r], axis=-1) for r in (0, 1)])  # (2, J)
        seen = np.isfinite(d).all(axis=0)
        if not seen.any():
            continue
        votes = [int((d[r][seen] < d[1 - r][seen]).sum()) for r in (0, 1)]
        own = (0 if votes[0] > votes[1] else 1 if votes[1] > votes[0]
               else int(d[1][seen].mean() < d[0][seen].mean()))
        ok = seen & valid[own]
        foreign += int((d[1 - own][ok] < d[own][ok]).sum())
        found += int(ok.sum())
    return found, foreign


def _foreign_fraction(predictions: list[list[RobotPose]], samples: Sequence[Sample]) -> float:
    counts = [other_robot_joints(poses, s) for poses, s in zip(predictions, samples)]
    total, foreign = sum(c[0] for c in counts), sum(c[1] for c in counts)
    return foreign / total if total else float("nan")


def wrong_robot_effect(predictor, samples: Sequence[Sample], method: str = "nms",
                       max_match_px: float = 1e9) -> WrongRobotResult:
    """Decode two-robot scenes with and without instance masks (module docstring).

    ``max_match_px`` defaults to no limit: a chain mixing both robots should still be
    compared with the robot it is nearest to, not dropped as unmatched.
    """
    if predictor.instances is None:
        raise ValueError("predictor: needs an instance model to compare with and without masks")
    if not samples:
        raise ValueError("samples: no two-robot scenes")
    preds = decode_variants(predictor, samples, {"masked": (method, True), "plain": (method, False)})
    score = lambda key: score_predictions({method: preds[key]}, samples, predictor.robot,  # noqa: E731
                                          predictor.num_joints, max_match_px)
    return WrongRobotResult(score("masked"), score("plain"), _foreign_fraction(preds["plain"], samples),
                            _foreign_fraction(preds["masked"], samples))


# ------------------------------------------------------- chapter 4: single scenes
def decoding_errors(decoded: dict[str, list[RobotPose]], s: Sample) -> list[dict]:
    """Errors of decoding one scene's maps, one row per peak finder: ``decoded`` maps a
    method ("nms", "log") to the poses decoded for the scene ``s``, robot r's pose at
    index r (as ``decode.decode_poses`` returns them for the true masks, so no matching is
    needed). Over the counted joints (:func:`counted_joints`): "peaks" (the finder's
    name), "mean 2D [px]" (pixels of ``s``), "mean 3D [cm]", "max 3D [cm]", "joints
    missed" and "joints counted" (in front of the camera and inside the frame, hidden or
    not, as the 3D evaluation counts them).
    Raises ValueError when a method's poses are not one per robot."""
    from ..peaks import peak_name

    ok = counted_joints(s)
    rows = []
    for m, poses in decoded.items():
        if len(poses) != s.num_robots:
            raise ValueError(f"decoded[{m!r}]: {len(poses)} poses for {s.num_robots} robots; expected one per robot")
        err3 = np.stack([metrics.position_errors_cm(p.joints_3d, t) for p, t in zip(poses, s.joints_3d)])
        err2 = np.stack([metrics.pixel_errors(p.joints_2d, t) for p, t in zip(poses, s.joints_2d)])
        rows.append({"peaks": peak_name(m), "mean 2D [px]": float(np.nanmean(err2[ok])),
                     "mean 3D [cm]": float(np.nanmean(err3[ok])), "max 3D [cm]": float(np.nanmax(err3[ok])),
                     "joints missed": int(np.isnan(err3[ok]).sum()), "joints counted": int(ok.sum())})
    return rows


def score_scene(predictor, s: Sample, method: str = "nms", max_match_px: float = 40.0
                ) -> tuple[list[RobotPose], Report3D]:
    """Run ``predictor`` on one scene with the peak finder ``method`` and score it against
    the truth (:func:`score_predictions`, matching within ``max_match_px`` at 480x640).
    Returns (the predicted poses in ``s``'s pixels, the :class:`Report3D`, one variant
    ``method``)."""
    poses = predictor(s.image, s.K, method=method)
    report = score_predictions({method: [poses]}, [s], predictor.robot, predictor.num_joints, max_match_px)
    return poses, report


def most_differing_scene(per_scene: Sequence[tuple[tuple[int, int], tuple[int, int]]]) -> int:
    """Index of the scene whose two decodings differ most in found joints lying nearer the
    other robot's joint, ties broken by the difference in joints found. ``per_scene``:
    per scene, ((found, on the other robot) of one decoding, (found, on the other robot)
    of the other), as :func:`other_robot_joints` counts them. Raises ValueError when empty."""
    if not per_scene:
        raise ValueError("per_scene: no scenes")
    return max(range(len(per_scene)), key=lambda i: (abs(per_scene[i][0][1] - per_scene[i][1][1]),
                                                     abs(per_scene[i][0][0] - per_scene[i][1][0])))
