import math

import numpy as np
import pytest
import torch

from robotpose_lib import camera
from robotpose_lib.primitives import BOX, CAPSULE, CYLINDER, SPHERE, Primitives
from robotpose_lib.render import render

H, W = 48, 64
K = camera.intrinsics(50.0, 52.0, 31.5, 23.5)


def prims(*items, image_index=None):
    """items: dicts with kind and optional p0, p1, r, R, h, inst, link."""
    n = len(items)
    get = lambda key, default: [it.get(key, default) for it in items]
    return Primitives(
        kind=torch.tensor(get("kind", SPHERE)),
        p0=torch.tensor(get("p0", (0.0, 0.0, 0.0)), dtype=torch.float32),
        p1=torch.tensor(get("p1", (0.0, 0.0, 0.0)), dtype=torch.float32),
        radius=torch.tensor(get("r", 0.0), dtype=torch.float32),
        rotation=torch.stack([torch.as_tensor(R, dtype=torch.float32) for R in get("R", torch.eye(3))]),
        half_extents=torch.tensor(get("h", (0.0, 0.0, 0.0)), dtype=torch.float32),
        image_index=torch.tensor(image_index if image_index is not None else [0] * n),
        instance_id=torch.tensor(get("inst", 0)),
        link_id=torch.tensor(get("link", 0)),
    )


def rot(axis, angle):
    return torch.from_numpy(__import__("cv2").Rodrigues(np.asarray(axis, float) * angle)[0]).float()


def rays(Kmat=K):
    vv, uu = torch.meshgrid(torch.arange(H, dtype=torch.float64), torch.arange(W, dtype=torch.float64), indexing="ij")
    uv1 = torch.stack([uu, vv, torch.ones_like(uu)], -1)
    return uv1 @ torch.linalg.inv(Kmat.double()).T  # (H, W, 3), z = 1


# --- an independent reference: sphere tracing of signed distance functions in float64 ---

def sdf(item, x):
    kind = item["kind"]
    p0 = torch.tensor(item.get("p0", (0.0, 0.0, 0.0)), dtype=torch.float64)
    if kind == SPHERE:
        return (x - p0).norm(dim=-1) - item["r"]
    if kind == BOX:
        R = torch.as_tensor(item.get("R", torch.eye(3)), dtype=torch.float64)
        q = ((x - p0) @ R).abs() - torch.tensor(item["h"], dtype=torch.float64)
        return q.clamp_min(0).norm(dim=-1) + q.max(dim=-1).values.clamp_max(0)
    p1 = torch.tensor(item["p1"], dtype=torch.float64)
    ax = p1 - p0
    L = ax.norm()
    a = ax / L
    s = ((x - p0) * a).sum(-1)
    if kind == CAPSULE:
        return (x - p0 - s.clamp(0, float(L))[..., None] * a).norm(dim=-1) - item["r"]
    radial = (x - p0 - s[..., None] * a).norm(dim=-1) - item["r"]
    axial = (s - L / 2).abs() - L / 2
    d = torch.stack([radial, axial], -1)
    return d.clamp_min(0).norm(dim=-1) + d.max(dim=-1).values.clamp_max(0)


def trace(item, d, t0=0.05, far=20.0, iters=150):
    """First t (camera z, since d_z = 1) with sdf = 0 along rays d (..., 3); inf if none."""
    dn = d.norm(dim=-1)
    t = torch.full(d.shape[:-1], t0, dtype=torch.float64)
    for _ in range(iters):
        t = t + sdf(item, t[..., None] * d) / dn
    hit = (sdf(item, t[..., None] * d).abs() < 1e-6) & (t < far)
    return torch.where(hit, t, torch.full_like(t, math.inf))


SHAPES = [
    dict(kind=SPHERE, p0=(0.3, -0.2, 3.0), r=0.6),
    dict(kind=CAPSULE, p0=(-0.6, -0.3, 2.5), p1=(0.5, 0.4, 3.5), r=0.25),
    dict(kind=CYLINDER, p0=(-0.4, 0.3, 2.2), p1=(0.6, -0.2, 3.2), r=0.3),
    dict(kind=BOX, p0=(0.1, 0.1, 3.0), h=(0.5, 0.3, 0.4), R=rot((1, 2, 3) / np.linalg.norm((1, 2, 3)), 0.7)),
]


@pytest.mark.parametrize("item", SHAPES, ids=["sphere", "capsule", "cylinder", "box"])
def test_depth_matches_sphere_traced_reference(item):
    out = render(prims(item), K, H, W)
    ref = trace(item, rays())
    ours = out.depth[0].double()
    both = out.mask[0] & torch.isfinite(ref)
    assert both.sum() > 200
    assert torch.allclose(ours[both], ref[both], atol=2e-4)
    # silhouettes agree except possibly for grazing pixels
    assert (out.mask[0] != torch.isfinite(ref)).sum() <= 3
    n = out.normal[0][out.mask[0]]
    assert torch.allclose(n.norm(dim=-1), torch.ones(len(n)), atol=1e-5)
    d = rays().float()[out.mask[0]]
    assert ((n * d).sum(-1) < 0).all()
    # normals agree with the SDF gradient at the hit point (away from edges)
    x = (rays() * ours[..., None])[both].requires_grad_(True)
    g = torch.autograd.grad(sdf(item, x).sum(), x)[0]
    g = g / g.norm(dim=-1, keepdim=True)
    agree = (g.float() * out.normal[0][both]).sum(-1)
    assert (agree > 0.99).float().mean() > 0.95


def test_closed_form_depths_on_the_optical_axis():
    Kc = camera.intrinsics(50.0, 50.0, 32.0, 24.0)  # pixel (32, 24) looks along +z
    cases = [
        (dict(kind=SPHERE, p0=(0, 0, 3.0), r=0.5), 2.5, (0, 0, -1)),
        (dict(kind=CAPSULE, p0=(-0.5, 0, 3.0), p1=(0.5, 0, 3.0), r=0.2), 2.8, (0, 0, -1)),
        (dict(kind=CAPSULE, p0=(0, 0, 3.0), p1=(0, 0, 4.0), r=0.2), 2.8, (0, 0, -1)),  # end cap
        (dict(kind=CYLINDER, p0=(0, 0, 2.0), p1=(0, 0, 3.0), r=0.2), 2.0, (0, 0, -1)),  # flat cap
        (dict(kind=CYLINDER, p0=(0, -1, 2.0), p1=(0, 1, 2.0), r=0.3), 1.7, (0, 0, -1)),  # side
        (dict(kind=BOX, p0=(0, 0, 2.0), h=(0.2, 0.3, 0.4), R=rot((0, 0, 1), 0.6)), 1.6, (0, 0, -1)),
    ]
    for item, z, n in cases:
        out = render(prims(item), Kc, H, W)
        assert float(out.depth[0, 24, 32]) == pytest.approx(z, abs=1e-5), item
        assert torch.allclose(out.normal[0, 24, 32], torch.tensor(n, dtype=torch.float32), atol=1e-5), item


def test_sphere_silhouette_is_exact():
    c, r = torch.tensor([0.2, 0.1, 2.0], dtype=torch.float64), 0.4
    out = render(prims(dict(kind=SPHERE, p0=tuple(c.tolist()), r=r)), K, H, W)
    d = rays()
    dist = torch.linalg.cross(d, c.expand_as(d)).norm(dim=-1) / d.norm(dim=-1)  # ray-centre distance
    clear = (dist - r).abs() > 1e-3
    assert torch.equal(out.mask[0][clear], (dist < r)[clear])


def test_occlusion_nearer_primitive_wins_and_ids():
    items = [dict(kind=SPHERE, p0=(0, 0, 4.0), r=1.0, inst=0, link=3),
             dict(kind=BOX, p0=(0.3, 0, 2.0), h=(0.2, 0.2, 0.2), inst=1, link=5)]
    out = render(prims(*items), K, H, W)
    Kc = K
    u = int(round(float(Kc[0, 0] * 0.3 / 2.0 + Kc[0, 2])))
    v = int(round(float(Kc[1, 2])))
    assert int(out.instance[0, v, u]) == 1 and int(out.link[0, v, u]) == 5
    assert float(out.depth[0, v, u]) == pytest.approx(1.8, abs=1e-5)
    assert int(out.instance[0, v, 20]) == 0 and int(out.link[0, v, 20]) == 3
    assert int(out.instance[0, 0, 0]) == -1 and float(out.depth[0, 0, 0]) == 0.0
    assert torch.equal(out.instance >= 0, out.depth > 0)
    assert torch.equal(out.link >= 0, out.depth > 0)


def test_exact_ties_go_to_the_lowest_index():
    a = dict(kind=SPHERE, p0=(0, 0, 3.0), r=0.5, inst=7)
    b = dict(a, inst=2)
    assert set(render(prims(a, b), K, H, W).instance.unique().tolist()) == {-1, 7}
    assert set(render(prims(b, a), K, H, W).instance.unique().tolist()) == {-1, 2}


def random_scene(g, n, image_index=None, spread=1.5, z=(0.3, 6.0)):
    items = []
    for i in range(n):
        kind = int(torch.randint(0, 4, (1,), generator=g))
        c = (torch.rand(3, generator=g) * 2 - 1) * spread
        c[2] = z[0] + (z[1] - z[0]) * float(torch.rand(1, generator=g))
        d = torch.randn(3, generator=g) * 0.5
        axis = torch.nn.functional.normalize(torch.randn(3, generator=g), dim=0).numpy()
        R = rot(axis, float(torch.rand(1, generator=g)) * 3)
        items.append(dict(kind=kind, p0=tuple(c.tolist()), p1=tuple((c + d).tolist()),
                          r=0.05 + 0.3 * float(torch.rand(1, generator=g)), R=R,
                          h=tuple((0.05 + 0.4 * torch.rand(3, generator=g)).tolist()), inst=i % 3, link=i))
    return prims(*items, image_index=image_index)


def assert_same(a, b):
    assert torch.equal(a.depth, b.depth)
    assert torch.equal(a.instance, b.instance)
    assert torch.equal(a.link, b.link)
    assert torch.allclose(a.normal, b.normal, atol=1e-5)


@pytest.mark.parametrize("seed", range(4))
def test_culling_equals_brute_force(seed):
    # z from 0.3 m: many primitives straddle the near plane / the camera plane or sit behind it
    g = torch.Generator().manual_seed(seed)
    p = random_scene(g, 12, z=(-1.0, 5.0))
    assert_same(render(p, K, H, W, cull=True), render(p, K, H, W, cull=False))


def test_without_normals_same_buffers():
    g = torch.Generator().manual_seed(5)
    p = random_scene(g, 10)
    a, b = render(p, K, H, W), render(p, K, H, W, normals=False)
    assert b.normal is None
    assert torch.equal(a.depth, b.depth) and torch.equal(a.instance, b.instance) and torch.equal(a.link, b.link)


def test_culling_of_long_slanted_capsules_equals_brute_force():
    # rows of slanted round primitives are narrowed to the hull of their end rectangles
    g = torch.Generator().manual_seed(7)
    items = []
    for i in range(16):
        c = torch.tensor([0.0, 0.0, 2.5]) + (torch.rand(3, generator=g) - 0.5) * torch.tensor([2.0, 1.5, 2.0])
        d = torch.nn.functional.normalize(torch.randn(3, generator=g), dim=0) * 1.2
        items.append(dict(kind=CAPSULE if i % 2 else CYLINDER, p0=tuple(c.tolist()), p1=tuple((c + d).tolist()),
                          r=0.03 + 0.1 * float(torch.rand(1, generator=g)), inst=i, link=i))
    p = prims(*items)
    assert_same(render(p, K, H, W), render(p, K, H, W, cull=False))


def test_bad_kind_is_reported():
    with pytest.raises(ValueError, match="kind"):
        render(prims(dict(kind=9, p0=(0, 0, 2.0), r=0.3)), K, H, W)


def test_batched_equals_one_by_one_with_per_image_K():
    g = torch.Generator().manual_seed(11)
    scenes = [random_scene(g, 8, image_index=[b] * 8) for b in range(3)]
    Ks = torch.stack([K, camera.scale_intrinsics(K, 1.1, 0.9), camera.crop_intrinsics(K, -3, 2)])
    batched = render(Primitives.cat(scenes), Ks, H, W)
    assert batched.depth.shape == (3, H, W) and batched.normal.shape == (3, H, W, 3)
    for b, s in enumerate(scenes):
        s0 = Primitives(**{**s.__dict__, "image_index": torch.zeros(len(s), dtype=torch.long)})
        single = render(s0, Ks[b], H, W)
        assert torch.equal(batched.depth[b], single.depth[0])
        assert torch.equal(batched.instance[b], single.instance[0])
        assert torch.allclose(batched.normal[b], single.normal[0], atol=1e-6)


def test_behind_camera_and_out_of_frame():
    behind = dict(kind=CAPSULE, p0=(0, 0, -2.0), p1=(0.5, 0, -1.0), r=0.3)
    out = render(prims(behind), K, H, W)
    assert not out.mask.any() and (out.depth == 0).all()
    # the camera inside a box: every pixel sees the inside of the far faces
    inside = dict(kind=BOX, p0=(0, 0, 0.5), h=(3.0, 3.0, 1.0))
    out = render(prims(inside), K, H, W)
    assert out.mask.all() and torch.allclose(out.depth, torch.full_like(out.depth, 1.5))
    assert torch.allclose(out.normal[..., 2], -torch.ones(1, H, W))
    # crossing the near plane: only hits beyond `near`
    cross = dict(kind=CYLINDER, p0=(0.0, 0.2, -1.0), p1=(0.0, 0.2, 2.0), r=0.1)
    out = render(prims(cross), K, H, W, near=0.05)
    assert out.mask.any() and (out.depth[out.mask] > 0.05).all()
    assert torch.isfinite(out.normal).all()
    # mostly outside the frame
    edge = dict(kind=SPHERE, p0=(1.4, 0.0, 2.0), r=0.5)
    out = render(prims(edge), K, H, W)
    assert out.mask[0, :, -1].any() and not out.mask[0, :, 0].any()
    assert_same(out, render(prims(edge), K, H, W, cull=False))


def test_empty_inputs_and_errors():
    out = render(Primitives.empty(), K, H, W, batch_size=2)
    assert out.depth.shape == (2, H, W) and (out.instance == -1).all()
    p = prims(dict(kind=SPHERE, p0=(0, 0, 2.0), r=0.3), image_index=[3])
    with pytest.raises(ValueError, match="image_index"):
        render(p, K, H, W, batch_size=2)
    with pytest.raises(ValueError, match="K"):
        render(p, torch.eye(4), H, W)
