"""Scenes chosen by a stated rule, for showing trained networks at work.

A figure of one scene says little unless the reader knows how the scene was chosen: the
best scene of a test set flatters a model, a hand-picked one hides the choice. The book
therefore shows trained networks on the scene of *median* error among a fixed, stated
set of candidate scenes (the first scenes of the fixed synthetic test set,
``eval.testset``), so that about as many scenes go better as go worse.

* :func:`scene_errors`: one number per scene, the mean 2D joint error of a prediction
  against the truth, a joint that was not found counting as the match radius;
* :func:`median_index`: the scene at the median of those errors;
* :func:`median_test_scene`: the median scene under a :class:`predictor.Predictor`;
  :func:`median_localization_scene`: under the localization network alone, each joint's
  peak taken inside its robot's true mask (chapter 2's evaluation,
  :func:`localization_scene_errors`); :func:`median_instance_scenes`: per number of
  robots, the median scene of an instance model's masks (:func:`best_iou_errors`, one
  minus the mean best IoU of the true robots);
* :func:`pipeline_from_networks`: the introduction's pipeline figure (``viz.pipeline``)
  drawn from the shipped networks on the median scene, beside the same scene's exact
  targets (what perfectly trained networks would output).
"""
from __future__ import annotations

from dataclasses import dataclass, field
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
        sample: the scene; index: its index among the scenes the candidates were drawn
            from (the test set, or the rendered scenes of :func:`median_instance_scenes`).
        errors: float (N,) the candidates' errors (px, :func:`scene_errors`; or one minus
            the mean best IoU, :func:`best_iou_errors`);
        candidates: the indices of the candidates.
        poses: the predicted robots on the chosen scene (empty where no robots were
            predicted: :func:`median_localization_scene`).
        masks: float (T, H, W) the instance model's step masks on the chosen scene
            (:func:`median_instance_scenes`), else None.
    """

    sample: Sample
    index: int
    errors: np.ndarray
    candidates: list[int]
    poses: list[RobotPose] = field(default_factory=list)
    masks: np.ndarray | None = None

    @property
    def error(self) -> float:
        return float(self.errors[self.candidates.index(self.index)])


def first_scenes(data, n: int, min_robots: int = 1, max_robots: int | None = None
                 ) -> tuple[list[int], list[Sample]]:
    """The indices and scenes of the first ``n`` scenes of ``data`` (a sequence of
    samples) with ``min_robots`` to ``max_robots`` robots (None: no upper bound).

    Raises:
        ValueError: no such scene in ``data``."""
    top = np.inf if max_robots is None else max_robots
    candidates, samples = [], []
    for i in range(len(data)):
        s = data[i]
        if min_robots <= s.num_robots <= top:
            candidates.append(i)
            samples.append(s)
        if len(samples) == n:
            break
    if not samples:
        robots = f"at least {min_robots}" if max_robots is None else f"{min_robots} to {max_robots}"
        raise ValueError(f"no scene with {robots} robots among the first {len(data)}")
    return candidates, samples


def median_test_scene(predictor, robot: str, n: int = 12, size: tuple[int, int] = (240, 320),
                      min_robots: int = 1, max_robots: int | None = None) -> ChosenScene:
    """The median-error scene (:func:`scene_errors`, :func:`median_index`) among the first
    ``n`` scenes of the fixed synthetic test set with ``min_robots`` to ``max_robots``
    robots (None: no upper bound), predicted by ``predictor`` (a
    :class:`predictor.Predictor`) with each scene's own K.

    Raises:
        ValueError: no candidate scene among the first 4 n test scenes."""
    from .eval.testset import test_dataset

    data = test_dataset(robot, 4 * n, size)
    candidates, samples = first_scenes(data, n, min_robots, max_robots)
    predictions = [predictor(s.image, s.K) for s in samples]
    errors = scene_errors(predictions, samples)
    k = median_index(errors)
    return ChosenScene(samples[k], candidates[k], errors, candidates, predictions[k])


def localization_scene_errors(report, samples: Sequence[Sample], method: str = "nms",
                              max_px: float = MISSING_PX) -> np.ndarray:
    """Mean 2D joint error of each scene from chapter 2's evaluation of a localization
    network alone (``eval.localization.evaluate_samples``: per true robot, each joint's
    strongest peak inside the robot's true mask), in the scene's pixels (the report's
    480x640 errors divided by its scale). As in :func:`scene_errors`, a counted joint
    without a peak counts as ``max_px`` and larger errors are clipped to it.

    Args:
        report: the ``LocalizationReport`` of ``samples`` (one row per true robot, the
            scenes in order; a scene without robots adds none).
        samples: the evaluated scenes; method: the peak finder's rows to read.

    Returns:
        float (N,); NaN for a scene without a counted joint.

    Raises:
        ValueError: the report's rows do not add up to the scenes' robots."""
    err = np.asarray(report.pixel_errors[method], dtype=float) / report.scale
    counted = np.asarray(report.counted, dtype=bool)
    robots = [s.num_robots for s in samples]
    if len(err) != sum(robots):
        raise ValueError(f"report: {len(err)} robots, samples: {sum(robots)}")
    out = np.full(len(samples), np.nan)
    start = 0
    for i, r in enumerate(robots):
        e, c = err[start:start + r], counted[start:start + r]
        start += r
        if c.any():
            out[i] = float(np.where(np.isfinite(e), np.minimum(e, max_px), max_px)[c].mean())
    return out


def median_localization_scene(model, task, n: int = 12, min_robots: int = 1, max_robots: int | None = None,
                              method: str = "nms", device=None) -> ChosenScene:
    """The median-error scene (:func:`localization_scene_errors`, :func:`median_index`)
    among the first ``n`` scenes of the fixed synthetic test set (at the network's input
    size) with ``min_robots`` to ``max_robots`` robots, under a localization network
    alone (``model``, ``task`` as ``tasks.load_model`` or ``load_reference`` give them),
    each joint's ``method`` peak taken inside its robot's true mask. No robots are
    predicted: the chosen scene's ``poses`` are empty.

    Raises:
        ValueError: no candidate scene among the first 4 n test scenes."""
    from .eval.localization import evaluate_samples
    from .eval.testset import test_dataset

    data = test_dataset(task.robot, 4 * n, task.input_size)
    candidates, samples = first_scenes(data, n, min_robots, max_robots)
    report = evaluate_samples(model, samples, task.targets, task.input_size, methods=(method,), device=device,
                              progress=False)
    errors = localization_scene_errors(report, samples, method)
    k = median_index(errors)
    return ChosenScene(samples[k], candidates[k], errors, candidates)


def best_iou_errors(step_masks: Sequence[np.ndarray], true_masks: Sequence[np.ndarray],
                    min_active_fraction: float, threshold: float = 0.5) -> np.ndarray:
    """One minus the mean best IoU of each scene's robots under an instance model: for each
    true robot the highest IoU of a mask the model emits before the stopping rule ends the
    sequence (``structures.count_by_rule`` at ``min_active_fraction``; masks above
    ``threshold``), 0 for a robot no emitted mask overlaps; the mean over the scene's
    robots. 0 is perfect, 1 nothing found.

    Args:
        step_masks: per scene float (T, H, W) in [0, 1], the model's masks step by step.
        true_masks: per scene bool (R, H, W).

    Returns:
        float (N,); NaN for a scene without robots.

    Raises:
        ValueError: the two lists differ in length."""
    from .structures import active_fractions, count_by_rule

    if len(step_masks) != len(true_masks):
        raise ValueError(f"step_masks: {len(step_masks)} scenes, true_masks: {len(true_masks)}")
    out = np.full(len(true_masks), np.nan)
    for i, (steps, truth) in enumerate(zip(step_masks, true_masks)):
        truth = np.asarray(truth, dtype=bool)
        if len(truth) == 0:
            continue
        steps = np.asarray(steps)
        emitted = steps[:count_by_rule(active_fractions(steps, threshold), min_active_fraction)] > threshold
        if len(emitted) == 0:
            out[i] = 1.0
            continue
        inter = np.einsum("rhw,thw->rt", truth.astype(np.float64), emitted.astype(np.float64))
        union = truth.sum((1, 2))[:, None] + emitted.sum((1, 2))[None, :] - inter
        iou = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
        out[i] = float(1.0 - iou.max(axis=1).mean())
    return out


def median_instance_scenes(model, robot: str, counts: Sequence[int] = (1, 2, 3, 4), n: int = 8,
                           size: tuple[int, int] = (240, 320), min_active_fraction: float | None = None,
                           steps: int = 5, device=None, seed: int | None = None) -> list[ChosenScene]:
    """For each robot count k in ``counts``, the scene of median :func:`best_iou_errors`
    among the first ``n`` scenes with exactly k robots in view, rendered from the test
    distribution (the test set's parameters and background photos, k robots placed,
    every robot kept) with seed ``seed + k`` (default ``eval.testset.TEST_SEED + k``),
    under the instance model ``model`` (an ``InstanceModel``: images -> step masks), run
    ``steps`` steps on each scene.

    Returns:
        one :class:`ChosenScene` per count, its ``masks`` the chosen scene's step masks
        (steps, H, W) and ``candidates`` the render indices of the candidates.

    Raises:
        ValueError: no scene with exactly k robots among 6 n renders."""
    import torch

    from .eval.testset import TEST_SEED, test_params
    from .models.instances import DEFAULT_MIN_ACTIVE_FRACTION
    from .synth import generate_one
    from .targets import image_to_tensor

    fraction = DEFAULT_MIN_ACTIVE_FRACTION if min_active_fraction is None else min_active_fraction
    seed = TEST_SEED if seed is None else seed
    if device is None:
        device = next(model.parameters()).device
    out = []
    for k in counts:
        params = test_params(robot).replace(min_robots=k, max_robots=k, theta_vr=1.0)
        candidates, samples = [], []
        for index in range(6 * n):
            s = generate_one(robot, seed + k, index, *size, params=params)
            if s.num_robots == k:
                candidates.append(index)
                samples.append(s)
                if len(samples) == n:
                    break
        if not samples:
            raise ValueError(f"no scene with exactly {k} robots among {6 * n} renders")
        images = torch.stack([image_to_tensor(s.image) for s in samples]).to(device)
        with torch.no_grad():
            masks = model(images, steps=steps).float().cpu().numpy()
        errors = best_iou_errors(list(masks), [s.masks for s in samples], fraction)
        pick = median_index(errors)
        out.append(ChosenScene(samples[pick], candidates[pick], errors, candidates, masks=masks[pick]))
    return out


def pipeline_from_networks(predictor, scene: ChosenScene) -> dict:
    """The keyword arguments of ``viz.pipeline.plot_pipeline`` for ``scene`` as the networks
    see it: the belief maps of the localization network (J, H, W) at the network's input
    size, the predicted robots' masks (R, H, W), 2D joints (R, J, 2) and 3D joints (R, J, 3;
    NaN where not found), the true 3D joints for comparison, the true masks (so that each
    predicted robot takes its true robot's colour, the one it has in the figure of
    :func:`pipeline_from_targets`), and which instance model made the masks
    (:func:`instance_model_kind`). The scene must be at the
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
            "true_joints_3d": s.joints_3d, "true_masks": s.masks, "instance_model": instance_model_kind(predictor)}


def instance_model_kind(predictor) -> str:
    """"one-pass" when ``predictor``'s instance model is the one-pass model (chapter 6),
    else "recurrent" (the paper's ConvGRU, or none)."""
    from .models.onepass import OnePassNet

    return "one-pass" if isinstance(predictor.instances, OnePassNet) else "recurrent"


def pipeline_from_targets(scene: ChosenScene, depth_coding=None) -> dict:
    """The keyword arguments of ``viz.pipeline.plot_pipeline`` for ``scene`` drawn from its
    exact training targets (``targets.make_targets``): what perfectly trained networks
    would output on it; ``predicted`` False: the figure writes the stages' symbols without
    the hats of predictions."""
    from .targets import TargetParams, depth_coding_for, make_targets

    s = scene.sample
    coding = depth_coding or depth_coding_for(s.robot)
    t = make_targets(s, tuple(s.image.shape[:2]), TargetParams(depth=coding))
    return {"image": s.image, "beliefs": t["beliefs"], "masks": s.masks.astype(np.float32),
            "joints_2d": s.joints_2d, "joints_3d": s.joints_3d, "predicted": False}
