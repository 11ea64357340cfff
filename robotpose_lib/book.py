"""What the chapters share, so that each chapter holds prose, calls and figures.

* :func:`reference_model`: a reference checkpoint loaded for inference, or a stand-in when
  it is missing (a fresh checkout, another ``$ROBOTPOSE_CHECKPOINT_DIR``), so that every
  cell still runs; :func:`reference_predictor`: the same for the whole pipeline.
* :func:`find_log`: the training log shipped beside a reference checkpoint
  (``checkpoint.reference_log``); :func:`progress_table`: how a logged loss progressed
  (noise and drops between fifths of a run, chapter 3).

Timings belong to ``bench/`` (chapter 3's runtime per robot is
``bench.runtime.instance_timings``).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from torch import nn

from .checkpoint import describe_checkpoint_dir, find_reference, reference_log
from .predictor import Predictor, pretrained_paths
from .tasks import load_model
from .train import read_metrics
from .viz.training import rolling_stats


@dataclass
class Reference:
    """A model for a chapter: ``model`` (eval mode), its ``task``, ``source`` (a line for
    titles: the checkpoint and its step, or the stand-in) and ``checkpoint`` (the
    checkpoint dict; None for a stand-in)."""

    model: nn.Module
    task: object
    source: str
    checkpoint: dict | None = None

    @property
    def trained(self) -> bool:
        """Whether the weights come from a reference checkpoint (not a stand-in)."""
        return self.checkpoint is not None


def reference_model(robot: str, task: str = "localization", config: str = "cpu", device=None,
                    fallback: Callable[[], tuple[nn.Module, object]] | None = None,
                    fallback_source: str = "a stand-in model") -> Reference | None:
    """The reference checkpoint ``{robot}_{task}_{config}.pt`` (``checkpoint.find_reference``)
    through ``tasks.load_model``. When it is missing: ``fallback()`` -> (model, task), a
    stand-in described by ``fallback_source``, or None without a fallback. Prints one line
    saying which."""
    path = find_reference(robot, task, config)
    if path is not None:
        model, loaded_task, ckpt = load_model(path, device=device, expect={"task": task})
        H, W = loaded_task.input_size
        print(f"{robot}: {path.name}, {ckpt['config']['name']} config, step {ckpt['step']}, input {H}x{W}")
        return Reference(model, loaded_task, f"{path.name} (step {ckpt['step']})", ckpt)
    print(f"{robot}: no reference checkpoint {robot}_{task}_{config}.pt in {describe_checkpoint_dir()}"
          + (f"; using {fallback_source}" if fallback else ""))
    if fallback is None:
        return None
    model, stand_in_task = fallback()
    return Reference(model.to(device).eval(), stand_in_task, fallback_source)


def reference_predictor(robot: str, override: str | Path | None = None) -> tuple[Predictor | None, str | None]:
    """(the reference :class:`Predictor` of ``robot``, or one from the checkpoint ``override``;
    a description). Without the reference instance checkpoint, the localization model alone
    (one robot per image); without any reference checkpoint, (None, None). Prints a note
    for what is missing."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if override:
            return Predictor.load(override, robot=robot), str(override)
        localization, instances = pretrained_paths(robot)
        if not localization.is_file():
            print(f"note: {localization}: reference localization checkpoint not found")
            return None, None
        if instances.is_file():
            return Predictor.from_pretrained(robot), "reference localization + instances"
        print(f"note: {instances}: reference instance checkpoint not found; one robot per image assumed")
        return Predictor.from_pretrained(robot, instances=False), "reference localization only (no masks)"


def find_log(robot: str, task: str, part: str = "", config: str = "cpu") -> Path | None:
    """The shipped training log of a reference model (``checkpoint.reference_log``) when it
    exists and holds a logged "loss", else None."""
    path = reference_log(robot, task, config, part)
    if path.is_file() and any("loss" in r for r in read_metrics(path)):
        return path
    return None


def progress_table(rows: list[dict], window: int, key: str = "loss") -> dict:
    """How a logged curve progressed: "logged points", "relative noise" (median over the run
    of the trailing std / mean over ``window`` entries) and "drop k->k+1", the relative drop
    of the mean from one fifth of the run to the next."""
    loss = np.array([r[key] for r in rows if key in r])
    mean, std = rolling_stats(loss, window)
    fifths = [chunk.mean() for chunk in np.array_split(loss, 5)]
    return {"logged points": len(loss), "relative noise": float(np.median(std[window:] / mean[window:]))
            if len(loss) > window else float("nan"),
            **{f"drop {k + 1}->{k + 2}": float(1 - fifths[k + 1] / fifths[k]) for k in range(4)}}
