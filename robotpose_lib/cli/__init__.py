"""The ``robotpose`` command: one module per sub-command, and the one place that decides
what a failure prints and which exit code it gives.

Each command module (``synth``, ``train``, ``eval``, ``predict``, ``bench``) has
``build_parser()`` (its arguments), ``check(args)`` (a usage problem the parser cannot see,
as one line, or None) and ``run(args)`` (calls typed library functions, prints its
results, returns 0 or 1). :func:`run_command` runs one of them and turns every failure
into one line on stderr, never a traceback, and the exit code of :data:`EXIT_CODES`.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import signal
import sys
import textwrap
import threading

from . import bench, predict, robots, synth, train
from . import eval as evaluate

# sub-command -> (module, one line of help)
COMMANDS = {
    "synth": (synth, "render a synthetic dataset to disk"),
    "train": (train, "train the localization or instance model"),
    "eval": (evaluate, "evaluate a checkpoint on the synthetic test set or on real photos"),
    "predict": (predict, "predict robot poses in images"),
    "bench": (bench, "benchmarks: " + ", ".join(bench.BENCHMARKS)),
    "robots": (robots, "the robots the library knows (or one from --urdf), with their keypoints"),
}

EXIT_CODES = {
    0: "done",
    1: "an input or the run failed: a file missing or unreadable, a checkpoint that does not fit, a bad image or "
       "camera description, a value the library rejects, a training that diverged (one line names it)",
    2: "usage: unknown command or option, a missing or malformed argument",
    130: "interrupted (Ctrl-C); a training run first writes its checkpoint",
    143: "terminated (SIGTERM: kill, a batch scheduler); a training run first writes its checkpoint",
}


class UsageError(Exception):
    """A command line the command cannot run (exit code 2)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived (exit code 143); training turns it into a checkpoint first."""

    signum = signal.SIGTERM


def _on_sigterm(signum, frame):
    raise Terminated("terminated")


@contextlib.contextmanager
def _sigterm_stops():
    """SIGTERM raises :class:`Terminated` while a command runs (main thread only), so it
    ends with one line and exit code 143 like Ctrl-C ends with 130."""
    old = None
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, OSError):
            old = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


def usage() -> str:
    lines = ["usage: robotpose COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<8} {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "Run 'robotpose COMMAND --help' for the arguments of one command.", "", "exit codes:"]
    for code, text in EXIT_CODES.items():
        lines += textwrap.wrap(text, 88, initial_indent=f"  {code:<4} ", subsequent_indent=" " * 7)
    return "\n".join(lines)


def _say(name: str, message: str) -> None:
    print(f"robotpose {name}: {message}", file=sys.stderr)


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """``parser.parse_args`` with argparse's usage errors (printed as a usage block, then
    exit 2) turned into :class:`UsageError`; ``--help`` still prints and exits 0."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            return parser.parse_args(argv)
    except SystemExit as stop:
        if not stop.code:
            raise
        lines = err.getvalue().strip().splitlines()
        message = lines[-1] if lines else "invalid arguments"
        raise UsageError(message.split(": error: ", 1)[-1]) from None


def run_command(name: str, argv: list[str]) -> int:
    """Run the sub-command ``name`` with its arguments; returns the exit code."""
    module = COMMANDS[name][0]
    try:
        args = _parse(module.build_parser(), argv)
        problem = module.check(args)
        if problem:
            raise UsageError(problem)
        with _sigterm_stops():
            return int(module.run(args) or 0)
    except SystemExit as stop:  # --help
        return int(stop.code or 0)
    except UsageError as err:
        _say(name, f"usage error: {err} (see robotpose {name} --help)")
        return 2
    except (ValueError, OSError, RuntimeError, FloatingPointError) as err:
        # CheckpointError, IntrinsicsError, ImageInputError are ValueErrors; FileNotFoundError an OSError
        text = str(err).splitlines()[0] if str(err) else type(err).__name__
        _say(name, f"error: {text}")
        return 1
    except KeyboardInterrupt as err:
        # train.TrainingInterrupted names the signal, the step and the checkpoint written
        signum = int(getattr(err, "signum", signal.SIGINT))
        text = str(err).splitlines()[0] if str(err) else ""
        _say(name, text if text and text != "terminated" else
             ("terminated" if signum == signal.SIGTERM else "interrupted"))
        return 128 + signum


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if argv[0] not in COMMANDS:
        print(f"robotpose: usage error: unknown command {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return run_command(argv[0], argv[1:])
