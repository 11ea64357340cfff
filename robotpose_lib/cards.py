"""The model cards and training logs of the reference checkpoints, read back as numbers.

``scripts/ship_reference.py`` writes, beside each reference checkpoint NAME.pt, a model
card NAME.md (a header line "trained for N steps of batch B (about S synthetic scenes ...),
M min wall time", notes, and the output of ``robotpose eval`` on the fixed synthetic test
set in a fenced block) and the training log NAME.metrics.jsonl. Earlier parts of a run
that was trained in parts keep their logs as NAME.PART.metrics.jsonl (and, for some, a
card NAME.PART.md); a card whose text starts with a "> Superseded" note belongs to a run
that the shipped checkpoint does not descend from.

* :func:`read_card`: one card -> :class:`ModelCard` (header numbers, evaluation text and
  the step it evaluated).
* :func:`parse_localization_evaluation`, :func:`parse_instance_evaluation`: the text of
  ``robotpose eval localization`` / ``instances`` (``LocalizationReport.format``,
  ``eval.instances.format_instance_results``) -> dicts of numbers.
* :func:`training_seconds` and :func:`training_cost`: what a shipped model cost to train,
  summed over the parts it descends from, from the logs' time stamps.

The book reads its scorecard and its "what the shipped models cost" table from here, so
that no number in the prose is typed by hand.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .checkpoint import checkpoint_dir
from .train import read_metrics

_HEADER = re.compile(r"trained for (\d+) steps of batch (\d+) \(about (\d+) synthetic scenes.*?\),"
                     r" (\d+) min wall time")
_IDENTITY = re.compile(r"- task: (\w+), robot: (\w+), config: `([\w-]+)`")
_REPRODUCE = re.compile(r"^- reproduce: `([^`\n]*)`", re.MULTILINE)
_EVAL_STEP = re.compile(r"\bstep (\d+)\b")
_NUMBER = r"(nan|-?\d+(?:\.\d+)?)"


@dataclass
class ModelCard:
    """One model card (``NAME.md``).

    Attributes:
        path: the card file; name: its stem (``panda_localization_cpu`` or
            ``panda_localization_cpu.part2``).
        task, robot, config: from the card's first list item ("" when absent).
        steps, batch, scenes: the header's "trained for N steps of batch B (about S ...
            scenes)" (0 when absent); minutes: its wall time in minutes (NaN when absent).
        superseded: the card starts with a "> Superseded" note.
        evaluation: the text of the fenced block after "## Evaluation" ("" when absent).
        evaluated_step: the step named on the evaluation's first line (None when absent):
            compare it with the checkpoint's to see whether the card describes it.
        recipe: the synthesis recipe (``synth.RECIPES``) of the card's "reproduce"
            command, "paper" when that command names none ("" without the command).
    """

    path: Path
    name: str
    task: str = ""
    robot: str = ""
    config: str = ""
    steps: int = 0
    batch: int = 0
    scenes: int = 0
    minutes: float = float("nan")
    superseded: bool = False
    evaluation: str = ""
    evaluated_step: int | None = None
    recipe: str = ""


def _recipe_of(command: str) -> str:
    """The ``--recipe`` of a command line as argparse reads it (the last one wins);
    "paper" when it names none, "" when its value is missing."""
    try:
        words = shlex.split(command)
    except ValueError:  # unbalanced quotes
        words = command.split()
    recipe = "paper"
    for i, word in enumerate(words):
        if word == "--recipe":
            value = words[i + 1] if i + 1 < len(words) else ""
            recipe = "" if value.startswith("-") else value
        elif word.startswith("--recipe="):
            recipe = word[len("--recipe="):]
    return recipe


def read_card(path: str | Path) -> ModelCard:
    """Parse a model card. Raises FileNotFoundError (one line) when it does not exist."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path.name}: no such model card")
    text = path.read_text()
    card = ModelCard(path=path, name=path.name[:-len(".md")] if path.name.endswith(".md") else path.stem)
    card.superseded = any(line.startswith("> Superseded") for line in text.splitlines()[:6])
    if m := _IDENTITY.search(text):
        card.task, card.robot, card.config = m.groups()
    if m := _HEADER.search(text):
        card.steps, card.batch, card.scenes = (int(g) for g in m.groups()[:3])
        card.minutes = float(m.group(4))
    if m := _REPRODUCE.search(text):
        card.recipe = _recipe_of(m.group(1))
    if "## Evaluation" in text:
        after = text[text.index("## Evaluation"):]
        blocks = after.split("```")
        if len(blocks) >= 3:
            card.evaluation = blocks[1].strip("\n")
            first = card.evaluation.splitlines()[0] if card.evaluation else ""
            if m := _EVAL_STEP.search(first):
                card.evaluated_step = int(m.group(1))
    return card


def _float(text: str) -> float:
    return float("nan") if text == "nan" else float(text)


def parse_localization_evaluation(text: str) -> dict:
    """The output of ``robotpose eval localization`` (``LocalizationReport.format``) as numbers.

    Returns:
        {"pixel": {method: [{"joint", "mean", "50%", "75%", "n", "missed"}, ...]} (the last
        row is "all"), "depth": {"near": {...}, "far": {...}} with "mean", "std", "25%",
        "50%", "75%" in cm and "n", "baseline": {"near": cm, "far": cm} (the median-depth
        baseline's mean error)}. Missing parts are left out.
    """
    out: dict = {"pixel": {}, "depth": {}}
    lines = text.splitlines()
    method = None
    for line in lines:
        if m := re.match(r"pixel error per joint, (\w+) peaks", line.strip()):
            method = m.group(1).lower()
            out["pixel"][method] = []
            continue
        if method is not None:
            parts = line.split()
            if len(parts) == 6 and parts[0] != "joint":
                try:
                    mean, med, q75 = (_float(p) for p in parts[1:4])
                    out["pixel"][method].append({"joint": parts[0], "mean": mean, "50%": med, "75%": q75,
                                                 "n": int(parts[4]), "missed": int(parts[5])})
                    continue
                except ValueError:
                    pass
            if line.strip() and not line.strip().startswith("joint"):
                method = None
    for line in lines:
        parts = line.split()
        if len(parts) >= 3 and parts[0] in ("mean", "std", "25%", "50%", "75%"):
            try:
                near, far = _float(parts[1]), _float(parts[2])
            except ValueError:
                continue
            out["depth"].setdefault("near", {})[parts[0]] = near
            out["depth"].setdefault("far", {})[parts[0]] = far
        elif len(parts) >= 3 and parts[0] == "n" and "near" in out["depth"]:
            out["depth"]["near"]["n"], out["depth"]["far"]["n"] = int(parts[1]), int(parts[2])
    if m := re.search(rf"baseline.*?mean near {_NUMBER} cm, far {_NUMBER} cm", text):
        out["baseline"] = {"near": _float(m.group(1)), "far": _float(m.group(2))}
    return out


def localization_entries(evaluation: dict) -> dict:
    """The printed entries of :func:`parse_localization_evaluation`'s output as
    {(table, row, column): value}: table "nms"/"log" (row a joint or "all"; columns "mean",
    "50%", "75%", "n", "missed") or "depth" (row "near"/"far"; its statistics)."""
    entries = {}
    for method, rows in evaluation.get("pixel", {}).items():
        for r in rows:
            for k in ("mean", "50%", "75%", "n", "missed"):
                entries[(method, r["joint"], k)] = r[k]
    for rng, col in evaluation.get("depth", {}).items():
        for k, v in col.items():
            entries[("depth", rng, k)] = v
    return entries


def differing_entries(reference: dict, other: dict, tolerance: float = 0.006) -> tuple[list, int]:
    """Entries of the parsed evaluation ``reference`` (e.g. a model card's) that ``other``
    does not reproduce within ``tolerance`` (0.006: equal when printed to two decimals).
    Entries empty in ``reference`` (NaN) are left out. Returns ([(key, reference value,
    other value), ...], the number of entries compared)."""
    ref, oth = localization_entries(reference), localization_entries(other)
    keys = [k for k in ref if k in oth and np.isfinite(ref[k])]
    diff = [(k, ref[k], oth[k]) for k in keys if not abs(ref[k] - oth[k]) < tolerance]  # NaN differs
    return diff, len(keys)


def parse_instance_evaluation(text: str) -> dict:
    """The output of ``robotpose eval instances`` (``format_instance_results``) as numbers.

    Returns:
        {"ap": {"box": AP, "mask": AP} over IoU 0.50:0.95, "ap50": {"box", "mask"} at IoU
        0.50, "counting": [{"true_count", "images", "accuracy", "mean_predicted"}, ...] (the
        last row's true_count is "all")}. Missing parts are left out.
    """
    out: dict = {"counting": []}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in ("0.50:0.95", "0.50"):
            try:
                box, mask = _float(parts[1]), _float(parts[2])
            except ValueError:
                continue
            out["ap" if parts[0] == "0.50:0.95" else "ap50"] = {"box": box, "mask": mask}
        elif len(parts) == 4 and (parts[0].isdigit() or parts[0] == "all"):
            try:
                out["counting"].append({"true_count": int(parts[0]) if parts[0].isdigit() else "all",
                                        "images": int(parts[1]), "accuracy": _float(parts[2]),
                                        "mean_predicted": _float(parts[3])})
            except ValueError:
                continue
    return out


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
        name: the checkpoint's stem; card: its :class:`ModelCard` (None without one).
        parts: one dict per training log, oldest first: "log" (file name), "steps" (the
            log's last step), "hours" (:func:`training_seconds` / 3600), "samples_per_s"
            (median of the logged training throughput; NaN when not logged).
        batch: the batch size of the shipped card (0 when unknown).
    """

    name: str
    card: ModelCard | None
    parts: list[dict] = field(default_factory=list)
    batch: int = 0

    @property
    def steps(self) -> int:
        return int(sum(p["steps"] for p in self.parts))

    @property
    def hours(self) -> float:
        return float(sum(p["hours"] for p in self.parts if np.isfinite(p["hours"])))

    @property
    def scenes(self) -> int:
        """Scenes seen in all parts: steps x the card's batch size (0 when unknown)."""
        return self.steps * self.batch


def lineage_logs(name: str, folder: str | Path | None = None) -> list[Path]:
    """The training logs a shipped checkpoint ``NAME`` descends from: ``NAME.metrics.jsonl``
    and every ``NAME.PART.metrics.jsonl`` whose card ``NAME.PART.md`` (when there is one) is
    not marked superseded, ordered by the time of their first line."""
    folder = Path(folder) if folder is not None else checkpoint_dir()
    logs = sorted(folder.glob(f"{name}.*metrics.jsonl"))
    kept = []
    for log in logs:
        part = log.name[len(name):-len(".metrics.jsonl")]  # "" or ".part1"
        if part and part != "." and (folder / f"{name}{part}.md").is_file():
            if read_card(folder / f"{name}{part}.md").superseded:
                continue
        rows = read_metrics(log)
        if rows:
            kept.append((rows[0].get("time", 0.0), log))
    return [log for _, log in sorted(kept)]


def training_cost(name: str, folder: str | Path | None = None) -> TrainingCost:
    """:class:`TrainingCost` of the shipped checkpoint ``NAME`` (e.g. ``panda_localization_cpu``)
    in ``folder`` (default ``checkpoint.checkpoint_dir()``), from its lineage's logs
    (:func:`lineage_logs`) and its card. No logs: no parts."""
    folder = Path(folder) if folder is not None else checkpoint_dir()
    card = read_card(folder / f"{name}.md") if (folder / f"{name}.md").is_file() else None
    cost = TrainingCost(name=name, card=card, batch=card.batch if card else 0)
    for log in lineage_logs(name, folder):
        rows = [r for r in read_metrics(log) if "step" in r]
        if not rows:
            continue
        rates = [r["samples_per_s"] for r in rows if "samples_per_s" in r]
        cost.parts.append({"log": log.name, "steps": int(rows[-1]["step"]),
                           "hours": training_seconds(rows) / 3600.0,
                           "samples_per_s": float(np.median(rates)) if rates else float("nan")})
    return cost


def read_study(name: str, folder: str | Path | None = None) -> dict | None:
    """A study file ``NAME`` (e.g. ``panda_sim2real_study.json``) kept beside the reference
    checkpoints, parsed (NaN allowed), or None when it is absent. A file that is not valid
    JSON raises ValueError naming it."""
    import json

    path = (Path(folder) if folder is not None else checkpoint_dir()) / name
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path.name}: not valid JSON ({err})") from None
