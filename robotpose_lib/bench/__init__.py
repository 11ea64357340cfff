"""`robotpose bench [NAME ...]`: benchmarks that print figures and ratios against
baselines measured in the same run. Each benchmark lives in its own module with a
``main(argv)``; with no name, all of them run in turn.
"""
from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "synth": "robotpose_lib.bench.synth",            # sample throughput vs pybullet TinyRenderer
    "localization": "robotpose_lib.bench.localization",  # training throughput, inference latency
    "runtime": "robotpose_lib.bench.runtime",        # the paper's Table II, vs library baselines
    "decode": "robotpose_lib.bench.decode",          # NMS and LoG against scipy / skimage
    "train": "robotpose_lib.bench.train",            # training step: shipped recipe vs fp32 eager
    "aspect": "robotpose_lib.bench.aspect",          # depth ratio per image aspect (own photos)
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print("usage: robotpose bench [" + "|".join(BENCHMARKS) + "] [ARGS...]")
        return 0
    names = [argv.pop(0)] if argv and argv[0] in BENCHMARKS else list(BENCHMARKS)
    if argv and not argv[0].startswith("-"):
        raise ValueError(f"unknown benchmark {argv[0]!r}; choose from {', '.join(BENCHMARKS)}")
    status = 0
    for name in names:
        print(f"== bench {name} ==", flush=True)
        module = importlib.import_module(BENCHMARKS[name])
        status |= int(module.main(argv) or 0)
    return status
