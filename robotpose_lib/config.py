"""Run-wide switches: quick mode and the default device.

Quick mode is the one switch that shrinks sizes everywhere (tests, CI, laptop runs of the
book). It is on when the environment variable ``ROBOTPOSE_QUICK`` is set to 1/true/yes;
every chapter and command reads it through :func:`quick_mode` so that the same code path
runs in both modes.
"""
from __future__ import annotations

import os

import torch

_TRUE = {"1", "true", "yes", "on"}


def quick_mode() -> bool:
    """True when ROBOTPOSE_QUICK asks for small, fast runs."""
    return os.environ.get("ROBOTPOSE_QUICK", "").strip().lower() in _TRUE


def pick(quick, full):
    """Return ``quick`` in quick mode and ``full`` otherwise (for sizes in chapters)."""
    return quick if quick_mode() else full


def default_device() -> torch.device:
    """CUDA when present, else CPU. Nothing in the library assumes CUDA."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device: str | torch.device | None) -> torch.device:
    """Turn None/'auto'/str into a torch.device (None and 'auto' mean default_device())."""
    if device is None or device == "auto":
        return default_device()
    return torch.device(device)


class torch_threads:
    """Context manager: run the block with ``n`` intra-op torch threads, then restore.

    The ray caster and compositing are many small tensor ops; on a small, busy CPU
    torch's worker threads spend more time waiting on each other than computing (about
    3x slower with 2 threads than with 1 on the 2-core reference machine), so rendering
    runs single-threaded and parallelism comes from DataLoader worker processes instead.
    """

    def __init__(self, n: int):
        self.n = n

    def __enter__(self):
        self.previous = torch.get_num_threads()
        if self.previous != self.n:
            torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        if torch.get_num_threads() != self.previous:
            torch.set_num_threads(self.previous)
        return False
