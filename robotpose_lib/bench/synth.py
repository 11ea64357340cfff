"""`robotpose bench synth`: full synthetic samples per second (image and every ground truth
array) at 480x640 with 3 robots, against pybullet's CPU renderer (TinyRenderer) drawing
three of pybullet_data's KUKA arms at the same size, measured in the same run.

Two figures per robot: one process (what a chapter cell sees) and one process per CPU core
(what training sees with DataLoader workers).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="robotpose bench synth")
    parser.add_argument("--n", type=int, default=96, help="samples to time per robot and setting")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", default="480x640")
    parser.add_argument("--robots", default="kuka_kr16,panda")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    height, width = (int(v) for v in args.size.split("x"))
    print(f"size {height}x{width}, 3 robots per scene, full ground truth; target >= 25 samples/s")
    results = {}
    for robot in args.robots.split(","):
        one = synth_throughput(robot, args.n, height, width, args.batch, processes=1)
        many = synth_throughput(robot, args.n, height, width, args.batch, processes=args.processes)
        results[robot] = (one, many)
        print(f"ours {robot:<10} 1 process {one:6.1f} samples/s | {args.processes} processes {many:6.1f} samples/s")
    try:
        from .pybullet_baseline import pybullet_kuka_throughput
        baseline = pybullet_kuka_throughput(n_frames=max(20, args.n // 2), height=height, width=width, n_robots=3)
    except ImportError as err:
        print(f"baseline skipped: {err}")
        return 0
    print(f"baseline: pybullet TinyRenderer, 3 KUKA iiwa, 1 process: {baseline:6.1f} images/s")
    for robot, (one, many) in results.items():
        print(f"ratio {robot:<10} 1 process {one / baseline:5.2f} | {args.processes} processes "
              f"{many / baseline:5.2f}  (target >= 0.6)")
    return 0
