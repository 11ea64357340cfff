"""Train the one-pass instance model (robotpose_lib.models.onepass) on synthetic scenes, on
top of a frozen localization checkpoint, with the generic trainer; then calibrate its
centre threshold on validation scenes (seed onepass_task.VALIDATION_SEED, neither a
training nor the test seed) and store it in the checkpoint.

    python scripts/train_onepass.py --robot panda --out runs/onepass_panda --steps 800 \\
        --max-minutes 25 --threads 1 --workers 0 [--resume]

Resumable: the trainer writes OUT/checkpoint.pt every --ckpt-every steps and when
--max-minutes is spent; --resume continues from it to --steps (the batches are those the
uninterrupted run would have seen). Evaluate with

    python -m robotpose_lib.onepass_task study --checkpoint OUT/checkpoint.pt --n 100 --json OUT/study.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from robotpose_lib.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from robotpose_lib.data import SyntheticDataset  # noqa: E402
from robotpose_lib.onepass_task import VALIDATION_SEED, calibrate_centre_threshold, load_onepass  # noqa: E402
from robotpose_lib.onepass_task import onepass_task  # noqa: E402
from robotpose_lib.synth import RECIPES, params_for  # noqa: E402
from robotpose_lib.train import TrainSettings, train  # noqa: E402


def parse_set(items: list[str]) -> dict:
    """["width=32", "dilations=[1,2]"] -> {"width": 32, "dilations": [1, 2]} (JSON values)."""
    out = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {item!r}: expected FIELD=VALUE")
        try:
            out[key.strip()] = json.loads(text)
        except json.JSONDecodeError:
            out[key.strip()] = text
    return out


def calibrate(path: Path, robot: str, n: int, recipe: str) -> dict:
    """Calibrate the centre threshold of the checkpoint at ``path`` on ``n`` validation
    scenes and write it into the checkpoint's weights (atomically)."""
    model, task, ckpt = load_onepass(path, device="cpu")
    data = SyntheticDataset(robot, n, size=task.input_size, seed=VALIDATION_SEED, params=params_for(robot, recipe))
    samples = [data[i] for i in range(n)]
    threshold, rows = calibrate_centre_threshold(model, samples, task.input_size)
    ckpt["model"]["instances.centre_threshold"] = torch.tensor(float(threshold))
    ckpt.setdefault("extra", {})["calibration"] = {"seed": VALIDATION_SEED, "n": n, "recipe": recipe,
                                                   "step": int(ckpt["step"]), "threshold": threshold, "rows": rows}
    save_checkpoint(path, ckpt)
    return ckpt["extra"]["calibration"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--robot", default="panda")
    p.add_argument("--config", default="cpu", help="one-pass head config (cpu, gpu, quick)")
    p.add_argument("--localization", help="frozen localization checkpoint "
                   "(default assets/checkpoints/{robot}_localization_{config}.pt)")
    p.add_argument("--out", required=True, help="run folder (checkpoint.pt, metrics.jsonl)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--steps", type=int, default=800, help="total optimiser steps")
    p.add_argument("--max-minutes", type=float, help="stop (with a checkpoint) after this wall time")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--schedule", default="cosine", choices=["constant", "cosine"])
    p.add_argument("--n-scenes", type=int, default=200_000, help="training scenes (rendered on the fly)")
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--recipe", default="paper", help=f"synthesis recipe ({', '.join(sorted(RECIPES))})")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a OnePassConfig or LossWeights field")
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--ckpt-every", type=int, default=50)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fp32", action="store_true", help="no bf16 autocast")
    p.add_argument("--init", metavar="CKPT", help="start from this one-pass checkpoint's weights")
    p.add_argument("--calibrate", type=int, default=40, metavar="N",
                   help="validation scenes for the centre threshold after training (0: skip)")
    p.add_argument("--device", default="auto")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    try:
        if args.recipe not in RECIPES:
            raise ValueError(f"--recipe: unknown name {args.recipe!r} (expected one of {sorted(RECIPES)})")
        if args.max_minutes is not None and not args.max_minutes > 0:
            raise ValueError(f"--max-minutes: expected a positive number, got {args.max_minutes}")
        if args.steps < 1 or args.batch_size < 1 or args.calibrate < 0:
            raise ValueError("--steps and --batch-size must be positive, --calibrate >= 0")
        task = onepass_task(args.config, args.robot, args.localization, **parse_set(args.set))
        dataset = SyntheticDataset(args.robot, args.n_scenes, size=task.input_size, seed=args.data_seed,
                                   params=params_for(args.robot, args.recipe))
        settings = TrainSettings(steps=args.steps, batch_size=args.batch_size, lr=args.lr, schedule=args.schedule,
                                 ckpt_every=args.ckpt_every, log_every=args.log_every, num_workers=args.workers,
                                 seed=args.seed, device=args.device, progress=not args.no_progress,
                                 threads=args.threads, init_from=args.init, amp=not args.fp32, recipe=args.recipe,
                                 max_seconds=None if args.max_minutes is None else 60.0 * args.max_minutes)
        t0 = time.perf_counter()
        result = train(task, dataset, args.out, settings, resume=args.resume)
        print(f"trained to step {result['step']} in {result['seconds']:.0f} s: {result['checkpoint']}")
        if args.calibrate:
            cal = calibrate(Path(result["checkpoint"]), args.robot, args.calibrate, args.recipe)
            best = next(r for r in cal["rows"] if r["threshold"] == cal["threshold"])
            print(f"centre threshold {cal['threshold']} on {args.calibrate} validation scenes (seed "
                  f"{VALIDATION_SEED}): counting accuracy {best['counting_accuracy']:.3f}, "
                  f"mask AP@0.5 {best['mask_ap50']:.3f}")
        print(f"wall time {time.perf_counter() - t0:.0f} s; step {load_checkpoint(result['checkpoint'])['step']}")
    except (ValueError, FileNotFoundError, FloatingPointError) as exc:
        print(f"train_onepass: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
