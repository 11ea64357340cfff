"""Localization losses (paper section III-B, eqs. 1 and 3).

Stage loss (eq. 1):  L_n = sum_{j,p} (B_jp - B^_jp)^2 + lambda * sum_p W_p (D_p - D^_p)^2
Total loss (eq. 3):  L = sum_n L_n over all stages.

lambda (``depth_weight``) is 1 in the paper. Our reference models use more: the weighted
depth region covers ~2 % of the pixels and inverse depth squeezes far depths into a small
part of [0, 1], so with lambda = 1 the depth term was ~100x smaller than the belief term
and depth was not learned at all (session-1 reference models, see the model cards).

We divide eq. 1 by the pixel count H*W and average over the batch (a constant factor, so
the balance between the belief and the depth term is the paper's). A per-pixel mean keeps
the value independent of the input size; it is small (about 1e-3 once the background is
learnt) because beliefs are sparse. Losses are computed in float32 even under AMP.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def stage_loss(pred_beliefs: torch.Tensor, pred_depth: torch.Tensor, beliefs: torch.Tensor,
               depth: torch.Tensor, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 1 for one stage, divided by B*H*W.

    Args:
        pred_beliefs, beliefs: (B, J, H, W) in [0, 1].
        pred_depth, depth, weight: (B, 1, H, W); depth encoded (targets.DepthCoding),
            weight in {0, 1} (eq. 2).

    Returns:
        (belief term, depth term), scalars.
    """
    if pred_beliefs.shape != beliefs.shape:
        raise ValueError(f"beliefs: prediction {tuple(pred_beliefs.shape)} vs target {tuple(beliefs.shape)}")
    if pred_depth.shape != depth.shape or depth.shape != weight.shape:
        raise ValueError(f"depth: prediction {tuple(pred_depth.shape)}, target {tuple(depth.shape)}, "
                         f"weight {tuple(weight.shape)} must match")
    b, _, h, w = beliefs.shape
    norm = float(b * h * w)
    belief_term = (pred_beliefs.float() - beliefs).pow(2).sum() / norm
    depth_term = (weight * (pred_depth.float() - depth).pow(2)).sum() / norm
    return belief_term, depth_term


def pool_targets(targets: dict[str, torch.Tensor], size: tuple[int, int]) -> dict[str, torch.Tensor]:
    """Targets at a coarser grid ``size`` = (h, w), for stages supervised before their U
    block (``LocalizationTask(intermediate="low_res")``).

    Beliefs take the maximum of each cell (a joint's peak stays 1); the depth weight is the
    share of weighted pixels in the cell and the depth their weighted mean, so eq. 1 at
    the coarse grid is the fine one averaged over cells.
    """
    beliefs = F.adaptive_max_pool2d(targets["beliefs"], size)
    weight = F.adaptive_avg_pool2d(targets["weight"], size)
    depth = F.adaptive_avg_pool2d(targets["weight"] * targets["depth"], size) / weight.clamp_min(1e-6)
    return {"beliefs": beliefs, "depth": depth, "weight": weight}


def localization_loss(stages, targets: dict[str, torch.Tensor],
                      depth_weight: float = 1.0) -> tuple[torch.Tensor, dict[str, float]]:
    """Eq. 3: the sum of eq. 1 over stages.

    Args:
        stages: list of (beliefs (B, J, h, w), depth (B, 1, h, w)) per stage; a stage at
            a coarser grid than the targets is compared with :func:`pool_targets`.
        targets: dict with "beliefs", "depth", "weight" (see targets.LocalizationCollate).
        depth_weight: lambda, the factor of the depth term (paper: 1). The logged
            "depth_i" values are unweighted, so runs with different lambdas compare.

    Returns:
        (total loss, floats: "stage_i", "belief_i", "depth_i" per stage i and "loss").
    """
    total = 0.0
    parts: dict[str, float] = {}
    pooled: dict[tuple[int, int], dict] = {}
    for i, (pb, pd) in enumerate(stages):
        t = targets
        if tuple(pb.shape[-2:]) != tuple(targets["beliefs"].shape[-2:]):
            size = tuple(pb.shape[-2:])
            t = pooled.setdefault(size, pool_targets(targets, size))
        lb, ld = stage_loss(pb, pd, t["beliefs"], t["depth"], t["weight"])
        total = total + lb + depth_weight * ld
        parts[f"belief_{i}"] = float(lb.detach())
        parts[f"depth_{i}"] = float(ld.detach())
        parts[f"stage_{i}"] = parts[f"belief_{i}"] + depth_weight * parts[f"depth_{i}"]
    parts["loss"] = float(total.detach())
    return total, parts
