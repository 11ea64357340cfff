"""The shipped models' records, read as data.

Each shipped model is a folder ``{models_dir}/NAME/`` (``records.py`` describes it):
``lineage.json`` (its training parts, each with its command, steps, batch and hours, and
the earlier runs it does not descend from), ``eval.json`` (what ``robotpose eval ...
--json`` wrote, with that command) and ``metrics.jsonl`` (the training log of every part
and earlier run, each row tagged with its ``"run"``). Nothing here parses prose.

* :func:`read_record`: a folder -> :class:`ModelRecord` (lineage, evaluations, logs).
* :func:`training_cost`: what a shipped model cost to train, summed over its parts.
* :func:`training_phases`: the phases its weights went through, with each one's settings.
* :func:`read_study`: a study file a script wrote into a model's folder.
* :func:`differing_figures`: the localization figures of two evaluations, entry by entry.
* :func:`mean_count`: an instance evaluation's mean count where the scene holds k robots.
* :func:`sim2real_runs` (chapters 5 and 7), :func:`depth_study_rows` (chapters 6, 7): the runs
  and checkpoints of two studies with their steps counted from the start of training
  (the model's lineage), not within the run that made each checkpoint.

The book reads its scorecard and its "what the shipped models cost" table from here, so
that no number in the prose is typed by hand.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import records
from .checkpoint import MODEL_FILE, models_dir
from .train import read_metrics


@dataclass
class ModelRecord:
    """One model folder.

    Attributes:
        name: the folder's name (``kuka_kr16_localization_cpu``); folder: its path.
        lineage: ``lineage.json`` as a dict; evals: ``eval.json`` ({} when absent).
    """

    name: str
    folder: Path
    lineage: dict
    evals: dict = field(default_factory=dict)

    @property
    def robot(self) -> str:
        return self.lineage["robot"]

    @property
    def task(self) -> str:
        return self.lineage["task"]

    @property
    def weights(self) -> Path:
        return self.folder / MODEL_FILE

    def figures(self, key: str) -> dict | None:
        """The figures of the evaluation ``key`` ("test", "real", "check", ...), or None."""
        entry = self.evals.get(key)
        return None if entry is None else entry["figures"]

    def logs(self) -> dict[str, list[dict]]:
        """The training log's rows by run label, in the log's order (parts and earlier
        runs; a log written without run labels is one run, "part1")."""
        path = self.folder / "metrics.jsonl"
        out: dict[str, list[dict]] = {}
        for row in read_metrics(path) if path.is_file() else []:
            out.setdefault(row.get("run", "part1"), []).append(row)
        return out

    def part_rows(self) -> list[list[dict]]:
        """The log rows of each part of ``lineage.json``, in training order (an empty list for
        a part the log lacks). A part's rows carry its ``run`` label, else ``partN`` where
        the log has that label (a warm-started part, whose steps count from 0), else the
        unlabelled first log; parts that share one label are runs resumed in one log, whose
        steps keep counting, and are told apart by their cumulative steps."""
        logs = self.logs()
        parts = self.lineage["parts"]
        labels = [p.get("run") or (f"part{i}" if f"part{i}" in logs else "part1") for i, p in enumerate(parts, 1)]
        out = []
        for i, (part, label) in enumerate(zip(parts, labels)):
            rows = logs.get(label, [])
            shared = [j for j, other in enumerate(labels) if other == label]
            if len(shared) > 1:   # resumed parts in one log: this part's stretch of steps
                start = sum(int(parts[j]["steps"]) for j in shared if j < i)
                rows = [r for r in rows if start < r.get("step", 0) <= start + int(part["steps"])]
            out.append(rows)
        return out

    def part_logs(self) -> list[list[dict]]:
        """The logs of the parts the shipped weights descend from, in training order (parts
        without logged rows left out)."""
        return [rows for rows in self.part_rows() if rows]


def read_record(name: str, folder: str | Path | None = None) -> ModelRecord | None:
    """The record of the model folder ``NAME`` in ``folder`` (default
    ``checkpoint.models_dir()``), or None when it has no ``lineage.json``."""
    path = (Path(folder) if folder is not None else models_dir()) / name
    if not (path / records.LINEAGE).is_file():
        return None
    evals = records.read_json(path / records.EVAL) if (path / records.EVAL).is_file() else {}
    return ModelRecord(name, path, records.read_json(path / records.LINEAGE), evals)


def training_seconds(rows: list[dict], session_gap_s: float = 600.0) -> float:
    """Wall time spent training from a metrics log's ``time`` stamps: the sum of the
    intervals between consecutive lines, leaving out gaps longer than ``session_gap_s`` (a
    run resumed in a later session would otherwise count the time between sessions).
    NaN with fewer than two timed lines."""
    times = [r["time"] for r in rows if "time" in r]
    if len(times) < 2:
        return float("nan")
    gaps = np.diff(times)
    return float(gaps[(gaps >= 0) & (gaps <= session_gap_s)].sum())


@dataclass
class TrainingCost:
    """What a shipped reference model cost to train, over the parts it descends from.

    Attributes:
        name: the model's folder name; record: its :class:`ModelRecord` (None without one).
        parts: one dict per part of ``lineage.json``, oldest first: "run", "steps",
            "batch_size", "hours" (its wall hours), "recipe" (the synthesis recipe it
            trained on; None where the record has none), "samples_per_s" (median of the
            throughput logged in its rows of ``metrics.jsonl``; NaN when not logged).
        warm_start: the cost of the shipped model whose weights its first part started
            from (``lineage.json``'s "started_from" naming ``assets/models/NAME/model.pt``),
            or None: :attr:`total_scenes` counts it in.
    """

    name: str
    record: ModelRecord | None
    parts: list[dict] = field(default_factory=list)
    warm_start: "TrainingCost | None" = None

    @property
    def total_scenes(self) -> int:
        """Scenes seen by these weights from scratch: this model's and its warm start's."""
        return self.scenes + (self.warm_start.total_scenes if self.warm_start is not None else 0)

    @property
    def total_hours(self) -> float:
        return self.hours + (self.warm_start.total_hours if self.warm_start is not None else 0.0)

    def recipe_steps(self) -> list[tuple[str | None, int]]:
        """[(recipe, steps), ...] in training order, consecutive parts on the same recipe
        merged: what the weights were trained on (this model's parts, not its warm start's)."""
        out: list[tuple[str | None, int]] = []
        for p in self.parts:
            if out and out[-1][0] == p["recipe"]:
                out[-1] = (p["recipe"], out[-1][1] + p["steps"])
            else:
                out.append((p["recipe"], p["steps"]))
        return out

    @property
    def steps(self) -> int:
        return int(sum(p["steps"] for p in self.parts))

    @property
    def hours(self) -> float:
        return float(sum(p["hours"] for p in self.parts if np.isfinite(p["hours"])))

    @property
    def scenes(self) -> int:
        """Scenes seen in all parts: each part's steps x its batch size."""
        return int(sum(p["steps"] * p["batch_size"] for p in self.parts))


def training_cost(name: str, folder: str | Path | None = None) -> TrainingCost:
    """:class:`TrainingCost` of the shipped model ``NAME`` (e.g. ``kuka_kr16_localization_cpu``)
    in ``folder`` (default ``checkpoint.models_dir()``), from its ``lineage.json`` and log.
    No record: no parts."""
    record = read_record(name, folder)
    cost = TrainingCost(name=name, record=record)
    if record is None:
        return cost
    parts = record.lineage["parts"]
    started = re.search(r"assets/models/([A-Za-z0-9_]+)/model\.pt", str(parts[0].get("started_from", ""))) \
        if parts else None
    if started and started.group(1) != name and read_record(started.group(1), folder) is not None:
        cost.warm_start = training_cost(started.group(1), folder)
    for part, rows in zip(record.lineage["parts"], record.part_rows()):
        rates = [r["samples_per_s"] for r in rows if "samples_per_s" in r]
        cost.parts.append({"run": part.get("run", "part1"), "steps": int(part["steps"]),
                           "batch_size": int(part["batch_size"]), "hours": float(part["wall_hours"]),
                           "recipe": part.get("recipe"),
                           "samples_per_s": float(np.median(rates)) if rates else float("nan")})
    return cost


@dataclass
class TrainingPhase:
    """One phase of a shipped model's training: a part of its ``lineage.json`` together with
    the parts that resumed it (the same run continued after an interruption).

    Attributes:
        model: the folder whose record holds it; runs: its parts' run labels ("part3").
        steps: optimiser steps; batch_size: scenes per step.
        settings: its command's settings as recorded (``cli.train.training_settings``:
            robot, recipe, lr, schedule and, for localization, depth_weight, depth_code,
            intermediate, depth_context); {} where no command was recorded.
        rows: its rows of the training log (``metrics.jsonl``), in order.
    """

    model: str
    runs: list[str]
    steps: int
    batch_size: int
    settings: dict
    rows: list[dict]


def training_phases(name: str, folder: str | Path | None = None) -> list[TrainingPhase]:
    """The phases the weights of the shipped model ``NAME`` went through, oldest first: the
    phases of the shipped model its first part was warm-started from (as
    :func:`training_cost` follows it), then its own parts, each resumed part ("started_from"
    ending in "(resumed)") merged into the phase it continues. [] without a record."""
    record = read_record(name, folder)
    if record is None:
        return []
    cost = training_cost(name, folder)
    phases = training_phases(cost.warm_start.name, folder) if cost.warm_start is not None else []
    own: list[TrainingPhase] = []
    for i, (part, rows) in enumerate(zip(record.lineage["parts"], record.part_rows())):
        label = part.get("run") or f"part{i + 1}"
        if own and str(part.get("started_from", "")).endswith("(resumed)"):
            own[-1].runs.append(label)
            own[-1].steps += int(part["steps"])
            own[-1].rows.extend(rows)
            continue
        own.append(TrainingPhase(name, [label], int(part["steps"]), int(part["batch_size"]),
                                 dict(part.get("settings") or {}), list(rows)))
    return phases + own


def mean_count(figures: dict | None, true_count: int = 1) -> float | None:
    """The mean number of robots an instance evaluation (``figures``: the "figures" of
    ``robotpose eval instances --json``) counted in its scenes that hold ``true_count``
    robots, or None without such scenes. Its "counting" is either a dict keyed by the
    true count (as text, the model cards' eval.json) or a list of rows with a
    "true_count" (the earlier runs' evaluations in lineage.json)."""
    counting = (figures or {}).get("counting") or {}
    if isinstance(counting, dict):
        row = counting.get(str(true_count))
    else:
        row = next((r for r in counting if r.get("true_count") == true_count), None)
    return None if row is None else float(row["mean_predicted"])


def weight1_runs(robots=("kuka_kr16", "panda_primitive"), folder: str | Path | None = None) -> list[dict]:
    """The recurrent instance runs trained with the paper's end-of-sequence weight 1 (the
    "eos1" entry of each robot's ``{robot}_instances_cpu`` lineage, with its evaluation), one
    row per robot that has one: "robot", "test scenes", "mean count, 1 robot" and "mean
    count, 2 robots" (where the evaluation has such scenes) and "count right" (share)."""
    rows = []
    for robot in robots:
        record = read_record(f"{robot}_instances_cpu", folder)
        run = next((r for r in (record.lineage.get("earlier_runs", []) if record else [])
                    if r["run"] == "eos1" and "evaluation" in r), None)
        if run is None:
            continue
        counting = {r["true_count"]: r for r in run["evaluation"]["figures"]["counting"]}
        means = {f"mean count, {k} robot{'s' if k != 1 else ''}": counting[k]["mean_predicted"]
                 for k in (1, 2) if k in counting}
        rows.append({"robot": robot, "test scenes": counting["all"]["images"], **means,
                     "count right": counting["all"]["accuracy"] if "all" in counting else float("nan")})
    return rows


def read_study(model: str, kind: str, folder: str | Path | None = None) -> dict | None:
    """The study file ``{kind}_study.json`` in the folder of the model ``model`` (e.g.
    ``read_study("panda_primitive_localization_cpu", "sim2real")``), parsed (NaN allowed), or None
    when it is absent. A file that is not valid JSON raises ValueError naming it."""
    path = (Path(folder) if folder is not None else models_dir()) / model / f"{kind}_study.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path.name}: not valid JSON ({err})") from None


def localization_entries(figures: dict) -> dict:
    """The entries of ``eval localization --json`` figures (``LocalizationReport.figures``)
    as {(table, row, column): value}: table "nms"/"log" (row a joint or "all"; columns
    "mean", "50%", "75%", "n", "missed") or "depth" (row "near"/"far"; its statistics)."""
    entries = {}
    for method, rows in figures.get("pixel_errors_px", {}).items():
        for r in rows:
            for k in ("mean", "50%", "75%", "n", "missed"):
                entries[(method, r["joint"], k)] = r[k]
    for rng, col in figures.get("table_i_cm", {}).items():
        for k, v in col.items():
            entries[("depth", rng, k)] = v
    return entries


def differing_figures(reference: dict, other: dict, tolerance: float = 0.006,
                      relative: float = 5e-4) -> tuple[list, int]:
    """Entries of the localization figures ``reference`` (e.g. a model's eval.json) that
    ``other`` does not reproduce within ``tolerance`` (0.006: equal when printed to two
    decimals) or, for large values, within ``relative`` of the value (0.05%: float32
    convolutions differ in their last bits between CPUs, since oneDNN picks its kernels by
    instruction set, and a median of tens of cm can move by a hundredth). Entries without a
    value in ``reference`` (None or NaN) are left out.
    Returns ([(key, reference value, other value), ...], the number of entries compared)."""
    ref, oth = localization_entries(reference), localization_entries(other)
    keys = [k for k in ref if k in oth and ref[k] is not None and np.isfinite(ref[k])]
    diff = [(k, ref[k], oth[k]) for k in keys
            if oth[k] is None  # NaN differs below
            or not abs(ref[k] - oth[k]) < max(tolerance, relative * abs(ref[k]))]
    return diff, len(keys)


def sim2real_runs(study: dict, cost) -> tuple[list[dict], dict | None]:
    """The runs of the sim-to-real study (``sim2real_study.json``, chapters 5 and 6) with
    their steps and scenes counted from the start of training.

    The study counts each run's "step", "scenes" and "hours" from the start of its own
    training run (a counter that restarts when a run is continued). When its first run is
    the paper-recipe weights that the `sim2real` runs continued from (recipe "paper", its
    step equal to that of the last part of the shipped model's lineage before its last
    part; ``cost``: :class:`TrainingCost` of the shipped model), the earlier training is
    added, and that run is named by what it is ("paper recipe only, before sim2real").

    Returns:
        (runs, before): copies of the study's runs, each with "total_steps" and
        "total_scenes" added (equal to "step" and "scenes" when the relation does not
        hold); "hours" stays the `sim2real` training time of the study (NaN where it has
        none). ``before``: {"steps", "scenes", "hours"} of the paper-recipe training that
        the first run stands for, or None when the relation does not hold.
    """
    runs = [dict(r) for r in study.get("runs", [])]
    parts = list(cost.parts[:-1]) if cost is not None else []
    first = runs[0] if runs else None
    if not (first and parts and first.get("recipe") == "paper" and first["step"] == parts[-1]["steps"]):
        for r in runs:
            r["total_steps"], r["total_scenes"] = r["step"], r["scenes"]
        return runs, None
    before = {"steps": sum(p["steps"] for p in parts), "scenes": sum(p["steps"] * p["batch_size"] for p in parts),
              "hours": sum(p["hours"] for p in parts)}
    first.update(label="paper recipe only, before sim2real", total_steps=before["steps"],
                 total_scenes=before["scenes"])
    for r in runs[1:]:
        r["total_steps"], r["total_scenes"] = before["steps"] + r["step"], before["scenes"] + r["scenes"]
    return runs, before


def depth_study_rows(diagnoses: list[dict], cost) -> list[dict]:
    """Chapter 6's rows of the depth study's checkpoint diagnoses
    (``kuka_kr16_localization_cpu/depth_study.json``, ``scripts/depth_diagnosis.py``).

    Each diagnosis holds the step counted within the training run that made its
    checkpoint (the counter restarts when a run is continued) and a label naming that
    run's part of the model's lineage ("part 3 (log code)") or the shipped weights
    ("...; shipped"). With ``cost`` (:class:`TrainingCost` of the model) the step is
    counted from the start of training and the row is named by it and by the label's
    parenthesis ("step 7,330 (log code)"); a diagnosis whose part is not found keeps its
    label and step.

    Returns:
        one row per diagnosis: "checkpoint", "step" (from the start where found), "trained with"
        (the label's parenthesis without "shipped", e.g. "log code"), "scenes"
        (test scenes), "near mean", "far mean" (Table I over the depth discs' pixels, cm), "floor far" (the
        targets' far error over the same pixels), "far joints" (the depth read at each far joint's true pixel)
        and "baseline far" (the median depth's error at the same joints), "slope", "R²", "joints", "oracle
        scale" (cm; NaN when not measured).
    """
    import re

    parts = list(cost.parts) if cost is not None else []
    starts = np.cumsum([0] + [p["steps"] for p in parts])
    runs = [p["run"] for p in parts]
    rows = []
    for d in diagnoses:
        label = d.get("label", d.get("checkpoint", "?"))
        step = int(d.get("step", 0))
        found = re.match(r"part (\d+)\b", label)
        if found and f"part{found.group(1)}" in runs:
            index = runs.index(f"part{found.group(1)}")
        elif parts and "shipped" in label and step == parts[-1]["steps"]:
            index = len(parts) - 1
        else:
            index = None
        # what the checkpoint was trained with: the study label's parenthesis, less "shipped"
        what = label.partition("(")[2].rpartition(")")[0]
        trained_with = "; ".join(w for w in what.split("; ") if w and w != "shipped")
        if index is not None:
            step = int(starts[index]) + step
            label = f"step {step:,}" + (f" ({what})" if what else "")
        rows.append({"checkpoint": label, "step": step, "trained with": trained_with,
                     "scenes": d.get("n_scenes", 0),
                     "near mean": d["table1_model"]["near"]["mean_cm"],
                     "far mean": d["table1_model"]["far"]["mean_cm"],
                     "floor far": d["table1_floor_lowres_targets"]["far"]["mean_cm"],
                     "far joints": d["joint_read_at_pixel"].get("far", {}).get("mean_cm", float("nan")),
                     "baseline far": d["median_true_baseline"]["far"]["mean_cm"],
                     "slope": d["joint_fit"]["slope"], "R²": d["joint_fit"]["r2"],
                     "joints": d["joint_read_at_pixel"]["all"]["mean_cm"],
                     "oracle scale": d.get("joint_after_oracle_robot_scale", {}).get("all", {})
                                      .get("mean_cm", float("nan"))})
    return rows
