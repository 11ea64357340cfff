"""Generic trainer: progress bar, JSONL metrics, atomic checkpoints, resume, DDP, AMP.

The trainer knows nothing about a particular model. A *task* (see :class:`Task`) builds
the model, turns a list of :class:`~robotpose_lib.types.Sample` into a batch (in the
DataLoader workers, so rendering and targets run in parallel with training) and computes
the loss. The tasks of the paper's two networks live in ``tasks/`` (localization,
instances), which also rebuilds a model from a checkpoint (``tasks.load_model``).

Determinism and resume: sample i of a dataset is a pure function of (seed, i), and batch
k of a run is a pure function of (run seed, k) (:class:`StepBatchSampler`), so a run that
is killed and resumed from its checkpoint at step s sees exactly the batches s, s+1, ...
that the uninterrupted run would have seen.

Multi-process: launched by ``torchrun --nproc_per_node N -m robotpose_lib train ...`` (the
``robotpose train`` command under torchrun) every process trains on its own slice of each global
batch (``batch_size`` is per process) with DistributedDataParallel: gloo on CPU, nccl on
CUDA. Only rank 0 writes logs and checkpoints.

Mixed precision (``TrainSettings.amp``): float16 with a GradScaler on CUDA, bfloat16 on
CPUs with native bf16 (``config.autocast_dtype``); losses stay float32. Model and images
are channels_last (faster convolutions on both).

Command line (``cli/train.py``; ``python -m robotpose_lib train`` is the same)::

    robotpose train localization --config NAME --robot NAME --out DIR [--resume] [--steps N]
"""
from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

from .checkpoint import CheckpointError, load_checkpoint, load_weights, rng_state, save_checkpoint, set_rng_state
from .config import autocast_dtype, resolve_device, torch_threads
from .fileio import FolderLock, dumps_json, remove_stale_temps, write_atomic
from .presets import model_presets
from .robots import ensure_robot, get_robot, robot_source

CHECKPOINT_NAME = "checkpoint.pt"
METRICS_NAME = "metrics.jsonl"


# ---------------------------------------------------------------------------------- tasks
class Task(Protocol):
    """What the trainer needs from a model family.

    Attributes:
        name: task name stored in checkpoints ("localization", "instances", ...).
        robot: robot name stored in checkpoints.
        collate: picklable callable, list[Sample] -> dict of tensors (runs in workers).
    """

    name: str
    robot: str
    collate: object
    input_size: tuple[int, int]  # (H, W) the samples are rendered at

    def config_dict(self) -> dict:
        """The model configuration as plain values (saved and compared on resume)."""

    def extra(self) -> dict:
        """Task-specific values saved with the checkpoint (e.g. num_joints, targets)."""

    def build_model(self) -> nn.Module:
        """A freshly initialised model."""

    def loss(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        """(scalar loss to minimise, floats to log) for one batch already on the device."""

    # Optional: ``after_warm_start(model)``, called after ``init_from`` weights were loaded.


def _swapped_backbone(task, init: dict) -> tuple[str, str] | None:
    """(the init's backbone, this run's) when a localization warm start changes the
    backbone (``--set backbone=...``), else None. The heads then start from the init and the
    backbone from its own (ImageNet) weights; head weights whose shape the new feature
    channel count changes (each stage's first convolution) start fresh."""
    if task.name != "localization":
        return None
    old, new = (init.get("config") or {}).get("backbone"), task.config_dict().get("backbone")
    return (old, new) if old and new and old != new else None


# ------------------------------------------------------------------------------ sampling
class StepBatchSampler(Sampler):
    """Batches of dataset indices for steps ``start_step .. steps - 1``.

    Global batch k holds positions k*B*world .. (k+1)*B*world - 1 of an endless stream that
    walks through a fresh permutation of the dataset every epoch (permutation e drawn from
    (seed, e)); process ``rank`` takes its B consecutive positions. So batch k depends only
    on (seed, k, B, world), not on where a run was interrupted.
    """

    def __init__(self, n: int, batch_size: int, steps: int, start_step: int = 0, seed: int = 0,
                 rank: int = 0, world_size: int = 1):
        if n < 1:
            raise ValueError("dataset: empty, nothing to train on")
        self.n, self.batch_size, self.steps, self.start = n, batch_size, steps, start_step
        self.seed, self.rank, self.world = seed, rank, world_size
        self._perms: dict[int, np.ndarray] = {}

    def _perm(self, epoch: int) -> np.ndarray:
        if epoch not in self._perms:
            self._perms = {epoch: np.random.default_rng([self.seed, epoch]).permutation(self.n)}
        return self._perms[epoch]

    def batch(self, step: int) -> list[int]:
        first = (step * self.world + self.rank) * self.batch_size
        return [int(self._perm(g // self.n)[g % self.n]) for g in range(first, first + self.batch_size)]

    def __iter__(self):
        for step in range(self.start, self.steps):
            yield self.batch(step)

    def __len__(self) -> int:
        return max(0, self.steps - self.start)


# ------------------------------------------------------------------------------ training
@dataclass
class TrainSettings:
    """Optimisation and bookkeeping settings (paper: Adam, lr 1e-3).

    Attributes:
        steps: total optimiser steps of the run (a resumed run continues up to this).
        batch_size: samples per step and process.
        lr: Adam learning rate.
        schedule: "constant" (paper) or "cosine" (decay to 0.1 lr at ``steps``).
        ckpt_every: write a checkpoint every this many steps (and at the end).
        log_every: write a metrics line every this many steps.
        num_workers: DataLoader worker processes rendering samples.
        seed: seed of the batch order and of the model initialisation.
        device: "auto", "cpu", "cuda"...
        progress: show a tqdm progress bar (rank 0).
        init_from: a checkpoint whose model weights start a new run (warm start: fresh
            optimiser, schedule and step count); ignored when resuming.
        amp: mixed precision where the device runs it natively (see module docstring);
            False trains in float32.
        channels_last: NHWC memory format for model and images.
        recipe: name of the synthesis recipe of the training data (``synth.RECIPES``),
            recorded in the checkpoint.
        max_seconds: stop after this much wall time (checkpoint written; ``--resume``
            continues), for machines lent for a fixed time. None: no limit.
        threads: torch CPU threads per process while :func:`train` runs (the caller's
            count is restored afterwards); None: the cores left after the workers, shared
            among processes (OpenMP threads that outnumber free cores spin-wait and slow
            training down many times over on a small machine).
    """

    steps: int = 100
    batch_size: int = 8
    lr: float = 1e-3
    schedule: str = "constant"
    ckpt_every: int = 100
    log_every: int = 10
    num_workers: int = 0
    seed: int = 0
    device: str = "auto"
    progress: bool = True
    threads: int | None = None
    init_from: str | None = None
    amp: bool = True
    channels_last: bool = True
    recipe: str = "paper"
    max_seconds: float | None = None


class LRSchedule:
    """Multiplier of the base lr per step (picklable, unlike a lambda)."""

    def __init__(self, kind: str, steps: int):
        if kind not in ("constant", "cosine"):
            raise ValueError(f"schedule: expected constant or cosine, got {kind!r}")
        self.kind, self.steps = kind, max(1, steps)

    def __call__(self, step: int) -> float:
        if self.kind == "constant":
            return 1.0
        t = min(step, self.steps) / self.steps
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t))


def _dist_init(device: torch.device) -> tuple[int, int, torch.device]:
    """(rank, world size, device); initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), world, device


def _to_device(batch: dict, device: torch.device, channels_last: bool) -> dict:
    out = {}
    for k, v in batch.items():
        if isinstance(v, torch.Tensor):
            v = v.to(device, non_blocking=True)
            if channels_last and k == "images":
                v = v.contiguous(memory_format=torch.channels_last)
        out[k] = v
    return out


def _truncate_metrics(path: Path, step: int) -> int:
    """Keep the log lines of steps 1..``step`` (the checkpoint's step; 0: a run starting
    afresh), each once: drop what a killed run wrote after its last checkpoint, or before
    it left any. Returns the number of lines dropped."""
    if not path.exists():
        return 0
    keep, seen, dropped = [], set(), 0
    for line in path.read_text().splitlines():
        try:
            row_step = json.loads(line).get("step", 0)
        except (json.JSONDecodeError, AttributeError):
            row_step = None  # a half-written last line of a killed run
        if isinstance(row_step, int) and 0 < row_step <= step and row_step not in seen:
            keep.append(line)
            seen.add(row_step)
        else:
            dropped += 1
    if dropped:
        write_atomic(path, "".join(line + "\n" for line in keep))
    return dropped


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped by SIGINT (Ctrl-C) or SIGTERM (``kill``, batch schedulers) after the
    step under way, with a checkpoint written. ``signum``: the signal; the message is the
    one line the command prints."""

    def __init__(self, signum: int, step: int, checkpoint: Path):
        self.signum, self.step, self.checkpoint = signum, step, checkpoint
        super().__init__(f"stopped by {signal.Signals(signum).name} at step {step}: checkpoint {checkpoint} written "
                         f"(continue with --resume)")


class _StopRequests:
    """SIGINT and SIGTERM during the training loop: remembered (``signum``) and acted on
    after the step under way; a second Ctrl-C stops at once. Only in the main thread."""

    def __init__(self):
        self.signum: int | None = None
        self._old: dict = {}

    def _handle(self, signum, frame) -> None:
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self) -> "_StopRequests":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    self._old[sig] = signal.signal(sig, self._handle)
                except (ValueError, OSError):
                    pass
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def _worker_leaves_signals_to_main(worker_id: int) -> None:
    """DataLoader workers ignore SIGINT and SIGTERM: a terminal's Ctrl-C and a batch
    scheduler's SIGTERM reach every process of the group, and a worker killed by one made
    the main process fail mid-step without a checkpoint. The main process stops after the
    step under way and ends the workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _stop_flags(max_seconds: float | None, elapsed: float, interrupted: bool, rank: int, world: int,
                device) -> tuple[bool, bool]:
    """(wall-time budget spent, a stop signal arrived): under DDP rank 0's clock decides
    the budget and a signal to any process stops all, so every process stops at the same
    step."""
    flags = [float(rank == 0 and max_seconds is not None and elapsed > max_seconds), float(interrupted)]
    if world > 1:
        both = torch.tensor(flags, device=device)
        dist.all_reduce(both, op=dist.ReduceOp.MAX)
        flags = both.tolist()
    return bool(flags[0]), bool(flags[1])



def _check_same_keypoints(path, init: dict, robot: str) -> None:
    """A warm start (checkpoint ``init``) may cross robots that share their keypoints (the
    primitive Panda's model starting the mesh Panda's): same names in the same order, else
    one line."""
    source_robot = init["robot"]
    if source_robot == robot or source_robot == "toy" or robot == "toy":
        if source_robot != robot:
            raise CheckpointError(f"{path}: made for robot {source_robot!r}, not {robot!r}")
        return
    ours = get_robot(robot).keypoint_names
    theirs = ensure_robot(source_robot, init.get("robot_source")).keypoint_names
    if list(ours) != list(theirs):
        raise CheckpointError(f"{path}: made for robot {source_robot!r}, whose keypoints differ from {robot!r}'s")


def train(task: Task, dataset: Dataset, out_dir: str | Path, settings: TrainSettings,
          resume: bool = False) -> dict:
    """Train ``task`` on ``dataset`` (map-style, items are Samples).

    Writes ``out_dir/checkpoint.pt`` every ``ckpt_every`` steps and at the end, and one JSON
    line per ``log_every`` steps to ``out_dir/metrics.jsonl``.

    The run folder tells the truth after any number of kills: ``out_dir/run.lock``
    (``fileio.FolderLock``) keeps a second process out while this one runs (one line names
    the holder; a lock left by a dead process is taken over); the temporary files of a
    checkpoint write a kill interrupted are removed; the log is cut to the steps of the
    checkpoint the run starts from (none: started afresh), so it holds each step once.
    SIGINT and SIGTERM stop after the step under way with a checkpoint and raise
    :class:`TrainingInterrupted` (a KeyboardInterrupt).

    Args:
        resume: continue from ``out_dir/checkpoint.pt`` (a fresh start when there is none).
            Without it an existing checkpoint is an error, so a run is never overwritten.

    Returns:
        dict with "step", "loss" (last logged), "checkpoint" path, "seconds".
    """
    rank, world, device = _dist_init(resolve_device(settings.device))
    threads = torch.get_num_threads()
    if device.type != "cuda":
        free = (os.cpu_count() or 1) - settings.num_workers
        threads = settings.threads or max(1, free // world)
    out_dir = Path(out_dir)
    with torch_threads(threads):  # the caller's thread count is restored afterwards
        if rank != 0:
            return _train(task, dataset, out_dir, settings, resume, rank, world, device)
        with FolderLock(out_dir, "run folder") as lock:
            if lock.taken_over is not None:
                print(f"{lock.path}: taking over the lock of process {lock.taken_over}, which no longer holds it")
            stale = remove_stale_temps(out_dir, (CHECKPOINT_NAME, METRICS_NAME))
            if stale:
                print(f"{out_dir}: removed {len(stale)} temporary file(s) a killed run left behind")
            return _train(task, dataset, out_dir, settings, resume, rank, world, device)


def _train(task: Task, dataset: Dataset, out_dir: Path, settings: TrainSettings, resume: bool,
           rank: int, world: int, device: torch.device) -> dict:
    """:func:`train` after the process group and the thread count are set up."""
    ckpt_path, metrics_path = out_dir / CHECKPOINT_NAME, out_dir / METRICS_NAME
    cuda = device.type == "cuda"
    if ckpt_path.exists() and not resume:
        raise ValueError(f"{ckpt_path}: a checkpoint exists; pass --resume to continue or "
                         f"choose another --out")

    torch.manual_seed(settings.seed)
    model = task.build_model().to(device)
    if settings.channels_last:
        model = model.to(memory_format=torch.channels_last)
    amp_dtype = autocast_dtype(device) if settings.amp else None
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=settings.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, LRSchedule(settings.schedule, settings.steps))
    scaler = torch.amp.GradScaler("cuda", enabled=cuda and amp_dtype is not None)

    step = 0
    if resume and ckpt_path.exists():
        ckpt = load_checkpoint(ckpt_path, expect={"task": task.name, "robot": task.robot,
                                                  "config": task.config_dict()},
                               map_location=device)
        load_weights(model, ckpt["model"], ckpt_path)
        missing = [k for k in ("optimizer", "scheduler", "rng") if k not in ckpt]
        if missing:
            raise CheckpointError(f"{ckpt_path}: lacks {', '.join(missing)}: an inference checkpoint, not a "
                                  f"run to resume (start a new run from it with --init)")
        try:
            optimizer.load_state_dict(ckpt["optimizer"])
            scheduler.load_state_dict(ckpt["scheduler"])
            if ckpt.get("scaler") and cuda:
                scaler.load_state_dict(ckpt["scaler"])
            set_rng_state(ckpt["rng"])
        except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise CheckpointError(f"{ckpt_path}: optimiser, schedule or RNG state does not fit this run "
                                  f"({str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__})") from None
        step = int(ckpt["step"])
        if rank == 0:
            print(f"resuming {ckpt_path} at step {step}")
    else:
        if resume and rank == 0:
            print(f"no checkpoint in {out_dir}; starting a new run")
        if settings.init_from:  # warm start: weights only, from the same task and keypoints
            init = load_checkpoint(settings.init_from, map_location=device, expect={"task": task.name})
            _check_same_keypoints(settings.init_from, init, task.robot)
            state, optional = init["model"], tuple(getattr(model, "WARM_START_OPTIONAL", ()))
            swapped = _swapped_backbone(task, init)
            fresh = []
            if swapped:  # a new backbone (e.g. a larger one): its own ImageNet weights, the rest warm
                own = model.state_dict()
                # a backbone with another channel count (e.g. stride 4: 24 channels, not 40)
                # changes the first convolution of every stage: those start fresh
                fresh = [k for k, v in state.items() if not k.startswith("backbone.") and k in own
                         and isinstance(v, torch.Tensor) and v.shape != own[k].shape]
                state = {k: v for k, v in state.items() if not k.startswith("backbone.") and k not in fresh}
                optional += ("backbone.", *fresh)
            load_weights(model, state, settings.init_from, optional=optional)
            if hasattr(task, "after_warm_start"):  # e.g. instances: keep the given localization net
                task.after_warm_start(model)
            if rank == 0:
                print(f"model weights from {settings.init_from}"
                      + (f" (not its backbone {swapped[0]}: {swapped[1]} keeps its own weights)" if swapped else "")
                      + (f"; {len(fresh)} weights of another shape start fresh ({', '.join(fresh[:3])}"
                         f"{', ...' if len(fresh) > 3 else ''})" if fresh else ""))

    train_model = model
    if world > 1:
        train_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if cuda else None)

    def save(at_step: int) -> None:
        save_checkpoint(ckpt_path, {
            "task": task.name, "robot": task.robot, "robot_source": robot_source(task.robot),
            "config": task.config_dict(),
            "step": at_step, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict() if cuda else None,
            "rng": rng_state(), "extra": task.extra(), "settings": asdict(settings)})

    sampler = StepBatchSampler(len(dataset), settings.batch_size, settings.steps, step,
                               settings.seed, rank, world)
    loader = DataLoader(dataset, batch_sampler=sampler, num_workers=settings.num_workers,
                        collate_fn=task.collate, pin_memory=cuda,
                        persistent_workers=False, worker_init_fn=_worker_leaves_signals_to_main)
    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
        dropped = _truncate_metrics(metrics_path, step)
        if dropped:
            print(f"{metrics_path}: dropped {dropped} line(s) written after the checkpoint's step {step}"
                  if step else f"{metrics_path}: dropped {dropped} line(s) of an earlier run that left no "
                  f"checkpoint (starting afresh)")
    bar = None
    if rank == 0 and settings.progress:
        from tqdm import tqdm  # text bars: widget bars stalled notebook execution (nbclient)

        # Refresh rarely when the output is a log file rather than a terminal.
        bar = tqdm(total=settings.steps, initial=step, desc=f"{task.name} {task.robot}",
                   dynamic_ncols=True, mininterval=0.5 if sys.stderr.isatty() else 30)
    t_start = time.perf_counter()
    train_model.train()
    with _StopRequests() as stop:
        step, last, interrupted = _loop(task, loader, train_model, optimizer, scheduler, scaler, save, settings,
                                        device, amp_dtype, metrics_path, bar, stop, step, t_start, rank, world)
    if bar is not None:
        bar.close()
    if rank == 0 and step == sampler.start and not ckpt_path.exists():
        save(step)  # zero-step run: still leave a checkpoint behind
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    if interrupted:
        raise TrainingInterrupted(stop.signum or signal.SIGINT, step, ckpt_path)
    return {"step": step, "loss": last.get("loss"), "checkpoint": str(ckpt_path),
            "seconds": time.perf_counter() - t_start}


def _loop(task, loader, train_model, optimizer, scheduler, scaler, save, settings, device, amp_dtype,
          metrics_path: Path, bar, stop: _StopRequests, step: int, t_start: float, rank: int,
          world: int) -> tuple[int, dict, bool]:
    """The optimisation steps of :func:`_train`: (last step done, last logged values,
    whether a stop signal ended them, a checkpoint written)."""
    t_log, samples_since_log, last = t_start, 0, {}
    batches = iter(loader)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return step, last, False
        except Exception:
            if stop.signum is None:  # a worker killed by the same Ctrl-C: stop like the main process
                raise
            if rank == 0:
                save(step)
            return step, last, True
        batch = _to_device(batch, device, settings.channels_last)
        with torch.autocast(device_type=device.type, dtype=amp_dtype or torch.float32,
                            enabled=amp_dtype is not None):
            loss, parts = task.loss(train_model, batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is {float(loss)} at step {step + 1}")
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        step += 1
        samples_since_log += settings.batch_size * world
        now = time.perf_counter()
        out_of_time, interrupted = _stop_flags(settings.max_seconds, now - t_start, stop.signum is not None,
                                               rank, world, device)
        if rank != 0:
            if out_of_time or interrupted:
                return step, last, interrupted and step < settings.steps
            continue
        rate = samples_since_log / max(now - t_log, 1e-9)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{parts['loss']:.3e}", samples_s=f"{rate:.2f}", refresh=False)
        if step % settings.log_every == 0 or step == settings.steps:
            last = {"step": step, **parts, "lr": scheduler.get_last_lr()[0],
                    "samples_per_s": rate, "time": time.time()}
            with open(metrics_path, "a") as f:
                f.write(dumps_json(last) + "\n")
            t_log, samples_since_log = now, 0
        if step % settings.ckpt_every == 0 or step == settings.steps or out_of_time or interrupted:
            save(step)
        if interrupted:
            return step, last, step < settings.steps
        if out_of_time:
            print(f"stopping at step {step}: --max-minutes reached (resume with --resume)")
            return step, last, False


# ------------------------------------------------------------------------------ metrics
def read_metrics(path: str | Path) -> list[dict]:
    """The JSONL metrics log as a list of dicts (a half-written last line is skipped)."""
    rows = []
    for line in Path(path).read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return rows


# ------------------------------------------------------------------------ run defaults
# Default settings per named config (``robotpose train`` without the options): steps,
# batch size, scenes in the training set, checkpoint interval, DataLoader workers, log
# interval; each preset's "run" in ``presets.py``.
RUN_DEFAULTS = model_presets("run")
