"""Make (or extend) a model folder assets/models/NAME/ from a training run, and measure it.

    python scripts/ship_model.py RUN_DIR NAME --command "robotpose train ..." --recipe R \
        [--continue "robotpose train ... --resume"] [--purpose TEXT] [--eval-n 200] [--no-eval] \
        [--localization LOC.pt] [--new-part]

Writes model.pt (the run's checkpoint without optimiser, schedule and RNG state),
metrics.jsonl (the run's log), lineage.json (a part appended for the steps this run added
since the folder's last part) and, unless --no-eval, eval.json with the check on the first
4 test scenes (which tests/test_records.py measures again), the synthetic test set (100
scenes, chapter 2's tables), the filmed validation set, the
twin ladder and the dev photos (when present), each measured now by its robotpose command
with --json; an instance model (one-pass or recurrent) gets the check, the test set with
robot-free and hard-negative scenes, and the dev photos through --localization instead.
card.md is rendered from the JSON (robotpose_lib.records).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from robotpose_lib import records  # noqa: E402
from robotpose_lib.checkpoint import INFERENCE_KEYS, load_checkpoint, save_checkpoint  # noqa: E402
from robotpose_lib.cli.train import training_settings  # noqa: E402
from robotpose_lib.fileio import write_json_atomic  # noqa: E402
from robotpose_lib.real_panda import find_real_panda_dir  # noqa: E402
from robotpose_lib.train import read_metrics  # noqa: E402



def part_hours(rows: list[dict], first_step: int) -> float:
    """Wall hours of the logged steps after ``first_step`` (gaps of over 10 minutes between
    two log lines, a run stopped and resumed later, are left out)."""
    times = [r["time"] for r in rows if "time" in r and r.get("step", 0) > first_step]
    return sum(b - a for a, b in zip(times, times[1:]) if b - a < 600) / 3600.0


def instance_runs(model: Path, task: str, localization: str | None) -> list:
    """The evaluations of an instance model (one-pass or recurrent): the check, the test
    set with robot-free and hard-negative scenes, and the dev photos read through the
    localization net it was trained on (when the photos are here)."""
    runs = [("check", "the first 4 test scenes (tests/test_records.py measures them again)",
             ["eval", task, "--checkpoint", str(model), "--n", "4"]),
            ("test", "fixed synthetic test set (100 scenes, seed 12019)",
             ["eval", task, "--checkpoint", str(model), "--n", "100", "--robot-free", "40", "--hard-negatives"])]
    photos = find_real_panda_dir()
    if photos is not None and localization:
        runs.append(("real", "the 15 real dev photos (measured, never trained on), on the localization net's outputs",
                     ["eval", "real", "--checkpoint", localization, "--instances", str(model), "--method", "nms"]))
    return runs


def measure(folder: Path, n: int, localization: str | None = None) -> None:
    model = folder / "model.pt"
    rp = [sys.executable, "-m", "robotpose_lib.cli"]
    task = load_checkpoint(model)["task"]
    runs = [("check", "the first 4 test scenes (tests/test_records.py measures them again)",
             ["eval", "localization", "--checkpoint", str(model), "--n", "4"]),
            ("test", "fixed synthetic test set (100 scenes, seed 12019)",
             ["eval", "localization", "--checkpoint", str(model), "--n", "100"]),
            ("filmed", "filmed validation set (synthetic, how people film arms; choices are made here)",
             ["eval", "filmed", "--checkpoint", str(model), "--instances", "none", "--n", str(n)])]
    if task != "localization":
        runs = instance_runs(model, task, localization)
    elif find_real_panda_dir() is not None:
        runs += [("twin", "twin ladder on the 15 dev photos (measured, never trained on)",
                  ["eval", "twin", "--checkpoint", str(model), "--instances", "none"]),
                 ("real", "the 15 dev photos, one robot per photo (measured, never trained on)",
                  ["eval", "real", "--checkpoint", str(model), "--instances", "none", "--method", "nms"])]
    for key, title, args in runs:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "figures.json"
            subprocess.run(rp + args + ["--json", str(out)], check=True, cwd=ROOT)
            figures = json.loads(out.read_text())
        figures.pop("predictions", None)  # per-photo coordinates: in the JSON of a fresh run, not the card
        shown = "robotpose " + " ".join(a if not a.startswith(str(ROOT)) else str(Path(a).relative_to(ROOT))
                                        for a in args)
        records.add_evaluation(folder, key, shown + " --json OUT", figures, title)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir", type=Path)
    p.add_argument("name")
    p.add_argument("--command", required=True, help="the command that trained this part")
    p.add_argument("--continue", dest="continue_command", help="the command that continues the run")
    p.add_argument("--recipe", required=True)
    p.add_argument("--purpose", default="")
    p.add_argument("--machine", default="2-core CPU")
    p.add_argument("--eval-n", type=int, default=200)
    p.add_argument("--no-eval", action="store_true")
    p.add_argument("--localization", help="an instance model's localization checkpoint (for the dev photos)")
    p.add_argument("--new-part", action="store_true",
                   help="the run was warm-started (--init) from this folder's model.pt: a new part whose steps "
                        "count from 0, its log appended to the folder's")
    args = p.parse_args()

    settings = training_settings(args.command)  # a command the train CLI rejects stops here
    if settings["recipe"] != args.recipe:
        raise SystemExit(f"ship_model: --recipe {args.recipe} but the command trains on {settings['recipe']!r}")
    ckpt = load_checkpoint(args.run_dir / "checkpoint.pt")
    folder = ROOT / "assets" / "models" / args.name
    path = folder / records.LINEAGE
    lineage = records.read_json(path) if path.is_file() else {
        "name": args.name, "task": ckpt["task"], "robot": ckpt["robot"], "recipe": args.recipe, "parts": []}
    for key in ("robot", "task"):  # the command that is recorded is the one that trained these weights
        if settings[key] != ckpt[key]:
            raise SystemExit(f"ship_model: --command trains a {settings[key]!r} model ({key}), the run's "
                             f"checkpoint is {ckpt[key]!r}")
    for key in ("robot", "task"):  # a folder holds one model: never another robot's weights
        if lineage[key] != ckpt[key]:
            raise SystemExit(f"ship_model: {folder} holds a {lineage[key]!r} model ({key}), the run's checkpoint "
                             f"is {ckpt[key]!r}; choose the folder of that model")
    done = sum(part["steps"] for part in lineage["parts"])
    init = (ckpt.get("settings") or {}).get("init_from")
    # a new part warm-started from the folder's own weights counts its steps from 0: said, not
    # guessed (a run's init path may name a folder that was renamed since)
    warm = args.new_part
    if warm and not (lineage["parts"] and init and Path(init).resolve() == (folder / "model.pt").resolve()):
        raise SystemExit(f"ship_model: --new-part: the run was not warm-started from {folder / 'model.pt'} "
                         f"(its --init: {init})")
    if not warm and ckpt["step"] < done:
        raise SystemExit(f"ship_model: the run is at step {ckpt['step']}, behind the {done} steps {folder.name} "
                         "already records; it is not this model's continuation")
    folder.mkdir(parents=True, exist_ok=True)
    rows = read_metrics(args.run_dir / "metrics.jsonl")
    if warm or ckpt["step"] > done:
        lineage["parts"].append({
            "started_from": (f"part {len(lineage['parts'])} (its weights, a fresh optimiser)" if warm
                             else f"part {len(lineage['parts'])} (resumed)" if lineage["parts"]
                             else init or "scratch"),
            "command": args.command, "settings": settings, "recipe": args.recipe,
            "steps": ckpt["step"] if warm else ckpt["step"] - done,
            "batch_size": (ckpt.get("settings") or {}).get("batch_size", 8),
            "wall_hours": round(part_hours(rows, 0 if warm else done), 3), "machine": args.machine,
            "date": dt.date.today().isoformat()})
    save_checkpoint(folder / "model.pt", {k: ckpt[k] for k in INFERENCE_KEYS if k in ckpt})
    if warm:  # the folder's log gains the new part's rows after the old ones, labelled
        old = read_metrics(folder / "metrics.jsonl") if (folder / "metrics.jsonl").is_file() else []
        rows = old + [{**r, "run": f"part{len(lineage['parts'])}"} for r in rows]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    lineage["recipe"] = args.recipe
    lineage["continue"] = args.continue_command or args.command + " --resume"
    if args.purpose:
        lineage["purpose"] = args.purpose
    write_json_atomic(path, lineage)
    if not args.no_eval:
        measure(folder, args.eval_n, args.localization)
    records.write_card(folder)
    print(f"{folder}: step {ckpt['step']}, {len(lineage['parts'])} part(s)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (FileNotFoundError, ValueError) as err:   # CheckpointError is a ValueError
        sys.exit(f"ship_model: {err}")
