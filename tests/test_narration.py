"""Sentences and Markdown tables written from measured figures (robotpose_lib.narration):
inputs built so that the right sentence is known."""
import numpy as np

from robotpose_lib import narration


def test_markdown_table_aligns_numbers_and_shows_nan_as_a_dash():
    rows = [{"name": "a|b", "n": 1200, "x": 0.5}, {"name": "c", "n": 3, "x": float("nan")}]
    table = narration.markdown_table(rows, formats={"n": ",d", "x": ".2f"}, headers={"x": "value"})
    lines = table.splitlines()
    assert lines[0] == "| name | n | value |" and lines[1] == "|---|---:|---:|"
    assert lines[2] == "| a\\|b | 1,200 | 0.50 |" and lines[3] == "| c | 3 | — |"
    assert narration.markdown_table([]) == ""


def test_the_missing_photos_note_names_the_real_download_and_setting():
    from robotpose_lib import real_panda

    text = narration.real_photos_absent("the figure")
    assert "the figure cannot be shown" in text
    assert real_panda.ENV_VAR in text and "download_panda_episode" in text
    assert callable(real_panda.download_panda_episode)


def _two_robot_scene():
    from robotpose_lib.eval.testset import close_pair_scenes

    return close_pair_scenes("panda", 1, size=(120, 160))[0]


def _pose_of(sample, r, joints_2d=None):
    from robotpose_lib.types import RobotPose

    from robotpose_lib.eval.pose3d import counted_joints

    uv = (sample.joints_2d[r] if joints_2d is None else joints_2d).copy()
    uv[~counted_joints(sample)[r]] = np.nan  # a predictor finds no joint outside the frame
    J = uv.shape[0]
    return RobotPose(joints_2d=uv.astype(np.float32), joints_3d=sample.joints_3d[r].astype(np.float32),
                     joint_scores=np.ones(J, np.float32), mask=sample.masks[r].astype(np.float32), score=0.9)


def test_describe_chains_reads_a_right_and_a_mixed_prediction():
    s = _two_robot_scene()
    right = narration.describe_chains(s, [_pose_of(s, 0), _pose_of(s, 1)])
    assert "2 robot(s) predicted for 2" in right and "Every true robot has its own chain" in right
    # one chain with the first joints of robot 0 and the rest of robot 1: a mixed chain
    J = s.joints_2d.shape[1]
    mixed_uv = np.concatenate([s.joints_2d[0, : J // 2], s.joints_2d[1, J // 2:]])
    wrong = narration.describe_chains(s, [_pose_of(s, 0, mixed_uv)])
    assert "1 robot(s) predicted for 2" in wrong and "So this prediction is wrong" in wrong
    assert "take their joints from more than one robot" in wrong


def test_describe_wrong_robot_covers_every_column():
    masked = {"robots": 4, "robots recovered": 4, "joints found": 0.47, "mean 3D [cm]": 20.0,
              "median 3D [cm]": 15.0, "joints on the other robot": 0.278}
    plain = dict(masked, **{"robots recovered": 3, "joints found": 0.29, "joints on the other robot": 0.273})
    text = narration.describe_wrong_robot([masked, plain], images=3)
    assert "4 of the 4 robots" in text and "47%" in text and "29%" in text
    assert "recover more robots" in text and "do not reduce the share" in text
    worse = narration.describe_wrong_robot([dict(masked, **{"joints on the other robot": 0.4}), plain], images=3)
    assert "take more joints from the other robot" in worse
