"""`robotpose bench synth`: full synthetic samples per second (image and every ground truth
array) at 480x640 with 3 robots, against pybullet's CPU renderer (TinyRenderer) drawing
three of pybullet_data's KUKA arms at the same size, measured in the same run."""
from __future__ import annotations

import argparse
import time

import torch

from ..synth import generate, params_for


def synth_throughput(robot: str, n: int, height: int, width: int, batch: int, seed: int = 0) -> float:
    """Samples per second of :func:`~robotpose_lib.synth.generate` (after one warm-up batch)."""
    params = params_for(robot, min_robots=3, max_robots=3, theta_vr=1.0)
    generate(robot, seed, range(batch), height, width, params)  # warm-up: caches, photos
    start = time.perf_counter()
    done = 0
    while done < n:
        indices = range(1000 + done, 1000 + done + batch)
        generate(robot, seed, indices, height, width, params)
        done += batch
    return done / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="robotpose bench synth")
    parser.add_argument("--n", type=int, default=96, help="samples to time per robot")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", default="480x640")
    parser.add_argument("--robots", default="kuka_kr16,panda")
    args = parser.parse_args(argv)
    height, width = (int(v) for v in args.size.split("x"))
    print(f"torch threads: {torch.get_num_threads()}, size {height}x{width}, 3 robots per scene")
    results = {}
    for robot in args.robots.split(","):
        results[robot] = synth_throughput(robot, args.n, height, width, args.batch)
        print(f"ours   {robot:<10} {results[robot]:7.1f} samples/s  (target >= 25)")
    try:
        from .pybullet_baseline import pybullet_kuka_throughput
        baseline = pybullet_kuka_throughput(n_frames=max(20, args.n // 2), height=height, width=width, n_robots=3)
    except ImportError as err:
        print(f"baseline skipped: {err}")
        return 0
    print(f"pybullet TinyRenderer, 3 KUKA iiwa {baseline:7.1f} images/s")
    for robot, value in results.items():
        print(f"ratio  {robot:<10} {value / baseline:7.2f}  (target >= 0.6)")
    return 0
