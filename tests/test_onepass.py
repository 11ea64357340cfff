"""The one-pass instance model (models/onepass.py, tasks/onepass.py, its calibration and
robot-free scenes in eval/): targets that decode back to the instances, the decoder's edge
cases, shapes and units, a tiny model that learns to count toy discs, the trainer task with
checkpoint and resume, the robotpose train/eval commands, Predictor, and one-line errors on
bad input."""
import numpy as np
import pytest
import torch

from robotpose_lib.ap import average_precision, counting_accuracy, instances_to_detections
from robotpose_lib.checkpoint import load_checkpoint
from robotpose_lib.eval.instances import calibrate_decoding, evaluate_instances
from robotpose_lib.eval.testset import robot_free_scenes
from robotpose_lib.models.instances import Instance
from robotpose_lib.structures import activated_box, mask_iou
from robotpose_lib.models.localization import get_config as get_localization_config
from robotpose_lib.models.onepass import (
    OnePassConfig,
    OnePassNet,
    cell_centres,
    decode_batch,
    decode_masks,
    get_config,
)
from robotpose_lib.tasks import OnePassModel, OnePassTask, load_model, onepass_task
from robotpose_lib.tasks.onepass import make_targets, onepass_loss, perfect_output
from robotpose_lib.toy import disc_batch, disc_sample
from robotpose_lib.train import TrainSettings, train

SIZE = (48, 64)


def _discs(size, discs):
    """(R, H, W) float masks of discs (u, v, radius)."""
    v, u = torch.meshgrid(torch.arange(size[0]), torch.arange(size[1]), indexing="ij")
    return torch.stack([(((u - cu) ** 2 + (v - cv) ** 2) <= r * r).float() for cu, cv, r in discs])


def _scenes():
    """Three images at 64x96: three separated discs, none, one disc."""
    size = (64, 96)
    masks = torch.zeros(3, 3, *size)
    masks[0] = _discs(size, [(15, 15, 9), (70, 20, 8), (40, 48, 10)])
    masks[2, 0] = _discs(size, [(60, 40, 12)])[0]
    return masks, torch.tensor([3, 0, 1]), size


def _evaluate(found, masks, counts):
    scores, predicted, truths = [], [], []
    for b, instances in enumerate(found):
        s, _, m = instances_to_detections(instances)
        scores.append(s)
        predicted.append(m if len(instances) else np.zeros((0, *masks.shape[-2:]), bool))
        truths.append(masks[b, :int(counts[b])].numpy() > 0.5)
    return average_precision(scores, predicted, truths, kind="mask"), [len(f) for f in found], predicted, truths


def test_perfect_network_output_decodes_to_the_true_instances():
    masks, counts, size = _scenes()
    targets = make_targets(masks, counts, (8, 12), centre_sigma_px=8.0)
    found = decode_batch(perfect_output(targets), min_active_fraction=0.0)
    result, predicted_counts, predicted, truths = _evaluate(found, masks, counts)
    assert predicted_counts == [3, 0, 1]
    assert result.mean_ap == pytest.approx(1.0)
    assert counting_accuracy(predicted_counts, counts.tolist())[-1]["accuracy"] == 1.0
    # each mask is exactly one robot's pixels, not merely an IoU >= 0.5 match
    for p, t in zip(predicted, truths):
        if len(t):
            assert np.allclose(np.sort(mask_iou(p, t).max(1)), 1.0)
    for instances in found:
        assert all(isinstance(i, Instance) and 0 < i.score <= 1 and i.mask.shape == size for i in instances)
        assert all(torch.equal(i.box, activated_box(i.mask)) for i in instances)


@pytest.mark.parametrize("grid", [(8, 8), (16, 16)])
def test_perfect_output_of_crowded_toy_scenes_counts_every_scene_right(grid):
    _, masks, counts = disc_batch(32, torch.Generator().manual_seed(3), size=(64, 64), stride=8, max_robots=4,
                                  radius=(4.0, 10.0))
    found = decode_batch(perfect_output(make_targets(masks, counts, grid)), min_active_fraction=0.0)
    result, predicted_counts, _, _ = _evaluate(found, masks, counts)
    assert predicted_counts == counts.tolist()
    # Discs that touch share cells: with 8-pixel cells a cell's offset points to the disc
    # covering most of it, so edge pixels of its neighbour go astray (one disc of these 32
    # scenes falls below IoU 0.5); 4-pixel cells resolve them.
    assert result.at(0.5) >= (0.95 if grid == (8, 8) else 1.0)


def test_targets_have_the_documented_units():
    masks, counts, size = _scenes()
    h, w = 8, 12  # stride 8
    t = make_targets(masks, counts, (h, w), centre_sigma_px=8.0, background_weight=0.25)
    assert t.foreground.shape == (3, 1, *size) and t.centre.shape == (3, 1, h, w)
    assert t.offset.shape == (3, 2, h, w) and t.offset_weight.shape == (3, 1, h, w)
    assert t.valid.tolist() == [[True] * 3, [False] * 3, [True, False, False]]
    assert torch.isnan(t.centres[2, 1:]).all()
    # the centre of the one-disc image is the disc's centre pixel, in output pixels
    torch.testing.assert_close(t.centres[2, 0], torch.tensor([60.0, 40.0]))
    # heatmap: exactly 1 at the cell holding the centre (u 60 -> col 7, v 40 -> row 5)
    assert t.centre[2, 0, 5, 7] == 1.0 and (t.centre[2] == 1.0).sum() == 1
    # every cell points at the centre: cell centre + offset x stride = centre pixel
    cu, cv = cell_centres((h, w), size)
    voted_u = cu.view(1, w) + t.offset[2, 0] * 8
    voted_v = cv.view(h, 1) + t.offset[2, 1] * 8
    torch.testing.assert_close(voted_u, torch.full((h, w), 60.0))
    torch.testing.assert_close(voted_v, torch.full((h, w), 40.0))
    # weights: 1 on cells the disc touches, the background weight elsewhere, 0 without robots
    assert set(t.offset_weight[2].unique().tolist()) == {0.25, 1.0}
    assert t.offset_weight[1].abs().sum() == 0 and t.offset[1].abs().sum() == 0 and t.centre[1].max() == 0


def test_decoder_finds_nothing_without_foreground_or_without_centres():
    h, w, size = 6, 8, (48, 64)
    centre = torch.zeros(h, w)
    centre[2, 3] = 0.9
    offset = torch.zeros(2, h, w)
    assert decode_masks(torch.zeros(size), centre, offset) == []            # peak but no robot pixel
    assert decode_masks(torch.full(size, 0.9), torch.zeros(h, w), offset) == []  # robot pixels, no peak
    assert decode_masks(torch.full(size, 0.9), centre, offset, max_instances=0) == []
    one = decode_masks(torch.full(size, 0.9), centre, offset)
    assert len(one) == 1 and one[0].score == pytest.approx(0.81)
    # a peak below the threshold is no robot; an instance smaller than the area rule neither
    assert decode_masks(torch.full(size, 0.9), centre * 0.2, offset, centre_threshold=0.3) == []
    small = torch.zeros(size)
    small[20:22, 30:32] = 0.9
    assert decode_masks(small, centre, offset, min_active_fraction=0.01) == []


def test_network_shapes_and_predict_records():
    torch.manual_seed(0)
    net = OnePassNet(12, "quick")
    f = torch.randn(2, 12, 6, 8)
    out = net(f, (48, 64))
    assert out.foreground.shape == (2, 1, 48, 64) and out.centre.shape == (2, 1, 6, 8)
    assert out.offset.shape == (2, 2, 6, 8)
    net.centre_threshold.fill_(0.0)  # every local maximum is a centre: instances to inspect
    found = net.predict(f, (48, 64), min_active_fraction=0.0, max_instances=3)
    assert len(found) == 2 and all(len(x) <= 3 for x in found)
    for instances in found:
        scores = [i.score for i in instances]
        assert scores == sorted(scores, reverse=True)
        for inst in instances:
            assert inst.mask.shape == (48, 64) and 0 <= float(inst.mask.min()) and float(inst.mask.max()) <= 1
            box = activated_box(inst.mask)
            assert (inst.box is None and box is None) or torch.equal(inst.box, box)
        # masks of one image are disjoint: every pixel belongs to at most one robot
        if instances:
            assert (torch.stack([i.mask for i in instances]) > 0).sum(0).max() <= 1
    assert net.training  # predict restored the mode


def test_tiny_model_learns_to_count_two_robot_toy_scenes(one_thread):
    f, masks, counts = disc_batch(16, torch.Generator().manual_seed(0), size=(32, 32), stride=4, max_robots=2)
    assert set(counts.tolist()) == {0, 1, 2}
    torch.manual_seed(0)
    net = OnePassNet(3, get_config("quick", centre_sigma_px=4.0))
    targets = make_targets(masks, counts, (8, 8), centre_sigma_px=4.0)

    def counted_right():
        found = net.predict(f, (32, 32), min_active_fraction=0.0)
        return np.mean([len(x) == int(c) for x, c in zip(found, counts)]), found

    before, _ = counted_right()
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    net.train()
    for _ in range(150):
        loss, _ = onepass_loss(net(f, (32, 32)), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after, found = counted_right()
    assert before < 0.6 and after == 1.0
    result, _, _, _ = _evaluate(found, masks, counts)
    assert result.at(0.5) >= 0.9




def _task():
    localization = get_localization_config("quick", input_size=SIZE, backbone_weights=None)
    return OnePassTask("panda_primitive", get_config("quick"), localization, num_joints=7)


def test_task_trains_resumes_and_reloads(tmp_path, one_thread):
    task = _task()
    model = task.build_model().train()
    assert isinstance(model, OnePassModel) and not model.localization.training
    batch = task.collate([disc_sample(0, 2), disc_sample(1, 0)])
    loss, parts = task.loss(model, batch)
    loss.backward()
    assert all(p.grad is None for p in model.localization.parameters())
    assert parts["robots_per_image"] == 1.0 and {"bce", "dice", "centre", "offset_cells"} <= set(parts)

    dataset = [disc_sample(i, i % 3) for i in range(8)]
    settings = TrainSettings(steps=2, batch_size=2, ckpt_every=2, log_every=1, device="cpu", progress=False)
    assert train(task, dataset, tmp_path, settings)["step"] == 2
    settings.steps = 3
    assert train(task, dataset, tmp_path, settings, resume=True)["step"] == 3
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt", expect={"task": "onepass", "config": task.config_dict()})
    assert ckpt["step"] == 3

    model, rebuilt, _ = load_model(tmp_path / "checkpoint.pt", device="cpu", expect={"task": "onepass"})
    assert rebuilt.config_dict() == task.config_dict()
    free = [dataset[0], dataset[3]]  # toy scenes without a disc
    threshold, window, rows = calibrate_decoding(model, dataset[:4], SIZE, grid=(0.2, 0.9), windows=(3, 5),
                                                 robot_free=free)
    assert threshold in (0.2, 0.9) and window in (3, 5) and len(rows) == 4
    assert all(0.0 <= r["robot_free_none_found"] <= 1.0 for r in rows)
    with pytest.raises(ValueError, match="robot_free"):
        calibrate_decoding(model, dataset[:4], SIZE, robot_free=dataset[1:2])
    assert float(model.state_dict()["instances.centre_threshold"]) == pytest.approx(threshold)
    assert int(model.state_dict()["instances.centre_nms"]) == window
    evaluation = evaluate_instances(model, dataset[:4], SIZE, batch_size=2, min_active_fraction=0.0)
    assert evaluation["true_counts"] == [0, 1, 2, 0] and len(evaluation["predicted_counts"]) == 4


def test_predictor_takes_the_one_pass_model():
    from robotpose_lib.predictor import Predictor

    torch.manual_seed(0)
    model = _task().build_model().eval()
    model.instances.centre_threshold.fill_(0.0)
    predictor = Predictor(model.localization, model, "panda_primitive", device="cpu", min_score=0.0, min_joints=0)
    assert predictor.instances is model.instances
    sample = disc_sample(3, 2)
    K = np.array([[50.0, 0, 31.5], [0, 50.0, 23.5], [0, 0, 1]], np.float32)
    poses = predictor(sample.image, K)
    assert isinstance(poses, list)
    assert all(p.mask is None or p.mask.shape == SIZE for p in poses)


def test_robot_free_scenes_hold_no_robot():
    scenes = robot_free_scenes("panda_primitive", 2, (48, 64))
    assert len(scenes) == 2 and all(s.num_robots == 0 and s.image.shape == (48, 64, 3) for s in scenes)


def test_hard_negative_robot_free_scenes_add_objects_to_the_same_scenes():
    plain = robot_free_scenes("panda_primitive", 3, (48, 64))
    hard = robot_free_scenes("panda_primitive", 3, (48, 64), hard_negatives=True)
    assert all(s.num_robots == 0 and s.image.shape == (48, 64, 3) for s in hard)
    assert all(not np.array_equal(a.image, b.image) for a, b in zip(plain, hard))


def test_bad_inputs_are_one_line_value_errors():
    net = OnePassNet(12, "quick")
    masks, counts, _ = _scenes()
    cases = [
        lambda: net(torch.zeros(1, 11, 6, 8), (48, 64)),
        lambda: make_targets(masks[0], counts, (8, 12)),
        lambda: make_targets(masks, torch.tensor([4, 0, 1]), (8, 12)),
        lambda: make_targets(masks, torch.tensor([1, 1]), (8, 12)),
        lambda: make_targets(masks, counts, (128, 12)),
        lambda: OnePassConfig(width=0),
        lambda: OnePassConfig(centre_threshold=1.5),
        lambda: OnePassConfig.from_dict({"widht": 3}),
        lambda: get_config("huge"),
        lambda: decode_masks(torch.zeros(8, 8), torch.zeros(2, 2), torch.zeros(2, 3, 3)),
        lambda: decode_masks(torch.zeros(8, 8), torch.zeros(2, 2), torch.zeros(2, 2, 2), min_active_fraction=2),
        lambda: onepass_task("quick", "panda_primitive", centre_weight=3),
        lambda: onepass_task("quick", "panda_primitive", offset=-1.0),
        lambda: OnePassNet(0),
    ]
    for case in cases:
        with pytest.raises(ValueError) as info:
            case()
        assert "\n" not in str(info.value)
    with pytest.raises(FileNotFoundError):
        onepass_task("cpu", "panda_primitive", localization_checkpoint="/nonexistent/loc.pt")


def test_robotpose_commands_train_calibrate_evaluate_and_predict_with_it(tmp_path, capsys, one_thread):
    from robotpose_lib.checkpoint import save_checkpoint
    from robotpose_lib.cli import run_command
    from robotpose_lib.eval.real import load_predictor
    from robotpose_lib.predictor import Predictor
    from robotpose_lib.tasks import localization_task

    run = tmp_path / "run"
    argv = ["onepass", "--config", "quick", "--robot", "panda_primitive", "--out", str(run), "--steps", "2",
            "--batch-size",
            "2", "--n-scenes", "8", "--workers", "0", "--threads", "1", "--device", "cpu", "--no-progress",
            "--calibrate", "2"]
    assert run_command("train", argv) == 0
    assert "validation scenes (seed 31337)" in capsys.readouterr().out
    path = run / "checkpoint.pt"
    ckpt = load_checkpoint(path, expect={"task": "onepass", "robot": "panda_primitive"})
    calibration = ckpt["extra"]["calibration"]
    assert ckpt["step"] == 2 and calibration["n"] == 2 and calibration["seed"] == 31337
    assert float(ckpt["model"]["instances.centre_threshold"]) == pytest.approx(calibration["threshold"])
    model, task, _ = load_model(path, device="cpu")
    assert isinstance(model, OnePassModel) and isinstance(task, OnePassTask)

    # eval TASK takes a checkpoint of that task: onepass here, not instances
    assert run_command("eval", ["onepass", "--checkpoint", str(path), "--n", "2", "--robot-free", "1",
                                "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "counting accuracy" in out and "centre threshold" in out and "robot-free scenes (seed 777)" in out
    assert "hard negatives" not in out
    assert run_command("eval", ["onepass", "--checkpoint", str(path), "--n", "1", "--robot-free", "1",
                                "--hard-negatives", "--device", "cpu"]) == 0
    assert "robot-free scenes with hard negatives (seed 777)" in capsys.readouterr().out
    assert run_command("eval", ["onepass", "--checkpoint", str(path), "--n", "1", "--hard-negatives"]) != 0
    assert "--hard-negatives: needs --robot-free" in capsys.readouterr().err
    assert run_command("eval", ["onepass", "--checkpoint", str(path), "--n", "1", "--robot-free", "0",
                                "--hard-negatives"]) != 0
    assert "M >= 1" in capsys.readouterr().err
    assert run_command("eval", ["instances", "--checkpoint", str(path), "--n", "1"]) == 1
    assert "'instances' requested" in capsys.readouterr().err

    predictor = Predictor.load(path, robot="panda_primitive", device="cpu")
    assert isinstance(predictor.instances, OnePassNet)
    # robotpose eval real --checkpoint LOC --instances ONEPASS
    loc_task = localization_task("quick", "panda_primitive")
    loc = save_checkpoint(tmp_path / "loc.pt", {"task": "localization", "robot": "panda_primitive",
                                               "config": loc_task.config_dict(), "step": 0,
                                               "model": model.localization.state_dict(), "extra": loc_task.extra()})
    predictor = load_predictor(str(loc), str(path), device="cpu")
    assert isinstance(predictor.instances, OnePassNet)
    with pytest.raises(Exception, match="instances or onepass"):
        load_predictor(str(loc), str(loc), device="cpu")


def test_nms_window_merges_two_peaks_of_one_robot_and_old_checkpoints_keep_3x3():
    """Two centre peaks two cells apart (one robot seen as two) are two instances with a
    3x3 window and one with 5x5; the window is a saved buffer, and weights from before it
    existed load as 3x3."""
    from robotpose_lib.models.onepass import find_centres

    centre = torch.zeros(10, 12)
    centre[4, 4], centre[4, 6] = 0.9, 0.8
    assert len(find_centres(centre, 0.5, 10, window=3)[1]) == 2
    cells, values = find_centres(centre, 0.5, 10, window=5)
    assert cells.tolist() == [[4, 4]] and values.tolist() == [pytest.approx(0.9)]
    for bad in (0, 4, -3, True, 2.5):
        with pytest.raises(ValueError, match="centre_nms"):
            find_centres(centre, 0.5, 10, window=bad)
    with pytest.raises(ValueError, match="centre_nms"):
        get_config("quick", centre_nms=6)
    net = OnePassNet(12, "quick")
    assert int(net.centre_nms) == 3
    old = {k: v for k, v in net.state_dict().items() if k != "centre_nms"}
    net.centre_nms.fill_(7)
    net.load_state_dict(old)
    assert int(net.centre_nms) == 3


def test_robot_free_validation_scenes_hold_no_robot_and_are_not_the_test_ones():
    from robotpose_lib.eval.testset import ROBOT_FREE_SEED, robot_free_validation_scenes

    scenes = robot_free_validation_scenes("panda_primitive", 2, (48, 64))
    test = robot_free_scenes("panda_primitive", 2, (48, 64))
    assert all(s.num_robots == 0 and s.image.shape == (48, 64, 3) for s in scenes)
    assert not np.array_equal(scenes[0].image, test[0].image)
    with pytest.raises(ValueError, match="seed"):
        robot_free_validation_scenes("panda_primitive", 1, (48, 64), seed=ROBOT_FREE_SEED)


def test_replace_localization_puts_a_newer_net_into_an_instance_checkpoint(tmp_path):
    """The swapped checkpoint loads with the new net's architecture and weights, keeps the
    instance weights, and a checkpoint for another robot is refused."""
    from robotpose_lib.checkpoint import CheckpointError, replace_localization, save_checkpoint
    from robotpose_lib.tasks import localization_task

    task = _task()
    model = task.build_model()
    instance = {"task": "onepass", "robot": task.robot, "config": task.config_dict(), "step": 1,
                "model": model.state_dict(), "extra": {**task.extra(), "targets": {}}}
    loc_task = localization_task("quick", task.robot, backbone_weights=None, depth_context=2)
    loc_model = loc_task.build_model()
    loc = {"task": "localization", "robot": task.robot, "config": loc_task.config_dict(), "step": 5,
           "model": loc_model.state_dict(), "extra": loc_task.extra()}
    swapped = replace_localization(instance, loc, "new_loc.pt")
    save_checkpoint(tmp_path / "swapped.pt", swapped)
    rebuilt, _, _ = load_model(tmp_path / "swapped.pt", device="cpu", expect={"task": "onepass"})
    assert rebuilt.localization.config.depth_context == 2
    for k, v in loc_model.state_dict().items():
        torch.testing.assert_close(rebuilt.localization.state_dict()[k], v)
    for k, v in model.instances.state_dict().items():
        torch.testing.assert_close(rebuilt.instances.state_dict()[k], v)
    with pytest.raises(CheckpointError, match="made for"):
        replace_localization(instance, {**loc, "robot": "kuka_kr16"}, "other.pt")
    with pytest.raises(CheckpointError, match="expected 'localization'"):
        replace_localization(instance, instance, "instance.pt")


def test_a_localization_checkpoint_from_before_a_config_field_existed_still_builds(tmp_path):
    # Regression: the shipped panda localization file predates depth_context; its stored
    # config has no such key, which means the default (0), and must not read as a mismatch.
    from robotpose_lib.checkpoint import CheckpointError, save_checkpoint
    from robotpose_lib.tasks import localization_task
    from robotpose_lib.tasks.onepass import onepass_task

    loc_task = localization_task("quick", "panda_primitive")
    net = loc_task.build_model()
    config = loc_task.config_dict()
    old_config = {k: v for k, v in config.items() if k != "depth_context"}
    assert old_config != config  # the field is really left out
    path = save_checkpoint(tmp_path / "old_loc.pt", {
        "task": "localization", "robot": "panda_primitive", "config": old_config, "step": 0,
        "model": net.state_dict(), "extra": loc_task.extra()})
    task = onepass_task("quick", "panda_primitive", localization_checkpoint=path)
    model = task.build_model()
    weight = next(iter(net.state_dict()))
    assert torch.equal(model.localization.state_dict()[weight], net.state_dict()[weight])

    # a real mismatch is still refused
    from dataclasses import replace
    task.localization_config = replace(task.localization_config, depth_context=2)
    with pytest.raises(CheckpointError, match="localization configuration"):
        task.build_model()


def test_compare_instance_models_adds_hard_negative_robot_free_scenes_only_when_asked():
    from robotpose_lib.eval.instances import compare_instance_models
    from robotpose_lib.tasks.onepass import onepass_task

    task = onepass_task("quick", "panda_primitive")
    models = {"onepass": (task.build_model(), task.input_size)}
    plain = compare_instance_models(models, "panda_primitive", 0, robot_free=2)
    both = compare_instance_models(models, "panda_primitive", 0, robot_free=2, hard_negatives=True)
    assert "robot_free_hard_negatives" not in plain
    assert plain["robot_free"] == both["robot_free"]  # the same plain scenes either way
    hard = both["robot_free_hard_negatives"]
    assert hard["n"] == 2 and hard["seed"] == plain["robot_free"]["seed"]
    assert 0.0 <= hard["onepass"]["none_found"] <= 1.0
