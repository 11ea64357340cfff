"""Geometric floors of Table I (issue 22): what depth from one image can reach at all.

Two floors, each measured on the same test scenes as Table I (``eval/localization``):

* **Representation floor**: the training target itself, as a network that predicts at
  stride ``s`` can hold it: the encoded depth target (``targets.make_targets``, the model's
  own depth coding and range) averaged over each s x s cell of the output grid, bilinearly
  up-sampled back to the input size and decoded. The error against the true depth over the
  weight region (Table I's pixels) is what a perfect stride-s network would still make:
  cells mixing two joints' discs, the coding's clamping to its range.
* **Kinematic fit**: depth from shape instead of from a regressed map. The robot's known
  kinematics are fitted to 2D joints, the true ones or a model's predictions: joint angles
  q and the base pose (rotation vector, translation) minimise the reprojection error with
  K (``scipy.optimize.least_squares``, started from a PnP of the mid-range pose and from a
  few random poses; a weak prior keeps q near the sampling range). The fitted 3D joints'
  depth against the truth, per joint, near [0, 5) m and far [5, 10] m as in Table I.
"""
from __future__ import annotations

import math
import warnings

import cv2
import numpy as np
import torch

from .. import metrics
from ..camera import Camera
from ..robots import get_robot
from ..targets import TargetParams, make_targets, resize_sample
from ..types import Sample
from ..peaks import nms_peaks
from ..targets import image_to_tensor
from .localization import _dilate, predict_maps, robot_peaks, true_depth_map


def representation_floor(samples: list[Sample], targets: TargetParams, input_size: tuple[int, int],
                         stride: int, upsampling: str = "bilinear") -> dict:
    """Table I (near/far summaries, cm) of the stride-``stride`` representation of the true
    depth target, over the weight pixels of ``samples`` resized to ``input_size``.
    ``upsampling``: "bilinear" (as a network's fixed up-sampling would blend cells, disc
    edges included) or "nearest" (each pixel takes its cell's value)."""
    if upsampling not in ("bilinear", "nearest"):
        raise ValueError(f"upsampling: expected 'bilinear' or 'nearest', got {upsampling!r}")
    if stride < 1:
        raise ValueError(f"stride: expected a positive integer, got {stride}")
    H, W = input_size
    errors, depths = [], []
    for sample in samples:
        s = resize_sample(sample, (H, W))
        t = make_targets(s, (H, W), targets)
        code, weight = t["depth"][0], t["weight"][0]
        # mean of the code over each cell's weight pixels (a cell without any keeps 0)
        h, w = math.ceil(H / stride), math.ceil(W / stride)
        pad = ((0, h * stride - H), (0, w * stride - W))
        c = np.pad(code * weight, pad).reshape(h, stride, w, stride).sum((1, 3))
        n = np.pad(weight, pad).reshape(h, stride, w, stride).sum((1, 3))
        cells = np.where(n > 0, c / np.maximum(n, 1), 0).astype(np.float32)
        mode = cv2.INTER_LINEAR if upsampling == "bilinear" else cv2.INTER_NEAREST
        up = cv2.resize(cells, (w * stride, h * stride), interpolation=mode)[:H, :W]
        z_true = true_depth_map(s, targets)
        region = z_true > 0
        z_pred = targets.depth.decode(up.astype(np.float64), float(s.K[0, 0]), W)
        e, z = metrics.depth_errors_cm(z_pred, z_true, region)
        errors.append(e)
        depths.append(z)
    return metrics.near_far_table(np.concatenate(errors), np.concatenate(depths))


def fit_kinematics(robot_name: str, uv: np.ndarray, visible: np.ndarray, K: np.ndarray, restarts: int = 4,
                   seed: int = 0, prior_weight: float = 0.05) -> tuple[np.ndarray, np.ndarray, float]:
    """Fit a robot's joint angles and base pose to its 2D keypoints.

    Args:
        uv: (J, 2) pixels (NaN where not found); visible: (J,) bool, the keypoints to fit.
        K: (3, 3) intrinsics. prior_weight: pixels of residual per radian from the middle
            of the sampling range (keeps an under-determined fit near plausible poses).

    Returns:
        (joints_3d (J, 3) camera frame metres, q (dof,), reprojection RMS in pixels).
        Raises ValueError with fewer than 4 usable keypoints.
    """
    from scipy.optimize import least_squares

    robot = get_robot(robot_name)
    ok = np.asarray(visible, bool) & np.isfinite(uv).all(1)
    if ok.sum() < 4:
        raise ValueError(f"fit_kinematics: need at least 4 found keypoints, got {int(ok.sum())}")
    low, high = (t.numpy() for t in robot.sample_range)
    centre = (low + high) / 2
    rng = np.random.default_rng(seed)

    def keypoints(q):
        kp, _ = robot.forward_kinematics(torch.tensor(q[None], dtype=torch.float64))
        return kp[0].numpy()

    def residual(x):
        R, _ = cv2.Rodrigues(x[:3])
        cam = keypoints(x[6:]) @ R.T + x[3:6]
        z = np.maximum(cam[:, 2], 1e-3)
        proj = np.stack([K[0, 0] * cam[:, 0] / z + K[0, 1] * cam[:, 1] / z + K[0, 2],
                         K[1, 1] * cam[:, 1] / z + K[1, 2]], 1)
        return np.concatenate([(proj - uv)[ok].ravel(), prior_weight * K[0, 0] * 0.01 * (x[6:] - centre)])

    best = None
    for k in range(restarts):
        q0 = centre if k == 0 else rng.uniform(low, high)
        found, rvec, tvec = cv2.solvePnP(keypoints(q0)[ok], uv[ok].astype(np.float64), K, None,
                                         flags=cv2.SOLVEPNP_EPNP if ok.sum() >= 4 else cv2.SOLVEPNP_ITERATIVE)
        if not found or tvec[2, 0] <= 0:
            rvec, tvec = np.zeros((3, 1)), np.array([[0.0], [0.0], [3.0]])
        x0 = np.concatenate([rvec.ravel(), tvec.ravel(), q0])
        bounds = (np.concatenate([np.full(3, -np.inf), [-np.inf, -np.inf, 0.05], low - 1e-6]),
                  np.concatenate([np.full(3, np.inf), np.full(3, np.inf), high + 1e-6]))
        with warnings.catch_warnings():   # scipy's trust-region steps warn on flat directions
            warnings.simplefilter("ignore", RuntimeWarning)
            fit = least_squares(residual, np.clip(x0, *bounds), bounds=bounds, max_nfev=200)
        if best is None or fit.cost < best.cost:
            best = fit
    R, _ = cv2.Rodrigues(best.x[:3])
    joints = keypoints(best.x[6:]) @ R.T + best.x[3:6]
    rms = float(np.sqrt(np.mean(best.fun[: 2 * int(ok.sum())] ** 2)))
    return joints, best.x[6:], rms


def kinematic_floor(samples: list[Sample], predicted_2d: list[np.ndarray] | None = None, restarts: int = 4) -> dict:
    """Table I near/far summaries (cm) of the depth of every counted joint from the
    kinematic fit to the true 2D joints (``predicted_2d`` None) or to predicted ones (a list
    per sample of (R, J, 2), NaN where not found). Joints counted: visible ones in frame."""
    errors, depths = [], []
    for i, s in enumerate(samples):
        for r in range(s.num_robots):
            vis = s.visibility[r].astype(bool) & (s.joints_3d[r, :, 2] > 0)
            uv = s.joints_2d[r] if predicted_2d is None else predicted_2d[i][r]
            try:
                joints, _, _ = fit_kinematics(s.robot, np.asarray(uv, np.float64), vis & np.isfinite(uv).all(1),
                                              s.K.astype(np.float64), restarts=restarts, seed=i)
            except ValueError:
                continue   # too few joints found: no fit (counted as missing, not as an error)
            errors.append(np.abs(joints[vis, 2] - s.joints_3d[r, vis, 2]) * 100.0)
            depths.append(s.joints_3d[r, vis, 2])
    if not errors:
        raise ValueError("kinematic_floor: no robot had 4 joints to fit")
    return metrics.near_far_table(np.concatenate(errors), np.concatenate(depths))


def predicted_joints(model, samples: list[Sample], min_score: float = 0.1, mask_dilation: int = 3,
                     with_depth_maps: bool = False):
    """Per sample (at the model's input size), (R, J, 2) NMS joints of each true robot
    (beliefs masked by its dilated true mask, as Table I's pixel errors); NaN where none.
    ``with_depth_maps``: also the encoded depth map (H, W) of each sample, returned as
    ``(joints, maps)``."""
    out, maps = [], []
    for s in samples:
        beliefs, depth = predict_maps(model, image_to_tensor(s.image)[None].to(next(model.parameters()).device))
        beliefs = beliefs.float()
        out.append(robot_peaks(nms_peaks(beliefs, threshold=min_score), 0, beliefs[0], _dilate(s.masks, mask_dilation),
                               min_score))
        maps.append(depth[0, 0].float().cpu().numpy().astype(np.float64))
    return (out, maps) if with_depth_maps else out


def regressed_at_joints(samples: list[Sample], predicted_2d: list[np.ndarray], depth_maps: list[np.ndarray],
                        targets: TargetParams) -> dict:
    """Table I near/far summaries (cm) of the network's own depth map read at its own 2D
    joints (nearest pixel; what the Predictor does), per counted joint with a peak, on the
    robots :func:`kinematic_floor` fits with ``predicted_2d`` (at least 4 joints found), so
    that the two depth sources compare on the same scenes and robots; the fit also places
    the joints without a peak, which have no depth here. ``depth_maps``: encoded (H, W) per
    sample at the samples' size (:func:`predicted_joints` with ``with_depth_maps=True``)."""
    errors, depths = [], []
    for s, uv_all, code in zip(samples, predicted_2d, depth_maps):
        H, W = code.shape
        z_map = Camera(s.K, (H, W)).metric_depth(code, targets.depth, W)
        for r in range(s.num_robots):
            vis = s.visibility[r].astype(bool) & (s.joints_3d[r, :, 2] > 0) & np.isfinite(uv_all[r]).all(1)
            if vis.sum() < 4:
                continue   # kinematic_floor cannot fit this robot either
            uv = np.rint(np.nan_to_num(uv_all[r])).astype(int)
            u, v = np.clip(uv[:, 0], 0, W - 1), np.clip(uv[:, 1], 0, H - 1)
            errors.append(np.abs(z_map[v, u] - s.joints_3d[r, :, 2])[vis] * 100.0)
            depths.append(s.joints_3d[r, vis, 2])
    if not errors:
        raise ValueError("regressed_at_joints: no robot had 4 joints found")
    return metrics.near_far_table(np.concatenate(errors), np.concatenate(depths))
