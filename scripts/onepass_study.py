"""The one-pass instance model beside the recurrent one (issue 10, item 3): the figures the
book reads from assets/models/{robot}_onepass_cpu/onepass_study.json.

Two steps, both calling library functions (``eval.instances``, ``bench.runtime``), and a
helper, ``calibrate CHECKPOINT --n 100``, that re-calibrates one checkpoint's decoding in
place (``eval.instances.calibrate_checkpoint``):

    # 1. choose between candidate one-pass checkpoints on VALIDATION scenes (seed
    #    eval.testset.VALIDATION_SEED, never the test seed): each one's centre threshold is
    #    and NMS window are calibrated there (eval.instances.calibrate_decoding: robot-free
    #    validation scenes first, then counting accuracy + mask AP@0.5), and the candidates
    #    are ranked in the same order at their own settings (--robot-free-recipe clutter:
    #    robot-free validation scenes with hard negatives)
    python scripts/onepass_study.py select RUN1/checkpoint.pt RUN2/checkpoint.pt --n 100 \\
        [--localization LOC.pt] --json runs/onepass_select.json

    # 2. the study of the shipped model: test AP and counting beside the ConvGRU, robot-free
    #    scenes, runtime for 1..6 robots, and the real-photo figures of `robotpose eval real --json`
    python scripts/onepass_study.py study --onepass assets/models/panda_primitive_onepass_cpu/model.pt \\
        --convgru assets/models/panda_primitive_instances_cpu/model.pt --n 100 --robot-free 40 --repeats 30 \\
        [--select runs/onepass_select.json] [--real NAME=REAL.json ...] [--command KEY=TEXT ...] \\
        --out assets/models/panda_primitive_onepass_cpu/onepass_study.json

``--localization`` (select) replaces each candidate's localization weights by those of a
localization checkpoint in memory, so that a model trained on an older localization net
is judged on the one it would ship with.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from robotpose_lib.bench.runtime import flatness, runtime_by_robot_count  # noqa: E402
from robotpose_lib.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from robotpose_lib.config import torch_threads  # noqa: E402
from robotpose_lib.eval.instances import THRESHOLD_GRID, calibrate_checkpoint, calibrate_decoding  # noqa: E402
from robotpose_lib.eval.instances import format_calibration  # noqa: E402
from robotpose_lib.eval.instances import compare_instance_models, predictor_robot_free_rate  # noqa: E402
from robotpose_lib.eval.instances import ROBOT_FREE_TARGET  # noqa: E402
from robotpose_lib.eval.testset import VALIDATION_SEED, robot_free_scenes, robot_free_validation_scenes  # noqa: E402
from robotpose_lib.eval.testset import validation_dataset  # noqa: E402
from robotpose_lib.fileio import write_json_atomic  # noqa: E402
from robotpose_lib.predictor import Predictor  # noqa: E402
from robotpose_lib.synth import RECIPES  # noqa: E402
from robotpose_lib.tasks import load_model  # noqa: E402

# issue 10's targets on the synthetic test set
TARGETS = {"mask_ap50": 0.7, "counting_accuracy": 0.8, "robot_free_none_found": 0.95,
           "runtime_max_over_min": 1.2, "ap_gap_to_convgru": 0.05}
RUNTIME_KEYS = ("localization_ms", "onepass_ms", "onepass_forced_ms", "convgru_ms", "convgru_forced_ms")


def _pairs(items: list[str], option: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{option} {item!r}: expected NAME=VALUE")
        out[key] = value
    return out


def select(candidates: list[str], n: int, localization: str | None, seed: int, recipe: str,
           robot_free_recipe: str | None = None) -> dict:
    """Calibrate each candidate on ``n`` validation scenes of ``recipe`` and ``n // 2``
    robot-free ones of ``robot_free_recipe`` (default ``recipe``; 'clutter' gives them hard
    negatives); the best by counting + AP@0.5."""
    robot_free_recipe = robot_free_recipe or recipe
    rows = []
    samples = None
    for path in candidates:
        model, task, ckpt = load_model(path, device="cpu", expect={"task": "onepass"})
        if localization:
            loc = load_checkpoint(localization, expect={"task": "localization", "robot": task.robot})
            model.localization.load_state_dict(loc["model"])
        if samples is None:
            data = validation_dataset(task.robot, n, task.input_size, seed, recipe)
            samples = [data[i] for i in range(n)]
            free = robot_free_validation_scenes(task.robot, n // 2, task.input_size, recipe=robot_free_recipe)
        threshold, window, table = calibrate_decoding(model, samples, task.input_size, THRESHOLD_GRID,
                                                      robot_free=free)
        best = next(r for r in table if r["threshold"] == threshold and r["window"] == window)
        rows.append({"checkpoint": str(path), "step": int(ckpt["step"]),
                     "localization": localization or ckpt.get("extra", {}).get("localization_checkpoint"),
                     "threshold": threshold, "window": window,
                     "robot_free_none_found": best["robot_free_none_found"],
                     "counting_accuracy": best["counting_accuracy"],
                     "mask_ap50": best["mask_ap50"], "score": best["counting_accuracy"] + best["mask_ap50"],
                     "rows": table})
        print(f"{path}: step {ckpt['step']}, threshold {threshold:g}, NMS window {window}: "
              f"counting {best['counting_accuracy']:.3f}, "
              f"mask AP@0.5 {best['mask_ap50']:.3f}", flush=True)
    # the calibration's own order: robot-free scenes up to the target first, then the score
    # (no robot-free scenes, n < 2: that term is left out, as in the calibration)
    def robot_free(row) -> float:
        found = row["robot_free_none_found"]
        return ROBOT_FREE_TARGET if found is None else min(found, ROBOT_FREE_TARGET)

    winner = max(range(len(rows)), key=lambda i: (robot_free(rows[i]), rows[i]["score"]))
    return {"seed": seed, "n": n, "recipe": recipe, "robot_free_recipe": robot_free_recipe,
            "rule": f"robot-free validation scenes with nothing found, counted up to {ROBOT_FREE_TARGET}, "
            "then the highest counting accuracy + mask AP@0.5, each at the candidate's own calibrated "
            "centre threshold and NMS window", "candidates": rows,
            "chosen": rows[winner]["checkpoint"]}


def study(onepass: str, convgru: str | None, n: int, robot_free: int, repeats: int) -> dict:
    model, task, ckpt = load_model(onepass, device="cpu", expect={"task": "onepass"})
    report = {"robot": task.robot, "onepass_checkpoint": onepass, "onepass_step": int(ckpt["step"]),
              "centre_threshold": float(model.instances.centre_threshold),
              "centre_nms": int(model.instances.centre_nms),
              "calibration": {k: v for k, v in ckpt.get("extra", {}).get("calibration", {}).items() if k != "rows"},
              "torch_threads": torch.get_num_threads(), "targets": TARGETS}
    models = {"onepass": (model, task.input_size)}
    other = None
    if convgru:
        other, otask, ockpt = load_model(convgru, device="cpu", expect={"task": "instances", "robot": task.robot})
        models["convgru"] = (other, otask.input_size)
        report.update(convgru_checkpoint=convgru, convgru_step=int(ockpt["step"]))
    t0 = time.perf_counter()
    measured = compare_instance_models(models, task.robot, n, robot_free=robot_free, device="cpu",
                                       hard_negatives=True)
    if n:
        report["test"] = {"n": n, "seed": measured["seed"], "min_active_fraction": measured["min_active_fraction"],
                          **measured["test"]}
    if robot_free:
        # the same scenes, plain and with hard negatives, through the whole Predictor too
        # (decode.select_instances: joint evidence)
        paths = {"onepass": onepass, **({"convgru": convgru} if convgru else {})}
        predictors = {name: Predictor.load(path, device="cpu") for name, path in paths.items()}
        for key, hard in (("robot_free", False), ("robot_free_hard_negatives", True)):
            report[key] = measured[key]
            scenes = robot_free_scenes(task.robot, robot_free, task.input_size, hard_negatives=hard)
            report[key]["predictor"] = {name: predictor_robot_free_rate(predictor, scenes)
                                        for name, predictor in predictors.items()}
    print(f"test and robot-free scenes: {time.perf_counter() - t0:.0f} s", flush=True)
    if repeats:
        t0 = time.perf_counter()
        rows = runtime_by_robot_count(model, other, task.robot, repeats=repeats)
        keys = [k for k in RUNTIME_KEYS if k in rows[0]]
        runtime = {"repeats": repeats, "robots": [r["robots"] for r in rows],
                   "scene_robots": [r["scene_robots"] for r in rows]}
        runtime.update({k: [r[k] for r in rows] for k in keys})
        runtime.update({k: [r[k] for r in rows] for k in ("onepass_found", "onepass_forced_found", "convgru_found")
                        if k in rows[0]})
        runtime["flatness"] = {k: flatness(rows, k) for k in keys if k != "localization_ms"}
        report["runtime"] = runtime
        print(f"runtime: {time.perf_counter() - t0:.0f} s", flush=True)
    return report


def real_summary(path: str) -> dict:
    """The headline figures of a `robotpose eval real --json` file."""
    data = json.loads(Path(path).read_text())
    return {"source": path, "robots_found": data["robots_found"], "model": data["model"],
            "baseline": data["baseline"], "per_joint": data["per_joint"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="step", required=True)
    s = sub.add_parser("select", help="choose a candidate on validation scenes")
    s.add_argument("candidates", nargs="+")
    s.add_argument("--n", type=int, default=100, help="validation scenes")
    s.add_argument("--seed", type=int, default=VALIDATION_SEED)
    s.add_argument("--recipe", default="paper", choices=sorted(RECIPES))
    s.add_argument("--robot-free-recipe", choices=sorted(RECIPES),
                   help="recipe of the robot-free validation scenes (default --recipe; "
                   "'clutter': with hard negatives)")
    s.add_argument("--localization", help="judge every candidate on this localization checkpoint's weights")
    s.add_argument("--json", required=True)
    c = sub.add_parser("calibrate", help="calibrate one checkpoint's decoding in place (validation scenes)")
    c.add_argument("checkpoint")
    c.add_argument("--n", type=int, default=100, help="validation scenes (and n // 2 robot-free ones)")
    c.add_argument("--recipe", default="paper", choices=sorted(RECIPES))
    t = sub.add_parser("study", help="test, robot-free, runtime and real-photo figures of one model")
    t.add_argument("--onepass", required=True)
    t.add_argument("--convgru", help="recurrent instance checkpoint beside it")
    t.add_argument("--n", type=int, default=100, help="test scenes")
    t.add_argument("--robot-free", type=int, default=40)
    t.add_argument("--repeats", type=int, default=30, help="runtime repeats per robot count (0: no runtime)")
    t.add_argument("--select", help="the JSON of the select step (stored as 'validation')")
    t.add_argument("--real", action="append", default=[], metavar="NAME=JSON",
                   help="a `robotpose eval real --json` file, stored under real_photos[NAME]")
    t.add_argument("--command", action="append", default=[], metavar="KEY=TEXT",
                   help="a command that measured or trained something, stored under commands[KEY]")
    t.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = p.parse_args(argv)
    with torch_threads(args.threads):
        if args.step == "calibrate":
            print(format_calibration(calibrate_checkpoint(args.checkpoint, args.n, recipe=args.recipe)))
            return 0
        if args.step == "select":
            report = select(args.candidates, args.n, args.localization, args.seed, args.recipe,
                            args.robot_free_recipe)
            out = args.json
        else:
            report = study(args.onepass, args.convgru, args.n, args.robot_free, args.repeats)
            if args.select:
                report["validation"] = json.loads(Path(args.select).read_text())
            if args.real:
                report["real_photos"] = {k: real_summary(v) for k, v in _pairs(args.real, "--real").items()}
            report["commands"] = _pairs(args.command, "--command")
            out = args.out
    write_json_atomic(out, report)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, FileNotFoundError, CheckpointError) as err:  # bad input: one line
        sys.exit(f"onepass_study: {err}")
