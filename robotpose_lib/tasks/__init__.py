"""The training tasks: what the generic trainer (``train.py``) trains, and the one way back
from a checkpoint to a model.

* ``localization.py``: :class:`LocalizationTask`, the joint localization model (paper
  III-B), and its factory :func:`localization_task`;
* ``instances.py``: :class:`InstanceTask` with :class:`InstanceModel` (localization +
  recurrent instance network, paper III-C) and its factory :func:`instance_task`;
* ``onepass.py``: :class:`OnePassTask` with :class:`OnePassModel` (localization + the
  one-pass instance head, ``models/onepass.py``, beyond the paper) and its factory
  :func:`onepass_task`.

Here: the registry (:data:`TASKS`, checkpoint task name -> task class with a
``from_checkpoint(ckpt)`` classmethod; :data:`FACTORIES`, ``robotpose train`` task name ->
factory ``(config name, robot, **overrides)``) and :func:`load_model`, which every reader
of checkpoints (the Predictor, ``robotpose eval``, the chapters) goes through;
:func:`load_reference`, the one loader of a reference model (or a given checkpoint) with
an explicit fallback when it is missing (the chapters, the Predictor's callers, the
benchmarks).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from ..checkpoint import (CheckpointError, default_instance_task, describe_models_dir, load_checkpoint,
                          load_weights, model_name, reference_path)
from ..config import resolve_device
from ..fileio import read_json_object
from ..models.instances import get_config as instance_config
from ..models.localization import get_config as localization_config
from ..models.onepass import get_config as onepass_config
from ..robots import ensure_robot
from .instances import InstanceCollate, InstanceModel, InstanceTask, instance_task
from .localization import LocalizationTask, localization_task, num_joints_of
from .onepass import OnePassModel, OnePassTask, onepass_task

__all__ = ["FACTORIES", "INSTANCE_TASKS", "TASKS", "InstanceCollate", "InstanceModel", "InstanceTask",
           "LocalizationTask", "OnePassModel", "OnePassTask", "Reference", "instance_task", "load_model",
           "load_reference", "localization_task", "make_task", "num_joints_of", "onepass_task"]

# Checkpoint task name -> task class (``from_checkpoint``). Another model family adds a line.
TASKS = {"localization": LocalizationTask, "instances": InstanceTask, "onepass": OnePassTask}
# ``robotpose train TASK`` -> factory(config name, robot, **overrides) -> task.
FACTORIES = {"localization": localization_task, "instances": instance_task, "onepass": onepass_task}
# The checkpoint tasks whose model finds robot instances (an ``InstanceModel``: localization
# net + instance head, ``predict`` -> ``Instance`` records): the Predictor's instance model,
# ``robotpose eval real --instances``, ``robotpose eval instances|onepass``.
INSTANCE_TASKS = ("instances", "onepass")


def make_task(name: str, config: str, robot: str, **overrides):
    """The task ``name`` ("localization", "instances", "onepass") of a named config for a robot."""
    if name not in FACTORIES:
        raise ValueError(f"task: unknown name {name!r} (expected one of {sorted(FACTORIES)})")
    return FACTORIES[name](config, robot, **overrides)


def load_model(path: str | Path, device=None, expect: dict | None = None):
    """Rebuild a trained model from a checkpoint for inference.

    Args:
        path: a checkpoint of any task in :data:`TASKS`.
        device: None/'auto' (CUDA when present), 'cpu', 'cuda', ...
        expect: values the checkpoint must hold (``checkpoint.load_checkpoint``), e.g.
            ``{"task": "instances", "robot": "panda"}``.

    Returns:
        (model in eval mode on ``device``, task, checkpoint dict).

    Raises:
        FileNotFoundError, CheckpointError: one line naming the file.
    """
    ckpt = load_checkpoint(path, expect=expect)
    if ckpt["robot"] != "toy":   # a robot from a user's URDF is registered from its stored source
        try:
            ensure_robot(ckpt["robot"], ckpt.get("robot_source"))
        except (FileNotFoundError, ValueError) as exc:
            raise CheckpointError(f"{path}: {exc}") from None
    if ckpt["task"] not in TASKS:
        raise CheckpointError(f"{path}: unknown task {ckpt['task']!r} (expected one of {sorted(TASKS)})")
    try:
        task = TASKS[ckpt["task"]].from_checkpoint(ckpt)
        model = task.build_model()  # weights come from the checkpoint: nothing downloaded
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: {ckpt['task']} checkpoint has an unusable configuration ({exc!r})") from None
    load_weights(model, ckpt["model"], path)
    return model.to(resolve_device(device)).eval(), task, ckpt


@dataclass
class Reference:
    """A model loaded for inference by :func:`load_reference`: ``model`` (eval mode), its
    ``task``, ``source`` (a line for titles: the model and its training steps, or the
    stand-in), ``checkpoint`` (the checkpoint dict; None for a stand-in) and ``path`` (the
    weights read; None for a stand-in)."""

    model: nn.Module
    task: object
    source: str
    checkpoint: dict | None = None
    path: Path | None = None

    @property
    def trained(self) -> bool:
        """Whether the weights come from a checkpoint (not a stand-in)."""
        return self.checkpoint is not None


def untrained_task(task: str, config: str, robot: str):
    """The task ``task`` of the named ``config`` for ``robot`` with nothing trained and
    nothing downloaded (no ImageNet backbone weights, no localization checkpoint)."""
    loc_config = localization_config(config, backbone_weights=None)
    if task == "localization":
        return localization_task(config, robot, backbone_weights=None)
    if task == "instances":
        return InstanceTask(robot, instance_config(config), loc_config, num_joints_of(robot))
    if task == "onepass":
        return OnePassTask(robot, onepass_config(config), loc_config, num_joints_of(robot))
    raise ValueError(f"task: unknown name {task!r} (expected one of {sorted(TASKS)})")


def _trained_line(path: Path, ckpt: dict) -> str:
    """"N training steps" (over every part of the model folder's lineage.json when there is
    one: a checkpoint's step counts its last part only)."""
    lineage = path.parent / "lineage.json"  # records.py describes the model folder
    parts = read_json_object(lineage, "record").get("parts", []) if lineage.is_file() else []
    total = max(sum(int(p["steps"]) for p in parts), int(ckpt["step"]))
    # the total only: how a run was split into continued runs is the lineage's business
    return f"{total:,} training steps"


def load_reference(robot: str, task: str = "localization", config: str = "cpu", *,
                   checkpoint: str | Path | None = None, models_dir: str | Path | None = None, device=None,
                   fallback: str | Callable[[], tuple[nn.Module, object]] | None = None,
                   fallback_source: str | None = None, untrained_config: str | None = None,
                   verbose: bool = False) -> Reference:
    """A model for inference: the weights ``checkpoint`` when given, else the reference
    model ``{robot}_{task}_{config}/model.pt`` in ``models_dir`` (default
    ``checkpoint.models_dir()``; ``task="default"``: the instance model that
    ``checkpoint.default_instance_task`` chooses), through :func:`load_model`.

    When the reference is missing, ``fallback`` says what happens:

    * None: FileNotFoundError, one line naming the missing model and where it was looked for;
    * ``"untrained"``: the untrained ``untrained_config`` (default ``config``) model of the
      task (:func:`untrained_task`; seeded, nothing downloaded), and a printed line says so;
    * a callable ``() -> (model, task)``: that stand-in (e.g. a model trained live in a
      chapter), described by ``fallback_source``; a printed line says so.

    A given ``checkpoint`` that is missing is always an error. ``verbose``: print which
    model was loaded (name, config, input size, training steps over its parts).

    Returns:
        :class:`Reference` (``trained`` False for a stand-in).
    """
    if task == "default":
        task = default_instance_task(robot, config, models_dir)
    path = Path(checkpoint) if checkpoint else reference_path(robot, task, config, models_dir)
    if checkpoint or path.is_file():
        expect = {"task": task} if not checkpoint else ({"robot": robot} if robot else None)
        model, loaded_task, ckpt = load_model(path, device=device, expect=expect)
        name = path.parent.name if not checkpoint else str(path)
        trained = _trained_line(path, ckpt)
        if verbose:
            H, W = loaded_task.input_size
            # two short lines: one long line scrolls sideways in the built pages
            print(f"{robot}: {name}, {ckpt['config']['name']} config, input {H}x{W}\n  {trained}")
        return Reference(model, loaded_task, f"{name} ({trained})", ckpt, path)
    missing = f"{robot}: no reference model {model_name(robot, task, config)} in {describe_models_dir(models_dir)}"
    if fallback is None:
        raise FileNotFoundError(missing)
    if fallback == "untrained":
        stand_in = untrained_config or config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            stand_in_task = untrained_task(task, stand_in, robot)
            model = stand_in_task.build_model()
        source = fallback_source or f"an UNTRAINED {stand_in!r} model"
    elif callable(fallback):
        model, stand_in_task = fallback()
        source = fallback_source or "a stand-in model"
    else:
        raise ValueError(f"fallback: None, 'untrained' or a callable, got {fallback!r}")
    print(f"{missing}; using {source}")
    return Reference(model.to(resolve_device(device)).eval(), stand_in_task, source)
