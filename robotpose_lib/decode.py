"""From belief maps to joint coordinates: masking, depth at the peaks, back-projection.

The paper (Sec. III, Fig. 2) masks each robot's belief maps with its instance mask, finds
each joint's peak by non-maximum suppression or Laplacian of Gaussian (the peak finders
live in :mod:`robotpose_lib.peaks`), reads the predicted depth at the peak and
back-projects with the intrinsics K. Everything here is torch and runs on the device of
the maps.

Conventions: beliefs are (B, J, H, W) float; pixel (u, v) = (x, y) with integer
coordinates at pixel centres; camera frame as OpenCV; metres.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from robotpose_lib.camera import Camera
from robotpose_lib.peaks import (DEFAULT_LOG_SIGMAS, METHODS, log_peaks, max_peak_per_channel,
                                 peak_name, strongest_peaks)
from robotpose_lib.structures import mask_iou
from robotpose_lib.types import RobotPose

__all__ = ["METHODS", "decode_poses", "mask_beliefs", "peak_name", "sample_bilinear",
           "select_instances"]  # METHODS and peak_name: read from here by cli/eval and scorecard


# ----------------------------------------------------------------------------- masking, 3D

def mask_beliefs(beliefs: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Multiply beliefs (J, H, W) or (B, J, H, W) by masks (H, W), (R, H, W) or (B, 1, H, W).

    (J, H, W) with (R, H, W) masks gives (R, J, H, W): one masked stack per instance.
    """
    if beliefs.dim() == 3:
        beliefs = beliefs[None]
    masks = masks.to(beliefs.dtype)
    if masks.dim() == 2:
        masks = masks[None, None]
    elif masks.dim() == 3:
        masks = masks[:, None]
    if masks.shape[-2:] != beliefs.shape[-2:]:
        raise ValueError(f"mask: size {tuple(masks.shape[-2:])} differs from the belief maps' "
                         f"{tuple(beliefs.shape[-2:])}")
    return beliefs * masks


def sample_bilinear(maps: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
    """Values of maps (B, C, H, W) at sub-pixel points xy (B, P, 2) -> (B, C, P).

    Pixel centres at integer coordinates; NaN points give NaN; points outside the image
    read the border (they only arise from sub-pixel offsets at the border).
    """
    B, C, H, W = maps.shape
    nan = torch.isnan(xy).any(dim=-1)
    grid = torch.nan_to_num(xy, nan=0.0).clone()
    grid[..., 0] = 2 * grid[..., 0] / max(W - 1, 1) - 1
    grid[..., 1] = 2 * grid[..., 1] / max(H - 1, 1) - 1
    out = F.grid_sample(maps, grid[:, :, None, :].to(maps.dtype), mode="bilinear",
                        padding_mode="border", align_corners=True)[..., 0]
    return out.masked_fill(nan[:, None, :], float("nan"))


def decode_poses(beliefs: torch.Tensor, depth: torch.Tensor, masks: torch.Tensor | None,
                 camera: Camera | np.ndarray, method: str = "nms", min_score: float = 0.1,
                 depth_coding=None, reference_width: int | None = None,
                 scores: Sequence[float] | None = None, nms_refine: str = "log_quadratic",
                 log_sigmas: Sequence[float] = DEFAULT_LOG_SIGMAS,
                 log_threshold: float = 0.05) -> list[RobotPose]:
    """Joint positions of each instance: mask, find peaks, read depth, back-project.

    Args:
        beliefs: (J, H, W) predicted belief maps of one image.
        depth: (1, H, W) or (H, W) depth map: metres, or the network's depth code D when
            ``depth_coding`` is given (decoded at the sampled values by
            :meth:`camera.Camera.metric_depth`, paper III-B: D = a / Z + b).
        masks: (R, H, W) instance masks in [0, 1] (or (H, W) for one), or None for one
            unmasked instance.
        camera: the :class:`camera.Camera` of the maps' pixel grid, or its K (3, 3).
        depth_coding: the model's ``targets.DepthCoding``, or None for metric depth.
        reference_width: the training input's width for ``depth_coding`` (default W).
        method: 'nms' (max peak per channel) or 'log' (strongest LoG blob per channel).
        min_score: a joint is found when its belief at the peak exceeds this.
        scores: instance confidences; by default the mean of each mask where it is > 0.5
            (1.0 without masks).
        log_threshold: LoG response threshold (a blob of height A responds A / 2).

    Returns:
        One RobotPose per instance, in mask order: joints_2d (J, 2) pixels, joints_3d
        (J, 3) metres, joint_scores (J,) the masked belief at the peak. A joint not found
        has NaN coordinates and score 0; a found joint whose depth is not positive and
        finite keeps its 2D position and gets NaN 3D coordinates.
    """
    if beliefs.dim() != 3:
        raise ValueError(f"beliefs: expected (J, H, W), got {tuple(beliefs.shape)}")
    J, H, W = beliefs.shape
    if not isinstance(camera, Camera):
        camera = Camera(camera, (H, W))
    if depth.dim() == 2:
        depth = depth[None]
    if depth.shape != (1, H, W):
        raise ValueError(f"depth: expected (1, {H}, {W}), got {tuple(depth.shape)}")
    if masks is None:
        masked = beliefs[None]
        mask_np = [None]
    else:
        masks = masks.to(beliefs.device)
        if masks.dim() == 2:
            masks = masks[None]
        masked = mask_beliefs(beliefs, masks)
        mask_np = [m.float().cpu().numpy() for m in masks]
    R = masked.shape[0]
    if method == "nms":
        xy, score = max_peak_per_channel(masked, threshold=min_score, refine=nms_refine)
    elif method == "log":
        peaks = log_peaks(masked, sigmas=log_sigmas, threshold=log_threshold)
        xy, _, pixel = strongest_peaks(peaks, R, J)
        # the joint score is the belief at the peak, as for NMS
        r, j = torch.meshgrid(torch.arange(R, device=xy.device), torch.arange(J, device=xy.device), indexing="ij")
        px = pixel.clamp_min(0)
        score = torch.where(pixel[..., 0] >= 0, masked[r, j, px[..., 1], px[..., 0]], torch.zeros_like(xy[..., 0]))
        found = score > min_score
        xy = torch.where(found[..., None], xy, torch.full_like(xy, float("nan")))
        score = torch.where(found, score, torch.zeros_like(score))
    else:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    z = sample_bilinear(depth[None].to(xy.dtype).expand(R, 1, H, W), xy)[:, 0]  # (R, J)
    if depth_coding is not None:
        z = camera.metric_depth(z, depth_coding, W if reference_width is None else reference_width)
    z = torch.where(torch.isfinite(z) & (z > 0), z, torch.full_like(z, float("nan")))
    xyz = camera.backproject(xy, z)
    out = []
    for r in range(R):
        if scores is not None:
            inst_score = float(scores[r])
        elif mask_np[r] is None:
            inst_score = 1.0
        else:
            on = mask_np[r] > 0.5
            inst_score = float(mask_np[r][on].mean()) if on.any() else 0.0
        out.append(RobotPose(joints_2d=xy[r].float().cpu().numpy(), joints_3d=xyz[r].float().cpu().numpy(),
                             joint_scores=score[r].float().cpu().numpy(), mask=mask_np[r], score=inst_score))
    return out


def _soft_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two soft masks (H, W) binarised at 0.5; 0 when both are empty."""
    return float(mask_iou((np.asarray(a) > 0.5)[None], (np.asarray(b) > 0.5)[None])[0, 0])


def select_instances(poses: Sequence[RobotPose], min_joints: int = 1, duplicate_iou: float = 0.5) -> list[RobotPose]:
    """Score, filter and de-duplicate the robots of one image (our addition to paper §III-C).

    The recurrent model's own confidence only says how sure a mask is, not whether a robot
    is there: on a robot-free scene or a real photo it can emit confident masks on anything.
    Each pose's score becomes ``mask confidence x mean joint belief`` (missed joints count
    0), so a robot needs joint evidence to rank high; poses with fewer than ``min_joints``
    found joints are dropped; then, best first, a pose whose mask overlaps a kept one by
    more than ``duplicate_iou`` (IoU) is dropped as a duplicate. Poses without masks are
    only scored and filtered.

    Returns:
        the kept poses, best score first (new RobotPose objects; inputs unchanged).
    """
    if min_joints < 0:
        raise ValueError(f"min_joints: must be >= 0, got {min_joints}")
    if not 0.0 < duplicate_iou <= 1.0:
        raise ValueError(f"duplicate_iou: must be in (0, 1], got {duplicate_iou}")
    scored = []
    for p in poses:
        found = int(np.isfinite(p.joints_2d).all(axis=1).sum())
        if found < min_joints:
            continue
        evidence = float(np.mean(np.asarray(p.joint_scores, float))) if len(p.joint_scores) else 0.0
        scored.append(RobotPose(joints_2d=p.joints_2d, joints_3d=p.joints_3d, joint_scores=p.joint_scores,
                                mask=p.mask, score=float(p.score) * evidence))
    scored.sort(key=lambda p: -p.score)
    kept: list[RobotPose] = []
    for p in scored:
        if p.mask is not None and any(k.mask is not None and _soft_iou(p.mask, k.mask) > duplicate_iou for k in kept):
            continue
        kept.append(p)
    return kept
