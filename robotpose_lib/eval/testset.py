"""The fixed synthetic test set: every synthetic evaluation draws its scenes from here.

Scenes are rendered from :data:`TEST_SEED` (never a training seed: training uses
``--data-seed``, 0 by default, small integers in practice) with the *test* split of the
background photos (no photo is shared with training), at the size the model was trained
at. :func:`close_pair_scenes` are two-robot scenes from their own seed
:data:`CLOSE_PAIR_SEED` (chapter 4's wrong-robot experiment).
"""
from __future__ import annotations

from ..backgrounds import BackgroundPool
from ..data import SyntheticDataset
from ..robots import get_robot
from ..synth import generate_one, params_for
from ..types import Sample

# The test set's seed: 10,000 + the paper's year. Training runs use --data-seed (0 by
# default, small integers in practice), so test scenes are never trained on.
TEST_SEED = 10_000 + 2019
CLOSE_PAIR_SEED = TEST_SEED + 1  # the two-robot scenes of close_pair_scenes


def test_params(robot: str):
    """Synthesis parameters of the test set: the robot's defaults with the *test* split of
    the background photos (no photo is shared with training)."""
    return params_for(robot, background=BackgroundPool(split="test"))


def test_dataset(robot: str, n: int, size: tuple[int, int], seed: int = TEST_SEED):
    """The fixed synthetic test set: ``n`` scenes of (H, W) = ``size`` from ``seed``."""
    if seed == 0:
        raise ValueError("seed: 0 is the default training seed; a test set needs its own seed")
    return SyntheticDataset(robot, n, size=tuple(size), seed=seed, params=test_params(robot))


def close_pair_scenes(robot: str, n: int, size: tuple[int, int] = (240, 320), seed: int = CLOSE_PAIR_SEED,
                      spacing: float = 0.5, max_tries: int = 400) -> list[Sample]:
    """``n`` test scenes with exactly two visible robots whose bases stand within
    ``spacing`` x reach of the scene centre (so they are close and often overlap)."""
    reach = get_robot(robot).reach
    params = test_params(robot).replace(min_robots=2, max_robots=2, theta_vr=1.0, placement_radius=spacing * reach)
    out = []
    for index in range(max_tries):
        s = generate_one(robot, seed, index, *size, params=params)
        if s.num_robots == 2:
            out.append(s)
            if len(out) == n:
                break
    return out
