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
    cost["command"] = " ".join(["robotpose", "train", *argv])
    if last_logged_step(out) >= steps and (out / "checkpoint.pt").exists():
        return cost
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
