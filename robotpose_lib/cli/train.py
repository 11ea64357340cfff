"""``robotpose train TASK --config NAME --robot NAME --out DIR [--resume] ...``: train the
localization model, the recurrent instance model or the one-pass instance model
(``tasks.make_task`` + ``data.training_dataset`` + ``train.train``, with the named config's
``train.RUN_DEFAULTS``). A one-pass run ends by choosing its centre threshold and NMS
window on validation scenes (``--calibrate N``, ``eval.instances.calibrate_checkpoint``); ``--resume``
on a finished run only recalibrates."""
from __future__ import annotations

import argparse
import json
import os
import shlex

from ..data import training_dataset
from ..eval.instances import calibrate_checkpoint, format_calibration
from ..eval.testset import VALIDATION_SEED
from ..presets import PRESETS
from ..synth import RECIPES
from ..tasks import FACTORIES, INSTANCE_TASKS, make_task
from ..tasks.localization import localization_task
from ..train import RUN_DEFAULTS, TrainSettings, train
from .robots import add_urdf_arguments, check_robot_arguments, robot_name


def override(item: str) -> tuple[str, object]:
    """argparse type of ``--set``: "stages=4", "freeze_backbone=false", "input_size=120,160"
    -> (field, typed value): JSON where it parses, a comma list as a tuple of ints, else the
    string."""
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{item!r}: expected FIELD=VALUE")
    low = text.strip().lower()
    if low in ("true", "false"):
        value = low == "true"
    elif low in ("none", "null"):
        value = None
    elif "," in text:
        try:
            value = tuple(int(v) for v in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{item!r}: a comma list must hold integers") from None
    else:
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
    return key.strip(), value


def positive_minutes(text: str) -> float:
    """argparse type of ``--max-minutes``: a positive number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="robotpose train", description="Train a model.")
    p.add_argument("task", choices=sorted(FACTORIES), help="model family")
    p.add_argument("--config", required=True, help="named configuration: " + ", ".join(PRESETS) + " (presets.py)")
    p.add_argument("--robot", help="robot name (panda, kuka_kr16, panda_primitive, ...: robotpose robots; toy for the "
                   "disc demo)")
    add_urdf_arguments(p)
    p.add_argument("--out", required=True, help="run directory (checkpoint.pt, metrics.jsonl)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--localization", help="instances, onepass: the frozen localization checkpoint "
                   "(default assets/models/{robot}_localization_{config}/model.pt)")
    p.add_argument("--calibrate", type=int, default=None, metavar="N",
                   help=f"onepass: after training, choose the centre threshold and NMS window on N validation "
                        f"scenes (seed {VALIDATION_SEED}, the training recipe) and N // 2 robot-free ones, and "
                        "store them in the checkpoint (default 40; "
                        "0 skips; the toy robot has no validation scenes and skips)")
    p.add_argument("--set", action="append", default=[], type=override, metavar="FIELD=VALUE",
                   help="override a model config field (e.g. --set freeze_backbone=false), "
                   "a target field (sigma, phi, joints), the depth code (depth_code=log) or the "
                   "loss's depth_weight")
    p.add_argument("--steps", type=int, help="total optimiser steps")
    p.add_argument("--batch-size", type=int, help="samples per step and process")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--schedule", default="constant", choices=["constant", "cosine"])
    p.add_argument("--n-scenes", type=int, help="training scenes (synthetic data)")
    p.add_argument("--data", default="synthetic",
                   help="'synthetic' (rendered on the fly), 'toy', or a dataset folder")
    p.add_argument("--data-seed", type=int, default=0, help="seed of the synthetic training set")
    p.add_argument("--recipe", default="paper", choices=sorted(RECIPES), help="synthesis recipe of the "
                   "training scenes, e.g. paper (the paper's randomisation), clutter (paper + hard negatives), "
                   "sim2real or dream (chapter 5); every one: " + ", ".join(sorted(RECIPES)))
    p.add_argument("--fp32", action="store_true", help="train in float32 (no mixed precision)")
    p.add_argument("--max-minutes", type=positive_minutes, help="stop (with a checkpoint) after this wall time")
    p.add_argument("--seed", type=int, default=0, help="seed of batch order and initialisation")
    p.add_argument("--workers", type=int, help="DataLoader worker processes")
    p.add_argument("--ckpt-every", type=int)
    p.add_argument("--log-every", type=int)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, help="torch CPU threads per process")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--init", metavar="CKPT", help="start a new run from the model weights of "
                   "this checkpoint (fresh optimiser and step count)")
    return p


def training_settings(command: str) -> dict:
    """What a recorded ``robotpose train ...`` command trains with, as the record keeps it
    (``lineage.json``'s part "settings", which ``scripts/ship_model.py`` writes).

    Args:
        command: the command line, as a shell would split it.

    Returns:
        {"task", "config", "robot", "recipe", "lr", "schedule", "set"} ("set": the ``--set``
        overrides as given); for a localization run also the loss and model settings it
        resolves to, defaults included: "depth_weight" (lambda of eq. 1), "depth_code"
        ("inverse", the paper's, or "log"), "intermediate" ("full" or "low_res") and
        "depth_context" (residual blocks of the depth-context branch, 0 for none).

    Raises:
        ValueError: not a ``robotpose train`` command, or one this parser rejects.
    """
    tokens = shlex.split(command)
    if tokens[:2] != ["robotpose", "train"]:
        raise ValueError(f"not a robotpose train command: {command!r}")
    parser = build_parser()
    parser.exit_on_error = False
    try:
        args = parser.parse_args(tokens[2:])
    except (argparse.ArgumentError, SystemExit) as err:   # required arguments still exit
        raise ValueError(f"{command!r}: robotpose train rejects it ({err})") from None
    problem = check_robot_arguments(args)
    if problem:
        raise ValueError(f"{command!r}: {problem}")
    overrides = dict(args.set)
    out = {"task": args.task, "config": args.config, "robot": robot_name(args), "recipe": args.recipe,
           "lr": args.lr, "schedule": args.schedule, "set": overrides}
    if args.task == "localization":
        task = localization_task(args.config, out["robot"], **overrides)
        out.update(depth_weight=task.depth_weight, depth_code=task.targets.depth.kind,
                   intermediate=task.intermediate, depth_context=task.config.depth_context)
    return out


def check(args) -> str | None:
    problem = check_robot_arguments(args)
    if problem:
        return problem
    if args.localization and args.task not in INSTANCE_TASKS:
        return f"--localization: for {' or '.join(INSTANCE_TASKS)} only"
    if args.calibrate is not None and args.calibrate < 0:
        return f"--calibrate: expected a number of scenes >= 0, got {args.calibrate}"
    if args.robot == "toy" and args.task == "onepass" and args.calibrate:
        return "--calibrate: the toy robot has no validation scenes (give --calibrate 0 or leave it out)"
    if args.calibrate is None:
        args.calibrate = 0 if args.robot == "toy" else 40
    return None


def run(args) -> int:
    args.robot = robot_name(args)
    defaults = RUN_DEFAULTS.get(args.config, RUN_DEFAULTS["cpu"])
    extra = {"localization_checkpoint": args.localization} if args.localization else {}
    task = make_task(args.task, args.config, args.robot, **extra, **dict(args.set))
    n = args.n_scenes or defaults["n_scenes"]
    dataset = training_dataset(args.data, args.robot, n, tuple(task.input_size), args.data_seed, args.recipe)
    pick = lambda v, k: defaults[k] if v is None else v  # noqa: E731
    settings = TrainSettings(
        steps=pick(args.steps, "steps"), batch_size=pick(args.batch_size, "batch_size"),
        lr=args.lr, schedule=args.schedule, ckpt_every=pick(args.ckpt_every, "ckpt_every"),
        log_every=pick(args.log_every, "log_every"), num_workers=pick(args.workers, "workers"),
        seed=args.seed, device=args.device, progress=not args.no_progress,
        threads=args.threads, init_from=args.init, amp=not args.fp32, recipe=args.recipe,
        max_seconds=None if args.max_minutes is None else 60.0 * args.max_minutes)
    result = train(task, dataset, args.out, settings, resume=args.resume)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"done: step {result['step']}, checkpoint {result['checkpoint']}, {result['seconds']:.1f} s")
        if args.task == "onepass" and args.calibrate:
            cal = calibrate_checkpoint(result["checkpoint"], args.calibrate, VALIDATION_SEED, args.recipe,
                                       device=args.device if args.device != "auto" else None)
            print(format_calibration(cal))
    return 0
