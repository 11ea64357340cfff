"""``robotpose predict IMAGE_OR_FOLDER... --robot NAME ...``: robot poses in images, as JSON
(and overlays), through :class:`~robotpose_lib.predictor.Predictor`.

    robotpose predict IMAGE_OR_FOLDER... --robot NAME [--checkpoint PATH]
        (--intrinsics K.json | --intrinsics PER_IMAGE.json | --fx F --fy F --cx C --cy C)
        --out preds.json [--overlay-dir DIR] [--method nms|log] [--fit extend|pad|crop]

An image that cannot be read is skipped with one line on stderr and the others are still
predicted; the exit code is then 1.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from .. import network_input
from ..backgrounds import IMAGE_SUFFIXES
from ..camera import IntrinsicsError
from ..camera_io import CameraDescription, read_camera
from ..peaks import METHODS
from ..fileio import file_state, inside, json_safe, write_atomic, write_json_atomic
from ..models.instances import DEFAULT_MIN_ACTIVE_FRACTION, PAPER_MIN_ACTIVE_FRACTION
from ..predictor import Predictor
from ..types import RobotPose
from ..viz import draw_overlay
from .robots import add_urdf_arguments, check_robot_arguments, robot_name


def pose_to_json(pose: RobotPose) -> dict:
    """One robot as standard JSON values (NaN/inf -> None, i.e. ``null``)."""
    return json_safe({"score": float(pose.score), "joints_2d": np.asarray(pose.joints_2d, float),
                      "joints_3d": np.asarray(pose.joints_3d, float),
                      "joint_scores": np.asarray(pose.joint_scores, float)})


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="robotpose predict",
                                description="Predict robot poses (2D + 3D joints) in images.")
    p.add_argument("images", nargs="+", metavar="IMAGE",
                   help="image files (PNG, JPEG, TIFF, ...) or folders (their image files, not recursive)")
    p.add_argument("--robot", required=True, help="robot name: panda, kuka_kr16, panda_primitive, or a URDF robot "
                   "of a --checkpoint (robotpose robots lists them)")
    add_urdf_arguments(p)   # a model trained on a URDF that has moved since: its new place
    p.add_argument("--checkpoint", help="instance (or localization-only) checkpoint; default: the shipped reference")
    p.add_argument("--instances", choices=["default", "instances", "onepass"], default="default",
                   help="without --checkpoint: the shipped instance model; default: the best by the rule of "
                        "checkpoint.default_instance_task (measured figures in the models' eval.json); "
                        "instances: the paper's recurrent ConvGRU model; onepass: the one-pass model")
    p.add_argument("--intrinsics", help='JSON camera description for every image: {"K": [[...]]}, {"fx", "fy", '
                   '"cx", "cy"} or a ROS CameraInfo dump, optionally with "D"/"dist_coeffs" (undistorted) and '
                   '"width"/"height" (K rescaled to each image); or a JSON object mapping image file names to '
                   'such descriptions (or to JSON files in its folder holding them) for per-image intrinsics')
    for name in ("fx", "fy", "cx", "cy"):
        p.add_argument(f"--{name}", type=float)
    p.add_argument("--out", required=True, help="output JSON file")
    p.add_argument("--overlay-dir", help="write one PNG per image with the chains drawn")
    p.add_argument("--method", choices=METHODS, default="nms", help="peak finder (default nms)")
    p.add_argument("--fit", choices=network_input.FITS, default="extend",
                   help="how images go into the network: extend (default: a network input of the image's own "
                        "aspect ratio), pad (letterbox into the network size) or crop (its centre)")
    p.add_argument("--min-active-fraction", type=float, default=DEFAULT_MIN_ACTIVE_FRACTION,
                   help=f"instance stopping rule (paper {PAPER_MIN_ACTIVE_FRACTION}; default "
                        f"{DEFAULT_MIN_ACTIVE_FRACTION} for small robots)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--batch-size", type=int, default=4)
    return p


def check(args) -> str | None:
    problem = check_robot_arguments(args, robot_required=False)
    if problem:
        return problem
    parts = {"--fx": args.fx, "--fy": args.fy, "--cx": args.cx, "--cy": args.cy}
    if args.intrinsics and any(v is not None for v in parts.values()):
        return "intrinsics: give either --intrinsics or --fx/--fy/--cx/--cy, not both"
    missing = [name for name, v in parts.items() if v is None]
    if not args.intrinsics and missing:
        return f"intrinsics: need --intrinsics K.json or all of --fx --fy --cx --cy (missing {' '.join(missing)})"
    return None


def _say(msg: str) -> None:
    print(f"robotpose predict: {msg}", file=sys.stderr)


def _overlay_names(files: list[str]) -> list[str]:
    """One PNG name per input, unique even when two inputs share a stem."""
    stems = [Path(f).stem for f in files]
    return [f"{s}.png" if stems.count(s) == 1 else f"{i:03d}_{s}.png" for i, s in enumerate(stems)]


def expand_inputs(paths: Sequence[str]) -> list[str]:
    """Image arguments with folders replaced by their image files (sorted, by suffix:
    ``backgrounds.IMAGE_SUFFIXES``, any case); other paths are kept as given."""
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            found = sorted(str(Path(p) / f.name) for f in Path(p).iterdir()
                           if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith("."))
            if not found:
                raise FileNotFoundError(f"{p}: folder holds no image files ({' '.join(sorted(IMAGE_SUFFIXES))})")
            out += found
        else:
            out.append(p)
    return out


_CAMERA_KEYS = {"K", "k", "camera_matrix", "cameraMatrix", "intrinsic_matrix", "intrinsics", "fx", "fy", "cx", "cy"}


class _PerImageCameras:
    """A JSON object mapping image file names (as given, relative to the mapping's folder,
    or the base name) to camera descriptions or to JSON files holding one."""

    def __init__(self, path: Path, table: dict):
        self.path, self.table = path, table

    def __call__(self, file: str) -> CameraDescription:
        f = Path(file)
        keys = [file, str(f)]
        try:
            keys.append(os.path.relpath(f.resolve(), self.path.parent.resolve()))
        except ValueError:  # another drive (Windows)
            pass
        keys.append(f.name)
        key = next((k for k in keys if k in self.table), None)
        if key is None:
            raise IntrinsicsError(f"{file}: no intrinsics for this image in {self.path}")
        value = self.table[key]
        if isinstance(value, str):  # a camera file: inside the mapping's folder, like every name read from a file
            return read_camera(inside(self.path.parent, value, f"{self.path}[{key!r}]", "camera file"))
        return read_camera(value, name=f"{self.path}[{key!r}]")


def _cli_cameras(args):
    """A function file -> CameraDescription (one description for all, or per image)."""
    if args.intrinsics:
        path = Path(args.intrinsics)
        if path.is_file():
            try:
                data = json.loads(path.read_text())
            except (UnicodeDecodeError, json.JSONDecodeError):
                data = None  # read_camera names the problem
            if isinstance(data, dict) and data and not (_CAMERA_KEYS & set(data)) \
                    and all(isinstance(v, (dict, list, str)) for v in data.values()):
                return _PerImageCameras(path, data)
        cam = read_camera(path)
        return lambda file: cam
    cam = read_camera({"fx": args.fx, "fy": args.fy, "cx": args.cx, "cy": args.cy}, name="--fx/--fy/--cx/--cy")
    return lambda file: cam


def run(args) -> int:
    out = Path(args.out)
    before = file_state(out)  # another process writing --out meanwhile is noticed, not silently lost
    cameras = _cli_cameras(args)
    files_in = expand_inputs(args.images)
    if args.urdf:
        robot_name(args)   # registered before the checkpoint asks for it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kwargs = dict(device=args.device, method=args.method, min_active_fraction=args.min_active_fraction,
                      fit=args.fit)
        if args.checkpoint:
            predictor = Predictor.load(args.checkpoint, robot=args.robot, **kwargs)
        else:
            choice = True if args.instances == "default" else args.instances
            predictor = Predictor.from_pretrained(args.robot, instances=choice, **kwargs)
    for w in caught:
        _say(f"warning: {str(w.message).splitlines()[0]}")
    failed = 0
    prepared, files = [], []
    for f in files_in:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                item = predictor.prepare(f, cameras(f), name=f)
            except (ValueError, OSError) as err:
                item = err
        for w in caught:
            _say(f"warning: {str(w.message).splitlines()[0]}")
        if isinstance(item, Exception):
            _say(f"skipped: {str(item).splitlines()[0] if str(item) else type(item).__name__}")
            failed += 1
            continue
        prepared.append(item)
        files.append(f)
    results = predictor.predict_prepared(prepared, batch_size=max(1, args.batch_size), with_masks=False) \
        if prepared else []
    images = []
    for f, item, poses in zip(files, prepared, results):
        H0, W0 = item.original_size
        images.append({"file": f, "width": int(W0), "height": int(H0), "robots": [pose_to_json(p) for p in poses]})
    doc = {"robot": predictor.robot, "joint_names": predictor.joint_names, "images": images}
    written = write_json_atomic(out, doc, before=before)
    if written.concurrent:
        _say(f"warning: {out} was written by another process while this one ran; replaced with this run's output")
    if args.overlay_dir:
        folder = Path(args.overlay_dir)
        for name, item, poses in zip(_overlay_names(files), prepared, results):
            picture = draw_overlay(item.loaded.image, poses, item.loaded.scale)
            ok, png = cv2.imencode(".png", cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
            if not ok:
                raise RuntimeError(f"{folder / name}: PNG encoding failed")
            write_atomic(folder / name, png.tobytes())
    robots = sum(len(r) for r in results)
    print(f"{len(images)} image(s), {robots} robot(s) -> {out}" + (f" ({written.note})" if written.note else "")
          + (f"; {failed} input(s) failed" if failed else ""))
    return 1 if failed else 0
