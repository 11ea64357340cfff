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


def test_compact_hits_equal_the_normal_image():
    """normals="hits" gives the covered pixels' normals, instance and link ids exactly as
    the dense normal image has them, with each pixel's ray."""
    from robotpose_lib.primitives import Primitives, SPHERE, BOX
    tris = _random_triangles(3, straddle=False)
    n = 4
    prims = Primitives(kind=torch.tensor([SPHERE, BOX, SPHERE, BOX]),
                       p0=torch.tensor([[0.0, 0, 2], [0.3, 0.2, 1.5], [-0.4, 0.1, 1.0], [0.2, -0.3, 2.5]]),
                       p1=torch.zeros(n, 3), radius=torch.tensor([0.3, 0.0, 0.2, 0.0]),
                       rotation=torch.eye(3).expand(n, 3, 3).clone(),
                       half_extents=torch.tensor([[0, 0, 0], [0.1, 0.2, 0.1], [0, 0, 0], [0.3, 0.1, 0.2]]),
                       image_index=torch.tensor([0, 0, 1, 1]), instance_id=torch.tensor([7, 8, 7, 8]),
                       link_id=torch.zeros(n, dtype=torch.long))
    K = torch.tensor([[[300.0, 0, 159.5], [0, 300.0, 119.5], [0, 0, 1]],
                      [[250.0, 0, 150.0], [0, 260.0, 110.0], [0, 0, 1]]])
    dense = render(prims, K, 240, 320, triangles=tris)
    compact = render(prims, K, 240, 320, triangles=tris, normals="hits")
    assert compact.normal is None and compact.instance is None and compact.link is None
    assert torch.equal(dense.depth, compact.depth) and torch.equal(dense.mask, compact.mask)
    hits = compact.hits
    assert torch.equal(hits.pixel, dense.mask.reshape(-1).nonzero().squeeze(1))
    assert torch.equal(hits.normal.T, dense.normal.reshape(-1, 3)[hits.pixel])
    assert torch.equal(hits.instance, dense.instance.reshape(-1)[hits.pixel])
    assert torch.equal(hits.link, dense.link.reshape(-1)[hits.pixel])
    img, rest = hits.pixel // (240 * 320), hits.pixel % (240 * 320)
    v, u = (rest // 320).double(), (rest % 320).double()
    Kinv = torch.linalg.inv(K.double())[img]
    assert torch.allclose(hits.ray[0].double(), Kinv[:, 0, 0] * u + Kinv[:, 0, 1] * v + Kinv[:, 0, 2], atol=1e-5)
    assert torch.allclose(hits.ray[1].double(), Kinv[:, 1, 1] * v + Kinv[:, 1, 2], atol=1e-5)


def test_mesh_normals_interpolated_in_the_link_frame_equal_the_posed_corner_normals():
    """A URDF robot's triangles without corner normals, shaded through its
    normal_interpolator, give the normals of triangles posed with their corner normals
    (rotating after interpolating is the same map), and the same depth and ids."""
    from robotpose_lib import camera
    from robotpose_lib.robots import get_robot

    robot = get_robot("panda")
    q = robot.sample_joint_angles(3, torch.Generator().manual_seed(1))
    _, link_T = robot.forward_kinematics(q)
    eye = torch.tensor([[1.2, -0.9, 0.8], [0.4, 1.0, 0.3], [-1.0, -0.2, 1.4]], dtype=torch.float64)
    cam = torch.stack([camera.look_at(e, torch.tensor([0.0, 0.0, 0.4], dtype=torch.float64)) for e in eye]).float()
    T = cam[:, None] @ link_T.float()
    idx = torch.arange(3)
    K = torch.tensor([[200.0, 0, 79.5], [0, 200.0, 59.5], [0, 0, 1]])
    full = render(None, K, 120, 160, batch_size=3, triangles=robot.triangles(T, idx, idx), cull_back_faces=True)
    lazy = render(None, K, 120, 160, batch_size=3, triangles=robot.triangles(T, idx, idx, normals=False),
                  cull_back_faces=True, triangle_normals=robot.normal_interpolator(T))
    assert full.mask.sum() > 2000
    for name in ("depth", "instance", "link"):
        assert torch.equal(getattr(full, name), getattr(lazy, name))
    assert (full.normal - lazy.normal).abs().max() < 1e-5


def test_posed_mesh_triangles_are_the_link_meshes_moved_by_their_link_transforms():
    from robotpose_lib.robots import get_robot

    robot = get_robot("panda")
    q = robot.sample_joint_angles(2, torch.Generator().manual_seed(2), dtype=torch.float64)
    _, T = robot.forward_kinematics(q)
    tris = robot.triangles(T)
    F = robot.num_triangles
    Tf = T[:, robot._tri_link]                                                 # (2, F, 4, 4)
    for c, (v, n) in enumerate(((tris.v0, tris.n0), (tris.v1, tris.n1), (tris.v2, tris.n2))):
        local = robot._tri_vertices[:, c]                                        # (F, 3)
        want = (Tf[..., :3, :3] @ local[None, :, :, None]).squeeze(-1) + Tf[..., :3, 3]
        assert torch.allclose(v.reshape(2, F, 3), want, atol=1e-12)
        want_n = (Tf[..., :3, :3] @ robot._tri_normals[None, :, c, :, None]).squeeze(-1)
        assert torch.allclose(n.reshape(2, F, 3), want_n, atol=1e-12)
    assert torch.equal(tris.link_id, robot._tri_link.repeat(2))
    assert torch.equal(tris.image_index, torch.zeros(2 * F, dtype=torch.long))
    assert torch.equal(tris.instance_id, torch.arange(2).repeat_interleave(F))
