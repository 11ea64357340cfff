"""What the chapters share, so that each chapter holds prose, calls and figures.

Chapters load models with ``tasks.load_reference`` (a reference model or an explicit
stand-in) and ``Predictor.from_pretrained``.

* :func:`find_log`: the training log of a reference model, one run of its
  ``metrics.jsonl`` (``cards.ModelRecord.logs``); :func:`progress_table`: how a logged loss progressed
  (noise and drops between fifths of a run, chapter 3).
* :func:`shipped_models_table`: what each reference model is and cost to train (from its
  lineage.json and log, ``cards``; the table written by ``narration.markdown_table``).
* :func:`quick_mode_note`: the note a chapter shows when it runs in quick mode.
* :func:`chapter_verdict`: the verdict box a chapter opens with (from the scorecard).
* :func:`onepass_study_rows`, :func:`onepass_robot_rows`: chapter 6's one-pass tables, from
  the study files and cards that ``scorecard.onepass_figures`` reads.
* :func:`depth_checkpoints`: the depth study's checkpoint rows (chapters 6 and 7).

Sentences and Markdown tables written from measured figures belong to ``narration``;
timings to ``bench/`` (chapter 3's runtime per robot is
``bench.runtime.instance_timings``).
"""
from __future__ import annotations

import numpy as np

from .checkpoint import model_name
from .narration import ONEPASS_NAMES, markdown_table
from .peaks import peak_name  # noqa: F401  (the chapters import it from here)
from .viz.training import relative_noise


def find_log(robot: str, task: str, run: str = "", config: str = "cpu") -> list[dict] | None:
    """The rows of one run in a reference model's training log (``metrics.jsonl``; ``run``
    a part or earlier run of its lineage.json, e.g. "part1" or "eos1"; "" the part that
    made the shipped weights) when they hold a logged "loss", else None."""
    from .cards import read_record

    record = read_record(model_name(robot, task, config))
    if record is None:
        return None
    run = run or record.lineage["parts"][-1].get("run", "part1")
    rows = record.logs().get(run, [])
    return rows if any("loss" in r for r in rows) else None


def progress_table(rows: list[dict], window: int, key: str = "loss") -> dict:
    """How a logged curve progressed: "logged points", "relative noise" (median over the run
    of the trailing std / mean over ``window`` entries) and "drop k->k+1", the relative drop
    of the mean from one fifth of the run to the next."""
    loss = np.array([r[key] for r in rows if key in r])
    fifths = [chunk.mean() for chunk in np.array_split(loss, 5)]
    return {"logged points": len(loss), "relative noise": relative_noise(loss, window),
            **{f"drop {k + 1}->{k + 2}": float(1 - fifths[k + 1] / fifths[k]) for k in range(4)}}


QUICK_NOTE = ("**Note: a quick build.** This page was built in quick mode "
              "(`ROBOTPOSE_QUICK=1`): small test sets, short live training runs and small "
              "figures, so its numbers are noisy and differ from the model records'. "
              "`make book` builds the full version.")


def quick_mode_note() -> None:
    """Display ``QUICK_NOTE`` when the chapter runs in quick mode; nothing otherwise."""
    from IPython.display import Markdown, display

    from .config import quick_mode

    if quick_mode():
        display(Markdown(QUICK_NOTE))


SHIPPED = ("panda_localization_cpu", "panda_onepass_cpu", "panda_primitive_localization_cpu",
           "panda_primitive_instances_cpu", "panda_primitive_onepass_cpu",
           "kuka_kr16_localization_cpu", "kuka_kr16_instances_cpu", "kuka_kr16_onepass_cpu")


def shipped_models_table(names=SHIPPED, folder=None) -> tuple[str, list[dict]]:
    """(Markdown table, its rows) of the reference models: robot, task, parts, steps, scenes
    seen, training hours on one CPU core, and the training
    throughput in samples/s over all parts (each part's logged median rate of its training
    steps, weighted by the scenes it trained on: total scenes / the time those rates imply;
    wall time also holds checkpoints, logging and a shared machine, so scenes seen / hours
    is lower), from each model's card and the logs it descends from
    (``cards.training_cost``). A missing model is left out. Row keys: "model", "robot",
    "task", "parts", "steps", "scenes seen", "hours", "samples/s", "continued from" (the
    shipped model its first part started from, "—" for none), "scenes from scratch"
    (its scenes plus its warm start's) and "name" (its folder's name, which titles and
    printed lines elsewhere use)."""
    from .cards import training_cost

    rows = []
    for name in names:
        cost = training_cost(name, folder)
        if cost.record is None or not cost.parts:
            continue
        timed = [p for p in cost.parts if np.isfinite(p["samples_per_s"]) and p["samples_per_s"] > 0]
        # the median rate of a short part must not stand for a long one: weight by steps
        rate = (sum(p["steps"] for p in timed) / sum(p["steps"] / p["samples_per_s"] for p in timed)
                if timed else float("nan"))
        robot, task = cost.record.robot, cost.record.task
        start = cost.warm_start
        rows.append({"model": f"{robot} {task}", "robot": robot, "task": task,
                     "parts": len(cost.parts), "steps": cost.steps, "scenes seen": cost.scenes,
                     "hours": cost.hours, "samples/s": rate,
                     "continued from": (f"{start.record.robot} {start.record.task}" if start is not None
                                        else "—"),
                     "scenes from scratch": cost.total_scenes, "name": f"`{name}`"})
    # the folder's name says robot and task, and titles use it: one column for both keeps
    # the table inside the page's text column
    table = markdown_table(rows, columns=["name", "steps", "scenes seen", "hours", "samples/s", "continued from",
                                          "scenes from scratch"],
                           formats={"steps": ",d", "scenes seen": ",d", "hours": ".1f", "samples/s": ".1f",
                                    "scenes from scratch": ",d"},
                           headers={"name": "model", "scenes seen": "scenes", "hours": "hours",
                                    "samples/s": "samples/s", "continued from": "warm start",
                                    "scenes from scratch": "with warm start"})
    return table, rows




def _accuracy_row(label: str, m: dict) -> dict:
    return {"model": label, "box AP": m["box_ap"], "mask AP": m["mask_ap"], "mask AP@0.5": m["mask_ap50"],
            "count right": m["counting_accuracy"]}


# robot-free test scenes with distractor objects and collages of test photos
HARD_NEGATIVES_COLUMN = "robot-free, hard negatives: none found"


def depth_checkpoints(model: str = "kuka_kr16_localization_cpu") -> list[dict]:
    """The depth study's checkpoint diagnoses of the shipped model ``model``
    (``scripts/depth_diagnosis.py`` writes ``depth_study.json`` into its folder) as
    ``cards.depth_study_rows``, steps counted from the start of its training, the shipped
    checkpoint last; without a study, [] after one printed line saying how to make it."""
    from .cards import depth_study_rows, read_study, training_cost

    diagnoses = (read_study(model, "depth") or {}).get("checkpoints", [])
    if not diagnoses:
        print(f"No checkpoint diagnoses in a depth study file (assets/models/{model}/depth_study.json): run "
              "scripts/depth_diagnosis.py CHECKPOINT.")
        return []
    return depth_study_rows(diagnoses, training_cost(model))


def onepass_study_rows(study: dict) -> tuple[list[dict], list[dict]]:
    """(accuracy rows, runtime rows) of a one-pass study file (``scripts/onepass_study.py``).

    Accuracy rows, one per model ("onepass", "convgru"): "model", "box AP", "mask AP",
    "mask AP@0.5", "count right", and "robot-free: none found" when measured (read by
    ``scorecard.onepass_study_models``). Runtime rows, one per robot count: "robots" and
    each timed column ("onepass_ms", "convgru_forced_ms", ...), read as columns of lists
    (or as a list of rows); what is absent gives no rows."""
    from .scorecard import onepass_study_models

    rows = []
    for key, m in onepass_study_models(study).items():
        row = _accuracy_row(ONEPASS_NAMES[key], m)
        if np.isfinite(m["robot_free"]):
            row["robot-free: none found"] = m["robot_free"]
        if np.isfinite(m.get("robot_free_hard", np.nan)):
            row[HARD_NEGATIVES_COLUMN] = m["robot_free_hard"]
        rows.append(row)
    runtime = study.get("runtime") or {}
    if isinstance(runtime, dict) and "rows" in runtime:
        timing = list(runtime["rows"])
    elif isinstance(runtime, dict) and "robots" in runtime:
        columns = [k for k, v in runtime.items() if k.endswith("_ms") and isinstance(v, list)]
        timing = [{"robots": n, **{k: runtime[k][i] for k in columns}} for i, n in enumerate(runtime["robots"])]
    else:
        timing = []
    return rows, timing


def onepass_robot_rows(figures: list[dict]) -> list[dict]:
    """Accuracy rows of several robots' one-pass figures (``scorecard.onepass_figures``),
    one per robot and model: "robot", "model", "test scenes", "box AP", "mask AP",
    "mask AP@0.5", "count right", "robot-free: none found" (NaN where the file read holds
    no such figure)."""
    rows = []
    for f in figures:
        for key, m in f["models"].items():
            row = _accuracy_row(ONEPASS_NAMES[key], m)
            rows.append({"robot": f["robot"], **row, "test scenes": m["n"] if m["n"] is not None else "?",
                         "robot-free: none found": m["robot_free"],
                         HARD_NEGATIVES_COLUMN: m.get("robot_free_hard", np.nan)})
    return rows


def chapter_verdict(chapter: str, without_claims: str = "") -> str:
    """The box a chapter opens with: ``narration.verdict_box`` of the scorecard
    (``scorecard.scorecard``, with the real Panda photos when they are here) for
    ``chapter`` ("1" .. "6"); ``without_claims`` for a chapter without a scored claim."""
    from .narration import verdict_box
    from .real_panda import load_real_panda
    from .scorecard import scorecard

    return verdict_box(scorecard(photos=load_real_panda()), chapter, without_claims)
