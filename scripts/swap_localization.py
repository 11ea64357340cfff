"""Put a newer localization net into a shipped instance model, in place, and measure it.

    python scripts/swap_localization.py NAME LOCALIZATION.pt [--calibrate N]

NAME is a model folder under assets/models (an instance model, recurrent or one-pass). Its
model.pt keeps its instance weights and reads the new net's beliefs and depth
(``checkpoint.replace_localization``); a one-pass model's decoding is calibrated again on
validation scenes of its training recipe (``--calibrate``, default 100; never the test
seeds). The records say so (eval.json: "calibration", with the net's step), and the
check, the test set and the dev photos are measured again (``ship_model.measure``), so
the card (rendered from the records) describes the weights as they are now.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from robotpose_lib import records  # noqa: E402
from robotpose_lib.checkpoint import load_checkpoint, replace_localization, save_checkpoint  # noqa: E402
from robotpose_lib.eval.instances import calibrate_checkpoint, format_calibration  # noqa: E402
from robotpose_lib.tasks import INSTANCE_TASKS  # noqa: E402
from ship_model import measure  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name", help="model folder under assets/models")
    p.add_argument("localization", type=Path)
    p.add_argument("--calibrate", type=int, default=100, help="validation scenes (one-pass models)")
    p.add_argument("--eval-n", type=int, default=200)
    args = p.parse_args(argv)
    folder = ROOT / "assets" / "models" / args.name
    model = folder / "model.pt"
    if not model.is_file():
        raise SystemExit(f"swap_localization: no model folder {folder} (the names: assets/models/README.md)")
    ckpt = load_checkpoint(model)
    if ckpt["task"] not in INSTANCE_TASKS:
        raise SystemExit(f"{model}: a {ckpt['task']!r} checkpoint; expected one of {', '.join(INSTANCE_TASKS)}")
    loc = load_checkpoint(args.localization, expect={"task": "localization", "robot": ckpt["robot"]})
    shown = str(args.localization.resolve().relative_to(ROOT)) if args.localization.resolve().is_relative_to(ROOT) \
        else str(args.localization)
    save_checkpoint(model, replace_localization(ckpt, loc, shown))
    if ckpt["task"] == "onepass" and args.calibrate:
        recipe = records.read_json(folder / records.LINEAGE).get("recipe", "paper")
        cal = calibrate_checkpoint(model, args.calibrate, recipe=recipe)
        cal["localization_step"] = int(loc["step"])
        records.add_evaluation(
            folder, "calibration",
            f"python scripts/swap_localization.py {args.name} {shown} --calibrate {args.calibrate}", cal,
            f"localization net replaced by {shown} (step {loc['step']:,}); decoding calibrated again: "
            + format_calibration(cal))
    measure(folder, args.eval_n, shown)
    records.write_card(folder)
    print(f"{folder}: localization net of step {loc['step']}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (FileNotFoundError, ValueError) as err:   # CheckpointError is a ValueError
        sys.exit(f"swap_localization: {err}")
