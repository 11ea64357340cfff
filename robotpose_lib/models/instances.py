"""Recurrent robot instance segmentation (paper section III-C, Fig. 5).

The instance model turns the localization network's output into one full-resolution mask
per robot, one robot per recurrent step, and an (empty) end-of-sequence mask after the
last robot.

Input ``F`` (B, C_in, h, w) at the feature stride s: the base features (C_f channels)
concatenated with the predicted beliefs B^ (J channels) and depth D^ (1 channel), all at
the feature resolution (:func:`build_instance_input` does the down-sampling). C_in =
C_f + J + 1 is a constructor argument because it depends on the backbone and the robot.

Per image the model runs::

    h_0 = tanh(upsample(context(F)))          context: [conv3x3, BN, LeakyReLU, max-pool] x n
    h_t = ConvGRU(F, h_{t-1})                 F is the cell input at every step
    S^_t = sigmoid(upsample(refine(h_t)))      (H, W) mask in [0, 1]

Design decisions the paper leaves open (documented so the chapter can discuss them):

* The context module's output is bilinearly up-sampled back to the feature resolution to
  seed the hidden state (the paper gives the seed the same H' x W' as F, and the module is
  compared with a U-Net contraction path), rather than pooled to a vector and broadcast:
  up-sampling keeps a coarse spatial layout (where the robots are) in the seed.
  A ``tanh`` bounds the seed to the GRU's state range (-1, 1).
* The convolution over the cell input F is computed once per forward pass and reused in
  every step, since F does not change between steps (same result as convolving the
  concatenation [F, h] each step, fewer FLOPs per robot).
* The refine block up-samples by 2 per stage (conv 3x3, BN, ReLU after each up-sampling),
  then a 1x1 convolution gives logits that are bilinearly resized to the requested output
  size before the sigmoid.
* Inference (:meth:`InstanceNet.predict`): a pixel is *activated* when its mask value
  exceeds ``activation_threshold`` (0.5). Iteration continues while at least
  ``min_active_fraction`` of the image's pixels are activated (the paper: 5 %; our
  default :data:`DEFAULT_MIN_ACTIVE_FRACTION` is 0.2 %, for small robots).
  The confidence is the mean mask value over the activated pixels: the mean over the
  whole image would mostly measure the robot's size in the image, not the model's
  certainty. The box comes from the pixels above ``box_threshold`` (0.6, the paper's).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import torch
import torch.nn.functional as nnf
from torch import nn

from ..config import ConfigDict
from ..presets import build_configs, pick
from ..structures import (  # noqa: F401  (the stopping rule's constants, read from here too)
    DEFAULT_MIN_ACTIVE_FRACTION, PAPER_MIN_ACTIVE_FRACTION, activated_box, active_fractions, ends_sequence)



@dataclass
class InstanceConfig(ConfigDict):
    """Sizes of the instance model (paper III-C, Fig. 5; public architecture printout).

    Attributes:
        name: label stored in checkpoints.
        hidden_channels: ConvGRU state channels (263 = 256 VGG features + 7 localization
            maps in the public printout).
        gate_kernel: kernel size of the ConvGRU gate convolutions (3 in the printout).
        context_channels: output channels of each context block [conv3x3, BN,
            LeakyReLU(0.01), max-pool 2x2]; its length is the number of halvings. The last
            block is followed by a 1x1 projection to ``hidden_channels`` when they differ.
            The paper does not say how many blocks; three take stride 4 to stride 32.
        context_dropout: Dropout2d probability at the end of the context module (0.25).
        refine_channels: channels of the refine stages, each one [up-sample x2, conv3x3,
            BN, ReLU]; log2(feature stride) stages reach full resolution (a remaining
            factor is covered by the final bilinear resize of the logits).
        leaky_slope: negative slope of the context module's LeakyReLU (0.01).
        canvas_feedback: feed the masks emitted so far back into the ConvGRU (ours, after
            Ren and Zemel's recurrent attention model, 2017): before step t the cell's
            input gates get a 3x3 convolution of the *canvas*, the element-wise maximum of
            masks 1..t-1 at the feature resolution. Without it the only memory of what was
            emitted is the hidden state, and the matching loss scores "every robot at every
            step" as well as "a robot that was already emitted" (chapter 3). The refine
            block then uses GroupNorm instead of BatchNorm: steps run one after another,
            and per-step batch statistics would differ between instance and
            end-of-sequence steps.
    """

    name: str = "custom"
    hidden_channels: int = 263
    gate_kernel: int = 3
    context_channels: tuple[int, ...] = (263, 263, 263)
    context_dropout: float = 0.25
    refine_channels: tuple[int, ...] = (128, 64)
    leaky_slope: float = 0.01
    canvas_feedback: bool = False



# the named presets (``presets.py``: every preset's settings, defined once)
CONFIGS: dict[str, InstanceConfig] = build_configs(InstanceConfig, "instances")


def get_config(name: str, **overrides) -> InstanceConfig:
    """A named configuration ("paper", "cpu", "quick") with optional field overrides."""
    return pick(CONFIGS, name, **overrides)


class Instance(NamedTuple):
    """One robot instance found by :meth:`InstanceNet.predict`.

    Attributes:
        mask: float (H, W) mask values in [0, 1] at output resolution.
        score: confidence in [0, 1]: mean mask value over the activated pixels.
        box: float (4,) (u0, v0, u1, v1) in pixels, outer pixel edges with pixel centres
            at integer coordinates (so u1 - u0 is the width in pixels), from the pixels
            above the box threshold; None when no pixel exceeds it.
    """

    mask: torch.Tensor
    score: float
    box: torch.Tensor | None


def build_instance_input(features: torch.Tensor, beliefs: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
    """Concatenate base features, beliefs and depth at the feature resolution.

    Args:
        features: (B, C_f, h, w) base features at stride s.
        beliefs: (B, J, H_b, W_b) predicted belief maps in [0, 1].
        depth: (B, 1, H_b, W_b) or (B, H_b, W_b) predicted depth map (whatever encoding the
            localization net predicts, e.g. inverse depth).

    Returns:
        F: (B, C_f + J + 1, h, w). Maps larger than (h, w) are area-averaged down, smaller
        ones bilinearly up-sampled.
    """
    if features.dim() != 4:
        raise ValueError(f"features: expected (B, C, h, w), got shape {tuple(features.shape)}")
    if depth.dim() == 3:
        depth = depth.unsqueeze(1)
    maps = torch.cat([beliefs, depth], dim=1)
    if maps.shape[0] != features.shape[0]:
        raise ValueError(f"beliefs/depth: batch {maps.shape[0]} differs from features' {features.shape[0]}")
    size = features.shape[-2:]
    if maps.shape[-2:] != size:
        shrink = maps.shape[-2] >= size[0] and maps.shape[-1] >= size[1]
        if shrink:
            maps = nnf.interpolate(maps, size=size, mode="area")
        else:
            maps = nnf.interpolate(maps, size=size, mode="bilinear", align_corners=False)
    return torch.cat([features, maps.to(features.dtype)], dim=1)


class ConvGRUCell(nn.Module):
    """Convolutional GRU cell (Ballas et al. 2016): the GRU's matrix products are convolutions.

    z = sigmoid(W_z * x + U_z * h),  r = sigmoid(W_r * x + U_r * h)
    n = tanh(W_n * x + U_n * (r . h)),  h' = (1 - z) . n + z . h

    The input convolution ``W * x`` is exposed separately (:meth:`input_gates`) so a
    caller with a constant input can compute it once for all steps.
    """

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 3):
        super().__init__()
        pad = kernel_size // 2
        self.hidden_channels = hidden_channels
        self.input_conv = nn.Conv2d(in_channels, 3 * hidden_channels, kernel_size, padding=pad)
        self.gate_conv = nn.Conv2d(hidden_channels, 2 * hidden_channels, kernel_size, padding=pad, bias=False)
        self.candidate_conv = nn.Conv2d(hidden_channels, hidden_channels, kernel_size, padding=pad, bias=False)

    def input_gates(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, h, w) -> (B, 3 * hidden, h, w): the input's share of z, r and n."""
        return self.input_conv(x)

    def step(self, x_gates: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One update from precomputed input gates (B, 3*hidden, h, w) and state (B, hidden, h, w)."""
        xz, xr, xn = x_gates.chunk(3, dim=1)
        hz, hr = self.gate_conv(h).chunk(2, dim=1)
        z = torch.sigmoid(xz + hz)
        r = torch.sigmoid(xr + hr)
        n = torch.tanh(xn + self.candidate_conv(r * h))
        return (1 - z) * n + z * h

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """x (B, C_in, h, w), h (B, hidden, h, w) -> new state (B, hidden, h, w)."""
        return self.step(self.input_gates(x), h)


class ContextModule(nn.Module):
    """Down-sample F for global context and seed the hidden state (paper Fig. 5, 'M' blocks).

    (B, C_in, h, w) -> [conv3x3, BN, LeakyReLU, max-pool 2x2] x n -> Dropout2d
    -> 1x1 projection to hidden (if needed) -> bilinear up-sampling to (h, w) -> tanh.
    """

    def __init__(self, in_channels: int, config: InstanceConfig):
        super().__init__()
        blocks: list[nn.Module] = []
        channels = in_channels
        for out in config.context_channels:
            blocks += [
                nn.Conv2d(channels, out, 3, padding=1, bias=False),
                nn.BatchNorm2d(out),
                nn.LeakyReLU(config.leaky_slope),
                nn.MaxPool2d(2, ceil_mode=True),
            ]
            channels = out
        blocks.append(nn.Dropout2d(config.context_dropout))
        if channels != config.hidden_channels:
            blocks.append(nn.Conv2d(channels, config.hidden_channels, 1))
        self.blocks = nn.Sequential(*blocks)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        context = self.blocks(f)
        context = nnf.interpolate(context, size=f.shape[-2:], mode="bilinear", align_corners=False)
        return torch.tanh(context)


class RefineBlock(nn.Module):
    """Cell output (B, hidden, h, w) -> mask logits (B, 1, H, W) at the requested size.
    ``group_norm`` replaces BatchNorm by GroupNorm (statistics per sample)."""

    def __init__(self, hidden_channels: int, channels: Sequence[int], group_norm: bool = False):
        super().__init__()
        stages = []
        previous = hidden_channels
        for out in channels:
            stages.append(
                nn.Sequential(
                    nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                    nn.Conv2d(previous, out, 3, padding=1, bias=False),
                    nn.GroupNorm(min(8, out), out) if group_norm else nn.BatchNorm2d(out),
                    nn.ReLU(inplace=True),
                )
            )
            previous = out
        self.stages = nn.Sequential(*stages)
        self.to_logits = nn.Conv2d(previous, 1, 1)

    def forward(self, h: torch.Tensor, out_size: tuple[int, int]) -> torch.Tensor:
        logits = self.to_logits(self.stages(h))
        if logits.shape[-2:] != tuple(out_size):
            logits = nnf.interpolate(logits, size=tuple(out_size), mode="bilinear", align_corners=False)
        return logits


class FeatureHead(nn.Module):
    """What the instance models share: a head over F (B, C_in, h, w), the localization
    net's base features + J beliefs + 1 depth, built from a config or a preset's name.

    Args (of every subclass):
        in_channels: channels C_in of F (base features + J beliefs + 1 depth).
        config: the subclass's config dataclass, or the name of one of its presets.

    Raises:
        ValueError: ``in_channels`` not positive; an unknown preset name."""

    def __init__(self, in_channels: int, config, get_config):
        super().__init__()
        if in_channels <= 0:
            raise ValueError(f"in_channels: must be positive, got {in_channels}")
        self.config = get_config(config) if isinstance(config, str) else config
        self.in_channels = int(in_channels)


class InstanceNet(FeatureHead):
    """The recurrent instance model: F -> one mask per step (paper Fig. 5). Arguments as
    :class:`FeatureHead` (config: an :class:`InstanceConfig`, default "paper")."""

    def __init__(self, in_channels: int, config: InstanceConfig | str = "paper"):
        super().__init__(in_channels, config, get_config)
        self.context = ContextModule(in_channels, self.config)
        self.cell = ConvGRUCell(in_channels, self.config.hidden_channels, self.config.gate_kernel)
        self.refine = RefineBlock(self.config.hidden_channels, self.config.refine_channels,
                                  group_norm=self.config.canvas_feedback)
        self.canvas_conv = None
        if self.config.canvas_feedback:
            k = self.config.gate_kernel
            self.canvas_conv = nn.Conv2d(1, 3 * self.config.hidden_channels, k, padding=k // 2, bias=False)
            nn.init.zeros_(self.canvas_conv.weight)  # starts as the plain model

    def _check_input(self, f: torch.Tensor) -> None:
        if f.dim() != 4 or f.shape[1] != self.in_channels:
            raise ValueError(f"F: expected (B, {self.in_channels}, h, w), got shape {tuple(f.shape)}")

    def initial_state(self, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(hidden state h_0, precomputed input gates) for F (B, C_in, h, w)."""
        self._check_input(f)
        return self.context(f), self.cell.input_gates(f)

    def step(self, x_gates: torch.Tensor, h: torch.Tensor, out_size: tuple[int, int],
             canvas: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One recurrent step: returns (mask (B, H, W) in [0, 1], new state). ``canvas``
        (B, 1, h, w): masks emitted so far, used with ``canvas_feedback``."""
        if self.canvas_conv is not None and canvas is not None:
            x_gates = x_gates + self.canvas_conv(canvas)
        h = self.cell.step(x_gates, h)
        mask = torch.sigmoid(self.refine(h, out_size)).squeeze(1)
        return mask, h

    @staticmethod
    def update_canvas(canvas: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """canvas (B, 1, h, w), a step's mask (B, H, W) -> the new canvas (detached)."""
        low = nnf.interpolate(mask.detach().unsqueeze(1), size=canvas.shape[-2:], mode="area")
        return torch.maximum(canvas, low)

    def forward(self, f: torch.Tensor, steps: int, out_size: tuple[int, int]) -> torch.Tensor:
        """Unroll ``steps`` iterations (R + 1 in training).

        Args:
            f: F (B, C_in, h, w).
            steps: number of masks to produce (>= 1).
            out_size: (H, W) of the masks, usually the input image size.

        Returns:
            masks (B, steps, H, W) in [0, 1].
        """
        if steps < 1:
            raise ValueError(f"steps: must be >= 1, got {steps}")
        h, x_gates = self.initial_state(f)
        if self.canvas_conv is not None:  # each step needs the masks before it
            canvas = f.new_zeros(f.shape[0], 1, *f.shape[-2:])
            masks = []
            for _ in range(steps):
                mask, h = self.step(x_gates, h, out_size, canvas)
                canvas = self.update_canvas(canvas, mask)
                masks.append(mask)
            return torch.stack(masks, dim=1)
        states = []
        for _ in range(steps):
            h = self.cell.step(x_gates, h)
            states.append(h)
        # All steps go through the refine block as one batch, so that its BatchNorm
        # statistics in training mix instance and end-of-sequence steps the way its
        # running statistics (used step by step at inference) do.
        logits = self.refine(torch.cat(states, dim=0), out_size)
        masks = torch.sigmoid(logits).reshape(steps, f.shape[0], *logits.shape[-2:])
        return masks.transpose(0, 1)

    @torch.no_grad()
    def predict(
        self,
        f: torch.Tensor,
        out_size: tuple[int, int],
        min_active_fraction: float = DEFAULT_MIN_ACTIVE_FRACTION,
        max_instances: int = 10,
        activation_threshold: float = 0.5,
        box_threshold: float = 0.6,
    ) -> list[list[Instance]]:
        """Iterate per image until the mask is (nearly) empty or ``max_instances`` is reached.

        A step's mask is an instance when at least ``min_active_fraction`` of its pixels
        exceed ``activation_threshold``; the first mask that is not ends that image's
        sequence (it is the end-of-sequence mask and is not returned). Runs in eval mode
        (restoring the previous mode) without gradients.

        Args:
            f: F (B, C_in, h, w).
            out_size: (H, W) of the masks.

        Returns:
            per image, the instances in the order the model produced them.
        """
        if not 0.0 <= min_active_fraction <= 1.0:
            raise ValueError(f"min_active_fraction: must be in [0, 1], got {min_active_fraction}")
        if max_instances < 0:
            raise ValueError(f"max_instances: must be >= 0, got {max_instances}")
        was_training = self.training
        self.eval()
        try:
            batch = f.shape[0]
            results: list[list[Instance]] = [[] for _ in range(batch)]
            running = torch.ones(batch, dtype=torch.bool)
            h, x_gates = self.initial_state(f)
            canvas = f.new_zeros(f.shape[0], 1, *f.shape[-2:])
            for _ in range(max_instances):
                masks, h = self.step(x_gates, h, out_size, canvas)
                canvas = self.update_canvas(canvas, masks)
                active = masks > activation_threshold
                fraction = active_fractions(masks, activation_threshold).cpu()
                for b in torch.nonzero(running).flatten().tolist():
                    if ends_sequence(fraction[b], min_active_fraction):
                        running[b] = False
                        continue
                    mask = masks[b]
                    score = float(mask[active[b]].mean())
                    results[b].append(Instance(mask, score, activated_box(mask, box_threshold)))
                if not running.any():
                    break
            return results
        finally:
            self.train(was_training)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
