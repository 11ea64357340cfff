"""The instance model as a trainer Task: collate, a few training steps with checkpoint,
rebuilding from the checkpoint, and evaluation."""
import numpy as np
import pytest
import torch

from robotpose_lib.checkpoint import load_checkpoint
from robotpose_lib.eval.instances import evaluate_instances
from robotpose_lib.tasks import InstanceCollate, InstanceModel, InstanceTask
from robotpose_lib.models.instances import get_config as get_instance_config
from robotpose_lib.models.localization import get_config as get_localization_config
from robotpose_lib.train import TrainSettings, train
from robotpose_lib.toy import disc_sample

SIZE = (48, 64)


def _task():
    localization = get_localization_config("quick", input_size=SIZE, backbone_weights=None)
    return InstanceTask("panda_primitive", get_instance_config("quick"), localization, num_joints=7)


def test_collate_pads_masks_and_counts_robots():
    batch = InstanceCollate((24, 32))([disc_sample(0, 2), disc_sample(1, 0), disc_sample(2, 1)])
    assert batch["images"].shape == (3, 3, 24, 32)
    assert batch["masks"].shape == (3, 2, 24, 32) and batch["counts"].tolist() == [2, 0, 1]
    assert batch["masks"][1].sum() == 0 and batch["masks"][2, 1].sum() == 0 and batch["masks"][0, 1].sum() > 0


def test_frozen_localization_gets_no_gradient_and_stays_in_eval_mode():
    torch.manual_seed(0)
    task = _task()
    model = task.build_model()
    model.train()
    assert not model.localization.training and model.instances.training
    batch = task.collate([disc_sample(0, 2), disc_sample(1, 1)])
    loss, parts = task.loss(model, batch)
    loss.backward()
    assert all(p.grad is None for p in model.localization.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.instances.parameters())
    assert parts["loss"] == pytest.approx(loss.item()) and parts["robots_per_image"] == 1.5


def test_train_a_few_steps_then_rebuild_from_the_checkpoint(tmp_path, one_thread):
    task = _task()
    dataset = [disc_sample(i, i % 3) for i in range(8)]
    settings = TrainSettings(steps=3, batch_size=2, ckpt_every=3, log_every=1, device="cpu", progress=False)
    result = train(task, dataset, tmp_path, settings)
    assert result["step"] == 3 and np.isfinite(result["loss"])

    ckpt = load_checkpoint(tmp_path / "checkpoint.pt", expect={"task": "instances", "config": task.config_dict()})
    rebuilt_task = InstanceTask.from_checkpoint(ckpt)
    model = rebuilt_task.build_model()
    model.load_state_dict(ckpt["model"])
    assert isinstance(model, InstanceModel) and rebuilt_task.config_dict() == task.config_dict()

    evaluation = evaluate_instances(model, dataset[:4], SIZE, batch_size=2, max_instances=3)
    assert evaluation["true_counts"] == [0, 1, 2, 0]
    assert len(evaluation["predicted_counts"]) == 4 and max(evaluation["predicted_counts"]) <= 3
    assert evaluation["box"].num_ground_truth == 3 and evaluation["mask"].precision.shape == (10, 101)
    assert evaluation["counting"][-1]["true_count"] == "all"


def test_build_model_loads_the_localization_checkpoint(tmp_path):
    from robotpose_lib.checkpoint import save_checkpoint
    from robotpose_lib.models.localization import LocalizationNet

    config = get_localization_config("quick", input_size=SIZE, backbone_weights=None)
    torch.manual_seed(3)
    trained = LocalizationNet(config, 7)
    path = save_checkpoint(tmp_path / "loc.pt", {"task": "localization", "robot": "panda_primitive",
                                                  "config": config.to_dict(), "step": 1,
                                                  "model": trained.state_dict()})
    torch.manual_seed(4)  # a different initialisation, overwritten by the checkpoint
    task = InstanceTask("panda_primitive", get_instance_config("quick"), config, 7, localization_checkpoint=path)
    model = task.build_model()
    for name, value in trained.state_dict().items():
        torch.testing.assert_close(model.localization.state_dict()[name], value)
    assert task.extra()["localization_checkpoint"] == str(path)


def test_factory_needs_a_localization_checkpoint_except_in_quick_mode(tmp_path):
    from robotpose_lib.tasks import instance_task

    with pytest.raises(FileNotFoundError, match="localization checkpoint"):
        instance_task("cpu", "panda_primitive", localization_checkpoint=tmp_path / "missing.pt")
    task = instance_task("quick", "kuka_kr16")  # shipped quick checkpoint or an untrained net
    assert task.num_joints == 6 and task.input_size == tuple(get_localization_config("quick").input_size)


def test_factory_takes_the_localization_config_from_its_checkpoint(tmp_path):
    """A localization trained with a non-default config (here a smaller input) still
    plugs into the instance model, and eos_weight is an override."""
    from robotpose_lib.tasks import localization_task
    from robotpose_lib.toy import ToyDiscDataset
    from robotpose_lib.train import TrainSettings, train
    from robotpose_lib.tasks import instance_task

    loc = localization_task("quick", "panda_primitive", input_size=(48, 64))
    train(loc, ToyDiscDataset(2, (48, 64)), tmp_path, TrainSettings(steps=0, progress=False, device="cpu", threads=1))
    task = instance_task("quick", "panda_primitive", tmp_path / "checkpoint.pt", eos_weight=7.5)
    assert task.localization_config.input_size == (48, 64) and task.eos_weight == 7.5
    assert task.input_size == (48, 64)


@pytest.mark.parametrize("new_depth_context", [0, 1])
def test_warm_start_keeps_the_new_localization_weights(tmp_path, one_thread, new_depth_context):
    """--init from an instance checkpoint copies its instance weights, but the localization
    net stays the one this task was given (instance models retrained on a new localization),
    also when the new one has a depth-context branch that the old checkpoint lacks."""
    import dataclasses

    from robotpose_lib.checkpoint import save_checkpoint
    from robotpose_lib.models.localization import LocalizationNet

    base = get_localization_config("quick", input_size=SIZE, backbone_weights=None)
    configs = {5: base, 6: dataclasses.replace(base, depth_context=new_depth_context)}
    paths = []
    for seed, config in configs.items():
        torch.manual_seed(seed)
        net = LocalizationNet(config, 7)
        paths.append(save_checkpoint(tmp_path / f"loc{seed}.pt", {
            "task": "localization", "robot": "panda_primitive", "config": config.to_dict(), "step": 1,
            "model": net.state_dict()}))
    dataset = [disc_sample(i, i % 3) for i in range(4)]
    settings = TrainSettings(steps=2, batch_size=2, ckpt_every=2, log_every=1, device="cpu", progress=False)
    old = InstanceTask("panda_primitive", get_instance_config("quick"), base, 7, localization_checkpoint=paths[0])
    train(old, dataset, tmp_path / "old", settings)
    old_state = load_checkpoint(tmp_path / "old" / "checkpoint.pt")["model"]

    new = InstanceTask("panda_primitive", get_instance_config("quick"), configs[6], 7,
                       localization_checkpoint=paths[1])
    settings.steps, settings.lr, settings.init_from = 1, 0.0, str(tmp_path / "old" / "checkpoint.pt")
    train(new, dataset, tmp_path / "new", settings)
    state = load_checkpoint(tmp_path / "new" / "checkpoint.pt")["model"]
    new_loc = load_checkpoint(paths[1])["model"]
    for name, value in new_loc.items():
        if value.is_floating_point():
            torch.testing.assert_close(state[f"localization.{name}"], value)
    conv = "instances.cell.input_conv.weight"
    torch.testing.assert_close(state[conv], old_state[conv])  # lr 0: the warm-started weights
