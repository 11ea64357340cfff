"""Files that cannot hurt (fileio.py): atomic writes that say when they replaced a file (and
when another process wrote it meanwhile), standard JSON only, names read from data files
kept inside their folder, the folder lock, stale temporary files."""
import json
import math
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from robotpose_lib.fileio import (FolderBusy, FolderLock, dumps_json, file_state, inside, json_safe,
                                  remove_stale_temps, write_atomic, write_json_atomic)

ROOT = Path(__file__).resolve().parents[1]


def _strict(text: str):
    """A standard JSON parser: NaN, Infinity and -Infinity are errors (RFC 8259)."""
    def refuse(token):
        raise ValueError(f"not standard JSON: {token}")
    return json.loads(text, parse_constant=refuse)


def test_json_is_standard_with_null_for_missing_numbers():
    value = {"a": float("nan"), "b": [1.0, float("inf"), -float("inf")], "c": np.float32(np.nan),
             "d": np.array([[1.5, np.nan]]), "e": (1, 2), "f": torch.tensor([0.5, float("nan")]), "g": np.int64(3),
             "h": Path("x/y"), 4: True, "i": None}
    text = dumps_json(value, indent=1)
    assert _strict(text) == {"a": None, "b": [1.0, None, None], "c": None, "d": [[1.5, None]], "e": [1, 2],
                             "f": [0.5, None], "g": 3, "h": "x/y", "4": True, "i": None}
    assert json_safe(2.5) == 2.5 and json_safe(math.pi) == math.pi
    with pytest.raises(TypeError, match="cannot write a object"):
        dumps_json({"x": object()})


def test_atomic_writes_say_what_they_replaced_and_who_wrote_meanwhile(tmp_path):
    path = tmp_path / "sub" / "out.json"
    first = write_json_atomic(path, {"v": 1})
    assert not first.replaced and first.note == "" and _strict(path.read_text()) == {"v": 1}
    second = write_json_atomic(path, {"v": 2})
    assert second.replaced and not second.concurrent and second.note == "replaced the earlier file"
    before = file_state(path)  # a command starts ...
    os.utime(path, ns=(1, 1))  # ... and another process writes the file meanwhile
    third = write_atomic(path, b"{}", before=before)
    assert third.concurrent and "another process" in third.note
    fresh = tmp_path / "new.json"
    before = file_state(fresh)  # None: absent when the command started
    fresh.write_text("{}")  # another process creates it
    assert write_json_atomic(fresh, {"v": 3}, before=before).concurrent
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["new.json", "out.json"]  # no temps


def test_two_writers_at_once_never_leave_half_a_file(tmp_path):
    """Two writers hammer one file while a reader reads it: every read is one writer's
    whole document, never a mix or a truncated one."""
    path = tmp_path / "preds.json"
    docs = {w: {"writer": w, "rows": [[w] * 50] * 200} for w in ("a", "b")}
    write_json_atomic(path, docs["a"])
    seen, stop = set(), threading.Event()

    def writer(w):
        for _ in range(40):
            write_json_atomic(path, docs[w])

    def reader():
        while not stop.is_set():
            doc = _strict(path.read_text())
            assert doc in docs.values()
            seen.add(doc["writer"])

    threads = [threading.Thread(target=writer, args=(w,)) for w in docs]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    assert _strict(path.read_text()) in docs.values()
    assert [p.name for p in tmp_path.iterdir()] == ["preds.json"]


@pytest.mark.parametrize("name", ["../x.png", "../../etc/passwd", "/etc/passwd", "a/../../x.png", "", None, 3,
                                  "a\0b"])
def test_names_from_data_files_stay_inside_their_folder(tmp_path, name):
    with pytest.raises(ValueError) as err:
        inside(tmp_path, name, tmp_path / "info.json", "img_file")
    assert "\n" not in str(err.value) and "info.json" in str(err.value) and "img_file" in str(err.value)


def test_names_inside_the_folder_are_read(tmp_path):
    assert inside(tmp_path, "rgb/0001.png", "info.json") == tmp_path / "rgb" / "0001.png"
    assert inside(tmp_path, "a/../b.png", "info.json") == tmp_path / "b.png"  # no folder "a" needed


def test_folder_lock_refuses_a_second_holder_and_takes_over_a_dead_one(tmp_path):
    folder = tmp_path / "run"
    with FolderLock(folder) as lock:
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()
        with pytest.raises(FolderBusy, match=rf"in use by process {os.getpid()} .*run\.lock"):
            FolderLock(folder).acquire()  # another open file: refused even in one process
    assert not folder.exists()  # made by the lock, left empty: removed
    folder.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (folder / "run.lock").write_text(json.dumps({"pid": dead.pid, "host": "elsewhere", "since": 0}))
    with FolderLock(folder) as lock:
        assert lock.taken_over == dead.pid
    assert folder.is_dir() and not (folder / "run.lock").exists()


def test_stale_temporary_files_of_named_outputs_are_removed(tmp_path):
    for name in ("checkpoint.pt.a1.tmp", "metrics.jsonl.b2.tmp", "other.txt.c3.tmp", "checkpoint.pt"):
        (tmp_path / name).write_text("x")
    removed = remove_stale_temps(tmp_path, ("checkpoint.pt", "metrics.jsonl"))
    assert sorted(p.name for p in removed) == ["checkpoint.pt.a1.tmp", "metrics.jsonl.b2.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt", "other.txt.c3.tmp"]


def test_sigterm_stops_any_command_with_one_line_and_exit_code_143(monkeypatch, capsys):
    from robotpose_lib.cli import eval as eval_cli
    from robotpose_lib.cli import run_command

    def run(args):
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM did not stop the command")

    monkeypatch.setattr(eval_cli, "run", run)
    before = signal.getsignal(signal.SIGTERM)
    assert run_command("eval", ["localization", "--checkpoint", "x.pt"]) == 143
    assert capsys.readouterr().err.strip().splitlines() == ["robotpose eval: terminated"]
    assert signal.getsignal(signal.SIGTERM) == before
