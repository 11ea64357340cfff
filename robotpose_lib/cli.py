"""The `robotpose` command: dispatches each sub-command to a module's ``main(argv)``.

Every module parses its own arguments, so this file only knows the table below. Library
errors on bad input (ValueError, FileNotFoundError, ...) become one line on stderr and a
non-zero exit code instead of a traceback.
"""
from __future__ import annotations

import importlib
import sys

# sub-command -> (module, one-line help)
COMMANDS = {
    "synth": ("robotpose_lib.data", "render a synthetic dataset to disk"),
    "train": ("robotpose_lib.train", "train the localization or instance model"),
    "eval": ("robotpose_lib.evaluate", "evaluate a checkpoint on the synthetic test set"),
    "predict": ("robotpose_lib.predictor", "predict robot poses in images"),
    "bench": ("robotpose_lib.bench", "benchmarks: synth, localization, runtime"),
}


def _usage() -> str:
    lines = ["usage: robotpose COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<8} {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "Run 'robotpose COMMAND --help' for the arguments of one command."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"robotpose: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    try:
        return int(module.main(rest) or 0)
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        print(f"robotpose {name}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"robotpose {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
