"""Mesh triangles in the ray caster: the fast paths equal their plain references."""
import numpy as np
import pytest
import torch

import robotpose_lib.render as render_mod
from robotpose_lib import render_triangles
from robotpose_lib.primitives import Triangles
from robotpose_lib.render import render


def _random_triangles(seed: int, n: int = 400, batch: int = 2, straddle: bool = True) -> Triangles:
    """Small, large, thin and slanted triangles in front of the camera (some crossing
    the near plane when ``straddle``), in ``batch`` images."""
    g = np.random.default_rng(seed)
    centre = np.stack([g.uniform(-1, 1, n), g.uniform(-0.8, 0.8, n), g.uniform(0.5, 3.0, n)], 1)
    size = np.exp(g.uniform(np.log(0.003), np.log(0.8), n))[:, None]
    thin = g.random(n) < 0.4          # slivers: one short side
    offsets = g.normal(size=(n, 3, 3)) * size[:, None]
    offsets[thin, 2] = offsets[thin, 1] + g.normal(size=(thin.sum(), 3)) * 0.01 * size[thin]
    v = centre[:, None] + offsets
    if straddle:
        v[: n // 20, 0, 2] = -0.2     # a few cross the near plane
    v = torch.tensor(v, dtype=torch.float32)
    normal = torch.nn.functional.normalize(torch.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0], dim=1), dim=1)
    idx = torch.arange(n)
    return Triangles(v[:, 0], v[:, 1], v[:, 2], normal, normal, normal, idx % batch, idx % 7, idx % 5)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("cull", [False, True])
def test_row_spans_equal_the_bounding_rectangles(seed, cull, monkeypatch):
    """Narrowing each triangle's rows to its extent along the row changes no pixel: every
    output equals the render that tests every pixel of each bounding rectangle."""
    tris = _random_triangles(seed)
    K = torch.tensor([[300.0, 0, 159.5], [0, 300.0, 119.5], [0, 0, 1]])
    fast = render(None, K, 240, 320, batch_size=2, triangles=tris, cull_back_faces=cull)
    monkeypatch.setattr(render_mod, "_triangle_spans", lambda *args: None)
    plain = render(None, K, 240, 320, batch_size=2, triangles=tris, cull_back_faces=cull)
    assert fast.mask.sum() > 1000
    for name in ("depth", "instance", "link", "normal"):
        assert torch.equal(getattr(fast, name), getattr(plain, name)), name


def test_row_span_holds_every_pixel_centre_of_the_triangle():
    """Property by construction: each pixel centre inside a projected triangle lies in its
    row's span, and the span is no wider than the triangle's row extent plus the margin."""
    g = np.random.default_rng(5)
    n = 300
    pu = torch.tensor(g.uniform(0, 40, (n, 3)), dtype=torch.float32)
    pv = torch.tensor(g.uniform(0, 40, (n, 3)), dtype=torch.float32)
    pv[:20, 1] = pv[:20, 0]                                   # horizontal edges
    tri = torch.arange(n).repeat_interleave(41)
    row = torch.arange(41).repeat(n)
    left, right = render_triangles.row_spans(pu, pv, tri, row)
    us = torch.arange(41, dtype=torch.float64)
    a = torch.stack([pu, pv], -1).double()                   # (n, 3, 2)
    for k in range(0, len(tri), 37):
        i, v = int(tri[k]), float(row[k])
        p = torch.stack([us, torch.full_like(us, v)], 1)    # pixel centres of the row
        # inside test by edge functions (either winding)
        e = [(a[i, (j + 1) % 3, 0] - a[i, j, 0]) * (p[:, 1] - a[i, j, 1])
             - (a[i, (j + 1) % 3, 1] - a[i, j, 1]) * (p[:, 0] - a[i, j, 0]) for j in range(3)]
        e = torch.stack(e)
        inside = (e >= 0).all(0) | (e <= 0).all(0)
        if inside.any():
            assert left[k] <= us[inside].min() and us[inside].max() <= right[k]
        extent = float(a[i, :, 0].max() - a[i, :, 0].min())
        assert right[k] - left[k] <= extent + 2 * render_triangles.RECT_MARGIN + 1e-4
