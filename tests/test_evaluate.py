"""Evaluation of the localization network (robotpose_lib.eval.localization, robotpose
eval): a model that returns the ground-truth targets must score ~0 pixel and depth error;
a shifted one the shift; CLI errors are one line with a non-zero exit code."""
from __future__ import annotations

import hashlib
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from robotpose_lib import checkpoint
from robotpose_lib.cli import run_command
from robotpose_lib.eval import localization, testset
from robotpose_lib.viz import localization as viz_loc
from robotpose_lib.targets import TargetParams, depth_coding_for, make_targets, resize_sample

SIZE = (96, 128)  # (H, W) of samples and model input
ROBOT = "kuka_kr16"


def _key(image: torch.Tensor) -> str:
    return hashlib.sha1(image.cpu().numpy().tobytes()).hexdigest()


class TargetModel(nn.Module):
    """A fake localization model: returns each image's ground-truth targets, optionally
    shifted by ``shift`` pixels to the right."""

    def __init__(self, samples, params: TargetParams, shift: int = 0):
        super().__init__()
        from robotpose_lib.targets import image_to_tensor

        self.table = {}
        for s in samples:
            s = resize_sample(s, SIZE)
            t = make_targets(s, SIZE, params)
            self.table[_key(image_to_tensor(s.image))] = (torch.from_numpy(t["beliefs"]), torch.from_numpy(t["depth"]))
        self.shift = shift

    def forward(self, images, upsample="last"):
        beliefs, depth = zip(*(self.table[_key(im)] for im in images))
        beliefs = torch.stack(beliefs)
        if self.shift:
            beliefs = torch.roll(beliefs, self.shift, dims=-1)
            beliefs[..., : self.shift] = 0
        return SimpleNamespace(beliefs=beliefs, depth=torch.stack(depth))


@pytest.fixture(scope="module")
def samples():
    data = testset.test_dataset(ROBOT, 4, SIZE)
    return [data[i] for i in range(len(data))]


@pytest.fixture(scope="module")
def params():
    return TargetParams(depth=depth_coding_for(ROBOT))


def test_test_set_uses_its_own_seed_and_test_backgrounds():
    data = testset.test_dataset(ROBOT, 2, SIZE)
    assert data.seed == testset.TEST_SEED != 0
    assert data.params.background.split == "test"
    with pytest.raises(ValueError, match="training seed"):
        testset.test_dataset(ROBOT, 2, SIZE, seed=0)


def test_true_depth_map_holds_joint_depths(samples, params):
    """Independent check: every pixel of the weight region holds the camera z of the
    in-frame joint nearest to it in the image (the joint whose Gaussian is largest)."""
    checked = 0
    for s in samples:
        z = localization.true_depth_map(s, params)
        H, W = s.size
        uv = s.joints_2d.reshape(-1, 2)
        inside = (uv[:, 0] >= -0.5) & (uv[:, 0] < W - 0.5) & (uv[:, 1] >= -0.5) & (uv[:, 1] < H - 0.5)
        inside &= s.joints_3d.reshape(-1, 3)[:, 2] > 0
        ys, xs = np.nonzero(z > 0)
        if not len(ys):
            continue
        d2 = (xs[:, None] - uv[None, inside, 0]) ** 2 + (ys[:, None] - uv[None, inside, 1]) ** 2
        nearest = s.joints_3d.reshape(-1, 3)[inside, 2][np.argmin(d2, axis=1)]
        np.testing.assert_allclose(z[ys, xs], nearest, rtol=1e-5)
        # the region is the disc of radius sigma * sqrt(2 ln(1 / phi)) around the joints
        assert np.sqrt(d2.min(axis=1)).max() <= params.sigma * np.sqrt(2 * np.log(1 / params.phi)) + 1e-3
        checked += len(ys)
    assert checked > 100


def test_perfect_model_scores_zero(samples, params):
    model = TargetModel(samples, params)
    report = localization.evaluate_samples(model, samples, params, SIZE, batch_size=3, progress=False)
    assert report.scale == pytest.approx(640 / SIZE[1])
    assert report.counted.sum() >= 10
    for m in ("nms", "log"):
        e = report.pixel_errors[m][report.counted]
        assert report.misses(m) == 0
        assert np.nanmedian(e) < 0.05 * report.scale
        assert np.nanmax(e) < 0.05 * report.scale
    # depth: the decoded prediction equals the truth wherever the coding does not clamp
    assert report.depth_errors_cm.size > 100
    assert np.median(report.depth_errors_cm) < 0.01
    table = report.depth_table()
    assert table["near"]["n"] + table["far"]["n"] == report.depth_errors_cm.size
    text = report.format()
    assert "Table I" in text and "paper near" in text


def test_shifted_beliefs_give_the_shift(samples, params):
    shift = 2
    model = TargetModel(samples, params, shift=shift)
    report = localization.evaluate_samples(model, samples, params, SIZE, methods=("nms",), progress=False)
    e = report.pixel_errors["nms"][report.counted]
    assert np.nanmedian(e) == pytest.approx(shift * 640 / SIZE[1], abs=0.1 * report.scale)


def test_bad_method_is_an_error(samples, params):
    with pytest.raises(ValueError, match="methods"):
        localization.evaluate_samples(TargetModel(samples[:1], params), samples[:1], params, SIZE,
                                  methods=("max",), progress=False)


def test_plots(samples, params):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    report = localization.evaluate_samples(TargetModel(samples, params), samples, params, SIZE, progress=False)
    viz_loc.plot_pixel_errors(report)
    viz_loc.plot_depth_errors(report)
    fig = viz_loc.plot_stage_beliefs(samples[0].image, [np.zeros((6, *SIZE))] * 2, [f"j{i}" for i in range(6)])
    assert len(fig.axes) == 12
    plt.close("all")


@pytest.mark.parametrize("entry", ["run_command", "cli"])
def test_cli_missing_checkpoint_is_one_line(tmp_path, capsys, entry):
    argv = ["localization", "--checkpoint", str(tmp_path / "missing.pt"), "--n", "1"]
    if entry == "cli":
        from robotpose_lib import cli

        rc = cli.main(["eval", *argv])
    else:
        rc = run_command("eval", argv)
    err = capsys.readouterr().err.strip()
    assert rc != 0
    assert len(err.splitlines()) == 1 and "missing.pt" in err and "not found" in err


def test_cli_corrupt_checkpoint_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    for task in ("localization", "instances"):
        rc = run_command("eval", [task, "--checkpoint", str(bad), "--n", "1"])
        err = capsys.readouterr().err.strip()
        assert rc != 0
        assert len(err.splitlines()) == 1 and "bad.pt" in err


def test_cli_runs_on_a_checkpoint(tmp_path, capsys):
    from robotpose_lib.checkpoint import save_checkpoint
    from robotpose_lib.tasks import localization_task

    task = localization_task("quick", ROBOT, backbone_weights=None, input_size=SIZE)
    torch.manual_seed(0)
    model = task.build_model()
    path = save_checkpoint(tmp_path / "q.pt", {"task": task.name, "robot": task.robot,
                                               "config": task.config_dict(), "step": 0,
                                               "model": model.state_dict(), "extra": task.extra()})
    rc = run_command("eval", ["localization", "--checkpoint", str(path), "--n", "1", "--method", "nms",
                        "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "NMS peaks" in out and "LOG peaks" not in out and "paper near" in out
    # a localization checkpoint is not an instance checkpoint
    rc = run_command("eval", ["instances", "--checkpoint", str(path), "--n", "1"])
    err = capsys.readouterr().err
    assert rc != 0 and "task is 'localization'" in err and "'instances' requested" in err and str(path) in err


def test_cli_json_holds_the_printed_table_and_the_recipe_changes_the_test_set(tmp_path, capsys):
    import json
    import math

    from robotpose_lib.checkpoint import save_checkpoint
    from robotpose_lib.tasks import localization_task

    task = localization_task("quick", ROBOT, backbone_weights=None, input_size=SIZE)
    torch.manual_seed(0)
    path = save_checkpoint(tmp_path / "q.pt", {"task": task.name, "robot": task.robot,
                                               "config": task.config_dict(), "step": 0,
                                               "model": task.build_model().state_dict(), "extra": task.extra()})
    figures = {}
    for recipe in ("paper", "paper_readme"):
        out = tmp_path / f"{recipe}.json"
        rc = run_command("eval", ["localization", "--checkpoint", str(path), "--n", "2", "--method", "nms",
                                  "--recipe", recipe, "--json", str(out), "--no-progress"])
        printed = capsys.readouterr().out
        assert rc == 0
        figures[recipe] = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
        assert figures[recipe]["recipe"] == recipe and figures[recipe]["robots"] >= 1
        all_row = figures[recipe]["pixel_errors_px"]["nms"][-1]
        assert all_row["joint"] == "all" and f"{all_row['n']:7d}" in printed
        near = figures[recipe]["table_i_cm"]["near"]["mean"]
        assert near is None or f"{near:.2f}" in printed
    # the README's test set draws other scenes than the standard one (same seed)
    assert figures["paper"]["table_i_baseline_cm"] != figures["paper_readme"]["table_i_baseline_cm"]
    readme = testset.test_dataset(ROBOT, 3, SIZE, recipe="paper_readme")
    angles = np.concatenate([readme[i].joint_angles for i in range(3) if readme[i].num_robots])
    assert np.abs(angles).max() <= math.pi / 6 + 1e-6
    # --recipe and --json are refused where they mean nothing
    rc = run_command("eval", ["instances", "--checkpoint", str(path), "--recipe", "paper_readme"])
    assert rc != 0 and "--recipe" in capsys.readouterr().err


def test_reference_checkpoint_lookup(tmp_path, monkeypatch):
    monkeypatch.setenv(checkpoint.MODELS_DIR_ENV, str(tmp_path))
    assert checkpoint.find_reference("panda_primitive") is None
    (tmp_path / "panda_primitive_localization_cpu").mkdir()
    (tmp_path / "panda_primitive_localization_cpu" / "model.pt").write_bytes(b"x")
    assert checkpoint.find_reference("panda_primitive") == tmp_path / "panda_primitive_localization_cpu" / "model.pt"


def test_cli_instances_prints_ap_and_counting(tmp_path, capsys):
    """An (untrained) instance checkpoint goes through the whole instances path."""
    from robotpose_lib.checkpoint import save_checkpoint
    from robotpose_lib.tasks import InstanceTask
    from robotpose_lib.models.instances import get_config as instance_config
    from robotpose_lib.models.localization import get_config as localization_config

    task = InstanceTask(ROBOT, instance_config("quick"),
                        localization_config("quick", backbone_weights=None, input_size=SIZE), 6)
    torch.manual_seed(0)
    model = task.build_model()
    path = save_checkpoint(tmp_path / "inst.pt", {"task": task.name, "robot": task.robot,
                                                  "config": task.config_dict(), "step": 0,
                                                  "model": model.state_dict(), "extra": task.extra()})
    rc = run_command("eval", ["instances", "--checkpoint", str(path), "--n", "2", "--paper-rule"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "min active fraction 0.05" in out
    assert "box" in out and "mask" in out and "0.50:0.95" in out
    assert "counting accuracy" in out and "all" in out


def test_depth_baseline_is_the_median_guess():
    import numpy as np
    from robotpose_lib.eval.localization import LocalizationReport

    z = np.array([1.0, 2.0, 3.0, 6.0, 8.0])
    rep = LocalizationReport(robot="panda_primitive", joint_names=["a"], input_size=(24, 32), scale=20.0,
                             pixel_errors={"nms": np.zeros((1, 1))}, counted=np.ones((1, 1), bool),
                             depth_errors_cm=np.zeros(5), depth_true_m=z, num_images=1)
    base = rep.depth_baseline_table()
    # median 3 m: near errors 200, 100, 0 cm; far errors 300, 500 cm
    assert base["near"]["mean"] == 100.0 and base["far"]["mean"] == 400.0
    assert "baseline, the median true depth" in rep.format()


def _record(report, step, n=None):
    """A model's recorded test-set figures as ``eval localization --json`` writes them."""
    import json

    from robotpose_lib.fileio import dumps_json

    figures = dict(report.figures(), step=step, n=n or report.num_images, seed=testset.TEST_SEED, recipe="paper")
    return json.loads(dumps_json(figures))   # through JSON, as read back from eval.json (NaN -> null)


def test_card_comparison_reads_a_reproduced_a_changed_and_a_missing_record(samples, params):
    """The same report, recorded, is reproduced entry by entry; one changed entry is named;
    a record of another step, or none, gives no comparison."""
    from robotpose_lib.narration import localization_card_comparison
    from robotpose_lib.cards import differing_figures

    report = localization.evaluate_samples(TargetModel(samples, params, shift=3), samples, params, SIZE,
                                           batch_size=3, progress=False)
    report.joint_names = [f"j{i}" for i in range(len(report.joint_names))]  # one word each, as the robots'
    ckpt = {"step": 7}
    same = localization_card_comparison(ROBOT, report, _record(report, 7), ckpt)
    assert "reproduces the card's figures" in same and f"same {report.num_images} test scenes" in same
    assert same.endswith("The introduction's scorecard quotes these figures.")   # the paper's robot's
    other = localization_card_comparison("panda", report, _record(report, 7), ckpt)
    assert "reproduces the card's figures" in other and "scorecard" not in other   # it quotes kuka_kr16 only

    changed_record = _record(report, 7)
    changed_record["pixel_errors_px"]["nms"][0]["mean"] += 1.0
    changed = localization_card_comparison(ROBOT, report, changed_record, ckpt)
    diff, compared = differing_figures(changed_record, report.figures())
    assert len(diff) == 1 and compared > 10
    assert f"Of the {compared} figures of its evaluation, {compared - 1} agree" in changed
    assert "; 1 differs: " in changed and "the first of them" not in changed
    # a headline figure that differs is not listed among those that agree
    changed_record["pixel_errors_px"]["nms"][-1]["50%"] += 1.0
    changed = localization_card_comparison(ROBOT, report, changed_record, ckpt)
    assert "NMS median over all joints" not in changed.split("; 2 differ")[0]

    assert localization_card_comparison(ROBOT, report, _record(report, 8), ckpt) == ""
    assert localization_card_comparison(ROBOT, report, None, ckpt) == ""


def test_cli_validation_scenes_are_not_the_test_set(tmp_path, capsys):
    """``--validation``: the default instance model is chosen on these scenes, so they must
    be another seed than the test set's, and the JSON must say which scenes it measured."""
    import json

    from robotpose_lib.checkpoint import save_checkpoint
    from robotpose_lib.eval.testset import TEST_SEED, VALIDATION_SEED
    from robotpose_lib.tasks.onepass import onepass_task

    task = onepass_task("quick", "panda_primitive")
    torch.manual_seed(0)
    path = save_checkpoint(tmp_path / "o.pt", {"task": task.name, "robot": task.robot,
                                               "config": task.config_dict(), "step": 0,
                                               "model": task.build_model().state_dict(), "extra": task.extra()})
    figures = {}
    for split, flags in (("validation", ["--validation"]), ("test", [])):
        out = tmp_path / f"{split}.json"
        rc = run_command("eval", ["onepass", "--checkpoint", str(path), "--n", "1", "--no-progress",
                                  "--json", str(out), *flags])
        assert rc == 0, capsys.readouterr().err
        figures[split] = json.loads(out.read_text())
    assert (figures["validation"]["split"], figures["validation"]["seed"]) == ("validation", VALIDATION_SEED)
    assert (figures["test"]["split"], figures["test"]["seed"]) == ("test", TEST_SEED)
    assert "1 validation scenes of panda_primitive" in capsys.readouterr().out
    for argv in (["localization", "--checkpoint", str(path), "--validation"],
                 ["onepass", "--checkpoint", str(path), "--validation", "--robot-free", "2"]):
        assert run_command("eval", argv) != 0 and "--validation" in capsys.readouterr().err
