"""Training runs of a study (an ablation or a comparison at a fixed budget), resumable and
costed: the scripts of ``scripts/`` that compare training options run each option through
:func:`run_training` and evaluate it through a CLI command whose ``--json`` they keep.

A run's folder holds what ``robotpose train`` writes (checkpoint.pt, metrics.jsonl) and
``cost.json``: the CPU seconds (user + system of the training process and its render
workers) and wall seconds spent on it, summed over interruptions and resumes.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from .fileio import read_json_object, write_json_atomic


def children_cpu_seconds() -> float:
    """User + system CPU seconds of the finished child processes of this process (and
    their waited-for descendants, e.g. DataLoader workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def last_logged_step(run: str | Path) -> int:
    """The largest step in ``run/metrics.jsonl`` (0 when there is none)."""
    log = Path(run) / "metrics.jsonl"
    if not log.exists():
        return 0
    steps = [json.loads(line).get("step", 0) for line in log.read_text().splitlines() if line.strip()]
    return max(steps, default=0)


def run_training(train_args: list[str], out: str | Path, steps: int, cwd: str | Path | None = None) -> dict:
    """Train ``robotpose train TRAIN_ARGS --steps STEPS --out OUT`` to its last step, resuming
    from ``out/checkpoint.pt`` when a run was interrupted, and do nothing when it is
    finished. Returns the cost record ``{"cpu_s", "wall_s", "command"}`` kept in
    ``out/cost.json``.

    Raises:
        subprocess.CalledProcessError: the training failed (its own message is above)."""
    out = Path(out)
    cost_file = out / "cost.json"
    cost = read_json_object(cost_file, "cost record") if cost_file.exists() else {"cpu_s": 0.0, "wall_s": 0.0}
    argv = [*train_args, "--steps", str(steps), "--out", str(out)]
    if last_logged_step(out) >= steps and (out / "checkpoint.pt").exists():
        return cost   # finished: its record keeps the command that ran it
    cost["command"] = " ".join(["robotpose", "train", *argv])
    resume = ["--resume"] if (out / "checkpoint.pt").exists() else []
    print("$", cost["command"], *resume, flush=True)
    cpu0, wall0 = children_cpu_seconds(), time.time()
    subprocess.run([sys.executable, "-m", "robotpose_lib", "train", *argv, *resume], check=True, cwd=cwd)
    cost.update(cpu_s=cost["cpu_s"] + children_cpu_seconds() - cpu0, wall_s=cost["wall_s"] + time.time() - wall0)
    write_json_atomic(cost_file, cost)
    return cost


def run_evaluation(eval_args: list[str], out: str | Path, cwd: str | Path | None = None) -> dict:
    """``robotpose eval EVAL_ARGS --json OUT`` unless ``out`` exists; the figures it wrote,
    with the command under ``"command"`` (``--json`` naming the file only)."""
    out = Path(out)
    if not out.exists():
        subprocess.run([sys.executable, "-m", "robotpose_lib", "eval", *eval_args, "--json", str(out),
                        "--no-progress"], check=True, cwd=cwd, stdout=subprocess.DEVNULL)
    figures = read_json_object(out, "evaluation")
    figures["command"] = " ".join(["robotpose", "eval", *eval_args, "--json", out.name])
    return figures


def study_parser(description: str, rows, steps: int, n: int, n_help: str, runs: str, study: str):
    """The command line every study script shares: ``--steps`` per row, ``--rows`` (a comma
    list of ``rows``' names, all by default), ``--n`` evaluation scenes, ``--runs`` (the
    run folders) and ``--study`` (the JSON record). Read ``--rows`` with :func:`chosen_rows`."""
    import argparse

    p = argparse.ArgumentParser(description=description)
    p.add_argument("--steps", type=int, default=steps, help=f"training steps per row (default {steps})")
    p.add_argument("--rows", default=",".join(rows), help="comma-separated rows (default all)")
    p.add_argument("--n", type=int, default=n, help=f"{n_help} (default {n})")
    p.add_argument("--runs", default=runs, help=f"folder of the rows' training runs (default {runs})")
    p.add_argument("--study", default=study, help=f"the study's JSON record (default {study})")
    return p


def chosen_rows(parser, args, rows) -> list[str]:
    """``args.rows`` as a list; an unknown name is a usage error (``parser.error``)."""
    chosen = args.rows.split(",")
    unknown = [r for r in chosen if r not in rows]
    if unknown:
        parser.error(f"--rows: unknown {unknown} (expected some of {list(rows)})")
    return chosen


def repo_relative(path: str | Path, root: str | Path) -> str:
    """``path`` relative to ``root`` when it lies inside it (records name repository files
    the same on every machine), else as given."""
    path, root = Path(path), Path(root)
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def run_rows(study: dict, rows, train_args, evaluate, summary, runs: str | Path, steps: int,
             study_path: str | Path, root: str | Path) -> dict:
    """The loop of a study: for each row name, train ``train_args(row)`` for ``steps``
    (:func:`run_training`, in ``runs/row``), evaluate its checkpoint with
    ``evaluate(row, checkpoint, run_folder)`` (a dict of figures), append ``{"name": row,
    "cost": ..., **figures}`` to ``study["rows"]``, write the record to ``study_path``
    after every row (a study cut short keeps its finished rows) and print
    ``summary(row, figures, cost)``. Returns ``study``."""
    for row in rows:
        out = Path(runs) / row
        cost = run_training(train_args(row), out, steps, cwd=root)
        figures = evaluate(row, repo_relative(out / "checkpoint.pt", root), out)
        study["rows"].append({"name": row, "cost": cost, **figures})
        write_json_atomic(study_path, study)
        print(f"{row}: {summary(row, figures, cost)}, {cost['cpu_s'] / 60:.0f} CPU min", flush=True)
    print(f"study -> {study_path}")
    return study
