"""Images + intrinsics -> robots' 3D kinematic chains (the paper's whole pipeline, Fig. 2).

:class:`Predictor` runs the localization network once per image (beliefs B^, encoded
depth D^ and base features), the instance model on [features, B^, D^] until its
end-of-sequence mask, and :func:`decode.decode_instances` on each instance's masked
beliefs (NMS or LoG peaks, depth at the peak, back-projection with K).

Any image size: the image is resized to the network's input size (H_n, W_n) and K with it
(``camera.scale_intrinsics``, pixel-centre convention); the depth decoding uses the focal
length *at network resolution* (the training targets were made at that resolution, see
``targets.DepthCoding``); 2D outputs are mapped back to the input image's pixels. 3D
outputs are camera-frame metres and do not depend on the resizing.

CLI::

    robotpose predict IMAGE... --robot NAME [--checkpoint PATH]
        (--intrinsics K.json | --fx F --fy F --cx C --cy C) --out preds.json
        [--overlay-dir DIR] [--method nms|log]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch

from .checkpoint import CheckpointError, load_checkpoint
from .config import resolve_device
from .decode import decode_instances
from .image_io import IntrinsicsError, LoadedImage, load_image, load_intrinsics
from .targets import DepthCoding, TargetParams, depth_coding_for, image_to_tensor
from .types import RobotPose

DEFAULT_CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "assets" / "checkpoints"
METHODS = ("nms", "log")


def pretrained_paths(robot: str, config: str = "cpu", checkpoint_dir: str | Path | None = None) -> tuple[Path, Path]:
    """(localization, instances) checkpoint paths of the shipped reference models."""
    root = Path(checkpoint_dir) if checkpoint_dir is not None else DEFAULT_CHECKPOINT_DIR
    return root / f"{robot}_localization_{config}.pt", root / f"{robot}_instances_{config}.pt"


@dataclass
class PreparedImage:
    """One input ready for the network.

    Attributes:
        loaded: the decoded image (uint8 (h, w, 3)) and its relation to the original.
        tensor: float (3, H_n, W_n) in [0, 1] at the network's input size.
        K_input: (3, 3) intrinsics of the original image (float64).
        K_net: (3, 3) intrinsics of the network-resolution pixel grid (float64).
    """

    loaded: LoadedImage
    tensor: torch.Tensor
    K_input: np.ndarray
    K_net: np.ndarray

    @property
    def original_size(self) -> tuple[int, int]:
        return self.loaded.original_size


def _scale_K(K: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """K after resizing by (sx, sy); same formula as ``camera.scale_intrinsics``."""
    out = np.array(K, dtype=np.float64)
    out[0, :] = K[0, :] * sx
    out[1, :] = K[1, :] * sy
    out[0, 2] = (K[0, 2] + 0.5) * sx - 0.5
    out[1, 2] = (K[1, 2] + 0.5) * sy - 0.5
    return out


def _rescale_uv(uv: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """Pixels (..., 2) of a grid to a grid scaled by (sx, sy): u' = (u + 0.5) sx - 0.5."""
    out = np.array(uv, dtype=np.float64)
    out[..., 0] = (out[..., 0] + 0.5) * sx - 0.5
    out[..., 1] = (out[..., 1] + 0.5) * sy - 0.5
    return out


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
            ``activation_threshold``); 0.002 rather than the paper's 0.05 because most
            synthetic robots cover less than 5 % of the image.
        max_instances: at most this many robots per image.
        activation_threshold: mask value above which a pixel is activated.
        min_score: a joint is found when its masked belief at the peak exceeds this.
        input_size: (H_n, W_n) network input; default the localization config's.
        amp: float16 autocast on CUDA (never on the CPU).
    """

    def __init__(self, localization_model, instance_model, robot: str, depth_coding: DepthCoding | None = None,
                 device=None, method: str = "nms", min_active_fraction: float = 0.002, max_instances: int = 10,
                 activation_threshold: float = 0.5, min_score: float = 0.1,
                 input_size: tuple[int, int] | None = None, amp: bool = True):
        if method not in METHODS:
            raise ValueError(f"method: expected 'nms' or 'log', got {method!r}")
        if not 0.0 <= min_active_fraction <= 1.0:
            raise ValueError(f"min_active_fraction: must be in [0, 1], got {min_active_fraction}")
        self.device = resolve_device(device)
        self.robot = robot
        self.localization = localization_model.to(self.device).eval()
        if instance_model is not None and hasattr(instance_model, "instances") and hasattr(instance_model, "localization"):
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
        """The shipped reference models of ``robot``: ``assets/checkpoints/
        {robot}_localization_{config}.pt`` (weights and depth coding) and
        ``{robot}_instances_{config}.pt`` (instance model; it also holds the localization
        weights it was trained on, which are used). ``instances=False`` loads the
        localization checkpoint alone (one robot per image assumed).

        Raises:
            FileNotFoundError: naming the missing checkpoint.
            CheckpointError: corrupt, or made for another robot.
        """
        loc_path, inst_path = pretrained_paths(robot, config, checkpoint_dir)
        if not loc_path.is_file():
            raise FileNotFoundError(f"{loc_path}: reference localization checkpoint for {robot!r} not found")
        if instances and not inst_path.is_file():
            raise FileNotFoundError(f"{inst_path}: reference instance checkpoint for {robot!r} not found "
                                    f"(instances=False predicts one robot per image without it)")
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
        ckpt = load_checkpoint(path, expect=expect)
        task = ckpt["task"]
        if task == "localization":
            from .models.localization import LocalizationConfig, LocalizationNet

            try:
                config = _without_download(LocalizationConfig.from_dict(ckpt["config"]))
                loc = LocalizationNet(config, int(ckpt["extra"]["num_joints"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise CheckpointError(f"{path}: localization checkpoint has an unusable configuration "
                                      f"({exc!r})") from None
            _load_state(loc, ckpt["model"], path)
            coding = _depth_coding_of(ckpt)
            warnings.warn(f"{path}: localization-only checkpoint, no instance masks: one robot per image assumed",
                          UserWarning, stacklevel=2)
            pred = cls(loc, None, ckpt["robot"], depth_coding=coding, device=device, **kwargs)
        elif task == "instances":
            from .instance_task import InstanceTask

            try:
                model = InstanceTask.from_checkpoint(ckpt).build_model()
            except (KeyError, TypeError, ValueError) as exc:
                raise CheckpointError(f"{path}: instance checkpoint has an unusable configuration ({exc})") from None
            _load_state(model, ckpt["model"], path)
            coding = None
            source = localization_checkpoint or ckpt.get("extra", {}).get("localization_checkpoint")
            if "targets" in ckpt.get("extra", {}):
                coding = _depth_coding_of(ckpt)
            elif source and Path(source).is_file():
                coding = _depth_coding_of(load_checkpoint(source, expect={"robot": ckpt["robot"]}))
            pred = cls(model.localization, model.instances, ckpt["robot"], depth_coding=coding, device=device,
                       **kwargs)
        else:
            raise CheckpointError(f"{path}: a {task!r} checkpoint; expected 'instances' or 'localization'")
        pred.sources = {"checkpoint": str(path), "task": task}
        return pred

    # ------------------------------------------------------------------ inputs
    def prepare(self, image, K, name: str | None = None) -> PreparedImage:
        """Read and validate one image and its K, resize to the network input.

        Raises:
            ImageInputError / IntrinsicsError (ValueErrors): one line naming the input.
        """
        loaded = load_image(image, name=name)
        K_input = load_intrinsics(K, name=None if name is None else f"{name} intrinsics")
        K_loaded = loaded.adjust_intrinsics(K_input)
        h, w = loaded.size
        H, W = self.input_size
        if (h, w) != (H, W):
            interp = cv2.INTER_AREA if (H < h and W < w) else cv2.INTER_LINEAR
            pixels = cv2.resize(loaded.image, (W, H), interpolation=interp)
        else:
            pixels = loaded.image if loaded.image.flags.writeable else loaded.image.copy()
        K_net = _scale_K(K_loaded, W / w, H / h)
        return PreparedImage(loaded, image_to_tensor(pixels), K_input, K_net)

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

    def decode(self, beliefs: torch.Tensor, depth: torch.Tensor, instances, K_net: np.ndarray,
               method: str | None = None, use_masks: bool = True) -> list[RobotPose]:
        """Decode one image's maps at network resolution: (J, H_n, W_n), (1, H_n, W_n).

        ``instances``: list of ``Instance`` or None (one unmasked robot). Returns poses in
        network pixels (not mapped back), in instance order.
        """
        method = method or self.method
        W = beliefs.shape[-1]
        fx = float(K_net[0, 0])
        coding = self.depth_coding

        def to_metres(d):
            return coding.decode(d, fx, W)

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
        """Map network-resolution 2D outputs (and masks, else dropped) to the original
        image; ordered by score."""
        h, w = prepared.loaded.size
        H, W = self.input_size
        out = []
        for p in poses:
            uv = prepared.loaded.to_original(_rescale_uv(p.joints_2d, w / W, h / H))
            mask = p.mask if with_masks else None
            if mask is not None:
                # at the decoded image's size: the original size unless load_image
                # downscaled a very large input (a full-size float mask could be GBs)
                mask = cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
            out.append(RobotPose(joints_2d=uv.astype(np.float32), joints_3d=p.joints_3d, joint_scores=p.joint_scores,
                                 mask=mask, score=float(p.score)))
        return sorted(out, key=lambda p: -p.score)

    def predict_prepared(self, prepared: Sequence[PreparedImage], batch_size: int = 8,
                         method: str | None = None, with_masks: bool = True) -> list[list[RobotPose]]:
        """Poses for prepared images, batched through the networks (``with_masks=False``
        leaves ``RobotPose.mask`` None: no input-size masks to allocate)."""
        results: list[list[RobotPose]] = []
        for start in range(0, len(prepared), batch_size):
            chunk = prepared[start:start + batch_size]
            out = self.network(torch.stack([p.tensor for p in chunk]))
            for b, item in enumerate(chunk):
                inst = None if out["instances"] is None else out["instances"][b]
                poses = self.decode(out["beliefs"][b], out["depth"][b], inst, item.K_net, method)
                results.append(self.to_input(poses, item, with_masks))
        return results

    def __call__(self, images, K, method: str | None = None, batch_size: int = 8):
        """Predict robots in one image or a list of images.

        Args:
            images: one image (uint8 RGB array, float tensor 3xHxW in [0, 1], or a file
                path; any size) or a list/tuple of them.
            K: (3, 3) intrinsics of the input image(s) (array, nested list, tensor, dict
                or JSON path); with a list of images, one K for all or a list of Ks.
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
    return all(isinstance(k, (str, Path, dict)) or np.shape(k) == (3, 3) for k in K)


def _without_download(config):
    """Weights come from the checkpoint: do not fetch ImageNet weights first."""
    from dataclasses import replace

    return replace(config, backbone_weights=None)


def _load_state(model: torch.nn.Module, state: dict, path) -> None:
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: weights do not fit the model ({str(exc).splitlines()[0][:120]})") from None


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


def draw_overlay(image: np.ndarray, poses: list[RobotPose], scale: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """The image with every predicted chain drawn in its own colour; ``scale`` maps the
    poses' (original) pixels to the image's when it was downscaled on reading."""
    from .viz import INSTANCE_COLORS, draw_chain

    out = image
    for r, pose in enumerate(poses):
        out = draw_chain(out, _rescale_uv(pose.joints_2d, *scale), color=INSTANCE_COLORS[r % 10])
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="robotpose predict", description="Predict robot poses (2D + 3D joints) in images.")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    p.add_argument("--robot", required=True, help="robot model: panda or kuka_kr16")
    p.add_argument("--checkpoint", help="instance (or localization-only) checkpoint; default: the shipped reference")
    p.add_argument("--intrinsics", help='JSON file with {"K": [[...]]} or {"fx", "fy", "cx", "cy"}')
    for name in ("fx", "fy", "cx", "cy"):
        p.add_argument(f"--{name}", type=float)
    p.add_argument("--out", required=True, help="output JSON file")
    p.add_argument("--overlay-dir", help="write one PNG per image with the chains drawn")
    p.add_argument("--method", choices=METHODS, default="nms", help="peak finder (default nms)")
    p.add_argument("--min-active-fraction", type=float, default=0.002,
                   help="instance stopping rule (paper 0.05; default 0.002 for small robots)")
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


def _cli_intrinsics(args) -> np.ndarray:
    parts = [args.fx, args.fy, args.cx, args.cy]
    if args.intrinsics and any(v is not None for v in parts):
        raise IntrinsicsError("intrinsics: give either --intrinsics or --fx/--fy/--cx/--cy, not both")
    if args.intrinsics:
        return load_intrinsics(args.intrinsics)
    if any(v is None for v in parts):
        missing = [f"--{n}" for n, v in zip(("fx", "fy", "cx", "cy"), parts) if v is None]
        raise IntrinsicsError(f"intrinsics: need --intrinsics K.json or all of --fx --fy --cx --cy (missing "
                              f"{' '.join(missing)})")
    return load_intrinsics({"fx": args.fx, "fy": args.fy, "cx": args.cx, "cy": args.cy}, name="--fx/--fy/--cx/--cy")


def _run(args) -> int:
    K = _cli_intrinsics(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kwargs = dict(device=args.device, method=args.method, min_active_fraction=args.min_active_fraction)
        if args.checkpoint:
            predictor = Predictor.load(args.checkpoint, robot=args.robot, **kwargs)
        else:
            predictor = Predictor.from_pretrained(args.robot, **kwargs)
    for w in caught:
        _say(f"warning: {str(w.message).splitlines()[0]}")
    failed = 0
    prepared, files = [], []
    for f in args.images:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                item = predictor.prepare(f, K, name=f)
            except (ValueError, OSError) as err:
                _say(f"skipped: {err}")
                failed += 1
                continue
        for w in caught:
            _say(f"warning: {str(w.message).splitlines()[0]}")
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
            picture = draw_overlay(item.loaded.image, poses, item.loaded.scale)
            cv2.imwrite(str(folder / name), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    robots = sum(len(r) for r in results)
    print(f"{len(images)} image(s), {robots} robot(s) -> {out}" + (f"; {failed} input(s) failed" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
