"""The sentence writers of chapters 1 to 3 (robotpose_lib.narration): figures chosen so
that the right sentence is known, and each branch of a verdict reached."""
import numpy as np
import pytest

from robotpose_lib import narration as nar


# ----------------------------------------------------------------------------- chapter 1
def test_mesh_agreement_with_and_without_pybullet():
    text = nar.describe_mesh_agreement(0.876, 329, 2826, (0.9971, 0.9993), views=3)
    assert "IoU of 0.88" in text and "differs in 329 of the 2826 pixels" in text
    assert "On three random views" in text and "at least 0.997 (mean 0.999)" in text
    assert "ask for 0.97" in text
    assert "pybullet is not installed here" in nar.describe_mesh_agreement(0.9, 1, 2, None)


def test_training_distribution_reads_counts_and_depths():
    counts = {"a": np.array([0, 1, 2, 3]), "b": np.array([0, 1, 2, 3])}
    depths = {"a": np.linspace(1, 3, 101), "b": np.linspace(0, 10, 101)}
    text = nar.describe_training_distribution(counts, depths)
    assert "* **a**: 25% of the 4 scenes show no robot" in text
    assert "50% show two or more" in text
    assert "1.1 to 2.9 m" in text and "0% of them in the paper's far range beyond 5 m" in text
    assert "* **b**:" in text and "50% of them" in text  # 5.0 .. 10.0 of 0 .. 10
    assert "The robot counts agree" in text
    differ = nar.describe_training_distribution({"a": [0, 1], "b": [1, 1]},
                                                {"a": [1.0], "b": [2.0]})
    assert "agree" not in differ


def test_render_rates_use_the_slower_robot():
    text = nar.describe_render_rates({"panda": 8.0, "kuka_kr16": 16.0}, 8, 2)
    assert "(2 torch threads)" in text and "* **panda**: 8.0 samples/s" in text
    assert "one batch of 8 scenes takes 1.0 s" in text
    assert "(2 torch threads on Some CPU 3000)" in nar.describe_render_rates({"panda": 8.0}, 8, 2, cpu="Some CPU 3000")


# ----------------------------------------------------------------------------- chapter 2
def test_live_run_tells_learning_from_noise():
    falling = np.r_[np.full(10, 2.0), np.full(30, 1.5), np.full(10, 1.0)]
    falling += np.tile([0.01, -0.01], 25)
    text = nar.describe_live_run(falling, 50)
    assert "first 10 of 50 logged points" in text and "(-50%" in text
    assert "The drop is larger than that" in text
    flat = 1.0 + np.tile([0.2, -0.2], 25)
    assert "The change is within it" in nar.describe_live_run(flat, 50)
    rising = falling[::-1]
    assert "this run did not learn" in nar.describe_live_run(rising, 50)
    assert "Too few points" in nar.describe_live_run([1.0, 0.9, 0.8], 3)
    with pytest.raises(ValueError, match="no loss"):
        nar.describe_live_run([], 1)


def test_backbone_comparison_names_the_run_ahead_on_each_figure():
    run = {"steps": 1000, "minutes": 24, "nms_median_px": 16.0, "log_median_px": 12.5, "nms_missed": 187,
           "joints": 590, "depth_near_mean_cm": 27.2}
    other = {**run, "steps": 600, "minutes": 22, "nms_median_px": 17.7, "log_median_px": 13.6, "nms_missed": 219,
             "depth_near_mean_cm": 29.7}
    text = nar.describe_backbone_comparison({"test_scenes": 60, "runs": {"frozen": run, "fine-tuned": other}})
    assert "made 1,000 steps in 24 min, the fine-tuned one 600 in 22 min" in text
    assert "NMS median pixel error 16.0 against 17.7 px" in text and "187 against 219 of 590" in text
    assert "the frozen run was ahead on every figure" in text
    named = nar.describe_backbone_comparison({"test_scenes": 60, "runs": {"frozen": run, "fine-tuned": other}},
                                             "panda_primitive", "paper")
    assert "600 in 22 min, both on panda_primitive scenes of the `paper` recipe. They were evaluated on 60" in named
    text = nar.describe_backbone_comparison({"test_scenes": 60, "runs": {"frozen": other, "fine-tuned": run}})
    assert "the fine-tuned run was ahead on every figure" in text
    mixed = {**run, "nms_median_px": 18.0}
    text = nar.describe_backbone_comparison({"test_scenes": 60, "runs": {"frozen": mixed, "fine-tuned": other}})
    assert "the frozen run was ahead on 3 of the 4 figures" in text


def test_the_shipped_backbone_comparison_is_its_note_transcribed():
    """The record's figures are the ones its part's note states (transcribed, not measured
    again): each figure, as the note prints it, is in the note."""
    from robotpose_lib import records
    from robotpose_lib.checkpoint import models_dir

    lineage = records.read_json(models_dir() / "panda_primitive_localization_cpu" / records.LINEAGE)
    part = next(p for p in lineage["parts"] if "backbone_comparison" in p)
    runs = part["backbone_comparison"]["runs"]
    f, t = runs["frozen"], runs["fine-tuned"]
    for text in (f"`{f['config']}`, {f['steps']} steps, {f['minutes']} min", f"`{t['config']}`, {t['steps']} steps, "
                 f"{t['minutes']} min", f"NMS median {f['nms_median_px']} vs {t['nms_median_px']} px",
                 f"missed {f['nms_missed']} vs {t['nms_missed']} of {f['joints']}",
                 f"LoG median {f['log_median_px']} vs {t['log_median_px']} px",
                 f"depth near mean {f['depth_near_mean_cm']} vs {t['depth_near_mean_cm']} cm",
                 f"On {part['backbone_comparison']['test_scenes']} test scenes"):
        assert text in part["note"], text


def test_depth_weight_speaks_of_phases_not_parts():
    ends = {"panda": [("λ = 1", (1.0, 4e-5, 0.01)), ("λ = 50", (1.0, 2e-5, 0.2)),
                      ("sim2real scenes", (1.0, 2e-5, 0.5))],
            "lonely": [("λ = 1", (1.0, 1e-5, 0.01))]}
    text = nar.describe_depth_weight(ends)
    assert "1 (λ = 1) 0.01, 2 (λ = 50) 0.20, 3 (sim2real scenes) 0.50" in text
    assert "from 0.01 to 0.20 of the belief term (within a factor of ten of it)" in text
    assert "went from 4.00e-05 to 2.00e-05 (-50%; the figure plots the same logged terms" in text
    assert "part" not in text.lower() and "lonely" not in text
    small = {"x": [("a", (1.0, 1e-5, 0.001)), ("b", (1.0, 1e-5, 0.05))]}
    assert "still more than ten times smaller" in nar.describe_depth_weight(small)
    assert nar.describe_depth_weight({}) == ""


def _stage(mx, visible, areas, second=()):
    return {"max": mx, "visible": list(visible), "half_area": dict(areas), "second": list(second)}


def test_stage_maps_verdict_from_the_figures():
    refined = [_stage(0.2, [0], {0: 100}), _stage(0.5, [0, 1], {0: 60, 1: 60})]
    text = nar.describe_stage_maps(refined, ["a", "b"], 4.0, 12.0, "panda")
    assert "0.20, 0.50 in stages 1 to 2" in text and "1, 2 of the 2 joints" in text
    assert "100 pixels in stage 1, 60 pixels in stage 2" in text
    assert "raise the beliefs from stage to stage and narrow the blobs" in text
    assert "that is the refinement the paper's design aims at" in text
    wider = [_stage(0.5, [0], {0: 50}), _stage(0.4, [0], {0: 100}, second=[0])]
    text = nar.describe_stage_maps(wider, ["a"], 4.0, 12.0, "panda")
    assert "In stage 2, 1 of the joints (a) lights a second peak at least half as high as its first" in text
    assert "leave 1 joint with two candidates" in text
    assert "do not raise the beliefs steadily, widen the blobs" in text
    assert "does not show on this model's maps" in text
    # mostly trained at the grid: the figure shows the grid, no blob areas, the reason said
    grid = [_stage(0.3, [0], {0: 64}), _stage(0.9, [0], {0: 64})]
    text = nar.describe_stage_maps(grid, ["a"], 4.0, 12.0, "panda", coarse_steps=(900, 1000))
    assert "(the maps of the crop, stages 1 to 1 at the backbone's grid)" in text
    assert "0.30, 0.90 in stages 1 to 2" in text and "pixels in stage" not in text
    assert "in 900 of the 1,000 training steps behind these weights" in text
    assert "On this scene the stages raise the beliefs from stage to stage." in text
    assert "does not show on this model's maps" not in text
    few = nar.describe_stage_maps(wider, ["a"], 4.0, 12.0, "panda", coarse_steps=(100, 1000))
    assert "does not show on this model's maps" in few and "grid" not in few


def test_toy_depth_counts_the_seeds_the_log_code_wins():
    runs = [{"seed": s, "kind": k, "median_cm": m, "far_mean_cm": 2 * m, "steps": 100}
            for s, k, m in ((0, "inverse", 40), (0, "log", 20), (1, "inverse", 30), (1, "log", 35))]
    text = nar.describe_toy_depth(runs)
    assert "Seed 0: median error 40 cm with the inverse code, 20 cm with the log code" in text
    assert "with 1 of 2 seeds" in text
    runs[3]["median_cm"] = 10
    assert "with both seeds (too few to measure how much it gains)" in nar.describe_toy_depth(runs)


def test_real_photo_errors_in_words():
    errors = np.array([[1.0, 2.0, 50.0], [np.nan, 3.0, 100.0]])
    depth = np.array([[10.0, 20.0, 30.0], [np.nan, 40.0, 50.0]])
    text = nar.describe_real_photo_errors(errors, depth, width=100, off=2, wrong_joint=1,
                                          wrong_in=["p1"], no_joint=1)
    assert "median error is 3 px at the photos' own 100 px width (3% of it; the synthetic tables above count " \
           "pixels at 640), 1 of 6 joints have no peak" in text
    assert "60% of the found joints lie within 5%" in text and "median depth error is 30 cm" in text
    assert "Most found joints are near the truth" in text
    assert "Of the 2 found joints farther off, 1 lies within 5%" in text and "(in p1 above" in text
    assert "the other 1 are farther" in text and "in 1 of 2 photos no joint is found" in text


# ----------------------------------------------------------------------------- chapter 3
def test_shown_count_and_the_step_count_table():
    assert nar.shown_count([0.1, 0.06, 0.01], 0.05) == "2"
    assert nar.shown_count([0.1, 0.06, 0.01], 0.001) == "≥ 3 (never stopped)"
    text = nar.describe_step_counts(["1 robot", "2 robots"],
                                    [np.array([0.1, 0.01, 0.0]), np.array([0.03, 0.03, 0.03])],
                                    0.05, 0.002)
    assert "| 1 robot | 1 | 2 |" in text and "| 2 robots | 0 | ≥ 3 (never stopped) |" in text
    assert "(5% for the paper's, 0.2% for ours)" in text and "shown as ≥ 3" in text


def test_assignment_toy_counts_and_toy_steps():
    assert "in 4 of its 15 links: every such chain" in nar.describe_assignment(4, 15)
    assert "happens to work" in nar.describe_assignment(0, 15)
    text = nar.describe_toy_counts({0.05: 0.5, 0.02: 0.75}, [0, 1, 1, 2])
    assert "On 4 held-out toy scenes" in text and "50% of the scenes with the 5% rule" in text
    assert "75% of the scenes with the 2% rule" in text and "score about 50%" in text
    assert "quick mode" in nar.describe_toy_steps(150, 15, True)
    assert "1,000 training steps (50 s)." in nar.describe_toy_steps(1000, 50, False)
    # the rows' counts: the wrong ones named
    text = nar.describe_toy_steps(1000, 50, False, np.array([0, 1, 2, 3]), np.array([0, 1, 3, 1]))
    assert "counts 0, 1, 3 and 1 in the rows, against the true 0, 1, 2 and 3: 2 of 4 rows right" in text
    assert "the row with 2 discs is counted as 3 and the row with 3 discs is counted as 1" in text
    assert "every row right" in nar.describe_toy_steps(1000, 50, False, [1, 2], [1, 2])


def test_step_activation_tells_background_from_robots():
    background = {"on_robot": 0.2, "robot_area": 0.03, "activated": 0.15, "scenes": 4, "steps": 10}
    text = nar.describe_step_activation(background)
    assert "10 steps in these 4 scenes" in text and "activate 15.0% of the image" in text
    assert "the robots cover 3.0%; 20% of the activated pixels lie on a robot" in text
    assert "In these 4 scenes most of what the masks light up is background" in text
    assert "it is not the union of two robot shapes" in text
    robots = dict(background, on_robot=0.8)
    # a few shown scenes: the sentence says the test scenes' share can differ
    assert "In these 4 scenes most of what the masks light up lies on the robots; the step purity below" in \
        nar.describe_step_activation(robots)
    assert "no pixel at all" in nar.describe_step_activation(dict(background, on_robot=float("nan")))


def test_step_purity_reads_unions_with_where_they_light_up():
    purity = {"single": 0.11, "union": 0.79, "none": 0.11, "repeated": 0.74, "steps": 19, "robots": 19}
    activation = {"on_robot": 0.1, "robot_area": 0.02, "activated": 0.2, "scenes": 9, "steps": 19}
    text = nar.describe_step_purity(purity, 9, activation)
    assert "On 9 test scenes with two or more robots (19 instance steps), **11%**" in text
    assert "Only 10% of the pixels these steps activate lie on a robot" in text
    assert "cover the background around them too" in text
    assert "Most steps do **not** emit one robot" in text
    good = dict(purity, single=0.8)
    text = nar.describe_step_purity(good, 9, dict(activation, on_robot=0.9))
    assert "outline robots" in text and "as the paper intends" in text
    assert "lie on a robot" not in nar.describe_step_purity(purity, 9)
    # the figure's scenes against the test scenes: said when they differ by 15 points or more
    shown = dict(activation, on_robot=0.71, scenes=4)
    text = nar.describe_step_purity(purity, 9, activation, shown)
    assert "In the 4 scenes of {numref}`fig-steps` the share was 71%" in text
    assert "shows the model better than it is on the test set" in text
    assert "fig-steps" not in nar.describe_step_purity(purity, 9, activation, dict(shown, on_robot=0.2))


def test_canvas_counting_and_ap_sentences():
    without = [{"count right": c, "steps with one disc": d} for c, d in ((0.59, 0.26), (0.55, 0.30), (0.57, 0.28))]
    canvas = [{"count right": c, "steps with one disc": d} for c, d in ((0.58, 0.50), (0.60, 0.56))]
    text = nar.describe_canvas(without, canvas, 400, True)
    assert "Over 400 toy training steps, with 2 seeds against 3, canvas feedback" in text
    # 57% -> 59%: within the seeds' 4 points; 28% -> 53%: 25 points against a spread of 4
    assert "raises the counting accuracy from 57% to 59% (2 points, not more than the seeds' spread" in text
    assert "raises the share of one-disc steps from 28% to 53% (25 points, more than the seeds' spread" in text
    assert "Quick mode" in text and "Quick mode" not in nar.describe_canvas(without, canvas, 400, False)
    assert "counting accuracies range from 55% to 59% without the canvas and from 58% to 60% with it" in text
    text = nar.describe_coco_ap({"0.2%": 0.023, "5%": 0.0}, {"0.2%": 0.089, "5%": 0.021}, "0.2%")
    assert "boxes 0.023, masks 0.089; with the paper's 5% rule 0.000 and 0.021" in text
    assert "UNTRAINED" in nar.describe_coco_ap({"x": 0, "5%": 0}, {"x": 0, "5%": 0}, "x", False)
    total = {"scenes": 16, "right (0.2%)": 0.19, "right (5%)": 0.25}
    singles = {"mean count (0.2%)": 2.4}
    text = nar.describe_counting(total, singles, "0.2%")
    assert "right in 19% of the 16 test scenes (the paper's 5% rule: 25%)" in text
    assert "counts 2.4 on average: it does not stop reliably" in text
    assert nar.describe_counting(dict(total, **{"right (0.2%)": 0.8}), None, "0.2%").endswith("25%).")


def test_instance_record_comparison_says_why_figures_differ():
    record = {"box_ap": 0.073, "mask_ap": 0.093, "mask_ap50": 0.211, "min_active_fraction": 0.002,
              "counting": {"all": {"images": 100, "accuracy": 0.21}}}
    here = {"box AP": 0.073, "mask AP": 0.093, "mask AP at IoU 0.5": 0.211, "count right": 0.21}
    text = nar.instance_record_comparison(record, here, 16, 0.002)
    assert "the first 100 test scenes, the 0.2% rule, box AP 0.073" in text
    assert "on more scenes than this chapter's 16" in text
    assert "the same as this chapter's" in nar.instance_record_comparison(record, here, 100, 0.002)
    off = dict(here, **{"box AP": 0.5})
    text = nar.instance_record_comparison(record, off, 100, 0.002)
    assert "yet not all this chapter's when both are rounded to two decimals: box AP 0.500 here." in text
    # a third decimal is no difference (a reader caught 0.206 against 0.205 reported as one)
    close = dict(here, **{"mask AP at IoU 0.5": 0.215})
    assert "the same as this chapter's when both are rounded" in nar.instance_record_comparison(record, close, 100,
                                                                                                 0.002)
    assert "another stopping rule" in nar.instance_record_comparison(record, here, 100, 0.05)


def test_instance_runtime_reads_the_line():
    rows = [{"robots": k, "localization ms": 100.0, "instance ms": 10.0 + 5 * k,
             "instance ms / robots": (10.0 + 5 * k) / k} for k in (1, 2, 3)]
    text = nar.describe_instance_runtime(rows, 5, (240, 320), "cpu", 1, 5.0, 10.0)
    assert "on cpu with 1 torch thread (" in text and "| 1 | 100.0 | 15.0 | 15.0 |" in text
    assert "about 10.0 ms plus 5.0 ms per robot" in text and "each robot adds 5% of a" in text
    assert "15.0 ms with 1 robot, 8.3 ms with 3." in text
    assert "hides the per-robot cost" in nar.describe_instance_runtime(rows, 5, (1, 1), "cpu", 2, -1.0, 0.0)
    with pytest.raises(ValueError, match="no timings"):
        nar.describe_instance_runtime([], 5, (1, 1), "cpu", 1, 0.0, 0.0)


def test_test_counts_against_what_their_parameters_draw():
    shares = [0.10, 0.43, 0.33, 0.14]
    text = nar.describe_test_counts({0: 5, 1: 42, 2: 43, 3: 10}, shares)
    assert text.startswith("The 100 test scenes hold 5%, 42%, 43%, 10% of scenes with 0, 1, 2, 3 robots; their "
                           "parameters draw 10%, 43%, 33%, 14% on average")
    # 43% against 33%: 10 points, more than two standard errors (9.4) of 100 scenes; 5% against 10% is not (6.0)
    assert "This draw holds more scenes with 2 robots than the average" in text and "with 0 robots" not in text
    assert "This draw" not in nar.describe_test_counts({0: 10, 1: 43, 2: 33, 3: 14}, shares)
    assert nar.describe_test_counts({}, shares) == ""


def test_log_noise_and_unstopped_runs():
    text = nar.describe_log_noise({"instances": 0.25, "localization": 0.28},
                                  {"instances": 0.29, "localization": 0.29})
    assert "relative noise is 0.25 against the localization run's 0.28" in text
    assert "equal at two decimals" in text and "part" not in text
    assert "within 25% of each other, which one run each does not rank" in text and "noisier" not in text
    text = nar.describe_log_noise({"instances": 0.3, "localization": 0.2},
                                  {"instances": 0.1, "localization": 0.2})
    assert "the matching loss is the noisier" in text and "in the other order" in text
    rows = [{"robot": "kuka_kr16", "mean count, 1 robot": 5.6}, {"robot": "panda", "mean count, 1 robot": 3.2}]
    assert nar.describe_unstopped_runs(rows) == ("They did not stop: where there was one robot, the "
                                                 "kuka_kr16 model counted 5.6 on average.")
    assert nar.describe_unstopped_runs([{"robot": "x", "mean count, 1 robot": 1.1}]).startswith(
        "They mostly stopped")
    with pytest.raises(ValueError, match="no run"):
        nar.describe_unstopped_runs([])
    # beside the shipped model: the two figures need not agree, and the sentence says which way each went
    rows[0]["count right"] = 0.23
    text = nar.describe_unstopped_runs(rows, {"robot": "kuka_kr16", "mean count, 1 robot": 3.4, "count right": 0.21})
    assert "counts 3.4 there. It counts right in 21% of this chapter's scenes, against the weight-1 run's 23%" in text
    assert "over-counts less, but counts right about as often" in text    # 2 points on other scenes
    text = nar.describe_unstopped_runs(rows, {"robot": "kuka_kr16", "mean count, 1 robot": 3.4, "count right": 0.25})
    assert "about as often" in text and "more often." not in text
    text = nar.describe_unstopped_runs(rows, {"robot": "kuka_kr16", "mean count, 1 robot": 3.4, "count right": 0.1})
    assert "over-counts less without counting right more often" in text
    assert "trained with a heavier weight, counts" in text          # no weight given, none named
    text = nar.describe_unstopped_runs(rows, {"robot": "kuka_kr16", "mean count, 1 robot": 3.4, "count right": 0.21,
                                              "eos weight": 5.0})
    assert "trained with a heavier weight (5), counts 3.4" in text
    text = nar.describe_unstopped_runs(rows, {"robot": "kuka_kr16", "mean count, 1 robot": 1.2, "count right": 0.6})
    assert "over-counts less and counts right more often" in text
    text = nar.describe_unstopped_runs(rows, {"robot": "kuka_kr16", "mean count, 1 robot": 6.0, "count right": 0.1})
    assert "does not over-count less" in text
    assert nar.describe_unstopped_runs(rows, {"robot": "other", "mean count, 1 robot": 1.0, "count right": 1.0}) \
        == nar.describe_unstopped_runs(rows)


def test_unstopped_runs_give_the_range_of_the_heavier_weight():
    rows = [{"robot": "kuka_kr16", "mean count, 1 robot": 5.6, "count right": 0.23}]
    shipped = {"robot": "kuka_kr16", "mean count, 1 robot": 2.8, "count right": 0.25, "eos weight": [5, 5, 10]}
    assert "trained with a heavier weight (5 to 10 over its phases of training), counts 2.8" in \
        nar.describe_unstopped_runs(rows, shipped)
    assert "counts right in 25% of its model card's test scenes" in nar.describe_unstopped_runs(
        rows, shipped, where="of its model card's test scenes")
    assert "trained with a heavier weight (5), counts" in \
        nar.describe_unstopped_runs(rows, dict(shipped, **{"eos weight": [5]}))


def test_eos_errors_in_phases():
    text = nar.describe_eos_errors(0.0095, [(0.10, 0.0056), (0.0043, 0.0062)], [5, 5], 0.002, 2.4, 5.6)
    assert "0.0095 with weight 1, and at 0.0056 and 0.0062 after the shipped model's phases 1 and 2 " \
           "(weights 5 and 5)" in text
    assert "41% lower after phase 1 (runs of other lengths, so not the weight's doing alone)" in text
    assert "Phase 2 began at 0.0043" in text
    # 0.0043 after an end of 0.0056: the sentence says why a phase can start off the last end
    assert "A phase's first tenth need not start where the phase before ended" in text
    assert "above where phase 1 ended" in text and "3 times the share our 0.2% stopping" in text
    assert "often stay above the rule (the weight-1 run: 5.6" in text and "part" not in text
    text = nar.describe_eos_errors(0.001, [(0.01, 0.002), (0.0019, 0.0019)], [5, 5], 0.002, 1.0, None)
    assert "no lower after phase 1" in text and "Phase 2 kept it where it began" in text
    assert "mostly haze" in text and "weight-1 run" not in text
    assert "need not start where the phase before ended" not in text  # 0.0019 against 0.002: it does
    # three phases, the last lowering it: the last phase's end is the leftover read
    text = nar.describe_eos_errors(0.0095, [(0.1, 0.0056), (0.0043, 0.0062), (0.0056, 0.0038)],
                                   [5, 5, 10], 0.002, 2.0, None)
    assert "phases 1, 2 and 3 (weights 5, 5 and 10)" in text
    assert "Phase 3 lowered it from 0.0056 (its first tenth) to 0.0038" in text
    assert "An error of 0.0038 is what a leftover mask" in text
    with pytest.raises(ValueError, match="one weight per phase"):
        nar.describe_eos_errors(0.01, [(0.1, 0.01)], [], 0.002, None, None)


def _row(seed, lr, w, cost, right, count):
    return {"seed": seed, "lr": lr, "end-of-sequence weight": w, "final cost per disc": cost,
            "count right": right, "mean count": count}


def test_seed_effect_against_the_seeds_spread():
    same = [_row(0, 1e-3, 1, 0.50, 0.50, 1.6), _row(1, 1e-3, 1, 0.52, 0.52, 1.7)]
    big = [_row(0, 3e-3, 1, 0.40, 0.70, 1.6)]
    small = [_row(0, 1e-3, 20, 0.515, 0.52, 0.5)]
    text = nar.seed_effect(same, big, "the larger rate")
    assert text.startswith("the larger rate raises the counting accuracy from 51% to 70%")
    assert "(19 points, more than the seeds' spread: a sign of an effect, 1 run against 2)" in text
    three = same + [_row(2, 1e-3, 1, 0.51, 0.51, 1.6)]
    assert "more than the seeds' spread: an effect)" in nar.seed_effect(three, big * 3, "the larger rate")
    assert "lowers the final cost per disc from 0.510 to 0.400 (0.110, more than" in text
    text = nar.seed_effect(same, small, "w")
    assert "(1 points, not more than the seeds' spread: no effect shown)" in text
    sweep_text = nar.describe_toy_sweep(same, big, small, quick=True)
    assert "the 2 seeds end between 50% and 52% in counting accuracy (2 points apart)" in sweep_text
    assert "and between 0.500 and 0.520 in final cost per disc (0.020 apart)" in sweep_text
    assert "Quick mode" in sweep_text
    heavy = nar.describe_heavy_eos(small, same, 1.6)
    assert "count 0.50 discs on average where the scenes hold 1.60 (default weight: 1.65)" in heavy
    assert "they stop too early" in heavy and "says how well the masks" in heavy
    over = nar.describe_heavy_eos([_row(0, 1e-3, 20, 0.9, 0.1, 3.0)], same, 1.6)
    assert "over-count" in over and "close to 1" in over


def test_instances_summary_from_the_figures():
    purity = {"single": 0.11, "union": 0.79}
    text = nar.instances_summary(purity, 0.19, 0.0129, "0.2%", 24.4, True,
                                 {"on_robot": 0.1})
    assert "only 11% of its steps cover exactly one robot, and 79% cover several at once" in text
    assert "(mostly by lighting up the background: on the test scenes with two or more robots 10% of what " \
           "they activate" in text
    # about half on the robots is not "mostly" background
    half = nar.instances_summary(purity, 0.19, 0.0129, "0.2%", 24.4, True, {"on_robot": 0.48})
    assert "(as much by lighting up the background as the robots: on the test scenes with two or more robots " \
           "48% of what" in half
    assert "right in 19% of the test scenes" in text
    assert "reference-size runs did not learn to stop (chapter 7 shows them)" in text
    assert "covers 1.3% of the image, so we also evaluate with 0.2%" in text
    assert "about 24.4 ms per robot" in text
    assert "as intended" in nar.instances_summary({"single": 0.9, "union": 0}, 1, 0.1, "x", 1, False)
    assert "no multi-robot scene" in nar.instances_summary(None, 0, 0.1, "x", 1, False)


def test_training_phases_follow_the_warm_start_merge_resumed_parts_and_name_their_changes(tmp_path):
    import json

    from robotpose_lib.cards import training_phases

    def write(name, parts):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "lineage.json").write_text(json.dumps({"name": name, "task": "localization", "robot": "m",
                                                         "recipe": "paper", "continue": "-",
                                                         "parts": [dict(p, wall_hours=0.1) for p in parts]}))
        rows, done = [], {}   # a resumed run's steps keep counting in its log
        for i, part in enumerate(parts, 1):
            run = part.get("run", f"part{i}")
            rows += [{"step": done.get(run, 0) + s, "run": run} for s in range(1, part["steps"] + 1)]
            done[run] = done.get(run, 0) + part["steps"]
        (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    base = {"robot": "m", "recipe": "paper", "lr": 1e-3, "schedule": "cosine", "depth_weight": 1.0,
            "depth_code": "inverse", "intermediate": "full", "depth_context": 0}
    write("a_localization_cpu", [
        {"started_from": "scratch", "steps": 10, "batch_size": 8, "settings": base},
        {"started_from": "part 1", "steps": 5, "batch_size": 8, "settings": dict(base, depth_weight=50.0)}])
    low = dict(base, depth_weight=50.0, intermediate="low_res", recipe="dream")
    write("b_localization_cpu", [
        {"started_from": "assets/models/a_localization_cpu/model.pt", "steps": 30,
         "batch_size": 8, "settings": low, "run": "part1"},
        {"started_from": "part 1 (resumed)", "steps": 20, "batch_size": 8, "settings": low, "run": "part1"},
        {"started_from": "part 2", "steps": 4, "batch_size": 8, "settings": low, "run": "part2"},
        {"started_from": "part 3", "steps": 4, "batch_size": 8, "run": "part3"}])
    phases = training_phases("b_localization_cpu", tmp_path)
    assert [(p.model, p.runs, p.steps) for p in phases] == [
        ("a_localization_cpu", ["part1"], 10), ("a_localization_cpu", ["part2"], 5),
        ("b_localization_cpu", ["part1", "part1"], 50), ("b_localization_cpu", ["part2"], 4),
        ("b_localization_cpu", ["part3"], 4)]
    assert [len(p.rows) for p in phases[:3]] == [10, 5, 50]
    assert nar.phase_changes(phases) == ["λ = 1", "λ = 50", "dream scenes, coarse stages 1 to N-1",
                                         "more steps, schedule restarted", "settings not recorded"]
    table = nar.describe_training_phases({"m": phases})
    assert "| m | 3 | 50 | m | dream | 50 | inverse | none | coarse | 0.001, cosine |" in table
    assert "| m | 5 | 4 | not recorded |" in table
    # chapter 2's table: the last phase's settings, the steps of all phases together
    settings = nar.describe_reference_settings({"m": phases[:3]})
    assert "| m | 65 | m | dream | 50 | inverse | none | coarse |" in settings
    assert "not recorded" in nar.describe_reference_settings({"m": phases})
    with pytest.raises(ValueError, match="no training phases"):
        nar.describe_reference_settings({"m": []})
    coarse = sum(p.steps for p in phases if p.settings.get("intermediate") == "low_res")
    text = nar.describe_intermediate_supervision({"m": (coarse, sum(p.steps for p in phases)), "n": (0, 10)})
    assert "only: for the m reference 54 of its 73 training steps, stages 1 to N-1" in text
    assert "n reference" not in text
    assert "bfloat16" not in text  # a training detail, in chapter 7
    assert nar.describe_intermediate_supervision({"n": (0, 10)}) == ""


def test_toy_setup_gives_the_disc_radius_at_both_ends():
    text = nar.describe_toy_setup(1.0, (1.0, 10.0), 32, 10.0)
    assert "from 1 to 10 m" in text and "32x32" in text
    assert "10.0 px in radius at the nearest and 1.0 px at the farthest" in text


def test_training_distribution_gives_the_sample_spread():
    text = nar.describe_training_distribution({"a": np.ones(200)}, {"a": np.ones(5)})
    assert ("one sample of 200 scenes: chance alone moves such a share by up to about 7 points either way in "
            "most") in text


def test_training_distribution_sets_each_share_beside_its_average():
    counts = {"a": [0] * 20 + [1] * 40 + [2] * 40}  # 20% none, 40% two or more
    depths = {"a": [1.0, 2.0, 3.0]}
    text = nar.describe_training_distribution(counts, depths, averages={"a": [0.2, 0.45, 0.25, 0.1]})
    assert "20% (average 20%) of the 100 scenes show no robot" in text
    assert "40% (average 35%) show two or more" in text and "unusual" not in text
    far = nar.describe_training_distribution(counts, depths, averages={"a": [0.2, 0.6, 0.15, 0.05]})
    assert "40% (average 20%; beyond two standard errors: an unusual sample) show two or more" in far
