"""Measure localization checkpoints on the real Panda dev photos and write the study file
chapter 6 reads (assets/models/panda_primitive_localization_cpu/sim2real_study.json).

    python scripts/sim2real_study.py "LABEL=CKPT[:METRICS.jsonl]" ... [--out FILE] [--data DIR] [--append]

--append keeps the rows already in --out (a row with the same label is measured again), so a
later session adds a checkpoint without the earlier runs' files.

Each checkpoint runs through the Predictor with one robot per photo (no instance masks)
and NMS peaks; the figures are eval_real.keypoint_metrics for all and for the moving
joints. Steps and scenes come from the checkpoint; CPU hours from its training log (wall
time between the log's first line and the line of the checkpoint's step, on the 2-core
machine, shared with other jobs).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from robotpose_lib.eval import real as eval_real  # noqa: E402
from robotpose_lib.cards import training_seconds  # noqa: E402
from robotpose_lib.checkpoint import load_checkpoint  # noqa: E402
from robotpose_lib.fileio import write_json_atomic  # noqa: E402
from robotpose_lib.real_panda import find_real_panda_dir, load_real_panda  # noqa: E402
from robotpose_lib.train import read_metrics  # noqa: E402


def hours_at(log: Path | None, step: int) -> float:
    if log is None or not log.exists():
        return float("nan")
    rows = read_metrics(log)
    upto = [r for r in rows if r["step"] <= step]
    if len(upto) < 2:
        return float("nan")
    # training time without the gaps between sessions, plus the time before the first
    # line at the run's average pace
    active = training_seconds(upto)
    per_step = active / max(1, upto[-1]["step"] - upto[0]["step"])
    return (active + per_step * upto[0]["step"]) / 3600.0


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("runs", nargs="+", help="LABEL=CHECKPOINT[:METRICS_LOG]")
    p.add_argument("--out", default=str(ROOT / "assets" / "models" / "panda_primitive_localization_cpu"
                                        / "sim2real_study.json"))
    p.add_argument("--data", help="photo folder (default shared/data/real_panda_dev)")
    p.add_argument("--append", action="store_true", help="keep the rows already in --out")
    args = p.parse_args()
    folder = Path(args.data) if args.data else find_real_panda_dir()
    photos = load_real_panda(folder) if folder else []
    if not photos:
        raise SystemExit("no real photos found")
    runs = []
    for item in args.runs:
        label, _, rest = item.partition("=")
        ckpt_path, _, log = rest.partition(":")
        ckpt = load_checkpoint(ckpt_path)
        batch = ckpt.get("settings", {}).get("batch_size", 8)
        predictor = eval_real.load_predictor(ckpt_path, "none")
        pred = eval_real.predict_photos(predictor, photos, method="nms")
        moving = eval_real.MOVING_JOINTS["panda"]
        row = {"label": label, "checkpoint": ckpt_path, "step": int(ckpt["step"]),
               "scenes": int(ckpt["step"]) * int(batch), "hours": hours_at(Path(log) if log else None, ckpt["step"]),
               "config": ckpt["config"].get("name"), "recipe": ckpt.get("settings", {}).get("recipe", "paper"),
               "all": eval_real.keypoint_metrics(pred), "moving": eval_real.keypoint_metrics(pred, moving)}
        runs.append(row)
        print(f"{label:40s} step {row['step']:6d} {row['hours']:5.2f} h  AUC moving {row['moving']['auc']:.3f} "
              f"all {row['all']['auc']:.3f}  found {row['all']['found']:.2f}  median {row['all']['median_px']:.1f} px",
              flush=True)
    if args.append and Path(args.out).is_file():
        old = json.loads(Path(args.out).read_text())
        if old.get("photos") != len(photos) or old.get("folder") != folder.name:
            raise SystemExit(f"--append: {args.out} was measured on other photos ({old.get('folder')}, "
                             f"{old.get('photos')}), not {folder.name} ({len(photos)})")
        new = {r["label"] for r in runs}
        runs = [r for r in old["runs"] if r["label"] not in new] + runs
    write_json_atomic(args.out, {"photos": len(photos), "folder": folder.name, "runs": runs})
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
