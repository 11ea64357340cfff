"""The reference models install with the package: a wheel carries them and
``Predictor.from_pretrained`` finds them after a plain install, from any working
directory; one place (``checkpoint.models_dir``) decides the folder."""
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from robotpose_lib import checkpoint

ROOT = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed_in_pyproject():
    """pyproject lists the packages (to map assets/models into the package): a new
    subpackage must be added there or a wheel would lack it."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "robotpose_lib").rglob("__init__.py")}
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages in pyproject.toml"


def test_models_dir_env_and_shipped_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(checkpoint.MODELS_DIR_ENV, raising=False)
    shipped = checkpoint.shipped_models_dir()
    assert checkpoint.models_dir() == shipped and (shipped / "panda_primitive_localization_cpu" / "model.pt").is_file()
    monkeypatch.setenv(checkpoint.MODELS_DIR_ENV, str(tmp_path))
    assert checkpoint.models_dir() == tmp_path
    assert checkpoint.reference_path("kuka_kr16", "instances") == tmp_path / "kuka_kr16_instances_cpu" / "model.pt"
    from robotpose_lib.predictor import Predictor, pretrained_paths

    assert checkpoint.find_reference("kuka_kr16") is None  # nothing there yet
    assert pretrained_paths("panda_primitive")[0] == tmp_path / "panda_primitive_localization_cpu" / "model.pt"
    with pytest.raises(FileNotFoundError, match="ROBOTPOSE_MODELS_DIR"):
        Predictor.from_pretrained("panda_primitive")


LOAD_FROM_INSTALL = """
import os, sys, warnings
import torch
torch.set_num_threads(1)
import robotpose_lib
from robotpose_lib.checkpoint import models_dir
from robotpose_lib.predictor import Predictor
site = sys.argv[1]
assert robotpose_lib.__file__.startswith(site), robotpose_lib.__file__
assert str(models_dir()).startswith(site), models_dir()
for robot in ("panda_primitive", "kuka_kr16"):
    pred = Predictor.from_pretrained(robot, device="cpu")
    assert pred.instances is not None and pred.sources["checkpoint"].startswith(site)
from robotpose_lib.eval.table1_study import find_study_dir
assert str(find_study_dir()).startswith(site), find_study_dir()
print("loaded from", models_dir())
"""


@pytest.mark.slow
def test_wheel_installs_the_reference_models(tmp_path):
    """Build a wheel from a copy of the sources, install it into a bare folder and load
    both robots' reference models from there in a fresh interpreter, elsewhere (~15 s)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "robotpose_lib", src / "robotpose_lib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "assets" / "models", src / "assets" / "models")
    shutil.copytree(ROOT / "assets" / "studies", src / "assets" / "studies")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    run = dict(capture_output=True, text=True, timeout=300)
    res = subprocess.run(pip + ["wheel", "--no-deps", "--no-build-isolation", str(src), "-w", str(tmp_path / "whl")],
                         cwd=tmp_path, **run)
    assert res.returncode == 0, res.stderr[-2000:]
    (wheel,) = (tmp_path / "whl").glob("robotpose-*.whl")
    site = tmp_path / "site"
    res = subprocess.run(pip + ["install", "--no-deps", "--no-index", "--target", str(site), str(wheel)], **run)
    assert res.returncode == 0, res.stderr[-2000:]
    models = site / "robotpose_lib" / "assets" / "models"
    assert (models / "panda_primitive_instances_cpu" / "model.pt").is_file()
    assert (models / "panda_primitive_instances_cpu" / "eval.json").is_file() and (models / "README.md").is_file()
    assert not (models / "panda_localization_cpu" / "resume").exists()  # a run's state stays out
    assert (site / "robotpose_lib" / "assets" / "studies" / "table1_ablation" / "study.json").is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in (checkpoint.MODELS_DIR_ENV, "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    res = subprocess.run([sys.executable, "-c", LOAD_FROM_INSTALL, str(site)], cwd=elsewhere, env=env, **run)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "loaded from" in res.stdout
