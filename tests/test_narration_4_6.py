"""Chapters 4-6's sentences, tables and figure helpers (robotpose_lib.narration,
robotpose_lib.book, eval.pose3d, eval.testset, viz): inputs built so that the right
answer is known."""
import numpy as np
import pytest

from robotpose_lib import narration
from robotpose_lib.eval import pose3d


# ------------------------------------------------------------------ chapter 4
def _scene(robots=2, seed=1):
    from robotpose_lib.eval.testset import camera_scene

    return camera_scene("panda", seed, robots, 1.5, 50.0, size=(120, 160))


def _truth(sample, r, shift_px=0.0, shift_m=0.0):
    from robotpose_lib.types import RobotPose

    uv = sample.joints_2d[r].astype(np.float32) + np.float32(shift_px)
    xyz = sample.joints_3d[r].astype(np.float32) + np.float32(shift_m)
    J = uv.shape[0]
    return RobotPose(joints_2d=uv, joints_3d=xyz, joint_scores=np.ones(J, np.float32),
                     mask=sample.masks[r].astype(np.float32), score=0.5)


def test_camera_scene_places_the_camera_and_every_robot():
    s = _scene(robots=2)
    assert s.num_robots == 2 and s.size == (120, 160)
    # vertical field of view from K: 2 atan(h / 2 fy)
    fov = np.degrees(2 * np.arctan(s.size[0] / 2 / s.K[1, 1]))
    assert fov == pytest.approx(50.0, abs=0.5)
    with pytest.raises(ValueError, match="robots"):
        _scene(robots=0)


def test_decoding_errors_of_the_truth_are_zero_and_a_lost_joint_is_a_miss():
    s = _scene(robots=2)
    exact = [_truth(s, r) for r in range(2)]
    lost = [_truth(s, r) for r in range(2)]
    counted = pose3d.counted_joints(s)
    j = int(np.flatnonzero(counted[0])[0])
    lost[0].joints_2d[j] = np.nan
    lost[0].joints_3d[j] = np.nan
    rows = pose3d.decoding_errors({"nms": exact, "log": lost}, s)
    assert [r["peaks"] for r in rows] == ["NMS", "LoG"]
    assert rows[0]["mean 3D [cm]"] == pytest.approx(0, abs=1e-4) and rows[0]["joints missed"] == 0
    assert rows[1]["joints missed"] == 1 and rows[0]["joints counted"] == int(counted.sum())
    with pytest.raises(ValueError, match="one per robot"):
        pose3d.decoding_errors({"nms": exact[:1]}, s)


def test_describe_perfect_decoding_says_lossless_only_below_a_centimetre():
    rows = [{"peaks": "NMS", "mean 3D [cm]": 0.0, "max 3D [cm]": 0.0},
            {"peaks": "LoG", "mean 3D [cm]": 0.02, "max 3D [cm]": 0.18}]
    text = narration.describe_perfect_decoding(rows)
    assert "0.00 cm with NMS and 0.02 cm with LoG (largest: 0.2 cm)" in text
    assert text.endswith("nearly lossless here (one scene: a check, not a measurement).")
    worse = [dict(r, **{"mean 3D [cm]": 2.5}) for r in rows]
    assert "loses a measurable amount" in narration.describe_perfect_decoding(worse)
    with pytest.raises(ValueError):
        narration.describe_perfect_decoding(rows[:1])


def _report(errors_nms, errors_log, predicted=(2, 2), matched=(True, True)):
    counted = np.ones((len(errors_nms), len(errors_nms[0])), bool)
    return pose3d.Report3D(robot="panda", num_images=1,
                           errors_cm={"nms": np.array(errors_nms, float), "log": np.array(errors_log, float)},
                           counted=counted, true_depth_m=np.full(counted.shape, 2.0),
                           matched={"nms": np.array(matched), "log": np.array(matched)},
                           predicted={"nms": predicted[0], "log": predicted[1]})


def test_describe_predicted_counts_names_the_robots_with_too_many_chains():
    fine = _report([[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [3.0, 4.0]])
    over = _report([[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [3.0, 4.0]], predicted=(5, 3))
    text = narration.describe_predicted_counts({"panda": fine, "kuka_kr16": over},
                                               {"panda": 2, "kuka_kr16": 3},
                                               {"panda": 0.5, "kuka_kr16": 0.7}, 40.0)
    assert "panda 2 for 2 true robots (`Predictor` itself keeps 2)" in text
    assert "kuka_kr16 5 for 2 true robots" in text
    assert "For kuka_kr16 the instance model emits more robots" in text and "IoU 0.7" in text
    alone = narration.describe_predicted_counts({"panda": fine}, {"panda": 2}, {"panda": 0.5}, 40.0)
    assert "On these renders the instance model emits in total no more robots than the images hold" in alone
    assert "per scene" in alone
    assert "drops chains" not in alone                                    # nothing dropped, no word of it
    # fewer robots emitted than true ones, yet Predictor keeps fewer still: the drop is explained
    under = _report([[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [3.0, 4.0]], predicted=(2, 2))
    text = narration.describe_predicted_counts({"panda": under}, {"panda": 1}, {"panda": 0.5}, 40.0)
    assert "(`Predictor` itself keeps 1)" in text and "drops chains without a found joint" in text
    assert "emits in total no more robots" in text
    assert narration.describe_predicted_counts({}, {}, {}, 40.0) == ""


def test_compare_peak_finders_3d_names_the_more_precise_one_only_beyond_chance():
    report = _report([[10.0] * 8] * 2, [[5.0] * 8, [5.0] * 7 + [np.nan]])
    text = narration.compare_peak_finders_3d("panda", report, quick=True)
    assert "10.0 cm with NMS and 5.0 cm with LoG, 0 and 1 joints missed" in text
    # LoG closer on all 15 joints both found: p = 2 * 0.5**15
    assert "On the 15 joints both found, LoG is the closer for 100% of those where the two differ" in text
    assert "p = 6.1e-05). LoG is more precise here, in 3D through the predicted masks" in text
    assert text.endswith("a handful of scenes.")
    # 3 of 4 joints closer with NMS: a split chance gives often
    mixed = _report([[1.0, 1.0, 1.0, 9.0]], [[2.0, 2.0, 2.0, 1.0]])
    assert pose3d.paired_closer(mixed, "nms", "log") == (4, 0.75, pytest.approx(0.625))
    text = narration.compare_peak_finders_3d("panda", mixed)
    assert "NMS is the closer for 75%" in text
    assert "not beyond chance at p < 0.05, so these scenes do not rank NMS and LoG" in text
    # two robots compared: p = 6.1e-05 still ranks them; a p between 2.5% and 5% would not
    both = narration.compare_peak_finders_3d("panda", report, tests=2)
    assert "LoG is more precise here" in both
    from unittest import mock
    with mock.patch("robotpose_lib.eval.pose3d.paired_closer", return_value=(781, 0.54, 0.045)):
        edge = narration.compare_peak_finders_3d("kuka_kr16", report, tests=2)
    assert "not beyond chance at p < 0.025 (5% shared over the 2 robots compared, so that" in edge
    even = _report([[1.0, 3.0]], [[2.0, 1.0]])
    assert "each is the closer for half of those where the two differ" in narration.compare_peak_finders_3d("p", even)
    same = _report([[1.0, 2.0]], [[1.0, 2.0]])
    assert "On the 2 joints both found they put the same peaks." in narration.compare_peak_finders_3d("panda", same)
    none = _report([[np.nan, np.nan]], [[1.0, 1.0]])
    assert narration.compare_peak_finders_3d("panda", none) == ""


def test_most_differing_scene_and_its_sentence():
    # ((found, foreign) with masks, (found, foreign) without)
    per_scene = [((10, 1), (8, 1)), ((12, 0), (7, 4)), ((9, 2), (9, 0))]
    assert pose3d.most_differing_scene(per_scene) == 1
    text = narration.describe_shown_pair(per_scene, 1, [])
    assert text.startswith("Of the 3 scenes, the one shown differs most in joints on the other robot")
    assert "with the masks 0 of the 12 found joints" in text and "without them 4 of 7." in text
    same = [((10, 1), (8, 1)), ((12, 0), (7, 0))]
    pick = pose3d.most_differing_scene(same)
    assert pick == 1  # the tie in foreign joints is broken by joints found
    assert narration.describe_shown_pair(same, pick, ["the orange chain lies on the blue one"]).startswith(
        "In none of the 2 scenes")   # no scene differs: no sign test
    with pytest.raises(ValueError):
        pose3d.most_differing_scene([])


def _table_ii(device="cpu (2 cores)", nms_ms=12.6, log_ms=89.0, whole_ms=183.0):
    rows = [("belief prediction (240x320 net input)", 48.0, 10.95), ("belief prediction (480x640 net input)", 335.0,
                                                                      10.95),
            ("instance initial state (per image)", 3.6, float("nan")), ("instance mask (per robot)", 8.8, 17.75),
            ("joint localization NMS", nms_ms, 0.41), ("joint localization LoG", log_ms, 310.0),
            ("whole prediction (3 robots, nms)", whole_ms, float("nan"))]
    return {"device": device, "repeats": 3, "warmup": 2, "scene_robots": 3, "found": 3,
            "rows": [{"step": k, "mean_ms": m, "std_ms": 1.0, "paper_mean_ms": p, "paper_std_ms": 0.1}
                     for k, m, p in rows],
            "baselines": [{"step": "NMS", "ours_ms": nms_ms, "baseline": "scipy", "baseline_ms": 60.0,
                           "speedup": 60.0 / nms_ms, "same_peaks": True}]}


def test_table_ii_sentences_follow_the_measured_rows():
    first, second = narration.describe_table_ii(_table_ii())
    assert "48 ms at the network's own input size and 335 ms at 480x640" in first
    assert "(31 times faster there)" in first and "within the one-second target" in first
    assert "31 times longer: ours scans every joint's full 480x640 map" in second
    assert "Our LoG takes 89 ms against the paper's 310 ms (a CPU implementation), faster" in second
    slow = narration.describe_table_ii(_table_ii(log_ms=400.0, whole_ms=1500.0))
    assert "over the one-second target" in slow[0] and "slower." in slow[1]
    # the whole prediction runs the network at its own size: faster than the 480x640 row, said why
    assert first.endswith("so it can take less than the 335 ms of the 480x640 row.")
    assert "480x640 row." not in slow[0]
    gpu = narration.describe_table_ii(_table_ii(device="cuda", nms_ms=0.2))
    assert "on this GPU. It runs the network at its own input size" in gpu[0]
    assert "0.41 ms, 2.0 times faster. " in gpu[1]
    table = narration.table_ii_markdown(_table_ii(), "panda")
    assert table.startswith("On cpu (2 cores); each step's mean") and "| NMS | 12.6 | scipy |" in table
    conditions = narration.table_ii_conditions(_table_ii(), joints=7)
    assert "belief maps of 7 joints" in conditions and "default thread count" not in conditions


def test_scene_title_and_the_explored_scenes_sentence():
    matched = _report([[4.0, 6.0], [np.nan, np.nan]], [[4.0, 6.0], [np.nan, np.nan]], matched=(True, False))
    assert narration.scene_title([None, None, None], 2, matched, "nms") == "3 predicted / 2 true; mean 3D error 5.0 cm"
    lost = _report([[np.nan, np.nan]], [[np.nan, np.nan]], matched=(False,))
    assert narration.scene_title([], 1, lost, "nms").endswith("no joint matched to the truth")
    from robotpose_lib.synth import params_for

    shown = [((1, 2, 1.5, 50.0), 1, 2), ((2, 2, 1.8, 50.0), 0, 2)]  # 1 of 4 matched
    worse = narration.describe_explored_scenes(shown, 9, 10, "nms", 40.0, params_for("panda"),
                                               ("sim2real", params_for("panda", "sim2real")))
    assert "match 1 of the 4 true robots to a chain within 40 px (25%)" in worse
    assert "went worse than the test set" in worse and "(1 of 10 robots unmatched)" in worse
    assert "camera set at 1.5, 1.8 m and a 50 deg field of view" in worse
    assert "was trained last on the *sim2real* recipe" in worse and "1.8 m lies at its edge" in worse
    typical = narration.describe_explored_scenes(shown, 3, 10, "nms", 40.0, params_for("panda"))
    assert "agree with the test set's rate within chance" in typical and "last training phase" not in typical
    # 1 of 4 against 3 of 10: two standard errors of 4 robots at 30% are 46 points
    assert "On 4 robots chance alone moves such a share by about 46 percentage points either way" in typical
    # 3 of 4 against 3 of 10 is within that: typical, not "went better"
    close = narration.describe_explored_scenes([((1, 2, 1.5, 50.0), 2, 2), ((2, 2, 1.8, 50.0), 1, 2)], 3, 10,
                                               "nms", 40.0, params_for("panda"))
    assert "within chance" in close and "went better" not in close
    # 8 of 8 against 3 of 10 is not: said so, and not "typical"
    better = narration.describe_explored_scenes([((1, 4, 1.5, 50.0), 4, 4), ((2, 4, 1.8, 50.0), 4, 4)], 3, 10,
                                                "nms", 40.0, params_for("panda"))
    assert "went better than the test set, where 7 of 10 robots go unmatched" in better
    assert "within chance" not in better
    with pytest.raises(ValueError):
        narration.describe_explored_scenes([], 1, 1, "nms", 40.0, params_for("panda"))


def test_plot_prediction_is_readable_at_page_width():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from robotpose_lib import viz

    s = _scene(robots=2)
    fig = viz.tidy_3d(viz.plot_prediction(s, [_truth(s, 0), _truth(s, 1, shift_px=3)], "a title"))
    ax3 = next(ax for ax in fig.axes if hasattr(ax, "zaxis"))
    assert ax3.get_legend() is None  # the legend stands beside the 3D axes, not on them
    legend = next(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)
    assert [t.get_text() for t in legend.get_texts()] == ["robot 0 (0.50)", "truth of robot 0", "robot 1 (0.50)",
                                                          "truth of robot 1"]
    # the two true chains are drawn differently: each in a dark shade of its robot's colour
    dashed = [line for line in ax3.lines if line.get_label().startswith("truth")]
    assert len(dashed) == 2 and not np.allclose(dashed[0].get_color(), dashed[1].get_color())
    assert min(t.get_fontsize() for t in legend.get_texts()) >= 9
    fig.canvas.draw()
    for axis in (ax3.xaxis, ax3.yaxis, ax3.zaxis):
        low, high = sorted(axis.get_view_interval())
        shown = [t for t in axis.get_ticklabels() if t.get_text() and low <= t.get_position()[0] <= high]
        assert len(shown) <= 4 and all(t.get_fontsize() >= 9 for t in shown)
    assert fig._suptitle.get_text() == "a title"
    plt.close(fig)
    # one prediction for two robots: the unmatched true chain is grey in its own dash pattern
    styles = viz.truth_styles(s, [_truth(s, 1)])
    assert [label for _, _, label in styles] == ["truth, unmatched", "truth of robot 0"]
    assert styles[0][1] != styles[1][1] and styles[0][0] != styles[1][0]


# ------------------------------------------------------------------ chapter 5
def _real(auc, found=0.5, px=10.0, depth=10.0, pck10=0.3, add=0.1, n=105, moving_auc=None, m=75):
    group = {"auc": auc, "found": found, "median_px": px, "median_depth_cm": depth, "median_3d_cm": 12.0,
             "pck@10": pck10, "add_auc": add, "keypoints": n}
    moving = dict(group, auc=auc if moving_auc is None else moving_auc, keypoints=m)
    return {"all": group, "moving": moving}


def test_photos_or_absent_keeps_no_dangling_reference():
    assert narration.photos_or_absent("see {numref}`fig-x`", True) == "see {numref}`fig-x`"
    assert "numref" not in narration.photos_or_absent("see {numref}`fig-x`", False)


def _cost(parts):
    from robotpose_lib.cards import TrainingCost

    return TrainingCost("m", None, [dict(run=f"part{i + 1}", batch_size=8, samples_per_s=1.0, **p)
                                    for i, p in enumerate(parts)])


def _study():
    runs = [{"label": "paper recipe only (parts 1-2, before sim2real)", "step": 1000, "scenes": 8000,
             "hours": float("nan"), "config": "cpu", "recipe": "paper", **_real(0.0)},
            {"label": "frozen backbone, sim2real, 0.5 h", "step": 500, "scenes": 4000, "hours": 0.5,
             "config": "cpu", "recipe": "sim2real", **_real(0.2)},
            {"label": "frozen backbone, sim2real, 1 h", "step": 1200, "scenes": 9600, "hours": 1.0,
             "config": "cpu", "recipe": "sim2real", **_real(0.1)},
            {"label": "fine-tuned backbone, sim2real, 0.5 h", "step": 250, "scenes": 2000, "hours": 0.5,
             "config": "cpu_ft", "recipe": "sim2real", **_real(0.05, found=0.1)}]
    runs[2]["label"] += " (shipped)"
    return {"photos": 15, "runs": runs}


def test_sim2real_runs_count_from_the_start_of_training():
    from robotpose_lib.cards import sim2real_runs

    cost = _cost([{"steps": 1000, "hours": 0.6}, {"steps": 1000, "hours": 0.4}, {"steps": 1200, "hours": 1.0}])
    runs, before = sim2real_runs(_study(), cost)
    assert before == {"steps": 2000, "scenes": 16000, "hours": 1.0}
    assert [r["total_steps"] for r in runs] == [2000, 2500, 3200, 2250]
    assert [r["total_scenes"] for r in runs] == [16000, 20000, 25600, 18000]
    assert runs[0]["label"] == "paper recipe only, before sim2real" and "part" not in runs[0]["label"]
    assert np.isnan(runs[0]["hours"]) and runs[1]["hours"] == 0.5  # sim2real hours unchanged
    assert _study()["runs"][0]["label"].startswith("paper recipe only (parts")  # the study is not changed
    counting = narration.sim2real_counting(before)
    assert "model after 2,000 steps (16,000 scenes) on the paper's recipe" in counting
    assert "part" not in counting
    # the first run is not the weights the lineage's earlier parts end with: counts stay
    runs, before = sim2real_runs(_study(), _cost([{"steps": 700, "hours": 0.3}, {"steps": 900, "hours": 1.0}]))
    assert before is None and [r["total_steps"] for r in runs] == [1000, 500, 1200, 250]
    assert "within each row's own training run" in narration.sim2real_counting(None)


def test_describe_real_study_reads_baseline_trend_and_backbones():
    runs = _study()["runs"]
    text = narration.describe_real_study(runs, {"auc": 0.4})
    assert "reaches a keypoint AUC of 0.20 against the mean-pose baseline's 0.40: 50% of it" in text
    assert "not monotonically: it peaked at 0.20 after 0.5 h." in text
    # the last checkpoint below an earlier one on a few photos: said, not read as training that hurt
    assert "below that checkpoint on these photos; each checkpoint was measured once on the same few photos" in text
    assert "fine-tuning the backbone reached an all-joint keypoint AUC of 0.050" in text
    assert "the frozen backbone's faster steps were worth more" in text
    assert "in which the fine-tuned run made 250 steps and the frozen one 500" in text
    assert "too small to rank" not in text
    # AUCs near zero rank nothing: the keypoints found decide, either way
    tiny = [dict(r) for r in runs]
    tiny[1] = {**tiny[1], "all": {**tiny[1]["all"], "auc": 0.0, "found": 0.05}}
    tiny[3] = {**tiny[3], "all": {**tiny[3]["all"], "auc": 0.01, "found": 0.6}}
    text = narration.describe_real_study(tiny)
    assert ("too small to rank the two. That floor, set by hand, is on the AUCs' level, not on their gap: an AUC "
            "that low comes from a few keypoints within 20 px. Neither run puts its keypoints near the arm yet") in text
    assert "The fine-tuned run found more keypoints" in text and "2.0 times the steps" in text
    assert "run found only 5% of them" in text
    assert "paid for" not in text and "worth more" not in text  # no winner from AUCs near zero
    runs[2]["all"]["auc"] = 0.5
    text = narration.describe_real_study(runs, {"auc": 0.4})
    assert "it beats the baseline." in text and "rising at every checkpoint" in text
    assert narration.describe_real_study(runs).startswith(
        "On all seven joints the best checkpoint, *frozen backbone, sim2real, 1 h (shipped)*, reaches a keypoint "
        "AUC of 0.50.")


def _diagnosis(label, step, far, slope, joints=50.0, oracle=30.0):
    return {"label": label, "step": step, "n_scenes": 40,
            "table1_model": {"near": {"mean_cm": far / 2}, "far": {"mean_cm": far}},
            "table1_floor_lowres_targets": {"all": {"mean_cm": 3.0}, "far": {"mean_cm": 4.0}},
            "median_true_baseline": {"far": {"mean_cm": 100.0}},
            "joint_fit": {"slope": slope, "r2": 0.9},
            "joint_read_at_pixel": {"all": {"mean_cm": joints}, "far": {"mean_cm": far + 5.0}},
            "joint_after_oracle_robot_scale": {"all": {"mean_cm": oracle}}}


def test_depth_study_rows_count_steps_from_the_start_and_read_as_sentences():
    from robotpose_lib.cards import depth_study_rows

    cost = _cost([{"steps": 1000, "hours": 1.0}, {"steps": 2000, "hours": 1.0}, {"steps": 3000, "hours": 1.0}])
    rows = depth_study_rows([_diagnosis("part 2 (inverse code)", 2000, 95.0, 0.7),
                             _diagnosis("part 9 (unknown)", 10, 90.0, 0.95),
                             _diagnosis("the weights (log code; shipped)", 3000, 50.0, 0.95, oracle=20.0)],
                            cost)
    assert [r["checkpoint"] for r in rows] == ["step 3,000 (inverse code)", "part 9 (unknown)",
                                              "step 6,000 (log code; shipped)"]
    assert [r["step"] for r in rows] == [3000, 10, 6000]
    # what each was trained with, as data (chapter 6 names the shipped row by it)
    assert [r["trained with"] for r in rows] == ["inverse code", "unknown", "log code"]
    text = narration.describe_depth_study(rows)
    # the far floor (4.0 cm), not all joints' (3.0)
    assert "far error is 12 to 24 times the targets' far floor" in text
    # the baseline is per joint: the model's far joints (far + 5 cm here), not its discs
    assert "at the far joints its error is 0.55 to 1.00 times the median-depth baseline's at the same joints" in text
    assert "the shipped checkpoint, *step 6,000 (log code; shipped)*, is better than predicting" in text
    assert ("; it lies below 0.9 for *step 3,000 (inverse code)*, whose predictions are squeezed towards the middle "
            "of the range (the rows also differ in training length") in text
    assert "from 50.0 to 20.0 cm: more than half of the error was each robot's distance" in text
    assert "is not the row with the lowest far error" not in text  # the shipped row is the lowest here
    late = depth_study_rows([_diagnosis("part 2 (a)", 2000, 40.0, 0.95),
                             _diagnosis("the weights (b; shipped)", 3000, 50.0, 0.95)], cost)
    assert ("The shipped checkpoint is not the row with the lowest far error: *step 3,000 (a)* errs by "
            in narration.describe_depth_study(late))
    same = depth_study_rows([_diagnosis("part 1 (a)", 1000, 120.0, 0.5)], cost)
    # one checkpoint (chapter 6 reads the shipped one alone) is named, not counted
    alone = narration.describe_depth_study(same)
    assert alone.startswith("The far error of the checkpoint, *step 1,000 (a)*, is ") and "checkpoints" not in alone
    assert "(no better than predicting one depth for every far joint)." in alone
    assert "it squeezes its predictions" in alone
    both = narration.describe_depth_study(same + same)
    assert "(no better than predicting one depth for every far joint, in every checkpoint)" in both
    assert both.startswith("Across the 2 checkpoints") and "every checkpoint squeezes" in both
    assert narration.depth_next_step(rows).startswith("in the depth study above, knowing each robot's distance "
                                                      "removes 60% of the joint depth error of *step 6,000")
    assert "predict each robot's distance better" in narration.depth_next_step(rows)
    assert "larger network" in narration.depth_next_step(same)  # 30 of 50 cm left: 40% removed
    assert narration.depth_next_step([]).startswith("diagnose the shipped checkpoint")
    with pytest.raises(ValueError):
        narration.describe_depth_study([])


def _model(mask_ap, counting, n=100, **extra):
    return {"mask_ap": mask_ap, "counting_accuracy": counting, "n": n, "stale": "", **extra}


def test_describe_onepass_comparison_puts_the_budgets_beside_the_per_robot_verdicts():
    figures = [{"robot": "panda", "centre_threshold": 0.25, "centre_nms": 7,
                "models": {"onepass": _model(0.48, 0.86, robot_free_n=40, robot_free_hard=0.65),
                           "convgru": _model(0.08, 0.35, n=60, robot_free_n=40, robot_free_hard=0.42)}},
               {"robot": "kuka_kr16", "centre_threshold": None,
                "models": {"onepass": _model(0.05, 0.2), "convgru": _model(0.09, 0.21)}}]
    recipes = {("panda", "onepass"): narration.trained_on([("paper", 5200), ("clutter", 3000)]),
               ("panda", "convgru"): narration.trained_on([("paper", 2000)])}
    text = narration.describe_onepass_comparison(figures, recipes, "BUDGETS.")
    paragraphs = text.split("\n\n")
    # with a budgets paragraph the recipes are said there, not again in each comparison
    assert paragraphs[0].startswith("*panda*: the one-pass model's mask AP is 0.480")
    alone = narration.describe_onepass_comparison(figures, recipes).split("\n\n")
    # without one, how each was trained stands in the comparison's own sentence
    assert alone[0].startswith("*panda* (the one-pass model trained on two recipes, 5,200 steps of `paper` then "
                                    "3,000 of `clutter`, the recurrent one on the `paper` recipe): the one-pass "
                                    "model's mask AP is 0.480 against the recurrent model's 0.080")
    assert "it scores higher on both, with another training budget and data (below)." in paragraphs[0]
    assert paragraphs[1].startswith("*kuka_kr16*: the one-pass")
    assert "different numbers of scenes (100 and 60)" in paragraphs[0]
    assert "lower on both, with another" in paragraphs[1] and paragraphs[2] == "BUDGETS."
    assert "it scores lower on both." in narration.describe_onepass_comparison(figures[1:], recipes)
    assert "share of the 40 robot-free test scenes" in text
    assert ("* 65%: panda, one-pass, trained on two recipes, 5,200 steps of `paper` then 3,000 of `clutter`;\n"
            "* 42%: panda, recurrent (ConvGRU), trained on the `paper` recipe.") in text
    assert "panda centre threshold 0.25, NMS window 7x7" in text and "kuka_kr16 centre" not in text


def test_instance_training_budgets_give_steps_scenes_and_hours_of_both_models():
    from robotpose_lib.cards import training_cost

    text = narration.instance_training_budgets(["kuka_kr16"])
    for name in ("kuka_kr16_onepass_cpu", "kuka_kr16_instances_cpu"):
        cost = training_cost(name)
        assert f"{cost.steps:,} steps, {cost.scenes:,} scenes and {cost.hours:.1f} h" in text
    assert text.startswith("The two models were not trained alike")
    assert narration.trained_on(training_cost("kuka_kr16_onepass_cpu").recipe_steps()) in text


def test_trained_on_names_every_recipe_in_order():
    assert narration.trained_on([("clutter", 3000)]) == "on the `clutter` recipe"
    # several: each recipe's own steps, readable after the total ("trained 8,200 steps ...")
    assert narration.trained_on([("paper", 5200), ("clutter", 3000)]) == \
        "on two recipes, 5,200 steps of `paper` then 3,000 of `clutter`"
    assert narration.trained_on([(None, 100)]) == "on an unrecorded recipe"
    assert narration.trained_on([("paper", 10), (None, 5)]) == \
        "on two recipes, 10 steps of `paper` then 5 of an unrecorded one"
    with pytest.raises(ValueError):
        narration.trained_on([])


def test_recipe_steps_merge_consecutive_parts_of_one_recipe():
    from robotpose_lib.cards import TrainingCost

    cost = TrainingCost(name="x", record=None, parts=[
        {"steps": 100, "recipe": "paper"}, {"steps": 50, "recipe": "paper"}, {"steps": 30, "recipe": "clutter"},
        {"steps": 20, "recipe": "paper"}])
    assert cost.recipe_steps() == [("paper", 150), ("clutter", 30), ("paper", 20)]


def test_describe_instance_runtimes_and_train_bench():
    rows = [{"robots": 1, "convgru_forced_ms": 16.0, "onepass_forced_ms": 14.0, "onepass_ms": 14.0},
            {"robots": 6, "convgru_forced_ms": 50.0, "onepass_forced_ms": 15.0, "onepass_ms": 15.3}]
    text = narration.describe_instance_runtimes({"panda": rows}, ("panda", "kuka_kr16"))
    assert "from 16 to 50 ms (3.1 times), the one-pass model's from 14.0 to 15.0 ms (1.07 times)" in text
    assert text.startswith("From 1 to 6 robots, with both models forced") and "\n* *panda*: the recurrent" in text
    rows_apart = [dict(r, onepass_ms=r["onepass_forced_ms"] * 1.024) for r in rows]  # 2.4% apart: not "2%"
    assert "within 3% of each other" in narration.describe_instance_runtimes({"panda": rows_apart}, ("panda",))
    assert "within 2% of each other" in text and text.endswith("No one-pass study with runtime figures for kuka_kr16, "
                                                               "so no curve for it here.")
    bench = [{"variant": v, "samples_per_s": s, "speedup": s / 40.0, "input": (96, 128), "batch": 4, "device": "cpu",
              "threads": 1} for v, s in (("fp32 eager", 40.0), ("+ channels_last", 46.0),
                                         ("+ bfloat16 (not native)", 46.0), ("shipped", 80.0))]
    text = narration.describe_train_bench(bench, "quick", quick=True)
    assert text.startswith("`quick` configuration, batch 4, input 96x128, on cpu with 1 torch thread:")
    assert "trains 2.0 times as many samples per second" in text and "not taken" in text
    assert text.endswith("the better guide.")


def test_open_problems_group_near_and_far_under_one_bullet():
    from robotpose_lib.scorecard import NOT_YET, PARTLY, REPRODUCED, ScoreRow

    rows = [ScoreRow("Depth error, near [0, 5) m, Table I", "5.81 cm", "39.6 cm", NOT_YET, "2"),
            ScoreRow("Depth error, far [5, 10] m, Table I", "9.50 cm", "58.1 cm", NOT_YET, "2"),
            ScoreRow("Trained on renders only, works on real photographs, §IV-B", "no number", "AUC 0.08",
                     PARTLY, "5"),
            ScoreRow("Joints near the base", "Fig. 6", "holds", REPRODUCED, "2")]
    text = narration.open_problems(rows, {"Depth error": "predict the distance", "Joints near the base": "x"})
    bullets = text.splitlines()
    assert len(bullets) == 2
    assert bullets[0] == ("* **Depth error, Table I**. Near [0, 5) m (not yet): paper 5.81 cm; ours 39.6 cm. "
                          "Far [5, 10] m (not yet): paper 9.50 cm; ours 58.1 cm. Next: predict the distance.")
    assert bullets[1].endswith("Ours: AUC 0.08, on all seven joints. Next: see chapter 5.")
    assert narration.open_problems(rows[3:], {}) == "Every scored claim is reproduced by the shipped models."
    # the list is chapter 6's: a sentence naming chapter 6 points here, others stay named
    pointed = [ScoreRow("Count", "1", "see chapter 6's table and chapter 5", NOT_YET, "3")]
    assert "see this chapter's table and chapter 5" in narration.open_problems(pointed, {})


def test_the_shown_pair_says_when_it_goes_against_the_table():
    # ((found, on the other robot) with masks, (found, on the other robot) without) per scene
    per_scene = [((10, 0), (10, 5)), ((10, 0), (10, 5)), ((11, 7), (7, 0))]
    text = narration.describe_shown_pair(per_scene, 2, [])
    assert "In this scene the masks do worse than decoding without them, against the table" in text
    assert "over all 3 scenes 23% of the joints found with masks lie on the other robot and 37% without" in text
    assert "against the table" not in narration.describe_shown_pair(per_scene, 0, [])
    # chains drawn over each other: the legend's pairing is said not to touch the count
    text = narration.describe_shown_pair(per_scene, 0, ["chains 1 and 2 lie on one robot"])
    assert "With the masks chains 1 and 2 lie on one robot: two masks lead to the same joints" in text
    assert "the count above is not affected" in text


def test_the_shown_scene_says_whether_it_is_a_success():
    from types import SimpleNamespace

    counted = np.array([[True, True, True], [True, True, False]])
    poor = SimpleNamespace(counted=counted, matched={"nms": np.array([True, True])},
                           errors_cm={"nms": np.array([[40.0, 50.0, np.nan], [np.nan, 45.0, np.nan]])})
    text = narration.describe_shown_outcome(poor)
    assert text.startswith("On this scene 2 of the 2 true robots get a chain") and "3 of their 5 joints" in text
    assert "45 cm from their true 3D positions on average: the median scene is not a success" in text
    good = SimpleNamespace(counted=counted, matched={"nms": np.array([True, True])},
                           errors_cm={"nms": np.array([[4.0, 5.0, 6.0], [3.0, 5.0, np.nan]])})
    assert ": a success." in narration.describe_shown_outcome(good)


def test_depth_study_sets_the_shipped_row_beside_the_card():
    row = {"scenes": 40, "near mean": 30.18, "far mean": 55.04}
    card = {"n": 100, "table_i_cm": {"near": {"mean": 39.64}, "far": {"mean": 58.14}}}
    text = narration.depth_study_against_card(row, card)
    assert "On the study's 40 scenes the shipped checkpoint errs by 30.2 / 55.0 cm" in text
    assert "on all 100 of the card by 39.6 / 58.1 cm" in text
    assert narration.depth_study_against_card(row, {"n": 100}) == ""


def test_pipeline_in_use_names_the_instance_model_and_the_cameras():
    from types import SimpleNamespace

    dream = SimpleNamespace(lineage={"recipe": "dream"})
    text = narration.pipeline_in_use("panda", "one-pass", dream)
    assert "last trained on the `dream` recipe of chapter 5 (camera 0.4-1.8 m" in text and \
        "where the test set has camera 0.5-3 m" in text
    assert "The one-pass model is ours, not the paper's" in text and "section 4.5 times the recurrent model" in text
    assert "the rule above picks it" in text  # by default the robot ships both
    assert text.endswith("Table II does. Chapter 7 lists every phase of the localization network's training.")
    named = narration.pipeline_in_use("panda", "one-pass", dream, robot_words="the mesh Panda")
    assert named.startswith("**What runs from here on.** The `panda` pipeline of `Predictor` (the mesh Panda): its "
                            "localization network and its one-pass instance model. The localization network is")
    only = narration.pipeline_in_use("panda", "one-pass", dream, ships_both=False)
    assert "it is the only instance model shipped for `panda`" in only and "the rule above" not in only
    plain = narration.pipeline_in_use("kuka_kr16", "recurrent", SimpleNamespace(lineage={"recipe": "paper"}))
    assert plain.endswith("last trained on the `paper` recipe. Chapter 7 lists "
                          "every phase of the localization network's training.")
    assert "its localization network and its recurrent instance model." in plain
    assert "ours, not the paper's" not in narration.pipeline_in_use("kuka_kr16", "recurrent")
