"""`robotpose bench synth`: full synthetic samples per second (image and every ground truth
array) at 480x640 with 3 robots, against pybullet's CPU renderer (TinyRenderer) drawing
three of pybullet_data's KUKA arms at the same size, measured in the same run.

Two figures per robot: one process (what a chapter cell sees) and one process per CPU core
(what training sees with DataLoader workers).
"""
from __future__ import annotations

import multiprocessing as mp
import os
import time
from typing import Sequence

from ..synth import generate, params_for

BENCH_SEED = 0


def _three_robot_params(robot: str):
    return params_for(robot, min_robots=3, max_robots=3, theta_vr=1.0)


def _render_range(args) -> int:
    robot, start, n, height, width, batch = args
    params = _three_robot_params(robot)
    for first in range(start, start + n, batch):
        generate(robot, BENCH_SEED, range(first, min(first + batch, start + n)), height, width, params)
    return n


def synth_throughput(robot: str, n: int, height: int = 480, width: int = 640, batch: int = 8,
                     processes: int = 1) -> float:
    """Samples per second of :func:`~robotpose_lib.synth.generate` with 3 robots per scene,
    after one warm-up batch per process. ``processes`` > 1 splits the work across
    forked worker processes, like DataLoader workers."""
    _render_range((robot, 0, batch, height, width, batch))  # warm-up: caches, photos
    if processes <= 1:
        start = time.perf_counter()
        _render_range((robot, 1000, n, height, width, batch))
        return n / (time.perf_counter() - start)
    per = max(batch, n // processes)
    jobs = [(robot, 1000 + k * per, per, height, width, batch) for k in range(processes)]
    with mp.get_context("fork").Pool(processes) as pool:
        pool.map(_render_range, [(robot, 0, batch, height, width, batch)] * processes)  # warm-up
        start = time.perf_counter()
        done = sum(pool.map(_render_range, jobs))
    return done / (time.perf_counter() - start)


def benchmark(n: int = 96, batch: int = 8, size: tuple[int, int] = (480, 640),
              robots: Sequence[str] = ("kuka_kr16", "panda"), processes: int = os.cpu_count() or 1) -> int:
    """Samples per second per robot, one process and ``processes``, and the ratio to pybullet's
    TinyRenderer (skipped without pybullet). Returns 0."""
    height, width = size
    print(f"size {height}x{width}, 3 robots per scene, full ground truth; target >= 25 samples/s")
    results = {}
    for robot in robots:
        one = synth_throughput(robot, n, height, width, batch, processes=1)
        many = synth_throughput(robot, n, height, width, batch, processes=processes)
        results[robot] = (one, many)
        print(f"ours {robot:<10} 1 process {one:6.1f} samples/s | {processes} processes {many:6.1f} samples/s")
    try:
        from .pybullet_baseline import pybullet_kuka_throughput
        baseline = pybullet_kuka_throughput(n_frames=max(20, n // 2), height=height, width=width, n_robots=3)
    except ImportError as err:
        print(f"baseline skipped: {err}")
        return 0
    print(f"baseline: pybullet TinyRenderer, 3 KUKA iiwa, 1 process: {baseline:6.1f} images/s")
    for robot, (one, many) in results.items():
        print(f"ratio {robot:<10} 1 process {one / baseline:5.2f} | {processes} processes "
              f"{many / baseline:5.2f}  (target >= 0.6)")
    return 0


def _timed(robot: str, params, n: int, height: int, width: int, batch: int) -> float:
    """Samples per second of one process rendering n samples (after one warm-up batch)."""
    generate(robot, BENCH_SEED, range(batch), height, width, params)
    start = time.perf_counter()
    for first in range(1000, 1000 + n, batch):
        generate(robot, BENCH_SEED, range(first, min(first + batch, 1000 + n)), height, width, params)
    return n / (time.perf_counter() - start)


def mesh_benchmark(n: int = 64, batch: int = 8, small: tuple[int, int] = (240, 320),
                   size: tuple[int, int] = (480, 640), robot: str = "panda", primitive: str = "panda_primitive",
                   recipe: str = "sim2real") -> int:
    """Samples/s of a URDF mesh robot (one process, ``recipe``) at ``small`` and at ``size``
    with 3 robots, beside the primitive robot and beside pybullet's TinyRenderer drawing the
    same decimated meshes (3 copies) at ``size``, all measured in this run. Returns 0."""
    from ..robots import get_robot, shipped_urdf

    rows = {}
    for name in (robot, primitive):
        one = _timed(name, params_for(name, recipe), n, *small, batch)
        three = _timed(name, params_for(name, recipe, min_robots=3, max_robots=3, theta_vr=1.0), n, *size, batch)
        rows[name] = (one, three)
    print(f"recipe {recipe}, one process, full ground truth; targets: >= 30 samples/s at {small[0]}x{small[1]}, "
          f">= 0.5x pybullet at {size[0]}x{size[1]} with 3 robots")
    for name, (one, three) in rows.items():
        print(f"ours {name:<10} {small[0]}x{small[1]}: {one:6.1f} samples/s | {size[0]}x{size[1]}, 3 robots: "
              f"{three:6.1f} samples/s")
    try:
        from .pybullet_baseline import pybullet_urdf_throughput
        path, spec = shipped_urdf(robot)
        model = get_robot(robot)
        ranges = dict(zip(model.joint_names, zip(*(t.tolist() for t in model.sample_range))))
        baseline = pybullet_urdf_throughput(str(path), ranges, spec.fixed_joints, n_frames=max(20, n // 2),
                                            height=size[0], width=size[1], n_robots=3)
    except ImportError as err:
        print(f"baseline skipped: {err}")
        return 0
    print(f"baseline: pybullet TinyRenderer, 3 x {robot} ({model.num_triangles} triangles each, the same "
          f"decimated meshes), {size[0]}x{size[1]}: {baseline:6.1f} images/s")
    for name, (_, three) in rows.items():
        print(f"ratio {name:<10} {three / baseline:5.2f} (target >= 0.5, goal 1)")
    try:
        from .meshes import embree_comparison
        e = embree_comparison(robot, n=8, size=size)
        print(f"renderer alone, 3 x {robot} at {size[0]}x{size[1]}: ours {e['ours_ms']:.1f} ms/image, Embree via "
              f"trimesh {e['embree_ms']:.1f} ms/image (ratio {e['embree_ms'] / e['ours_ms']:.2f}); masks agree on "
              f"{100 * e['agreement']:.3f} % of pixels")
    except ImportError as err:
        print(f"Embree comparison skipped: {err}")
    from .meshes import pybullet_agreement
    for name, (low, mean) in pybullet_agreement().items():
        print(f"silhouette IoU with pybullet's render of the same URDF, pose and K, 5 random views, {name}: "
              f"min {low:.4f}, mean {mean:.4f} (target >= 0.97)")
    return 0
