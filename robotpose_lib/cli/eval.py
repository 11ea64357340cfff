"""``robotpose eval {localization,instances,onepass,real} ...``: evaluate a checkpoint on the
fixed synthetic test set (``eval/testset.py``) or on calibrated real photos.

The rule: ``robotpose eval TASK`` takes a checkpoint of that task, the name ``robotpose
train TASK`` gave it (``tasks.TASKS``): ``instances`` the recurrent instance model,
``onepass`` the one-pass one (both give the same AP and counting tables); ``real`` takes
any instance checkpoint through ``--instances``.

    robotpose eval localization --checkpoint PATH --n N [--seed S] [--method nms|log|both]
                                [--recipe paper_readme] [--json OUT]
    robotpose eval instances --checkpoint PATH --n N [--min-active-fraction F | --paper-rule]
                             [--robot-free M] [--json OUT]
    robotpose eval onepass --checkpoint PATH --n N [--robot-free M [--hard-negatives]] [--json OUT]
    robotpose eval instances|onepass --checkpoint PATH --validation [--n N] [--json OUT]
                             (validation scenes of the training distribution, where the
                             default instance model is chosen)
    robotpose eval real --data DIR [--checkpoint LOC.pt] [--instances INST.pt|none]
                        [--method nms|log] [--json OUT]
    robotpose eval filmed [--checkpoint LOC.pt] [--instances INST.pt|none] [--n N]
                          [--scene-robot panda] [--json OUT]   (the filmed validation set,
                          measured like real photos)
    robotpose eval twin [--data DIR] [--checkpoint LOC.pt] [--instances INST.pt|none] [--json OUT]
                        (the twin ladder: mesh twin, mesh twin on the photo, photo, mean pose)
    robotpose eval floors --checkpoint LOC.pt --n N [--recipe R] [--json OUT]   (Table I's geometric floors on the test
                        set: the depth target at the model's stride, the kinematic fit to the
                        true and to the model's 2D joints)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..checkpoint import default_instance_task
from ..config import resolve_device
from ..decode import METHODS
from ..eval.instances import (evaluate_instances, format_instance_results, predictor_robot_free_rate, robot_free_rate,
                              summarize, purity_on_scenes)
from ..eval.localization import evaluate_localization
from ..eval.real import evaluate_real, format_real_report, load_predictor
from ..eval.testset import (FILMED_SEED, ROBOT_FREE_SEED, TEST_SEED, VALIDATION_SEED, filmed_validation,
                            robot_free_scenes, test_dataset, validation_dataset)
from ..fileio import file_state, write_json_atomic
from ..models.instances import DEFAULT_MIN_ACTIVE_FRACTION, PAPER_MIN_ACTIVE_FRACTION
from ..predictor import Predictor
from ..real_panda import find_real_panda_dir, load_real_panda
from ..robots import get_robot
from ..synth import RECIPES
from ..twin import format_ladder, twin_ladder
from ..tasks import INSTANCE_TASKS, TASKS, load_model
from .robots import add_urdf_arguments, check_robot_arguments, robot_name


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="robotpose eval",
                                description="Evaluate a checkpoint on the fixed synthetic test set "
                                            "(TASK = the checkpoint's task: localization, instances, "
                                            "onepass) or on real photographs (real).")
    p.add_argument("task", choices=[*TASKS, "real", "filmed", "twin", "floors"])
    p.add_argument("--checkpoint", help="checkpoint file (.pt); real: the localization checkpoint "
                   "(default the shipped panda reference)")
    p.add_argument("--data", help="real, twin: folder of calibrated photos (format of real_panda_dev; "
                   "default ../shared/data/real_panda_dev when present)")
    p.add_argument("--instances", help="real: instance checkpoint (recurrent or one-pass), or 'none' for "
                   "one robot per image (default the robot's default shipped instance model, "
                   "checkpoint.default_instance_task: for panda the one-pass model)")
    p.add_argument("--json", help="also write the figures to this JSON file "
                   "(standard JSON: null where a figure has no value)")
    p.add_argument("--recipe", default="paper", choices=sorted(RECIPES),
                   help="localization, floors: the test set's synthesis recipe (default paper, the standard test set; "
                        "paper_readme: the conditions of the paper's README, Table I's ablation)")
    p.add_argument("--n", type=int, default=100, help="test scenes (default 100)")
    p.add_argument("--seed", type=int, default=None,
                   help=f"scene seed (default {TEST_SEED}, the test set; with --validation {VALIDATION_SEED})")
    p.add_argument("--validation", action="store_true",
                   help="instances, onepass: evaluate on validation scenes (the training distribution and its "
                        "photos, never the test set) instead of the test set: where choices between models are "
                        "made (checkpoint.default_instance_task)")
    p.add_argument("--method", default="both", choices=[*METHODS, "both"],
                   help="joint peak finder (localization)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--min-active-fraction", type=float, default=DEFAULT_MIN_ACTIVE_FRACTION,
                   help="instances: stop when a mask covers less than this share of the image "
                        f"(default {DEFAULT_MIN_ACTIVE_FRACTION}; the paper uses {PAPER_MIN_ACTIVE_FRACTION})")
    p.add_argument("--paper-rule", action="store_true",
                   help=f"instances: use the paper's stopping rule ({PAPER_MIN_ACTIVE_FRACTION})")
    p.add_argument("--robot-free", type=int, default=0, metavar="M",
                   help=f"instances, onepass: also the share of M robot-free scenes (seed {ROBOT_FREE_SEED}) "
                        "in which the model finds nothing")
    p.add_argument("--hard-negatives", action="store_true",
                   help="with --robot-free: also M robot-free scenes with distractor objects and "
                        "collages of test photos (the 'clutter' recipe's hard negatives)")
    p.add_argument("--scene-robot", default="panda",
                   help="filmed: the robot drawn in the validation scenes (default panda, the real arm's "
                        "meshes; its keypoints must be the model's)")
    add_urdf_arguments(p)   # a model trained on a URDF that has moved since: its new place
    p.add_argument("--device", default="auto")
    p.add_argument("--no-progress", action="store_true")
    return p


def check(args) -> str | None:
    problem = check_robot_arguments(args, robot_required=False)
    if problem:
        return problem
    if args.task not in ("real", "filmed", "twin") and not args.checkpoint:
        return f"--checkpoint is required for {args.task}"
    if args.validation and args.task not in INSTANCE_TASKS:
        return f"--validation: for {' or '.join(INSTANCE_TASKS)} only, not {args.task}"
    if args.validation and args.robot_free:
        return "--validation: the robot-free scenes are the test set's; evaluate them without --validation"
    if args.task != "real" and args.n < 1:
        return f"--n: expected at least 1 test scene, got {args.n}"
    if args.recipe != "paper" and args.task not in ("localization", "floors"):
        return f"--recipe: for localization and floors only, not {args.task}"
    if args.robot_free and args.task not in INSTANCE_TASKS:
        return f"--robot-free: for {' or '.join(INSTANCE_TASKS)} only, not {args.task}"
    if args.robot_free < 0:
        return f"--robot-free: a number of scenes >= 0, got {args.robot_free}"
    if args.hard_negatives and args.robot_free < 1:
        return "--hard-negatives: needs --robot-free M with M >= 1 robot-free scenes"
    return None


def run(args) -> int:
    if args.seed is None:  # the default seed follows the scenes asked for
        args.seed = VALIDATION_SEED if args.validation else TEST_SEED
    if args.urdf:
        robot_name(args)   # registered before the checkpoint asks for it
    if args.task in ("real", "filmed", "twin"):
        return run_real(args)
    if args.task == "floors":
        return run_floors(args)
    device = resolve_device(args.device)
    if args.task == "localization":
        model, task, ckpt = load_model(args.checkpoint, device, expect={"task": "localization"})
        methods = METHODS if args.method == "both" else (args.method,)
        report = evaluate_localization(model, task, args.n, seed=args.seed, batch_size=args.batch_size,
                                       methods=methods, device=device, progress=not args.no_progress,
                                       recipe=args.recipe)
        print(f"checkpoint {args.checkpoint}: {ckpt['config'].get('name')} config, step {ckpt['step']}, "
              f"test seed {args.seed}" + ("" if args.recipe == "paper" else f", test recipe {args.recipe}"))
        print(report.format())
        if args.json:
            figures = dict(report.figures(), checkpoint=str(args.checkpoint), step=ckpt["step"], n=args.n,
                           seed=args.seed, recipe=args.recipe)
            print(f"figures -> {args.json}" + _written_note(write_json_atomic(args.json, figures), args))
    else:  # an instance model: recurrent ("instances") or one-pass ("onepass")
        model, task, ckpt = load_model(args.checkpoint, device, expect={"task": args.task})
        fraction = PAPER_MIN_ACTIVE_FRACTION if args.paper_rule else args.min_active_fraction
        data = (validation_dataset if args.validation else test_dataset)(task.robot, args.n, task.input_size,
                                                                           args.seed)
        kwargs = dict(batch_size=args.batch_size, device=device, min_active_fraction=fraction)
        results = evaluate_instances(model, data, task.input_size, **kwargs)
        threshold = getattr(model.instances, "centre_threshold", None)
        window = getattr(model.instances, "centre_nms", None)
        split = "validation" if args.validation else "test"
        print(f"checkpoint {args.checkpoint}: {args.task}, step {ckpt['step']}, {args.n} {split} scenes of "
              f"{task.robot}, seed {args.seed}, min active fraction {fraction}"
              + ("" if threshold is None else f", centre threshold {float(threshold):g}, NMS window "
                 f"{int(window)}x{int(window)}"))
        print(format_instance_results(results))
        figures = dict(summarize(results), checkpoint=str(args.checkpoint), step=ckpt["step"], n=args.n,
                       seed=args.seed, split=split, min_active_fraction=fraction,
                       centre_threshold=None if threshold is None else float(threshold),
                       centre_nms=None if window is None else int(window))
        if args.task == "instances":  # the recurrent model: does each step emit one robot?
            purity = purity_on_scenes(model, data, task.input_size, batch_size=args.batch_size, device=device)
            figures["step_purity"] = purity
            print(f"\nsteps emitting exactly one robot, on the {purity['scenes']} scenes with two or more: "
                  f"{purity['single']:.3f} (two or more at once {purity['union']:.3f}, none {purity['none']:.3f}); "
                  f"activated pixels on a robot {purity['on_robot']:.3f}")
        if args.robot_free:
            predictor = Predictor.load(args.checkpoint, device=device, min_active_fraction=fraction)
            kinds = [("", False)] + ([(" with hard negatives", True)] if args.hard_negatives else [])
            for label, hard in kinds:
                scenes = robot_free_scenes(task.robot, args.robot_free, task.input_size, hard_negatives=hard)
                free = robot_free_rate(model, scenes, task.input_size, **kwargs)
                whole = predictor_robot_free_rate(predictor, scenes)
                figures["robot_free" + ("_hard" if hard else "")] = {"model": free, "predictor": whole}
                print(f"\nrobot-free scenes{label} (seed {ROBOT_FREE_SEED}): the model finds nothing in "
                      f"{free['none_found']:.3f} of {free['n']} ({free['mean_found']:.2f} instances per "
                      f"scene); through the Predictor (joint evidence, min_joints {predictor.min_joints}) "
                      f"no robot in {whole['none_found']:.3f} ({whole['mean_found']:.2f} robots per scene)")
        if args.json:
            print(f"figures -> {args.json}" + _written_note(write_json_atomic(args.json, figures), args))
    return 0


def run_real(args) -> int:
    """``robotpose eval real``: print the report, optionally write JSON."""
    before = None if not args.json else file_state(args.json)
    if args.task == "filmed":
        folder = f"filmed validation set ({args.n} scenes of {args.scene_robot}, seed {FILMED_SEED})"
        photos = filmed_validation(args.scene_robot, args.n)
    else:
        folder = Path(args.data) if args.data else find_real_panda_dir()
        if folder is None:
            raise FileNotFoundError("no --data given and no shared/data/real_panda_dev beside the repository")
        photos = load_real_panda(folder)
        if not photos:
            raise FileNotFoundError(f"{folder}: no info.json with photos (format of real_panda_dev)")
    predictor = load_predictor(args.checkpoint, args.instances, device=args.device)
    # the photos and the twins are Pandas: the model must predict the Panda's keypoints
    scene_robot = args.scene_robot if args.task in ("filmed", "twin") else "panda"
    if list(predictor.joint_names) != list(get_robot(scene_robot).keypoint_names):
        raise ValueError(f"the model's keypoints ({predictor.robot}) are not {scene_robot}'s, "
                         f"whose {'scenes' if args.task == 'filmed' else 'photos'} it would be scored on")
    if args.task == "twin" and not hasattr(get_robot(scene_robot), "urdf_path"):
        raise ValueError(f"--scene-robot {scene_robot}: the twin ladder draws the arm from its URDF meshes "
                         "(its rows are mesh twins); give a mesh robot such as panda")
    instances = args.instances or f"shipped {default_instance_task(predictor.robot)} model"
    method = None if args.method == "both" else args.method
    if args.task == "twin":
        where = f"twin ladder on {folder} ({len(photos)} photos; twins: {args.scene_robot})"
        result = twin_ladder(predictor, photos, method, robot=args.scene_robot)
        report = format_ladder(result)
    else:
        where = f"real photos {folder}" if args.task == "real" else folder
        result = evaluate_real(predictor, photos, method)
        report = format_real_report(result)
    print(f"{where}: localization {args.checkpoint or 'shipped reference'}, "
          f"instances {instances}, peaks {method or predictor.method}")
    print(report)
    if args.json:
        print(f"figures -> {args.json}" + _written_note(write_json_atomic(args.json, result, before=before), args))
    return 0


def _written_note(written, args) -> str:
    """Warn when another process wrote the file meanwhile; the note to print after it."""
    if written.concurrent:
        print(f"robotpose eval: warning: {args.json} was written by another process while this one ran; "
              f"replaced with this run's figures", file=sys.stderr)
    return f" ({written.note})" if written.note else ""


def run_floors(args) -> int:
    """``robotpose eval floors``: Table I's geometric floors (eval/depth_floors.py)."""
    from ..eval.depth_floors import kinematic_floor, predicted_joints, regressed_at_joints, representation_floor
    from ..metrics import PAPER_TABLE_I, format_error_table
    from ..targets import resize_sample

    device = resolve_device(args.device)
    model, task, ckpt = load_model(args.checkpoint, device, expect={"task": "localization"})
    before = None if not args.json else file_state(args.json)
    data = test_dataset(task.robot, args.n, task.input_size, args.seed, args.recipe)
    samples = [resize_sample(data[i], task.input_size) for i in range(args.n)]
    stride = model.stride
    found, depth_maps = predicted_joints(model, samples, with_depth_maps=True)
    print(f"checkpoint {args.checkpoint}: {task.robot}, {args.n} test scenes (seed {args.seed}"
          + ("" if args.recipe == "paper" else f", recipe {args.recipe}")
          + f") at {task.input_size[0]}x{task.input_size[1]}, output stride {stride}")
    rows = [(f"depth target at stride {stride}, nearest", representation_floor(samples, task.targets, task.input_size,
                                                                               stride, "nearest")),
            (f"depth target at stride {stride}, bilinear", representation_floor(samples, task.targets,
                                                                                task.input_size, stride, "bilinear")),
            ("kinematic fit to the true 2D joints", kinematic_floor(samples)),
            ("kinematic fit to the model's 2D joints", kinematic_floor(samples, found)),
            ("the model's depth map at its 2D joints", regressed_at_joints(samples, found, depth_maps, task.targets))]
    for label, table in rows:
        print(f"\n{label} (Table I, cm)")
        print(format_error_table(table, reference=PAPER_TABLE_I))
    if args.json:
        figures = {"checkpoint": str(args.checkpoint), "robot": task.robot, "n": args.n, "seed": args.seed,
                   "recipe": args.recipe, "stride": stride, "floors_cm": {label: table for label, table in rows}}
        written = write_json_atomic(args.json, figures, before=before)
        print(f"figures -> {args.json}" + _written_note(written, args))
    return 0
