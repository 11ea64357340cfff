"""Evaluation on real, calibrated photographs in DREAM's style (Lee et al. 2020, §V).

A folder in the format of ``../shared/data/real_panda_dev`` (``info.json`` with the
intrinsics K, the base-to-camera extrinsic and the joint angles of every frame) gives the
true keypoints by our forward kinematics (``real_panda.load_real_panda``). The model runs
through :class:`~robotpose_lib.predictor.Predictor`, exactly as ``robotpose predict`` does;
only the highest-scoring robot of a frame counts (none found: every keypoint missed).

Metrics, in pixels of the original photo and camera-frame centimetres:

* PCK at 2.5, 5 and 10 px and the keypoint AUC of the PCK curve over 0-20 px; a missed
  keypoint counts as wrong (DREAM's convention);
* median pixel error per keypoint (found keypoints only, with the number missed);
* median depth error |z^ - z| and median 3D error of found keypoints (cm);
* ADD AUC over 0-10 cm, ADD being the mean 3D error of a frame's keypoints (a frame with a
  missed keypoint counts as failed);
* the same for the moving joints only (the Panda's base and shoulder hardly move in a
  teleoperation episode), and for the *mean-pose baseline*: every frame predicted as the
  average true keypoints of the folder (an oracle that knows the episode's mean pose;
  what a model must beat to show it sees the arm move).

:func:`evaluate_photos` runs the localization network alone on photos with one robot
(no masks; chapter 2's first look at real images), through the Predictor's own stages;
:func:`best_and_worst` picks photos to show from its results by a stated rule and
:func:`wrong_joints` counts the joints found on the arm but at another joint.

    robotpose eval real --data DIR [--checkpoint LOC.pt] [--instances INST.pt|none]
                        [--method nms|log] [--json OUT]
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import metrics
from ..checkpoint import CheckpointError, default_instance_task, load_checkpoint, reference_path
from ..predictor import Predictor
from ..real_panda import RealPhoto
from ..tasks import INSTANCE_TASKS, load_reference

PCK_THRESHOLDS_PX = (2.5, 5.0, 10.0)
AUC_MAX_PX = 20.0
ADD_MAX_CM = 10.0
# DREAM's 7 Panda keypoints; the first two (panda_link0, panda_link2) sit on the base and
# shoulder, the rest move with the arm.
MOVING_JOINTS = {"panda": (2, 3, 4, 5, 6), "panda_primitive": (2, 3, 4, 5, 6)}
# DREAM's Panda keypoints in words (base and shoulder, then the moving joints), for sentences.
PANDA_JOINT_WORDS = ("base", "shoulder", "upper arm", "elbow", "wrist", "flange", "hand")


@dataclass
class RealPredictions:
    """Per frame the best robot's keypoints (NaN where missed) and the truth.

    pred_2d, true_2d: (F, J, 2) pixels of the photo; pred_3d, true_3d: (F, J, 3) metres.
    Keypoints outside their image (``in_frame`` False: close views cut the arm) are left
    out of every figure, as in DREAM: no image shows them.
    """

    names: list[str]
    pred_2d: np.ndarray
    pred_3d: np.ndarray
    true_2d: np.ndarray
    true_3d: np.ndarray
    robots_found: list[int] = field(default_factory=list)
    in_frame: np.ndarray | None = None   # (F, J) bool: keypoints inside their image (None: all)


def predict_photos(predictor, photos: list[RealPhoto], method: str | None = None) -> RealPredictions:
    """Run ``predictor`` on every photo with the photo's own K; keep the best robot."""
    if not photos:
        raise ValueError("no photos to evaluate")
    J = predictor.num_joints
    pred_2d = np.full((len(photos), J, 2), np.nan)
    pred_3d = np.full((len(photos), J, 3), np.nan)
    found = []
    for i, photo in enumerate(photos):
        poses = predictor(photo.image, photo.K, method=method)
        found.append(len(poses))
        if poses:
            best = max(poses, key=lambda p: p.score)
            pred_2d[i], pred_3d[i] = best.joints_2d, best.joints_3d
    return RealPredictions([p.name for p in photos], pred_2d, pred_3d,
                           np.stack([p.joints_2d for p in photos]), np.stack([p.joints_3d for p in photos]),
                           found, keypoints_in_frame(photos))


def keypoints_in_frame(photos: list[RealPhoto]) -> np.ndarray:
    """(F, J) bool: the true keypoint lies inside its photo (pixel centres at integers)."""
    return np.stack([(p.joints_2d[:, 0] >= -0.5) & (p.joints_2d[:, 0] <= p.image.shape[1] - 0.5)
                     & (p.joints_2d[:, 1] >= -0.5) & (p.joints_2d[:, 1] <= p.image.shape[0] - 0.5)
                     & (p.joints_3d[:, 2] > 0) for p in photos])


def mean_pose_baseline(photos: list[RealPhoto]) -> RealPredictions:
    """Every frame predicted as the folder's average true keypoints (2D and 3D)."""
    true_2d = np.stack([p.joints_2d for p in photos])
    true_3d = np.stack([p.joints_3d for p in photos])
    F = len(photos)
    return RealPredictions([p.name for p in photos], np.repeat(true_2d.mean(0, keepdims=True), F, 0),
                           np.repeat(true_3d.mean(0, keepdims=True), F, 0), true_2d, true_3d, [1] * F,
                           keypoints_in_frame(photos))


def keypoint_metrics(pred: RealPredictions, joints=None) -> dict:
    """DREAM-style figures of ``pred`` over keypoints ``joints`` (indices; default all).

    Returns a dict: "pck@T" for T in PCK_THRESHOLDS_PX, "auc" (0-20 px), "median_px",
    "found" (share of keypoints found), "median_depth_cm", "median_3d_cm", "add_auc"
    (0-10 cm), "frames", "keypoints".
    """
    sel = slice(None) if joints is None else list(joints)
    err_px = metrics.pixel_errors(pred.pred_2d[:, sel], pred.true_2d[:, sel])      # (F, j)
    err_3d = metrics.position_errors_cm(pred.pred_3d[:, sel], pred.true_3d[:, sel])
    err_z = np.abs(pred.pred_3d[:, sel, 2] - pred.true_3d[:, sel, 2]) * 100.0
    shown = np.ones(err_px.shape, bool) if pred.in_frame is None else pred.in_frame[:, sel]
    if not shown.all():   # keypoints outside the image count nowhere; a frame keeps the rest
        err_px, err_3d, err_z = (np.where(shown, e, np.nan) for e in (err_px, err_3d, err_z))
        out = _metrics_of(err_px[shown], err_3d, err_z[shown], shown)
        out["frames"], out["keypoints"] = int(err_px.shape[0]), int(shown.sum())
        return out
    out = _metrics_of(err_px.ravel(), err_3d, err_z.ravel(), shown)
    out["frames"], out["keypoints"] = int(err_px.shape[0]), int(err_px.size)
    return out


def _metrics_of(err_px: np.ndarray, err_3d: np.ndarray, err_z: np.ndarray, shown: np.ndarray) -> dict:
    """keypoint_metrics' figures: err_px, err_z flat over counted keypoints (NaN: missed);
    err_3d (F, j) with NaN for missed or not counted; shown (F, j) counted keypoints."""
    out = {f"pck@{t:g}": float(metrics.pck(err_px, [t])[0]) for t in PCK_THRESHOLDS_PX}
    out["auc"] = metrics.pck_auc(err_px, AUC_MAX_PX)
    finite = np.isfinite(err_px)
    out["found"] = float(finite.mean()) if finite.size else float("nan")
    out["median_px"] = float(np.median(err_px[finite])) if finite.any() else float("nan")
    z_ok, d_ok = np.isfinite(err_z), np.isfinite(err_3d)
    out["median_depth_cm"] = float(np.median(err_z[z_ok])) if z_ok.any() else float("nan")
    out["median_3d_cm"] = float(np.median(err_3d[d_ok])) if d_ok.any() else float("nan")
    # ADD: the mean 3D error of a frame's counted keypoints; a frame missing one fails
    complete = (d_ok | ~shown).all(1) & shown.any(1)
    mean_3d = np.where(d_ok, err_3d, 0.0).sum(1) / np.maximum(shown.sum(1), 1)
    out["add_auc"] = metrics.pck_auc(np.where(complete, mean_3d, np.inf), ADD_MAX_CM)
    return out


def per_joint_median_px(pred: RealPredictions) -> list[tuple[float, int]]:
    """(median pixel error of found, number missed) per keypoint."""
    err = metrics.pixel_errors(pred.pred_2d, pred.true_2d)
    return [(float(np.median(e[np.isfinite(e)])) if np.isfinite(e).any() else float("nan"),
             int((~np.isfinite(e)).sum())) for e in err.T]


def evaluate_real(predictor, photos: list[RealPhoto], method: str | None = None) -> dict:
    """Model and mean-pose baseline on ``photos``, all joints and moving joints.

    Returns a JSON-ready dict: "model" and "baseline", each {"all": metrics, "moving":
    metrics}; "per_joint" [(name, median px, missed)]; "robots_found" per frame.
    """
    pred = predict_photos(predictor, photos, method)
    base = mean_pose_baseline(photos)
    moving = MOVING_JOINTS.get(predictor.robot)
    result = {"frames": pred.names, "robots_found": pred.robots_found}
    for label, p in (("model", pred), ("baseline", base)):
        result[label] = {"all": keypoint_metrics(p), "moving": keypoint_metrics(p, moving) if moving else None}
    result["per_joint"] = [(name, m, k) for name, (m, k) in zip(predictor.joint_names, per_joint_median_px(pred))]
    result["predictions"] = {"pred_2d": pred.pred_2d.tolist(), "true_2d": pred.true_2d.tolist()}
    return result


ROWS = [("pck@2.5", "PCK @ 2.5 px"), ("pck@5", "PCK @ 5 px"), ("pck@10", "PCK @ 10 px"),
        ("auc", "keypoint AUC 0-20 px"), ("found", "keypoints found"),
        ("median_px", "median error [px]"), ("median_depth_cm", "median depth error [cm]"),
        ("median_3d_cm", "median 3D error [cm]"), ("add_auc", "ADD AUC 0-10 cm")]


def format_real_report(result: dict) -> str:
    """The metrics table (model | mean-pose baseline, all and moving joints) as text."""
    groups = [("all", "all joints")] + ([("moving", "moving joints")] if result["model"]["moving"] else [])
    head = f"{'':26s}" + "".join(f"{'model ' + g:>16s}{'baseline ' + g:>20s}" for g, _ in groups)
    lines = [f"{len(result['frames'])} frames; robots found per frame: {result['robots_found']}", head]
    for key, label in ROWS:
        cells = "".join(f"{result['model'][g][key]:16.3f}{result['baseline'][g][key]:20.3f}" for g, _ in groups)
        lines.append(f"{label:26s}{cells}")
    lines.append("")
    lines.append("median pixel error per keypoint (found only), missed")
    lines += [f"  {name:14s} {m:8.1f} px  missed {k}" for name, m, k in result["per_joint"]]
    return "\n".join(lines)


def load_predictor(checkpoint: str | None, instances: str | None, robot: str | None = None, device=None):
    """A Predictor from a localization checkpoint (default the shipped reference) and an
    instance checkpoint of either kind, recurrent or one-pass (``tasks.INSTANCE_TASKS``;
    default the robot's default shipped instance model, ``checkpoint.default_instance_task``;
    "none": one robot per image, beliefs decoded unmasked).

    With both given, the instance model runs on the *given* localization model's outputs
    (the instance checkpoint's own copy of the localization weights is replaced), so a
    retrained localization model can be measured with an existing instance model (of a
    robot with the same keypoints: the primitive Panda's instance model beside the mesh
    Panda's localization model). ``robot``: the expected robot (default: the localization
    checkpoint's, "panda" for the shipped reference).
    """
    if robot is None:
        robot = load_checkpoint(checkpoint)["robot"] if checkpoint else "panda"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "localization-only checkpoint": intended
        loc_ref = load_reference(robot, checkpoint=checkpoint, device=device) if checkpoint \
            else load_reference(robot, device=device)
        loc = Predictor.from_reference(loc_ref, device=device)
    if instances == "none":
        return loc
    inst_file = Path(instances) if instances else reference_path(robot, default_instance_task(robot))
    task = load_checkpoint(inst_file).get("task")
    if task not in INSTANCE_TASKS:
        raise CheckpointError(f"{inst_file}: a {task!r} checkpoint, but --instances needs an instance "
                              f"checkpoint ({' or '.join(INSTANCE_TASKS)}; or 'none' for one robot per image)")
    inst = Predictor.from_reference(load_reference(None, checkpoint=inst_file, device=device),
                                    localization_checkpoint=loc_ref.path, device=device)
    if list(inst.joint_names) != list(loc.joint_names):
        raise CheckpointError(f"{inst_file}: made for robot {inst.robot!r}, whose keypoints differ from "
                              f"{loc.robot!r}'s")
    inst.robot = loc.robot
    inst.localization = loc.localization
    inst.depth_coding = loc.depth_coding
    return inst


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


def evaluate_photos(model, task, photos, method: str = "nms", device=None,
                    min_score: float = 0.1) -> list[PhotoResult]:
    """Run a localization model alone on real photos (``real_panda.load_real_panda()``),
    one robot each, through the :class:`Predictor`'s own stages (prepare: the photo's K
    checked and the image fitted to the network keeping its aspect; network; decode the
    whole image, no mask, depth in metres by the network grid's camera; back to the
    photo's pixels), and compare with the ground truth.

    Args:
        model: a localization model; ``task``: its task (input size, depth coding, robot).
        photos: ``RealPhoto`` list (image, K, true joints 2D/3D).
        method: peak finder, 'nms' or 'log'; ``min_score``: a joint is found above it.

    Returns:
        one :class:`PhotoResult` per photo, in order.
    """
    predictor = Predictor(model, None, task.robot, depth_coding=task.targets.depth, device=device,
                          method=method, min_score=min_score, input_size=task.input_size)
    out = []
    for p in photos:
        prepared = predictor.prepare(p.image, p.K, name=p.name)
        pose = predictor.predict_prepared([prepared], method=method, with_masks=False)[0][0]
        uv = pose.joints_2d.astype(np.float64)
        out.append(PhotoResult(p.name, uv, np.asarray(p.joints_2d, float),
                               metrics.pixel_errors(uv, p.joints_2d), pose.joints_3d.astype(np.float64),
                               np.asarray(p.joints_3d, float), pose.joint_scores))
    return out


def best_and_worst(results: list[PhotoResult], k: int = 2) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Photos to show from :func:`evaluate_photos`'s ``results``, by a stated rule: the ``k``
    best and the ``k`` worst by median pixel error among the photos where at least one
    joint is found (all of those when there are fewer than 2 ``k``).

    Returns:
        (the chosen indices, best first; each photo's median error in its pixels, inf
        where no joint is found; each photo's number of found joints).
    """
    n_found = np.array([int(np.isfinite(r.errors_px).sum()) for r in results])
    medians = np.array([np.nanmedian(r.errors_px) if n else np.inf
                        for r, n in zip(results, n_found)])
    order = [int(i) for i in np.argsort(medians) if n_found[i]]
    return (order[:k] + order[-k:] if len(order) >= 2 * k else order), medians, n_found


def wrong_joints(results: list[PhotoResult], tolerance_px: float) -> list[tuple[int, int]]:
    """Per photo of :func:`evaluate_photos`'s ``results``: (found joints farther than
    ``tolerance_px`` from their true joint, of them those within ``tolerance_px`` of another
    true joint of the arm): the second are joints found on the robot but named wrong."""
    out = []
    for r in results:
        off = wrong = 0
        for j in np.flatnonzero(np.isfinite(r.errors_px) & (r.errors_px > tolerance_px)):
            others = np.delete(r.true_2d, j, axis=0)
            off += 1
            wrong += bool(np.nanmin(np.linalg.norm(others - r.pred_2d[j], axis=1)) <= tolerance_px)
        out.append((off, wrong))
    return out


def fixed_joints(r: dict, key: str) -> float:
    """A per-keypoint mean figure (``key``: "auc", "found", ...) on the joints outside the
    moving set, from a result's "all" and "moving" groups weighted by their keypoints
    (never below 0: rounding can leave -0.000)."""
    n, m = r["all"]["keypoints"], r["moving"]["keypoints"]
    value = (n * r["all"][key] - m * r["moving"][key]) / (n - m)
    return max(0.0, value)


# ------------------------------------------------------- chapter 5: the mesh Panda model
# A published figure for scale, not measured here: DREAM's VGG model (Lee et al. 2020),
# trained on about 100k synthetic renders of the Panda's meshes on GPUs with no real image,
# reports a keypoint AUC (0-20 px, all keypoints) of about this much on its own RealSense
# Panda photographs. The figure is the one the project's sim-to-real work cites as its scale.
DREAM_REFERENCE = {"label": "DREAM, VGG (published)", "auc": 0.72,
                   "what": "its own RealSense Panda photographs at 480x640, trained on about 100,000 "
                           "synthetic renders of the Panda's meshes on GPUs, no real image in training; its "
                           "0-20 px range is measured at twice our photos' 320-px width, so it is the "
                           "stricter of the two"}


def photo_median_errors(pred_2d: np.ndarray, true_2d: np.ndarray, in_frame: np.ndarray | None = None) -> np.ndarray:
    """Each photo's median pixel error over its keypoints inside the image, a missed keypoint
    counting as infinitely far (DREAM counts a miss as wrong): a photo with half or more of
    its keypoints missed gets ``inf``.

    Args:
        pred_2d, true_2d: (F, J, 2) pixels (NaN in ``pred_2d``: missed).
        in_frame: (F, J) bool, keypoints that count (default all).

    Returns:
        (F,) float; NaN for a photo with no keypoint in its image.

    Raises:
        ValueError: shapes that do not match.
    """
    pred, true = np.asarray(pred_2d, float), np.asarray(true_2d, float)
    if pred.shape != true.shape or pred.ndim != 3 or pred.shape[-1] != 2:
        raise ValueError(f"pred_2d and true_2d must both be (F, J, 2), got {pred.shape} and {true.shape}")
    shown = np.ones(pred.shape[:2], bool) if in_frame is None else np.asarray(in_frame, bool)
    if shown.shape != pred.shape[:2]:
        raise ValueError(f"in_frame must be {pred.shape[:2]}, got {shown.shape}")
    err = metrics.pixel_errors(pred, true)
    err = np.where(np.isfinite(err), err, np.inf)
    return np.array([float(np.median(e[s])) if s.any() else float("nan") for e, s in zip(err, shown)])


def chosen_photos(medians: np.ndarray) -> dict[str, int]:
    """Photos to show by a stated rule, from :func:`photo_median_errors`: "best" (lowest
    median error), "median" (the middle photo of the ranking, the lower middle for an even
    count) and "worst" (highest; ``inf`` ranks last). Ties keep the photos' order (the
    worst of tied photos is the last). Photos with NaN are left out.

    Returns:
        {"best": i, "median": i, "worst": i} (indices into ``medians``; one photo may carry
        several labels when fewer than three photos rank).

    Raises:
        ValueError: no photo to rank.
    """
    m = np.asarray(medians, float)
    ranked = [int(i) for i in np.argsort(np.where(np.isnan(m), np.inf, m), kind="stable") if not np.isnan(m[i])]
    if not ranked:
        raise ValueError("chosen_photos: no photo with a keypoint to rank")
    return {"best": ranked[0], "median": ranked[(len(ranked) - 1) // 2], "worst": ranked[-1]}


def chain_distance(points: np.ndarray, chain: np.ndarray) -> np.ndarray:
    """Pixel distance of each point to the polyline through ``chain`` (the true keypoints,
    base to hand): how far a prediction lies from the arm's skeleton.

    Args:
        points: (N, 2) pixels (NaN rows give NaN).
        chain: (J, 2) pixels, J >= 1, all finite.

    Returns:
        (N,) float distances in pixels.

    Raises:
        ValueError: wrong shapes or a non-finite chain.
    """
    p, c = np.asarray(points, float), np.asarray(chain, float)
    if p.ndim != 2 or p.shape[1] != 2 or c.ndim != 2 or c.shape[1] != 2 or len(c) == 0:
        raise ValueError(f"points must be (N, 2) and chain (J, 2), got {p.shape} and {c.shape}")
    if not np.isfinite(c).all():
        raise ValueError("chain_distance: the chain must be finite")
    if len(c) == 1:
        return np.linalg.norm(p - c[0], axis=1)
    a, b = c[:-1], c[1:]                                       # (S, 2) segments
    ab = b - a
    length2 = np.maximum((ab ** 2).sum(1), 1e-12)
    t = np.clip(((p[:, None] - a[None]) * ab[None]).sum(-1) / length2[None], 0.0, 1.0)   # (N, S)
    nearest = a[None] + t[..., None] * ab[None]
    return np.linalg.norm(p[:, None] - nearest, axis=-1).min(1)


OUTCOMES = ("right", "other joint", "on the arm", "off the arm", "missed", "outside the image")


def joint_outcomes(pred_2d: np.ndarray, true_2d: np.ndarray, right_px: float, arm_px: float,
                   in_frame: np.ndarray | None = None) -> list[str]:
    """What became of each keypoint of one photo (:data:`OUTCOMES`): "right" (within
    ``right_px`` of its true joint), "other joint" (within ``right_px`` of another true
    joint: found on the arm, named wrong), "on the arm" (within ``arm_px`` of the true
    chain's polyline), "off the arm" (farther), "missed" (NaN), "outside the image" (its
    true joint is not in the photo: ``in_frame`` False; it counts nowhere).

    Args:
        pred_2d, true_2d: (J, 2) pixels; in_frame: (J,) bool or None (all inside).
        right_px, arm_px: tolerances in pixels (> 0).

    Raises:
        ValueError: non-positive tolerances or mismatched shapes.
    """
    pred, true = np.asarray(pred_2d, float), np.asarray(true_2d, float)
    if right_px <= 0 or arm_px <= 0:
        raise ValueError(f"right_px and arm_px must be > 0, got {right_px} and {arm_px}")
    if pred.shape != true.shape or pred.ndim != 2 or pred.shape[1] != 2:
        raise ValueError(f"pred_2d and true_2d must both be (J, 2), got {pred.shape} and {true.shape}")
    shown = np.ones(len(true), bool) if in_frame is None else np.asarray(in_frame, bool)
    to_chain = chain_distance(pred, true)
    out = []
    for j in range(len(true)):
        if not shown[j]:
            out.append("outside the image")
        elif not np.isfinite(pred[j]).all():
            out.append("missed")
        elif np.linalg.norm(pred[j] - true[j]) <= right_px:
            out.append("right")
        elif (np.linalg.norm(np.delete(true, j, axis=0) - pred[j], axis=1) <= right_px).any():
            out.append("other joint")
        else:
            out.append("on the arm" if to_chain[j] <= arm_px else "off the arm")
    return out

