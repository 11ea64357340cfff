"""Peak finding on belief maps: NMS and Laplacian of Gaussian (paper Sec. III, Fig. 2).

The paper finds each joint's peak in its (masked) belief map by non-maximum suppression or
by a Laplacian of Gaussian blob detector; :mod:`robotpose_lib.decode` calls these on each
robot's masked maps. Everything here is torch (the CPU LoG also numpy and OpenCV) and runs
on the device of the maps.

Conventions: beliefs are (B, J, H, W) float; pixel (u, v) = (x, y) with integer
coordinates at pixel centres.

Two peak finders:

* :func:`nms_peaks` / :func:`max_peak_per_channel`: a pixel is a peak when it equals the
  max-pooled map (``kernel_size`` window) and exceeds ``threshold`` (the follow-up paper,
  arXiv 1907.01879: "NMS then max peak per channel").
* :func:`log_peaks`: scale-normalised Laplacian of Gaussian ``-sigma^2 * LoG_sigma * I``
  for a list of sigmas, peaks = local maxima in (sigma, y, x) over a 3x3x3 window above
  ``threshold``, then blob_log's overlap pruning. Built to give the same peaks as
  ``skimage.feature.blob_log(image, min_sigma, max_sigma, num_sigma, threshold,
  overlap)``: the same sampled kernels as ``scipy.ndimage.gaussian_laplace`` (truncate
  4.0, ``mode='reflect'`` borders) and the same peak rule as ``peak_local_max``.
  Differences: float32 accumulation (scipy accumulates in float64), so exact ties can
  break differently; ``threshold_rel`` and ``exclude_border`` are not supported; the
  "all values equal -> no peaks" special case of ``peak_local_max`` is not reproduced;
  overlap pruning visits pairs in a fixed order (blob_log's order is that of a set);
  NaN values produce no peaks around them; on the CPU, values below 1e-20 in magnitude
  are treated as 0 (subnormal numbers slow convolutions down several times).

  On the CPU (``mode='auto'`` -> ``'sparse'``) the scale space is only computed for the
  (tile, sigma) pairs where the response *can* exceed the threshold: with ``k`` the -LoG
  kernel, ``c`` the minimum of the map over the kernel support and ``M`` its maximum over
  the kernel's positive lobe, ``sigma^2 * sum(k * I) <= sigma^2 * (sum(k+) * (M - c) + c *
  sum(k))``. On noisy maps that bound calls every tile active (M - c is the noise's
  range), so where it does, the same bound is applied to the map smoothed by a Gaussian
  g_a, using k_sigma = k_b * g_a + e (b^2 = sigma^2 - a^2; ``e``, what the sampled,
  truncated kernels leave out, is computed exactly and added as ``sigma^2 ||e||_1
  max|I|``): noise averages out in the smoothed map, the large scales drop out. Both
  bounds are exact (not heuristics), so the peaks are the same as the dense computation;
  the responses that remain are computed with OpenCV's separable filters (whole maps for
  busy scales, tile groups otherwise). Belief maps are mostly flat, and on noise only the
  finest scales hold peaks, which makes this 10-50x faster than ``blob_log``
  (``robotpose bench decode``).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy.spatial import cKDTree

# The two peak finders (``method=`` of decode.decode_poses, the Predictor and the evaluations).
METHODS = ("nms", "log")
PEAK_NAMES = {"nms": "NMS", "log": "LoG"}  # how the book and the scorecard write them
# blob_log(min_sigma=1, max_sigma=8, num_sigma=8): belief Gaussians of a few pixels.
DEFAULT_LOG_SIGMAS: tuple[float, ...] = tuple(float(s) for s in np.linspace(1.0, 8.0, 8))
GAUSSIAN_TRUNCATE = 4.0  # scipy.ndimage's default, kernel radius int(4 sigma + 0.5)
LOG_TILE = 32  # tile side of the CPU tiled LoG (pixels)
TINY_TO_ZERO = 1e-20  # |values| below this are set to 0 before the CPU LoG (no subnormals)


def peak_name(method: str) -> str:
    """How the book and the scorecard write a peak finder: NMS, or LoG (Laplacian of
    Gaussian)."""
    return PEAK_NAMES.get(method, method.upper())


@dataclass
class Peaks:
    """Peaks found in a (B, J, H, W) stack, P of them.

    Attributes:
        batch: int64 (P,) index into B.
        channel: int64 (P,) joint index into J.
        xy: float (P, 2) sub-pixel (u, v) = (x, y) in pixels.
        pixel: int64 (P, 2) integer (x, y) of the peak before refinement.
        score: float (P,) value at the integer peak: the belief (NMS) or the normalised
            LoG response (LoG).
        sigma: float (P,) LoG scale of the peak (pixels); None for NMS.
    """

    batch: torch.Tensor
    channel: torch.Tensor
    xy: torch.Tensor
    pixel: torch.Tensor
    score: torch.Tensor
    sigma: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.batch.numel())

    def select(self, keep: torch.Tensor) -> "Peaks":
        return Peaks(self.batch[keep], self.channel[keep], self.xy[keep], self.pixel[keep],
                     self.score[keep], None if self.sigma is None else self.sigma[keep])


def _check_maps(beliefs: torch.Tensor, name: str = "beliefs") -> None:
    if not torch.is_tensor(beliefs) or beliefs.dim() != 4:
        shape = tuple(beliefs.shape) if hasattr(beliefs, "shape") else type(beliefs).__name__
        raise ValueError(f"{name}: expected a (B, J, H, W) tensor, got {shape}")
    if not beliefs.is_floating_point():
        raise ValueError(f"{name}: expected a floating-point tensor, got {beliefs.dtype}")


# ----------------------------------------------------------------------------- sub-pixel

def _axis_step(grad: torch.Tensor, curvature: torch.Tensor) -> torch.Tensor:
    """1D Newton step -g / h where the fit has a maximum (h < 0), else 0."""
    ok = (curvature < 0) & torch.isfinite(curvature)
    return torch.where(ok, -grad / torch.where(ok, curvature, -torch.ones_like(curvature)), torch.zeros_like(grad))


def _quadratic_offsets(patch: torch.Tensor) -> torch.Tensor:
    """Offsets (P, 2) = (dx, dy) of the maximum of a 2nd-order Taylor fit to (P, 3, 3).

    Newton step -H^-1 g with central differences; where the Hessian is not negative
    definite the two axes are fitted separately; a non-finite neighbour (image border)
    leaves that axis unrefined. Offsets are clipped to half a pixel: the integer peak is
    the sampled maximum, so the true one is taken to lie within half a pixel of it.
    """
    f = patch
    gx = 0.5 * (f[:, 1, 2] - f[:, 1, 0])
    gy = 0.5 * (f[:, 2, 1] - f[:, 0, 1])
    hxx = f[:, 1, 2] - 2 * f[:, 1, 1] + f[:, 1, 0]
    hyy = f[:, 2, 1] - 2 * f[:, 1, 1] + f[:, 0, 1]
    hxy = 0.25 * (f[:, 2, 2] - f[:, 2, 0] - f[:, 0, 2] + f[:, 0, 0])
    det = hxx * hyy - hxy * hxy
    joint_ok = (hxx < 0) & (det > 0) & torch.isfinite(det)
    safe_det = torch.where(joint_ok, det, torch.ones_like(det))
    dx2 = -(hyy * gx - hxy * gy) / safe_det
    dy2 = -(hxx * gy - hxy * gx) / safe_det
    dx = torch.where(joint_ok, dx2, _axis_step(gx, hxx))
    dy = torch.where(joint_ok, dy2, _axis_step(gy, hyy))
    out = torch.stack([dx, dy], dim=-1)
    out = torch.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
    return out.clamp(-0.5, 0.5)


def _neighbourhoods(maps: torch.Tensor, index: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """3x3 neighbourhoods (P, 3, 3) of maps (M, H, W) at (index, y, x); -inf outside."""
    H, W = maps.shape[-2:]
    yy = y.view(-1, 1, 1) + torch.arange(-1, 2, device=maps.device).view(1, 3, 1)
    xx = x.view(-1, 1, 1) + torch.arange(-1, 2, device=maps.device).view(1, 1, 3)
    inside = (yy >= 0) & (yy < H) & (xx >= 0) & (xx < W)
    values = maps[index.view(-1, 1, 1), yy.clamp(0, H - 1), xx.clamp(0, W - 1)]
    return values.masked_fill(~inside, float("-inf"))


def refine_subpixel(patch: torch.Tensor, method: str = "log_quadratic") -> torch.Tensor:
    """(dx, dy) offsets (P, 2) for 3x3 neighbourhoods (P, 3, 3) centred on integer peaks.

    ``'quadratic'`` fits the values; ``'log_quadratic'`` fits their logarithm, which is
    exact for a sampled Gaussian (the shape of the belief targets) and falls back to the
    value fit where a neighbour is not positive; ``'none'`` returns zeros.
    """
    if method == "none":
        return torch.zeros(patch.shape[0], 2, dtype=patch.dtype, device=patch.device)
    if method == "quadratic":
        return _quadratic_offsets(patch)
    if method == "log_quadratic":
        positive = (patch > 0).flatten(1).all(dim=1)
        logs = torch.log(patch.clamp_min(torch.finfo(patch.dtype).tiny))
        return torch.where(positive[:, None], _quadratic_offsets(logs), _quadratic_offsets(patch))
    raise ValueError(f"refine: expected 'log_quadratic', 'quadratic' or 'none', got {method!r}")


def _max_filter2d(x: torch.Tensor, size: int) -> torch.Tensor:
    """Max over each ``size`` x ``size`` window of x (..., H, W), -inf beyond the border.

    Same result as ``F.max_pool2d(x, size, 1, size // 2)``, which it calls off the CPU;
    on the CPU running maxima of shifted slices are about 10x faster than max_pool2d.
    """
    r = size // 2
    if r == 0:
        return x
    if x.device.type != "cpu":  # GPU max-pooling is fast (the paper's NMS)
        return F.max_pool2d(x, size, stride=1, padding=r)
    p = F.pad(x, (r, r, r, r), value=float("-inf"))
    h, w = x.shape[-2], x.shape[-1]
    rows = p[..., :, 0:w]
    for d in range(1, size):
        rows = torch.maximum(rows, p[..., :, d:d + w])
    out = rows[..., 0:h, :]
    for d in range(1, size):
        out = torch.maximum(out, rows[..., d:d + h, :])
    return out


# ----------------------------------------------------------------------------- NMS

def nms_peaks(beliefs: torch.Tensor, threshold: float = 0.1, kernel_size: int = 3,
              top_k: int | None = None, refine: str = "log_quadratic") -> Peaks:
    """All local maxima of (B, J, H, W) maps: max-pooling NMS, then sub-pixel refinement.

    A pixel is a peak when it equals the maximum of its ``kernel_size`` window and is
    above ``threshold``. ``top_k`` keeps the k highest peaks per (b, j) channel. Peaks are
    sorted by (batch, channel, descending score).
    """
    _check_maps(beliefs)
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size: expected an odd positive integer, got {kernel_size}")
    B, J, H, W = beliefs.shape
    pooled = _max_filter2d(beliefs, kernel_size)
    is_peak = (beliefs == pooled) & (beliefs > threshold)
    b, j, y, x = torch.nonzero(is_peak, as_tuple=True)
    score = beliefs[b, j, y, x]
    # sort by channel, then descending score
    order = torch.argsort(score, descending=True, stable=True)
    channel_id = (b * J + j)[order]
    order = order[torch.argsort(channel_id, stable=True)]
    b, j, y, x, score = b[order], j[order], y[order], x[order], score[order]
    if top_k is not None:
        channel_id = b * J + j
        first = torch.searchsorted(channel_id, channel_id, right=False)
        rank = torch.arange(channel_id.numel(), device=beliefs.device) - first
        keep = rank < top_k
        b, j, y, x, score = b[keep], j[keep], y[keep], x[keep], score[keep]
    patch = _neighbourhoods(beliefs.reshape(B * J, H, W), b * J + j, y, x)
    xy = torch.stack([x, y], dim=-1).to(beliefs.dtype) + refine_subpixel(patch, refine)
    return Peaks(b, j, xy, torch.stack([x, y], dim=-1), score)


def max_peak_per_channel(beliefs: torch.Tensor, threshold: float = 0.1,
                         refine: str = "log_quadratic") -> tuple[torch.Tensor, torch.Tensor]:
    """The strongest peak of each (b, j) map: (xy (B, J, 2), score (B, J)).

    The global maximum of a map always survives NMS, so this is "NMS then max peak per
    channel" without listing the other peaks. Channels whose maximum is not above
    ``threshold`` (or is NaN) get xy = NaN and score = 0.
    """
    _check_maps(beliefs)
    B, J, H, W = beliefs.shape
    flat = torch.nan_to_num(beliefs.reshape(B * J, H * W), nan=float("-inf"))
    score, arg = flat.max(dim=1)
    y, x = arg // W, arg % W
    patch = _neighbourhoods(beliefs.reshape(B * J, H, W), torch.arange(B * J, device=beliefs.device), y, x)
    xy = torch.stack([x, y], dim=-1).to(beliefs.dtype) + refine_subpixel(patch, refine)
    found = score > threshold
    xy = torch.where(found[:, None], xy, torch.full_like(xy, float("nan")))
    score = torch.where(found, score, torch.zeros_like(score))
    return xy.view(B, J, 2), score.view(B, J)


# ----------------------------------------------------------------------------- LoG

def _gaussian_kernel1d(sigma: float, order: int, radius: int) -> np.ndarray:
    """scipy.ndimage's sampled Gaussian (order 0) or its 2nd derivative (order 2)."""
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    phi = np.exp(-0.5 * x * x / (sigma * sigma))
    phi /= phi.sum()
    if order == 0:
        return phi
    if order == 2:
        return (x * x / sigma ** 4 - 1.0 / sigma ** 2) * phi
    raise ValueError(f"order: expected 0 or 2, got {order}")


@dataclass(frozen=True)
class _LogKernel:
    sigma: float
    radius: int
    gauss: np.ndarray        # (2r+1,) order 0
    second: np.ndarray       # (2r+1,) order 2
    positive_sum: float      # sum of the positive part of the 2D -LoG kernel
    kernel_sum: float        # sum of the 2D -LoG kernel (~0)
    positive_halfwidth: int  # half-width of the box holding the positive lobe


def _log_kernel(sigma: float) -> _LogKernel:
    r = int(GAUSSIAN_TRUNCATE * sigma + 0.5)
    g, d2 = _gaussian_kernel1d(sigma, 0, r), _gaussian_kernel1d(sigma, 2, r)
    k2d = -(np.outer(d2, g) + np.outer(g, d2))  # -LoG, rows = y
    ys, xs = np.nonzero(k2d > 0)
    half = int(max(np.abs(ys - r).max(), np.abs(xs - r).max())) if ys.size else 0
    return _LogKernel(float(sigma), r, g, d2, float(k2d[k2d > 0].sum()), float(k2d.sum()), half)


def _reflect(index: torch.Tensor, n: int) -> torch.Tensor:
    """Map positions (any integers) on a length-n axis into it as scipy's 'reflect' does
    (d c b a | a b c d | d c b a)."""
    i = torch.remainder(index, 2 * n)
    return torch.where(i >= n, 2 * n - 1 - i, i)


def _reflect_index(n: int, start: int, stop: int, device) -> torch.Tensor:
    """Indices of positions start..stop-1 of a length-n axis under scipy's 'reflect'."""
    return _reflect(torch.arange(start, stop, device=device), n)


def _log_valid(padded: torch.Tensor, kernels: Sequence[_LogKernel], pad: int) -> torch.Tensor:
    """Normalised -sigma^2 LoG of (N, 1, h + 2 pad, w + 2 pad) inputs -> (N, S, h, w)."""
    out = []
    h, w = padded.shape[-2] - 2 * pad, padded.shape[-1] - 2 * pad
    for k in kernels:
        c = pad - k.radius
        x = padded[..., c:c + h + 2 * k.radius, c:c + w + 2 * k.radius]
        n = 2 * k.radius + 1
        gauss = torch.as_tensor(k.gauss, dtype=padded.dtype, device=padded.device)
        second = torch.as_tensor(k.second, dtype=padded.dtype, device=padded.device)
        # along y: channel 0 smooths, channel 1 differentiates twice ...
        along_y = F.conv2d(x, torch.stack([gauss, second]).view(2, 1, n, 1))
        # ... along x: the other one of the pair, so the sum is G''_x G_y + G_x G''_y
        both = F.conv2d(along_y, torch.stack([second, gauss]).view(2, 1, 1, n), groups=2)
        out.append(-(k.sigma ** 2) * both.sum(dim=1))
    return torch.stack(out, dim=1)


def log_scale_space(beliefs: torch.Tensor, sigmas: Sequence[float] = DEFAULT_LOG_SIGMAS) -> torch.Tensor:
    """Dense normalised LoG responses (B, J, S, H, W) = -sigma^2 * gaussian_laplace(I, sigma).

    Matches ``-scipy.ndimage.gaussian_laplace(I, s) * s**2`` (blob_log's cube) up to
    float32 rounding.
    """
    _check_maps(beliefs)
    B, J, H, W = beliefs.shape
    kernels = [_log_kernel(s) for s in sigmas]
    pad = max(k.radius for k in kernels)
    x = beliefs.reshape(B * J, 1, H, W)
    x = x.index_select(2, _reflect_index(H, -pad, H + pad, x.device))
    x = x.index_select(3, _reflect_index(W, -pad, W + pad, x.device))
    return _log_valid(x, kernels, pad).view(B, J, len(kernels), H, W)


def _tile_bounds(maps: torch.Tensor, kernels: Sequence[tuple[float, _LogKernel]], tile: int,
                 block: int = 8) -> torch.Tensor:
    """Upper bounds (N, K, nty, ntx) of ``scale * sum(k * maps)`` over each tile (plus a
    1-pixel halo) for each (scale, kernel) pair: ``scale * (sum(k+) * (M - c) + c * sum(k))``
    with M the maximum of the map over the kernel's positive lobe and c its minimum over
    the whole kernel, around the tile (the exact bound of the module docstring).

    Maxima and minima are first taken over ``block``-pixel blocks, so the windows around
    a tile are only rounded up to whole blocks. NaN propagates into the bound.
    """
    N, H, W = maps.shape
    if tile % block:
        raise ValueError(f"tile: expected a multiple of {block}, got {tile}")
    nty, ntx = -(-H // tile), -(-W // tile)
    grow_y, grow_x = nty * tile - H, ntx * tile - W
    x = maps[:, None]
    if grow_y or grow_x:  # repeat the last row/column: neither max nor min changes
        x = F.pad(x, (0, grow_x, 0, grow_y), mode="replicate")
    n_y, n_x = x.shape[-2] // block, x.shape[-1] // block
    rows = x[:, 0].reshape(N, n_y, block, n_x * block)  # block rows, then block columns:
    block_max = rows.amax(dim=2).reshape(N, n_y, n_x, block).amax(dim=3)  # ~5x faster than
    block_min = rows.amin(dim=2).reshape(N, n_y, n_x, block).amin(dim=3)  # max_pool2d on the CPU
    per_tile = tile // block
    windows: dict[tuple[str, int], torch.Tensor] = {}

    def around_tiles(kind: str, margin: int) -> torch.Tensor:
        # max (or min) over each tile grown by `margin` blocks: a block-level max filter,
        # then the max over the tile's own blocks.
        if (kind, margin) not in windows:
            src = block_max if kind == "max" else -block_min
            grown = _max_filter2d(src, 2 * margin + 1)
            windows[kind, margin] = F.max_pool2d(grown[:, None], per_tile)[:, 0]
        return windows[kind, margin]

    bounds = []
    for scale, k in kernels:
        # windows around the tile (+1 halo) covering the positive lobe / the whole kernel;
        # windows clipped at the image border still hold the 'reflect' values.
        big = around_tiles("max", -(-(k.positive_halfwidth + 1) // block))
        small = -around_tiles("min", -(-(k.radius + 1) // block))
        bounds.append(scale * (k.positive_sum * (big - small) + small * k.kernel_sum))
    return torch.stack(bounds, dim=1)


def _exceeds(bound: torch.Tensor, threshold: float) -> torch.Tensor:
    """bound > threshold with a small margin for float rounding in the convolutions."""
    return bound > threshold - 1e-4 * (abs(threshold) + bound.abs())


def _active_tiles(maps: torch.Tensor, kernels: Sequence[_LogKernel], threshold: float, tile: int,
                  block: int = 8) -> torch.Tensor:
    """bool (N, nty, ntx): tiles (plus a 1-pixel halo) where some sigma's response may
    exceed ``threshold`` (the exact upper bound in the module docstring)."""
    bounds = _tile_bounds(maps, [(k.sigma ** 2, k) for k in kernels], tile, block)
    return _exceeds(bounds, threshold).any(dim=1)


def _scale_space_maxima(resp: torch.Tensor) -> torch.Tensor:
    """Max over the 3x3x3 (sigma, y, x) neighbourhood of resp (M, S, h, w); -inf outside.

    Separable: 3x3 spatial maxima, then the max over neighbouring scales (much faster than
    max_pool3d on the CPU)."""
    M, S, h, w = resp.shape
    spatial = _max_filter2d(resp, 3)
    padded = F.pad(spatial, (0, 0, 0, 0, 1, 1), value=float("-inf"))
    return torch.maximum(torch.maximum(padded[:, :-2], padded[:, 1:-1]), padded[:, 2:])


def _prune_overlapping(peaks: Peaks, overlap: float) -> Peaks:
    """blob_log's pruning: of two blobs of one channel whose discs (radius sigma*sqrt(2))
    overlap by more than ``overlap`` of the smaller one, drop the one with the smaller
    sigma (on equal sigma the first in descending-score order, as blob_log does).
    Overlaps are computed for all candidate pairs at once; only the pairs above
    ``overlap`` are visited in order."""
    if len(peaks) < 2 or overlap >= 1:
        return peaks
    keep = np.ones(len(peaks), dtype=bool)
    xy = peaks.pixel.double().cpu().numpy()
    sig = peaks.sigma.double().cpu().numpy()
    chan = (peaks.batch * (int(peaks.channel.max()) + 1) + peaks.channel).cpu().numpy()
    starts = np.flatnonzero(np.r_[True, chan[1:] != chan[:-1]])  # peaks are grouped by channel
    for a, b in zip(starts, np.r_[starts[1:], len(chan)]):
        if b - a < 2:
            continue
        # candidate pairs: centres closer than two of the largest disc radii (as blob_log)
        pairs = cKDTree(xy[a:b]).query_pairs(2 * math.sqrt(2) * sig[a:b].max(), output_type="ndarray")
        if not len(pairs):
            continue
        pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))] + a
        i, j = pairs[:, 0], pairs[:, 1]
        pairs = pairs[_disc_overlaps(xy[i], sig[i], xy[j], sig[j]) > overlap]
        for i, j in pairs.tolist():
            if keep[i] and keep[j]:
                keep[j if sig[i] > sig[j] else i] = False
    return peaks.select(torch.from_numpy(keep).to(peaks.batch.device))


def _disc_overlaps(p1: np.ndarray, s1: np.ndarray, p2: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """Vectorised :func:`_disc_overlap` over pairs: points (P, 2), sigmas (P,)."""
    big = np.maximum(s1, s2) * math.sqrt(2)
    r1, r2 = s1 * math.sqrt(2) / big, s2 * math.sqrt(2) / big
    d = np.hypot(*(p1 - p2).T) / big
    out = np.zeros(len(d))
    inside = d <= np.abs(r1 - r2)
    out[inside] = 1.0
    part = ~inside & (d <= r1 + r2)
    d, r1, r2 = d[part], r1[part], r2[part]
    with np.errstate(invalid="ignore", divide="ignore"):
        a1 = np.arccos(np.clip((d * d + r1 * r1 - r2 * r2) / (2 * d * r1), -1.0, 1.0))
        a2 = np.arccos(np.clip((d * d + r2 * r2 - r1 * r1) / (2 * d * r2), -1.0, 1.0))
    area = r1 * r1 * a1 + r2 * r2 * a2 - 0.5 * np.sqrt(np.abs((-d + r2 + r1) * (d - r2 + r1) * (d + r2 - r1)
                                                              * (d + r2 + r1)))
    out[part] = area / (math.pi * np.minimum(r1, r2) ** 2)
    return out


def _disc_overlap(p1, s1, p2, s2) -> float:
    """Fraction of the smaller disc covered (skimage.feature.blob._blob_overlap, 2D)."""
    big = max(s1, s2) * math.sqrt(2)
    r1, r2 = s1 * math.sqrt(2) / big, s2 * math.sqrt(2) / big
    d = float(np.hypot(*(np.asarray(p1) - np.asarray(p2)))) / big
    if d > r1 + r2:
        return 0.0
    if d <= abs(r1 - r2):
        return 1.0
    a1 = math.acos(min(1.0, max(-1.0, (d * d + r1 * r1 - r2 * r2) / (2 * d * r1))))
    a2 = math.acos(min(1.0, max(-1.0, (d * d + r2 * r2 - r1 * r1) / (2 * d * r2))))
    area = r1 * r1 * a1 + r2 * r2 * a2 - 0.5 * math.sqrt(abs((-d + r2 + r1) * (d - r2 + r1) * (d + r2 - r1)
                                                              * (d + r2 + r1)))
    return area / (math.pi * min(r1, r2) ** 2)


def _flush_tiny(x: torch.Tensor) -> torch.Tensor:
    """On the CPU, set |x| < TINY_TO_ZERO to 0: subnormal floats (exp or sigmoid tails)
    make convolutions several times slower, and values this small cannot move a response
    anywhere near a useful threshold."""
    if x.device.type != "cpu":
        return x
    return x.masked_fill(x.abs() < TINY_TO_ZERO, 0.0)


# ----------------------------------------------------------------------------- LoG, sparse CPU

# Scales a of the Gaussian pre-smoothing used by the tighter bound (see _smoothed_bounds).
BOUND_SMOOTHING = (1.0, 2.0, 4.0)  # (1.0 hardly tightens the bound of sigma = 2 on noise)
SMOOTHED_BOUND_ABOVE = 0.1   # (map, sigma) slices with more active tiles get the tighter bound
SPARSE_DENSE_ABOVE = 0.3     # ... and with more than this still active are computed whole


@functools.lru_cache(maxsize=None)
def _smoothing_for(sigma: float) -> tuple[float, float, float] | None:
    """(a, b, err) for the tighter bound at scale ``sigma``: the largest a of
    BOUND_SMOOTHING with a <= sigma / sqrt(2), b = sqrt(sigma^2 - a^2), and
    err = sigma^2 * ||k_sigma - k_b * g_a||_1 over the sampled, truncated kernels (the
    exact size of what the factorisation leaves out). None below sigma = sqrt(2)."""
    from scipy.signal import fftconvolve

    usable = [a for a in BOUND_SMOOTHING if a <= sigma / math.sqrt(2) + 1e-9]
    if not usable:
        return None
    a = max(usable)
    b = math.sqrt(sigma * sigma - a * a)
    ka, kb, ks = _log_kernel(a), _log_kernel(b), _log_kernel(sigma)
    comp = fftconvolve(-(np.outer(kb.second, kb.gauss) + np.outer(kb.gauss, kb.second)), np.outer(ka.gauss, ka.gauss))
    full = -(np.outer(ks.second, ks.gauss) + np.outer(ks.gauss, ks.second))
    R = max(comp.shape[0], full.shape[0]) // 2
    pad = lambda k: np.pad(k, R - k.shape[0] // 2)  # noqa: E731
    err = sigma * sigma * float(np.abs(pad(full) - pad(comp)).sum())
    return a, b, err + 1e-6  # + float rounding of the composition itself


def _tighten(x_all: np.ndarray, active: torch.Tensor, busy: torch.Tensor, kernels: Sequence[_LogKernel],
             threshold: float, tile: int, largest: torch.Tensor) -> None:
    """Clear, in ``active`` (N, S, nty, ntx), the tiles of ``busy`` (N, S) slices that a
    tighter exact bound rules out.

    The -LoG kernel factors as k_sigma = k_b * g_a + e (b^2 = sigma^2 - a^2, e tiny and
    known, see :func:`_smoothing_for`), so sigma^2 sum(k_sigma I) = sigma^2 sum(k_b S) +
    sigma^2 sum(e I) with S = g_a * I: the max/min bound of :func:`_tile_bounds` is applied
    to the smoothed S, plus sigma^2 ||e||_1 max|I|. Noise averages out in S, so where the
    plain bound calls every tile of a noisy map active, this one does not; it is still
    exact (never below the true response). ``largest``: (N,) max |I| of each map (finite
    values)."""
    import cv2

    by_a: dict[float, list[tuple[int, float, float]]] = {}
    for s, k in enumerate(kernels):
        f = _smoothing_for(k.sigma)
        if f is not None and bool(busy[:, s].any()):
            by_a.setdefault(f[0], []).append((s, f[1], f[2]))
    for a, rows in by_a.items():
        idx = [s for s, _, _ in rows]
        maps = torch.nonzero(busy[:, idx].any(dim=1)).flatten().tolist()
        g = _log_kernel(a).gauss.astype(np.float32)
        smooth = np.stack([cv2.sepFilter2D(x_all[n], cv2.CV_32F, g, g, borderType=cv2.BORDER_REFLECT)
                           for n in maps])
        biggest = largest[maps]
        pairs = [(kernels[s].sigma ** 2, _log_kernel(b)) for s, b, _ in rows]
        bound = _tile_bounds(torch.from_numpy(smooth), pairs, tile)  # (len(maps), len(rows), nty, ntx)
        err = torch.tensor([e for _, _, e in rows])
        bound = bound + (err[None, :] * biggest[:, None])[..., None, None]
        m = torch.tensor(maps)[:, None]
        sel = torch.tensor(idx)[None, :]
        active[m, sel] &= _exceeds(bound, threshold) | ~busy[m, sel][..., None, None]


def _cv_response(x: np.ndarray, k: _LogKernel) -> np.ndarray:
    """-sigma^2 LoG of x (h, w) float32 by two separable OpenCV filters, 'reflect' borders
    (scipy's 'reflect' is OpenCV's BORDER_REFLECT)."""
    import cv2

    g, d2 = k.gauss.astype(np.float32), k.second.astype(np.float32)
    a = cv2.sepFilter2D(x, cv2.CV_32F, d2, g, borderType=cv2.BORDER_REFLECT)
    b = cv2.sepFilter2D(x, cv2.CV_32F, g, d2, borderType=cv2.BORDER_REFLECT)
    return (a + b) * np.float32(-(k.sigma ** 2))


def _log_sparse(maps: torch.Tensor, kernels: Sequence[_LogKernel], threshold: float, tile: int):
    """Scale-space maxima of (N, H, W) CPU maps computed only where they can be.

    Per (map, sigma): tiles whose exact upper bound (plain, then the smoothed one of
    :func:`_tighten` where the plain one calls more than 10 % of the tiles active) exceeds
    ``threshold`` are computed with OpenCV's separable filters: the whole map when most
    tiles are active, else each connected group of tiles (its bounding box plus a 1-pixel
    halo) from a reflect-padded copy. Everything else cannot hold a response above the
    threshold, so it counts as -inf, which changes no local-maximum test. Peaks: above
    ``threshold`` and not below any of their 3x3x3 (sigma, y, x) neighbours.

    Returns (n, s, y, x, score, patch (P, 3, 3)) NumPy arrays (patch: the response at the
    peak's scale around it, -inf outside the image).
    """
    import cv2
    from scipy import ndimage

    N, H, W = maps.shape
    S = len(kernels)
    x_all = maps.float().numpy().copy()
    np.putmask(x_all, np.abs(x_all) < TINY_TO_ZERO, 0.0)  # as _flush_tiny
    active = _exceeds(_tile_bounds(torch.from_numpy(x_all), [(k.sigma ** 2, k) for k in kernels], tile), threshold)
    busy = active.float().mean(dim=(2, 3)) > SMOOTHED_BOUND_ABOVE
    if busy.any():
        t = torch.from_numpy(x_all)
        largest = torch.nan_to_num(t.abs(), nan=0.0, posinf=0.0).amax(dim=(1, 2))  # inf: NaN bounds anyway
        _tighten(x_all, active, busy, kernels, threshold, tile, largest)
    share = active.float().mean(dim=(2, 3))
    nty, ntx = active.shape[-2:]
    R = max(k.radius for k in kernels) + 1
    # per computed slice: boxes (y0, y1, x0, x1, response) and which box owns each tile
    slices: dict[tuple[int, int], tuple[list, np.ndarray]] = {}
    for n in range(N):
        padded = None
        for s in range(S):
            if not active[n, s].any():
                continue
            k, r = kernels[s], kernels[s].radius
            owner = np.full((nty, ntx), -1, dtype=np.int64)
            boxes = []
            if share[n, s] > SPARSE_DENSE_ABOVE:
                boxes.append((0, H, 0, W, _cv_response(x_all[n], k)))
                owner[:] = 0
            else:
                if padded is None:
                    padded = cv2.copyMakeBorder(x_all[n], R, R, R, R, cv2.BORDER_REFLECT)
                labels, _ = ndimage.label(active[n, s].numpy(), structure=np.ones((3, 3)))
                for ys, xs in ndimage.find_objects(labels):
                    y0, y1 = max(ys.start * tile - 1, 0), min(ys.stop * tile + 1, H)
                    x0, x1 = max(xs.start * tile - 1, 0), min(xs.stop * tile + 1, W)
                    crop = padded[y0 - r + R:y1 + r + R, x0 - r + R:x1 + r + R]
                    owner[ys, xs] = len(boxes)
                    boxes.append((y0, y1, x0, x1, _cv_response(crop, k)[r:r + y1 - y0, r:r + x1 - x0]))
            for box in boxes:
                box[4][~np.isfinite(box[4])] = -np.inf
            slices[n, s] = (boxes, owner)

    def lookup(key, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        """Responses of slice ``key`` at pixels (any shape); -inf where not computed."""
        out = np.full(yy.shape, -np.inf, dtype=np.float32)
        if key not in slices:
            return out
        boxes, owner = slices[key]
        inside = (yy >= 0) & (yy < H) & (xx >= 0) & (xx < W)
        o = np.where(inside, owner[yy.clip(0, H - 1) // tile, xx.clip(0, W - 1) // tile], -1)
        for i in np.unique(o[o >= 0]):
            m = o == i
            y0, _, x0, _, arr = boxes[i]
            out[m] = arr[yy[m] - y0, xx[m] - x0]
        return out

    dy, dx = np.meshgrid(np.arange(-1, 2), np.arange(-1, 2), indexing="ij")
    out_n, out_s, out_y, out_x, out_v, out_p = [], [], [], [], [], []
    for (n, s), (boxes, owner) in slices.items():
        for i, (y0, y1, x0, x1, arr) in enumerate(boxes):
            ys, xs = np.nonzero(arr > threshold)
            ys, xs = ys + y0, xs + x0
            mine = owner[ys // tile, xs // tile] == i  # halo pixels belong to other boxes
            ys, xs = ys[mine], xs[mine]
            if ys.size == 0:
                continue
            yy, xx = ys[:, None, None] + dy, xs[:, None, None] + dx
            inside = (yy >= 0) & (yy < H) & (xx >= 0) & (xx < W)
            # the box holds its tiles plus a 1-pixel halo: the whole 3x3 neighbourhood
            patch = np.where(inside, arr[(yy - y0).clip(0, arr.shape[0] - 1), (xx - x0).clip(0, arr.shape[1] - 1)],
                             -np.inf).astype(np.float32)
            v = patch[:, 1, 1]
            keep = v >= patch.reshape(-1, 9).max(axis=1)
            for t in (s - 1, s + 1):
                if keep.any() and (n, t) in slices:
                    keep &= v >= lookup((n, t), yy, xx).reshape(-1, 9).max(axis=1)
            if not keep.any():
                continue
            out_n.append(np.full(int(keep.sum()), n))
            out_s.append(np.full(int(keep.sum()), s))
            out_y.append(ys[keep])
            out_x.append(xs[keep])
            out_v.append(v[keep])
            out_p.append(patch[keep])
    if not out_n:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z, z, np.zeros(0, np.float32), np.zeros((0, 3, 3), np.float32)
    return (np.concatenate(out_n), np.concatenate(out_s), np.concatenate(out_y), np.concatenate(out_x),
            np.concatenate(out_v), np.concatenate(out_p))


def log_peaks(beliefs: torch.Tensor, sigmas: Sequence[float] = DEFAULT_LOG_SIGMAS,
              threshold: float = 0.1, overlap: float = 0.5, refine: str = "quadratic",
              mode: str = "auto", tile: int = LOG_TILE) -> Peaks:
    """Scale-space LoG peaks of (B, J, H, W) maps (see the module docstring).

    Args:
        sigmas: Gaussian scales in pixels; ``np.linspace(min_sigma, max_sigma,
            num_sigma)`` reproduces blob_log's list. The response of a Gaussian blob of
            std s0 and height A peaks at sigma = s0 with value A / 2.
        threshold: absolute lower bound on the normalised response (blob_log's).
        overlap: blob_log's pruning of overlapping blobs (1 disables it).
        refine: sub-pixel fit on the response at the peak's scale ('quadratic'/'none').
        mode: 'dense' computes the whole scale space (torch); 'tiled' only the tiles
            that can hold a peak (torch, same result); 'sparse' only the (tile, scale)
            pairs that can hold one, with OpenCV's separable filters and a tighter bound
            for noisy maps (CPU, same result; see :func:`_log_sparse`); 'auto' = sparse on
            the CPU (dense when a kernel is wider than the map), dense elsewhere.

    Returns:
        Peaks with ``score`` = the normalised LoG response and ``sigma`` its scale, sorted
        by (batch, channel, descending score).
    """
    _check_maps(beliefs)
    if len(sigmas) == 0 or min(sigmas) <= 0:
        raise ValueError(f"sigmas: expected positive scales, got {tuple(sigmas)}")
    if mode not in ("auto", "dense", "tiled", "sparse"):
        raise ValueError(f"mode: expected 'auto', 'dense', 'tiled' or 'sparse', got {mode!r}")
    B, J, H, W = beliefs.shape
    kernels = [_log_kernel(s) for s in sigmas]
    sigma_t = torch.tensor([float(s) for s in sigmas], dtype=beliefs.dtype, device=beliefs.device)
    maps = beliefs.reshape(B * J, H, W)
    fits = max(k.radius for k in kernels) + 1 < min(H, W)  # OpenCV's reflection = scipy's
    auto = mode == "auto"
    if auto:
        mode = "sparse" if beliefs.device.type == "cpu" and fits else "dense"
    if mode == "sparse":
        if beliefs.device.type != "cpu" or not fits:
            raise ValueError("mode: 'sparse' needs CPU maps larger than the widest kernel (2 * radius + 2 "
                             f"= {2 * max(k.radius for k in kernels) + 2} px)")
        n, s, y, x, score, patch = (torch.from_numpy(np.ascontiguousarray(a)) for a in
                                    _log_sparse(maps, kernels, threshold, tile))
        offsets = refine_subpixel(patch.to(beliefs.dtype), refine)
        b, j = n // J, n % J
        order = torch.argsort(score, descending=True, stable=True)
        order = order[torch.argsort((b * J + j)[order], stable=True)]
        pixel = torch.stack([x, y], dim=-1)[order]
        peaks = Peaks(b[order], j[order], pixel.to(beliefs.dtype) + offsets[order], pixel,
                      score[order].to(beliefs.dtype), sigma_t[s[order]])
        return _prune_overlapping(peaks, overlap)
    if mode != "dense":
        active = _active_tiles(maps, kernels, threshold, tile)
    if mode == "dense":
        resp = log_scale_space(_flush_tiny(beliefs), sigmas).reshape(B * J, len(sigmas), H, W)
        off_y = off_x = torch.zeros(B * J, dtype=torch.long, device=beliefs.device)
        tiles = resp
        chan = torch.arange(B * J, device=beliefs.device)
        valid = None
    else:
        chan, ty, tx = torch.nonzero(active, as_tuple=True)
        pad = max(k.radius for k in kernels) + 1
        side = tile + 2 * pad
        dev = maps.device
        # input patch of each active tile: rows/cols ty*tile - pad ... under 'reflect'
        span = torch.arange(side, device=dev) - pad
        rows = _reflect(ty[:, None] * tile + span, H)
        cols = _reflect(tx[:, None] * tile + span, W)
        # (A, 1, side, side)
        patches = _flush_tiny(maps[chan[:, None, None], rows[:, :, None], cols[:, None, :]][:, None])
        tiles = _log_valid(patches, kernels, pad - 1) if len(chan) else \
            beliefs.new_zeros(0, len(kernels), tile + 2, tile + 2)
        off_y, off_x = ty * tile - 1, tx * tile - 1  # image coordinates of tile pixel (0, 0)
        rows = off_y[:, None] + torch.arange(tile + 2, device=dev)
        cols = off_x[:, None] + torch.arange(tile + 2, device=dev)
        valid = ((rows >= 0) & (rows < H))[:, :, None] & ((cols >= 0) & (cols < W))[:, None, :]
        tiles = tiles.masked_fill(~valid[:, None], float("-inf"))
    pooled = _scale_space_maxima(tiles)
    is_peak = (tiles == pooled) & (tiles > threshold)
    if valid is not None:  # halo pixels belong to the neighbouring tiles
        interior = torch.zeros_like(valid)
        interior[:, 1:-1, 1:-1] = True
        is_peak &= (interior & valid)[:, None]
    t, s, y, x = torch.nonzero(is_peak, as_tuple=True)
    score = tiles[t, s, y, x]
    flat = tiles.reshape(-1, tiles.shape[-2], tiles.shape[-1])
    patch = _neighbourhoods(flat, t * len(kernels) + s, y, x)
    offsets = refine_subpixel(patch, refine)
    px, py = x + off_x[t], y + off_y[t]
    n = chan[t]
    b, j = n // J, n % J
    order = torch.argsort(score, descending=True, stable=True)
    order = order[torch.argsort((b * J + j)[order], stable=True)]
    pixel = torch.stack([px, py], dim=-1)[order]
    peaks = Peaks(b[order], j[order], pixel.to(beliefs.dtype) + offsets[order], pixel, score[order],
                  sigma_t[s[order]])
    return _prune_overlapping(peaks, overlap)


def strongest_peaks(peaks: Peaks, batch_size: int,
                          num_joints: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keep each (b, j) channel's highest-scoring peak.

    Returns (xy (B, J, 2) NaN where none, score (B, J) 0 where none, pixel (B, J, 2)
    int64, -1 where none).
    """
    dev = peaks.xy.device
    xy = torch.full((batch_size, num_joints, 2), float("nan"), dtype=peaks.xy.dtype, device=dev)
    score = torch.zeros(batch_size, num_joints, dtype=peaks.xy.dtype, device=dev)
    pixel = torch.full((batch_size, num_joints, 2), -1, dtype=torch.long, device=dev)
    if len(peaks):
        chan = peaks.batch * num_joints + peaks.channel
        first = torch.ones_like(chan, dtype=torch.bool)
        first[1:] = chan[1:] != chan[:-1]  # peaks are sorted by channel, best first
        b, j = peaks.batch[first], peaks.channel[first]
        xy[b, j], score[b, j], pixel[b, j] = peaks.xy[first], peaks.score[first].to(xy.dtype), peaks.pixel[first]
    return xy, score, pixel
