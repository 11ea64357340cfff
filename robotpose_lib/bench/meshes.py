"""Mesh rendering measured: the triangle budget against silhouette fidelity (each URDF
robot rendered with its full meshes and decimated to several budgets, at the same random
poses and cameras, by our ray caster; the figure is the silhouette IoU of the decimated
robot with the full one), and our ray caster against Intel Embree (through trimesh and
embreex, when installed) casting the same rays at the same triangles.

    python -m robotpose_lib.bench.meshes   (the budget study)
"""
from __future__ import annotations

import math

import numpy as np
import torch
import trimesh

from .. import camera
from ..render import render
from ..urdf import RobotSpec, URDFRobot


def random_views(robot, n: int, height: int, width: int, seed: int = 0):
    """n (q (1, dof), world -> camera (4, 4), K (3, 3)) of one robot at the origin: poses in
    the sampling range, cameras 1-2 reaches away seen from the upper hemisphere, 45-75
    degree field of view, aimed at the robot's middle (float64 NumPy / torch)."""
    rng = np.random.default_rng(seed)
    views = []
    for _ in range(n):
        low, high = (t.numpy() for t in robot.sample_range)
        q = torch.tensor(rng.uniform(low, high)[None], dtype=torch.float64)
        r = rng.uniform(1.0, 2.0) * robot.reach
        inc, az = rng.uniform(0.3, 1.4), rng.uniform(0, 2 * math.pi)
        target = torch.tensor([0.0, 0.0, 0.4 * robot.reach], dtype=torch.float64)
        eye = target + r * torch.tensor([math.sin(inc) * math.cos(az), math.sin(inc) * math.sin(az), math.cos(inc)],
                                        dtype=torch.float64)
        K = camera.intrinsics_from_fov(width, height, math.radians(rng.uniform(45, 75))).double()
        views.append((q, camera.look_at(eye, target), K))
    return views


def silhouette(robot, q, T_cam_world, K, height: int, width: int) -> np.ndarray:
    """(H, W) bool silhouette of ``robot`` at joint values q (1, dof), base at the world origin."""
    _, link_T = robot.forward_kinematics(q)
    tris = robot.triangles(T_cam_world @ link_T)
    return render(None, K.float(), height, width, triangles=tris, normals=False).mask[0].numpy()


def budget_study(urdf_path: str, spec: RobotSpec | None = None, budgets=(200, 400, 800, 1600, 3200),
                 n_views: int = 8, size: tuple[int, int] = (480, 640), seed: int = 0) -> dict:
    """{budget: {"triangles": total, "iou_mean": ..., "iou_min": ...}} plus "full" triangles."""
    spec = spec or RobotSpec()
    full = URDFRobot(urdf_path, RobotSpec(**{**spec.__dict__, "triangle_budget": None}))
    views = random_views(full, n_views, *size, seed=seed)
    reference = [silhouette(full, q, T, K, *size) for q, T, K in views]
    result = {"full": full.num_triangles}
    for budget in budgets:
        robot = URDFRobot(urdf_path, RobotSpec(**{**spec.__dict__, "triangle_budget": budget}))
        ious = []
        for (q, T, K), ref in zip(views, reference):
            sil = silhouette(robot, q, T, K, *size)
            ious.append(float((sil & ref).sum() / max((sil | ref).sum(), 1)))
        result[budget] = dict(triangles=robot.num_triangles, iou_mean=float(np.mean(ious)),
                              iou_min=float(np.min(ious)))
    return result


def embree_comparison(robot: str = "panda", n: int = 8, size: tuple[int, int] = (480, 640)) -> dict:
    """Milliseconds per image of our ray caster (triangles of 3 robots of ``robot``, back
    faces culled, one torch thread as in synthesis, after a warm-up call) and of Embree via
    trimesh (BVH build + the first hit of every pixel's ray, the same triangles), and the
    share of pixels whose robot/background label agrees. Raises ImportError without embreex."""
    import time

    from trimesh.ray.ray_pyembree import RayMeshIntersector

    from ..config import torch_threads
    from ..robots import get_robot
    from ..synth import _scene_geometry, params_for, sample_scene

    H, W = size
    params = params_for(robot, "sim2real", min_robots=3, max_robots=3, theta_vr=1.0, max_distractors=0)
    scenes = [sample_scene(robot, params, 0, i, H, W) for i in range(1000, 1000 + n)]
    _, tris, _, _ = _scene_geometry(get_robot(robot), scenes, "cpu")
    K = torch.tensor(np.stack([s.K for s in scenes]), dtype=torch.float32)
    with torch_threads(1):   # as synthesis renders on the CPU (many small ops: one thread is fastest)
        render(None, K, H, W, batch_size=n, triangles=tris, cull_back_faces=True, normals=False)   # warm-up
        start = time.perf_counter()
        ours = render(None, K, H, W, batch_size=n, triangles=tris, cull_back_faces=True, normals=False)
        ours_ms = (time.perf_counter() - start) / n * 1000
    v, u = np.mgrid[0:H, 0:W]
    embree_s, agree = 0.0, []
    for b, scene in enumerate(scenes):
        sel = tris.image_index == b
        corners = torch.stack([tris.v0[sel], tris.v1[sel], tris.v2[sel]], 1).numpy().reshape(-1, 3)
        mesh = trimesh.Trimesh(corners, np.arange(len(corners)).reshape(-1, 3), process=False)
        k = scene.K
        rays = np.stack([(u - k[0, 2]) / k[0, 0], (v - k[1, 2]) / k[1, 1], np.ones((H, W))], -1).reshape(-1, 3)
        start = time.perf_counter()
        hit = RayMeshIntersector(mesh).intersects_first(np.zeros_like(rays), rays)
        embree_s += time.perf_counter() - start
        agree.append(float(((hit >= 0).reshape(H, W) == ours.mask[b].numpy()).mean()))
    return dict(ours_ms=ours_ms, embree_ms=embree_s / n * 1000, agreement=float(np.mean(agree)))


def pybullet_agreement(n_views: int = 5, size: tuple[int, int] = (240, 320), seed: int = 11) -> dict:
    """{robot: (min IoU, mean IoU)} of our silhouette against pybullet's render of the same
    shipped URDF, pose and intrinsics, over ``n_views`` random views per mesh robot.
    Raises ImportError without pybullet."""
    from ..robots import MESH_ROBOT_NAMES, get_robot, shipped_urdf
    from .pybullet_baseline import pybullet_render

    out = {}
    for name in MESH_ROBOT_NAMES:
        robot = get_robot(name)
        path, _ = shipped_urdf(name)
        ious = []
        for q, T, K in random_views(robot, n_views, *size, seed=seed):
            theirs, _ = pybullet_render(str(path), robot.joint_values(q[0]), T.numpy(), K.numpy(), *size)
            ours = silhouette(robot, q, T, K, *size)
            ious.append(float((ours & theirs).sum() / max((ours | theirs).sum(), 1)))
        out[name] = (min(ious), float(np.mean(ious)))
    return out


if __name__ == "__main__":
    import os

    import pybullet_data

    for rel in ("franka_panda/panda.urdf", "kuka_iiwa/model.urdf", "xarm/xarm6_robot.urdf"):
        res = budget_study(os.path.join(pybullet_data.getDataPath(), rel))
        print(rel, "full", res.pop("full"))
        for b, r in res.items():
            print(f"  budget {b:5d}: {r['triangles']:6d} triangles, "
                  f"IoU mean {r['iou_mean']:.4f} min {r['iou_min']:.4f}")
