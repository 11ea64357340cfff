"""Table I's ablation (issue 22): under which conditions does depth from one image reach
the paper's 6-10 cm?

Every row fine-tunes the same start (the shipped ``kuka_kr16`` localization model) for the
same number of steps, with the same seeds and settings, on one synthesis recipe:

* ``paper``: joint angles U(-90, 90) degrees and a random field of view (45-60 degrees),
  the paper's text and our standard training and test set (the control: what the extra
  steps alone give);
* ``readme_joints``: joint angles U(-30, 30) degrees, the paper's public README;
* ``fixed_fov``: one fixed field of view (52.5 degrees);
* ``paper_readme``: both, the README's conditions.

Each model is evaluated on the test set of every condition of the study, its own and the
standard one among them (``robotpose eval localization --recipe R --json``), and so is the
start, untrained further: a condition's effect is its model against the control on the
condition's own test set.
CPU time is measured per training run (user + system seconds of the child processes; a
resumed run adds to what its folder recorded). The study is written as data to
``assets/studies/table1_ablation/study.json``; chapter 2 renders it.

    python scripts/table1_ablation.py [--steps 1500] [--rows paper,readme_joints,...] [--n 100]

Interrupted, it continues where it stopped: finished rows are kept, a row in training
resumes from its checkpoint.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from robotpose_lib.study_runs import chosen_rows, run_evaluation, run_rows, study_parser  # noqa: E402
from robotpose_lib.synth import RECIPES  # noqa: E402

START = "assets/models/kuka_kr16_localization_cpu/model.pt"
ROWS = {
    "paper": "joint angles U(-90, 90) deg, random field of view 45-60 deg (the paper's text; standard)",
    "readme_joints": "joint angles U(-30, 30) deg (the paper's README), random field of view",
    "fixed_fov": "joint angles U(-90, 90) deg, one fixed field of view of 52.5 deg",
    "paper_readme": "joint angles U(-30, 30) deg and one fixed field of view (the README's conditions)",
}
# The shipped model's architecture and its continuation settings (its card).
MODEL_SETTINGS = ["--set", "depth_code=log", "--set", "depth_weight=10", "--set", "intermediate=low_res",
                  "--set", "depth_context=4"]
SEED = 13


def train_args(recipe: str) -> list[str]:
    return ["localization", "--config", "cpu", "--robot", "kuka_kr16", "--recipe", recipe, "--init", START,
            *MODEL_SETTINGS, "--n-scenes", "200000", "--data-seed", str(SEED), "--seed", str(SEED),
            "--schedule", "cosine", "--lr", "5e-4", "--workers", "1", "--threads", "1",
            "--ckpt-every", "250", "--log-every", "25", "--no-progress"]


def evaluate(checkpoint: str, recipe: str, n: int, out: Path) -> dict:
    """``robotpose eval localization`` on the test set of ``recipe``; its JSON figures."""
    return run_evaluation(["localization", "--checkpoint", checkpoint, "--n", str(n), "--recipe", recipe],
                          out, cwd=ROOT)


def near_far(figures: dict) -> str:
    """'near/far cm' of an evaluation's Table I means ('-' where a range had no pixel)."""
    means = [figures["table_i_cm"][r]["mean"] for r in ("near", "far")]
    return "/".join("-" if m is None else f"{m:.1f}" for m in means) + " cm"


def main(argv=None) -> int:
    p = study_parser(__doc__.split("\n\n")[0], ROWS, steps=1500, n=100, n_help="test scenes per test set",
                     runs="runs/table1_ablation", study="assets/studies/table1_ablation/study.json")
    args = p.parse_args(argv)
    rows = chosen_rows(p, args, [r for r in ROWS if r in RECIPES])
    runs = ROOT / args.runs
    study = {"start": START, "steps": args.steps, "batch_size": 8, "seed": SEED, "n_test": args.n,
             "conditions": {r: ROWS[r] for r in rows}, "rows": []}
    start_figures = {r: evaluate(START, r, args.n, runs / f"start_eval_{r}.json") for r in {"paper", *rows}}
    study["rows"].append({"name": "start", "recipe": None, "cost": None, "own": None,
                          "by_test_set": start_figures})

    def evaluate_row(recipe: str, checkpoint: str, out: Path) -> dict:
        # every test set of the study, so that each condition compares with the control on its own test set
        tests = {r: evaluate(checkpoint, r, args.n, out / f"eval_{r}.json") for r in {"paper", *rows}}
        return {"recipe": recipe, "own": recipe, "by_test_set": tests}

    run_rows(study, rows, train_args, evaluate_row,
             lambda recipe, fig, cost: (f"Table I mean near/far, own test set {near_far(fig['by_test_set'][recipe])}, "
                                        f"standard {near_far(fig['by_test_set']['paper'])}"),
             runs, args.steps, ROOT / args.study, ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
