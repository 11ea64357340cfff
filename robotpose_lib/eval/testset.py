"""The fixed synthetic test set: every synthetic evaluation draws its scenes from here.

Scenes are rendered from :data:`TEST_SEED` (never a training seed: training uses
``--data-seed``, 0 by default, small integers in practice) with the *test* split of the
background photos (no photo is shared with training), at the size the model was trained
at. :func:`close_pair_scenes` are two-robot scenes from their own seed
:data:`CLOSE_PAIR_SEED` (chapter 4's wrong-robot experiment).

Besides the test set, other fixed sets of scenes: :func:`validation_dataset`, the
training distribution from :data:`VALIDATION_SEED`, on which decoding thresholds are
chosen (never on the test set), with :func:`robot_free_validation_scenes` its robot-free
counterpart (:data:`ROBOT_FREE_VALIDATION_SEED`); and :func:`robot_free_scenes`, test
scenes with no robot placed (:data:`ROBOT_FREE_SEED`), in which a model should find nothing.
"""
from __future__ import annotations

from ..backgrounds import BackgroundPool
from ..data import SyntheticDataset
from ..robots import get_robot
from ..synth import RECIPES, generate_one, params_for
from ..types import Sample

# The test set's seed: 10,000 + the paper's year. Training runs use --data-seed (0 by
# default, small integers in practice), so test scenes are never trained on.
TEST_SEED = 10_000 + 2019
CLOSE_PAIR_SEED = TEST_SEED + 1  # the two-robot scenes of close_pair_scenes
# Validation scenes (thresholds calibrated per checkpoint): neither a training seed (small
# integers) nor the test seed.
VALIDATION_SEED = 31_337
# Robot-free scenes (as measured for the Predictor in the project's history: seed 777).
ROBOT_FREE_SEED = 777
# Robot-free scenes of the training distribution, on which decoding is calibrated
# (robot_free_validation_scenes): never the test's robot-free seed.
ROBOT_FREE_VALIDATION_SEED = VALIDATION_SEED + 1


def test_params(robot: str):
    """Synthesis parameters of the test set: the robot's defaults with the *test* split of
    the background photos (no photo is shared with training)."""
    return params_for(robot, background=BackgroundPool(split="test"))


def test_dataset(robot: str, n: int, size: tuple[int, int], seed: int = TEST_SEED):
    """The fixed synthetic test set: ``n`` scenes of (H, W) = ``size`` from ``seed``."""
    if seed == 0:
        raise ValueError("seed: 0 is the default training seed; a test set needs its own seed")
    return SyntheticDataset(robot, n, size=tuple(size), seed=seed, params=test_params(robot))


def validation_dataset(robot: str, n: int, size: tuple[int, int], seed: int = VALIDATION_SEED,
                       recipe: str = "paper"):
    """``n`` scenes of the *training* distribution (synthesis ``recipe``, training photos)
    from ``seed``, at (H, W) = ``size``: where thresholds are chosen, never the test set."""
    if seed in (0, TEST_SEED):
        raise ValueError(f"seed: {seed} is a training or the test seed; validation needs its own")
    return SyntheticDataset(robot, n, size=tuple(size), seed=seed, params=params_for(robot, recipe))


def robot_free_scenes(robot: str, n: int, size: tuple[int, int], seed: int = ROBOT_FREE_SEED,
                      hard_negatives: bool = False) -> list[Sample]:
    """``n`` synthetic scenes without any robot (the test set's parameters and photos, no
    robot placed), at (H, W) = ``size``: a model should find nothing in them.

    ``hard_negatives=True`` adds what the recipe ``clutter`` adds (``synth.RECIPES``):
    distractor objects (spheres, capsules, cylinders, boxes) and collage patches, here cut
    from the *test* photos, so a model that takes any object for a robot fails them."""
    params = test_params(robot)
    if hard_negatives:
        params = params.replace(**RECIPES["clutter"])
    return _without_robots(robot, n, size, seed, params)


def _without_robots(robot: str, n: int, size: tuple[int, int], seed: int, params) -> list[Sample]:
    """``n`` scenes of synthesis ``params`` with no robot placed."""
    data = SyntheticDataset(robot, n, size=tuple(size), seed=seed, params=params.replace(min_robots=0, max_robots=0))
    return [data[i] for i in range(n)]


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


def robot_free_validation_scenes(robot: str, n: int, size: tuple[int, int], seed: int = ROBOT_FREE_VALIDATION_SEED,
                                 recipe: str = "paper") -> list[Sample]:
    """``n`` robot-free scenes of the *training* distribution (``recipe``, training photos)
    at (H, W) = ``size``: where a decoding rule learns how often it must find nothing,
    never :func:`robot_free_scenes` (the test's)."""
    if seed in (0, TEST_SEED, ROBOT_FREE_SEED):
        raise ValueError(f"seed: {seed} is a training or a test seed; validation needs its own")
    return _without_robots(robot, n, size, seed, params_for(robot, recipe))
