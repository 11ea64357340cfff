"""Which network learns the mesh Panda best on this CPU (issue 20, item 4)?

Every row starts from the shipped mesh-Panda model (``assets/models/panda_mesh_localization_cpu``)
and trains the same number of steps, with the same seeds, recipe ("dream") and settings;
only the backbone changes:

* ``frozen_lite0``: EfficientNet-Lite0 cut at stride 8, frozen (the ``cpu`` preset, as shipped);
* ``finetuned_lite0``: the same backbone, fine-tuned;
* ``finetuned_lite1``: EfficientNet-Lite1 cut at stride 8 (two blocks deeper), fine-tuned,
  from its own ImageNet weights (the heads from the start; needs the extra ``backbones``).

Each model is measured on the filmed validation set (``robotpose eval filmed --instances none
--json``), where choices are made; the dev photos only report. The CPU time of each
training run is recorded: a fine-tuned backbone costs more per step. The study is written
as data to ``assets/studies/panda_backbones/study.json``.

    python scripts/backbone_study.py [--steps 800] [--rows frozen_lite0,...] [--n 200]

Interrupted, it continues where it stopped.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from robotpose_lib.fileio import write_json_atomic  # noqa: E402
from robotpose_lib.study_runs import run_evaluation, run_training  # noqa: E402

START = "assets/models/panda_mesh_localization_cpu/model.pt"
ROWS = {
    "frozen_lite0": ["--set", "backbone=lite0_s8", "--set", "freeze_backbone=true"],
    "finetuned_lite0": ["--set", "backbone=lite0_s8", "--set", "freeze_backbone=false"],
    "finetuned_lite1": ["--set", "backbone=lite1_s8", "--set", "freeze_backbone=false"],
}
SEED = 23


def train_args(row: str) -> list[str]:
    return ["localization", "--config", "cpu", "--robot", "panda_mesh", "--recipe", "dream", "--init", START,
            "--set", "depth_weight=50", "--set", "intermediate=low_res", *ROWS[row], "--n-scenes", "400000",
            "--data-seed", str(SEED), "--seed", str(SEED), "--workers", "1", "--threads", "1",
            "--ckpt-every", "100", "--log-every", "25", "--no-progress"]


def filmed(checkpoint: str, n: int, out: Path) -> dict:
    """The filmed validation set's figures (all and moving joints, model and baseline)."""
    figures = run_evaluation(["filmed", "--checkpoint", checkpoint, "--instances", "none", "--n", str(n)],
                             out, cwd=ROOT)
    return {"model": figures["model"], "baseline": figures["baseline"], "command": figures["command"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=800)
    p.add_argument("--rows", default=",".join(ROWS))
    p.add_argument("--n", type=int, default=200, help="filmed validation scenes")
    p.add_argument("--runs", default="runs/panda_backbones")
    p.add_argument("--study", default="assets/studies/panda_backbones/study.json")
    args = p.parse_args(argv)
    rows = args.rows.split(",")
    if any(r not in ROWS for r in rows):
        p.error(f"--rows: expected some of {list(ROWS)}, got {rows}")
    runs = ROOT / args.runs
    study = {"start": START, "steps": args.steps, "batch_size": 8, "seed": SEED, "recipe": "dream",
             "n_filmed": args.n, "rows": [{"name": "start", "cost": None,
                                            "filmed": filmed(START, args.n, runs / "start_filmed.json")}]}
    for row in rows:
        out = runs / row
        cost = run_training(train_args(row), out, args.steps, cwd=ROOT)
        checkpoint = str(out / "checkpoint.pt")
        checkpoint = checkpoint[len(str(ROOT)) + 1:] if checkpoint.startswith(f"{ROOT}/") else checkpoint
        result = filmed(checkpoint, args.n, out / "filmed.json")
        study["rows"].append({"name": row, "settings": ROWS[row], "cost": cost, "filmed": result})
        write_json_atomic(ROOT / args.study, study)
        m = result["model"]
        print(f"{row}: filmed AUC all/moving {m['all']['auc']:.3f}/{m['moving']['auc']:.3f}, "
              f"{cost['cpu_s'] / 60:.0f} CPU min", flush=True)
    write_json_atomic(ROOT / args.study, study)
    print(f"study -> {args.study}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
