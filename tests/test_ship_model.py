"""scripts/ship_model.py refuses, before writing anything, a run that is not the folder's
model: another robot's weights, a run behind the steps the folder records, or a new part
(--new-part) that was not warm-started from the folder's weights. Run on a copy of a
shipped folder."""
import importlib.util
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


@pytest.mark.parametrize("robot, step, init, message", [
    ("panda_primitive", 10**6, None, "holds a 'panda' model (robot), the run's checkpoint is 'panda_primitive'"),
    ("panda", 3, None, "the run is at step 3, behind the"),
    ("panda", 3, "elsewhere.pt", "--new-part: the run was not warm-started from"),
])
def test_a_run_that_is_not_the_folders_model_is_refused(tmp_path, monkeypatch, robot, step, init, message):
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
    monkeypatch.setattr(sys, "argv", ["ship_model.py", str(run), NAME, "--command", "robotpose train x",
                                      "--recipe", "dream", "--no-eval", *(["--new-part"] if init else [])])
    with pytest.raises(SystemExit, match=message.replace("(", r"\(").replace(")", r"\)")):
        _ship_model(tmp_path / "root").main()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
