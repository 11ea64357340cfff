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
