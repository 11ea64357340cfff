"""A batched analytic ray caster for :class:`~robotpose_lib.primitives.Primitives`.

Every camera ray ``d = K^-1 [u, v, 1]`` (pixel centres at integer (u, v), camera at the
origin, OpenCV frame) is intersected in closed form with spheres, capsules, cylinders
with flat caps and oriented boxes (slab method). Because ``d_z = 1`` the ray parameter
``t`` *is* the camera z of the hit, so depth needs no extra work.

How it stays fast on a CPU (no Python loop over primitives):

1. Culling: each primitive gets a conservative screen rectangle (exact bounding box of
   the projected end spheres for spheres/capsules/cylinders, of the 8 projected corners
   for boxes; the whole image axis when the bound straddles the camera plane).
2. Candidate pixels: the rectangles are cut into row segments of ``TILE`` pixels, built
   for all primitives at once with ``repeat_interleave``. Per-pixel tensors are
   (TILE, S): per-segment values broadcast along contiguous memory.
3. ``t`` of the nearest hit is computed per kind on contiguous slices (primitives are
   sorted by kind and by whether they cross the near plane). Primitives wholly beyond
   the near plane take branch-free float-only paths (a miss is a NaN); the few that
   cross it take general paths that also compute the exit point.
4. The per-pixel winner comes from one ``scatter_reduce('amin')`` over an int64 key
   ``(float bits of t) << 32 | primitive index``: positive floats order like their bit
   patterns, so this gives the nearest hit and breaks exact ties by the lowest primitive
   index, deterministically. Misses are positive NaN, whose bits sort above +inf.
5. Normals are computed only for the winning primitive of each covered pixel, from the
   hit point.

A primitive is a solid: when the camera is inside it (or its front is closer than
``near``) the pixel shows the far side (the exit point), with the normal flipped to face
the camera. The same code runs on CUDA.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import torch

from .camera import validate_K
from . import render_triangles
from .primitives import BOX, CAPSULE, CYLINDER, SPHERE, Primitives, Triangles

__all__ = ["RenderHits", "RenderOutput", "render"]

_INF = float("inf")
_NAN = float("nan")
_KEY_SHIFT = 32
_IDX_MASK = (1 << _KEY_SHIFT) - 1
_LITTLE_ENDIAN = sys.byteorder == "little"


@dataclass
class RenderOutput:
    """Per-pixel ray-casting result for B images of H x W.

    depth: float32 (B, H, W) metres, camera z of the nearest hit, 0 where nothing is hit.
    instance: int64 (B, H, W) ``instance_id`` of the hit primitive, -1 for background
        (None with normals="hits": ``hits`` has the ids of the covered pixels).
    link: int64 (B, H, W) ``link_id`` of the hit primitive, -1 for background (None
        with normals="hits").
    normal: float32 (B, H, W, 3) unit surface normal in the camera frame, facing the
        camera (n . ray < 0); zeros for background. None when rendered with normals=False
        or normals="hits".
    hits: with normals="hits", the covered pixels only (:class:`RenderHits`); else None.
    """

    depth: torch.Tensor
    instance: torch.Tensor
    link: torch.Tensor
    normal: torch.Tensor
    hits: "RenderHits | None" = None

    @property
    def mask(self) -> torch.Tensor:
        """bool (B, H, W): a primitive was hit."""
        if self.instance is None:
            return torch.zeros(self.depth.shape, dtype=torch.bool, device=self.depth.device).view(-1).index_fill_(
                0, self.hits.pixel, True).view(self.depth.shape)
        return self.instance >= 0


@dataclass
class RenderHits:
    """The M covered pixels of a render, compactly (what shading needs, without the
    (B, H, W, 3) normal image).

    pixel: int64 (M,) flat indices into (B, H, W), ascending (so each image's pixels are
        one contiguous run). instance, link: int64 (M,) as in the images at those pixels.
    normal: float32 (3, M) unit normals facing the camera.
    ray: float32 (2, M) (dx, dy) of each pixel's ray (dx, dy, 1) (camera frame).
    """

    pixel: torch.Tensor
    instance: torch.Tensor
    link: torch.Tensor
    normal: torch.Tensor
    ray: torch.Tensor


# ----------------------------------------------------------------------------- bounds


def _sphere_axis_bounds(a: torch.Tensor, z: torch.Tensor, r: torch.Tensor):
    """Range of a/z over a disc of radius r centred at (a, z) in a plane through the
    camera (exact tangent-line bound). Returns (lo, hi, bounded)."""
    d = torch.sqrt(a * a + z * z)
    inside = d <= r * (1 + 1e-6)
    alpha = torch.atan2(a, z)
    beta = torch.asin((r / d.clamp_min(1e-12)).clamp(max=1.0))
    lo, hi = alpha - beta, alpha + beta
    limit = torch.pi / 2 - 1e-4
    bounded = (~inside) & (lo > -limit) & (hi < limit)
    lo = torch.tan(lo.clamp(-limit, limit))
    hi = torch.tan(hi.clamp(-limit, limit))
    return lo, hi, bounded


def _sphere_pixel_bounds(c: torch.Tensor, r: torch.Tensor, K: torch.Tensor):
    """Pixel bounds (u_lo, u_hi, v_lo, v_hi, bounded_u, bounded_v) of spheres c (M, 3),
    r (M,) seen with per-sphere K (M, 3, 3)."""
    alo, ahi, abd = _sphere_axis_bounds(c[:, 0], c[:, 2], r)
    blo, bhi, bbd = _sphere_axis_bounds(c[:, 1], c[:, 2], r)
    fx, s, cx = K[:, 0, 0], K[:, 0, 1], K[:, 0, 2]
    fy, cy = K[:, 1, 1], K[:, 1, 2]
    # u = fx * a + s * b + cx by interval arithmetic (exact when the skew s is 0)
    sb_lo = torch.minimum(s * blo, s * bhi)
    sb_hi = torch.maximum(s * blo, s * bhi)
    u_lo, u_hi = fx * alo + sb_lo + cx, fx * ahi + sb_hi + cx
    v_lo, v_hi = fy * blo + cy, fy * bhi + cy
    bounded_u = abd & (bbd | (s == 0))
    return u_lo, u_hi, v_lo, v_hi, bounded_u, bbd


def _box_corners(p: Primitives) -> torch.Tensor:
    """(N, 8, 3) corners of the boxes in p."""
    signs = torch.tensor([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)],
                         dtype=p.p0.dtype, device=p.p0.device)
    local = signs[None] * p.half_extents[:, None, :]
    return p.p0[:, None, :] + local @ p.rotation.transpose(-1, -2)


def _screen_rects(p: Primitives, Kp: torch.Tensor, height: int, width: int, near: float):
    """Inclusive integer pixel rectangles (u0, u1, v0, v1) (N,) that contain every pixel
    whose ray can hit the primitive at z > near; empty (u1 < u0) when culled.
    Kp: (N, 3, 3) intrinsics of each primitive's image.

    Also returns ``hull``: (ok (N,) bool, ends (N, 8) float) with the bounding rectangles
    of the two end spheres (u_lo, u_hi, v_lo, v_hi per end, half a pixel wider) of round
    primitives wholly in front of the camera. The primitive's projection lies in the
    convex hull of these two rectangles, which gives tighter per-row spans for long,
    slanted capsules and cylinders (see :func:`_hull_row_span`)."""
    n = len(p)
    dev, dt = p.p0.device, p.p0.dtype
    hull_ok = torch.zeros(n, dtype=torch.bool, device=dev)
    ends = torch.zeros(n, 8, device=dev, dtype=dt)
    u_lo = torch.full((n,), -1.0, device=dev, dtype=dt)
    u_hi = torch.full((n,), float(width), device=dev, dtype=dt)
    v_lo = torch.full((n,), -1.0, device=dev, dtype=dt)
    v_hi = torch.full((n,), float(height), device=dev, dtype=dt)
    visible = torch.ones(n, dtype=torch.bool, device=dev)

    # Spheres, capsules, cylinders: union of the bounds of the two end spheres (the
    # projection of a convex hull is the hull of the projections; a cylinder lies inside
    # its capsule). A sphere has p1 ignored, so both "ends" are p0.
    round_ = p.kind != BOX
    if round_.any():
        idx = round_.nonzero().squeeze(1)
        k = p.kind[idx]
        c0 = p.p0[idx]
        c1 = torch.where((k == SPHERE)[:, None], c0, p.p1[idx])
        r = p.radius[idx]
        Ki = Kp[idx]
        b0 = _sphere_pixel_bounds(c0, r, Ki)
        b1 = _sphere_pixel_bounds(c1, r, Ki)
        ulo = torch.minimum(b0[0], b1[0])
        uhi = torch.maximum(b0[1], b1[1])
        vlo = torch.minimum(b0[2], b1[2])
        vhi = torch.maximum(b0[3], b1[3])
        bu = b0[4] & b1[4]
        bv = b0[5] & b1[5]
        u_lo[idx] = torch.where(bu, ulo, u_lo[idx])
        u_hi[idx] = torch.where(bu, uhi, u_hi[idx])
        v_lo[idx] = torch.where(bv, vlo, v_lo[idx])
        v_hi[idx] = torch.where(bv, vhi, v_hi[idx])
        visible[idx] = torch.maximum(c0[:, 2], c1[:, 2]) + r > near
        hull_ok[idx] = bu & bv & (k != SPHERE)
        m = 0.5
        ends[idx] = torch.stack([b0[0] - m, b0[1] + m, b0[2] - m, b0[3] + m,
                                 b1[0] - m, b1[1] + m, b1[2] - m, b1[3] + m], 1)

    boxes = p.kind == BOX
    if boxes.any():
        idx = boxes.nonzero().squeeze(1)
        pb = p.select(idx)
        Ki = Kp[idx]
        corners = _box_corners(pb)  # (M, 8, 3)
        z = corners[..., 2]
        in_front = (z > near).all(dim=1)
        h = corners @ Ki.transpose(-1, -2)
        uv = h[..., :2] / h[..., 2:3].clamp_min(near)
        c_ulo, c_uhi = uv[..., 0].amin(1), uv[..., 0].amax(1)
        c_vlo, c_vhi = uv[..., 1].amin(1), uv[..., 1].amax(1)
        # Straddling the near plane: fall back to the bounding sphere.
        s = _sphere_pixel_bounds(pb.p0, pb.half_extents.norm(dim=1), Ki)
        ulo = torch.where(in_front, c_ulo, torch.where(s[4], s[0], u_lo[idx]))
        uhi = torch.where(in_front, c_uhi, torch.where(s[4], s[1], u_hi[idx]))
        vlo = torch.where(in_front, c_vlo, torch.where(s[5], s[2], v_lo[idx]))
        vhi = torch.where(in_front, c_vhi, torch.where(s[5], s[3], v_hi[idx]))
        u_lo[idx], u_hi[idx], v_lo[idx], v_hi[idx] = ulo, uhi, vlo, vhi
        visible[idx] = (z > near).any(dim=1)

    # Half a pixel of margin against float error in the bounds; clamp before rounding.
    margin = 0.5
    u0 = torch.ceil((u_lo - margin).clamp(-1, width)).long().clamp_min(0)
    u1 = torch.floor((u_hi + margin).clamp(-1, width)).long().clamp_max(width - 1)
    v0 = torch.ceil((v_lo - margin).clamp(-1, height)).long().clamp_min(0)
    v1 = torch.floor((v_hi + margin).clamp(-1, height)).long().clamp_max(height - 1)
    u1 = torch.where(visible, u1, u0 - 1)
    return u0, u1, v0, v1, (hull_ok, ends)


def _hull_row_span(ends: torch.Tensor, v: torch.Tensor):
    """Span (left, right) at image row v (R,) of the convex hull of two axis-aligned
    rectangles ends (R, 8) = (u_lo, u_hi, v_lo, v_hi) of rectangle 0 then 1.

    Hull points are (1 - l) p + l q with p, q in the rectangles; at row v the feasible
    l form an interval and the extreme u are linear in l, so they sit at its ends.
    An empty row gives left > right."""
    ul0, uh0, a0, a1, ul1, uh1, b0, b1 = ends.unbind(1)
    inf = torch.full_like(v, _INF)
    lam_lo, lam_hi = torch.zeros_like(v), torch.ones_like(v)
    # (1 - l) a0 + l b0 <= v   and   (1 - l) a1 + l b1 >= v
    for base, slope, upper in ((a0, b0 - a0, True), (a1, b1 - a1, False)):
        ratio = (v - base) / torch.where(slope == 0, torch.ones_like(slope), slope)
        ok_const = (base <= v) if upper else (base >= v)
        bound_hi = torch.where(slope > 0, ratio, inf) if upper else torch.where(slope < 0, ratio, inf)
        bound_lo = torch.where(slope < 0, ratio, -inf) if upper else torch.where(slope > 0, ratio, -inf)
        bound_lo = torch.where((slope == 0) & ~ok_const, inf, bound_lo)
        lam_lo = torch.maximum(lam_lo, bound_lo)
        lam_hi = torch.minimum(lam_hi, bound_hi)
    lam_lo_c = lam_lo.clamp(0.0, 1.0)
    lam_hi_c = lam_hi.clamp(0.0, 1.0)
    left = torch.minimum(ul0 + lam_lo_c * (ul1 - ul0), ul0 + lam_hi_c * (ul1 - ul0))
    right = torch.maximum(uh0 + lam_lo_c * (uh1 - uh0), uh0 + lam_hi_c * (uh1 - uh0))
    empty = lam_lo > lam_hi
    return torch.where(empty, inf, left), torch.where(empty, -inf, right)


# ----------------------------------------------------------------------- intersections
# Rays are (dx, dy, 1). Candidate pixels come in row segments of TILE consecutive pixels:
# tensors are (TILE, S) with per-segment values (1, S), so every per-pixel operation is a
# broadcast float op along contiguous memory (bool/int/where kernels are several times
# slower than float arithmetic on CPU, so the fast paths avoid them: a miss is a NaN).
#
# Fast paths ("front"): the primitive lies entirely beyond the near plane, so any hit has
# t > near and only the entry point is needed. General paths ("straddle"): the primitive
# may cross the near plane; they compute entry and exit and keep the first one > near.


def _sphere_entry(b, dd, C):
    """Entry t of ray (dx, dy, 1) into a sphere with d.c = b, C = |c|^2 - r^2; NaN if missed."""
    return (b - torch.sqrt(b * b - dd * C)) / dd


def _front_sphere(dx, dy, dd, prm):
    cx, cy, cz, C = prm
    return _sphere_entry(cx * dx + (cy * dy + cz), dd, C)


def _front_capsule(dx, dy, dd, prm):
    # Entry into the infinite cylinder, then the sphere centred at the closest axis point
    # clamp(s, 0, L): on the body that sphere touches the same point, past an end it is
    # the end cap (iq's capsule test without branches).
    ax, ay, az, qx, qy, qz, Cc, e, L, px, py, pz, Cs0 = prm[:13]
    da = ax * dx + (ay * dy + az)
    A = dd - da * da
    B = qx * dx + (qy * dy + qz)
    t_body = Cc / (B + torch.sqrt(B * B - A * Cc))  # stable smaller root
    s = torch.minimum((t_body * da - e).clamp_min(0.0), L)
    b = (px * dx + (py * dy + pz)) + s * da
    C = Cs0 + s * (2.0 * e + s)
    return _sphere_entry(b, dd, C)


def _miss_if_empty(t_enter, t_exit):
    """t_enter where the interval is non-empty, NaN otherwise (sqrt(-0) = -0)."""
    return t_enter + torch.sqrt(-(t_enter - t_exit).clamp_min(0.0))


def _cyl_front_interval(dx, dy, dd, prm):
    ax, ay, az, qx, qy, qz, Cc, e, L = prm[:9]
    da = ax * dx + (ay * dy + az)
    A = dd - da * da
    B = qx * dx + (qy * dy + qz)
    q = B + torch.sqrt(B * B - A * Cc)
    # ray parallel to the axis inside the cylinder: q = A = 0, the body spans all t
    t_in, t_out = Cc / q, torch.nan_to_num(q / A, nan=_INF)
    ta, tb = e / da, (e + L) / da
    return torch.maximum(t_in, torch.minimum(ta, tb)), torch.minimum(t_out, torch.maximum(ta, tb))


def _front_cylinder(dx, dy, dd, prm):
    return _miss_if_empty(*_cyl_front_interval(dx, dy, dd, prm))


def _box_interval(dx, dy, prm):
    t_enter = t_exit = None
    for k in range(3):
        inv = 1.0 / (prm[k] * dx + (prm[3 + k] * dy + prm[6 + k]))  # 1 / (R^T d)_k
        t1, t2 = prm[9 + k] * inv, prm[12 + k] * inv
        tmin, tmax = torch.minimum(t1, t2), torch.maximum(t1, t2)
        t_enter = tmin if t_enter is None else torch.maximum(t_enter, tmin)
        t_exit = tmax if t_exit is None else torch.minimum(t_exit, tmax)
    return t_enter, t_exit


def _front_box(dx, dy, dd, prm):
    return _miss_if_empty(*_box_interval(dx, dy, prm))


def _pick(t_in, t_out, hit, near):
    t = torch.where(t_in > near, t_in, t_out)
    return torch.where(hit & (t > near), t, torch.full_like(t, _NAN))


def _sphere_roots(b, dd, C):
    disc = b * b - dd * C
    sq = torch.sqrt(disc.clamp_min(0))
    return (b - sq) / dd, (b + sq) / dd, disc >= 0


def _general_sphere(dx, dy, dd, prm, near):
    cx, cy, cz, C = prm
    return _pick(*_sphere_roots(cx * dx + cy * dy + cz, dd, C), near)


def _cyl_body_roots(dx, dy, dd, prm):
    ax, ay, az, qx, qy, qz, Cc = prm[:7]
    da = ax * dx + ay * dy + az
    A = dd - da * da
    B = qx * dx + qy * dy + qz
    disc = B * B - A * Cc
    sq = torch.sqrt(disc.clamp_min(0))
    q = B + torch.where(B >= 0, sq, -sq)
    r1, r2 = Cc / q, q / A
    return torch.minimum(r1, r2), torch.maximum(r1, r2), disc >= 0, da


def _general_capsule(dx, dy, dd, prm, near):
    e, L, px, py, pz, Cs0 = prm[7:13]
    t_in, t_out, hit, da = _cyl_body_roots(dx, dy, dd, prm)
    b0 = px * dx + py * dy + pz
    t_ends = []
    for t_body, root in ((t_in, 0), (t_out, 1)):  # entry and exit, each via its end sphere
        s = torch.minimum((t_body * da - e).clamp_min(0.0), L)
        roots = _sphere_roots(b0 + s * da, dd, Cs0 + s * (2.0 * e + s))
        t_ends.append(torch.where(roots[2], roots[root], torch.full_like(dx, _INF * (1 - 2 * root))))
    return _pick(t_ends[0], t_ends[1], hit & (t_ends[0] <= t_ends[1]), near)


def _general_cylinder(dx, dy, dd, prm, near):
    e, L = prm[7:9]
    t_in, t_out, hit, da = _cyl_body_roots(dx, dy, dd, prm)
    Cc = prm[6]
    parallel = ~torch.isfinite(t_in) | ~torch.isfinite(t_out)
    t_in = torch.where(parallel, torch.full_like(t_in, -_INF), t_in)
    t_out = torch.where(parallel, torch.full_like(t_out, _INF), t_out)
    hit = torch.where(parallel, Cc <= 0, hit)
    safe = torch.where(da.abs() < 1e-12, torch.full_like(da, 1e-12), da)
    ta, tb = e / safe, (e + L) / safe
    lo = torch.maximum(t_in, torch.minimum(ta, tb))
    hi = torch.minimum(t_out, torch.maximum(ta, tb))
    return _pick(lo, hi, hit & (lo <= hi), near)


def _general_box(dx, dy, dd, prm, near):
    t_enter, t_exit = _box_interval(dx, dy, prm)
    return _pick(t_enter, t_exit, t_enter <= t_exit, near)


def _kind_params(p: Primitives, kind: int) -> torch.Tensor:
    """Per-primitive parameter table (k, M) for the primitives of one kind."""
    if kind == SPHERE:
        c = p.p0
        return torch.stack([c[:, 0], c[:, 1], c[:, 2], (c * c).sum(1) - p.radius ** 2])
    if kind == BOX:
        R = p.rotation.reshape(-1, 9)  # R[i][k] at 3 i + k
        o = -(p.rotation.transpose(-1, -2) @ p.p0.unsqueeze(-1)).squeeze(-1)
        h = p.half_extents
        # .contiguous(): cat of transposed pieces keeps their column-major layout
        return torch.cat([R.T, (-h - o).T, (h - o).T]).contiguous()
    axis = p.p1 - p.p0
    L = axis.norm(dim=1)
    a = axis / L.clamp_min(1e-12)[:, None]
    e = (p.p0 * a).sum(1)
    q = p.p0 - e[:, None] * a
    r2 = p.radius ** 2
    Cc = (q * q).sum(1) - r2
    rows = [a[:, 0], a[:, 1], a[:, 2], q[:, 0], q[:, 1], q[:, 2], Cc, e, L]
    if kind == CAPSULE:
        rows += [p.p0[:, 0], p.p0[:, 1], p.p0[:, 2], (p.p0 ** 2).sum(1) - r2]
    return torch.stack(rows)


_FRONT = {SPHERE: _front_sphere, CAPSULE: _front_capsule, CYLINDER: _front_cylinder, BOX: _front_box}
_GENERAL = {SPHERE: _general_sphere, CAPSULE: _general_capsule, CYLINDER: _general_cylinder,
            BOX: _general_box}


def _min_z(p: Primitives) -> torch.Tensor:
    """(N,) a lower bound of camera z over each primitive."""
    round_z = torch.minimum(p.p0[:, 2], torch.where(p.kind == SPHERE, p.p0[:, 2], p.p1[:, 2])) - p.radius
    box_z = p.p0[:, 2] - (p.rotation[:, 2, :].abs() * p.half_extents).sum(1)
    return torch.where(p.kind == BOX, box_z, round_z)


# ----------------------------------------------------------------------------- normals


def _normal_table(prims: Primitives, kind: int) -> torch.Tensor:
    """Per-primitive rows (k, N) used by :func:`_normals` for one kind."""
    if kind == BOX:
        return torch.cat([prims.p0.T, prims.rotation.reshape(-1, 9).T,
                          prims.half_extents.T.clamp_min(1e-12)]).contiguous()
    p1 = torch.where((prims.kind == SPHERE)[:, None], prims.p0, prims.p1)
    axis = p1 - prims.p0
    L = axis.norm(dim=1)
    a = axis / L.clamp_min(1e-12)[:, None]
    return torch.cat([prims.p0.T, a.T, L[None], prims.radius[None]]).contiguous()


def _normals(prims: Primitives, prim: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
             z: torch.Tensor) -> torch.Tensor:
    """Outward unit normals (3, M) at surface points (x, y, z) (each (M,)) of primitives
    ``prim`` (M,) (indices into ``prims``). Spheres and capsules: away from the closest
    axis point; cylinders: cap or side, whichever surface the point is closer to; boxes:
    the face with the largest |local coordinate| / half extent. Computed per kind group on
    contiguous rows (structure of arrays), which is what is fast on a CPU."""
    n = None
    group = torch.where(prims.kind == SPHERE, CAPSULE, prims.kind)  # a sphere is a capsule with L = 0
    counts = torch.bincount(group, minlength=4).tolist()  # primitives per group (cheap, N)
    # The group with the most primitives is computed on all points (no partition: gathers
    # cost more than the arithmetic); the other groups then overwrite their own points.
    order = sorted((k for k in (CAPSULE, CYLINDER, BOX) if counts[k]), key=lambda k: -counts[k])
    point_group = group.index_select(0, prim) if len(order) > 1 else None
    packed = None
    for k in order:
        if n is None:
            sel, rx, ry, rz, idx = None, x, y, z, prim
        else:
            sel = (point_group == k).nonzero().squeeze(1)
            if sel.numel() == 0:
                continue
            if packed is None:
                packed = torch.stack([x, y, z])
            rx, ry, rz = packed.index_select(1, sel).unbind(0)
            idx = prim.index_select(0, sel)
        c = _normal_table(prims, k).index_select(1, idx).unbind(0)
        rx, ry, rz = rx - c[0], ry - c[1], rz - c[2]
        if k == BOX:
            R, h = c[3:12], c[12:15]
            q = [rx * R[j] + ry * R[3 + j] + rz * R[6 + j] for j in range(3)]  # local coords
            ratio = [q[j].abs() / h[j] for j in range(3)]
            top = torch.maximum(torch.maximum(ratio[0], ratio[1]), ratio[2])
            w = [torch.sign(q[j]) * (ratio[j] >= top) for j in range(3)]
            nx = w[0] * R[0] + w[1] * R[1] + w[2] * R[2]
            ny = w[0] * R[3] + w[1] * R[4] + w[2] * R[5]
            nz = w[0] * R[6] + w[1] * R[7] + w[2] * R[8]
        else:
            ax, ay, az, L, r = c[3:]
            s = rx * ax + ry * ay + rz * az
            if k == CYLINDER:
                sx, sy, sz = rx - s * ax, ry - s * ay, rz - s * az  # radial part
                rho = torch.sqrt(sx * sx + sy * sy + sz * sz)
                on_cap = torch.minimum(s.abs(), (L - s).abs()) < (rho - r).abs()
                cap_sign = torch.where(s < 0.5 * L, -1.0, 1.0)
                nx = torch.where(on_cap, cap_sign * ax, sx)
                ny = torch.where(on_cap, cap_sign * ay, sy)
                nz = torch.where(on_cap, cap_sign * az, sz)
            else:  # sphere (L = 0) and capsule
                s = torch.minimum(s.clamp_min(0.0), L)
                nx, ny, nz = rx - s * ax, ry - s * ay, rz - s * az
        inv = torch.rsqrt((nx * nx + ny * ny + nz * nz).clamp_min(1e-24))
        res = torch.stack([nx * inv, ny * inv, nz * inv])
        if sel is None:
            n = res
        else:
            n.index_copy_(1, sel, res)
    return n


# ------------------------------------------------------------------------------ render

TILE = 16  # pixels per row segment


def _segments(u0, u1, v0, v1, width: int, tile: int, hull=None, spans=None):
    """Row segments of ``tile`` pixels covering the rectangles (inclusive bounds).

    hull: optional (ok (N,), ends (N, 8)) from :func:`_screen_rects`; rows of primitives
    with ok set are narrowed to the hull span of their end rectangles.
    spans: optional function (row_prim, v_row, lo, hi) -> (lo, hi) narrowing each row's
    inclusive pixel range (:func:`_triangle_spans`).
    Returns seg_prim (S,) primitive index, u_start (S,), v (S,) (int64) and the number of
    segments per primitive (N,). A segment that would run past the right image border is
    shifted left, so every lane is a real pixel (a pixel tested twice by one primitive is
    harmless for a min-reduction)."""
    dev = u0.device
    n = u0.shape[0]
    w = (u1 - u0 + 1).clamp_min(0)
    h = torch.where(w > 0, (v1 - v0 + 1).clamp_min(0), torch.zeros_like(w))
    row_prim = torch.repeat_interleave(torch.arange(n, device=dev), h)
    pick = lambda x, i: x.index_select(0, i)  # noqa: E731  (much faster than x[i] on CPU)
    v_row = pick(v0 - (torch.cumsum(h, 0) - h), row_prim) + torch.arange(row_prim.shape[0], device=dev)
    lo, hi = pick(u0, row_prim), pick(u1, row_prim)
    if hull is not None and bool(hull[0].any()):
        ok = pick(hull[0], row_prim)
        left, right = _hull_row_span(pick(hull[1], row_prim), v_row.to(hull[1].dtype))
        lo = torch.where(ok, torch.maximum(lo, torch.ceil(left.clamp(-1, width)).long()), lo)
        hi = torch.where(ok, torch.minimum(hi, torch.floor(right.clamp(-1, width)).long()), hi)
    if spans is not None:
        lo, hi = spans(row_prim, v_row, lo, hi)
    per_row = (hi - lo + 1).clamp_min(0) + (tile - 1)
    # segments per row; a shift for a power-of-two tile (int64 division is ten times slower)
    per_row = per_row >> (tile.bit_length() - 1) if tile & (tile - 1) == 0 else per_row // tile
    seg_row = torch.repeat_interleave(torch.arange(row_prim.shape[0], device=dev), per_row)
    local = torch.arange(seg_row.shape[0], device=dev) - pick(torch.cumsum(per_row, 0) - per_row, seg_row)
    u_start = (pick(lo, seg_row) + local * tile).clamp_max(width - tile)
    count = torch.zeros(n, dtype=torch.long, device=dev).index_add_(0, row_prim, per_row)
    return pick(row_prim, seg_row), u_start, pick(v_row, seg_row), count


STAGE_TIMES: dict | None = None  # set to {} to collect process-CPU seconds per stage


class _Stages:
    """Adds CPU time since the last call to STAGE_TIMES[name] (no-op unless enabled)."""

    def __init__(self):
        self.last = time.process_time() if STAGE_TIMES is not None else 0.0

    def __call__(self, name: str):
        if STAGE_TIMES is not None:
            now = time.process_time()
            STAGE_TIMES[name] = STAGE_TIMES.get(name, 0.0) + now - self.last
            self.last = now


def _as_float32(p, device):
    """Primitives or Triangles with float fields as float32 on ``device``."""
    return type(p)(**{f: (getattr(p, f).to(device, torch.float32) if getattr(p, f).is_floating_point()
                          else getattr(p, f).to(device)) for f in p.__dataclass_fields__})


def render(prims: Primitives | None, K: torch.Tensor, height: int, width: int,
           batch_size: int | None = None, near: float = 0.01, cull: bool = True,
           normals: bool | str = True, triangles: Triangles | None = None,
           cull_back_faces: bool = False, triangle_normals=None) -> RenderOutput:
    """Ray-cast primitives and triangles given in the camera frame.

    prims: Primitives with ``image_index`` in [0, batch_size), camera frame, metres
        (None or empty: none).
    K: (3, 3) shared or (B, 3, 3) per image. height, width: image size in pixels.
    batch_size: B (default: K's batch size, else max image_index + 1, at least 1).
    near: hits with camera z <= near (metres) are ignored (clipping plane).
    cull: test only the rays inside each primitive's projected screen rectangle; False
        tests every pixel against every primitive (reference path for tests; triangles
        are always culled by their exact screen rectangle).
    normals: False skips the normal computation (about a third of the CPU time) and
        returns ``normal=None``; "hits" returns ids, normals and rays of the covered
        pixels only (``hits``, see :class:`RenderHits`) instead of the instance, link and
        normal images (None).
    triangles: mesh triangles (:class:`Triangles`, camera frame), drawn in the same pass
        (see :mod:`robotpose_lib.render_triangles`).
    cull_back_faces: skip triangles whose counter-clockwise side faces away from the
        camera (half the work; exact for closed, consistently wound meshes, as pybullet's
        renderer does).
    triangle_normals: optional function (index (M,), bary (3, M)) -> (3, M) giving the
        (unnormalised) normal at barycentric coordinates (w, u, v) of triangles
        ``index``, for callers whose triangles carry no corner normals (see
        :meth:`URDFRobot.triangles`); default: interpolate ``triangles.n0..n2``.
    Returns RenderOutput (see its docstring). Deterministic; exact ties in depth go to
    the lowest index, primitives before triangles.
    """
    validate_K(K, batch=True)
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got height={height} width={width}")
    if prims is None:
        prims = Primitives.empty(triangles.device if triangles is not None else None)
    if triangles is None:
        triangles = Triangles.empty(prims.device)
    dev = prims.device if len(prims) else triangles.device
    if batch_size is None:
        if K.dim() == 3:
            batch_size = K.shape[0]
        else:
            batch_size = max([int(x.image_index.max()) + 1 for x in (prims, triangles) if len(x)], default=1)
    B = int(batch_size)
    for name, x in (("prims", prims), ("triangles", triangles)):
        if len(x) and (int(x.image_index.min()) < 0 or int(x.image_index.max()) >= B):
            raise ValueError(f"{name}.image_index must lie in [0, {B}), got range "
                             f"[{int(x.image_index.min())}, {int(x.image_index.max())}]")
    if len(prims) + len(triangles) > _IDX_MASK:
        raise ValueError(f"too many primitives and triangles ({len(prims) + len(triangles)})")
    Kb = K.to(dev, torch.float32)
    Kb = Kb.expand(B, 3, 3) if Kb.dim() == 2 else Kb
    if Kb.shape[0] != B:
        raise ValueError(f"K has batch size {Kb.shape[0]} but batch_size is {B}")
    if normals not in (True, False, "hits"):
        raise ValueError(f"normals must be True, False or 'hits', got {normals!r}")
    if len(prims) == 0 and len(triangles) == 0:
        return _empty_output(B, height, width, dev, normals)
    if len(prims):
        bad = (prims.kind < SPHERE) | (prims.kind > BOX)
        if bool(bad.any()):
            raise ValueError(f"prims.kind must be 0..3 (sphere, capsule, cylinder, box), "
                             f"got {int(prims.kind[bad][0])}")
    prims = _as_float32(prims, dev)
    triangles = _as_float32(triangles, dev)
    Kinv = torch.linalg.inv(Kb)
    shared_K = B == 1 or bool((Kb == Kb[:1]).all())
    inf_bits = 0x7F800000
    best = torch.full((B * height * width,), (inf_bits << _KEY_SHIFT) | _IDX_MASK, dtype=torch.long, device=dev)
    _stage = _Stages()
    if len(prims):
        _cast_primitives(prims, Kb, Kinv, shared_K, height, width, near, cull, best, _stage)
    tri_params = None
    if len(triangles):
        tri_params = _cast_triangles(triangles, Kb, Kinv, shared_K, height, width, near, best, len(prims), _stage,
                                     cull_back_faces)
    out = _decode(best, prims, triangles, Kinv, B, height, width, normals, tri_params, triangle_normals)
    _stage("decode+normals")
    return out


def _lane_rays(Kinv, shared_K, B, seg_img, u_start, v, tile, dev):
    """Rays (dx, dy) (tile, S) of the lanes of row segments, and dd = |d|^2."""
    if shared_K:
        ki = Kinv[0].unbind(0)  # one K: scalars
        k00, k01, k02, k11, k12 = ki[0][0], ki[0][1], ki[0][2], ki[1][1], ki[1][2]
    else:
        # only the five entries used, gathered per segment
        k00, k01, k02, k11, k12 = Kinv.reshape(B, 9)[:, [0, 1, 2, 4, 5]].index_select(0, seg_img).T
    uf, vf = u_start.float(), v.float()
    lane = torch.arange(tile, device=dev, dtype=torch.float32)[:, None]
    # u is formed before scaling so a pixel's ray does not depend on its segment (culled
    # and brute-force paths give bit-identical results)
    dx = (uf[None, :] + lane) * k00 + (k01 * vf + k02)[None, :]
    dy = (k11 * vf + k12)[None, :]
    return dx, dy


def _reduce(best, t, index, seg_img, u_start, v, tile, height, width):
    """Min-reduce (t bits, index) keys of the lanes into ``best`` (B*H*W,) in place."""
    # Misses become positive NaN, whose bit pattern sorts above +inf (the background
    # sentinel): t + 0 * t turns +-inf into NaN, abs clears the sign bit.
    t = (t + t * 0.0).abs_()
    # key = (t bits << 32) | index, built by laying the two int32 words side by side
    words = (index.to(torch.int32)[None, :].expand_as(t), t.view(torch.int32))
    key = torch.stack(words if _LITTLE_ENDIAN else words[::-1], dim=-1).view(torch.int64).squeeze(-1)
    pix = (seg_img * (height * width) + v * width + u_start)[None, :] + torch.arange(tile, device=t.device)[:, None]
    best.scatter_reduce_(0, pix.view(-1), key.view(-1), reduce="amin")


def _cast_primitives(prims, Kb, Kinv, shared_K, height, width, near, cull, best, _stage):
    dev = prims.device
    B = Kb.shape[0]
    # Group primitives by (kind, crosses the near plane) so each group is one slice.
    front = _min_z(prims) > near
    group = prims.kind + 4 * (~front).long()
    order = torch.argsort(group, stable=True)
    p = prims.select(order)
    n = len(p)
    if cull:
        u0, u1, v0, v1, hull = _screen_rects(p, Kb[p.image_index], height, width, near)
    else:
        u0 = torch.zeros(n, dtype=torch.long, device=dev)
        v0 = torch.zeros(n, dtype=torch.long, device=dev)
        u1 = torch.full((n,), width - 1, dtype=torch.long, device=dev)
        v1 = torch.full((n,), height - 1, dtype=torch.long, device=dev)
        hull = None
    _stage("rects")
    tile = min(TILE, width)
    seg_prim, u_start, v, count = _segments(u0, u1, v0, v1, width, tile, hull)
    _stage("segments")
    if seg_prim.numel() == 0:
        return
    # (index_select: much faster than advanced indexing on CPU)
    seg_img = p.image_index.index_select(0, seg_prim)
    dx, dy = _lane_rays(Kinv, shared_K, B, seg_img, u_start, v, tile, dev)
    dd = dx * dx + (dy * dy + 1.0)
    _stage("rays")
    t = torch.empty_like(dx)
    group_sorted = group[order]
    prims_per_group = torch.bincount(group_sorted, minlength=8).tolist()
    segs_per_group = torch.zeros(8, dtype=torch.long, device=dev).index_add_(0, group_sorted, count).tolist()
    prim_start = seg_start = 0
    for g in range(8):
        ng, sg = prims_per_group[g], segs_per_group[g]
        if ng and sg:
            kind = g % 4
            prm = _kind_params(p.select(slice(prim_start, prim_start + ng)), kind)
            sl = slice(seg_start, seg_start + sg)
            gp = prm.index_select(1, seg_prim[sl] - prim_start).unsqueeze(1).unbind(0)  # (1, sg) each
            if g < 4:
                t[:, sl] = _FRONT[kind](dx[:, sl], dy[:, sl], dd[:, sl], gp)
            else:
                t[:, sl] = _GENERAL[kind](dx[:, sl], dy[:, sl], dd[:, sl], gp, near)
        prim_start += ng
        seg_start += sg
    _stage("intersect")
    _reduce(best, t, order.index_select(0, seg_prim), seg_img, u_start, v, tile, height, width)
    _stage("reduce")


def _triangle_spans(wide: torch.Tensor, corners, width: int):
    """The ``spans`` function of :func:`_segments` for triangles: rows of the triangles
    ``wide`` (N,) bool (those wider than one segment) narrowed to the triangle's extent
    along the row (:func:`render_triangles.row_spans`); rows of triangles that cross the
    near plane keep their rectangle. ``corners``: (u, v, straddle) of screen_rects."""
    pu, pv, straddle = corners
    if straddle is not None:
        wide = wide.index_fill(0, straddle, False)

    def narrow(row_tri, v_row, lo, hi):
        sel = wide.index_select(0, row_tri).nonzero().squeeze(1)
        if sel.numel() == 0:
            return lo, hi
        left, right = render_triangles.row_spans(pu, pv, row_tri.index_select(0, sel), v_row.index_select(0, sel))
        lo = lo.index_copy(0, sel, torch.maximum(lo.index_select(0, sel), torch.ceil(left.clamp(-1, width)).long()))
        hi = hi.index_copy(0, sel, torch.minimum(hi.index_select(0, sel), torch.floor(right.clamp(-1, width)).long()))
        return lo, hi

    return narrow


def _cast_triangles(tris, Kb, Kinv, shared_K, height, width, near, best, offset, _stage, cull_back_faces):
    """Triangles into ``best``; their key indices start at ``offset`` (after primitives).

    Only the triangles that can be hit (facing the camera when culling back faces, with a
    non-empty screen rectangle: typically a quarter of a robot's) go through rectangles,
    row segments and hit parameters. Returns (prm (10, S), column (N,)) for decoding: the
    hit parameters (:func:`render_triangles.hit_params`) of those S triangles and each
    triangle's column in ``prm`` (-1 for the others)."""
    dev = tris.device
    n = len(tris)
    v0, v1, v2 = tris.v0, tris.v1, tris.v2
    z = torch.stack([v0[:, 2], v1[:, 2], v2[:, 2]], 1)
    # Triangles crossing the near plane (any, as in screen_rects) switch on the near test.
    straddle = bool(((z > near).any(1) & (z <= near).any(1)).any())
    live = render_triangles.front_facing_of(v0, v1, v2).nonzero().squeeze(1) if cull_back_faces else None
    pick = (lambda x: x) if live is None else (lambda x: x.index_select(0, live))
    verts = torch.stack([pick(v0), pick(v1), pick(v2)], 1)
    u0, u1, v0r, v1r, _, (pu, pv, cross) = render_triangles.rects_of_vertices(
        verts, Kb.index_select(0, pick(tris.image_index)), height, width, near, projected=True)
    keep = ((u1 >= u0) & (v1r >= v0r)).nonzero().squeeze(1)     # a non-empty rectangle
    if cross is not None:
        cross = torch.zeros(len(verts), dtype=torch.bool, device=dev).index_fill_(0, cross, True)
        cross = cross.index_select(0, keep).nonzero().squeeze(1)
        cross = cross if cross.numel() else None
    live = keep if live is None else live.index_select(0, keep)
    u0, u1, v0r, v1r = (x.index_select(0, keep) for x in (u0, u1, v0r, v1r))
    verts = verts.index_select(0, keep)
    prm_live = render_triangles.hit_params_of(verts[:, 0], verts[:, 1], verts[:, 2])
    column = torch.full((n,), -1, dtype=torch.long, device=dev).index_copy_(
        0, live, torch.arange(len(live), device=dev))
    tile = min(render_triangles.TRI_TILE, width)
    spans = _triangle_spans(u1 - u0 + 1 > tile, (pu.index_select(0, keep), pv.index_select(0, keep), cross), width)
    seg_local, u_start, v, _ = _segments(u0, u1, v0r, v1r, width, tile, spans=spans)
    _stage("rects")
    if seg_local.numel() == 0:
        return prm_live, column
    seg_tri = live.index_select(0, seg_local)
    seg_img = tris.image_index.index_select(0, seg_tri)
    dx, dy = _lane_rays(Kinv, shared_K, Kb.shape[0], seg_img, u_start, v, tile, dev)
    prm = prm_live.index_select(1, seg_local).unsqueeze(1).unbind(0)
    t = render_triangles.hit_t(dx, dy, prm, near if straddle else None)
    _stage("intersect triangles")
    _reduce(best, t, seg_tri + offset, seg_img, u_start, v, tile, height, width)
    _stage("reduce triangles")
    return prm_live, column


def _decode(best: torch.Tensor, prims: Primitives, tris: Triangles, Kinv: torch.Tensor, B: int, H: int, W: int,
            normals: bool | str = True, tri_params: tuple | None = None,
            triangle_normals=None) -> RenderOutput:
    """Per-pixel outputs from the min-reduced keys (B*H*W,) int64: indices below
    len(prims) are primitives, the rest triangles (``tri_params``: their hit parameters
    and columns, see :func:`_cast_triangles`)."""
    dev = best.device
    words = best.view(torch.int32).view(-1, 2)  # low word: winner index (-1: none); high: t bits
    if not _LITTLE_ENDIAN:
        words = words.flip(1)
    win = words[:, 0]
    depth = torch.nan_to_num(words[:, 1].view(torch.float32), posinf=0.0)
    hit_pix = (win >= 0).nonzero().squeeze(1)
    dense = normals != "hits"   # "hits": ids and normals of the covered pixels only
    instance = torch.full((B * H * W,), -1, dtype=torch.long, device=dev) if dense else None
    link = torch.full((B * H * W,), -1, dtype=torch.long, device=dev) if dense else None
    normal = torch.zeros(B * H * W, 3, device=dev, dtype=torch.float32) if normals is True else None
    if hit_pix.numel() == 0:
        hits = None
        if normals == "hits":
            hits = RenderHits(hit_pix, hit_pix, hit_pix, torch.zeros(3, 0, device=dev), torch.zeros(2, 0, device=dev))
        return _shape_output(depth, instance, link, normal, B, H, W, hits)
    winner = win.index_select(0, hit_pix).long()
    hit_instance = torch.cat([prims.instance_id, tris.instance_id]).long().index_select(0, winner)
    hit_link = torch.cat([prims.link_id, tris.link_id]).long().index_select(0, winner)
    if dense:
        instance.index_copy_(0, hit_pix, hit_instance)
        link.index_copy_(0, hit_pix, hit_link)
    if not normals:
        return _shape_output(depth, instance, link, normal, B, H, W)
    t_hit = depth.index_select(0, hit_pix)
    row = hit_pix // W  # img * H + v
    u = (hit_pix - row * W).float()
    if B == 1 or bool((Kinv == Kinv[:1]).all()):
        img = row // H
        v = (row - img * H).float()
        ki = Kinv[0]
        dx = ki[0, 0] * u + (ki[0, 1] * v + ki[0, 2])
        dy = ki[1, 1] * v + ki[1, 2]
    else:   # one K per image: hit pixels are sorted by image, so image by image with scalars
        v, dx, dy = torch.empty_like(u), torch.empty_like(u), torch.empty_like(u)
        bounds = torch.searchsorted(hit_pix, torch.arange(B + 1, device=dev) * (H * W)).tolist()
        for b in range(B):
            if bounds[b + 1] > bounds[b]:
                sl, ki = slice(bounds[b], bounds[b + 1]), Kinv[b]
                v[sl] = row[sl] - b * H
                dx[sl] = ki[0, 0] * u[sl] + ki[0, 1] * v[sl] + ki[0, 2]
                dy[sl] = ki[1, 1] * v[sl] + ki[1, 2]
    n_prims = len(prims)
    nrm = torch.empty(3, hit_pix.numel(), device=dev, dtype=torch.float32)
    is_prim = winner < n_prims
    for sel, fn in ((is_prim, None), (~is_prim, "tri")):
        idx = sel.nonzero().squeeze(1)
        if idx.numel() == 0:
            continue
        sdx, sdy, st = dx.index_select(0, idx), dy.index_select(0, idx), t_hit.index_select(0, idx)
        w = winner.index_select(0, idx)
        if fn is None:
            part = _normals(prims, w, sdx * st, sdy * st, st)
        else:
            w = w - n_prims
            prm, column = tri_params
            part = render_triangles.normals(tris, prm, w, sdx, sdy, triangle_normals, column.index_select(0, w))
        nrm.index_copy_(1, idx, part)
    # face the camera: n . (dx, dy, 1) < 0
    facing = 1.0 - 2.0 * (nrm[0] * dx + nrm[1] * dy + nrm[2] > 0)
    nrm.mul_(facing)
    if normals == "hits":
        hits = RenderHits(hit_pix, hit_instance, hit_link, nrm, torch.stack([dx, dy]))
        return _shape_output(depth, instance, link, None, B, H, W, hits)
    normal.index_copy_(0, hit_pix, nrm.T)
    return _shape_output(depth, instance, link, normal, B, H, W)


def _empty_output(B, H, W, dev, normals=True) -> RenderOutput:
    hits = None
    if normals == "hits":
        none = torch.zeros(0, dtype=torch.long, device=dev)
        hits = RenderHits(none, none, none, torch.zeros(3, 0, device=dev), torch.zeros(2, 0, device=dev))
    ids = None if hits is not None else torch.full((B, H, W), -1, device=dev)
    return RenderOutput(torch.zeros(B, H, W, device=dev), ids, None if ids is None else ids.clone(),
                        torch.zeros(B, H, W, 3, device=dev) if normals is True else None, hits)


def _shape_output(depth, instance, link, normal, B, H, W, hits=None) -> RenderOutput:
    shape = lambda x, *tail: None if x is None else x.view(B, H, W, *tail)  # noqa: E731
    return RenderOutput(depth.view(B, H, W), shape(instance), shape(link), shape(normal, 3), hits)


# --------------------------------------------------------------------------- benchmark
