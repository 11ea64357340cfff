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
of checkpoints (the Predictor, ``robotpose eval``, the chapters) goes through.
"""
from __future__ import annotations

from pathlib import Path

from ..checkpoint import CheckpointError, load_checkpoint, load_weights
from ..config import resolve_device
from ..robots import ensure_robot
from .instances import InstanceCollate, InstanceModel, InstanceTask, instance_task
from .localization import LocalizationTask, localization_task, num_joints_of
from .onepass import OnePassModel, OnePassTask, onepass_task

__all__ = ["FACTORIES", "INSTANCE_TASKS", "TASKS", "InstanceCollate", "InstanceModel", "InstanceTask",
           "LocalizationTask", "OnePassModel", "OnePassTask", "instance_task", "load_model", "localization_task",
           "make_task", "num_joints_of", "onepass_task"]

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
