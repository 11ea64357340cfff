"""The named presets, defined once: ``paper``, ``cpu``, ``cpu_ft``, ``gpu``, ``quick``.

A preset is plain values (as nanoGPT's ``config/*.py`` files): for each model it has, the
fields that differ from the model's dataclass defaults (``models.localization.
LocalizationConfig``, ``models.instances.InstanceConfig``, ``models.onepass.OnePassConfig``;
a field not named keeps its default, the paper's where the paper names it), and ``run``,
the defaults of ``robotpose train`` with that config (steps, batch size, scenes in the
training set, checkpoint interval, DataLoader workers, log interval). The model modules
build their ``CONFIGS`` from here and ``train.RUN_DEFAULTS`` is ``run`` of each preset;
``tests/test_presets.py`` pins what every name resolves to.

* ``paper``: the public printout's sizes (VGG16 features at stride 4, 480x640, five
  128-wide stages with 7x7 later kernels; the ConvGRU instance model's hidden size 263).
* ``cpu``: the reference models trained on a 2-core CPU (frozen EfficientNet-Lite0 at
  stride 8, 240x320); ``cpu_ft`` the same localization net with the backbone fine-tuned.
* ``gpu``: the paper's stages on a fine-tuned Lite0 at 240x320, for a lent GPU machine.
* ``quick``: tiny models that train in a minute (tests, CI, quick-mode chapters).
"""
from __future__ import annotations

from dataclasses import replace

# Measured on the 2-core machine (one torch thread, batch 8, 240x320, loaded machine):
# frozen Lite0 3.1 samples/s, fine-tuned 2.0, Lite0 at stride 4 1.2, four 96-wide 7x7
# stages 1.2, VGG16 features 0.4. Accuracy per CPU hour decided between frozen and
# fine-tuned ("cpu_ft"): from the same weights, 24 min of each, the frozen backbone was
# better on pixel and depth errors (panda model card), so "cpu" stays frozen.
_CPU_LOCALIZATION = dict(
    backbone="lite0_s8", freeze_backbone=True, stages=3, width=64, stage1_kernel=3, stage1_blocks=2,
    later_kernel=5, later_blocks=3, head_width=128, upsample_width=8, upsample_blocks=1, input_size=(240, 320))

PRESETS: dict[str, dict[str, dict]] = {
    "paper": {
        "localization": {},
        # the public printout's sizes, for VGG features at stride 4
        "instances": {},
        "run": dict(steps=37500, batch_size=8, n_scenes=10000, ckpt_every=500, workers=4, log_every=50),
    },
    "cpu": {
        "localization": _CPU_LOCALIZATION,
        # for the cpu localization net (Lite0 features at stride 8, 240x320); the refine
        # block stops at stride 2 and the logits are resized bilinearly: a conv stage at
        # full resolution would cost about two thirds of the model's CPU time
        "instances": dict(hidden_channels=32, context_channels=(32, 32), refine_channels=(32, 16)),
        # for the cpu localization net (a 30x40 grid)
        "onepass": {},
        # ~7 samples/s measured end to end (1 render worker + 1 torch thread, 2 cores), so
        # 3000 steps of 8 are about an hour; every scene is seen once (rendering is cheap).
        "run": dict(steps=3000, batch_size=8, n_scenes=24000, ckpt_every=100, workers=1, log_every=10),
    },
    "cpu_ft": {
        "localization": {**_CPU_LOCALIZATION, "freeze_backbone": False},  # "cpu", fine-tuned
        "run": dict(steps=2000, batch_size=8, n_scenes=16000, ckpt_every=100, workers=1, log_every=10),
    },
    "gpu": {
        # The paper's stage sizes (5 stages, 128 wide, 7x7 later kernels, 512-wide heads) on
        # a fine-tuned Lite0 at stride 8, 240x320 like the authors' follow-up: for a lent GPU
        # machine, which cannot download VGG16's ImageNet weights (Lite0's install with the
        # package). scripts/gpu_train.sh trains it.
        "localization": dict(
            backbone="lite0_s8", freeze_backbone=False, stages=5, width=128, stage1_kernel=3, stage1_blocks=3,
            later_kernel=7, later_blocks=5, head_width=512, upsample_width=16, upsample_blocks=1,
            input_size=(240, 320)),
        # the printout's hidden size and context on the cpu config's cheaper refine block
        "instances": dict(refine_channels=(64, 32)),
        "onepass": dict(width=128, refine_channels=(64, 32)),
        # one GPU with ~16 CPU cores rendering (about 40 scenes/s per core at 240x320)
        "run": dict(steps=20000, batch_size=32, n_scenes=640000, ckpt_every=500, workers=14, log_every=50),
    },
    "quick": {
        "localization": dict(
            backbone="lite0_s8", freeze_backbone=True, stages=2, width=32, stage1_kernel=3, stage1_blocks=1,
            later_kernel=3, later_blocks=2, head_width=64, upsample_width=8, upsample_blocks=1, input_size=(96, 128)),
        "instances": dict(hidden_channels=16, context_channels=(16,), refine_channels=(16, 8)),
        "onepass": dict(width=16, dilations=(1, 2, 4), refine_channels=(16, 8), centre_sigma_px=4.0),
        "run": dict(steps=60, batch_size=4, n_scenes=480, ckpt_every=20, workers=0, log_every=5),
    },
}


def model_presets(part: str) -> dict[str, dict]:
    """Preset name -> the fields of ``part`` ("localization", "instances", "onepass", "run")
    for every preset that has it, in the order above."""
    return {name: dict(preset[part]) for name, preset in PRESETS.items() if part in preset}


def build_configs(config_class, part: str) -> dict:
    """Preset name -> ``config_class(name=name, **fields)`` for every preset with ``part``."""
    return {name: config_class(name=name, **fields) for name, fields in model_presets(part).items()}


def pick(configs: dict, name: str, **overrides):
    """The config named ``name`` of ``configs`` with fields overridden; an unknown name is
    a one-line ValueError listing the known ones."""
    if name not in configs:
        raise ValueError(f"config: unknown name {name!r} (expected one of {sorted(configs)})")
    return replace(configs[name], **overrides)


# What the fields that chapters tabulate set, in a reader's words (the dataclasses'
# docstrings say the same in full).
SETTING_MEANINGS = {
    "backbone": "the feature extractor and its stride",
    "freeze_backbone": "backbone weights kept fixed",
    "stages": "number of stages N",
    "width": "channels inside a stage",
    "stage1_kernel": "kernel size of stage 1's blocks",
    "stage1_blocks": "convolution blocks of stage 1",
    "later_kernel": "kernel size of stages 2..N",
    "later_blocks": "convolution blocks of stages 2..N",
    "head_width": "channels of each stage's 1x1 layer before its output",
    "upsample_width": "channels of the upsampling block",
    "upsample_blocks": "convolution blocks of the upsampling block",
    "input_size": "input height and width, px",
    "steps": "optimiser steps of one run",
    "batch_size": "scenes per step",
    "n_scenes": "training scenes rendered",
    "ckpt_every": "steps between checkpoints",
    "workers": "processes rendering scenes",
    "log_every": "steps between log rows",
}


def preset_differences(a: str, b: str, part: str) -> list[dict]:
    """The fields of ``part`` ("localization", "instances", "onepass", "run") that presets
    ``a`` and ``b`` set differently, in the order ``a`` names them (then ``b``'s others):
    [{"field": name, "meaning": what it sets (``SETTING_MEANINGS``, "" if unlisted),
    a: value, b: value}, ...]. A field that only one preset names is listed with None for
    the other (that preset keeps the model's default).

    Raises:
        ValueError: an unknown preset, or a preset without ``part``."""
    for name in (a, b):
        if name not in PRESETS:
            raise ValueError(f"preset: unknown name {name!r} (expected one of {sorted(PRESETS)})")
        if part not in PRESETS[name]:
            raise ValueError(f"preset {name!r} has no {part!r} settings")
    fa, fb = PRESETS[a][part], PRESETS[b][part]
    fields = list(fa) + [f for f in fb if f not in fa]
    return [{"field": f, "meaning": SETTING_MEANINGS.get(f, ""), a: fa.get(f), b: fb.get(f)}
            for f in fields if fa.get(f) != fb.get(f)]
