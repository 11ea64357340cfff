"""Permutation-invariant instance loss: Hungarian matching on a soft IoU (paper eq. 4-6).

For one image with R robots the target is S' = (S'_1 .. S'_R, empty mask) and the model
predicts S^_1 .. S^_{R+1}. The cost of assigning target i to prediction j is the soft
(continuous) IoU distance

    k_ij = <S'_i, S^_j>,   C_ij = 1 - k_ij / (sum_p S'_i,p + sum_p S^_j,p - k_ij)     (4, 5)

over the first R predictions; the loss is the minimum-weight perfect matching of C (found
with ``scipy.optimize.linear_sum_assignment`` on the detached costs; the gradient flows
through the chosen C_ij) plus the squared error of prediction R+1 against the empty
end-of-sequence mask (6).

Choices the paper leaves open:

* The end-of-sequence squared error is the *mean* over pixels (a per-pixel sum would be
  H*W times larger than the IoU terms, which lie in [0, 1]); ``eos_weight`` scales it.
* Batches mix images with different R: the model is unrolled max(R) + 1 steps and, per
  image, only predictions 1 .. R+1 enter the loss (later ones are never read at
  inference either, since iteration stops at the first empty mask).
* The batch loss is the mean of the per-image losses (each a sum over its R matches plus
  the end-of-sequence term, as in eq. 6).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment


@dataclass
class MatchingResult:
    """Output of :func:`matching_loss`.

    Attributes:
        loss: scalar tensor, mean over images of ``per_image``.
        per_image: (B,) tensor: matched soft-IoU costs + eos_weight * end-of-sequence error.
        matched_cost: (B,) tensor: the matching part of ``per_image``.
        eos_error: (B,) tensor: mean squared value of prediction R_b + 1.
        assignments: per image an int array (R_b,): the prediction step assigned to each
            target robot (0-based).
        costs: per image the detached cost matrix (R_b, R_b), rows targets, columns the
            first R_b predictions.
    """

    loss: torch.Tensor
    per_image: torch.Tensor
    matched_cost: torch.Tensor
    eos_error: torch.Tensor
    assignments: list[np.ndarray]
    costs: list[np.ndarray]


def soft_iou_cost(targets: torch.Tensor, predictions: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Soft IoU distance between every target and every prediction (eq. 4-5).

    Args:
        targets: (..., R, H, W) target masks in [0, 1].
        predictions: (..., P, H, W) predicted masks in [0, 1].
        eps: added to the union so that two empty masks cost 1 rather than NaN.

    Returns:
        C: (..., R, P) with C[..., i, j] = 1 - <S'_i, S^_j> / (|S'_i| + |S^_j| - <S'_i, S^_j>).
    """
    t = targets.flatten(-2).to(predictions.dtype)
    p = predictions.flatten(-2)
    inner = t @ p.transpose(-1, -2)
    union = t.sum(-1).unsqueeze(-1) + p.sum(-1).unsqueeze(-2) - inner
    return 1.0 - inner / (union + eps)


def stack_instance_targets(masks: Sequence[np.ndarray | torch.Tensor],
                           device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad per-image instance masks to one batch.

    Args:
        masks: per image (R_b, H, W) boolean or float masks (``Sample.masks``); all images
            share H and W; R_b may be 0.

    Returns:
        targets: float32 (B, max(1, max R_b), H, W), zero padded.
        counts: int64 (B,) the R_b.
    """
    if len(masks) == 0:
        raise ValueError("masks: need at least one image")
    tensors = [torch.as_tensor(np.asarray(m) if not torch.is_tensor(m) else m) for m in masks]
    for b, m in enumerate(tensors):
        if m.dim() != 3:
            raise ValueError(f"masks[{b}]: expected (R, H, W), got shape {tuple(m.shape)}")
        if m.shape[-2:] != tensors[0].shape[-2:]:
            raise ValueError(f"masks[{b}]: size {tuple(m.shape[-2:])} differs from "
                             f"masks[0]'s {tuple(tensors[0].shape[-2:])}")
    height, width = tensors[0].shape[-2:]
    counts = torch.tensor([m.shape[0] for m in tensors], dtype=torch.int64)
    targets = torch.zeros(len(tensors), max(1, int(counts.max())), height, width)
    for b, m in enumerate(tensors):
        targets[b, : m.shape[0]] = m.to(torch.float32)
    return targets.to(device), counts.to(device)


def matching_loss(
    predictions: torch.Tensor,
    targets: torch.Tensor,
    counts: torch.Tensor | Sequence[int],
    eos_weight: float = 1.0,
    eps: float = 1e-6,
) -> MatchingResult:
    """The paper's L_graph (eq. 6), batched over images with different robot counts.

    Args:
        predictions: (B, T, H, W) masks in [0, 1] from :class:`InstanceNet` with
            T >= max(counts) + 1.
        targets: (B, R_max, H, W) target masks, zero padded beyond each image's count.
        counts: (B,) number of robots R_b per image (0 allowed: only the end-of-sequence
            term then).
        eos_weight: weight of the end-of-sequence squared error.

    Returns:
        :class:`MatchingResult` (loss differentiable w.r.t. ``predictions``).
    """
    if predictions.dim() != 4:
        raise ValueError(f"predictions: expected (B, T, H, W), got shape {tuple(predictions.shape)}")
    if targets.dim() != 4 or targets.shape[0] != predictions.shape[0] or targets.shape[-2:] != predictions.shape[-2:]:
        raise ValueError(
            f"targets: expected (B, R_max, H, W) matching predictions {tuple(predictions.shape)}, "
            f"got {tuple(targets.shape)}"
        )
    counts = [int(c) for c in (counts.tolist() if torch.is_tensor(counts) else counts)]
    batch, steps = predictions.shape[:2]
    if len(counts) != batch:
        raise ValueError(f"counts: expected {batch} entries, got {len(counts)}")
    if min(counts, default=0) < 0 or max(counts, default=0) > targets.shape[1]:
        raise ValueError(f"counts: must lie in [0, {targets.shape[1]}] (targets' R_max), got {counts}")
    if max(counts) + 1 > steps:
        raise ValueError(f"predictions: need at least max(counts) + 1 = {max(counts) + 1} steps, got {steps}")

    # Sums over all pixels overflow float16 (max 65504): compute the loss in float32 even
    # inside an autocast region.
    with torch.autocast(device_type=predictions.device.type, enabled=False):
        return _matching_loss_float32(predictions.float(), targets.float(), counts, eos_weight, eps)


def _matching_loss_float32(predictions, targets, counts, eos_weight, eps) -> MatchingResult:
    r_max = max(counts)
    cost = soft_iou_cost(targets[:, :r_max], predictions[:, :r_max], eps) if r_max > 0 else None
    cost_numpy = cost.detach().cpu().double().numpy() if cost is not None else None

    matched, eos, assignments, costs = [], [], [], []
    for b, r in enumerate(counts):
        if r > 0:
            rows, cols = linear_sum_assignment(cost_numpy[b, :r, :r])
            order = np.argsort(rows)
            rows, cols = rows[order], cols[order]
            index_rows = torch.as_tensor(rows, device=cost.device)
            index_cols = torch.as_tensor(cols, device=cost.device)
            matched.append(cost[b, index_rows, index_cols].sum())
            assignments.append(cols.astype(np.int64))
            costs.append(cost_numpy[b, :r, :r].copy())
        else:
            matched.append(predictions.new_zeros(()))
            assignments.append(np.zeros(0, dtype=np.int64))
            costs.append(np.zeros((0, 0)))
        eos.append(predictions[b, r].pow(2).mean())
    matched_cost = torch.stack(matched)
    eos_error = torch.stack(eos)
    per_image = matched_cost + eos_weight * eos_error
    return MatchingResult(per_image.mean(), per_image, matched_cost, eos_error, assignments, costs)
