"""Which network learns the mesh Panda best on this CPU (issue 20, item 4)?

Every row starts from the shipped mesh-Panda model (``assets/models/panda_localization_cpu``)
and trains the same number of steps, with the same seeds, recipe ("dream") and settings;
only the backbone changes:

* ``frozen_lite0``: EfficientNet-Lite0 cut at stride 8, frozen (the ``cpu`` preset, as shipped);
* ``finetuned_lite0``: the same backbone, fine-tuned;
* ``finetuned_lite1``: EfficientNet-Lite1 cut at stride 8 (two blocks deeper), fine-tuned,
  from its own ImageNet weights (the heads from the start; needs the extra ``backbones``);
* ``frozen_lite0_s4``: belief maps at stride 4 (60x80 stages at 240x320, four times the
  stage cost): Lite0 cut at stride 4 (24 channels), frozen; the heads from the start except
  each stage's first convolution, which the channel count changes (those start fresh).

Each model is measured on the filmed validation set (``robotpose eval filmed --instances none
--json``), where choices are made; the dev photos only report. The CPU time of each
training run is recorded: a fine-tuned backbone costs more per step. The study is written
as data to ``assets/studies/panda_backbones/study.json``.

    python scripts/backbone_study.py [--steps 800] [--rows frozen_lite0,...] [--n 200]

Interrupted, it continues where it stopped. The record holds the rows of one call:
``--study``/``--runs`` name another record for rows measured from a later start.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from robotpose_lib.study_runs import chosen_rows, run_evaluation, run_rows, study_parser  # noqa: E402

START = "assets/models/panda_localization_cpu/model.pt"
ROWS = {
    "frozen_lite0": ["--set", "backbone=lite0_s8", "--set", "freeze_backbone=true"],
    "finetuned_lite0": ["--set", "backbone=lite0_s8", "--set", "freeze_backbone=false"],
    "finetuned_lite1": ["--set", "backbone=lite1_s8", "--set", "freeze_backbone=false"],
    "frozen_lite0_s4": ["--set", "backbone=lite0_s4", "--set", "freeze_backbone=true"],
}
SEED = 23


def train_args(row: str) -> list[str]:
    return ["localization", "--config", "cpu", "--robot", "panda", "--recipe", "dream", "--init", START,
            "--set", "depth_weight=50", "--set", "intermediate=low_res", *ROWS[row], "--n-scenes", "400000",
            "--data-seed", str(SEED), "--seed", str(SEED), "--workers", "1", "--threads", "1",
            "--ckpt-every", "100", "--log-every", "25", "--no-progress"]


def filmed(checkpoint: str, n: int, out: Path) -> dict:
    """The filmed validation set's figures (all and moving joints, model and baseline)."""
    figures = run_evaluation(["filmed", "--checkpoint", checkpoint, "--instances", "none", "--n", str(n)],
                             out, cwd=ROOT)
    return {"model": figures["model"], "baseline": figures["baseline"], "command": figures["command"]}


def main(argv=None) -> int:
    p = study_parser(__doc__.split("\n\n")[0], ROWS, steps=800, n=200, n_help="filmed validation scenes",
                     runs="runs/panda_backbones", study="assets/studies/panda_backbones/study.json")
    args = p.parse_args(argv)
    rows = chosen_rows(p, args, ROWS)
    runs = ROOT / args.runs
    study = {"start": START, "steps": args.steps, "batch_size": 8, "seed": SEED, "recipe": "dream",
             "n_filmed": args.n, "rows": [{"name": "start", "cost": None,
                                            "filmed": filmed(START, args.n, runs / "start_filmed.json")}]}
    run_rows(study, rows, train_args,
             lambda row, ckpt, out: {"settings": ROWS[row], "filmed": filmed(ckpt, args.n, out / "filmed.json")},
             lambda row, fig, cost: "filmed AUC all/moving {:.3f}/{:.3f}".format(
                 fig["filmed"]["model"]["all"]["auc"], fig["filmed"]["model"]["moving"]["auc"]),
             runs, args.steps, ROOT / args.study, ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
