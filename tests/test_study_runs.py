"""Study runs: a finished run is not trained again, an unfinished one resumes, costs add up."""
from __future__ import annotations

from robotpose_lib.checkpoint import load_checkpoint
from robotpose_lib.study_runs import last_logged_step, run_training

TOY = ["localization", "--config", "quick", "--robot", "toy", "--data", "toy", "--n-scenes", "8",
       "--batch-size", "2", "--workers", "0", "--threads", "1", "--log-every", "1", "--ckpt-every", "1",
       "--no-progress"]


def test_a_finished_run_is_kept_and_a_longer_one_resumes(tmp_path):
    out = tmp_path / "row"
    first = run_training(TOY, out, 2)
    assert last_logged_step(out) == 2 and first["cpu_s"] > 0 and first["wall_s"] > 0
    assert "--steps 2" in first["command"] and "--resume" not in first["command"]
    mtime = (out / "checkpoint.pt").stat().st_mtime_ns
    again = run_training(TOY, out, 2)
    assert again["cpu_s"] == first["cpu_s"] and (out / "checkpoint.pt").stat().st_mtime_ns == mtime
    longer = run_training(TOY, out, 3)
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 3 and last_logged_step(out) == 3
    assert longer["cpu_s"] > first["cpu_s"] and longer["wall_s"] > first["wall_s"]
