"""The fixed synthetic test set: every synthetic evaluation draws its scenes from here.

Scenes are rendered from :data:`TEST_SEED` (never a training seed: training uses
``--data-seed``, 0 by default, small integers in practice) with the *test* split of the
background photos (no photo is shared with training), at the size the model was trained
at. :func:`close_pair_scenes` are two-robot scenes from their own seed
:data:`CLOSE_PAIR_SEED` (chapter 4's wrong-robot experiment).

:func:`filmed_validation` is the synthetic validation set of models meant for photographs
(one robot filmed as people film arms, :data:`FILMED_SEED`), measured like real photos.

Besides the test set, other fixed sets of scenes: :func:`validation_dataset`, the
training distribution from :data:`VALIDATION_SEED`, on which decoding thresholds are
chosen (never on the test set), with :func:`robot_free_validation_scenes` its robot-free
counterpart (:data:`ROBOT_FREE_VALIDATION_SEED`); and :func:`robot_free_scenes`, test
scenes with no robot placed (:data:`ROBOT_FREE_SEED`), in which a model should find nothing.
"""
from __future__ import annotations

import numpy as np

from ..backgrounds import BackgroundPool
from ..data import SyntheticDataset
from ..real_panda import RealPhoto
from ..robots import get_robot
from ..synth import RECIPES, generate_one, params_for, sample_scene
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
# The filmed validation set (filmed_validation): one robot filmed as people film arms.
FILMED_SEED = 20_000 + 2019


def test_params(robot: str, recipe: str = "paper"):
    """Synthesis parameters of the test set: the robot's defaults under the synthesis
    ``recipe`` (``synth.RECIPES``; "paper", the standard test set, by default) with the
    *test* split of the background photos (no photo is shared with training).

    Raises:
        ValueError: an unknown recipe name."""
    return params_for(robot, recipe, background=BackgroundPool(split="test"))


def test_dataset(robot: str, n: int, size: tuple[int, int], seed: int = TEST_SEED, recipe: str = "paper"):
    """The fixed synthetic test set: ``n`` scenes of (H, W) = ``size`` from ``seed``.
    ``recipe`` other than "paper" gives a test set of that recipe's conditions (for example
    "paper_readme", Table I's ablation) on the same test photos and seed."""
    if seed == 0:
        raise ValueError("seed: 0 is the default training seed; a test set needs its own seed")
    return SyntheticDataset(robot, n, size=tuple(size), seed=seed, params=test_params(robot, recipe))


def robot_count_shares(robot: str, n: int = 2000, seed: int = 1, recipe: str = "paper") -> np.ndarray:
    """The share of scenes with 0, 1, 2, ... robots that the test set's parameters draw
    (``synth.sample_scene``, no rendering: the robots placed and made visible), over ``n``
    scenes of ``seed``: what a test set of any seed holds on average. Shape (max_robots + 1,)."""
    params = test_params(robot, recipe)
    counts = [int(sample_scene(robot, params, seed, i, 1, 1).visible.sum()) for i in range(n)]
    return np.bincount(counts, minlength=params.max_robots + 1) / n


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


def filmed_validation(robot: str = "panda", n: int = 200, size: tuple[int, int] = (240, 320),
                      seed: int = FILMED_SEED) -> list[RealPhoto]:
    """The synthetic validation set for choosing models that must work on photographs:
    ``n`` scenes of the "filmed" recipe (``synth.RECIPES``: one robot filmed as people film
    arms, occluders, objects in the hand) on the *test* photos, as
    :class:`~robotpose_lib.real_panda.RealPhoto` records, so that ``eval/real`` measures
    them exactly as it measures real photographs. A scene whose robot left the frame
    entirely is skipped (the set can be a few short of ``n``).

    Written from a description of how arms are filmed, never from the dev photos: choices
    of recipe, architecture and checkpoint are made here; the dev photos only report.
    """
    if seed in (0, TEST_SEED, VALIDATION_SEED):
        raise ValueError(f"seed: {seed} is a training, test or validation seed; the filmed set needs its own")
    params = params_for(robot, "filmed", background=BackgroundPool(split="test", photo_probability=1.0))
    data = SyntheticDataset(robot, n, size=tuple(size), seed=seed, params=params)
    photos = []
    for first in range(0, n, 8):
        for sample in data.batch(range(first, min(first + 8, n))):
            if len(sample.masks) != 1:
                continue
            photos.append(RealPhoto(name=f"filmed_{sample.meta['index']}", image=sample.image,
                                    K=sample.K.astype(np.float64),
                                    T_cam_base=(sample.camera_pose @ sample.base_poses[0]).astype(np.float64),
                                    joint_angles=sample.joint_angles[0].astype(np.float64),
                                    joints_3d=sample.joints_3d[0].astype(np.float64),
                                    joints_2d=sample.joints_2d[0].astype(np.float64)))
    return photos


def camera_scene(robot: str, seed: int, robots: int, distance: float, fov_deg: float,
                 size: tuple[int, int] = (240, 320)):
    """One scene of ``robots`` robots filmed from exactly ``distance`` metres with a vertical
    field of view of ``fov_deg`` degrees, every placed robot rendered (``theta_vr`` 1;
    chapter 4's explore panel).
    The rest follows the test set (``test_params``: the paper recipe on the *test* split of
    the background photos); scene index 0 of ``seed``. Raises ValueError for fewer than one
    robot."""
    if robots < 1:
        raise ValueError(f"robots: expected at least 1, got {robots}")
    params = test_params(robot).replace(min_robots=robots, max_robots=robots, theta_vr=1.0, r_min=distance,
                                        r_max=distance, fov_y_deg=(fov_deg, fov_deg))
    return generate_one(robot, seed=seed, index=0, height=size[0], width=size[1], params=params)
