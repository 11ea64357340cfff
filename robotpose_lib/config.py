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


def show_progress(wanted: bool = True) -> bool:
    """Whether to draw a progress bar: ``wanted`` and not switched off by the environment
    variable ``TQDM_DISABLE`` (``make book`` sets it, so that built pages carry no bars;
    an explicit ``disable=`` argument would override tqdm's own reading of it)."""
    return bool(wanted) and os.environ.get("TQDM_DISABLE", "").strip().lower() not in _TRUE


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


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """The mixed-precision type a device runs natively, or None.

    float16 on CUDA (with a GradScaler in training); bfloat16 on CPUs whose instruction
    set has bf16 dot products (AVX512-BF16 or AMX, as oneDNN reports): measured 1.9x the
    float32 training speed of the ``cpu`` model on such a CPU with channels_last
    (``robotpose bench train``). Elsewhere bf16 is emulated and slower, so None.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.float16
    if device.type == "cpu":
        try:
            return torch.bfloat16 if torch.ops.mkldnn._is_mkldnn_bf16_supported() else None
        except (AttributeError, RuntimeError):  # a torch build without oneDNN
            return None
    return None


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


def config_to_dict(config) -> dict:
    """A configuration dataclass as plain JSON values (tuples become lists), for checkpoints."""
    from dataclasses import asdict

    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}


def config_from_dict(cls, d: dict):
    """Rebuild configuration dataclass ``cls`` from :func:`config_to_dict`'s output: lists
    become tuples of ints where the field's default is a tuple.

    Raises:
        ValueError: ``d`` names fields ``cls`` does not have (a checkpoint of another version).
    """
    from dataclasses import MISSING, fields

    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(d) - set(known))
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown fields {unknown}")
    out = dict(d)
    for name, value in d.items():
        default = known[name].default
        if default is not MISSING and isinstance(default, tuple) and value is not None:
            out[name] = tuple(int(v) for v in value)
    return cls(**out)


class ConfigDict:
    """Mixin of the model configuration dataclasses: ``to_dict`` / ``from_dict`` through
    :func:`config_to_dict` and :func:`config_from_dict` (checkpoints store plain dicts)."""

    def to_dict(self) -> dict:
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, d: dict):
        return config_from_dict(cls, d)
