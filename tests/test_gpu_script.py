"""scripts/gpu_train.sh, the one job for a lent GPU machine, runs end to end at tiny sizes
on the CPU (TINY=1): both trainings (the mesh Panda, dream), every evaluation, the
files it promises."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_script_runs_at_tiny_sizes(tmp_path):
    env = dict(os.environ, TINY="1", ROBOTPOSE_QUICK="1", PYTHON=sys.executable, OMP_NUM_THREADS="1",
               MPLBACKEND="Agg")
    res = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_train.sh"), str(tmp_path / "out"), "1"],
                         env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    out = tmp_path / "out"
    assert (out / "localization" / "checkpoint.pt").is_file()
    assert (out / "instances" / "checkpoint.pt").is_file()
    assert "pixel error per joint" in (out / "eval_localization.txt").read_text()
    assert "accuracy" in (out / "eval_instances.txt").read_text()
    assert "keypoint AUC 0-20 px" in (out / "eval_filmed.txt").read_text()
    log = (out / "run.log").read_text()
    assert "done:" in log and "failed" not in log
