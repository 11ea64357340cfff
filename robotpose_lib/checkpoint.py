"""Atomic, self-describing training checkpoints, and where the reference ones live.

Where: :func:`checkpoint_dir` is the one place that decides the folder of the reference
checkpoints (and their logs and model cards): ``$ROBOTPOSE_CHECKPOINT_DIR`` when set, else
the checkpoints that come with robotpose (:func:`shipped_checkpoint_dir`): inside the
installed package as package data (``robotpose_lib/assets/checkpoints``; a wheel or
``pip install git+...`` puts them there, see ``pyproject.toml``) or, running from a source
checkout, the repository's ``assets/checkpoints``. :func:`reference_path` names one file,
:func:`reference_log` the training log beside it.

A checkpoint is one ``torch.save`` file holding everything needed to continue a run with
the same step count or to rebuild the model for inference:

    format, version, task, robot, config (dict), step, model (state dict),
    optimizer, scheduler, scaler (AMP, or None), rng (torch, numpy, python, cuda),
    extra (task-specific: num_joints, target parameters...)

Writes go to a temporary file in the same directory, are flushed to disk and then
``os.replace``-d over the target, so a run killed at any moment leaves either the old or
the new checkpoint, never half of one. Loading checks the content and raises
:class:`CheckpointError` (a ValueError) with one line naming the file and the problem;
:func:`load_weights` puts a state dict into a model the same way. Rebuilding the model a
checkpoint was trained with is ``tasks.load_model`` (the tasks know the models).
"""
from __future__ import annotations

import os
import pickle
import random
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch

FORMAT, VERSION = "robotpose-checkpoint", 1
REQUIRED_KEYS = ("format", "version", "task", "robot", "config", "step", "model")

CHECKPOINT_DIR_ENV = "ROBOTPOSE_CHECKPOINT_DIR"
_PACKAGE = Path(__file__).resolve().parent
PACKAGED_CHECKPOINT_DIR = _PACKAGE / "assets" / "checkpoints"      # installed package data
SOURCE_CHECKPOINT_DIR = _PACKAGE.parent / "assets" / "checkpoints"  # a source checkout


def shipped_checkpoint_dir() -> Path:
    """The reference checkpoints that come with robotpose: the installed package's
    ``robotpose_lib/assets/checkpoints`` when it exists, else the source checkout's
    ``assets/checkpoints`` (the place they are kept in the repository)."""
    if PACKAGED_CHECKPOINT_DIR.is_dir():
        return PACKAGED_CHECKPOINT_DIR
    return SOURCE_CHECKPOINT_DIR


def checkpoint_dir() -> Path:
    """Folder of the reference checkpoints: ``$ROBOTPOSE_CHECKPOINT_DIR`` when set (tests,
    users with their own references), else :func:`shipped_checkpoint_dir`."""
    return Path(os.environ.get(CHECKPOINT_DIR_ENV) or shipped_checkpoint_dir())


def reference_path(robot: str, task: str = "localization", config: str = "cpu",
                   folder: str | Path | None = None) -> Path:
    """``{folder}/{robot}_{task}_{config}.pt``; ``folder`` defaults to :func:`checkpoint_dir`
    (the file need not exist)."""
    return Path(folder if folder is not None else checkpoint_dir()) / f"{robot}_{task}_{config}.pt"


def reference_log(robot: str, task: str = "localization", config: str = "cpu", part: str = "",
                  folder: str | Path | None = None) -> Path:
    """The training log shipped beside a reference checkpoint:
    ``{folder}/{robot}_{task}_{config}{part}.metrics.jsonl``; ``part`` names an earlier run
    of the same model (".part1", ".eos1", ...). The file need not exist."""
    folder = Path(folder if folder is not None else checkpoint_dir())
    return folder / f"{robot}_{task}_{config}{part}.metrics.jsonl"


def find_reference(robot: str, task: str = "localization", config: str = "cpu",
                   folder: str | Path | None = None) -> Path | None:
    """:func:`reference_path` when that file exists, else None."""
    path = reference_path(robot, task, config, folder)
    return path if path.is_file() else None


def describe_checkpoint_dir(folder: str | Path | None = None) -> str:
    """Where a missing reference was looked for, for error messages."""
    if folder is not None:
        return str(folder)
    if os.environ.get(CHECKPOINT_DIR_ENV):
        return f"{checkpoint_dir()} (${CHECKPOINT_DIR_ENV})"
    return str(checkpoint_dir())


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message is one line naming the file."""


def rng_state() -> dict:
    """RNG states of torch (CPU and CUDA), numpy's global generator and python's random."""
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
             "python": random.getstate(), "cuda": None}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned (CUDA only when present on both sides)."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        if len(state["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, payload: dict) -> Path:
    """Write ``payload`` (must hold REQUIRED_KEYS except format/version) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "version": VERSION, **payload}
    missing = [k for k in REQUIRED_KEYS if k not in payload]
    if missing:
        raise ValueError(f"checkpoint payload lacks {missing}")
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_checkpoint(path: str | Path, expect: dict | None = None, map_location="cpu") -> dict:
    """Read and check a checkpoint.

    Args:
        path: checkpoint file.
        expect: optional values that must match, e.g. {"task": "localization",
            "robot": "panda", "config": {...}}; dicts are compared field by field.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: unreadable, not a robotpose checkpoint, or a mismatch (one line).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    try:
        # The payload holds numpy RNG state and plain Python values, so weights_only=False;
        # only load checkpoints you trust (as with any pickle).
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile,
            OSError, ValueError, AttributeError, ImportError, IndexError, KeyError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:160]
        raise CheckpointError(f"{path}: corrupt or unreadable checkpoint ({reason})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a robotpose checkpoint")
    missing = [k for k in REQUIRED_KEYS if k not in ckpt]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {', '.join(missing)}")
    if ckpt["version"] != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {ckpt['version']}, expected {VERSION}")
    for key, want in (expect or {}).items():
        have = ckpt.get(key)
        if isinstance(want, dict) and isinstance(have, dict):
            for field in sorted(set(want) | set(have)):
                if _norm(want.get(field)) != _norm(have.get(field)):
                    raise CheckpointError(
                        f"{path}: {key}.{field} is {have.get(field)!r} in the checkpoint, "
                        f"{want.get(field)!r} requested")
        elif _norm(have) != _norm(want):
            raise CheckpointError(f"{path}: {key} is {have!r} in the checkpoint, {want!r} requested")
    return ckpt


def load_weights(model: torch.nn.Module, state: dict, path: str | Path, optional: tuple[str, ...] = ()) -> None:
    """``model.load_state_dict(state)``; weights that do not fit the model are a one-line
    :class:`CheckpointError` naming ``path``. Weights of the model whose names start with
    one of ``optional`` may be absent from ``state`` (they keep their initialisation)."""
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.startswith(tuple(optional))] if optional else missing
        if missing or unexpected:
            raise RuntimeError(f"missing {missing[:3]}, unexpected {unexpected[:3]}")
    except (RuntimeError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: model weights do not fit the configuration "
                              f"({str(exc).splitlines()[0][:120]})") from None


def _norm(value):
    """Tuples and lists compare equal (JSON round trips turn one into the other)."""
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    return value


def replace_localization(ckpt: dict, localization: dict, source: str | Path) -> dict:
    """An instance checkpoint (recurrent or one-pass, ``ckpt``) whose localization net is
    the one of the localization checkpoint ``localization``: its weights, its architecture
    (``config["localization"]``) and its depth coding (``extra["targets"]``), with
    ``source`` recorded as ``extra["localization_checkpoint"]``. The instance weights are
    kept: the instance model then reads a newer localization net than it was trained on,
    so measure it again.

    Raises:
        CheckpointError: the two checkpoints are for different robots, or ``localization``
            is not a localization checkpoint.
    """
    if localization.get("task") != "localization":
        raise CheckpointError(f"{source}: a {localization.get('task')!r} checkpoint; expected 'localization'")
    if localization.get("robot") != ckpt.get("robot"):
        raise CheckpointError(f"{source}: made for {localization.get('robot')!r}, the instance checkpoint for "
                              f"{ckpt.get('robot')!r}")
    weights = {k: v for k, v in ckpt["model"].items() if not k.startswith("localization.")}
    weights.update({f"localization.{k}": v for k, v in localization["model"].items()})
    return {**ckpt, "model": weights,
            "config": {**ckpt["config"], "localization": dict(localization["config"])},
            "extra": {**ckpt["extra"], "localization_checkpoint": str(source),
                      "targets": localization["extra"]["targets"]}}
