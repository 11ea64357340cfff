"""Trainer: overfitting, deterministic batches, kill + resume, corrupt checkpoints, DDP."""
import contextlib
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
    with pytest.raises(CheckpointError, match=r"robot is 'toy' in the checkpoint, 'panda_primitive'"):
        load_checkpoint(out / "checkpoint.pt", expect={"robot": "panda_primitive"})
    # The CLI's quick config has input 96x128, the checkpoint 48x64: named in the message.
    assert main([*CLI, "--out", str(out), "--steps", "2", "--resume"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "config.input_size" in err[0] and "checkpoint.pt" in err[0]
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint(tmp_path / "missing.pt")


def test_two_process_torchrun_on_cpu(tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "robotpose_lib", "train", *CLI, "--out", str(out), "--steps", "3",
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
    other = localization_task("quick", "panda_primitive", input_size=(48, 64))
    with pytest.raises(CheckpointError, match="robot"):
        train(other, ds, tmp_path / "c", s0)


def test_warm_start_onto_another_backbone_keeps_the_heads_and_the_new_backbones_weights(tmp_path):
    ds = ToyDiscDataset(4, (48, 64))
    s = TrainSettings(steps=1, batch_size=2, ckpt_every=100, progress=False, device="cpu", threads=1)
    train(tiny_task(), ds, tmp_path / "a", s)
    ckpt_a = load_checkpoint(tmp_path / "a" / "checkpoint.pt")
    bigger = localization_task("quick", "toy", input_size=(48, 64), backbone="lite1_s8", backbone_weights=None)
    torch.manual_seed(0)
    s0 = TrainSettings(steps=0, batch_size=2, progress=False, device="cpu", threads=1, seed=0,
                       init_from=str(tmp_path / "a" / "checkpoint.pt"))
    train(bigger, ds, tmp_path / "b", s0)
    ckpt_b = load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    assert ckpt_b["config"]["backbone"] == "lite1_s8"
    heads = [k for k in ckpt_a["model"] if not k.startswith("backbone.")]
    assert heads and all(torch.equal(ckpt_a["model"][k], ckpt_b["model"][k]) for k in heads)
    # the new backbone has 7 blocks where the old had 5: its weights are its own
    assert any(k.startswith("backbone._blocks.6.") for k in ckpt_b["model"])
    assert not any(k.startswith("backbone._blocks.6.") for k in ckpt_a["model"])
    # features with other channels (stride 4: 24, not 40): the weights of another shape
    # (each stage's first convolution) start fresh, every other head weight is copied
    stride4 = localization_task("quick", "toy", input_size=(48, 64), backbone="lite0_s4", backbone_weights=None)
    train(stride4, ds, tmp_path / "c", s0)
    ckpt_c = load_checkpoint(tmp_path / "c" / "checkpoint.pt")
    same = [k for k in heads if ckpt_c["model"][k].shape == ckpt_a["model"][k].shape]
    other = [k for k in heads if k not in same]
    assert other and all(k.startswith("stages.") for k in other)
    assert all(torch.equal(ckpt_a["model"][k], ckpt_c["model"][k]) for k in same)


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
    belief = next(line for line in ax.lines if line.get_label() == "belief term")
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

    task = localization_task("gpu", "panda_primitive")
    data = SyntheticDataset("panda_primitive", 2, size=task.input_size, seed=1)
    result = train(task, data, tmp_path, TrainSettings(steps=1, batch_size=2, ckpt_every=1,
                                                       log_every=1, num_workers=2, threads=1,
                                                       progress=False, device="cpu"))
    assert result["step"] == 1 and np.isfinite(result["loss"])
    model, loaded, _ = load_model(tmp_path / "checkpoint.pt")
    cfg = loaded.config
    assert (cfg.name, cfg.stages, cfg.width, cfg.later_kernel, cfg.head_width) == ("gpu", 5, 128, 7, 512)
    assert not cfg.freeze_backbone


# ------------------------------------------------- a run folder that tells the truth (issue 21)
def _steps_logged(folder):
    path = folder / "metrics.jsonl"
    return [r["step"] for r in read_metrics(path)] if path.exists() else []


def _wait_for(condition, proc, timeout=120):
    deadline = time.time() + timeout
    while not condition() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)


def test_kills_at_random_moments_then_resume_log_each_step_once_and_end_as_an_uninterrupted_run(tmp_path, capsys):
    """SIGKILL at random moments: the first as soon as training starts (mostly before any
    checkpoint), the second at a random time after a checkpoint (sometimes inside a
    checkpoint write); a stale temporary file planted; then resumed to the end. Every step
    is logged once, no temporary or lock file is left, and the weights are exactly those
    of an uninterrupted run (same batches, same RNG states)."""
    delays = np.random.default_rng(time.time_ns()).uniform(0, 0.08, 2)  # shown on failure
    out = tmp_path / "run"
    args = [sys.executable, "-m", "robotpose_lib", "train", *CLI, "--out", str(out),
            "--steps", "16", "--ckpt-every", "4", "--log-every", "1"]
    first = subprocess.Popen(args, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: (out / "metrics.jsonl").exists(), first)
    time.sleep(delays[0] / 8)
    first.kill()
    first.wait()
    second = subprocess.Popen(args + ["--resume"], env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: len(_steps_logged(out)) >= 6, second)
    time.sleep(delays[1])
    second.kill()
    second.wait()
    saved = load_checkpoint(out / "checkpoint.pt")["step"]
    assert 4 <= saved <= 16 and saved % 4 == 0, delays
    # Without --resume an existing run is never overwritten.
    assert main([*CLI, "--out", str(out), "--steps", "16"]) == 1
    assert "a checkpoint exists" in capsys.readouterr().err
    (out / "checkpoint.pt.abc123.tmp").write_bytes(b"half a checkpoint")  # as a kill mid-write leaves it
    assert main([*CLI, "--out", str(out), "--steps", "16", "--ckpt-every", "4", "--log-every", "1", "--resume"]) == 0
    assert f"resuming {out / 'checkpoint.pt'} at step {saved}" in capsys.readouterr().out
    assert _steps_logged(out) == list(range(1, 17)), delays
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "metrics.jsonl"], delays
    assert main([*CLI, "--out", str(tmp_path / "ref"), "--steps", "16", "--ckpt-every", "16"]) == 0
    final, ref = load_checkpoint(out / "checkpoint.pt"), load_checkpoint(tmp_path / "ref" / "checkpoint.pt")
    assert final["step"] == 16
    for k, v in ref["model"].items():
        assert torch.equal(v, final["model"][k]), (k, delays)


def test_a_run_killed_before_its_first_checkpoint_starts_its_log_afresh(tmp_path, capsys):
    """The repro: killed runs resumed from scratch kept their lines (steps 1-4 fourteen
    times each, a half-written last line); now the log holds each step once."""
    rows = "".join(json.dumps({"step": s, "loss": 1.0}) + "\n" for _ in range(14) for s in range(1, 5))
    tmp_path.joinpath("metrics.jsonl").write_text(rows + '{"step": 5, "lo')
    task, ds = tiny_task(), ToyDiscDataset(8, (48, 64))
    s = TrainSettings(steps=6, batch_size=2, ckpt_every=100, log_every=1, progress=False, device="cpu", threads=1)
    train(task, ds, tmp_path, s, resume=True)
    assert _steps_logged(tmp_path) == list(range(1, 7))
    assert "dropped 57 line(s) of an earlier run that left no checkpoint" in capsys.readouterr().out
    # the same without --resume: no checkpoint, so nothing is overwritten but the stale log
    other = tmp_path / "b"
    other.mkdir()
    other.joinpath("metrics.jsonl").write_text(rows)
    train(task, ds, other, s)
    assert _steps_logged(other) == list(range(1, 7))


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_ctrl_c_stop_after_the_step_with_a_checkpoint_and_one_line(tmp_path, monkeypatch, capsys,
                                                                                 signum, code):
    from robotpose_lib.tasks.localization import LocalizationTask

    calls = []
    loss = LocalizationTask.loss

    def loss_then_signal(self, model, batch):
        calls.append(1)
        if len(calls) == 3:  # arrives in the middle of step 3, as kill or a batch scheduler would
            os.kill(os.getpid(), signum)
        return loss(self, model, batch)

    monkeypatch.setattr(LocalizationTask, "loss", loss_then_signal)
    out = tmp_path / "run"
    argv = [*CLI, "--out", str(out), "--steps", "50", "--ckpt-every", "100", "--log-every", "1"]
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    assert main(argv) == code
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before  # handlers restored
    err = capsys.readouterr().err.strip().splitlines()
    name = signal.Signals(signum).name
    assert err == [f"robotpose train: stopped by {name} at step 3: checkpoint {out / 'checkpoint.pt'} written "
                   f"(continue with --resume)"]
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 3 and _steps_logged(out) == [1, 2, 3]
    assert not (out / "run.lock").exists()
    monkeypatch.setattr(LocalizationTask, "loss", loss)
    assert main([*argv[:-6], "--steps", "5", "--log-every", "1", "--resume"]) == 0
    assert _steps_logged(out) == [1, 2, 3, 4, 5]


def test_a_batch_schedulers_sigterm_to_the_whole_process_group_with_render_workers(tmp_path):
    """Schedulers (and a terminal's Ctrl-C) signal every process of the group: the render
    workers leave it to the main process, which finishes the step, writes the checkpoint
    and exits 143 with one line (a worker killed by it once failed the step, no checkpoint)."""
    out = tmp_path / "run"
    cli = [*CLI[:CLI.index("--workers")], "--workers", "1", *CLI[CLI.index("--workers") + 2:]]
    proc = subprocess.Popen([sys.executable, "-m", "robotpose_lib", "train", *cli, "--out", str(out), "--steps", "500",
                             "--ckpt-every", "1000", "--log-every", "1"], env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _wait_for(lambda: len(_steps_logged(out)) >= 2, proc)
        os.killpg(proc.pid, signal.SIGTERM)
        err = proc.communicate(timeout=60)[1].strip().splitlines()
    finally:  # a failed wait must not leave the run and its worker training for 500 steps
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 143, err
    step = load_checkpoint(out / "checkpoint.pt")["step"]
    assert err == [f"robotpose train: stopped by SIGTERM at step {step}: checkpoint {out / 'checkpoint.pt'} written "
                   f"(continue with --resume)"]
    assert _steps_logged(out) == list(range(1, step + 1))


def test_two_processes_cannot_share_a_run_folder_and_a_dead_holder_is_taken_over(tmp_path, capsys):
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from robotpose_lib.fileio import FolderLock; "
                               "FolderLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(60)",
                               str(out)], env=_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main([*CLI, "--out", str(out), "--steps", "2"]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"in use by process {holder.pid}" in err[0] and "run.lock" in err[0], err
        assert not (out / "checkpoint.pt").exists()
    finally:
        holder.kill()  # dies holding the lock: its file stays, naming a process that is gone
        holder.wait()
    assert (out / "run.lock").exists()
    assert main([*CLI, "--out", str(out), "--steps", "2"]) == 0
    assert f"taking over the lock of process {holder.pid}" in capsys.readouterr().out
    assert not (out / "run.lock").exists() and load_checkpoint(out / "checkpoint.pt")["step"] == 2
