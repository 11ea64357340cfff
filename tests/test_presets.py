"""The named presets ("quick", "cpu", "cpu_ft", "gpu", "paper") resolve to these settings:
every model config and every run default, pinned value for value (types included: tuples
stay tuples), so that moving where presets are defined cannot change what a name means."""
from dataclasses import asdict

from robotpose_lib.models import instances, localization, onepass
from robotpose_lib.train import RUN_DEFAULTS

PINNED = {
    'localization': {
        'cpu': {'name': 'cpu', 'backbone': 'lite0_s8', 'backbone_weights': 'imagenet', 'freeze_backbone': True,
            'stages': 3, 'width': 64, 'stage1_kernel': 3, 'stage1_blocks': 2, 'later_kernel': 5, 'later_blocks': 3,
            'head_width': 128, 'upsample_width': 8, 'upsample_blocks': 1, 'input_size': (240, 320), 'depth_context':
            0},
        'gpu': {'name': 'gpu', 'backbone': 'lite0_s8', 'backbone_weights': 'imagenet', 'freeze_backbone': False,
            'stages': 5, 'width': 128, 'stage1_kernel': 3, 'stage1_blocks': 3, 'later_kernel': 7, 'later_blocks': 5,
            'head_width': 512, 'upsample_width': 16, 'upsample_blocks': 1, 'input_size': (240, 320),
            'depth_context': 0},
        'paper': {'name': 'paper', 'backbone': 'vgg16', 'backbone_weights': 'imagenet', 'freeze_backbone': False,
            'stages': 5, 'width': 128, 'stage1_kernel': 3, 'stage1_blocks': 3, 'later_kernel': 7, 'later_blocks': 5,
            'head_width': 512, 'upsample_width': 16, 'upsample_blocks': 1, 'input_size': (480, 640),
            'depth_context': 0},
        'quick': {'name': 'quick', 'backbone': 'lite0_s8', 'backbone_weights': 'imagenet', 'freeze_backbone': True,
            'stages': 2, 'width': 32, 'stage1_kernel': 3, 'stage1_blocks': 1, 'later_kernel': 3, 'later_blocks': 2,
            'head_width': 64, 'upsample_width': 8, 'upsample_blocks': 1, 'input_size': (96, 128), 'depth_context':
            0},
    },
    'instances': {
        'cpu': {'name': 'cpu', 'hidden_channels': 32, 'gate_kernel': 3, 'context_channels': (32, 32),
            'context_dropout': 0.25, 'refine_channels': (32, 16), 'leaky_slope': 0.01, 'canvas_feedback': False},
        'gpu': {'name': 'gpu', 'hidden_channels': 263, 'gate_kernel': 3, 'context_channels': (263, 263, 263),
            'context_dropout': 0.25, 'refine_channels': (64, 32), 'leaky_slope': 0.01, 'canvas_feedback': False},
        'paper': {'name': 'paper', 'hidden_channels': 263, 'gate_kernel': 3, 'context_channels': (263, 263, 263),
            'context_dropout': 0.25, 'refine_channels': (128, 64), 'leaky_slope': 0.01, 'canvas_feedback': False},
        'quick': {'name': 'quick', 'hidden_channels': 16, 'gate_kernel': 3, 'context_channels': (16,),
            'context_dropout': 0.25, 'refine_channels': (16, 8), 'leaky_slope': 0.01, 'canvas_feedback': False},
    },
    'onepass': {
        'cpu': {'name': 'cpu', 'width': 64, 'dilations': (1, 2, 4, 8), 'refine_channels': (32, 16),
            'centre_sigma_px': 8.0, 'centre_threshold': 0.3, 'centre_nms': 3},
        'gpu': {'name': 'gpu', 'width': 128, 'dilations': (1, 2, 4, 8), 'refine_channels': (64, 32),
            'centre_sigma_px': 8.0, 'centre_threshold': 0.3, 'centre_nms': 3},
        'quick': {'name': 'quick', 'width': 16, 'dilations': (1, 2, 4), 'refine_channels': (16, 8),
            'centre_sigma_px': 4.0, 'centre_threshold': 0.3, 'centre_nms': 3},
    },
    'run': {
        'cpu': {'steps': 3000, 'batch_size': 8, 'n_scenes': 24000, 'ckpt_every': 100, 'workers': 1, 'log_every':
            10},
        'cpu_ft': {'steps': 2000, 'batch_size': 8, 'n_scenes': 16000, 'ckpt_every': 100, 'workers': 1, 'log_every':
            10},
        'gpu': {'steps': 20000, 'batch_size': 32, 'n_scenes': 640000, 'ckpt_every': 500, 'workers': 14, 'log_every':
            50},
        'paper': {'steps': 37500, 'batch_size': 8, 'n_scenes': 10000, 'ckpt_every': 500, 'workers': 4, 'log_every':
            50},
        'quick': {'steps': 60, 'batch_size': 4, 'n_scenes': 480, 'ckpt_every': 20, 'workers': 0, 'log_every': 5},
    },
}
# "cpu_ft" is "cpu" with the backbone fine-tuned
PINNED["localization"]["cpu_ft"] = {**PINNED["localization"]["cpu"], "name": "cpu_ft", "freeze_backbone": False}


def test_every_preset_resolves_to_its_pinned_settings():
    resolved = {kind: {name: asdict(module.get_config(name)) for name in sorted(module.CONFIGS)}
                for kind, module in (("localization", localization), ("instances", instances),
                                     ("onepass", onepass))}
    resolved["run"] = {name: dict(values) for name, values in sorted(RUN_DEFAULTS.items())}
    for kind in PINNED:
        assert resolved[kind] == PINNED[kind], kind
    assert set(resolved) == set(PINNED)
