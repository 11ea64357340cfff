"""Copy a finished training run into assets/checkpoints/ as a reference model.

    python scripts/ship_reference.py RUN_DIR NAME --command "robotpose train ..." [--eval-n N]

Writes, next to each other in assets/checkpoints/:
  NAME.pt             the checkpoint without optimiser/scheduler/RNG state (inference only;
                      resume training from the run directory instead)
  NAME.metrics.jsonl  the training log
  NAME.md             a model card: data, steps, time, the command, and evaluation figures
                      measured now on the fixed synthetic test set
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from robotpose_lib.cards import training_seconds  # noqa: E402
from robotpose_lib.checkpoint import INFERENCE_KEYS, load_checkpoint, replace_localization, save_checkpoint  # noqa: E402
from robotpose_lib.tasks import INSTANCE_TASKS  # noqa: E402
from robotpose_lib.train import read_metrics  # noqa: E402



def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("run_dir", type=Path)
    p.add_argument("name")
    p.add_argument("--command", required=True, help="the command that trained the run")
    p.add_argument("--eval-n", type=int, default=100)
    p.add_argument("--notes", default="")
    p.add_argument("--checkpoint-name", default="checkpoint.pt", help="file in RUN_DIR to ship")
    p.add_argument("--localization", type=Path, help="instance models only: replace the localization weights "
                   "inside the instance checkpoint by this localization checkpoint's (the instance "
                   "model then runs on a newer localization net than it was trained on; say so in --notes)")
    args = p.parse_args()

    ckpt = load_checkpoint(args.run_dir / args.checkpoint_name)
    if args.localization is not None:
        if ckpt["task"] not in INSTANCE_TASKS:
            raise SystemExit(f"--localization only applies to instance checkpoints ({', '.join(INSTANCE_TASKS)})")
        loc = load_checkpoint(args.localization, expect={"task": "localization", "robot": ckpt["robot"]})
        ckpt = replace_localization(ckpt, loc, args.localization)
    out_dir = ROOT / "assets" / "checkpoints"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{args.name}.pt"
    save_checkpoint(target, {k: ckpt[k] for k in INFERENCE_KEYS if k in ckpt})
    shutil.copyfile(args.run_dir / "metrics.jsonl", out_dir / f"{args.name}.metrics.jsonl")

    rows = read_metrics(args.run_dir / "metrics.jsonl")
    seconds = training_seconds(rows)
    batch = ckpt.get("settings", {}).get("batch_size", "?")
    seed = ckpt.get("settings", {}).get("seed", 0)
    evaluation = subprocess.run(
        [sys.executable, "-m", "robotpose_lib", "eval", ckpt["task"], "--checkpoint", str(target),
         "--n", str(args.eval_n)], capture_output=True, text=True, cwd=ROOT)
    card = [
        f"# {args.name}",
        "",
        f"- task: {ckpt['task']}, robot: {ckpt['robot']}, config: `{ckpt['config'].get('name', '?')}`",
        f"- trained for {ckpt['step']} steps of batch {batch} "
        f"(about {ckpt['step'] * batch if isinstance(batch, int) else '?'} synthetic scenes rendered on the fly, "
        f"training seed {seed}), {seconds / 60:.0f} min wall time on the 2-core CPU machine "
        "(shared with other jobs while it ran)",
        f"- final logged loss: {rows[-1]['loss']:.5f} (first: {rows[0]['loss']:.5f})",
        f"- reproduce: `{args.command}`",
        f"- parameters: {sum(v.numel() for v in ckpt['model'].values() if v.is_floating_point()):,} "
        "floats in the state dict",
        "",
        args.notes,
        "",
        f"## Evaluation on the fixed synthetic test set (`robotpose eval {ckpt['task']} "
        f"--checkpoint {target.relative_to(ROOT)} --n {args.eval_n}`)",
        "",
        "```",
        (evaluation.stdout.strip() or "(no output)")
        + ("\n" + evaluation.stderr.strip()[-2000:] if evaluation.returncode else ""),
        "```",
        "",
    ]
    (out_dir / f"{args.name}.md").write_text("\n".join(card))
    print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB) and its model card")
    return evaluation.returncode


if __name__ == "__main__":
    sys.exit(main())
