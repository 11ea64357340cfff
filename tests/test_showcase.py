"""Scenes chosen by a stated rule (robotpose_lib/showcase.py): errors known by construction."""
import matplotlib
import numpy as np
import pytest

from robotpose_lib.eval.pose3d import counted_joints
from robotpose_lib.showcase import MISSING_PX, median_index, pipeline_from_targets, scene_errors, ChosenScene
from robotpose_lib.synth import generate, params_for
from robotpose_lib.types import RobotPose

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def scenes():
    params = params_for("panda_primitive", min_robots=2, max_robots=3, theta_vr=1.0)
    return [s for s in generate("panda_primitive", 5, range(6), 96, 128, params) if counted_joints(s).any()]


def _truth(s, shift=(0.0, 0.0)) -> list[RobotPose]:
    J = s.joints_2d.shape[1]
    return [RobotPose(joints_2d=(uv + np.asarray(shift)).astype(np.float32), joints_3d=xyz, joint_scores=np.ones(J),
                      mask=None, score=1.0) for uv, xyz in zip(s.joints_2d, s.joints_3d)]


def test_the_truth_scores_zero_and_a_shift_scores_its_length(scenes):
    assert np.allclose(scene_errors([_truth(s) for s in scenes], scenes), 0.0)
    # every joint 3-4-5 pixels off: 5 px, whatever the order of the predicted robots
    shifted = [_truth(s, (3.0, 4.0))[::-1] for s in scenes]
    assert np.allclose(scene_errors(shifted, scenes), 5.0, atol=1e-4)


def test_a_missed_robot_or_joint_counts_as_the_match_radius(scenes):
    s = scenes[0]
    valid = counted_joints(s)
    poses = _truth(s)
    # drop robot 0: its counted joints count MISSING_PX each
    expected = MISSING_PX * valid[0].sum() / valid.sum()
    assert scene_errors([poses[1:]], [s])[0] == pytest.approx(expected)
    # a joint not found (NaN) counts the same as a missed joint
    j = int(np.flatnonzero(valid[0])[0])
    poses[0].joints_2d[j] = np.nan
    assert scene_errors([poses], [s])[0] == pytest.approx(MISSING_PX / valid.sum())
    # nothing predicted: every joint is a miss
    assert scene_errors([[]], [s])[0] == pytest.approx(MISSING_PX)
    with pytest.raises(ValueError, match="predictions"):
        scene_errors([[]], scenes[:2])


def test_median_index_takes_the_middle_not_the_best():
    assert median_index([5.0, 1.0, 3.0]) == 2
    assert median_index([4.0, 1.0, 3.0, 2.0]) == 3  # lower middle of 1, 2, 3, 4
    assert median_index([np.nan, 2.0, 7.0, 1.0]) == 1
    assert median_index([2.0, 2.0, 2.0]) == 1
    with pytest.raises(ValueError, match="finite"):
        median_index([np.nan])


def test_pipeline_figure_from_targets_and_with_missing_joints(scenes):
    from robotpose_lib.viz.pipeline import plot_pipeline

    s = scenes[0]
    chosen = ChosenScene(s, 0, np.zeros(1), [0], _truth(s))
    kwargs = pipeline_from_targets(chosen)
    assert kwargs["beliefs"].shape[1:] == s.image.shape[:2] and kwargs["masks"].shape[0] == s.num_robots
    predicted = kwargs["joints_3d"].copy()
    predicted[0, 0] = np.nan  # a joint not found is left out of the 3D panel, not drawn at NaN
    fig = plot_pipeline(**{**kwargs, "joints_3d": predicted}, true_joints_3d=s.joints_3d, instance_model="one-pass")
    assert "one-pass" in " ".join(t.get_text() for t in fig.texts)
    with pytest.raises(ValueError, match="instance_model"):
        plot_pipeline(**kwargs, instance_model="convgru")
