"""Put a newer localization net into a shipped instance checkpoint, in place, and measure it.

    python scripts/swap_localization.py INSTANCE.pt LOCALIZATION.pt [--calibrate N] [--eval-n N] [--robot-free N]

The instance model (recurrent or one-pass) keeps its weights and reads the new net's
beliefs and depth (``checkpoint.replace_localization``); a one-pass model's decoding is
calibrated again on validation scenes (``--calibrate``, default 100). The instance
checkpoint's model card (``INSTANCE.md`` beside it) gets a section with the test figures
measured after the swap (``robotpose eval TASK --n N --robot-free M``); the rest of the
card is kept, so what it says of training stays true.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from robotpose_lib.checkpoint import load_checkpoint, replace_localization, save_checkpoint  # noqa: E402
from robotpose_lib.eval.instances import calibrate_checkpoint, format_calibration  # noqa: E402
from robotpose_lib.tasks import INSTANCE_TASKS  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("instance", type=Path)
    p.add_argument("localization", type=Path)
    p.add_argument("--calibrate", type=int, default=100, help="validation scenes (one-pass models)")
    p.add_argument("--eval-n", type=int, default=100, help="test scenes")
    p.add_argument("--robot-free", type=int, default=40, help="robot-free test scenes")
    args = p.parse_args(argv)
    ckpt = load_checkpoint(args.instance)
    if ckpt["task"] not in INSTANCE_TASKS:
        raise SystemExit(f"{args.instance}: a {ckpt['task']!r} checkpoint; expected one of {', '.join(INSTANCE_TASKS)}")
    loc = load_checkpoint(args.localization, expect={"task": "localization", "robot": ckpt["robot"]})
    save_checkpoint(args.instance, replace_localization(ckpt, loc, args.localization))
    lines = [f"## Localization net replaced by `{args.localization}` (step {loc['step']})", ""]
    if ckpt["task"] == "onepass" and args.calibrate:
        cal = format_calibration(calibrate_checkpoint(args.instance, args.calibrate))
        lines += [f"Decoding calibrated again (`python scripts/onepass_study.py calibrate {args.instance} "
                  f"--n {args.calibrate}`): {cal}.", ""]
    command = ["eval", ckpt["task"], "--checkpoint", str(args.instance), "--n", str(args.eval_n),
               "--robot-free", str(args.robot_free)]
    run = subprocess.run([sys.executable, "-m", "robotpose_lib", *command], capture_output=True, text=True, cwd=ROOT)
    lines += [f"Measured after the swap (`robotpose {' '.join(command)}`):", "", "```",
              run.stdout.strip() or run.stderr.strip()[-2000:], "```", ""]
    card = args.instance.with_suffix(".md")
    if card.is_file():
        card.write_text(card.read_text().rstrip() + "\n\n" + "\n".join(lines))
    print("\n".join(lines))
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
