"""Images + intrinsics -> robots' 3D kinematic chains (the paper's whole pipeline, Fig. 2).

:class:`Predictor` runs the localization network once per image (beliefs B^, encoded
depth D^ and base features), the instance model on [features, B^, D^] until its
end-of-sequence mask, and :func:`decode.decode_poses` on each instance's masked
beliefs (NMS or LoG peaks, depth at the peak, back-projection with K).

Any image, any camera description: the pixel geometry is :mod:`network_input`'s
(:func:`network_input.network_view`): the image is read upright (EXIF), its K checked against it
(and rescaled when the description names another resolution of the same aspect),
undistorted when distortion coefficients are given, and resized *keeping its aspect
ratio* into the network input, with square network pixels: by default into an input of
the image's own aspect ratio with the network's shorter side (the networks are fully
convolutional, so robots keep the size they had in training), or letterboxed / cropped
into the network's training size. The depth channel is decoded with the focal length of the pixels the
network saw (``NetworkView.network_camera.focal`` at the network width, as the training targets were
made, see ``targets.DepthCoding``); beliefs on the padding are ignored; 2D outputs and
masks are mapped back to the user's image (through the distortion). 3D outputs are
camera-frame metres.

The reference models come from :func:`checkpoint.models_dir` (one folder per model:
``$ROBOTPOSE_MODELS_DIR``, else the folders installed with the package). The command
line is ``robotpose predict`` (``cli/predict.py``).
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from . import camera
from .camera_io import CameraDescription, read_camera
from .checkpoint import (INSTANCE_MODELS, CheckpointError, default_instance_task, describe_models_dir,
                         load_checkpoint, reference_path)
from .config import resolve_device
from .decode import decode_poses, select_instances
from .network_input import FITS, NetworkView, network_view
from .peaks import METHODS
from .image_io import LoadedImage, load_image
from .models.instances import DEFAULT_MIN_ACTIVE_FRACTION
from .targets import DepthCoding, TargetParams, depth_coding_for, image_to_tensor
from .tasks import InstanceModel, LocalizationTask, Reference, load_reference
from .types import RobotPose


def pretrained_paths(robot: str, config: str = "cpu", models_dir: str | Path | None = None,
                     instances: str = "instances") -> tuple[Path, Path]:
    """(localization, instance model) weights of the reference models (in ``models_dir``,
    default :func:`checkpoint.models_dir`); ``instances`` names the instance model:
    "instances" (the paper's recurrent one), "onepass", or "default" (the one
    :func:`checkpoint.default_instance_task` chooses)."""
    if instances == "default":
        instances = default_instance_task(robot, config, models_dir)
    return (reference_path(robot, "localization", config, models_dir),
            reference_path(robot, instances, config, models_dir))


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
        instance_model: an ``InstanceNet`` (the paper's recurrent model) or a
            ``models.onepass.OnePassNet`` (the one-pass model), or an ``InstanceModel`` /
            ``OnePassModel`` whose ``instances`` part is used, or None: then every image is
            assumed to show one robot and its beliefs are decoded unmasked.
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
        fit: how an image goes into the network (:func:`network_input.fit_to_input`): 'extend'
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
    def from_pretrained(cls, robot: str, config: str = "cpu", models_dir: str | Path | None = None,
                        instances: bool | str = True, **kwargs) -> "Predictor":
        """The reference models of ``robot``: ``{robot}_localization_{config}/model.pt``
        (weights and depth coding) and an instance model (it also holds the localization
        weights it was trained on, which are used) in ``models_dir`` (default
        :func:`checkpoint.models_dir`: $ROBOTPOSE_MODELS_DIR, else the folders installed
        with the package).

        The instance model: by default (``instances=True``) the best shipped one by a
        stated rule on measured figures (:func:`checkpoint.default_instance_task`: mask
        AP@0.5 + counting accuracy on synthetic validation scenes, from the models'
        eval.json; ties keep the paper's; a robot with one instance model uses it);
        ``instances="instances"`` the paper's recurrent ConvGRU model (chapter 3),
        ``"onepass"`` the one-pass model; ``instances=False`` loads the localization
        checkpoint alone (one robot per image assumed).

        Raises:
            FileNotFoundError: naming the missing checkpoint and where it was looked for.
            CheckpointError: corrupt, or made for another robot.
        """
        if instances == "default":
            instances = True
        if instances not in (True, False, *INSTANCE_MODELS):
            raise ValueError(f"instances: True, 'default', False or one of {INSTANCE_MODELS}, got {instances!r}")
        choice = "default" if instances is True else (instances or "instances")
        loc_path, inst_path = pretrained_paths(robot, config, models_dir, choice)
        where = describe_models_dir(models_dir)
        if not loc_path.is_file():
            from .robots import known_robots, renamed_hint

            unknown = (f"; {robot!r} is not a robot name{renamed_hint(robot)} (known: {', '.join(known_robots())})"
                       if robot not in known_robots() else "")
            raise FileNotFoundError(f"{loc_path}: reference localization checkpoint for {robot!r} not found "
                                    f"(looked in {where}){unknown}")
        if instances and not inst_path.is_file():
            shipped = [t for t in INSTANCE_MODELS if pretrained_paths(robot, config, models_dir, t)[1].is_file()]
            have = (f"{robot!r} ships {' and '.join(repr(t) for t in shipped)} only" if shipped
                    else f"{robot!r} ships no instance model")
            raise FileNotFoundError(f"{inst_path}: reference instance checkpoint for {robot!r} not found "
                                    f"(looked in {where}); {have}; without one, the localization model alone "
                                    "predicts one robot per image (instances=False, robotpose predict "
                                    "--instances none)")
        if instances:
            return cls.load(inst_path, localization_checkpoint=loc_path, robot=robot, **kwargs)
        return cls.load(loc_path, robot=robot, **kwargs)

    @classmethod
    def load(cls, path: str | Path, localization_checkpoint: str | Path | None = None, robot: str | None = None,
             device=None, **kwargs) -> "Predictor":
        """A predictor from a user's checkpoint.

        Args:
            path: an instance checkpoint (task 'instances', the recurrent model, or
                'onepass', the one-pass model: localization + instance weights)
                or a localization checkpoint (task 'localization': no instance masks, one
                robot per image assumed; a warning says so).
            localization_checkpoint: with an instance checkpoint, the localization
                checkpoint to read the depth coding from (by default the one recorded in
                the instance checkpoint when that file exists, else the robot's default).
            robot: expected robot; a checkpoint for another robot is a CheckpointError.
        """
        return cls.from_reference(load_reference(robot, checkpoint=path, device=device),
                                  localization_checkpoint, device=device, **kwargs)

    @classmethod
    def from_reference(cls, reference: Reference, localization_checkpoint: str | Path | None = None,
                       device=None, **kwargs) -> "Predictor":
        """A predictor from a checkpoint loaded by :func:`tasks.load_reference`, as
        :meth:`load` builds it (``localization_checkpoint``: see there)."""
        model, task, ckpt, path = reference.model, reference.task, reference.checkpoint, reference.path
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
            raise CheckpointError(f"{path}: a {ckpt['task']!r} checkpoint; expected 'instances', 'onepass' "
                                  f"or 'localization'")
        pred.sources = {"checkpoint": str(path), "task": ckpt["task"]}
        return pred

    # ------------------------------------------------------------------ inputs
    def prepare(self, image, K, name: str | None = None) -> PreparedImage:
        """Read one image and its camera description, check them against each other and
        map the image into the network input (see :func:`network_input.network_view`).

        Args:
            image: anything :func:`image_io.load_image` reads.
            K: anything :func:`camera_io.read_camera` reads (3x3 array, dict, JSON path, ROS
                CameraInfo dump, :class:`camera_io.CameraDescription`): the intrinsics of the
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

        ``view``: the image's :class:`network_input.NetworkView` (or a K (3, 3) of the network grid
        for a full, unpadded input). Beliefs outside the image's content (padding) are
        zeroed. Depth is decoded with the focal length of the network grid against the
        reference focal length of training (``targets.DepthCoding``: a fraction of the
        training input width ``input_size[1]``, whatever the width of this input).
        ``instances``: list of ``Instance`` or None (one unmasked robot). Returns poses in
        network pixels (not mapped back), in instance order.
        """
        method = method or self.method
        if isinstance(view, NetworkView):
            grid = view.network_camera
            x0, y0, x1, y1 = view.content_box
            if (x0, y0, x1, y1) != (0, 0, beliefs.shape[-1], beliefs.shape[-2]):
                content = torch.zeros(beliefs.shape[-2:], dtype=beliefs.dtype, device=beliefs.device)
                content[y0:y1, x0:x1] = 1.0
                beliefs = beliefs * content
        else:
            grid = camera.Camera(view, tuple(beliefs.shape[-2:]))
        if instances is None or not use_masks:
            masks, scores = None, None
        elif len(instances) == 0:
            return []
        else:
            masks = torch.stack([inst.mask.float() for inst in instances])
            scores = [inst.score for inst in instances]
        return decode_poses(beliefs, depth, masks, grid, method=method, min_score=self.min_score,
                            depth_coding=self.depth_coding, reference_width=self.input_size[1],
                            scores=scores)

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
                :class:`camera_io.CameraDescription`, optionally with distortion and the image
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
