"""Chapters 1-4: the scenes their trained networks are shown on, chosen by a stated rule
(robotpose_lib/showcase.py), and the sentences of their verdict boxes and rules
(robotpose_lib/narration.py): inputs built so that the right answer is known."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from robotpose_lib import metrics, narration, showcase
from robotpose_lib.eval.localization import evaluate_samples
from robotpose_lib.showcase import ChosenScene, best_iou_errors, first_scenes, localization_scene_errors
from robotpose_lib.synth import generate, params_for
from robotpose_lib.targets import TargetParams, depth_coding_for, make_targets


def _counts(*robots):
    return [SimpleNamespace(num_robots=r) for r in robots]


def test_first_scenes_keeps_the_robot_counts_asked_for():
    data = _counts(0, 2, 1, 3, 1, 2)
    assert first_scenes(data, 3)[0] == [1, 2, 3]
    assert first_scenes(data, 9, min_robots=1, max_robots=1)[0] == [2, 4]
    assert first_scenes(data, 1, min_robots=2, max_robots=3)[0] == [1]
    with pytest.raises(ValueError, match="at least 4 robots"):
        first_scenes(data, 2, min_robots=4)


def test_localization_scene_errors_split_the_report_by_scene():
    # 480x640 errors at scale 2: scene 0 has no robot, scene 1 two robots, scene 2 one
    # robot whose only counted joint was missed (NaN), scene 3 one robot with no counted joint
    nan = np.nan
    report = SimpleNamespace(scale=2.0, pixel_errors={"nms": np.array(
        [[4.0, 8.0], [nan, 200.0], [nan, 6.0], [nan, nan]])},
        counted=np.array([[True, True], [True, False], [True, False], [False, False]]))
    e = localization_scene_errors(report, _counts(0, 2, 1, 1))
    # 2 px, 4 px and a miss (40 px); the 200 px joint is not counted
    assert np.isnan(e[0]) and e[1] == pytest.approx((2 + 4 + 40) / 3)
    assert e[2] == pytest.approx(showcase.MISSING_PX) and np.isnan(e[3])
    with pytest.raises(ValueError, match="report"):
        localization_scene_errors(report, _counts(1, 1))


class _Oracle(torch.nn.Module):
    """A 'localization network' that outputs each scene's exact targets (looked up by its
    image), or, with ``masks``, an 'instance model' that outputs its true masks then an
    empty step."""

    def __init__(self, samples, size, masks=False):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # a device to run on
        self.masks = masks
        coding = depth_coding_for(samples[0].robot)
        self.out = {}
        for s in samples:
            if masks:
                self.out[s.image.tobytes()] = s.masks.astype(np.float32)
            else:
                t = make_targets(s, size, TargetParams(depth=coding))
                self.out[s.image.tobytes()] = (t["beliefs"], t["depth"])

    def _key(self, image):
        return (image.permute(1, 2, 0) * 255).round().to(torch.uint8).numpy().tobytes()

    def forward(self, images, upsample=None, steps=None):
        if self.masks:
            out = []
            for im in images:
                m = self.out[self._key(im)]
                full = np.zeros((steps, *m.shape[1:]), np.float32)
                full[:len(m)] = m[:steps]
                out.append(full)
            return torch.from_numpy(np.stack(out))
        b, d = zip(*(self.out[self._key(im)] for im in images))
        return SimpleNamespace(beliefs=torch.from_numpy(np.stack(b)), depth=torch.from_numpy(np.stack(d)))


def test_perfect_beliefs_score_nearly_zero_through_chapter_2s_evaluation():
    size = (96, 128)
    params = params_for("panda_primitive", min_robots=1, max_robots=2, theta_vr=1.0)
    samples = [s for s in generate("panda_primitive", 3, range(4), *size, params) if s.num_robots]
    oracle = _Oracle(samples, size)
    targets = TargetParams(depth=depth_coding_for("panda_primitive"))
    report = evaluate_samples(oracle, samples, targets, size, methods=("nms",), device="cpu", progress=False)
    errors = localization_scene_errors(report, samples)
    assert np.all(errors < 0.5)  # sub-pixel peaks of exact Gaussians


def test_best_iou_errors_follow_the_stopping_rule():
    truth = np.zeros((2, 10, 10), bool)
    truth[0, :4, :5] = True   # 20 pixels
    truth[1, 6:, 5:] = True   # 20 pixels
    empty = np.zeros((10, 10), np.float32)
    a, b = truth[0].astype(np.float32), truth[1].astype(np.float32)
    half = a.copy()
    half[:2] = 0  # 10 of robot 0's 20 pixels: IoU 0.5
    rule = 0.05
    scenes = [np.stack([a, b, empty]),        # both robots, then the end: perfect
              np.stack([a, empty, b]),        # stops after robot 0: robot 1 lost
              np.stack([np.maximum(a, b), empty, empty]),  # one mask over both: IoU 0.5 each
              np.stack([half, b, empty]),     # robot 0 half covered
              np.stack([empty, a, b])]        # stops at once: nothing emitted
    e = best_iou_errors(scenes, [truth] * len(scenes), rule)
    assert e == pytest.approx([0.0, 0.5, 0.5, 0.25, 1.0])
    assert np.isnan(best_iou_errors([scenes[0]], [np.zeros((0, 10, 10), bool)], rule)[0])
    with pytest.raises(ValueError, match="step_masks"):
        best_iou_errors(scenes, [truth], rule)


def test_median_instance_scenes_with_an_oracle_pick_exact_scenes_of_each_count():
    size = (60, 80)
    from robotpose_lib.eval.testset import TEST_SEED, test_params
    from robotpose_lib.synth import generate_one

    # the scenes median_instance_scenes renders, for the oracle to know their masks
    rendered = [generate_one("kuka_kr16", TEST_SEED + k, i, *size,
                             params=test_params("kuka_kr16").replace(min_robots=k, max_robots=k, theta_vr=1.0))
                for k in (1, 2) for i in range(12)]
    oracle = _Oracle([s for s in rendered if s.num_robots], size, masks=True)
    chosen = showcase.median_instance_scenes(oracle, "kuka_kr16", counts=(1, 2), n=2, size=size,
                                             min_active_fraction=0.0, steps=4)
    assert [c.sample.num_robots for c in chosen] == [1, 2]
    for c in chosen:
        assert len(c.candidates) == 2 and c.masks.shape == (4, *size)
        assert c.errors == pytest.approx([0.0, 0.0]) and c.error == 0.0 and c.index == c.candidates[0]


def test_chosen_scene_rule_names_the_robot_counts():
    e = [3.0, 5.0, 7.0]
    assert "with at least 2 robots," in narration.chosen_scene_rule(e, 5.0, 2, (240, 320), 40.0, "m")
    assert "with exactly 1 robot," in narration.chosen_scene_rule(e, 5.0, 1, (240, 320), 40.0, "m", max_robots=1)
    assert "with 1 to 2 robots," in narration.chosen_scene_rule(e, 5.0, 1, (240, 320), 40.0, "m", max_robots=2)
    text = narration.chosen_scene_rule(e, 5.0, 1, (240, 320), 40.0, "m")
    assert "the 3 scenes range from 3.0 to 7.0 px" in text and "{" not in text  # every field filled
    assert "The shown scene's ranking error is 5.0 px" in text


def test_chosen_masks_rule_reads_each_rows_iou_and_range():
    def chosen(k, errors, pick):
        return ChosenScene(SimpleNamespace(num_robots=k), pick, np.array(errors), list(range(len(errors))))

    text = narration.chosen_masks_rule([chosen(1, [0.5, 0.25, 0.1], 1), chosen(2, [1.0, np.nan, 0.4], 2)],
                                       0.002, "the reference model")
    assert "1 robot: 0.75 (its 3 candidates from 0.50 to 0.90, 1 better and 1 worse)" in text
    assert "\n* 2 robots: 0.60 (its 2 candidates from 0.00 to 0.60, 0 better and 1 worse)." in text  # a list
    assert "0.2% stopping rule" in text and "under the reference model" in text


def test_chapter_1_verdict_reads_the_measured_agreement():
    text = narration.renderer_verdict((0.9912, 0.995), 3, 4)
    assert "at least 0.991 over three random views (mean 0.995; the tests ask for 0.97)" in text
    assert "over 4 real, calibrated photographs" in text and "§III-A" in text
    absent = narration.renderer_verdict(None, 3, 0)
    assert "pybullet is not installed" in absent and "which are not here" in absent
    box = narration.verdict_box([], "1", without_claims=text)
    assert box.startswith(":::{admonition}") and "Nothing to score against the paper" in box


def test_chapter_4_verdict_reads_the_papers_table_ii():
    text = narration.runtime_verdict(metrics.PAPER_TABLE_II, metrics.PAPER_TABLE_II_GPU)
    assert "(GTX 1080 Ti): the belief prediction 10.95 ms, each robot's instance mask 17.75 ms" in text
    assert "NMS 0.41 ms and LoG 310 ms" in text and "on a CPU beside" in text
    assert "on a GPU beside" in narration.runtime_verdict(metrics.PAPER_TABLE_II, "x", on_gpu=True)


def test_table_ii_text_says_which_instance_model_each_row_times():
    table_ii = {"device": "cpu", "repeats": 3, "warmup": 2, "scene_robots": 3, "found": 3,
                "rows": [{"step": "instance mask (per robot)", "mean_ms": 9.0, "std_ms": 1.0,
                          "paper_mean_ms": 17.75, "paper_std_ms": 0.6}],
                "baselines": [{"step": "NMS", "ours_ms": 1.0, "baseline": "scipy", "baseline_ms": 2.0,
                               "speedup": 2.0, "same_peaks": True}]}
    assert "the paper's recurrent (ConvGRU) instance model" in narration.table_ii_markdown(table_ii, "panda_primitive")
    onepass = narration.table_ii_conditions(table_ii, 7, predictor_model="one-pass")
    assert "its instance model the recurrent one" in onepass
    assert "loads the one-pass instance model by default" in onepass
    assert "loads the" not in narration.table_ii_conditions(table_ii, 7, predictor_model="recurrent")


def test_robot_count_shares_are_what_the_test_parameters_draw():
    """The average the book sets the test set's robot counts against: shares over 0..3
    robots that sum to 1, the same for the same seed, and the test set's own scenes counted
    as rendered agree with the undrawn scenes of its seed (rendering drops no robot here)."""
    from robotpose_lib.eval.testset import TEST_SEED, robot_count_shares, test_dataset

    shares = robot_count_shares("kuka_kr16", n=200)
    assert shares.shape == (4,) and np.isclose(shares.sum(), 1.0)
    assert np.array_equal(shares, robot_count_shares("kuka_kr16", n=200))
    drawn = robot_count_shares("kuka_kr16", n=12, seed=TEST_SEED)
    test = test_dataset("kuka_kr16", 12, (48, 64))
    rendered = np.bincount([test[i].num_robots for i in range(12)], minlength=4) / 12
    assert np.abs(drawn - rendered).sum() <= 2 / 12   # at most one scene counted differently
