"""Baselines for `robotpose bench synth` and `robotpose bench meshes`: pybullet's CPU
renderer (TinyRenderer) drawing three KUKA iiwa arms from pybullet_data, or three copies of
one of our URDF robots (the same decimated meshes we ray-cast), at the benchmark's image
size; and :func:`pybullet_render`, one robot drawn by pybullet for the silhouette tests.

pybullet is an optional extra (``pip install pybullet``), imported only when called.
Each frame: new random joint poses, then one ``getCameraImage`` with ER_TINY_RENDERER,
which returns RGBA, depth buffer and segmentation mask together.
"""
from __future__ import annotations

import math
import time

import numpy as np

from ..camera import opengl_camera


def _import_pybullet():
    try:
        import pybullet
        import pybullet_data
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the pybullet baseline needs pybullet: pip install pybullet") from exc
    return pybullet, pybullet_data


def frames_per_second(frame, n_frames: int, warmup: int) -> float:
    """Calls per second of ``frame()`` over ``n_frames`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        frame()
    start = time.perf_counter()
    for _ in range(n_frames):
        frame()
    return n_frames / (time.perf_counter() - start)


def pybullet_kuka_throughput(n_frames: int = 50, height: int = 480, width: int = 640,
                             n_robots: int = 3, seed: int = 0, warmup: int = 2,
                             camera_distance: float = 3.0) -> float:
    """Images per second of pybullet TinyRenderer (RGB + depth + segmentation per frame).

    n_robots KUKA iiwa arms (``kuka_iiwa/model.urdf``) stand 0.8 m apart on a line; each
    frame draws new joint angles U(-pi/2, pi/2) (seeded) and renders one height x width
    image from a fixed camera ``camera_distance`` m in front of them (3 m: the arms cover
    about 5 % of the image), looking at their middle. ``warmup`` frames are not timed.
    """
    _, pybullet_data = _import_pybullet()
    ranges = {f"lbr_iiwa_joint_{k}": (-math.pi / 2, math.pi / 2) for k in range(1, 8)}
    return pybullet_urdf_throughput(f"{pybullet_data.getDataPath()}/kuka_iiwa/model.urdf", ranges, None, n_frames,
                                    height, width, n_robots, 0.8, seed, warmup, camera_distance,
                                    eye_height=1.5, target_height=0.5, fov_deg=50.0)


def pybullet_urdf_throughput(urdf_path: str, joint_ranges: dict[str, tuple[float, float]],
                             fixed: dict[str, float] | None = None, n_frames: int = 30, height: int = 480,
                             width: int = 640, n_robots: int = 3, spacing: float = 0.8, seed: int = 0,
                             warmup: int = 2, camera_distance: float = 2.2, eye_height: float = 1.2,
                             target_height: float = 0.4, fov_deg: float = 60.0) -> float:
    """Images per second of pybullet TinyRenderer (RGB + depth + segmentation per frame)
    drawing ``n_robots`` copies of a URDF (our decimated meshes: the same triangles we
    ray-cast) ``spacing`` m apart; each frame draws new joint values uniformly in
    ``joint_ranges`` (joint name -> (low, high)), ``fixed`` joints held, from a fixed camera
    ``camera_distance`` m in front of the middle robot (its eye ``eye_height`` m up, aimed at
    ``target_height`` m, ``fov_deg`` degrees of vertical view)."""
    if n_frames < 1 or height < 1 or width < 1 or n_robots < 1:
        raise ValueError("n_frames, height, width and n_robots must be positive")
    p, _ = _import_pybullet()
    rng = np.random.default_rng(seed)
    cid = p.connect(p.DIRECT)
    try:
        bodies = [p.loadURDF(str(urdf_path), [spacing * (i - (n_robots - 1) / 2), 0, 0], useFixedBase=True,
                             physicsClientId=cid) for i in range(n_robots)]
        names = {p.getJointInfo(bodies[0], j, physicsClientId=cid)[1].decode(): j
                 for j in range(p.getNumJoints(bodies[0], physicsClientId=cid))}
        for b in bodies:
            for name, value in (fixed or {}).items():
                p.resetJointState(b, names[name], value, physicsClientId=cid)
        sampled = [(names[n], lo, hi) for n, (lo, hi) in joint_ranges.items()]
        view = p.computeViewMatrix(cameraEyePosition=[0.0, -camera_distance, eye_height],
                                   cameraTargetPosition=[0, 0, target_height], cameraUpVector=[0, 0, 1],
                                   physicsClientId=cid)
        proj = p.computeProjectionMatrixFOV(fov=fov_deg, aspect=width / height, nearVal=0.05, farVal=10,
                                            physicsClientId=cid)

        def frame():
            for b in bodies:
                for j, lo, hi in sampled:
                    p.resetJointState(b, j, rng.uniform(lo, hi), physicsClientId=cid)
            return p.getCameraImage(width, height, view, proj, renderer=p.ER_TINY_RENDERER, physicsClientId=cid)

        return frames_per_second(frame, n_frames, warmup)
    finally:
        p.disconnect(cid)


def pybullet_render(urdf_path: str, joint_values: dict[str, float], camera_pose: np.ndarray, K: np.ndarray,
                    height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """pybullet's TinyRenderer drawing one robot (base at the world origin) with joints set
    by name: (silhouette (H, W) bool, RGB (H, W, 3) uint8). For tests and the renderer
    comparison; raises ImportError without pybullet."""
    p, _ = _import_pybullet()
    cid = p.connect(p.DIRECT)
    try:
        body = p.loadURDF(str(urdf_path), useFixedBase=True, physicsClientId=cid)
        for j in range(p.getNumJoints(body, physicsClientId=cid)):
            name = p.getJointInfo(body, j, physicsClientId=cid)[1].decode()
            if name in joint_values:
                p.resetJointState(body, j, float(joint_values[name]), physicsClientId=cid)
        view, projection = opengl_camera(K, camera_pose, width, height, near=0.01)
        _, _, rgba, _, seg = p.getCameraImage(width, height, view.T.flatten().tolist(),
                                              projection.T.flatten().tolist(), renderer=p.ER_TINY_RENDERER,
                                              physicsClientId=cid)
        seg = np.asarray(seg).reshape(height, width)
        rgb = np.asarray(rgba, np.uint8).reshape(height, width, 4)[..., :3]
        return seg >= 0, rgb
    finally:
        p.disconnect(cid)


if __name__ == "__main__":  # python -m robotpose_lib.bench.pybullet_baseline: the baseline alone
    print(f"pybullet TinyRenderer, 3 KUKA iiwa, 480x640, RGB+depth+seg: {pybullet_kuka_throughput():.1f} images/s")
