"""Chapter 5 on the mesh Panda and chapter 6's verdict (eval.real's photo rule and joint
outcomes, twin.ladder_predictions / ladder_outcomes, eval.panda_studies, presets'
differences, the sentences of narration, the figure helpers): inputs built so that the right
answer is known."""
import json

import numpy as np
import pytest

from robotpose_lib import narration
from robotpose_lib.eval import real as eval_real
from robotpose_lib.real_panda import RealPhoto


# ------------------------------------------------------------ photos chosen by a rule
def test_photo_median_errors_count_a_miss_as_infinitely_far():
    true = np.zeros((3, 3, 2))
    pred = true.copy()
    pred[0, :, 0] = [1.0, 2.0, 3.0]                    # median 2
    pred[1, 0] = np.nan                                # errors inf, 0, 0 -> median 0
    pred[1, 1:, 1] = 0.0
    pred[2, :2] = np.nan                               # two of three missed -> inf
    got = eval_real.photo_median_errors(pred, true)
    assert got[0] == pytest.approx(2.0) and got[1] == 0.0 and np.isinf(got[2])
    # a keypoint outside the image counts nowhere; a photo with none inside is NaN
    in_frame = np.array([[True, True, False], [True, True, True], [False, False, False]])
    got = eval_real.photo_median_errors(pred, true, in_frame)
    assert got[0] == pytest.approx(1.5) and np.isnan(got[2])
    with pytest.raises(ValueError, match="must both be"):
        eval_real.photo_median_errors(pred[:, :2], true)


def test_chosen_photos_best_median_worst_with_ties_in_order():
    assert eval_real.chosen_photos(np.array([5.0, np.inf, 1.0, 3.0, np.nan])) == \
        {"best": 2, "median": 3, "worst": 1}
    # ties keep the photos' order: the last of the tied photos is the worst
    assert eval_real.chosen_photos(np.array([np.inf, 2.0, np.inf]))["worst"] == 2
    assert eval_real.chosen_photos(np.array([4.0])) == {"best": 0, "median": 0, "worst": 0}
    with pytest.raises(ValueError, match="no photo"):
        eval_real.chosen_photos(np.array([np.nan]))


def test_chain_distance_to_the_polyline():
    chain = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]])
    points = np.array([[5.0, 3.0], [15.0, 0.0], [10.0, 5.0], [np.nan, 1.0]])
    got = eval_real.chain_distance(points, chain)
    assert got[:3] == pytest.approx([3.0, 5.0, 0.0]) and np.isnan(got[3])
    assert eval_real.chain_distance(np.array([[3.0, 4.0]]), chain[:1]) == pytest.approx([5.0])
    with pytest.raises(ValueError, match="finite"):
        eval_real.chain_distance(points, np.array([[0.0, np.nan]]))


def test_joint_outcomes_sort_every_kind_of_miss():
    true = np.array([[0.0, 0.0], [100.0, 0.0], [200.0, 0.0], [300.0, 0.0], [400.0, 0.0], [500.0, 0.0]])
    pred = np.array([[3.0, 0.0],        # right (3 px)
                     [200.0, 2.0],      # on joint 2: another joint
                     [250.0, 10.0],     # 10 px from the chain: on the arm
                     [300.0, 80.0],     # 80 px from the chain: off the arm
                     [np.nan, np.nan],  # missed
                     [0.0, 0.0]])       # its truth is outside the image
    in_frame = np.array([True] * 5 + [False])
    got = eval_real.joint_outcomes(pred, true, right_px=5.0, arm_px=20.0, in_frame=in_frame)
    assert got == ["right", "other joint", "on the arm", "off the arm", "missed", "outside the image"]
    with pytest.raises(ValueError, match="> 0"):
        eval_real.joint_outcomes(pred, true, 0.0, 20.0)


# ------------------------------------------------------------------ the twin ladder
def _photo(name="p0", joints_2d=None, z=(1.0, 0.5, 2.0)):
    joints_2d = np.array([[10.0, 10.0], [20.0, 10.0], [30.0, 10.0]]) if joints_2d is None else joints_2d
    joints_3d = np.column_stack([np.zeros((3, 2)), np.array(z)])
    return RealPhoto(name, np.zeros((40, 40, 3), np.uint8), np.eye(3), np.eye(4), np.zeros(7), joints_3d, joints_2d)


def test_ladder_outcomes_per_chosen_photo_and_rung():
    from robotpose_lib.twin import ladder_outcomes

    photos = [_photo("a"), _photo("b", z=(-1.0, 0.8, 0.9))]
    truth = photos[1].joints_2d
    predictions = {"mesh_twin": truth[None].copy(), "photo": np.full((1, 3, 2), np.nan)}
    got = ladder_outcomes(predictions, photos, {"worst": 1}, right_px=2.0, arm_px=3.0)
    assert got[0]["label"] == "worst" and got[0]["name"] == "b"
    assert got[0]["nearest_m"] == pytest.approx(0.8)     # the joint behind the camera does not count
    # the joint behind the camera is outside the image; the others right on the twin, missed on the photo
    assert got[0]["outcomes"]["mesh_twin"] == ["outside the image", "right", "right"]
    assert got[0]["outcomes"]["photo"] == ["outside the image", "missed", "missed"]
    with pytest.raises(ValueError, match="chosen photos"):
        ladder_outcomes(predictions, photos, {"best": 0, "worst": 1}, 2.0, 3.0)


def test_ladder_predictions_keep_the_best_robot_of_each_rung(monkeypatch):
    from robotpose_lib import twin
    from robotpose_lib.types import RobotPose

    def fake_images(photo, seed=0, robot="panda"):
        return {r: np.full((40, 40, 3), k + 10 * seed, np.uint8)
                for k, r in enumerate(("mesh_twin", "mesh_pasted", "photo"))}

    class Stub:
        num_joints = 3

        def __call__(self, image, K, method=None):
            level = float(image[0, 0, 0])      # which rung and seed this image is
            if level == 2:                     # the photo of seed 0: nothing found
                return []
            pose = lambda x, score: RobotPose(np.full((3, 2), x, np.float32), np.zeros((3, 3), np.float32),  # noqa: E731
                                              np.ones(3, np.float32), None, score)
            return [pose(-1.0, 0.1), pose(level, 0.9)]

    monkeypatch.setattr(twin, "ladder_images", fake_images)
    photos = [_photo("a"), _photo("b")]
    pred, images = twin.ladder_predictions(Stub(), photos, [0, 1])
    assert pred["mesh_twin"][:, 0, 0].tolist() == [0.0, 10.0]     # seed = the photo's index
    assert pred["mesh_pasted"][1, 0, 0] == 11.0 and np.isnan(pred["photo"][0]).all()
    assert len(images["photo"]) == 2 and images["photo"][1][0, 0, 0] == 12
    with pytest.raises(ValueError, match="outside"):
        twin.ladder_predictions(Stub(), photos, [2])


# ------------------------------------------------------------- studies and presets
def _study_row(name, auc, cpu_s=None):
    figures = {"all": {"auc": auc, "found": 0.5, "frames": 4}, "moving": {"auc": auc / 2, "found": 0.4}}
    return {"name": name, "cost": None if cpu_s is None else {"cpu_s": cpu_s, "wall_s": cpu_s},
            "filmed": {"model": figures, "baseline": figures}}


def test_study_rows_compare_each_row_with_its_own_control(tmp_path):
    from robotpose_lib.eval.panda_studies import load_studies, study_rows

    assert load_studies(tmp_path) == {}
    for name, rows in (("panda_backbones", [_study_row("start", 0.2), _study_row("frozen_lite0", 0.3, 600),
                                            _study_row("finetuned_lite0", 0.25, 1200)]),
                       ("panda_stride4", [_study_row("frozen_lite0", 0.5, 600),
                                          _study_row("frozen_lite0_s4", 0.1, 1800)])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "study.json").write_text(json.dumps({"steps": 800, "rows": rows}))
    rows = study_rows(load_studies(tmp_path))
    by = {(r["study"], r["name"]): r for r in rows}
    assert by[("backbone", "start")]["steps"] == 0 and np.isnan(by[("backbone", "start")]["cpu_min"])
    assert by[("backbone", "finetuned_lite0")]["vs_control"] == pytest.approx(-0.05)
    assert by[("backbone", "finetuned_lite0")]["cpu_min"] == pytest.approx(20.0)
    assert by[("stride", "frozen_lite0_s4")]["vs_control"] == pytest.approx(-0.4)   # not the other study's control
    text = narration.describe_backbone_studies(rows, shipped_steps=8000)
    assert "fine-tuned Lite0, stride 8: 0.250 (-0.050, 2.0 times the CPU time)" in text
    assert "frozen Lite0, stride 4: 0.100 (-0.400, 3.0 times the CPU time)" in text
    assert "no row beats the backbone as shipped." in text and "10% of the shipped model's 8,000 steps" in text
    # a row within 0.02 of its control, from one run each, is not ranked below it
    close = [dict(r, auc_all=0.289, vs_control=-0.011) if r["name"] == "finetuned_lite0" else r for r in rows]
    assert ("no row beats the backbone as shipped; the fine-tuned Lite0, stride 8 lies within 0.011 of its control, "
            "and from one run each a gap under 0.02 is not read as a ranking") in \
        narration.describe_backbone_studies(close)
    # a row that beats its control is named
    better = [dict(r, auc_all=0.9) if r["name"] == "frozen_lite0_s4" else r for r in rows]
    assert "the best is frozen Lite0, stride 4" in narration.describe_backbone_studies(better)
    (tmp_path / "panda_stride4" / "study.json").write_text("[1]")
    with pytest.raises(ValueError, match="JSON object"):
        load_studies(tmp_path)


def test_preset_differences_list_only_what_differs():
    from robotpose_lib.presets import PRESETS, preset_differences

    diff = {r["field"]: (r["cpu"], r["gpu"]) for r in preset_differences("cpu", "gpu", "localization")}
    assert diff["stages"] == (PRESETS["cpu"]["localization"]["stages"], PRESETS["gpu"]["localization"]["stages"])
    assert "backbone" not in diff and "input_size" not in diff       # both name lite0_s8 at 240x320
    assert preset_differences("cpu", "cpu", "run") == []
    # a field only one preset names: None for the other
    assert {"field": "backbone", "meaning": "the feature extractor and its stride", "paper": None,
            "cpu": "lite0_s8"} in preset_differences("paper", "cpu", "localization")
    # every field a chapter tabulates says what it sets
    for a, b in (("cpu", "gpu"), ("paper", "cpu")):
        for part in ("localization", "run"):
            assert all(r["meaning"] for r in preset_differences(a, b, part))
    with pytest.raises(ValueError, match="unknown"):
        preset_differences("cpu", "tpu", "run")
    with pytest.raises(ValueError, match="no 'onepass'"):
        preset_differences("cpu", "cpu_ft", "onepass")


# ------------------------------------------------------------------ sentences
def _figures(auc, found=1.0, px=5.0, depth=10.0, moving=None):
    one = {"pck@2.5": auc, "pck@5": auc, "pck@10": auc, "auc": auc, "found": found, "median_px": px,
           "median_depth_cm": depth, "median_3d_cm": depth, "add_auc": auc / 2, "keypoints": 7, "frames": 1}
    return {"all": one, "moving": dict(one, auc=auc if moving is None else moving, keypoints=5)}


def test_real_comparison_table_and_paragraph():
    model, base, other = _figures(0.1, found=0.5, px=180, depth=35), _figures(0.4, depth=9), _figures(0.1, moving=0.2)
    table = narration.real_comparison_table({"mesh": model, "mean pose": base},
                                            {"label": "DREAM", "auc": 0.7})
    assert table.splitlines()[-1].startswith("| DREAM | 0.700 | — |") and "| mesh | 0.100 |" in table
    text = narration.describe_mesh_real(model, base, {"auc": 0.7, "what": "their photos"}, other, "old model")
    assert "beats the baseline on none of" in text and "25% of the baseline's" in text
    assert "180 px" in text and "35 cm against the mean pose's 9 cm: the mean pose sits" in text
    assert "the same as that model's on all joints" in text and "below it on the moving ones" in text
    assert "7 times ours" in text
    # the other model finds more and its medians are lower: nothing to warn about
    assert "medians over the keypoints it finds are lower" not in text
    # lower medians from fewer keypoints found: said, with the warning that they pool different joints
    fewer = narration.describe_mesh_real(model, base, None, _figures(0.05, found=0.3, px=40, depth=50), "old model")
    assert ("That model's medians over the keypoints it finds are lower (median error of the keypoints found 40 "
            "against 180 px), but it finds 30% of the keypoints against 50%, so the medians pool different "
            "joints") in fewer
    worse = narration.describe_mesh_real(model, base, None, _figures(0.05, found=0.3, px=200, depth=50), "old model")
    assert "medians over the keypoints it finds" not in worse
    assert "does not yet see" not in narration.describe_mesh_real(_figures(0.5), base)


def _ladder(twin, pasted, photo, base, found=(0.5, 0.5, 0.5)):
    rows = zip(("mesh_twin", "mesh_pasted", "photo", "mean_pose"), (twin, pasted, photo, base), (*found, 1.0))
    return {k: {"all": {"auc": a, "found": f, "median_px": 3.0}, "moving": {"auc": a, "found": f}}
            for k, a, f in rows}


def test_describe_ladder_names_the_open_gaps():
    text = narration.describe_ladder(_ladder(0.34, 0.32, 0.08, 0.45, found=(0.46, 0.74, 0.5)))
    assert "below the mean pose's 0.45 already" in text
    assert "finds more keypoints (46% to 74%) but not more right ones" in text
    assert "The largest drop comes with the real arm's look" in text
    assert "All three gaps are open: the viewpoint and pose, the real background, and the real arm's look." in text
    # a drop on all joints that the moving joints do not show: the gap is named with where it is
    flat = _ladder(0.33, 0.35, 0.23, 0.45)
    for rung, auc in (("mesh_twin", 0.18), ("mesh_pasted", 0.22), ("photo", 0.21)):
        flat[rung]["moving"]["auc"] = auc
    text = narration.describe_ladder(flat)
    assert "nearly all of that drop is in the joints the episode does not move" in text
    assert "and the real arm's look (at the joints the episode does not move)." in text
    text = narration.describe_ladder(_ladder(0.8, 0.78, 0.76, 0.45))
    assert "No rung loses the arm" in text and "below the mean pose" not in text
    text = narration.describe_ladder(_ladder(0.8, 0.5, 0.48, 0.45))
    assert "One gap is open: the real background." in text and "costs 0.30 of AUC" in text
    # more keypoints over the real background and a higher AUC: no background gap (a reader caught this)
    text = narration.describe_ladder(_ladder(0.33, 0.35, 0.23, 0.45, found=(0.60, 0.73, 0.7)))
    # a rise within the ladder's 0.05 on a few photos is not read as a rise
    assert "changes little (AUC 0.33 to 0.35: no gap)" in text and "a threshold set by hand" in text
    assert "scores higher (AUC 0.33 to 0.42, keypoints found 60% to 73%)" in narration.describe_ladder(
        _ladder(0.33, 0.42, 0.23, 0.45, found=(0.60, 0.73, 0.7)))
    assert "not more right ones" not in text
    assert "Two gaps are open: the viewpoint and pose, and the real arm's look." in text
    assert "On the moving joints alone" not in text          # the moving joints drop as much (same AUCs)
    # the drop on all joints, hardly any on the moving ones: said beside the largest drop
    ladder = _ladder(0.33, 0.35, 0.23, 0.45)
    ladder["mesh_pasted"]["moving"]["auc"], ladder["photo"]["moving"]["auc"] = 0.22, 0.21
    assert ("The largest drop comes with the real arm's look: AUC 0.35 on the pasted twin to 0.23 on the photo. "
            "On the moving joints alone the same step goes from 0.22 to 0.21") in narration.describe_ladder(ladder)
    table = narration.ladder_table(_ladder(0.34, 0.32, 0.08, 0.45))
    assert table.count("\n") == 6 and "| the real background |" in table


def test_describe_ladder_reads_found_keypoints_that_lie_far_off():
    ladder = _ladder(0.33, 0.35, 0.23, 0.45, found=(0.60, 0.73, 0.70))
    assert "median error grows" not in narration.describe_ladder(ladder)  # 3 px on every rung
    ladder["mesh_pasted"]["all"]["median_px"], ladder["photo"]["all"]["median_px"] = 5.0, 81.0
    text = narration.describe_ladder(ladder)
    assert ("With the photo, 70% of the keypoints are found (against 73% on the rung before), but their median "
            "error grows from 5 to 81 px") in text
    assert "With the real background," not in text  # 3 to 5 px is no jump


def test_describe_ladder_photos_reads_the_causes_from_the_rungs():
    words = ("base", "shoulder", "hand")
    shown = [{"label": "median", "name": "f1", "nearest_m": 0.5,
              "outcomes": {"mesh_twin": ["right", "right", "missed"],
                           "mesh_pasted": ["right", "right", "off the arm"],
                           "photo": ["missed", "right", "off the arm"]}},
             {"label": "worst", "name": "f9", "nearest_m": 0.2,
              "outcomes": {"mesh_twin": ["missed"] * 3, "mesh_pasted": ["missed"] * 3,
                           "photo": ["missed"] * 3}}]
    text = narration.describe_ladder_photos(shown, words, nearest_median_m=0.5, right_px=10, arm_px=16)
    assert text.startswith("A joint counts as right within 10 px") and "within 16 px" in text
    assert "*Median photo* (f1). On the rendered twin it gets the base and shoulder right and misses the hand." in text
    # missed on the twin, off the arm on the pasted twin: moved, not lost, by the background
    assert ("the hand lands off the arm once the real background is there, where on the rendered twin it was "
            "missed, so the background moved it but did not cost it") in text
    assert "the base, right on the render, is lost on the real arm" in text
    assert "*Worst photo* (f9). On the rendered twin it finds no joint" in text
    assert "0.20 m from the camera, against a median of 0.50 m" in text


def test_describe_recipe_choice_names_both_arms():
    def arm(recipe, auc):
        return {"recipe": recipe, "steps": 4641, "figures": {"model": {"all": {"auc": auc},
                                                                       "moving": {"auc": auc / 2}}}}

    text = narration.describe_recipe_choice({"chosen": "B", "arms": {"A": arm("dream", 0.2), "B": arm("x", 0.3)}})
    assert "after the same 4,641 steps, it chose `x` (keypoint AUC all / moving 0.300 / 0.150)" in text
    assert "over `dream` (0.200 / 0.100)" in text and "that run, trained longer" not in text
    choice = {"chosen": "B", "arms": {"A": arm("dream", 0.2), "B": arm("x", 0.3)}}
    assert "; the shipped mesh Panda model is that run, trained longer. That is one run per recipe: the gap is larger" \
        in narration.describe_recipe_choice(choice, 4641)
    close = {"chosen": "B", "arms": {"A": arm("dream", 0.29), "B": arm("x", 0.3)}}
    assert "a gap under 0.02 between single runs is not read as a ranking" in narration.describe_recipe_choice(close)
    assert "continued the chosen run" not in narration.describe_recipe_choice(choice, 3000)
    choice["steps_budget"] = "the steps the first run made in 45 min"
    assert "after the same 4,641 steps (the steps the first run made in 45 min), it chose" in \
        narration.describe_recipe_choice(choice)


def test_onepass_verdict_puts_both_budgets_in_the_sentence():
    def model(acc, stale=""):
        return {"counting_accuracy": acc, "n": 100, "stale": stale}

    figures = [{"robot": "kuka_kr16", "models": {"onepass": model(0.82), "convgru": model(0.21, "step 5")}},
               {"robot": "panda", "models": {"onepass": model(0.9)}}]          # no recurrent: left out
    budget = {"steps": 2000, "scenes": 16000, "hours": 0.82, "trained_on": "on the `paper` recipe"}
    text = narration.onepass_verdict(figures, {"kuka_kr16": {"onepass": dict(budget, steps=8200), "convgru": budget}})
    row = next(line for line in text.splitlines() if line.startswith("| kuka_kr16 (100)"))
    assert "**82%**; 8,200 steps (16,000 scenes, 0.8 h) on the `paper` recipe" in row
    assert "**21%**; 2,000 steps" in row and "(the record: step 5)" in row and "panda" not in text
    assert "no record" in narration.onepass_verdict([], {})
    box = narration.verdict_box([], "6", without_claims=text)
    assert "82%" in box


def test_instance_budgets_read_the_shipped_records():
    from robotpose_lib.cards import training_cost

    budgets = narration.instance_budgets(["kuka_kr16", "no_such_robot"])
    assert list(budgets) == ["kuka_kr16"]
    assert budgets["kuka_kr16"]["onepass"]["steps"] == training_cost("kuka_kr16_onepass_cpu").steps
    # every recipe its parts trained on, not only the last part's
    steps = training_cost("kuka_kr16_onepass_cpu").recipe_steps()
    assert len(steps) >= 1 and sum(s for _, s in steps) == budgets["kuka_kr16"]["onepass"]["steps"]
    assert budgets["kuka_kr16"]["onepass"]["trained_on"] == narration.trained_on(steps)


def test_twin_cause_says_when_the_twin_is_below_the_mean_pose(tmp_path):
    from robotpose_lib import scorecard

    folder = tmp_path / scorecard.MESH_PANDA_MODEL
    folder.mkdir()
    (folder / "lineage.json").write_text(json.dumps({"name": folder.name, "task": "localization",
                                                     "robot": "panda", "recipe": "dream", "parts": [],
                                                     "continue": "-"}))
    figures = {k: {"all": {"auc": v}} for k, v in
               (("mesh_twin", 0.34), ("mesh_pasted", 0.32), ("photo", 0.08), ("mean_pose", 0.45))}
    (folder / "eval.json").write_text(json.dumps({"twin": {"title": "t", "command": "-", "figures": figures}}))
    text = scorecard.twin_cause(tmp_path)
    assert "largest drop between rungs comes with the real arm's look, AUC 0.32 on the pasted twin to 0.08 on " \
        "the photo" in text
    assert "below the mean-pose baseline (0.34 against 0.45 on all joints)" in text and "do not move" not in text
    assert "first diagnosis" not in text   # no frame count recorded: no sample size to name
    # the same drop with the moving joints flat: said where it is
    for rung, auc in (("mesh_twin", 0.18), ("mesh_pasted", 0.22), ("photo", 0.21), ("mean_pose", 0.2)):
        figures[rung]["moving"] = {"auc": auc}
    (folder / "eval.json").write_text(json.dumps({"twin": {"title": "t", "command": "-", "figures": figures}}))
    text = scorecard.twin_cause(tmp_path)
    assert "0.08 on the photo, nearly all of it at the joints the episode does not move" in text
    # the twin below the baseline on the moving joints too (0.18 < 0.2): both said
    assert "(0.34 against 0.45 on all joints, 0.18 against 0.20 on the moving ones)" in text
    # the twin below the baseline on the moving joints and the look the largest drop: no single cause named
    assert text.startswith("what keeps the model from beating the mean-pose baseline: the ladder does not single "
                           "out one cause; the views and poses and the arm's real look both cost. ")
    figures["mean_pose"]["moving"] = {"auc": 0.1}   # the twin above the baseline on the moving joints
    (folder / "eval.json").write_text(json.dumps({"twin": {"title": "t", "command": "-", "figures": figures}}))
    single = scorecard.twin_cause(tmp_path)
    assert "single out" not in single
    assert single.startswith("what keeps the model from beating the mean-pose baseline: on the same photos'")
    figures["mean_pose"]["moving"] = {"auc": 0.2}
    figures["photo"]["all"]["frames"] = 15
    (folder / "eval.json").write_text(json.dumps({"twin": {"title": "t", "command": "-", "figures": figures}}))
    assert "One model on 15 photos: a first diagnosis" in scorecard.twin_cause(tmp_path)


# ------------------------------------------------------------------ figures
def test_draw_predicted_chain_colours_truth_prediction_and_error():
    from robotpose_lib.viz.localization import draw_predicted_chain

    image = np.zeros((60, 60, 3), np.uint8)
    true = np.array([[10.0, 10.0], [10.0, 50.0]])
    pred = np.array([[50.0, 10.0], [np.nan, np.nan]])
    out = draw_predicted_chain(image, pred, true)
    assert out.shape == image.shape and not out[0, 0].any() and not image.any()   # a copy
    assert tuple(out[30, 10]) == (255, 255, 0)                 # the true chain, yellow
    assert tuple(out[10, 50]) == (0, 255, 255)                 # the predicted joint, cyan
    assert out[10, 30, 0] > 200 and out[10, 30, 2] < 100       # the red error line between them
    with pytest.raises(ValueError, match="one shape"):
        draw_predicted_chain(image, pred[:1], true)


def test_plot_image_rows_titles_and_labels():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from robotpose_lib.viz.localization import plot_image_rows

    tile = np.zeros((30, 40, 3), np.uint8)
    fig = plot_image_rows([[tile, tile], [tile, tile]], ["best", "worst"], ["twin", "photo"])
    axes = np.array(fig.axes).reshape(2, 2)
    assert [a.get_title() for a in axes[0]] == ["twin", "photo"] and axes[1, 0].get_ylabel() == "worst"
    assert fig.get_size_inches()[0] <= 10.0 + 1e-6
    plt.close(fig)
    with pytest.raises(ValueError, match="row labels"):
        plot_image_rows([[tile, tile]], ["a", "b"], ["x", "y"])


def test_recipe_table_reads_each_recipe_against_the_one_it_builds_on():
    from robotpose_lib.synth import RECIPES, recipe_base

    assert [recipe_base(r) for r in ("paper", "clutter", "sim2real", "dream", "dream_filmed")] == \
        [None, "paper", "clutter", "sim2real", "dream"]
    with pytest.raises(ValueError, match="recipe"):
        recipe_base("no_such_recipe")
    table = narration.recipe_table(["clutter", "dream_filmed"], robot="panda")
    clutter = next(line for line in table.splitlines() if line.startswith("| `clutter`"))
    assert f"`max_distractors` {RECIPES['clutter']['max_distractors']}" in clutter
    filmed = next(line for line in table.splitlines() if line.startswith("| `dream_filmed`"))
    assert "`fov_y_deg` 40-95 \u2192 40-100" in filmed and "urdf_color" not in filmed  # dream's own stay out
    sim2real = narration.recipe_table(["sim2real"], robot="panda")
    assert "`r_max` 1.8" in sim2real and "`r_max` 1.8" not in narration.recipe_table(["sim2real"])


def test_mesh_real_says_when_the_compared_model_is_its_start():
    fig = {"auc": 0.23, "found": 0.7, "median_px": 20.0, "median_depth_cm": 26.0, "pck@10": 0.3, "pck@5": 0.2,
           "pck@2.5": 0.1, "median_3d_cm": 30.0, "add_auc": 0.0, "frames": 15, "keypoints": 105}
    other = {"auc": 0.08, "found": 0.3, "median_px": 30.0, "median_depth_cm": 40.0}
    model, base = {"all": fig, "moving": fig}, {"all": dict(fig, auc=0.45), "moving": dict(fig, auc=0.2)}
    plain = narration.describe_mesh_real(model, base, None, {"all": other, "moving": other}, "other model")
    assert "(AUCs within 0.01 count as the same)." in plain
    continued = narration.describe_mesh_real(model, base, None, {"all": other, "moving": other}, "other model",
                                             continued_from_other=True)
    assert "continued from that one with more steps on another recipe" in continued


def test_mesh_real_reads_the_add_auc_and_says_what_zero_means():
    fig = {"auc": 0.23, "found": 0.7, "median_px": 20.0, "median_depth_cm": 26.0, "pck@10": 0.3,
           "median_3d_cm": 30.0, "add_auc": 0.0}
    base = {"all": dict(fig, auc=0.45, add_auc=0.012), "moving": dict(fig, auc=0.2)}
    text = narration.describe_mesh_real({"all": fig, "moving": fig}, base)
    assert ("Its ADD AUC is 0.000 against the mean pose's 0.012: no photo has all seven keypoints found with a "
            "mean 3D error under 10 cm.") in text
    some = narration.describe_mesh_real({"all": dict(fig, add_auc=0.05), "moving": fig}, base)
    assert "Its ADD AUC is 0.050 against the mean pose's 0.012." in some


def test_auc_rules_list_the_constants_that_apply_them():
    from robotpose_lib import twin

    text = narration.auc_rules()
    assert f"within {narration.SAME_AUC} count as the same" in text
    assert "single training runs" not in text  # chapter 7's rule, stated where it applies
    assert f"loses more than {twin.LADDER_DROP} of AUC" in text and text.count("\n* ") == 3
    assert "counts as open while the rendered twin scores less than the mean-pose baseline" in text


def test_recipe_choice_in_brief_names_the_chosen_recipe_first_and_points_to_chapter_7():
    def arm(recipe):
        return {"recipe": recipe, "steps": 10, "figures": {"model": {"all": {"auc": 0.1}, "moving": {"auc": 0.1}}}}

    comparison = {"chosen": "B", "arms": {"A": arm("dream_filmed"), "B": arm("dream")}}
    text = narration.recipe_choice_in_brief(comparison)
    assert text.startswith("Chapter 7 compares `dream`, the recipe this model was trained on, with `dream_filmed`")
    with pytest.raises(KeyError):
        narration.recipe_choice_in_brief({"chosen": "C", "arms": comparison["arms"]})


def test_one_run_rule_states_its_gap_from_the_constants():
    text = narration.one_run_rule()
    assert f"under {narration.real.ONE_RUN_GAP} is not read as a ranking" in text
    assert f"twice the {narration.SAME_AUC}" in text and narration.real.ONE_RUN_GAP == 2 * narration.SAME_AUC
