"""The compositing of synth.py: the fast paths equal the plain formulas they replace."""
import numpy as np
import torch

from robotpose_lib.render import render
from robotpose_lib.synth import _shade, params_for, sample_scene, _scene_geometry
from robotpose_lib.robots import get_robot
from robotpose_lib.primitives import Primitives


def _reference_shade(albedo, normal, K, W, pixels, light, ambient, specular, shininess):
    """The former per-sample NumPy shading (float64): view directions from K and the pixel
    coordinates, the half vector formed and normalised."""
    lambert = np.clip(normal @ light, 0.0, 1.0)
    shaded = 255.0 * albedo * (ambient + (1.0 - ambient) * lambert)[:, None]
    if specular > 0:
        v, u = np.divmod(pixels, W)
        rays = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones(len(pixels))], -1)
        view = -rays / np.linalg.norm(rays, axis=-1, keepdims=True)
        half = view + light
        half /= np.linalg.norm(half, axis=1, keepdims=True)
        shaded += 255.0 * specular * (np.clip((normal * half).sum(1), 0.0, 1.0) ** shininess)[:, None]
    return shaded


def test_shading_from_compact_hits_equals_the_former_formula():
    """Rendered mesh Pandas and distractors, lit with highlights: _shade on the compact
    hits (float32, half vector's cosine in closed form) equals the former float64 formula
    within 0.02 of a grey level (before rounding)."""
    robot = get_robot("panda")
    params = params_for("panda", "sim2real", min_robots=3, max_robots=3, theta_vr=1.0)
    scenes = [sample_scene("panda", params, 0, i, 120, 160) for i in range(4)]
    prims, tris, geometry, interpolate = _scene_geometry(robot, scenes, "cpu")
    extra = [s.distractors.primitives(b, len(geometry[b]["rows"])) for b, s in enumerate(scenes) if len(s.distractors)]
    prims = Primitives.cat([prims, *extra])
    K = torch.tensor(np.stack([s.K for s in scenes]), dtype=torch.float32)
    out = render(prims, K, 120, 160, batch_size=4, triangles=tris, cull_back_faces=True, normals="hits",
                 triangle_normals=interpolate)
    hits = out.hits
    g = np.random.default_rng(0)
    checked = 0
    for b, scene in enumerate(scenes):
        sel = ((hits.pixel >= b * 19200) & (hits.pixel < (b + 1) * 19200)).numpy()
        pixels = hits.pixel.numpy()[sel] - b * 19200
        normal = hits.normal.numpy()[:, sel]
        albedo = g.random((len(pixels), 3)).astype(np.float32)
        for specular in (0.0, 0.6):
            ours = _shade(albedo, normal, hits.ray.numpy()[:, sel], scene.light_dir, scene.ambient, specular, 30.0)
            want = _reference_shade(albedo.astype(np.float64), normal.T.astype(np.float64), scene.K, 160, pixels,
                                    scene.light_dir, scene.ambient, specular, 30.0)
            assert ours.dtype == np.float32 and ours.shape == want.shape
            assert np.abs(ours - want).max() < 0.02
        checked += len(pixels)
    assert checked > 3000


def test_put_rows_is_fancy_assignment():
    from robotpose_lib.synth import _put_rows

    g = np.random.default_rng(1)
    out = g.random((500, 3)).astype(np.float32)
    want = out.copy()
    index = g.choice(500, 120, replace=False)
    rows = g.random((120, 3)).astype(np.float32)
    want[index] = rows
    _put_rows(out, index, rows)
    assert np.array_equal(out, want)
    _put_rows(out, index[:5], rows[:5].astype(np.float64))      # other dtypes are cast first
    assert np.array_equal(out, want)


def _loop_visibility(joints_2d, joints_3d, instance, depth, window=2):
    """synth._visibility as it was: a Python loop over the joints inside the frame."""
    H, W = instance.shape
    R, J = joints_2d.shape[:2]
    uv = np.rint(joints_2d).astype(int)
    inside = (uv[..., 0] >= 0) & (uv[..., 0] < W) & (uv[..., 1] >= 0) & (uv[..., 1] < H) & (joints_3d[..., 2] > 0)
    vis = np.zeros((R, J), bool)
    for r, j in zip(*np.nonzero(inside)):
        u, v = uv[r, j]
        patch = instance[max(0, v - window): v + window + 1, max(0, u - window): u + window + 1]
        owner = instance[v, u]
        hidden = owner >= 0 and owner != r and depth[v, u] < joints_3d[r, j, 2]
        vis[r, j] = bool((patch == r).any()) and not hidden
    return vis


def test_visibility_of_all_joints_at_once_equals_the_joint_loop():
    """Random id images (noise and blobs, robots and other ids), joints in and out of the
    frame, in front of and behind the camera, at image borders: the same visibility."""
    from robotpose_lib.synth import _visibility

    g = np.random.default_rng(0)
    for _ in range(1500):
        H, W = g.integers(3, 40, 2)
        R, J = g.integers(1, 4), g.integers(1, 8)
        instance = g.integers(-1, R + 2, (H, W)).astype(np.int16)
        if g.random() < 0.5:
            instance[:] = -1
            for k in range(R + 1):
                y, x = g.integers(0, H), g.integers(0, W)
                instance[max(0, y - 3):y + 3, max(0, x - 4):x + 4] = k
        depth = (g.random((H, W)) * 3).astype(np.float32)
        joints_2d = np.stack([g.uniform(-3, W + 3, (R, J)), g.uniform(-3, H + 3, (R, J))], -1)
        joints_3d = np.concatenate([g.random((R, J, 2)), g.uniform(-0.5, 3, (R, J, 1))], -1)
        assert np.array_equal(_visibility(joints_2d, joints_3d, instance, depth),
                              _loop_visibility(joints_2d, joints_3d, instance, depth))
