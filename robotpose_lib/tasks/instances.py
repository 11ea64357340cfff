"""The instance model (paper III-C) as a training task for the generic trainer.

The instance model reads what the localization network computes: its base features and
its last stage's belief and depth maps at the feature resolution (the stage output before
the U block, so no up-sampling and pooling back). :class:`InstanceModel` holds both
networks; the localization network is frozen by default (its weights come from a
localization checkpoint and stay fixed, its BatchNorm statistics too) and can be
fine-tuned through the matching loss as an option. Checkpoints of this task hold both
networks' weights, so they are self-contained for inference.

Pieces:

* :class:`InstanceCollate`: list[Sample] -> {"images", "masks" (padded), "counts"}.
* :class:`InstanceTask`: the trainer's Task protocol (see ``train.Task``); loss = the
  Hungarian soft-IoU matching loss (``matching.matching_loss``).
* :func:`instance_task`: CLI factory ``(config name, robot)``.

Its evaluation (AP, counting, step purity) is ``eval/instances.py``.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from ..checkpoint import CheckpointError, load_checkpoint, load_weights, reference_path
from ..matching import matching_loss, stack_instance_targets
from ..models.instances import Instance, InstanceConfig, InstanceNet
from ..models.instances import get_config as get_instance_config
from ..models.localization import LocalizationConfig, LocalizationNet
from ..models.localization import get_config as get_localization_config
from ..targets import image_to_tensor, resize_sample
from ..types import Sample
from .localization import num_joints_of


class InstanceModel(nn.Module):
    """Localization network + instance network: images -> per-step instance masks.

    Args:
        localization: a :class:`LocalizationNet` (its weights are not touched here).
        instances: an :class:`InstanceNet` whose ``in_channels`` equals the backbone's
            channels + J + 1.
        finetune_localization: let the matching loss train the localization network too;
            otherwise its parameters are frozen and it always runs in eval mode.
    """

    def __init__(self, localization: LocalizationNet, instances: InstanceNet, finetune_localization: bool = False):
        super().__init__()
        expected = localization.backbone.out_channels + localization.num_joints + 1
        if instances.in_channels != expected:
            raise ValueError(f"instances: in_channels {instances.in_channels}, "
                             f"but the localization net gives {expected}")
        self.localization = localization
        self.instances = instances
        self.finetune_localization = bool(finetune_localization)
        if not self.finetune_localization:
            for p in self.localization.parameters():
                p.requires_grad_(False)

    # Weights a warm start (--init) may lack: a depth-context branch the older localization
    # net had not; it starts at zero, and after_warm_start puts the given net's weights back.
    WARM_START_OPTIONAL = ("localization.depth_context.",)

    def train(self, mode: bool = True):
        super().train(mode)
        if not self.finetune_localization:
            self.localization.eval()  # fixed BN statistics for a frozen network
        return self

    def instance_input(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, 3, H, W) in [0, 1] -> F (B, C_f + J + 1, H/s, W/s)."""
        with torch.set_grad_enabled(self.finetune_localization and torch.is_grad_enabled()):
            out = self.localization(images, upsample="last")
            return torch.cat([out.features, out.low_res[-1]], dim=1)

    def forward(self, images: torch.Tensor, steps: int) -> torch.Tensor:
        """images (B, 3, H, W) -> masks (B, steps, H, W) in [0, 1]."""
        return self.instances(self.instance_input(images), steps, tuple(images.shape[-2:]))

    @torch.no_grad()
    def predict(self, images: torch.Tensor, **kwargs) -> list[list[Instance]]:
        """images (B, 3, H, W) -> per image the instances (see :meth:`InstanceNet.predict`)."""
        was_training = self.training
        self.eval()
        try:
            return self.instances.predict(self.instance_input(images), tuple(images.shape[-2:]), **kwargs)
        finally:
            self.train(was_training)


class InstanceCollate:
    """list[Sample] -> {"images" float (B, 3, H, W), "masks" float (B, R_max, H, W) zero
    padded (R_max >= 1), "counts" int64 (B,)} at the model's input size. Picklable."""

    def __init__(self, input_size: tuple[int, int]):
        self.input_size = tuple(input_size)

    def __call__(self, samples: list[Sample]) -> dict[str, torch.Tensor]:
        if not samples:
            raise ValueError("samples: empty batch")
        resized = [resize_sample(s, self.input_size) for s in samples]
        masks, counts = stack_instance_targets([s.masks for s in resized])
        images = torch.stack([image_to_tensor(s.image) for s in resized])
        return {"images": images, "masks": masks, "counts": counts}


class InstanceTask:
    """The paper's instance model (III-C) as a trainer task (``train.Task``).

    Args:
        robot: robot name (checkpoint metadata; J).
        config: the instance model's :class:`InstanceConfig`.
        localization_config: the localization network's configuration; its
            ``input_size`` is the training image size.
        num_joints: J.
        localization_checkpoint: a localization checkpoint whose weights
            :meth:`build_model` loads; None builds a fresh (untrained) localization net.
        finetune_localization: train the localization net through the matching loss too.
        eos_weight: weight of the end-of-sequence term of the loss.
    """

    name = "instances"

    def __init__(
        self,
        robot: str,
        config: InstanceConfig,
        localization_config: LocalizationConfig,
        num_joints: int,
        localization_checkpoint: str | Path | None = None,
        finetune_localization: bool = False,
        eos_weight: float = 1.0,
    ):
        self.robot = robot
        self.config = config
        self.localization_config = localization_config
        self.num_joints = int(num_joints)
        self.localization_checkpoint = None if localization_checkpoint is None else Path(localization_checkpoint)
        if self.localization_checkpoint is not None and not self.localization_checkpoint.is_file():
            raise FileNotFoundError(f"{self.localization_checkpoint}: localization checkpoint not found")
        self.finetune_localization = bool(finetune_localization)
        self.eos_weight = float(eos_weight)
        self.input_size = tuple(localization_config.input_size)
        self.collate = InstanceCollate(self.input_size)
        # set by from_checkpoint: all weights come from the checkpoint, so skip downloads
        self._weights_from_checkpoint = False

    def config_dict(self) -> dict:
        return {
            **self.config.to_dict(),
            "localization": self.localization_config.to_dict(),
            "finetune_localization": self.finetune_localization,
            "eos_weight": self.eos_weight,
        }

    def extra(self) -> dict:
        source = None if self.localization_checkpoint is None else str(self.localization_checkpoint)
        extra = {"num_joints": self.num_joints, "localization_checkpoint": source}
        # Keep the localization's target parameters (depth coding) so that an instance
        # checkpoint alone is enough to decode metric depth.
        if not hasattr(self, "_localization_targets"):
            self._localization_targets = None
            if source is not None and Path(source).is_file():
                self._localization_targets = load_checkpoint(source).get("extra", {}).get("targets")
        if self._localization_targets is not None:
            extra["targets"] = self._localization_targets
        return extra

    def build_localization(self) -> tuple[LocalizationNet, int]:
        """The localization network the instance head reads (weights from the localization
        checkpoint, or left for this task's own checkpoint to fill) and the channels of F."""
        loc_config = self.localization_config
        if self._weights_from_checkpoint:
            loc_config = replace(loc_config, backbone_weights=None)
        localization = LocalizationNet(loc_config, self.num_joints)
        if self.localization_checkpoint is not None and not self._weights_from_checkpoint:
            ckpt = load_checkpoint(self.localization_checkpoint, expect={"task": "localization"})
            # Compared as configurations, not as stored dicts: a checkpoint from before a
            # field existed stores no value for it and means the field's default.
            stored = LocalizationConfig.from_dict(ckpt["config"])
            if stored != self.localization_config:
                raise CheckpointError(
                    f"{self.localization_checkpoint}: localization configuration "
                    f"{stored.to_dict()} in the checkpoint, "
                    f"{self.localization_config.to_dict()} requested")
            load_weights(localization, ckpt["model"], self.localization_checkpoint)
        return localization, localization.backbone.out_channels + self.num_joints + 1

    def build_model(self) -> InstanceModel:
        localization, in_channels = self.build_localization()
        return InstanceModel(localization, InstanceNet(in_channels, self.config), self.finetune_localization)

    def after_warm_start(self, model: InstanceModel) -> None:
        """Called by the trainer after ``--init`` copied every weight of another instance
        checkpoint, its localization net's included: put back the localization weights of
        this task's checkpoint, so that an instance model can be retrained on top of a new
        localization model (unless the localization net is fine-tuned anyway)."""
        if self.localization_checkpoint is not None and not self.finetune_localization:
            load_weights(model.localization, load_checkpoint(self.localization_checkpoint)["model"],
                         self.localization_checkpoint)

    def loss(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        counts = batch["counts"]
        steps = int(counts.max()) + 1
        masks = model(batch["images"], steps=steps)
        result = matching_loss(masks, batch["masks"], counts, eos_weight=self.eos_weight)
        parts = {
            "loss": float(result.loss.detach()),
            "matched_cost": float(result.matched_cost.detach().mean()),
            "eos_error": float(result.eos_error.detach().mean()),
            # soft-IoU distance per robot: comparable between batches with different R
            "cost_per_robot": float(result.matched_cost.detach().sum() / counts.sum().clamp(min=1)),
            "robots_per_image": float(counts.float().mean()),
        }
        return result.loss, parts

    @classmethod
    def from_checkpoint(cls, ckpt: dict) -> "InstanceTask":
        config = dict(ckpt["config"])
        localization = LocalizationConfig.from_dict(config.pop("localization"))
        finetune = bool(config.pop("finetune_localization", False))
        eos_weight = float(config.pop("eos_weight", 1.0))
        task = cls(ckpt["robot"], InstanceConfig.from_dict(config), localization, ckpt["extra"]["num_joints"],
                   None, finetune, eos_weight)
        task._weights_from_checkpoint = True
        return task


def instance_task(config: str, robot: str, localization_checkpoint: str | Path | None = None,
                  **overrides) -> InstanceTask:
    """CLI factory: named instance config (+ overrides) for a robot.

    The localization network's weights come from ``localization_checkpoint``, by default
    ``assets/models/{robot}_localization_{config}/model.pt``, and its configuration from
    that checkpoint. Without one, only the 'quick' config proceeds (on an untrained
    localization net of the same name, which is enough to exercise the code path); the
    others raise FileNotFoundError.

    Overrides: :class:`InstanceConfig` fields, plus ``eos_weight`` (the loss's
    end-of-sequence factor) and ``finetune_localization``.
    """
    task_keys = {"eos_weight", "finetune_localization"}
    task_over = {k: overrides.pop(k) for k in list(overrides) if k in task_keys}
    path = Path(localization_checkpoint) if localization_checkpoint else reference_path(robot, "localization", config)
    if not path.is_file():
        if localization_checkpoint or config != "quick":
            raise FileNotFoundError(f"{path}: localization checkpoint not found "
                                    f"(train it first: robotpose train localization)")
        print(f"note: no localization checkpoint at {path}; the instance model trains on an untrained localization net")
        path = None
        localization_config = get_localization_config(config)
    else:
        ckpt = load_checkpoint(path, expect={"task": "localization", "robot": robot})
        localization_config = LocalizationConfig.from_dict(ckpt["config"])
    return InstanceTask(robot, get_instance_config(config, **overrides), localization_config,
                        num_joints_of(robot), path, **task_over)
