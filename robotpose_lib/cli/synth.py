"""``robotpose synth --robot NAME|--urdf PATH [--spec FILE] --n N [--size HxW] [--seed S]
--out DIR``: render a synthetic dataset to disk (``data.write_dataset``; an interrupted run
resumes)."""
from __future__ import annotations

import argparse

from ..backgrounds import BackgroundPool
from ..data import SyntheticDataset, write_dataset
from ..synth import RECIPES, params_for
from .robots import add_urdf_arguments, check_robot_arguments, robot_name


def image_size(text: str) -> tuple[int, int]:
    """argparse type: "480x640" -> (480, 640), at least 8x8."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 480x640, got {text!r}") from None
    if h < 8 or w < 8:
        raise argparse.ArgumentTypeError(f"size {text} is too small (at least 8x8)")
    return h, w


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="robotpose synth", description="Render a synthetic dataset to disk.")
    p.add_argument("--robot", help="robot name, e.g. panda, kuka_kr16, panda_primitive (robotpose robots lists them)")
    add_urdf_arguments(p)
    p.add_argument("--n", type=int, required=True, help="number of samples")
    p.add_argument("--size", type=image_size, default=(480, 640), help="HxW, default 480x640")
    p.add_argument("--seed", type=int, default=0, help="dataset seed")
    p.add_argument("--out", required=True, help="output folder (an interrupted run resumes)")
    p.add_argument("--split", choices=("train", "test"), default="train", help="background photo set")
    p.add_argument("--background-dir", action="append", default=[], help="extra folder of background photos")
    p.add_argument("--batch", type=int, default=8, help="scenes rendered per call")
    p.add_argument("--recipe", default="paper", choices=sorted(RECIPES),
                   help="synthesis recipe (synth.RECIPES): " + ", ".join(sorted(RECIPES)))
    return p


def check(args) -> str | None:
    return check_robot_arguments(args)


def run(args) -> int:
    robot = robot_name(args)
    params = params_for(robot, args.recipe,
                        background=BackgroundPool(split=args.split, folders=tuple(args.background_dir)))
    dataset = SyntheticDataset(robot, args.n, args.size, args.seed, params)
    root = write_dataset(args.out, dataset, batch_size=max(1, args.batch))
    print(f"wrote {dataset.n} samples to {root}")
    return 0
