"""Instance masks: IoU, boxes, the active fraction and the stopping rule, written once.

Used by the AP evaluation (:mod:`robotpose_lib.ap`), the instance models
(:mod:`robotpose_lib.models.instances`, :mod:`robotpose_lib.models.onepass`), the
decoder's duplicate removal (:func:`robotpose_lib.decode.select_instances`) and the
instance figures (:mod:`robotpose_lib.viz.instances`).

Conventions: a mask is (H, W), a stack of masks (R, H, W); boolean masks mark robot
pixels, soft masks hold values in [0, 1] and are binarised by a threshold. Pixel centres
are at integer coordinates, so a box (u0, v0, u1, v1) around a mask runs along the outer
pixel edges (-0.5 / +0.5). Functions accept numpy arrays or torch tensors and return the
same kind (a tensor on the input's device).
"""
from __future__ import annotations

import numpy as np
import torch

# The stopping rule (paper III-C): the recurrent model's iteration ends at the first mask
# with less than this share of the image's pixels activated. The paper stops at 5 %; most
# of our synthetic robots cover less than that (median about 1 % of the image for
# kuka_kr16), so the default everywhere (InstanceNet.predict, the Predictor, ``robotpose
# predict`` and ``robotpose eval instances``, the shipped reference models' figures) is
# 0.2 %: the rule of :func:`stopping_fraction` on validation scenes (chapter 3 applies it).
PAPER_MIN_ACTIVE_FRACTION = 0.05
DEFAULT_MIN_ACTIVE_FRACTION = 0.002
# the fractions the rule of :func:`stopping_fraction` chooses among (a 1-2-5 scale)
STOPPING_SCALE = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05)


def stopping_fraction(areas, scale=STOPPING_SCALE) -> float:
    """The stopping rule's threshold from robots' mask areas: the largest fraction of
    ``scale`` that every robot covers, so that no robot of the scenes measured would be
    cut off by it. Chapter 3 applies it to validation scenes (never the test set) and checks
    that it gives :data:`DEFAULT_MIN_ACTIVE_FRACTION`.

    Args:
        areas: (N,) each robot's mask area as a share of its image.
        scale: candidate fractions.

    Raises:
        ValueError: no areas, or no fraction of ``scale`` that every robot covers.
    """
    areas = np.asarray(areas, dtype=np.float64)
    if areas.size == 0:
        raise ValueError("areas: no robots measured")
    covered = [f for f in scale if f <= areas.min()]
    if not covered:
        raise ValueError(f"areas: the smallest robot covers {areas.min():.2%} of its image, below every fraction of "
                         f"{tuple(scale)}")
    return max(covered)


def mask_iou(predicted, ground_truth) -> np.ndarray:
    """IoU of boolean masks (N, H, W) x (M, H, W) -> (N, M) float64 (exact pixel counts).

    Two empty masks have IoU 0. Soft masks are binarised by the caller (``mask > 0.5``).

    Raises:
        ValueError: when the two stacks' masks have different pixel counts.
    """
    a = np.asarray(predicted).astype(bool).reshape(len(predicted), -1).astype(np.float64)
    b = np.asarray(ground_truth).astype(bool).reshape(len(ground_truth), -1).astype(np.float64)
    if a.shape[0] and b.shape[0] and a.shape[1] != b.shape[1]:
        raise ValueError(f"masks: predicted pixel count {a.shape[1]} differs from ground truth {b.shape[1]}")
    intersection = a @ b.T
    union = a.sum(1)[:, None] + b.sum(1)[None, :] - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, intersection / np.where(union > 0, union, 1.0), 0.0)


def masks_to_boxes(masks):
    """Boxes (R, 4) (u0, v0, u1, v1) around boolean masks (R, H, W), outer pixel edges.

    A mask covering columns 3..5 gives u0 = 2.5, u1 = 5.5; a single pixel at (u, v) gives
    (u - 0.5, v - 0.5, u + 0.5, v + 0.5). An empty mask gives the degenerate box
    (0, 0, 0, 0) (zero width: a non-empty mask's box is at least one pixel wide).

    Returns:
        float64 numpy for a numpy input; float32 on the input's device for a tensor.

    Raises:
        ValueError: when ``masks`` is not (R, H, W).
    """
    is_numpy = not isinstance(masks, torch.Tensor)
    m = torch.from_numpy(np.asarray(masks).astype(bool)) if is_numpy else masks.bool()
    if m.dim() != 3:
        raise ValueError(f"masks: expected (R, H, W), got shape {tuple(m.shape)}")
    rows, cols = m.any(dim=2).to(torch.uint8), m.any(dim=1).to(torch.uint8)   # (R, H), (R, W)
    height, width = m.shape[1:]
    # argmax gives the first maximal index: the first row/column holding a pixel
    v0, u0 = rows.argmax(dim=1), cols.argmax(dim=1)
    v1, u1 = height - 1 - rows.flip(1).argmax(dim=1), width - 1 - cols.flip(1).argmax(dim=1)
    edges = torch.tensor([-0.5, -0.5, 0.5, 0.5], device=m.device)
    boxes = torch.stack([u0, v0, u1, v1], dim=1).to(torch.float32) + edges
    boxes = torch.where(rows.bool().any(dim=1, keepdim=True), boxes, torch.zeros_like(boxes))
    return boxes.numpy().astype(np.float64) if is_numpy else boxes


def activated_box(mask: torch.Tensor, threshold: float = 0.6) -> torch.Tensor | None:
    """Box (4,) float32 (u0, v0, u1, v1) of the pixels of a soft ``mask`` (H, W) above
    ``threshold`` (the paper's box rule, 0.6), or None when no pixel exceeds it."""
    box = masks_to_boxes(mask[None] > threshold)[0]
    return box if bool(box[2] > box[0]) else None


def active_fractions(masks, activation_threshold: float = 0.5):
    """Share of pixels above ``activation_threshold`` per mask: (T, H, W) -> (T,) in [0, 1].

    The quantity the paper's stopping rule compares with 5 % (III-C). float64 numpy for a
    numpy input; float32 on the input's device for a tensor.

    Raises:
        ValueError: when ``masks`` is not (T, H, W).
    """
    if not isinstance(masks, torch.Tensor):
        masks = np.asarray(masks)
    if masks.ndim != 3:
        raise ValueError(f"masks: expected (T, H, W), got shape {tuple(masks.shape)}")
    if isinstance(masks, torch.Tensor):
        return (masks > activation_threshold).flatten(1).float().mean(dim=1)
    return (masks > activation_threshold).reshape(len(masks), -1).mean(axis=1)


def ends_sequence(fraction, min_active_fraction: float):
    """The stopping rule (paper III-C): True where a step's active fraction is below
    ``min_active_fraction`` (that mask is the end-of-sequence mask, not a robot)."""
    return fraction < min_active_fraction


def count_by_rule(fractions, min_active_fraction: float) -> int:
    """Robots counted by the stopping rule from per-step active fractions (T,).

    Iteration stops at the first step whose fraction is below ``min_active_fraction``;
    the steps before it are the robots (as ``InstanceNet.predict``).
    """
    below = np.flatnonzero(ends_sequence(np.asarray(fractions), min_active_fraction))
    return int(below[0]) if below.size else len(fractions)


def covered_share(masks) -> float:
    """Share of the image covered by any of the masks (R, H, W); 0 when there is none."""
    return float(np.asarray(masks).any(0).mean()) if len(masks) else 0.0
