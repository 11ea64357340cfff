"""Triangles in the batched ray caster: screen rectangles, ray-triangle hits, normals.

:func:`robotpose_lib.render.render` calls these for meshes (URDF robots), next to its
analytic primitives; both feed one per-pixel min-reduction, so meshes, primitives and
distractors occlude each other exactly.

Ray-triangle intersection is Moeller-Trumbore with the ray origin at the camera: for a
ray d = (dx, dy, 1) and a triangle (v0, v1, v2) with e1 = v1 - v0, e2 = v2 - v0,

    det = d . (e2 x e1),   u = d . (v0 x e2) / det,   v = d . (e1 x v0) / det,
    t = e2 . (e1 x v0) / det,

so each triangle reduces to ten numbers and each candidate pixel to three dot products
with (dx, dy, 1) and one division. Because d_z = 1, t is the camera z of the hit: the
depth is exact, with no interpolation. A hit needs u, v >= 0 and u + v <= 1 (a margin of
:data:`EDGE_EPS` closes cracks between neighbouring triangles) and t > near; a miss is
NaN, as in the primitive fast paths. Triangles are two-sided.
"""
from __future__ import annotations

import torch

from .primitives import Triangles

EDGE_EPS = 1e-6   # barycentric margin: a pixel on a shared edge is never missed by both
TRI_TILE = 4      # pixels per row segment: mesh triangles cover few pixels each
# Pixels whose centre lies within this many pixels of a triangle's projected bounding box
# are tested (float error of the projection is ~1e-4 px). Most mesh triangles are smaller
# than a pixel at training sizes; an exact box drops those that cover no pixel centre.
RECT_MARGIN = 0.01


def screen_rects(tris: Triangles, Kt: torch.Tensor, height: int, width: int, near: float,
                 projected: bool = False):
    """Inclusive pixel rectangles (u0, u1, v0, v1) (N,) int64 holding every pixel whose
    ray can hit the triangle beyond ``near``; empty (u1 < u0) when wholly behind it.
    Kt: (N, 3, 3) intrinsics of each triangle's image. A triangle crossing the near plane
    is clipped to it first: its rectangle bounds the vertices in front and the points
    where its edges cross the plane. Also returns whether any triangle crosses it, and
    with ``projected`` the projected corners (u, v) (N, 3) each, for :func:`row_spans`
    and the indices of the triangles crossing the near plane (None if none), whose
    projected corners are meaningless (their rows keep the rectangle)."""
    return rects_of_vertices(torch.stack([tris.v0, tris.v1, tris.v2], 1), Kt, height, width, near, projected)


def rects_of_vertices(verts: torch.Tensor, Kt: torch.Tensor, height: int, width: int, near: float,
                      projected: bool = False):
    """:func:`screen_rects` of triangles given as corners ``verts`` (N, 3, 3)."""
    z = verts[..., 2]
    # u = fx x/z + s y/z + cx, v = fy y/z + cy, elementwise (faster than (N, 3, 3) matmuls)
    k = Kt.reshape(-1, 9)
    inv_z = 1.0 / z.clamp_min(near)
    x, y = verts[..., 0] * inv_z, verts[..., 1] * inv_z
    u = x * k[:, 0:1] + (y * k[:, 1:2] + k[:, 2:3])
    v = y * k[:, 4:5] + k[:, 5:6]
    u_lo, u_hi = u.amin(1), u.amax(1)
    v_lo, v_hi = v.amin(1), v.amax(1)
    visible = (z > near).any(1)
    straddle = (visible & (z <= near).any(1)).nonzero().squeeze(1)
    if straddle.numel():   # rare: only parts of a robot beside or behind the camera
        rect = _clipped_rect(verts.index_select(0, straddle), Kt.index_select(0, straddle), height, width, near)
        for bound, value in zip((u_lo, u_hi, v_lo, v_hi), rect):
            bound.index_copy_(0, straddle, value)
    margin = RECT_MARGIN
    u0 = torch.ceil((u_lo - margin).clamp(-1, width)).long().clamp_min(0)
    u1 = torch.floor((u_hi + margin).clamp(-1, width)).long().clamp_max(width - 1)
    v0 = torch.ceil((v_lo - margin).clamp(-1, height)).long().clamp_min(0)
    v1 = torch.floor((v_hi + margin).clamp(-1, height)).long().clamp_max(height - 1)
    u1 = torch.where(visible, u1, u0 - 1)
    if projected:   # the straddling ones' corners are not those of the clipped polygon
        return u0, u1, v0, v1, bool(straddle.numel()), (u, v, straddle if straddle.numel() else None)
    return u0, u1, v0, v1, bool(straddle.numel())


def row_spans(pu: torch.Tensor, pv: torch.Tensor, row: torch.Tensor, v: torch.Tensor,
              margin: float = RECT_MARGIN):
    """Span (left, right) of pixel columns that can hold a hit of triangle ``row`` (R,)
    on image row ``v`` (R,) int64: the extent along the row of the projected triangle
    (corners ``pu``, ``pv`` (N, 3)) widened by ``margin`` pixels in every direction
    (the same margin as :func:`screen_rects`); left > right when the row misses it.

    The triangle within the band |y - v| <= margin is a convex polygon whose corners are
    the triangle's corners inside the band and the points where its edges cross the band's
    two lines. With the corners sorted by y (a, b, c), one side of the triangle is the
    edge a-c and the other the chain a-b-c, so those points are: both sides at the band's
    lines clipped to [y_a, y_c], and the corners a, b, c when inside the band. Long
    slanted triangles thus test the pixels along their rows instead of their whole
    bounding box. (Per-triangle slopes first; per row a handful of operations.)"""
    sv, idx = pv.sort(1)
    su = pu.gather(1, idx)
    va, vb, vc = sv.unbind(1)
    ua, ub, uc = su.unbind(1)

    def slope(du, dv):   # 0 for a flat edge (its points then come from the corners)
        return torch.where(dv > 0, du / torch.where(dv > 0, dv, torch.ones_like(dv)), torch.zeros_like(dv))

    table = torch.stack([va, vb, vc, ua, ub, uc, slope(uc - ua, vc - va), slope(ub - ua, vb - va),
                         slope(uc - ub, vc - vb)]).index_select(1, row)
    va, vb, vc, ua, ub, uc, k_ac, k_ab, k_bc = table.unbind(0)
    y = v.to(pu.dtype)
    y0, y1 = y - margin, y + margin
    lo, hi = torch.maximum(y0, va), torch.minimum(y1, vc)                  # the band within [y_a, y_c]
    long_lo, long_hi = ua + (lo - va) * k_ac, ua + (hi - va) * k_ac
    chain_lo = torch.where(lo < vb, ua + (lo - va) * k_ab, ub + (lo - vb) * k_bc)
    chain_hi = torch.where(hi < vb, ua + (hi - va) * k_ab, ub + (hi - vb) * k_bc)
    left = torch.minimum(torch.minimum(long_lo, long_hi), torch.minimum(chain_lo, chain_hi))
    right = torch.maximum(torch.maximum(long_lo, long_hi), torch.maximum(chain_lo, chain_hi))
    inf = torch.full_like(left, float("inf"))
    for u_k, v_k in ((ua, va), (ub, vb), (uc, vc)):                       # corners inside the band
        inside = (v_k >= y0) & (v_k <= y1)
        left = torch.minimum(left, torch.where(inside, u_k, inf))
        right = torch.maximum(right, torch.where(inside, u_k, -inf))
    empty = lo > hi
    return torch.where(empty, inf, left - margin), torch.where(empty, -inf, right + margin)


def _clipped_rect(verts: torch.Tensor, Kt: torch.Tensor, height: int, width: int, near: float):
    """(u_lo, u_hi, v_lo, v_hi) of triangles verts (M, 3, 3) clipped to z >= near."""
    a, b = verts, verts.roll(-1, dims=1)                                   # edges a -> b
    za, zb = a[..., 2:3], b[..., 2:3]
    crosses = (za - near) * (zb - near) < 0
    s = ((near - za) / torch.where(crosses, zb - za, torch.ones_like(za))).clamp(0, 1)
    cut = a + s * (b - a)
    cut = torch.cat([cut[..., :2], torch.full_like(za, near)], -1)        # exactly on the plane
    pts = torch.cat([verts, cut], 1)                                       # (M, 6, 3)
    valid = torch.cat([verts[..., 2] > near, crosses[..., 0]], 1)         # (M, 6)
    h = pts @ Kt.transpose(-1, -2)
    big = float(4 * (width + height))
    uv = (h[..., :2] / h[..., 2:3].clamp_min(near)).clamp(-big, big)
    inf = torch.full_like(uv[..., 0], float("inf"))
    return (torch.where(valid, uv[..., 0], inf).amin(1), torch.where(valid, uv[..., 0], -inf).amax(1),
            torch.where(valid, uv[..., 1], inf).amin(1), torch.where(valid, uv[..., 1], -inf).amax(1))


def front_facing(prm: torch.Tensor, tris: Triangles) -> torch.Tensor:
    """(N,) bool: the triangle's counter-clockwise side faces the camera (at the origin).
    prm: :func:`hit_params` of ``tris`` (its first rows are e2 x e1)."""
    return (prm[0] * tris.v0[:, 0] + prm[1] * tris.v0[:, 1] + prm[2] * tris.v0[:, 2]) > 0


def hit_params(tris: Triangles) -> torch.Tensor:
    """(10, N) per-triangle rows: e2 x e1, v0 x e2, e1 x v0 (3 each) and t's numerator."""
    return hit_params_of(tris.v0, tris.v1, tris.v2)


def hit_params_of(v0: torch.Tensor, v1: torch.Tensor, v2: torch.Tensor) -> torch.Tensor:
    """:func:`hit_params` of triangles given by their corners (N, 3) each."""
    e1, e2 = v1 - v0, v2 - v0
    n = torch.cross(e2, e1, dim=1)
    a = torch.cross(v0, e2, dim=1)
    q = torch.cross(e1, v0, dim=1)
    c = (e2 * q).sum(1, keepdim=True)
    return torch.cat([n, a, q, c], 1).T.contiguous()


def front_facing_of(v0: torch.Tensor, v1: torch.Tensor, v2: torch.Tensor) -> torch.Tensor:
    """:func:`front_facing` from the corners (N, 3) each (the same arithmetic, so the same
    decisions)."""
    n = torch.cross(v2 - v0, v1 - v0, dim=1)
    return (n[:, 0] * v0[:, 0] + n[:, 1] * v0[:, 1] + n[:, 2] * v0[:, 2]) > 0


def hit_t(dx: torch.Tensor, dy: torch.Tensor, prm, near: float | None) -> torch.Tensor:
    """Camera z of the hit of rays (dx, dy, 1) (dx (T, S), dy (1, S)) with triangles
    (``prm``: the ten rows of :func:`hit_params`, each (1, S)); NaN where missed.
    ``near``: also a miss at t <= near (needed only when a triangle crosses the near plane;
    None skips the test). In-place arithmetic: this is the renderer's inner loop."""
    nx, ny, nz, ax, ay, az, qx, qy, qz, c = prm
    inv = torch.mul(dx, nx).add_(ny * dy + nz).reciprocal_()
    u = torch.mul(dx, ax).add_(ay * dy + az).mul_(inv)
    v = torch.mul(dx, qx).add_(qy * dy + qz).mul_(inv)
    inside = torch.add(u, v).neg_().add_(1.0)                               # w = 1 - u - v
    torch.minimum(inside, torch.minimum(u, v, out=u), out=inside).add_(EDGE_EPS)
    t = inv.mul_(c)
    if near is not None:
        torch.minimum(inside, t - near, out=inside)
    return t.masked_fill_(inside < 0, float("nan"))   # (measured: faster than sqrt tricks here)


def barycentrics(prm: torch.Tensor, index: torch.Tensor, dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """(3, M) barycentric coordinates (w, u, v) of the hits of rays (dx, dy, 1) (each (M,))
    with triangles ``index`` (M,) (``prm``: :func:`hit_params` of all triangles), each
    clamped to [0, 1] (the hit test's edge margin lets a hit fall just outside)."""
    nx, ny, nz, ax, ay, az, qx, qy, qz, _ = prm.index_select(1, index)
    inv = 1.0 / (nx * dx + ny * dy + nz)
    u = ((ax * dx + ay * dy + az) * inv).clamp(0, 1)
    v = ((qx * dx + qy * dy + qz) * inv).clamp(0, 1)
    w = (1.0 - u - v).clamp_min(0)
    return torch.stack([w, u, v])


def normals(tris: Triangles, prm: torch.Tensor, index: torch.Tensor, dx: torch.Tensor,
            dy: torch.Tensor, interpolate=None, prm_index: torch.Tensor | None = None) -> torch.Tensor:
    """(3, M) unit normals at the hits of rays (dx, dy, 1) (each (M,)) with triangles
    ``index`` (M,) (``prm``: :func:`hit_params` of all ``tris``, or of some of them with
    ``prm_index`` (M,) the hit triangles' columns in it): the corner normals interpolated
    barycentrically (smooth shading). ``interpolate``: optional function (index,
    bary (3, M)) -> (3, M) that interpolates instead of ``tris.n0..n2``."""
    bary = barycentrics(prm, index if prm_index is None else prm_index, dx, dy)
    if interpolate is not None:
        n = interpolate(index, bary)
    else:
        w, u, v = bary
        n = (w[:, None] * tris.n0.index_select(0, index) + u[:, None] * tris.n1.index_select(0, index)
             + v[:, None] * tris.n2.index_select(0, index)).T
    return n * torch.rsqrt((n * n).sum(0, keepdim=True).clamp_min(1e-24))
