"""Scenes chosen by a stated rule, for showing trained networks at work.

A figure of one scene says little unless the reader knows how the scene was chosen: the
best scene of a test set flatters a model, a hand-picked one hides the choice. The book
therefore shows trained networks on the scene of *median* error among a fixed, stated
set of candidate scenes (the first scenes of the fixed synthetic test set,
``eval.testset``), so that as many scenes go better as go worse.

* :func:`scene_errors`: one number per scene, the mean 2D joint error of a prediction
  against the truth, a joint that was not found counting as the match radius;
* :func:`median_index`: the scene at the median of those errors;
* :func:`pipeline_from_networks`: the introduction's pipeline figure (``viz.pipeline``)
  drawn from the shipped networks on the median scene, beside the same scene's exact
  targets (what perfectly trained networks would output).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .eval.pose3d import counted_joints, match_poses
from .types import RobotPose, Sample

# A joint that was not found, or a robot that was not matched, counts as this many pixels
# (also the match radius): a miss is never better than a found joint.
MISSING_PX = 40.0


def scene_errors(predictions: Sequence[Sequence[RobotPose]], samples: Sequence[Sample],
                 max_px: float = MISSING_PX) -> np.ndarray:
    """Mean 2D joint error of each scene, pixels at the scene's size.

    Every true robot is matched to at most one predicted robot (``eval.pose3d.match_poses``,
    mean distance below ``max_px``); the error is the mean over the true robots' counted
    joints (in front of the camera, inside the image) of the distance to the matched
    robot's joint, where a joint not found or a robot not matched counts as ``max_px``
    (larger distances are clipped to it, so one wild joint does not decide the rank).

    Args:
        predictions: per scene, the predicted robots (joints_2d in the scene's pixels).
        samples: the scenes, same length.
        max_px: match radius and the error of a miss.

    Returns:
        float (N,); NaN for a scene without a counted joint.

    Raises:
        ValueError: predictions and samples differ in length.
    """
    if len(predictions) != len(samples):
        raise ValueError(f"predictions: {len(predictions)} scenes, samples: {len(samples)}")
    out = np.full(len(samples), np.nan)
    for i, (poses, s) in enumerate(zip(predictions, samples)):
        valid = counted_joints(s)
        if not valid.any():
            continue
        match = match_poses(poses, s.joints_2d, valid, max_px)
        err = np.full(valid.shape, max_px)
        for r, p in enumerate(match):
            if p >= 0:
                d = np.linalg.norm(s.joints_2d[r] - poses[p].joints_2d, axis=-1)
                err[r] = np.where(np.isfinite(d), np.minimum(d, max_px), max_px)
        out[i] = float(err[valid].mean())
    return out


def median_index(errors: Sequence[float]) -> int:
    """Index of the scene at the median of ``errors`` (NaN ignored; with an even count the
    lower of the two middle scenes; ties keep the earlier scene).

    Raises:
        ValueError: no finite error."""
    e = np.asarray(errors, dtype=float)
    finite = np.flatnonzero(np.isfinite(e))
    if finite.size == 0:
        raise ValueError("errors: no finite value to take a median of")
    order = finite[np.argsort(e[finite], kind="stable")]
    return int(order[(len(order) - 1) // 2])


@dataclass
class ChosenScene:
    """A scene picked by :func:`median_index` among candidates, with what was measured.

    Attributes:
        sample: the scene; index: its index in the test set.
        errors: float (N,) the candidates' errors (px, :func:`scene_errors`);
        candidates: the test-set indices of the candidates.
        poses: the predicted robots on the chosen scene.
    """

    sample: Sample
    index: int
    errors: np.ndarray
    candidates: list[int]
    poses: list[RobotPose]

    @property
    def error(self) -> float:
        return float(self.errors[self.candidates.index(self.index)])


def median_test_scene(predictor, robot: str, n: int = 12, size: tuple[int, int] = (240, 320),
                      min_robots: int = 1) -> ChosenScene:
    """The median-error scene (:func:`scene_errors`, :func:`median_index`) among the first
    ``n`` scenes of the fixed synthetic test set with at least ``min_robots`` robots,
    predicted by ``predictor`` (a :class:`predictor.Predictor`) with each scene's own K.

    Raises:
        ValueError: fewer than one candidate scene among the first 4 n test scenes."""
    from .eval.testset import test_dataset

    data = test_dataset(robot, 4 * n, size)
    candidates, samples = [], []
    for i in range(len(data)):
        s = data[i]
        if s.num_robots >= min_robots:
            candidates.append(i)
            samples.append(s)
        if len(samples) == n:
            break
    if not samples:
        raise ValueError(f"no test scene with at least {min_robots} robots among the first {4 * n}")
    predictions = [predictor(s.image, s.K) for s in samples]
    errors = scene_errors(predictions, samples)
    k = median_index(errors)
    return ChosenScene(samples[k], candidates[k], errors, candidates, predictions[k])


def pipeline_from_networks(predictor, scene: ChosenScene) -> dict:
    """The keyword arguments of ``viz.pipeline.plot_pipeline`` for ``scene`` as the networks
    see it: the belief maps of the localization network (J, H, W) at the network's input
    size, the predicted robots' masks (R, H, W), 2D joints (R, J, 2) and 3D joints (R, J, 3;
    NaN where not found), the true 3D joints for comparison, and which instance model
    made the masks (:func:`instance_model_kind`). The scene must be at the
    network's input size (it is drawn on the network's grid)."""
    s = scene.sample
    if tuple(s.image.shape[:2]) != tuple(predictor.input_size):
        raise ValueError(f"scene: {s.image.shape[:2]} pixels, the network takes {tuple(predictor.input_size)}")
    prepared = predictor.prepare(s.image, s.K)
    beliefs = predictor.network(prepared.tensor[None])["beliefs"][0].cpu().numpy()
    poses = scene.poses
    H, W = s.image.shape[:2]
    masks = (np.stack([p.mask for p in poses]).astype(np.float32) if poses and poses[0].mask is not None
             else np.zeros((0, H, W), np.float32))
    J = beliefs.shape[0]
    return {"image": s.image, "beliefs": beliefs, "masks": masks,
            "joints_2d": np.stack([p.joints_2d for p in poses]) if poses else np.zeros((0, J, 2)),
            "joints_3d": np.stack([p.joints_3d for p in poses]) if poses else np.zeros((0, J, 3)),
            "true_joints_3d": s.joints_3d, "instance_model": instance_model_kind(predictor)}


def instance_model_kind(predictor) -> str:
    """"one-pass" when ``predictor``'s instance model is the one-pass model (chapter 6),
    else "recurrent" (the paper's ConvGRU, or none)."""
    from .models.onepass import OnePassNet

    return "one-pass" if isinstance(predictor.instances, OnePassNet) else "recurrent"


def pipeline_from_targets(scene: ChosenScene, depth_coding=None) -> dict:
    """The keyword arguments of ``viz.pipeline.plot_pipeline`` for ``scene`` drawn from its
    exact training targets (``targets.make_targets``): what perfectly trained networks
    would output on it."""
    from .targets import TargetParams, depth_coding_for, make_targets

    s = scene.sample
    coding = depth_coding or depth_coding_for(s.robot)
    t = make_targets(s, tuple(s.image.shape[:2]), TargetParams(depth=coding))
    return {"image": s.image, "beliefs": t["beliefs"], "masks": s.masks.astype(np.float32),
            "joints_2d": s.joints_2d, "joints_3d": s.joints_3d}
