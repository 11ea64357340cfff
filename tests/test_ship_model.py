"""scripts/ship_model.py refuses, before writing anything, a run that is not the folder's
model: another robot's weights, a run behind the steps the folder records, a new part
(--new-part) that was not warm-started from the folder's weights, or a command that did not
train it (the train CLI rejects it, or it names another robot or recipe). Run on a copy of
a shipped folder."""
import importlib.util
import re
import shutil
import sys
from pathlib import Path

import pytest

from robotpose_lib.checkpoint import load_checkpoint, save_checkpoint

ROOT = Path(__file__).resolve().parents[1]
NAME = "panda_localization_cpu"


def _ship_model(root: Path):
    spec = importlib.util.spec_from_file_location("ship_model", ROOT / "scripts" / "ship_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.ROOT = root  # the copy, never the repository's folders
    return module


COMMAND = "robotpose train localization --config cpu --robot {robot} --recipe dream --out run"


@pytest.mark.parametrize("robot, step, init, command, message", [
    ("panda_primitive", 10**6, None, COMMAND.format(robot="panda_primitive"),
     "holds a 'panda' model (robot), the run's checkpoint is 'panda_primitive'"),
    ("panda", 3, None, COMMAND.format(robot="panda"), "the run is at step 3, behind the"),
    ("panda", 3, "elsewhere.pt", COMMAND.format(robot="panda"), "--new-part: the run was not warm-started from"),
    ("panda", 10**6, None, COMMAND.format(robot="kuka_kr16"),
     "--command trains a 'kuka_kr16' model (robot), the run's checkpoint is 'panda'"),
    ("panda", 10**6, None, COMMAND.format(robot="panda").replace("dream", "paper"),
     "--recipe dream but the command trains on 'paper'"),
    ("panda", 10**6, None, "robotpose train x", "robotpose train rejects it"),
])
def test_a_run_that_is_not_the_folders_model_is_refused(tmp_path, monkeypatch, robot, step, init, command,
                                                        message):
    folder = tmp_path / "root" / "assets" / "models" / NAME
    folder.mkdir(parents=True)
    for name in ("lineage.json", "model.pt"):
        shutil.copy(ROOT / "assets" / "models" / NAME / name, folder / name)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    shipped = load_checkpoint(folder / "model.pt")
    settings = dict(shipped.get("settings") or {}, init_from=init) if init else shipped.get("settings")
    run = tmp_path / "run"
    run.mkdir()
    save_checkpoint(run / "checkpoint.pt", {**shipped, "robot": robot, "step": step, "settings": settings})
    (run / "metrics.jsonl").write_text("")
    monkeypatch.setattr(sys, "argv", ["ship_model.py", str(run), NAME, "--command", command,
                                      "--recipe", "dream", "--no-eval", *(["--new-part"] if init else [])])
    with pytest.raises((SystemExit, ValueError), match=re.escape(message)):
        _ship_model(tmp_path / "root").main()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
