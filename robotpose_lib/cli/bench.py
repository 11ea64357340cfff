"""``robotpose bench [NAME] [ARGS...]``: the benchmarks of ``bench/``; without a name, all of
them in turn with their default arguments."""
from __future__ import annotations

import argparse
import os

from ..bench import aspect, decode, localization, runtime, synth, train
from ..peaks import METHODS
from .synth import image_size


def _comma_list(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _sigmas(text: str) -> tuple[float, float, int]:
    try:
        lo, hi, num = text.split(":")
        return float(lo), float(hi), int(num)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN:MAX:NUM such as 1:8:8, got {text!r}") from None


def _synth(p):
    p.add_argument("--n", type=int, default=96, help="samples to time per robot and setting")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", type=image_size, default=(480, 640), help="HxW, default 480x640")
    p.add_argument("--robots", type=_comma_list, default=("kuka_kr16", "panda"), help="comma-separated robot names")
    p.add_argument("--processes", type=int, default=os.cpu_count() or 1)


def _meshes(p):
    p.add_argument("--n", type=int, default=64, help="samples to time per robot and setting")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--small", type=image_size, default=(240, 320), help="the small size, default 240x320")
    p.add_argument("--size", type=image_size, default=(480, 640), help="the 3-robot size, default 480x640")
    p.add_argument("--robot", default="panda", help="a shipped mesh robot")
    p.add_argument("--primitive", default="panda_primitive", help="the primitive robot beside it")
    p.add_argument("--recipe", default="sim2real")


def _localization(p):
    p.add_argument("--train", type=_comma_list, default=("cpu", "cpu_ft"), help="configs to time training for")
    p.add_argument("--infer", type=_comma_list, default=("cpu", "paper"), help="configs to time inference for")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")


# the runtime benches time the paper's recurrent instance model: the robots that ship one
CONVGRU_ROBOT = "panda_primitive"


def _runtime(p):
    p.add_argument("--robot", default=CONVGRU_ROBOT,
                   help=f"a robot with a shipped recurrent instance model (default {CONVGRU_ROBOT}; or kuka_kr16)")
    p.add_argument("--localization", help="localization checkpoint (default: the reference)")
    p.add_argument("--instances", help="instance checkpoint (default: the reference)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: on a small shared CPU more threads wait on each other; "
                        "0 keeps torch's default)")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--baseline-repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--robots", type=int, default=3, help="robots in the whole-prediction scene")
    p.add_argument("--method", choices=METHODS, default="nms", help="peak finder of the whole prediction")


def _instances(p):
    p.add_argument("--robot", default=CONVGRU_ROBOT,
                   help=f"a robot with both shipped instance models (default {CONVGRU_ROBOT}; or kuka_kr16)")
    p.add_argument("--onepass", help="one-pass instance checkpoint (robotpose train onepass; default the "
                   "robot's shipped {robot}_onepass_cpu.pt)")
    p.add_argument("--convgru", help="ConvGRU instance checkpoint beside it (default the robot's shipped "
                   "reference; 'none' to skip)")
    p.add_argument("--robots", type=int, default=6, help="scenes with 1..ROBOTS robots")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--json", dest="json_path", help="also write the rows to this JSON file")


def _decode(p):
    p.add_argument("--joints", type=int, default=7)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--blob-sigma", type=float, default=4.0, help="belief Gaussian std (px)")
    p.add_argument("--noise", type=float, default=0.02, help="noise std of the sparse maps")
    p.add_argument("--noisy-noise", type=float, default=0.1, help="noise std of the noisy maps (0: skip them)")
    p.add_argument("--sigmas", type=_sigmas, default=(1.0, 8.0, 8), help="LoG min:max:num (blob_log's linspace)")
    p.add_argument("--threshold", type=float, default=0.1)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--baseline-repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=1,
                   help="torch and OpenCV CPU threads (default 1, like the single-threaded baselines)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--seed", type=int, default=0)


def _train(p):
    p.add_argument("--config", default="cpu")
    p.add_argument("--robot", default="panda")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1: the training recipe's, the other core renders)")
    p.add_argument("--device", default="cpu")


def _aspect(p):
    p.add_argument("--robots", type=_comma_list, default=("panda", "kuka_kr16"), help="comma-separated robot names")
    p.add_argument("--n", type=int, default=16, help="scenes per aspect ratio")
    p.add_argument("--seed", type=int, default=777)
    p.add_argument("--match-px", type=float, default=12.0, help="match radius at 320 px width")
    p.add_argument("--instances", action="store_true", help="with the reference instance model")
    p.add_argument("--fit", default=None, help="Predictor fit: extend (default), pad or crop")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--device", default="cpu")


# name -> (benchmark function, its arguments, one line of help)
BENCHMARKS = {
    "synth": (synth.benchmark, _synth, "sample throughput vs pybullet TinyRenderer"),
    "meshes": (synth.mesh_benchmark, _meshes, "URDF mesh robot throughput vs primitives and pybullet"),
    "localization": (localization.benchmark, _localization, "training throughput, inference latency"),
    "runtime": (runtime.benchmark, _runtime, "the paper's Table II, vs library baselines"),
    "instances": (runtime.instances_benchmark, _instances, "instance stage for 1..6 robots: one-pass vs ConvGRU"),
    "decode": (decode.benchmark, _decode, "NMS and LoG against scipy / skimage"),
    "train": (train.benchmark, _train, "training step: shipped recipe vs fp32 eager"),
    "aspect": (aspect.benchmark, _aspect, "depth ratio per image aspect (own photos)"),
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="robotpose bench", description="Benchmarks; without NAME all of them in turn.")
    sub = p.add_subparsers(dest="benchmark", metavar="NAME")
    for name, (function, add_arguments, text) in BENCHMARKS.items():
        add_arguments(sub.add_parser(name, help=text, description=(function.__doc__ or text).splitlines()[0]))
    return p


def check(args) -> str | None:
    return None


def run(args) -> int:
    names = [args.benchmark] if args.benchmark else list(BENCHMARKS)
    status = 0
    for name in names:
        function, add_arguments, _ = BENCHMARKS[name]
        if args.benchmark:
            kwargs = {k: v for k, v in vars(args).items() if k != "benchmark"}
        else:  # every benchmark with its defaults
            defaults = argparse.ArgumentParser()
            add_arguments(defaults)
            kwargs = vars(defaults.parse_args([]))
        print(f"== bench {name} ==", flush=True)
        status |= int(function(**kwargs) or 0)
    return status
