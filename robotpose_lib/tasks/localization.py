"""The joint localization model of the paper (section III-B) as a training task.

:class:`LocalizationTask` follows the trainer's ``train.Task`` protocol: it builds a
:class:`~robotpose_lib.models.localization.LocalizationNet`, turns samples into images and
targets (``targets.LocalizationCollate``, in the DataLoader workers) and computes the
staged loss of eq. 1-3 (``losses.localization_loss``). :func:`localization_task` is the
factory ``robotpose train localization`` uses (a named config plus ``--set`` overrides).
"""
from __future__ import annotations

import numbers
from dataclasses import fields, replace

from torch import nn

from ..losses import localization_loss
from ..models.localization import LocalizationConfig, LocalizationNet, get_config
from ..robots import get_robot
from ..targets import LocalizationCollate, TargetParams, depth_coding_for
from ..toy import ToyDiscDataset


class LocalizationTask:
    """The paper's joint localization model (III-B) as a trainer task (``train.Task``).

    Args:
        robot: robot name (for the checkpoint and the default depth range).
        config: :class:`LocalizationConfig`.
        num_joints: J.
        targets: target parameters (default: sigma 4 px, phi 0.3, the robot's depth range).
        depth_weight: lambda, the factor of the depth term in eq. 1 (paper: 1; see losses).
        intermediate: where stages 1..N-1 are supervised: "full" (the paper: each stage's
            U block up-samples it to the input size) or "low_res" (at the backbone's grid,
            against pooled targets, ``losses.pool_targets``; only the last stage goes
            through its U block). Inference uses the last stage only, so both train the
            same network; "low_res" skips N-1 full-resolution U blocks, about 40 % of a
            ``cpu`` training step (``robotpose bench train``).
    """

    name = "localization"
    INTERMEDIATE = ("full", "low_res")

    def __init__(self, robot: str, config: LocalizationConfig, num_joints: int,
                 targets: TargetParams | None = None, depth_weight: float = 1.0,
                 intermediate: str = "full"):
        if isinstance(depth_weight, bool) or not isinstance(depth_weight, numbers.Real) or not depth_weight >= 0:
            raise ValueError(f"depth_weight: expected a number >= 0, got {depth_weight!r}")
        if intermediate not in self.INTERMEDIATE:
            raise ValueError(f"intermediate: expected one of {self.INTERMEDIATE}, got {intermediate!r}")
        self.intermediate = intermediate
        self.robot = robot
        self.config = config
        self.num_joints = int(num_joints)
        self.depth_weight = float(depth_weight)
        self.targets = targets or TargetParams(depth=depth_coding_for(robot))
        self.collate = LocalizationCollate(config.input_size, self.targets)
        self.input_size = tuple(config.input_size)
        # set by from_checkpoint: all weights come from the checkpoint, so skip downloads
        self._weights_from_checkpoint = False

    def config_dict(self) -> dict:
        return self.config.to_dict()

    def extra(self) -> dict:
        return {"num_joints": self.num_joints, "targets": self.targets.to_dict(),
                "depth_weight": self.depth_weight, "intermediate": self.intermediate}

    def build_model(self) -> nn.Module:
        config = self.config
        if self._weights_from_checkpoint:  # every weight comes from the checkpoint: no download
            config = replace(config, backbone_weights=None)
        return LocalizationNet(config, self.num_joints)

    def loss(self, model, batch):
        if self.intermediate == "full":
            out = model(batch["images"])
            return localization_loss(out.stages, batch, self.depth_weight)
        out = model(batch["images"], upsample="last")
        J = self.num_joints
        coarse = [(low[:, :J], low[:, J:]) for low in out.low_res[:-1]]
        return localization_loss(coarse + out.stages, batch, self.depth_weight)

    @classmethod
    def from_checkpoint(cls, ckpt: dict) -> "LocalizationTask":
        """The task a checkpoint was trained with (targets default to the robot's when the
        checkpoint holds none); its model is built without downloading weights."""
        extra = ckpt.get("extra", {})
        targets = TargetParams.from_dict(extra["targets"]) if extra.get("targets") else None
        task = cls(ckpt["robot"], LocalizationConfig.from_dict(ckpt["config"]),
                   extra["num_joints"], targets,
                   extra.get("depth_weight", 1.0), extra.get("intermediate", "full"))
        task._weights_from_checkpoint = True
        return task


def num_joints_of(robot: str) -> int:
    """Keypoints per robot (J); "toy" is :class:`~robotpose_lib.toy.ToyDiscDataset`."""
    if robot == "toy":
        return ToyDiscDataset.NUM_JOINTS
    return len(get_robot(robot).keypoint_names)


def localization_task(config: str, robot: str, **overrides) -> LocalizationTask:
    """Factory used by the CLI: named config for a robot, with overrides of
    :class:`LocalizationConfig` fields, of the target fields ``sigma``, ``phi``,
    ``joints``, of the depth code ``depth_code`` ("inverse", the paper's, or "log"; see
    :class:`DepthCoding`) and of the loss factor ``depth_weight``."""
    model_fields = {f.name for f in fields(LocalizationConfig)}
    target_fields = {f.name for f in fields(TargetParams)} - {"depth"}  # the coding is per robot
    loss_fields = {"depth_weight", "intermediate", "depth_code"}
    bad = sorted(set(overrides) - model_fields - target_fields - loss_fields)
    if bad:
        raise ValueError(f"override: unknown field(s) {bad} (model config fields, "
                         f"{sorted(target_fields)}, depth_code, depth_weight or intermediate)")
    model_over = {k: v for k, v in overrides.items() if k in model_fields}
    target_over = {k: v for k, v in overrides.items() if k in target_fields}
    coding = depth_coding_for(robot, kind=overrides.get("depth_code", "inverse"))
    targets = TargetParams(depth=coding, **target_over)
    return LocalizationTask(robot, get_config(config, **model_over), num_joints_of(robot),
                            targets, overrides.get("depth_weight", 1.0),
                            overrides.get("intermediate", "full"))
