"""Evaluation of the instance model (paper III-C, Fig. 7) on a test set.

* :func:`evaluate_instances`: run the model with the stopping rule over samples; box and
  mask AP, PR curves (``ap.py``) and counting accuracy;
* :func:`format_instance_results`: those as plain-text tables (``robotpose eval instances``);
* :func:`step_purity`: does each recurrent step emit one robot? (chapter 3).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..ap import APResult, ap_table, average_precision, counting_accuracy, format_table, instances_to_detections
from ..ap import masks_to_boxes
from ..config import resolve_device
from ..models.instances import DEFAULT_MIN_ACTIVE_FRACTION
from ..tasks.instances import InstanceCollate, InstanceModel
from ..types import Sample


def evaluate_instances(
    model: InstanceModel,
    samples: Sequence[Sample],
    input_size: tuple[int, int],
    batch_size: int = 4,
    device=None,
    min_active_fraction: float = DEFAULT_MIN_ACTIVE_FRACTION,
    max_instances: int = 10,
    activation_threshold: float = 0.5,
    box_threshold: float = 0.6,
) -> dict:
    """AP of boxes and masks, PR curves and counting accuracy on a test set (Fig. 7).

    Ground truth is each sample's instance masks resized to ``input_size`` and the boxes
    around them; predictions come from :meth:`InstanceModel.predict` with the paper's
    stopping rule; predicted masks are binarised at ``activation_threshold``.

    Returns:
        {"box": APResult, "mask": APResult, "counting": rows of counting_accuracy,
         "predicted_counts": list[int], "true_counts": list[int]}.
    """
    device = resolve_device(device)
    collate = InstanceCollate(input_size)
    scores, boxes, masks, gt_boxes, gt_masks, predicted_counts, true_counts = [], [], [], [], [], [], []
    for start in range(0, len(samples), batch_size):
        chunk = [samples[i] for i in range(start, min(start + batch_size, len(samples)))]
        batch = collate(chunk)
        found = model.predict(
            batch["images"].to(device),
            min_active_fraction=min_active_fraction,
            max_instances=max_instances,
            activation_threshold=activation_threshold,
            box_threshold=box_threshold,
        )
        for b, instances in enumerate(found):
            count = int(batch["counts"][b])
            truth = batch["masks"][b, :count].numpy() > 0.5
            s, bx, mk = instances_to_detections(instances, activation_threshold)
            scores.append(s)
            boxes.append(bx)
            masks.append(mk if len(instances) else np.zeros((0, *input_size), bool))
            gt_masks.append(truth)
            gt_boxes.append(masks_to_boxes(truth))
            predicted_counts.append(len(instances))
            true_counts.append(count)
    box: APResult = average_precision(scores, boxes, gt_boxes, kind="box")
    mask: APResult = average_precision(scores, masks, gt_masks, kind="mask")
    return {
        "box": box,
        "mask": mask,
        "counting": counting_accuracy(predicted_counts, true_counts),
        "predicted_counts": predicted_counts,
        "true_counts": true_counts,
    }


def step_purity(step_masks: np.ndarray, targets: np.ndarray, counts: Sequence[int], threshold: float = 0.5,
                cover: float = 0.5) -> dict[str, float]:
    """Does each step emit one robot? (chapter 3's instance diagnosis)

    For every scene with R >= 2 robots and each of its first R steps, a robot is *covered*
    by a step when at least ``cover`` of its pixels exceed ``threshold`` in the step's mask.

    Args:
        step_masks: (B, T, H, W) masks per step, T >= max(counts).
        targets: (B, R_max, H, W) true masks (zero padded), ``counts`` (B,) robots per scene.

    Returns:
        dict: "single" share of steps covering exactly one robot, "union" covering two or
        more, "none" covering none; "repeated" share of robots covered by more than one
        step; "steps" and "robots" counted.
    """
    tally = {"single": 0, "union": 0, "none": 0, "repeated": 0, "steps": 0, "robots": 0}
    step_masks, targets = np.asarray(step_masks), np.asarray(targets)
    for b, r in enumerate(int(c) for c in counts):
        if r < 2:
            continue
        active = step_masks[b, :r] > threshold                                # (r, H, W)
        truth = targets[b, :r] > 0.5                                          # (r, H, W)
        inter = (active[:, None] & truth[None]).reshape(r, r, -1).sum(-1)     # steps x robots
        covered = inter / np.maximum(truth.reshape(r, -1).sum(-1), 1)[None] >= cover
        per_step = covered.sum(1)
        tally["single"] += int((per_step == 1).sum())
        tally["union"] += int((per_step >= 2).sum())
        tally["none"] += int((per_step == 0).sum())
        tally["repeated"] += int((covered.sum(0) >= 2).sum())
        tally["steps"] += r
        tally["robots"] += r
    n_steps, n_robots = max(tally["steps"], 1), max(tally["robots"], 1)
    return {"single": tally["single"] / n_steps, "union": tally["union"] / n_steps,
            "none": tally["none"] / n_steps, "repeated": tally["repeated"] / n_robots,
            "steps": tally["steps"], "robots": tally["robots"]}


def format_instance_results(results: dict) -> str:
    """AP table (box and mask) and counting accuracy of :func:`evaluate_instances` as text."""
    lines = ["average precision (COCO, IoU 0.50..0.95)",
             format_table(ap_table({"box": results["box"], "mask": results["mask"]})),
             "", "counting accuracy by true robot count",
             format_table(results["counting"])]
    return "\n".join(lines)
