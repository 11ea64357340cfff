"""Trainer: overfitting, deterministic batches, kill + resume, corrupt checkpoints, DDP."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from robotpose_lib.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from robotpose_lib.tasks import load_model, localization_task
from robotpose_lib.toy import ToyDiscDataset
from robotpose_lib.cli import run_command
from robotpose_lib.train import StepBatchSampler, TrainSettings, read_metrics, train
from robotpose_lib.viz.training import plot_loss_curves

ROOT = Path(__file__).resolve().parents[1]
# Tiny run shared by the CLI tests: toy discs at 48x64, batch 2.
CLI = ["localization", "--config", "quick", "--robot", "toy", "--n-scenes", "16",
       "--batch-size", "2", "--workers", "0", "--no-progress", "--threads", "1"]


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def main(argv):
    """``robotpose train ARGV``: exit code 0, 1 (a failed input or run) or 2 (usage)."""
    return run_command("train", argv)


def tiny_task():
    return localization_task("quick", "toy", input_size=(48, 64))


def _env():
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return env


def test_loss_decreases_on_one_batch(tmp_path):
    task = tiny_task()
    ds = ToyDiscDataset(2, (48, 64))  # two samples, batch 2: the same batch every step
    s = TrainSettings(steps=80, batch_size=2, lr=3e-3, ckpt_every=100, log_every=1,
                      progress=False, device="cpu", threads=1)
    train(task, ds, tmp_path, s)
    losses = [r["loss"] for r in read_metrics(tmp_path / "metrics.jsonl")]
    assert len(losses) == 80
    assert losses[-1] < 0.3 * losses[0], losses[::10]
    import matplotlib
    matplotlib.use("Agg")
    ax = plot_loss_curves(tmp_path)
    assert len(ax.lines) == task.config.stages
    model, task2, ckpt = load_model(tmp_path / "checkpoint.pt")
    assert ckpt["step"] == 80 and task2.num_joints == 3 and not model.training


def test_batches_do_not_depend_on_the_start_step():
    full = list(StepBatchSampler(10, 3, steps=9, seed=1))
    assert list(StepBatchSampler(10, 3, steps=9, start_step=4, seed=1)) == full[4:]
    # every epoch visits every index once
    stream = [i for b in full for i in b][:20]
    assert sorted(stream[:10]) == list(range(10)) and sorted(stream[10:]) == list(range(10))
    # two processes split each global batch
    r0 = list(StepBatchSampler(10, 2, steps=3, seed=1, rank=0, world_size=2))
    r1 = list(StepBatchSampler(10, 2, steps=3, seed=1, rank=1, world_size=2))
    g = list(StepBatchSampler(10, 4, steps=3, seed=1))
    assert [a + b for a, b in zip(r0, r1)] == g


def test_killed_run_resumes_at_its_checkpoint_step(tmp_path):
    out = tmp_path / "run"
    args = [sys.executable, "-m", "robotpose_lib.train", *CLI, "--out", str(out),
            "--steps", "30", "--ckpt-every", "3", "--log-every", "1"]
    proc = subprocess.Popen(args, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    ckpt = out / "checkpoint.pt"
    deadline = time.time() + 120
    while not ckpt.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert ckpt.exists(), proc.stdout.read().decode()[-2000:]
    saved = load_checkpoint(ckpt)["step"]
    assert 3 <= saved < 30 and saved % 3 == 0  # killed mid-run
    # Without --resume an existing run is never overwritten.
    assert main([*CLI, "--out", str(out), "--steps", "30"]) == 1
    res = subprocess.run(args + ["--resume"], env=_env(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert f"resuming {ckpt} at step {saved}" in res.stdout
    final = load_checkpoint(ckpt)
    assert final["step"] == 30
    steps = [r["step"] for r in read_metrics(out / "metrics.jsonl")]
    assert steps == list(range(1, 31))
    # The resumed run reproduces the uninterrupted one (same batches, same RNG states).
    ref = tmp_path / "ref"
    assert main([*CLI, "--out", str(ref), "--steps", "30", "--ckpt-every", "30"]) == 0
    ref_state = load_checkpoint(ref / "checkpoint.pt")["model"]
    for k, v in final["model"].items():
        torch.testing.assert_close(v, ref_state[k], rtol=1e-4, atol=1e-5, msg=k)


def test_corrupt_and_mismatched_checkpoints(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"not a checkpoint at all")
    assert main([*CLI, "--out", str(out), "--steps", "2", "--resume"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(out / "checkpoint.pt") in err[0] and "corrupt" in err[0]

    task = tiny_task()
    save_checkpoint(out / "checkpoint.pt", {"task": "localization", "robot": "toy",
                                            "config": task.config_dict(), "step": 1, "model": {}})
    with pytest.raises(CheckpointError, match=r"robot is 'toy' in the checkpoint, 'panda'"):
        load_checkpoint(out / "checkpoint.pt", expect={"robot": "panda"})
    # The CLI's quick config has input 96x128, the checkpoint 48x64: named in the message.
    assert main([*CLI, "--out", str(out), "--steps", "2", "--resume"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "config.input_size" in err[0] and "checkpoint.pt" in err[0]
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint(tmp_path / "missing.pt")


def test_two_process_torchrun_on_cpu(tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "robotpose_lib.train", *CLI, "--out", str(out), "--steps", "3",
           "--ckpt-every", "3", "--device", "cpu"]
    res = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    ckpt = load_checkpoint(out / "checkpoint.pt")
    assert ckpt["step"] == 3
    rows = read_metrics(out / "metrics.jsonl")
    assert rows[-1]["step"] == 3
    assert rows[-1]["samples_per_s"] > 0


def test_depth_weight_scales_only_the_depth_term():
    from robotpose_lib.losses import localization_loss

    g = torch.Generator().manual_seed(0)
    stages = [(torch.rand(2, 3, 8, 8, generator=g), torch.rand(2, 1, 8, 8, generator=g))]
    tgt = {"beliefs": torch.rand(2, 3, 8, 8, generator=g), "depth": torch.rand(2, 1, 8, 8, generator=g),
           "weight": (torch.rand(2, 1, 8, 8, generator=g) > 0.5).float()}
    l1, p1 = localization_loss(stages, tgt)
    l10, p10 = localization_loss(stages, tgt, depth_weight=10.0)
    assert p10["depth_0"] == p1["depth_0"] and p10["belief_0"] == p1["belief_0"]
    assert float(l10) == pytest.approx(p1["belief_0"] + 10 * p1["depth_0"], rel=1e-6)


def test_overrides_reach_model_targets_and_loss():
    task = localization_task("quick", "toy", input_size=(48, 64), sigma=2.5, depth_weight=30)
    assert task.config.input_size == (48, 64) and task.targets.sigma == 2.5
    assert task.depth_weight == 30
    with pytest.raises(ValueError, match="unknown field"):
        localization_task("quick", "toy", sigmaa=2)
    with pytest.raises(ValueError, match="depth_weight"):
        localization_task("quick", "toy", depth_weight=-1)


def test_warm_start_copies_weights_and_keeps_depth_weight(tmp_path):
    task = localization_task("quick", "toy", input_size=(48, 64), depth_weight=5)
    ds = ToyDiscDataset(4, (48, 64))
    s = TrainSettings(steps=3, batch_size=2, ckpt_every=100, progress=False, device="cpu", threads=1)
    train(task, ds, tmp_path / "a", s)
    _, task_a, ckpt_a = load_model(tmp_path / "a" / "checkpoint.pt")
    assert task_a.depth_weight == 5
    # zero steps from the warm start: the new run's weights are the old run's
    s0 = TrainSettings(steps=0, batch_size=2, progress=False, device="cpu", threads=1,
                       init_from=str(tmp_path / "a" / "checkpoint.pt"))
    train(task, ds, tmp_path / "b", s0)
    ckpt_b = load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    assert ckpt_b["step"] == 0
    for k, v in ckpt_a["model"].items():
        assert torch.equal(v, ckpt_b["model"][k]), k
    # another robot's checkpoint is refused with a one-line error
    other = localization_task("quick", "panda", input_size=(48, 64))
    with pytest.raises(CheckpointError, match="robot"):
        train(other, ds, tmp_path / "c", s0)


def test_term_history_joins_parts(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    from robotpose_lib.viz.training import plot_term_history

    for part, n in (("a", 30), ("b", 20)):
        (tmp_path / part).mkdir()
        rows = [{"step": s, "belief_0": 1e-3, "depth_0": 1e-5, "belief_1": 2e-3, "depth_1": 2e-5}
                for s in range(1, n + 1)]
        (tmp_path / part / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ax = plot_term_history([tmp_path / "a", tmp_path / "b"], smooth=5, labels=["one", "two"])
    belief = ax.lines[-2]
    assert belief.get_xdata()[-1] == 50  # 30 + 20 steps
    assert np.allclose(belief.get_ydata(), 2e-3)  # the last stage (index 1)
    with pytest.raises(ValueError, match="no metrics"):
        (tmp_path / "empty.jsonl").write_text("")
        plot_term_history([tmp_path / "empty.jsonl"])


def test_wall_time_budget_stops_with_a_checkpoint_and_resume_finishes(tmp_path):
    task = tiny_task()
    ds = ToyDiscDataset(8, (48, 64))
    s = TrainSettings(steps=50, batch_size=2, ckpt_every=100, log_every=1, progress=False,
                      device="cpu", threads=1, max_seconds=0.0)  # spent after the first step
    result = train(task, ds, tmp_path, s)
    assert result["step"] == 1 and load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 1
    s.max_seconds = None
    assert train(task, ds, tmp_path, s, resume=True)["step"] == 50


def test_low_res_intermediate_supervision_trains_and_is_recorded(tmp_path):
    from robotpose_lib.losses import pool_targets

    task = localization_task("quick", "toy", input_size=(48, 64), intermediate="low_res")
    ds = ToyDiscDataset(2, (48, 64))
    s = TrainSettings(steps=60, batch_size=2, lr=3e-3, ckpt_every=100, log_every=1,
                      progress=False, device="cpu", threads=1)
    train(task, ds, tmp_path, s)
    losses = [r["loss"] for r in read_metrics(tmp_path / "metrics.jsonl")]
    assert losses[-1] < 0.5 * losses[0], losses[::10]
    _, task2, _ = load_model(tmp_path / "checkpoint.pt")
    assert task2.intermediate == "low_res"
    # pooled targets: a joint's peak stays 1; depth is the weighted mean of its cell
    batch = task.collate([ds[0]])
    pooled = pool_targets(batch, (6, 8))
    assert torch.allclose(pooled["beliefs"].amax(dim=(2, 3)), batch["beliefs"].amax(dim=(2, 3)))
    w, d = batch["weight"], batch["depth"]
    expect = (w * d).sum() / w.sum()
    got = (pooled["weight"] * pooled["depth"]).sum() / pooled["weight"].sum()
    assert torch.allclose(got, expect, rtol=1e-4)
    with pytest.raises(ValueError, match="intermediate"):
        localization_task("quick", "toy", intermediate="half")


def test_bad_recipe_and_time_budget_are_usage_errors_for_any_data(tmp_path, capsys):
    assert main([*CLI, "--out", str(tmp_path / "a"), "--steps", "2", "--recipe", "nope"]) == 2
    assert "--recipe" in capsys.readouterr().err and not (tmp_path / "a").exists()
    assert main([*CLI, "--out", str(tmp_path / "b"), "--steps", "2", "--max-minutes", "-1"]) == 2
    assert "--max-minutes" in capsys.readouterr().err and not (tmp_path / "b").exists()


def test_chapter_2_gpu_live_run_settings_train_on_any_device(tmp_path):
    """Chapter 2 on a GPU trains the paper-size `gpu` configuration with two rendering
    workers: the same settings, on the CPU, run a step and write a loadable checkpoint
    whose configuration is the paper's stage sizes."""
    from robotpose_lib.data import SyntheticDataset

    task = localization_task("gpu", "panda")
    data = SyntheticDataset("panda", 2, size=task.input_size, seed=1)
    result = train(task, data, tmp_path, TrainSettings(steps=1, batch_size=2, ckpt_every=1,
                                                       log_every=1, num_workers=2, threads=1,
                                                       progress=False, device="cpu"))
    assert result["step"] == 1 and np.isfinite(result["loss"])
    model, loaded, _ = load_model(tmp_path / "checkpoint.pt")
    cfg = loaded.config
    assert (cfg.name, cfg.stages, cfg.width, cfg.later_kernel, cfg.head_width) == ("gpu", 5, 128, 7, 512)
    assert not cfg.freeze_backbone
