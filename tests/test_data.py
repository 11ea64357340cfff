"""Datasets on the fly and on disk: determinism, round trips, clear errors, resuming."""
import numpy as np
import pytest

from robotpose_lib.cli import main
from robotpose_lib.data import DiskDataset, SyntheticDataset, read_sample, write_dataset

SIZE = (64, 80)


def test_dataset_is_deterministic_per_index():
    ds = SyntheticDataset("panda_primitive", 4, SIZE, seed=2)
    assert len(ds) == 4
    assert ds[1].image.tobytes() == ds[1].image.tobytes()
    with pytest.raises(IndexError):
        ds[4]


def test_disk_round_trip(tmp_path):
    ds = SyntheticDataset("kuka_kr16", 3, SIZE, seed=4)
    write_dataset(tmp_path, ds, progress=False)
    disk = DiskDataset(tmp_path)
    assert len(disk) == 3 and disk.robot == "kuka_kr16"
    for i in range(3):
        a, b = ds[i], disk[i]
        assert a.image.tobytes() == b.image.tobytes()
        np.testing.assert_array_equal(a.masks, b.masks)
        for key in ("joints_2d", "joints_3d", "visibility", "K", "joint_angles", "base_poses", "depth"):
            np.testing.assert_array_equal(getattr(a, key), getattr(b, key))


@pytest.mark.parametrize("damaged, keep", [("images/000000.png", 40), ("annotations/000000.npz", 100)])
def test_truncated_and_missing_files_are_named(tmp_path, damaged, keep):
    write_dataset(tmp_path, SyntheticDataset("panda_primitive", 2, SIZE, seed=1), progress=False)
    path = tmp_path / damaged
    path.write_bytes(path.read_bytes()[:keep])
    with pytest.raises(ValueError, match=path.name):
        read_sample(tmp_path, 0)
    (tmp_path / "annotations" / "000001.npz").unlink()
    with pytest.raises(FileNotFoundError, match="000001.npz"):
        read_sample(tmp_path, 1)


def test_interrupted_writing_resumes(tmp_path):
    ds = SyntheticDataset("panda_primitive", 3, SIZE, seed=9)
    write_dataset(tmp_path, ds, progress=False)
    (tmp_path / "annotations" / "000002.npz").unlink()  # as if killed before sample 2 completed
    before = (tmp_path / "images" / "000000.png").stat().st_mtime_ns
    write_dataset(tmp_path, ds, progress=False)
    assert (tmp_path / "annotations" / "000002.npz").exists()
    assert (tmp_path / "images" / "000000.png").stat().st_mtime_ns == before
    with pytest.raises(ValueError, match="different dataset"):
        write_dataset(tmp_path, SyntheticDataset("panda_primitive", 3, SIZE, seed=10), progress=False)


def test_cli_synth_writes_a_dataset(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["synth", "--robot", "panda_primitive", "--n", "2", "--size", "48x64", "--seed", "1",
                 "--out", str(out)]) == 0
    assert len(DiskDataset(out)) == 2
    assert "wrote 2 samples" in capsys.readouterr().out


def test_missing_dataset_folder_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset.json"):
        DiskDataset(tmp_path / "nope")


def test_a_version_1_dataset_folder_keeps_meaning_its_robot_and_training_checks_it(tmp_path):
    """Before format 2, robot "panda" was the primitive Panda: an old folder is read with
    today's name, and a run of another robot refuses it instead of training on it."""
    import json

    from robotpose_lib.data import training_dataset

    root = write_dataset(tmp_path / "d", SyntheticDataset("panda_primitive", 2, size=(48, 64), seed=1),
                         progress=False)
    meta = json.loads((root / "dataset.json").read_text())
    assert meta["version"] == 2 and DiskDataset(root).robot == "panda_primitive"
    (root / "dataset.json").write_text(json.dumps({**meta, "version": 1, "robot": "panda"}))
    assert DiskDataset(root).robot == "panda_primitive"
    assert len(training_dataset(str(root), "panda_primitive", 2, (48, 64))) == 2
    with pytest.raises(ValueError, match="a dataset of robot 'panda_primitive', but the run trains 'panda'"):
        training_dataset(str(root), "panda", 2, (48, 64))
