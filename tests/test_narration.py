"""Sentences and Markdown tables written from measured figures (robotpose_lib.narration):
inputs built so that the right sentence is known."""
import numpy as np
import pytest

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

    return close_pair_scenes("panda_primitive", 1, size=(120, 160))[0]


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
    assert "2 robots predicted for 2" in right and "Every true robot has its own chain" in right
    # the poses' 3D joints are the truth's: 0 cm off in 3D, said beside the 2D match
    assert "in the image; in 3D the chains' joints lie 0 to 0 cm from their true positions" in right
    shifted = _pose_of(s, 1)
    shifted.joints_3d[:, 2] += 1.0   # one chain a metre too far
    assert "lie 0 to 100 cm from their true positions" in narration.describe_chains(s, [_pose_of(s, 0), shifted])
    # one chain with the first joints of robot 0 and the rest of robot 1: a mixed chain
    J = s.joints_2d.shape[1]
    mixed_uv = np.concatenate([s.joints_2d[0, : J // 2], s.joints_2d[1, J // 2:]])
    wrong = narration.describe_chains(s, [_pose_of(s, 0, mixed_uv)])
    assert "1 robot predicted for 2" in wrong and "So this prediction is wrong" in wrong
    assert "1 chain takes its joints from more than one robot" in wrong
    assert "although every true robot has a matching chain" not in wrong   # one of the two is unmatched
    # both robots matched, one chain mixing them: wrong, and the matching's looseness is said
    both = narration.describe_chains(s, [_pose_of(s, 0, mixed_uv), _pose_of(s, 1)], 1000.0)
    assert "So this prediction is wrong, although every true robot has a matching chain" in both


def test_describe_wrong_robot_covers_every_column():
    masked = {"robots": 4, "robots recovered": 4, "joints found": 0.47, "mean 3D [cm]": 20.0,
              "median 3D [cm]": 15.0, "joints on the other robot": 0.278}
    plain = dict(masked, **{"robots recovered": 3, "joints found": 0.29, "joints on the other robot": 0.273})
    text = narration.describe_wrong_robot([masked, plain], images=3)
    assert "4 of the 4 robots" in text and "47%" in text and "29%" in text
    assert "recover more robots" in text and "do not reduce the share" in text
    assert "caps them at 3 robots and half the joints" in text and "sign test" not in text
    lower = [dict(masked, **{"joints on the other robot": 0.1}), plain]
    # fewer in 2 scenes, more in 1: far from significant, and said so
    per_scene = [((10, 0), (10, 3)), ((10, 0), (10, 2)), ((10, 2), (10, 0))]
    text = narration.describe_wrong_robot(lower, images=3, per_scene=per_scene)
    assert "is lower: 10.0% against 27.3% without" in text
    assert "fewer joints on the other robot in 2 scenes and more in 1 (the rest tie); a sign test puts chance at " \
        "p = 1, so on these scenes that difference is not beyond chance" in text
    clear = [((10, 0), (10, 3))] * 8
    assert text.endswith("at the usual 5%.") and "beyond chance" not in \
        narration.describe_wrong_robot(lower, images=3, per_scene=clear)
    worse = narration.describe_wrong_robot([dict(masked, **{"joints on the other robot": 0.4}), plain], images=3)
    assert "take more joints from the other robot" in worse


def test_other_robot_joints_counts_joints_taken_from_the_other_robot():
    from types import SimpleNamespace

    from robotpose_lib.eval.pose3d import counted_joints, other_robot_joints

    s = _two_robot_scene()
    valid = counted_joints(s)
    assert other_robot_joints([_pose_of(s, 0), _pose_of(s, 1)], s) == (int(valid.sum()), 0)
    J = s.joints_2d.shape[1]
    mixed_uv = np.concatenate([s.joints_2d[0, : J // 2], s.joints_2d[1, J // 2:]])
    found, foreign = other_robot_joints([_pose_of(s, 0, mixed_uv)], s)
    assert 0 < foreign < found
    # a chain's own robot is where most of its joints lie, not where a matching puts it: a
    # second chain on robot 0 (robot 1 left without one) takes no joint from robot 1
    assert other_robot_joints([_pose_of(s, 0), _pose_of(s, 0)], s) == (2 * int(valid[0].sum()), 0)
    with pytest.raises(ValueError, match="two-robot scene"):
        other_robot_joints([], SimpleNamespace(num_robots=1))


def test_describe_coverage_splits_the_misses():
    from types import SimpleNamespace

    # 2 robots of 3 joints: robot 0 matched (one joint without a peak), robot 1 unmatched
    counted = np.array([[True, True, True], [True, True, False]])
    errors = np.array([[1.0, 2.0, np.nan], [np.nan, np.nan, np.nan]])
    report = SimpleNamespace(counted=counted, matched={"nms": np.array([True, False])},
                             errors_cm={"nms": errors}, misses=lambda m: 3)
    text = narration.describe_coverage(report, "nms", 0.1, 40.0)
    assert "describe 2 of the 5 counted joints (40%)" in text
    assert "1 of the 2 true robots are matched" in text
    assert "Of the 3 missed joints, 2 belong to the 1 unmatched robots" in text
    assert "within 40 px" in text and "The other 1 belong to matched robots" in text and "above 0.1" in text


def test_coinciding_chains_and_camera_ranges():
    from types import SimpleNamespace

    a = SimpleNamespace(joints_2d=np.array([[0.0, 0.0], [10.0, 10.0]]))
    b = SimpleNamespace(joints_2d=np.array([[1.0, 0.0], [np.nan, np.nan]]))
    far = SimpleNamespace(joints_2d=np.array([[50.0, 0.0], [60.0, 10.0]]))
    assert narration.coinciding_chains([a, b, far]) == [
        "the orange chain lies on the blue one (drawn over it)"]
    assert narration.coinciding_chains([a, far]) == []
    q = SimpleNamespace(r_min=1.5, r_max=3.0, fov_y_deg=(40.0, 65.0))
    assert narration.camera_ranges(q) == ("camera 1.5-3 m from the scene, vertical field "
                                          "of view 40-65 deg")


def test_beats_baseline_names_the_figures_above_the_baseline():
    base = {"auc": 0.5, "pck@10": 0.6, "add_auc": 0.3}
    assert narration.beats_baseline({"auc": 0.6, "pck@10": 0.7, "add_auc": 0.1}, base) == (
        "beats the baseline on keypoint AUC and PCK@10")
    assert narration.beats_baseline({"auc": 0.1, "pck@10": 0.1, "add_auc": 0.1}, base) == (
        "beats the baseline on none of keypoint AUC, PCK@10 or ADD AUC")


def test_real_metrics_table_formats_errors_and_shares():
    figures = {key: 0.25 for key, _ in narration.REAL_ROWS}
    figures["median_px"] = 12.34
    table = narration.real_metrics_table({"model": {"all": figures}}, {"ours": ("model", "all")})
    lines = table.splitlines()
    assert lines[0] == "| | ours |" and lines[1] == "|---|---:|"
    assert "| keypoint AUC (0-20 px) | 0.250 |" in lines and "| median pixel error [px] | 12.3 |" in lines


def test_twin_step_fixed_joints_and_covered_share():
    from robotpose_lib import twin
    from robotpose_lib.eval.real import fixed_joints
    from robotpose_lib.structures import covered_share

    # AUC falls 0.1 from twin to pasted and 0.3 from pasted to photo: the photo step
    step, change = twin.larger_step({"twin": 0.8, "pasted": 0.7, "photo": 0.4}, "down")
    assert step == twin.VARIANT_STEPS["photo"] and abs(change + 0.3) < 1e-12
    assert twin.larger_step({"twin": 5.0, "pasted": 9.0, "photo": 10.0}, "up")[0] == twin.VARIANT_STEPS["pasted"]
    # 7 keypoints at 0.5 on average, 5 moving ones at 0.4: the 2 fixed ones at 0.75
    r = {"all": {"keypoints": 7, "auc": 0.5}, "moving": {"keypoints": 5, "auc": 0.4}}
    assert abs(fixed_joints(r, "auc") - 0.75) < 1e-12
    masks = np.zeros((2, 4, 5), bool)
    masks[0, 0, :] = masks[1, 0, :2] = True  # overlapping masks count once
    assert covered_share(masks) == 0.25 and covered_share(np.zeros((0, 4, 5))) == 0.0


def test_instance_training_budgets_sum_the_parts_of_each_record():
    import json

    from robotpose_lib.checkpoint import models_dir
    from robotpose_lib.narration import instance_training_budgets

    text = instance_training_budgets(["panda_primitive", "kuka_kr16"])
    for robot in ("panda_primitive", "kuka_kr16"):
        for task in ("onepass", "instances"):
            lineage = json.loads((models_dir() / f"{robot}_{task}_cpu" / "lineage.json").read_text())
            assert f"{sum(p['steps'] for p in lineage['parts']):,} steps" in text or \
                f"{sum(p['steps'] for p in lineage['parts']):,} on the" in text
    assert text.count("for the one-pass model;") == 2 and text.count("for the recurrent one.") == 2
    assert instance_training_budgets(["panda_primitive"], folder="/nonexistent") == ""


def test_describe_localization_says_what_a_missed_joint_is_and_where_most_are():
    from types import SimpleNamespace

    from robotpose_lib.narration import describe_localization

    joints = [{"joint": "base", "50%": 5.0, "n": 10, "missed": 1},
              {"joint": "elbow", "50%": 8.0, "n": 10, "missed": 6},
              {"joint": "hand", "50%": 12.0, "n": 10, "missed": 2},
              {"joint": "all", "50%": 8.0, "n": 30, "missed": 9}]
    depth = {"near": {"mean": 20.0, "50%": 15.0, "n": 5}, "far": {"mean": None, "50%": None, "n": 0}}
    base = {"near": {"mean": 40.0}, "far": {"mean": None}}
    report = SimpleNamespace(methods=["nms"], joint_table=lambda m: joints, depth_table=lambda: depth,
                             depth_baseline_table=lambda: base)
    text = describe_localization(report)
    assert "9 of the 30 joints in the frame (30%), most often elbow (6 of 10)" in text
    joints[-1]["missed"] = 0
    assert "missed" not in describe_localization(report)


def test_scene_presets_sentence_reads_every_preset_and_rejects_none():
    from robotpose_lib.narration import describe_scene_presets
    from robotpose_lib.synth import SCENE_PRESETS, SynthParams

    text = describe_scene_presets(SCENE_PRESETS, SynthParams().r_min)
    for name, p in SCENE_PRESETS.items():
        assert f"`{name}` from {p['r_min']:g} to {p['r_max']:g} m" in text
    assert "from 1.5 to 4 m" in describe_scene_presets({"x": dict(r_max=4.0, placement_radius=1.0)}, 1.5)
    with pytest.raises(ValueError):
        describe_scene_presets({}, 2.5)
