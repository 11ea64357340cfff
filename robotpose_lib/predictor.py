"""Images + intrinsics -> robots' 3D kinematic chains (the paper's whole pipeline, Fig. 2).

:class:`Predictor` runs the localization network once per image (beliefs B^, encoded
depth D^ and base features), the instance model on [features, B^, D^] until its
end-of-sequence mask, and :func:`decode.decode_instances` on each instance's masked
beliefs (NMS or LoG peaks, depth at the peak, back-projection with K).

Any image, any camera description: the pixel geometry is :mod:`camera`'s
(:func:`camera.network_view`): the image is read upright (EXIF), its K checked against it
(and rescaled when the description names another resolution of the same aspect),
undistorted when distortion coefficients are given, and resized *keeping its aspect
ratio* into the network input, with square network pixels: by default into an input of
the image's own aspect ratio with the network's shorter side (the networks are fully
convolutional, so robots keep the size they had in training), or letterboxed / cropped
into the network's training size. The depth channel is decoded with the focal length of the pixels the
network saw (``NetworkView.focal_net`` at the network width, as the training targets were
made, see ``targets.DepthCoding``); beliefs on the padding are ignored; 2D outputs and
masks are mapped back to the user's image (through the distortion). 3D outputs are
camera-frame metres.

The reference checkpoints come from :func:`checkpoint.checkpoint_dir`
(``$ROBOTPOSE_CHECKPOINT_DIR``, else the files installed with the package).

CLI::

    robotpose predict IMAGE_OR_FOLDER... --robot NAME [--checkpoint PATH]
        (--intrinsics K.json | --intrinsics PER_IMAGE.json | --fx F --fy F --cx C --cy C)
        --out preds.json [--overlay-dir DIR] [--method nms|log] [--fit extend|pad|crop]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch

from . import camera
from .camera import CameraDescription, IntrinsicsError, NetworkView, network_view, read_camera
from .checkpoint import (CheckpointError, describe_checkpoint_dir, load_checkpoint, reference_path,
                         shipped_checkpoint_dir)
from .config import resolve_device
from .decode import METHODS, decode_instances, select_instances
from .image_io import LoadedImage, load_image
from .models.instances import DEFAULT_MIN_ACTIVE_FRACTION, PAPER_MIN_ACTIVE_FRACTION
from .targets import DepthCoding, TargetParams, depth_coding_for, image_to_tensor
from .tasks import InstanceModel, LocalizationTask, load_model
from .types import RobotPose

# The reference checkpoints installed with robotpose (``checkpoint.checkpoint_dir`` also
# honours $ROBOTPOSE_CHECKPOINT_DIR); kept for code that imported this name.
DEFAULT_CHECKPOINT_DIR = shipped_checkpoint_dir()
FITS = camera.FITS
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


def pretrained_paths(robot: str, config: str = "cpu", checkpoint_dir: str | Path | None = None) -> tuple[Path, Path]:
    """(localization, instances) checkpoint paths of the reference models (in
    ``checkpoint_dir``, default :func:`checkpoint.checkpoint_dir`)."""
    return (reference_path(robot, "localization", config, checkpoint_dir),
            reference_path(robot, "instances", config, checkpoint_dir))


@dataclass
class PreparedImage:
    """One input ready for the network.

    Attributes:
        loaded: the decoded image (uint8 (h, w, 3), upright) and its relation to the original.
        tensor: float (3, H_n, W_n) in [0, 1] at the network's input size.
        view: the pixel geometry between the image and the network input (K of both grids,
            the letterbox, the distortion, the way back).
    """

    loaded: LoadedImage
    tensor: torch.Tensor
    view: NetworkView

    @property
    def original_size(self) -> tuple[int, int]:
        return self.loaded.original_size

    @property
    def K_input(self) -> np.ndarray:
        """(3, 3) intrinsics of the original image (float64)."""
        return self.view.camera.K

    @property
    def K_net(self) -> np.ndarray:
        """(3, 3) pinhole intrinsics of the network-resolution pixel grid (float64)."""
        return self.view.K_net


class Predictor:
    """The trained pipeline: ``predictor(image, K) -> list[RobotPose]`` ordered by score.

    Args:
        localization_model: a ``LocalizationNet`` (or anything with ``num_joints``,
            ``config.input_size`` and ``forward(images, upsample="last")`` returning an
            object with ``beliefs``, ``depth``, ``features``, ``low_res``).
        instance_model: an ``InstanceNet`` (or an ``InstanceModel``, whose ``instances``
            part is used), or None: then every image is assumed to show one robot and its
            beliefs are decoded unmasked.
        robot: robot name (J, joint names, default depth range).
        depth_coding: how the network's depth channel encodes metres (default: the robot's,
            ``targets.depth_coding_for``).
        device: None/'auto' (CUDA when present), 'cpu', 'cuda', ...
        method: peak finder, 'nms' or 'log'.
        min_active_fraction: instance stopping rule (fraction of pixels above
            ``activation_threshold``); ``models.instances.DEFAULT_MIN_ACTIVE_FRACTION``
            (0.2 %) rather than the paper's 5 % because most synthetic robots cover less
            than 5 % of the image.
        max_instances: at most this many robots per image.
        activation_threshold: mask value above which a pixel is activated.
        min_score: a joint is found when its masked belief at the peak exceeds this.
        input_size: (H_n, W_n) network input the models were trained at; default the
            localization config's ('pad'/'crop' resize into it, 'extend' keeps its shorter
            side; depth is decoded against its width's reference focal length).
        amp: float16 autocast on CUDA (never on the CPU).
        fit: how an image goes into the network (:func:`camera.fit_to_input`): 'extend'
            (default: a network input of the image's own aspect ratio whose shorter side is
            the network's, so robots keep their training size; the networks are fully
            convolutional), 'pad' (letterbox into ``input_size``) or 'crop' (the centre
            fills ``input_size``).
        pad_value: grey level (0..255) of the padding.
        min_joints: with an instance model, robots with fewer found joints are dropped.
        duplicate_iou: with an instance model, a robot whose mask overlaps a better one by
            more than this IoU is dropped; scores are mask confidence x mean joint belief
            (:func:`decode.select_instances`).
    """

    def __init__(self, localization_model, instance_model, robot: str, depth_coding: DepthCoding | None = None,
                 device=None, method: str = "nms", min_active_fraction: float = DEFAULT_MIN_ACTIVE_FRACTION,
                 max_instances: int = 10, activation_threshold: float = 0.5, min_score: float = 0.1,
                 input_size: tuple[int, int] | None = None, amp: bool = True, fit: str = "extend",
                 pad_value: int = 0, min_joints: int = 1, duplicate_iou: float = 0.5):
        if method not in METHODS:
            raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
        if fit not in FITS:
            raise ValueError(f"fit: expected one of {', '.join(FITS)}, got {fit!r}")
        if not 0.0 <= min_active_fraction <= 1.0:
            raise ValueError(f"min_active_fraction: must be in [0, 1], got {min_active_fraction}")
        self.device = resolve_device(device)
        self.robot = robot
        self.localization = localization_model.to(self.device).eval()
        if instance_model is not None and hasattr(instance_model, "instances") \
                and hasattr(instance_model, "localization"):
            instance_model = instance_model.instances  # an InstanceModel: keep its InstanceNet
        self.instances = None if instance_model is None else instance_model.to(self.device).eval()
        self.num_joints = int(localization_model.num_joints)
        if self.instances is not None:
            expected = localization_model.backbone.out_channels + self.num_joints + 1
            if self.instances.in_channels != expected:
                raise ValueError(f"instance_model: expects {self.instances.in_channels} input channels, the "
                                 f"localization model gives {expected}")
        self.depth_coding = depth_coding or depth_coding_for(robot)
        self.method = method
        self.min_active_fraction = float(min_active_fraction)
        self.max_instances = int(max_instances)
        self.activation_threshold = float(activation_threshold)
        self.min_score = float(min_score)
        size = input_size or localization_model.config.input_size
        self.input_size = (int(size[0]), int(size[1]))
        self.amp = bool(amp) and self.device.type == "cuda"
        self.fit = fit
        self.pad_value = int(pad_value)
        if min_joints < 0 or not 0.0 < duplicate_iou <= 1.0:
            raise ValueError(f"min_joints must be >= 0 and duplicate_iou in (0, 1], got {min_joints}, {duplicate_iou}")
        self.min_joints, self.duplicate_iou = int(min_joints), float(duplicate_iou)
        self.sources: dict[str, str] = {}  # where the weights came from (for messages)

    # ------------------------------------------------------------------ construction
    @property
    def joint_names(self) -> list[str]:
        try:
            from .robots import get_robot

            return list(get_robot(self.robot).keypoint_names)
        except (KeyError, ValueError):
            return [f"joint{j}" for j in range(self.num_joints)]

    @classmethod
    def from_pretrained(cls, robot: str, config: str = "cpu", checkpoint_dir: str | Path | None = None,
                        instances: bool = True, **kwargs) -> "Predictor":
        """The reference models of ``robot``: ``{robot}_localization_{config}.pt`` (weights
        and depth coding) and ``{robot}_instances_{config}.pt`` (instance model; it also
        holds the localization weights it was trained on, which are used) in
        ``checkpoint_dir`` (default :func:`checkpoint.checkpoint_dir`:
        $ROBOTPOSE_CHECKPOINT_DIR, else the files installed with the package).
        ``instances=False`` loads the localization checkpoint alone (one robot per image
        assumed).

        Raises:
            FileNotFoundError: naming the missing checkpoint and where it was looked for.
            CheckpointError: corrupt, or made for another robot.
        """
        loc_path, inst_path = pretrained_paths(robot, config, checkpoint_dir)
        where = describe_checkpoint_dir(checkpoint_dir)
        if not loc_path.is_file():
            raise FileNotFoundError(f"{loc_path}: reference localization checkpoint for {robot!r} not found "
                                    f"(looked in {where})")
        if instances and not inst_path.is_file():
            raise FileNotFoundError(f"{inst_path}: reference instance checkpoint for {robot!r} not found "
                                    f"(looked in {where}; instances=False predicts one robot per image without it)")
        if instances:
            return cls.load(inst_path, localization_checkpoint=loc_path, robot=robot, **kwargs)
        return cls.load(loc_path, robot=robot, **kwargs)

    @classmethod
    def load(cls, path: str | Path, localization_checkpoint: str | Path | None = None, robot: str | None = None,
             device=None, **kwargs) -> "Predictor":
        """A predictor from a user's checkpoint.

        Args:
            path: an instance checkpoint (task 'instances': localization + instance weights)
                or a localization checkpoint (task 'localization': no instance masks, one
                robot per image assumed; a warning says so).
            localization_checkpoint: with an instance checkpoint, the localization
                checkpoint to read the depth coding from (by default the one recorded in
                the instance checkpoint when that file exists, else the robot's default).
            robot: expected robot; a checkpoint for another robot is a CheckpointError.
        """
        expect = {"robot": robot} if robot else None
        model, task, ckpt = load_model(path, device=device, expect=expect)
        if isinstance(task, LocalizationTask):
            warnings.warn(f"{path}: localization-only checkpoint, no instance masks: one robot per image assumed",
                          UserWarning, stacklevel=2)
            pred = cls(model, None, ckpt["robot"], depth_coding=task.targets.depth, device=device, **kwargs)
        elif isinstance(model, InstanceModel):
            coding = None
            source = localization_checkpoint or ckpt.get("extra", {}).get("localization_checkpoint")
            if "targets" in ckpt.get("extra", {}):
                coding = _depth_coding_of(ckpt)
            elif source and Path(source).is_file():
                coding = _depth_coding_of(load_checkpoint(source, expect={"robot": ckpt["robot"]}))
            pred = cls(model.localization, model.instances, ckpt["robot"], depth_coding=coding, device=device,
                       **kwargs)
        else:
            raise CheckpointError(f"{path}: a {ckpt['task']!r} checkpoint; expected 'instances' or 'localization'")
        pred.sources = {"checkpoint": str(path), "task": ckpt["task"]}
        return pred

    # ------------------------------------------------------------------ inputs
    def prepare(self, image, K, name: str | None = None) -> PreparedImage:
        """Read one image and its camera description, check them against each other and
        map the image into the network input (see :func:`camera.network_view`).

        Args:
            image: anything :func:`image_io.load_image` reads.
            K: anything :func:`camera.read_camera` reads (3x3 array, dict, JSON path, ROS
                CameraInfo dump, :class:`camera.CameraDescription`): the intrinsics of the
                upright image as the user sees it, with optional distortion and size.
            name: the image's name in messages.

        Raises:
            ImageInputError / IntrinsicsError (ValueErrors): one line naming the input.
        """
        loaded = load_image(image, name=name)
        label = name or loaded.source
        if isinstance(K, (str, os.PathLike, CameraDescription)):
            cam = read_camera(K)
        else:
            cam = read_camera(K, name=None if name is None else f"{name} intrinsics")
        view = network_view(cam, loaded.size, self.input_size, fit=self.fit, load_scale=loaded.scale,
                            original_size=loaded.original_size, pad_value=self.pad_value, image_name=label,
                            stored_size=loaded.stored_size if loaded.orientation >= 5 else None)
        return PreparedImage(loaded, image_to_tensor(view.warp(loaded.image)), view)

    # ------------------------------------------------------------------ inference
    @torch.inference_mode()
    def network(self, images: torch.Tensor) -> dict:
        """Run the networks on a batch (B, 3, H_n, W_n) in [0, 1].

        Returns dict with "beliefs" (B, J, H_n, W_n), "depth" (B, 1, H_n, W_n) encoded,
        float32 on the device; "instances": per image a list of ``Instance`` (None without
        an instance model).
        """
        images = images.to(self.device)
        with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=self.amp):
            out = self.localization(images, upsample="last")
            found = None
            if self.instances is not None:
                F = torch.cat([out.features, out.low_res[-1]], dim=1)
                found = self.instances.predict(F, tuple(images.shape[-2:]),
                                               min_active_fraction=self.min_active_fraction,
                                               max_instances=self.max_instances,
                                               activation_threshold=self.activation_threshold)
        return {"beliefs": out.beliefs.float(), "depth": out.depth.float(), "instances": found}

    def decode(self, beliefs: torch.Tensor, depth: torch.Tensor, instances, view: NetworkView | np.ndarray,
               method: str | None = None, use_masks: bool = True) -> list[RobotPose]:
        """Decode one image's maps at network resolution: (J, H_n, W_n), (1, H_n, W_n).

        ``view``: the image's :class:`camera.NetworkView` (or a K (3, 3) of the network grid
        for a full, unpadded input). Beliefs outside the image's content (padding) are
        zeroed. Depth is decoded with the focal length of the network grid against the
        reference focal length of training (``targets.DepthCoding``: a fraction of the
        training input width ``input_size[1]``, whatever the width of this input).
        ``instances``: list of ``Instance`` or None (one unmasked robot). Returns poses in
        network pixels (not mapped back), in instance order.
        """
        method = method or self.method
        W = self.input_size[1]
        if isinstance(view, NetworkView):
            K_net, focal = view.K_net, view.focal_net
            x0, y0, x1, y1 = view.content_box
            if (x0, y0, x1, y1) != (0, 0, beliefs.shape[-1], beliefs.shape[-2]):
                content = torch.zeros(beliefs.shape[-2:], dtype=beliefs.dtype, device=beliefs.device)
                content[y0:y1, x0:x1] = 1.0
                beliefs = beliefs * content
        else:
            K_net = np.asarray(view, dtype=np.float64)
            focal = math.sqrt(K_net[0, 0] * K_net[1, 1])
        coding = self.depth_coding

        def to_metres(d):
            return coding.decode(d, focal, W)

        if instances is None or not use_masks:
            masks, scores = None, None
        elif len(instances) == 0:
            return []
        else:
            masks = torch.stack([inst.mask.float() for inst in instances])
            scores = [inst.score for inst in instances]
        return decode_instances(beliefs, depth, masks, K_net, method=method, min_score=self.min_score,
                                depth_to_metres=to_metres, scores=scores)

    def to_input(self, poses: list[RobotPose], prepared: PreparedImage, with_masks: bool = True) -> list[RobotPose]:
        """Map network-resolution 2D outputs to the user's image (original pixels, through
        the lens distortion) and masks (else dropped) to the decoded image's grid; ordered
        by score."""
        view = prepared.view
        out = []
        for p in poses:
            uv = view.to_image(p.joints_2d)
            mask = p.mask if with_masks else None
            if mask is not None:
                # at the decoded image's size: the original size unless load_image
                # downscaled a very large input (a full-size float mask could be GBs)
                mask = view.mask_to_loaded(mask)
            out.append(RobotPose(joints_2d=uv.astype(np.float32), joints_3d=p.joints_3d, joint_scores=p.joint_scores,
                                 mask=mask, score=float(p.score)))
        return sorted(out, key=lambda p: -p.score)

    def predict_prepared(self, prepared: Sequence[PreparedImage], batch_size: int = 8,
                         method: str | None = None, with_masks: bool = True) -> list[list[RobotPose]]:
        """Poses for prepared images, batched through the networks (``with_masks=False``
        leaves ``RobotPose.mask`` None: no input-size masks to allocate)."""
        results: list[list[RobotPose] | None] = [None] * len(prepared)
        by_shape: dict[tuple, list[int]] = {}  # "extend" inputs differ in size: batch equal ones
        for i, p in enumerate(prepared):
            by_shape.setdefault(tuple(p.tensor.shape), []).append(i)
        for indices in by_shape.values():
            for start in range(0, len(indices), batch_size):
                chunk = indices[start:start + batch_size]
                out = self.network(torch.stack([prepared[i].tensor for i in chunk]))
                for b, i in enumerate(chunk):
                    inst = None if out["instances"] is None else out["instances"][b]
                    poses = self.decode(out["beliefs"][b], out["depth"][b], inst, prepared[i].view, method)
                    if inst is not None:  # rank by joint evidence, drop joint-less robots and duplicates
                        poses = select_instances(poses, self.min_joints, self.duplicate_iou)
                    results[i] = self.to_input(poses, prepared[i], with_masks)
        return results

    def __call__(self, images, K, method: str | None = None, batch_size: int = 8):
        """Predict robots in one image or a list of images.

        Args:
            images: one image (uint8 RGB array, float tensor 3xHxW in [0, 1], or a file
                path; any size) or a list/tuple of them.
            K: intrinsics of the input image(s) as the user sees them (3x3 array, nested
                list, tensor, dict, JSON path, ROS CameraInfo dump or
                :class:`camera.CameraDescription`, optionally with distortion and the image
                size it belongs to); with a list of images, one K for all or a list of Ks.
            method: override the predictor's peak finder ('nms' or 'log').

        Returns:
            list[RobotPose] ordered by score (2D in input pixels, 3D camera-frame metres),
            or for a list of images a list of such lists.
        """
        if not isinstance(images, (list, tuple)):
            return self.predict_prepared([self.prepare(images, K)], method=method)[0]
        Ks = K if _is_list_of_matrices(K, len(images)) else [K] * len(images)
        prepared = [self.prepare(img, k) for img, k in zip(images, Ks)]
        return self.predict_prepared(prepared, batch_size=batch_size, method=method)


def _is_list_of_matrices(K, n: int) -> bool:
    if not isinstance(K, (list, tuple)) or len(K) != n:
        return False
    return all(isinstance(k, (str, Path, dict, CameraDescription)) or np.shape(k) in ((3, 3), (9,)) for k in K)


def _depth_coding_of(ckpt: dict) -> DepthCoding:
    targets = ckpt.get("extra", {}).get("targets")
    if targets is None:
        return depth_coding_for(ckpt["robot"])
    return TargetParams.from_dict(targets).depth


# ============================================================================ CLI

def _finite_or_none(x):
    """Nested lists of floats with NaN/inf turned into None (JSON null)."""
    if isinstance(x, (list, tuple)):
        return [_finite_or_none(v) for v in x]
    x = float(x)
    return x if math.isfinite(x) else None


def pose_to_json(pose: RobotPose) -> dict:
    return {"score": _finite_or_none(pose.score),
            "joints_2d": _finite_or_none(np.asarray(pose.joints_2d, float).tolist()),
            "joints_3d": _finite_or_none(np.asarray(pose.joints_3d, float).tolist()),
            "joint_scores": _finite_or_none(np.asarray(pose.joint_scores, float).tolist())}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="robotpose predict", description="Predict robot poses (2D + 3D joints) in images.")
    p.add_argument("images", nargs="+", metavar="IMAGE",
                   help="image files (PNG, JPEG, TIFF, ...) or folders (their image files, not recursive)")
    p.add_argument("--robot", required=True, help="robot model: panda or kuka_kr16")
    p.add_argument("--checkpoint", help="instance (or localization-only) checkpoint; default: the shipped reference")
    p.add_argument("--intrinsics", help='JSON camera description for every image: {"K": [[...]]}, {"fx", "fy", '
                   '"cx", "cy"} or a ROS CameraInfo dump, optionally with "D"/"dist_coeffs" (undistorted) and '
                   '"width"/"height" (K rescaled to each image); or a JSON object mapping image file names to '
                   'such descriptions (or to JSON files holding them) for per-image intrinsics')
    for name in ("fx", "fy", "cx", "cy"):
        p.add_argument(f"--{name}", type=float)
    p.add_argument("--out", required=True, help="output JSON file")
    p.add_argument("--overlay-dir", help="write one PNG per image with the chains drawn")
    p.add_argument("--method", choices=METHODS, default="nms", help="peak finder (default nms)")
    p.add_argument("--fit", choices=FITS, default="extend",
                   help="how images go into the network: extend (default: a network input of the image's own "
                        "aspect ratio), pad (letterbox into the network size) or crop (its centre)")
    p.add_argument("--min-active-fraction", type=float, default=DEFAULT_MIN_ACTIVE_FRACTION,
                   help=f"instance stopping rule (paper {PAPER_MIN_ACTIVE_FRACTION}; default "
                        f"{DEFAULT_MIN_ACTIVE_FRACTION} for small robots)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--batch-size", type=int, default=4)
    return p


def _say(msg: str) -> None:
    print(f"robotpose predict: {msg}", file=sys.stderr)


def _overlay_names(files: list[str]) -> list[str]:
    """One PNG name per input, unique even when two inputs share a stem."""
    stems = [Path(f).stem for f in files]
    return [f"{s}.png" if stems.count(s) == 1 else f"{i:03d}_{s}.png" for i, s in enumerate(stems)]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except (ValueError, FileNotFoundError, OSError) as err:  # CheckpointError, IntrinsicsError are ValueErrors
        _say(f"error: {err}")
        return 1


def expand_inputs(paths: Sequence[str]) -> list[str]:
    """Image arguments with folders replaced by their image files (sorted, by suffix:
    .png .jpg .jpeg .tif .tiff .bmp .webp, any case); other paths are kept as given."""
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            found = sorted(str(Path(p) / f.name) for f in Path(p).iterdir()
                           if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith("."))
            if not found:
                raise FileNotFoundError(f"{p}: folder holds no image files ({' '.join(IMAGE_SUFFIXES)})")
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
        if isinstance(value, str):
            target = Path(value)
            return read_camera(target if target.is_absolute() else self.path.parent / target)
        return read_camera(value, name=f"{self.path}[{key!r}]")


def _cli_cameras(args):
    """A function file -> CameraDescription (one description for all, or per image)."""
    parts = [args.fx, args.fy, args.cx, args.cy]
    if args.intrinsics and any(v is not None for v in parts):
        raise IntrinsicsError("intrinsics: give either --intrinsics or --fx/--fy/--cx/--cy, not both")
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
    if any(v is None for v in parts):
        missing = [f"--{n}" for n, v in zip(("fx", "fy", "cx", "cy"), parts) if v is None]
        raise IntrinsicsError(f"intrinsics: need --intrinsics K.json or all of --fx --fy --cx --cy (missing "
                              f"{' '.join(missing)})")
    cam = read_camera({"fx": args.fx, "fy": args.fy, "cx": args.cx, "cy": args.cy}, name="--fx/--fy/--cx/--cy")
    return lambda file: cam


def _run(args) -> int:
    cameras = _cli_cameras(args)
    files_in = expand_inputs(args.images)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kwargs = dict(device=args.device, method=args.method, min_active_fraction=args.min_active_fraction,
                      fit=args.fit)
        if args.checkpoint:
            predictor = Predictor.load(args.checkpoint, robot=args.robot, **kwargs)
        else:
            predictor = Predictor.from_pretrained(args.robot, **kwargs)
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
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1, allow_nan=False))
    if args.overlay_dir:
        folder = Path(args.overlay_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for name, item, poses in zip(_overlay_names(files), prepared, results):
            from .viz import draw_overlay

            picture = draw_overlay(item.loaded.image, poses, item.loaded.scale)
            cv2.imwrite(str(folder / name), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    robots = sum(len(r) for r in results)
    print(f"{len(images)} image(s), {robots} robot(s) -> {out}" + (f"; {failed} input(s) failed" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
