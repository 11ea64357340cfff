"""Files that cannot hurt: atomic writes, standard JSON, paths kept inside their folder and
a lock that keeps two processes out of one folder. Every file the library writes goes
through here.

* :func:`atomic_file` / :func:`write_atomic`: the bytes go to a temporary file beside the
  target (``{name}.XXXX.tmp``), are flushed to disk and ``os.replace``-d over it, so a
  reader (or a process killed mid-write) sees the old file or the new one, never half of
  one. :func:`write_atomic` also says whether it replaced a file, and whether another
  process wrote that file after ``before`` (:func:`file_state`, taken when the caller
  started), so a concurrent writer is never silently overwritten: the last writer wins
  and says so. :func:`remove_stale_temps` deletes the temporary files a kill left behind.
* :func:`json_safe` / :func:`dumps_json` / :func:`write_json_atomic`: standard JSON only
  (RFC 8259): NaN and infinities become ``null``, numpy and torch numbers plain numbers,
  tuples lists; ``allow_nan=False`` so nothing else slips through.
* :func:`inside`: a file name read from a data file (``info.json``'s ``img_file``, a
  downloaded list) resolved inside its folder, else one line saying it leaves the folder.
* :class:`FolderLock`: ``{folder}/run.lock``, held (``fcntl.flock``) while a process works
  in the folder; a second process gets one line naming the holder's pid, host and start
  time; a lock left by a process that no longer runs is taken over.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: the lock falls back to the recorded pid
    fcntl = None

TEMP_SUFFIX = ".tmp"
LOCK_NAME = "run.lock"


# ------------------------------------------------------------------------ atomic writes
@contextlib.contextmanager
def atomic_file(path: str | Path):
    """Open a temporary binary file beside ``path``; on leaving the block without an
    error it is flushed, synced and renamed over ``path`` (else removed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def file_state(path: str | Path) -> tuple[int, int, int] | None:
    """(inode, size, modification time in ns) of ``path``, None when absent: compare two to
    see whether the file was written in between."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


_NOW = object()


@dataclass
class Written:
    """What :func:`write_atomic` did.

    Attributes:
        path: the file written.
        replaced: a file of that name was there and is now replaced.
        concurrent: that file was written by someone else after the caller's ``before``
            state was taken (another process writing the same output).
    """

    path: Path
    replaced: bool = False
    concurrent: bool = False

    @property
    def note(self) -> str:
        """A clause for the caller's report: '' for a new file."""
        if self.concurrent:
            return "replaced a version another process wrote while this one ran"
        return "replaced the earlier file" if self.replaced else ""


def write_atomic(path: str | Path, data: bytes | str, before=_NOW) -> Written:
    """Write ``data`` (str: UTF-8) to ``path`` atomically (see :func:`atomic_file`).

    Args:
        before: :func:`file_state` of ``path`` when the caller started (None: it did not
            exist); a file that differs from it now was written by another process in
            between (``Written.concurrent``). Default: the state right now.
    """
    path = Path(path)
    now = file_state(path)
    before = now if before is _NOW else before
    with atomic_file(path) as f:
        f.write(data.encode() if isinstance(data, str) else data)
    return Written(path, replaced=now is not None, concurrent=now is not None and now != before)


def remove_stale_temps(folder: str | Path, names) -> list[Path]:
    """Delete ``{name}.*.tmp`` in ``folder`` for each of ``names``: what a process killed
    during :func:`atomic_file` left behind. Call it only while holding the folder (e.g. a
    :class:`FolderLock`), since another writer's temporary file looks the same."""
    removed = []
    for name in names:
        for tmp in Path(folder).glob(f"{name}.*{TEMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp)
    return removed


# ---------------------------------------------------------------------- standard JSON
def json_safe(value):
    """``value`` with everything JSON cannot hold turned into what it can: NaN and
    infinities -> None (``null``), numpy/torch scalars and arrays -> numbers and lists,
    tuples and sets -> lists, paths -> strings, dict keys -> strings."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist"):  # numpy arrays and scalars, torch tensors
        return json_safe(value.tolist())
    if hasattr(value, "__float__"):
        return json_safe(float(value))
    raise TypeError(f"json: cannot write a {type(value).__name__}")


def dumps_json(value, indent: int | None = None) -> str:
    """Standard JSON text of ``value`` (:func:`json_safe`, then ``allow_nan=False``)."""
    return json.dumps(json_safe(value), indent=indent, allow_nan=False)


def write_json_atomic(path: str | Path, value, indent: int | None = 1, before=_NOW) -> Written:
    """:func:`dumps_json` written with :func:`write_atomic` (a final newline added)."""
    return write_atomic(path, dumps_json(value, indent) + "\n", before=before)


def read_json_object(path: str | Path, what: str = "file"):
    """The JSON object in ``path`` (a dict). Raises FileNotFoundError ("<what> not found")
    or ValueError (not UTF-8, not JSON, not an object), one line naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not valid JSON (not UTF-8 text)") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a {what} must be a JSON object, got {type(data).__name__}")
    return data


# ------------------------------------------------------------------- paths from files
def inside(folder: str | Path, name, source: str | Path, what: str = "file name") -> Path:
    """``folder / name`` for a ``name`` read from the data file ``source``.

    Raises:
        ValueError: ``name`` is not a non-empty relative path that stays inside ``folder``
            (absolute, ``..`` above the folder, a drive, a NUL byte), in one line.
    """
    if not isinstance(name, str) or not name or "\0" in name:
        raise ValueError(f"{source}: {what} {name!r} is not a file name")
    rel = Path(name)
    parts = Path(os.path.normpath(name)).parts
    if rel.is_absolute() or rel.drive or rel.root or name.startswith(("/", "\\")) or (parts and parts[0] == ".."):
        raise ValueError(f"{source}: {what} {name!r} leaves the folder {folder} (only files inside it are read)")
    return Path(folder) / os.path.normpath(name)


# ------------------------------------------------------------------------ folder lock
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else
    return True


class FolderBusy(ValueError):
    """Another process holds the folder's lock; the message names it."""


class FolderLock:
    """``{folder}/run.lock`` held while this process works in ``folder``.

    ``with FolderLock(folder):`` or :meth:`acquire` / :meth:`release`. The lock is an
    ``fcntl.flock`` on the file (released by the kernel when the process dies, however it
    dies); the file records the holder's pid, host and start time for the message another
    process gets. Where flock is missing, a lock whose recorded process no longer runs on
    this host is taken over. ``taken_over`` names the pid of a dead holder whose lock this
    one replaced (None otherwise). Releasing removes the file (and ``folder`` when this
    lock created it and it is empty).
    """

    def __init__(self, folder: str | Path, what: str = "folder"):
        self.folder, self.what = Path(folder), what
        self.path = self.folder / LOCK_NAME
        self.taken_over: int | None = None
        self._fd: int | None = None
        self._made_folder = False

    def _holder(self) -> dict:
        try:
            return json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}

    def _busy(self, holder: dict) -> FolderBusy:
        pid = holder.get("pid", "?")
        host = holder.get("host") or "this machine"
        since = holder.get("since")
        when = ""
        if isinstance(since, (int, float)):
            when = time.strftime(" since %Y-%m-%d %H:%M:%S", time.localtime(since))
        return FolderBusy(f"{self.folder}: {self.what} in use by process {pid} on {host}{when} (lock {self.path}); "
                          f"wait for it to end or stop it")

    def acquire(self) -> "FolderLock":
        if not self.folder.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            self._made_folder = True
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        for _ in range(20):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if not self._lock_fd(fd):
                    raise self._busy(self._holder())
                state = file_state(self.path)
                if state is None or state[0] != os.fstat(fd).st_ino:
                    os.close(fd)  # the file was removed or replaced meanwhile: lock the new one
                    continue
            except BaseException:
                with contextlib.suppress(OSError):
                    os.close(fd)
                raise
            old = self._holder()
            if isinstance(old.get("pid"), int) and old["pid"] != os.getpid():
                self.taken_over = old["pid"]
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(me).encode())
            os.fsync(fd)
            self._fd = fd
            return self
        raise FolderBusy(f"{self.folder}: could not take the lock {self.path} (it keeps changing)")

    def _lock_fd(self, fd: int) -> bool:
        """Whether this process now holds the lock on ``fd``."""
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False
            except OSError:
                pass  # no flock on this file system: fall back to the recorded pid
        holder = self._holder()
        pid, host = holder.get("pid"), holder.get("host")
        return not (isinstance(pid, int) and pid != os.getpid() and host in (None, socket.gethostname())
                    and _pid_alive(pid))

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        with contextlib.suppress(OSError):
            os.close(self._fd)
        self._fd = None
        if self._made_folder:
            with contextlib.suppress(OSError):
                self.folder.rmdir()  # only when empty

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
