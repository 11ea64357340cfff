"""Atomic, self-describing training checkpoints, and where the reference ones live.

Where: :func:`models_dir` is the one place that decides the folder of the reference
models, one folder per model (``records.py`` describes a folder: ``model.pt``, its
training log, ``lineage.json``, ``eval.json``, ``card.md``): ``$ROBOTPOSE_MODELS_DIR`` when
set, else the models that come with robotpose (:func:`shipped_models_dir`): inside the
installed package as package data (``robotpose_lib/assets/models``; a wheel or ``pip
install git+...`` puts them there, see ``pyproject.toml``) or, running from a source
checkout, the repository's ``assets/models``. :func:`model_folder` names a model's folder,
:func:`reference_path` its weights.

A checkpoint is one ``torch.save`` file (a zip of ``data.pkl`` and the tensors) holding
everything needed to continue a run with the same step count or to rebuild the model for
inference. It is a dict of tensors and plain values only (str, int, float, bool, None,
list, tuple, dict), so it loads with ``torch.load(..., weights_only=True)`` and never runs
code from the file (format version 3)::

    format     "robotpose-checkpoint"
    version    3 (2: the same, but robot "panda" meant today's "panda_primitive" and
               "panda_mesh" today's "panda"; 1: as 2, but ``rng["numpy"]`` was numpy's
               state tuple with an array). Older files are read with today's names
               (``robots.RENAMED_ROBOTS``).
    task       str: "localization", "instances", "onepass" (``tasks.TASKS``)
    robot      str: the robot name
    robot_source  dict or None, optional: for a robot from a user's URDF, ``{"urdf": path,
               "spec": RobotSpec fields}`` (``robots.robot_source``), so that loading
               registers the robot again (``robots.ensure_robot``)
    config     dict: the model configuration as plain values
    step       int >= 0: optimiser steps done
    model      dict str -> Tensor: the model's state dict
    extra      dict, optional: task values (num_joints, target parameters, ...)
    settings   dict, optional: ``train.TrainSettings`` of the run
    optimizer, scheduler   dict, training checkpoints only: their state dicts
    scaler     dict or None: the AMP GradScaler state (CUDA runs)
    rng        dict, training checkpoints only (:func:`rng_state`): torch (uint8 tensor),
               cuda (list of uint8 tensors or None), numpy ({"name", "keys" int64 tensor,
               "pos", "has_gauss", "cached_gaussian"}), python (``random.getstate()``)

The reference checkpoints (``scripts/ship_model.py``) keep only the inference keys
(no optimizer, scheduler, scaler, rng).

Loading (:func:`load_checkpoint`) allows exactly these types (and, for version-1 training
checkpoints, numpy's array reconstruction: ``NUMPY_GLOBALS``). A file that asks for
anything else (a pickle calling ``os.system``, any class or function) is refused before
anything of it runs, with one line naming the file and what it asked for; TorchScript
archives, zips without ``data.pkl``, plain pickles, empty, truncated or random files and
fields of the wrong type are each one line too (:class:`CheckpointError`, a ValueError),
without Python warnings. :func:`load_weights` puts a state dict into a model and names the
missing, unexpected and differently shaped weights when they do not fit.

Writes go to a temporary file in the same directory, are flushed to disk and then
``os.replace``-d over the target (``fileio.atomic_file``), so a run killed at any moment
leaves either the old or the new checkpoint, never half of one (the temporary
``{name}.*.tmp`` a kill leaves is removed by the next run in that folder). Rebuilding the
model a checkpoint was trained with is ``tasks.load_model`` (the tasks know the models).
"""
from __future__ import annotations

import os
import pickle
import random
import re
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch

from .fileio import atomic_file
from .robots import name_today  # version 3 renamed the Panda (read older files with today's names)

FORMAT, VERSION = "robotpose-checkpoint", 3
# What a shipped model keeps (no optimiser, schedule or RNG state): scripts/ship_model.py
# writes these keys only.
INFERENCE_KEYS = ("task", "robot", "robot_source", "config", "step", "model", "extra", "settings")
READABLE_VERSIONS = (1, 2, 3)
REQUIRED_KEYS = ("format", "version", "task", "robot", "config", "step", "model")

MODELS_DIR_ENV = "ROBOTPOSE_MODELS_DIR"
MODEL_FILE = "model.pt"
_PACKAGE = Path(__file__).resolve().parent
PACKAGED_MODELS_DIR = _PACKAGE / "assets" / "models"      # installed package data
SOURCE_MODELS_DIR = _PACKAGE.parent / "assets" / "models"  # a source checkout


def shipped_models_dir() -> Path:
    """The model folders that come with robotpose: the installed package's
    ``robotpose_lib/assets/models`` when it exists, else the source checkout's
    ``assets/models`` (the place they are kept in the repository)."""
    if PACKAGED_MODELS_DIR.is_dir():
        return PACKAGED_MODELS_DIR
    return SOURCE_MODELS_DIR


def models_dir() -> Path:
    """Folder of the model folders: ``$ROBOTPOSE_MODELS_DIR`` when set (tests, users with
    their own references), else :func:`shipped_models_dir`."""
    return Path(os.environ.get(MODELS_DIR_ENV) or shipped_models_dir())


def model_name(robot: str, task: str = "localization", config: str = "cpu") -> str:
    """The name of a reference model's folder: ``{robot}_{task}_{config}``."""
    return f"{robot}_{task}_{config}"


def model_folder(robot: str, task: str = "localization", config: str = "cpu",
                 folder: str | Path | None = None) -> Path:
    """``{folder}/{robot}_{task}_{config}/``; ``folder`` defaults to :func:`models_dir` (the
    folder need not exist)."""
    return Path(folder if folder is not None else models_dir()) / model_name(robot, task, config)


def reference_path(robot: str, task: str = "localization", config: str = "cpu",
                   folder: str | Path | None = None) -> Path:
    """The weights of a reference model, ``{folder}/{robot}_{task}_{config}/model.pt``
    (:func:`model_folder`; the file need not exist)."""
    return model_folder(robot, task, config, folder) / MODEL_FILE


def find_reference(robot: str, task: str = "localization", config: str = "cpu",
                   folder: str | Path | None = None) -> Path | None:
    """:func:`reference_path` when that file exists, else None."""
    path = reference_path(robot, task, config, folder)
    return path if path.is_file() else None


# The instance models a robot may ship, the paper's recurrent (ConvGRU) one first: it wins ties.
INSTANCE_MODELS = ("instances", "onepass")


def instance_model_score(evals: dict) -> float | None:
    """The figure :func:`default_instance_task` ranks instance models by, from a model's
    eval.json (``evals``): mask AP at IoU 0.5 plus counting accuracy on the synthetic
    validation scenes ("validation", ``robotpose eval instances|onepass --validation``),
    each in [0, 1] and weighing the same. Neither the test set, which reports the chosen
    model's figures, nor the real dev photos enter it. None when a figure is missing."""
    validation = (evals.get("validation") or {}).get("figures") or {}
    terms = [validation.get("mask_ap50"), validation.get("counting_accuracy")]
    return None if any(t is None for t in terms) else float(sum(terms))


def default_instance_task(robot: str, config: str = "cpu", folder: str | Path | None = None) -> str:
    """The instance model that ``Predictor.from_pretrained`` and ``robotpose predict`` use
    for ``robot`` by default: "instances" (the paper's recurrent ConvGRU model) or
    "onepass" (ours), chosen by a stated rule on measured figures.

    Rule: among the robot's shipped instance models with a validation evaluation in their
    eval.json, the one with the highest :func:`instance_model_score`: mask AP@0.5 +
    counting accuracy on synthetic validation scenes (each in [0, 1], equal weights; the
    test set and the dev photos only measure); a tie, or no measured candidate, keeps the
    paper's model ("instances"). A robot that ships one instance model uses that one."""
    import json

    shipped = [t for t in INSTANCE_MODELS if (model_folder(robot, t, config, folder) / MODEL_FILE).is_file()]
    if len(shipped) == 1:  # nothing to choose between
        return shipped[0]
    evals = {}
    for task in shipped:
        path = model_folder(robot, task, config, folder) / "eval.json"
        if path.is_file():
            evals[task] = json.loads(path.read_text())
    scores = {t: s for t, e in evals.items() if (s := instance_model_score(e)) is not None}
    return max(scores, key=lambda t: (scores[t], -INSTANCE_MODELS.index(t))) if scores else INSTANCE_MODELS[0]


def describe_models_dir(folder: str | Path | None = None) -> str:
    """Where a missing reference was looked for, for error messages."""
    if folder is not None:
        return str(folder)
    if os.environ.get(MODELS_DIR_ENV):
        return f"{models_dir()} (${MODELS_DIR_ENV})"
    return str(models_dir())


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message is one line naming the file."""


def _numpy_globals() -> list:
    """What numpy arrays in a version-1 checkpoint's RNG state need, and nothing else."""
    core = getattr(np, "_core", None) or np.core
    out = [core.multiarray._reconstruct, (core.multiarray._reconstruct, "numpy.core.multiarray._reconstruct"),
           np.ndarray, np.dtype]
    if hasattr(np, "dtypes"):
        out.append(np.dtypes.UInt32DType)
    return out


NUMPY_GLOBALS = _numpy_globals()


def rng_state() -> dict:
    """RNG states of torch (CPU and CUDA), numpy's global generator and python's random,
    as tensors and plain values (see the module docstring)."""
    state = _plain_rng({"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
                        "python": random.getstate(), "cuda": None})
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _plain_rng(state: dict) -> dict:
    """A version-1 RNG state (numpy's tuple with an array) as version 2 stores it."""
    name, keys, pos, has_gauss, cached = state["numpy"]
    return {**state, "numpy": {"name": str(name), "keys": torch.from_numpy(np.asarray(keys, np.int64)),
                               "pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}}


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned (CUDA only when present on both sides);
    version-1 checkpoints' numpy state tuples are read as well."""
    torch.set_rng_state(state["torch"])
    numpy_state = state["numpy"]
    if isinstance(numpy_state, dict):
        keys = np.asarray(torch.as_tensor(numpy_state["keys"]).numpy(), np.uint32)
        numpy_state = (numpy_state["name"], keys, int(numpy_state["pos"]), int(numpy_state["has_gauss"]),
                       float(numpy_state["cached_gaussian"]))
    np.random.set_state(numpy_state)
    python = state["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))
    if state.get("cuda") is not None and torch.cuda.is_available():
        if len(state["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, payload: dict) -> Path:
    """Write ``payload`` (must hold REQUIRED_KEYS except format/version) atomically.

    Raises:
        ValueError: a required key is missing, or a value a checkpoint may not hold (it
            would not load with ``weights_only=True``).
    """
    path = Path(path)
    payload = {"format": FORMAT, "version": VERSION,
               **{k: v for k, v in payload.items() if k not in ("format", "version")}}
    if isinstance(payload.get("rng"), dict) and isinstance(payload["rng"].get("numpy"), tuple):
        payload["rng"] = _plain_rng(payload["rng"])  # a version-1 state saved again
    missing = [k for k in REQUIRED_KEYS if k not in payload]
    if missing:
        raise ValueError(f"checkpoint payload lacks {missing}")
    _check_plain(payload, "payload")
    with atomic_file(path) as f:
        torch.save(payload, f)
    return path


_PLAIN = (str, int, float, bool, type(None))


def _check_plain(value, where: str) -> None:
    """Only tensors and plain values, the types ``weights_only=True`` reads back."""
    if isinstance(value, (torch.Tensor, *_PLAIN)):
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, (str, int)):
                raise ValueError(f"checkpoint {where}: key {k!r} is a {type(k).__name__} (str or int only)")
            _check_plain(v, f"{where}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain(v, f"{where}[{i}]")
    else:
        raise ValueError(f"checkpoint {where}: a {type(value).__module__}.{type(value).__name__} "
                         f"(only tensors and plain values load safely)")


def _sniff(path: Path) -> None:
    """Refuse, before ``torch.load`` sees it, what is plainly not a PyTorch checkpoint."""
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"{path}: corrupt or unreadable checkpoint (empty file)")
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise CheckpointError(f"{path}: corrupt or unreadable checkpoint (a damaged zip: {exc})") from None
        if any(n.endswith("constants.pkl") or "/code/" in n for n in names):
            raise CheckpointError(f"{path}: a TorchScript archive (torch.jit.save), not a robotpose checkpoint; "
                                  f"not loaded")
        if not any(n.endswith("data.pkl") for n in names):
            raise CheckpointError(f"{path}: a zip file without data.pkl, not a PyTorch checkpoint; not loaded")
        return
    with open(path, "rb") as f:
        head = f.read(2)
    if not head.startswith(b"\x80"):
        raise CheckpointError(f"{path}: corrupt or unreadable checkpoint (neither a PyTorch zip nor a pickle)")


_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def _read(path: Path, map_location) -> object:
    """``torch.load(weights_only=True)`` with one-line errors and no warnings."""
    _sniff(path)
    try:
        with warnings.catch_warnings(), torch.serialization.safe_globals(NUMPY_GLOBALS):
            warnings.simplefilter("ignore")
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        found = _GLOBAL.search(text)
        if found:
            raise CheckpointError(f"{path}: refused: the file asks to run {found.group(1)}, which a "
                                  f"checkpoint never holds (only tensors and plain values are loaded); "
                                  f"nothing of it ran") from None
        if "Weights only load failed" in text:
            lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
            reason = next((ln for ln in lines if ln.startswith(("Unsupported", "Unpickling", "Trying"))),
                          "content a checkpoint never holds")
            raise CheckpointError(f"{path}: refused, not a PyTorch checkpoint of tensors and plain values "
                                  f"({reason[:120]}); nothing of it ran") from None
        raise CheckpointError(f"{path}: corrupt or unreadable checkpoint ({_first_line(exc)})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, AttributeError, ImportError,
            IndexError, KeyError, TypeError, MemoryError, OverflowError) as exc:
        raise CheckpointError(f"{path}: corrupt or unreadable checkpoint ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return (lines[0] if lines else type(exc).__name__)[:160]


# field -> (accepted types, description); REQUIRED_KEYS must be present, the others may be
FIELD_TYPES = {
    "format": ((str,), "a string"), "version": ((int,), "an integer"), "task": ((str,), "a string"),
    "robot": ((str,), "a string"), "config": ((dict,), "a dict"), "step": ((int,), "an integer >= 0"),
    "model": ((dict,), "a state dict (name -> tensor)"), "extra": ((dict,), "a dict"),
    "settings": ((dict, type(None)), "a dict"), "optimizer": ((dict,), "a dict"),
    "scheduler": ((dict,), "a dict"), "scaler": ((dict, type(None)), "a dict or None"), "rng": ((dict,), "a dict"),
    "robot_source": ((dict, type(None)), "a dict or None"),
}


def _check_fields(path: Path, ckpt: dict) -> None:
    """One line for the first field of the wrong type."""
    for key, (types, text) in FIELD_TYPES.items():
        if key not in ckpt:
            continue
        value = ckpt[key]
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if ok and key == "step":
            ok = value >= 0
        if ok and key == "model":
            bad = [k for k, v in value.items() if not (isinstance(k, str) and isinstance(v, torch.Tensor))]
            if bad:
                raise CheckpointError(f"{path}: field 'model' holds {len(bad)} entries that are not name -> tensor "
                                      f"(e.g. {bad[0]!r})")
        if not ok:
            raise CheckpointError(f"{path}: field {key!r} is {type(value).__name__} {_short(value)}, expected {text}")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def load_checkpoint(path: str | Path, expect: dict | None = None, map_location="cpu") -> dict:
    """Read and check a checkpoint; nothing in the file runs (``weights_only=True``).

    Args:
        path: checkpoint file.
        expect: optional values that must match, e.g. {"task": "localization",
            "robot": "panda", "config": {...}}; dicts are compared field by field.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: refused (the file holds code or objects), unreadable, not a
            robotpose checkpoint, a field of the wrong type, or a mismatch (one line).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    ckpt = _read(path, map_location)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a robotpose checkpoint")
    missing = [k for k in REQUIRED_KEYS if k not in ckpt]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {', '.join(missing)}")
    _check_fields(path, ckpt)
    if ckpt["version"] not in READABLE_VERSIONS:
        newer = " (written by a newer robotpose: upgrade it)" if isinstance(ckpt["version"], int) \
            and ckpt["version"] > VERSION else ""
        raise CheckpointError(f"{path}: checkpoint version {ckpt['version']}, expected one of "
                              f"{', '.join(map(str, READABLE_VERSIONS))}{newer}")
    today = name_today(ckpt["robot"], ckpt.get("robot_source")) if ckpt["version"] < 3 else ckpt["robot"]
    renamed = (f" (a version-{ckpt['version']} file: its robot {ckpt['robot']!r} is today's {today!r})"
               if today != ckpt["robot"] else "")
    ckpt["robot"] = today
    for key, want in (expect or {}).items():
        have = ckpt.get(key)
        if isinstance(want, dict) and isinstance(have, dict):
            for field in sorted(set(want) | set(have)):
                if _norm(want.get(field)) != _norm(have.get(field)):
                    raise CheckpointError(
                        f"{path}: {key}.{field} is {have.get(field)!r} in the checkpoint, "
                        f"{want.get(field)!r} requested")
        elif _norm(have) != _norm(want):
            raise CheckpointError(f"{path}: {key} is {have!r} in the checkpoint, {want!r} requested"
                                  + (renamed if key == "robot" else ""))
    return ckpt


def _few(names: list, n: int = 3) -> str:
    shown = ", ".join(str(x) for x in names[:n])
    return shown + (f", ... {len(names) - n} more" if len(names) > n else "")


def _shape(t) -> str:
    return "x".join(str(d) for d in t.shape) or "scalar"


def load_weights(model: torch.nn.Module, state: dict, path: str | Path, optional: tuple[str, ...] = ()) -> None:
    """``model.load_state_dict(state)``; weights that do not fit the model are a one-line
    :class:`CheckpointError` naming ``path``, the model class and a few of the missing,
    unexpected and differently shaped weights. Weights of the model whose names start
    with one of ``optional`` may be absent from ``state`` (they keep their
    initialisation)."""
    name = type(model).__name__
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: the weights for {name} are a {type(state).__name__}, not a state dict")
    own = model.state_dict()
    missing = [k for k in own if k not in state and not (optional and k.startswith(tuple(optional)))]
    unexpected = [k for k in state if k not in own]
    not_tensor = [k for k in own if k in state and not isinstance(state[k], torch.Tensor)]
    shapes = [f"{k} {_shape(state[k])} in the file, {_shape(own[k])} in the model" for k in own
              if k in state and isinstance(state[k], torch.Tensor) and state[k].shape != own[k].shape]
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing ({_few(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected ({_few(unexpected)})")
    if shapes:
        parts.append(f"{len(shapes)} of another shape ({_few(shapes, 2)})")
    if not_tensor:
        parts.append(f"{len(not_tensor)} not tensors ({_few(not_tensor)})")
    if parts:
        raise CheckpointError(f"{path}: weights do not fit {name}: " + "; ".join(parts))
    try:
        model.load_state_dict(state, strict=False)
    except (RuntimeError, KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: weights do not fit {name} ({_first_line(exc)[:120]})") from None


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
