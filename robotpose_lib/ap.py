"""Average precision for robot instances, COCO style (paper section IV-B, Fig. 7).

The paper evaluates the instance model with the AP metric of the COCO detection
challenge: for IoU thresholds 0.50, 0.55, .., 0.95, detections of all test images are
ranked by confidence, each one is greedily matched to the best still unmatched ground
truth with IoU >= threshold, and precision is read off at 101 recall points
(0, 0.01, .., 1) after making it monotone (the "maximum precision at recall >= r").
AP is the mean of those 101 values; the headline AP is the mean over thresholds.

This module reproduces pycocotools' ``COCOeval`` for one category, no crowd regions and
the 'all' area range (the test suite checks the two agree), for boxes (as the paper) and
for masks. Boxes are (u0, v0, u1, v1) in pixels; masks are boolean (H, W).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from .structures import mask_iou

# Exactly pycocotools' grids (Params.setDetParams), so that results agree bit for bit.
COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
COCO_RECALL_POINTS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)


@dataclass
class APResult:
    """Average precision of one kind of region over a test set.

    Attributes:
        kind: 'box' or 'mask'.
        iou_thresholds: (T,) IoU thresholds.
        recall_points: (101,) recall values at which precision is interpolated.
        precision: (T, 101) interpolated precision (max precision at recall >= r; 0
            beyond the highest recall reached), COCO's ``eval['precision']``.
        ap: (T,) mean of each row of ``precision``; NaN without ground truth.
        max_recall: (T,) recall after all detections.
        curves: per threshold (recall, precision) arrays along the ranked detections,
            before interpolation, for plotting PR curves.
        num_ground_truth: number of ground-truth instances.
        num_detections: number of detections ranked (after the per-image cap).
    """

    kind: str
    iou_thresholds: np.ndarray
    recall_points: np.ndarray
    precision: np.ndarray
    ap: np.ndarray
    max_recall: np.ndarray
    curves: list[tuple[np.ndarray, np.ndarray]] = field(repr=False)
    num_ground_truth: int = 0
    num_detections: int = 0

    @property
    def mean_ap(self) -> float:
        """AP averaged over the IoU thresholds (COCO's AP@[.5:.95])."""
        return float(np.mean(self.ap))

    def at(self, iou: float) -> float:
        """AP at the threshold closest to ``iou``."""
        index = int(np.argmin(np.abs(self.iou_thresholds - iou)))
        if abs(self.iou_thresholds[index] - iou) > 1e-9:
            raise ValueError(f"iou: {iou} is not one of the evaluated thresholds {self.iou_thresholds.tolist()}")
        return float(self.ap[index])


def box_iou(predicted: np.ndarray, ground_truth: np.ndarray) -> np.ndarray:
    """IoU of boxes (N, 4) x (M, 4) in (u0, v0, u1, v1) -> (N, M) float64.

    Degenerate boxes (zero width or height) have IoU 0 with everything.
    """
    a = np.asarray(predicted, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(ground_truth, dtype=np.float64).reshape(-1, 4)
    width = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    height = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    intersection = np.clip(width, 0, None) * np.clip(height, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(intersection > 0, intersection / np.where(union > 0, union, 1.0), 0.0)
    return iou


def _match_image(ious: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Greedy COCO matching for one image.

    Args:
        ious: (N, M) IoU of detections (sorted by descending score) with ground truths.

    Returns:
        matched: bool (T, N), whether each detection is a true positive at each threshold.
    """
    num_det, num_gt = ious.shape
    matched = np.zeros((len(thresholds), num_det), dtype=bool)
    for t, threshold in enumerate(thresholds):
        taken = np.zeros(num_gt, dtype=bool)
        for d in range(num_det):
            best_iou = min(threshold, 1 - 1e-10)
            best = -1
            for g in range(num_gt):
                # as COCOeval: the last ground truth with the highest IoU >= threshold wins
                if taken[g] or ious[d, g] < best_iou:
                    continue
                best_iou, best = ious[d, g], g
            if best >= 0:
                taken[best] = True
                matched[t, d] = True
    return matched


def average_precision(
    scores: Sequence[np.ndarray],
    predicted: Sequence[np.ndarray],
    ground_truth: Sequence[np.ndarray],
    kind: str = "box",
    iou_thresholds: np.ndarray = COCO_IOU_THRESHOLDS,
    max_detections: int = 100,
) -> APResult:
    """COCO average precision over a test set, one entry per image in each sequence.

    Args:
        scores: per image (N_i,) detection confidences.
        predicted: per image (N_i, 4) boxes or (N_i, H, W) boolean masks.
        ground_truth: per image (M_i, 4) boxes or (M_i, H, W) boolean masks.
        kind: 'box' or 'mask'.
        iou_thresholds: (T,) thresholds, default 0.50:0.05:0.95.
        max_detections: per-image cap on the highest-scoring detections (COCO's 100).

    Returns:
        :class:`APResult`.
    """
    if kind not in ("box", "mask"):
        raise ValueError(f"kind: expected 'box' or 'mask', got {kind!r}")
    if not len(scores) == len(predicted) == len(ground_truth):
        raise ValueError(
            f"scores/predicted/ground_truth: need one entry per image, got {len(scores)}, {len(predicted)}, "
            f"{len(ground_truth)}"
        )
    iou_thresholds = np.asarray(iou_thresholds, dtype=np.float64)
    iou_fn = box_iou if kind == "box" else mask_iou
    all_scores, all_matched = [], []
    num_gt = 0
    for i, (s, p, g) in enumerate(zip(scores, predicted, ground_truth)):
        s = np.asarray(s, dtype=np.float64).reshape(-1)
        if len(p) != len(s):
            raise ValueError(f"predicted[{i}]: {len(p)} regions but {len(s)} scores")
        order = np.argsort(-s, kind="mergesort")[:max_detections]
        p = np.asarray(p)[order] if len(p) else np.asarray(p)
        ious = iou_fn(p, g) if len(order) and len(g) else np.zeros((len(order), len(g)))
        all_scores.append(s[order])
        all_matched.append(_match_image(ious, iou_thresholds))
        num_gt += len(g)

    ranked_scores = np.concatenate(all_scores) if all_scores else np.zeros(0)
    rank = np.argsort(-ranked_scores, kind="mergesort")
    matched = np.concatenate(all_matched, axis=1)[:, rank] if all_scores else np.zeros((len(iou_thresholds), 0), bool)

    num_t, num_r = len(iou_thresholds), len(COCO_RECALL_POINTS)
    precision_table = np.zeros((num_t, num_r))
    ap = np.full(num_t, np.nan)
    max_recall = np.zeros(num_t)
    curves = []
    for t in range(num_t):
        tp = np.cumsum(matched[t]).astype(np.float64)
        fp = np.cumsum(~matched[t]).astype(np.float64)
        if num_gt == 0:
            curves.append((np.zeros(0), np.zeros(0)))
            continue
        recall = tp / num_gt
        precision = tp / (tp + fp + np.spacing(1))
        curves.append((recall.copy(), precision.copy()))
        max_recall[t] = recall[-1] if len(recall) else 0.0
        envelope = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
        positions = np.searchsorted(recall, COCO_RECALL_POINTS, side="left")
        valid = positions < len(envelope)
        precision_table[t, valid] = envelope[positions[valid]]
        ap[t] = precision_table[t].mean()
    return APResult(
        kind=kind,
        iou_thresholds=iou_thresholds,
        recall_points=COCO_RECALL_POINTS.copy(),
        precision=precision_table,
        ap=ap,
        max_recall=max_recall,
        curves=curves,
        num_ground_truth=num_gt,
        num_detections=int(len(ranked_scores)),
    )


def instances_to_detections(instances, activation_threshold: float = 0.5):
    """Turn :meth:`InstanceNet.predict`'s list for one image into AP inputs.

    Returns:
        scores (N,), boxes (N, 4) (a missing box becomes the degenerate (0, 0, 0, 0), a
        detection that matches nothing), masks bool (N, H, W) (mask > activation_threshold).
    """
    scores = np.array([float(inst.score) for inst in instances], dtype=np.float64)
    boxes = np.zeros((len(instances), 4))
    masks = []
    for n, inst in enumerate(instances):
        if inst.box is not None:
            boxes[n] = np.asarray(inst.box.detach().cpu(), dtype=np.float64)
        masks.append(np.asarray(inst.mask.detach().cpu()) > activation_threshold)
    masks = np.stack(masks) if masks else np.zeros((0, 0, 0), dtype=bool)
    return scores, boxes, masks


def counting_accuracy(predicted_counts: Sequence[int], true_counts: Sequence[int]) -> list[dict]:
    """How often the predicted number of robots equals the true number, by true count.

    Returns:
        rows {'true_count', 'images', 'accuracy', 'mean_predicted'} sorted by true count,
        then one row with true_count 'all'.
    """
    predicted = np.asarray(predicted_counts, dtype=np.int64).reshape(-1)
    true = np.asarray(true_counts, dtype=np.int64).reshape(-1)
    if predicted.shape != true.shape:
        raise ValueError(f"predicted_counts: {predicted.size} entries but true_counts has {true.size}")
    rows = []
    groups = [(int(c), true == c) for c in np.unique(true)] + [("all", np.ones_like(true, dtype=bool))]
    for label, select in groups:
        n = int(select.sum())
        rows.append(
            {
                "true_count": label,
                "images": n,
                "accuracy": float(np.mean(predicted[select] == true[select])) if n else float("nan"),
                "mean_predicted": float(np.mean(predicted[select])) if n else float("nan"),
            }
        )
    return rows


def ap_table(results: Mapping[str, APResult]) -> list[dict]:
    """Rows of AP per IoU threshold for several results (e.g. {'box': .., 'mask': ..}).

    Each row is {'IoU': '0.50', name: AP, ...}; the last row has IoU '0.50:0.95' and the
    mean over thresholds (COCO's headline AP).
    """
    if not results:
        raise ValueError("results: need at least one APResult")
    first = next(iter(results.values()))
    rows = []
    for t, threshold in enumerate(first.iou_thresholds):
        row = {"IoU": f"{threshold:.2f}"}
        row.update({name: float(result.ap[t]) for name, result in results.items()})
        rows.append(row)
    summary = {"IoU": f"{first.iou_thresholds[0]:.2f}:{first.iou_thresholds[-1]:.2f}"}
    summary.update({name: result.mean_ap for name, result in results.items()})
    rows.append(summary)
    return rows


def format_table(rows: Sequence[Mapping]) -> str:
    """Plain-text table of dict rows (floats with 3 decimals), for printing."""
    if not rows:
        return ""
    columns = list(rows[0].keys())

    def cell(value):
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    cells = [[cell(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(str(c)), *(len(r[k]) for r in cells)) for k, c in enumerate(columns)]
    lines = ["  ".join(str(c).rjust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)
