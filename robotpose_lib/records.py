"""Model records kept as data: one folder per shipped model, its card rendered from JSON.

``assets/models/<name>/`` holds

* ``model.pt``       the weights (inference keys only; ``checkpoint.py``'s format),
* ``metrics.jsonl``  the training log, every part of the run in order,
* ``lineage.json``   how it was trained: the parts, each with its command, steps, scenes
                     and hours, and the command that continues the run,
* ``eval.json``      what it measures: one entry per evaluation, each the JSON that the
                     ``robotpose eval ... --json`` command wrote, with that command,
* ``card.md``        rendered from the two JSON files by :func:`render_card` (never edited
                     by hand, never parsed back).

A newcomer answers "which model, how trained, what it measures" from the folder alone;
the library and the chapters read the JSON.
"""
from __future__ import annotations

import json
from pathlib import Path

from .fileio import read_json_object, write_atomic, write_json_atomic

LINEAGE, EVAL, CARD = "lineage.json", "eval.json", "card.md"


def read_json(path: str | Path) -> dict:
    """A record file as a dict. Raises FileNotFoundError or ValueError (one line)."""
    return read_json_object(path, "record")


def lineage_totals(lineage: dict) -> dict:
    """Steps, scenes and hours over every part of a lineage."""
    parts = lineage.get("parts", [])
    return {"steps": sum(p["steps"] for p in parts), "scenes": sum(p["steps"] * p["batch_size"] for p in parts),
            "wall_hours": sum(p["wall_hours"] for p in parts)}


def add_evaluation(folder: str | Path, key: str, command: str, figures: dict, title: str | None = None) -> None:
    """Store one evaluation (the JSON an eval command wrote, and that command) under
    ``key`` in the folder's eval.json, and render the card again."""
    folder = Path(folder)
    path = folder / EVAL
    evals = read_json(path) if path.is_file() else {}
    evals[key] = {"title": title or key, "command": command, "figures": figures}
    write_json_atomic(path, evals)
    write_card(folder)


def _fmt(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _keypoint_table(figures: dict, rows: list[tuple[str, str]]) -> list[str]:
    """Markdown rows of keypoint AUC / found / median px, all and moving joints."""
    lines = ["| | AUC all | found all | AUC moving | found moving | median px (all) |",
             "|---|---:|---:|---:|---:|---:|"]
    for key, label in rows:
        if key not in figures:
            continue
        m = figures[key]
        moving = m.get("moving") or {}
        lines.append(f"| {label} | {_fmt(m['all']['auc'])} | {_fmt(m['all']['found'])} | {_fmt(moving.get('auc'))} "
                     f"| {_fmt(moving.get('found'))} | {_fmt(m['all'].get('median_px'), 1)} |")
    return lines


def render_card(folder: str | Path) -> str:
    """The model card (Markdown) of a model folder, written from lineage.json and eval.json."""
    folder = Path(folder)
    lineage = read_json(folder / LINEAGE)
    evals = read_json(folder / EVAL) if (folder / EVAL).is_file() else {}
    total = lineage_totals(lineage)
    lines = [f"# {lineage['name']}", "",
             f"- task: {lineage['task']}, robot: {lineage['robot']}, recipe: {lineage['recipe']}",
             f"- trained for {total['steps']:,} steps ({total['scenes']:,} synthetic scenes rendered on the fly) in "
             f"{total['wall_hours']:.2f} h of wall time, in {len(lineage['parts'])} part(s)",
             f"- continue the run: `{lineage['continue']}`", ""]
    if lineage.get("purpose"):
        lines += [lineage["purpose"], ""]
    lines += ["## Training parts", "", "| part | from | steps | batch | scenes | wall h | machine | command |",
              "|---:|---|---:|---:|---:|---:|---|---|"]
    for i, p in enumerate(lineage["parts"], 1):
        lines.append(f"| {i} | {p['started_from']} | {p['steps']:,} | {p['batch_size']} | "
                     f"{p['steps'] * p['batch_size']:,} | {p['wall_hours']:.2f} | {p['machine']} | `{p['command']}` |")
    notes = [f"- part {i}: {p['note']}" for i, p in enumerate(lineage["parts"], 1) if p.get("note")]
    if notes:
        lines += [""] + notes
    for key, entry in evals.items():
        lines += ["", f"## {entry.get('title', key)}", "", f"`{entry['command']}`", ""]
        figures = entry["figures"]
        if key == "twin":
            from .twin import LADDER, LADDER_LABELS
            lines += _keypoint_table(figures, [(r, LADDER_LABELS[r]) for r in LADDER])
        elif "arms" in figures:   # a choice between training options, made by a stated rule
            lines += [f"Rule: {figures['rule']}. Chosen: **{figures['chosen']}**.", "",
                      "| option | recipe | steps | AUC all | found all | AUC moving | found moving |",
                      "|---|---|---:|---:|---:|---:|---:|"]
            for arm, a in figures["arms"].items():
                m = a["figures"]["model"]
                lines.append(f"| {arm} | {a['recipe']} | {a['steps']:,} | {_fmt(m['all']['auc'])} | "
                             f"{_fmt(m['all']['found'])} | {_fmt(m['moving']['auc'])} | {_fmt(m['moving']['found'])} |")
        elif "model" in figures and "baseline" in figures:
            lines += _keypoint_table(figures, [("model", "model"), ("baseline", "mean-pose baseline")])
        else:
            lines.append("```json\n" + json.dumps(figures, indent=1)[:4000] + "\n```")
    return "\n".join(lines) + "\n"


def write_card(folder: str | Path) -> Path:
    """Render card.md from the folder's records (atomically)."""
    folder = Path(folder)
    write_atomic(folder / CARD, render_card(folder).encode())
    return folder / CARD
