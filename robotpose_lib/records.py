"""Model records kept as data: one folder per shipped model, its card rendered from JSON.

``assets/models/<name>/`` holds

* ``model.pt``       the weights (inference keys only; ``checkpoint.py``'s format),
* ``metrics.jsonl``  the training log, every part of the run in order (rows tagged with
                     the ``"run"`` of their part when the model was trained in separate runs),
* ``lineage.json``   how it was trained: the parts, each with its command, the settings
                     that command trains with (``settings``, ``cli.train.training_settings``),
                     steps, scenes and hours, and the command that continues the run; earlier runs it
                     does not descend from (``earlier_runs``) with their notes,
* ``eval.json``      what it measures: one entry per evaluation, each the JSON that the
                     ``robotpose eval ... --json`` command wrote, with that command,
* ``card.md``        rendered from the two JSON files by :func:`render_card` (never edited
                     by hand, never parsed back).

A newcomer answers "which model, how trained, what it measures" from the folder alone,
and across models from the index ``assets/models/README.md`` (:func:`render_index`); the
library and the chapters read the JSON (``cards.py``).
"""
from __future__ import annotations

import json
from pathlib import Path

from .fileio import read_json_object, write_atomic, write_json_atomic

LINEAGE, EVAL, CARD, INDEX = "lineage.json", "eval.json", "card.md", "README.md"


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


def _localization_table(figures: dict) -> list[str]:
    """Markdown rows of ``eval localization --json`` figures: all-joint pixel errors per
    peak finder, then Table I near / far."""
    lines = [f"{figures.get('images')} test scenes (seed {figures.get('seed')}), {figures.get('robots')} robots, "
             f"step {figures.get('step')}; pixel errors at 480x640", "",
             "| peaks | mean px | median px | 75% px | joints found | missed |", "|---|---:|---:|---:|---:|---:|"]
    for method, rows in figures.get("pixel_errors_px", {}).items():
        a = rows[-1]
        lines.append(f"| {method} | {_fmt(a['mean'], 2)} | {_fmt(a['50%'], 2)} | {_fmt(a['75%'], 2)} | {a['n']} "
                     f"| {a['missed']} |")
    lines += ["", "| Table I depth error [cm] | mean | std | median | n | median-depth baseline mean |",
              "|---|---:|---:|---:|---:|---:|"]
    for rng in ("near", "far"):
        d, b = figures["table_i_cm"][rng], figures.get("table_i_baseline_cm", {}).get(rng, {})
        lines.append(f"| {rng} | {_fmt(d['mean'], 2)} | {_fmt(d['std'], 2)} | {_fmt(d['50%'], 2)} | {d['n']} "
                     f"| {_fmt(b.get('mean'), 2)} |")
    return lines


def _instance_table(figures: dict) -> list[str]:
    """Markdown rows of ``eval instances|onepass --json`` figures: AP, counting, robot-free."""
    lines = [f"{figures.get('n')} {figures.get('split', 'test')} scenes (seed {figures.get('seed')}), "
             f"step {figures.get('step')}, min active fraction {figures.get('min_active_fraction')}"
             + ("" if figures.get("centre_threshold") is None else
                f", centre threshold {figures['centre_threshold']:g}, NMS window {figures.get('centre_nms')}"), "",
             "| box AP | box AP@0.5 | mask AP | mask AP@0.5 | counted right |", "|---:|---:|---:|---:|---:|",
             f"| {_fmt(figures['box_ap'])} | {_fmt(figures['box_ap50'])} | {_fmt(figures['mask_ap'])} "
             f"| {_fmt(figures['mask_ap50'])} | {_fmt(figures['counting_accuracy'])} |", "",
             "| true robots | scenes | counted right | mean count |", "|---|---:|---:|---:|"]
    lines += [f"| {k} | {c['images']} | {_fmt(c['accuracy'])} | {_fmt(c['mean_predicted'], 2)} |"
              for k, c in figures["counting"].items()]
    for key, label in (("robot_free", "robot-free scenes"), ("robot_free_hard", "robot-free, hard negatives")):
        if key in figures:
            f = figures[key]
            lines += ["", f"{label} ({f['model']['n']}): nothing found by the model in "
                          f"{_fmt(f['model']['none_found'])}, by the Predictor in {_fmt(f['predictor']['none_found'])}"]
    return lines


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


def _instance_choice_lines(part: int, choice: dict) -> list[str]:
    """A lineage part's ``choice`` between instance-model candidates (``rule``, ``command``,
    ``candidates``: name -> mask_ap50, mask_ap, box_ap, counting_accuracy, mean_count) as
    Markdown: the rule, then one row per candidate with the rule's score (the mean of mask
    AP@0.5 and counting accuracy)."""
    lines = [f"Part {part}'s choice, by {choice['rule']} (`{choice['command']}`):", "",
             "| candidate | mask AP@0.5 | mask AP | box AP | counted right | mean count | score |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, c in choice["candidates"].items():
        score = (c["mask_ap50"] + c["counting_accuracy"]) / 2
        lines.append(f"| {name} | {c['mask_ap50']:.3f} | {c['mask_ap']:.3f} | {c['box_ap']:.3f} | "
                     f"{c['counting_accuracy']:.2f} | {c['mean_count']:.2f} | {score:.3f} |")
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
    lines += ["## Training parts", "", "| part | from | recipe | steps | batch | scenes | wall h | machine | command |",
              "|---:|---|---|---:|---:|---:|---:|---|---|"]
    for i, p in enumerate(lineage["parts"], 1):
        lines.append(f"| {i} | {p['started_from']} | {p.get('recipe', 'not recorded')} | {p['steps']:,} | "
                     f"{p['batch_size']} | "
                     f"{p['steps'] * p['batch_size']:,} | {p['wall_hours']:.2f} | {p['machine']} | "
                     + (f"`{p['command']}` |" if p.get("command") else "not recorded (see the notes) |"))
    notes = [f"- part {i}: {p['note']}" for i, p in enumerate(lineage["parts"], 1) if p.get("note")]
    notes += [f"- part {i}'s command: {p['command_source']}" for i, p in enumerate(lineage["parts"], 1)
              if p.get("command_source")]
    notes += [f"- part {i}'s recipe: {p['recipe_source']}" for i, p in enumerate(lineage["parts"], 1)
              if p.get("recipe_source")]
    if notes:
        lines += [""] + notes
    for i, p in enumerate(lineage["parts"], 1):
        if p.get("choice"):
            lines += [""] + _instance_choice_lines(i, p["choice"])
    for e in lineage.get("earlier_runs", []):
        lines += ["", f"Earlier run `{e['run']}` (not in the shipped weights' lineage): {e.get('note', '')}"]
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
        elif "pixel_errors_px" in figures:
            lines += _localization_table(figures)
        elif "mask_ap" in figures:
            lines += _instance_table(figures)
        elif "threshold" in figures and "rows" in figures:   # a one-pass decoding calibration
            lines.append(f"{len(figures['rows'])} settings tried; each one's figures are in eval.json.")
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


def render_index(models: str | Path) -> str:
    """The index of a folder of model folders (``assets/models/README.md``): one row per
    model with its robot, task, recipe, training and headline figures, from the records."""
    models = Path(models)
    lines = ["# Shipped models", "",
             "One folder per model (written by `robotpose_lib/records.py`; this index by "
             "`scripts/render_records.py`, never by hand): `model.pt`, `metrics.jsonl`, `lineage.json`, "
             "`eval.json`, `card.md`. The default models of `robotpose predict` and `Predictor.from_pretrained` "
             "are the robot's `*_localization_cpu` and the instance model chosen by the rule in "
             "`robotpose_lib/checkpoint.py` (`default_instance_task`: mask AP@0.5 + counting accuracy on "
             "synthetic validation scenes, each card's `validation` entry).", "",
             "| model | robot | task | recipe | parts | steps | scenes | wall h | test set | dev photos |",
             "|---|---|---|---|---:|---:|---:|---:|---|---|"]
    for folder in sorted(p for p in models.iterdir() if (p / LINEAGE).is_file()):
        lineage = read_json(folder / LINEAGE)
        evals = read_json(folder / EVAL) if (folder / EVAL).is_file() else {}
        total = lineage_totals(lineage)
        test = evals.get("test", {}).get("figures", {})
        if "mask_ap50" in test:
            synthetic = f"mask AP@0.5 {_fmt(test['mask_ap50'])}, counted right {_fmt(test['counting_accuracy'])}"
        elif "table_i_cm" in test:
            near, far = (_fmt(test["table_i_cm"][r]["mean"], 1) for r in ("near", "far"))
            synthetic = (f"median px (nms) {_fmt(test['pixel_errors_px']['nms'][-1]['50%'], 2)}, "
                         f"Table I near/far {near}/{far} cm")
        else:
            synthetic = "-"
        real = evals.get("real", {}).get("figures", {})
        photos = (f"keypoint AUC {_fmt(real['model']['all']['auc'])} (baseline {_fmt(real['baseline']['all']['auc'])})"
                  if "model" in real else "-")
        lines.append(f"| [{folder.name}]({folder.name}/card.md) | {lineage['robot']} | {lineage['task']} "
                     f"| {lineage.get('recipe')} | {len(lineage['parts'])} | {total['steps']:,} | {total['scenes']:,} "
                     f"| {total['wall_hours']:.2f} | {synthetic} | {photos} |")
    from .checkpoint import default_instance_task

    robots = sorted({read_json(p / LINEAGE)["robot"] for p in models.iterdir() if (p / LINEAGE).is_file()
                     and read_json(p / LINEAGE)["task"] != "localization"})
    lines += ["", "Default instance model by that rule: "
              + ", ".join(f"{r}: `{r}_{default_instance_task(r, folder=models)}_cpu`" for r in robots)
              + " (the paper's recurrent model: `instances=\"instances\"`)."]
    return "\n".join(lines) + "\n"


def write_index(models: str | Path) -> Path:
    """Render the index README.md of a folder of model folders (atomically)."""
    path = Path(models) / INDEX
    write_atomic(path, render_index(models).encode())
    return path
