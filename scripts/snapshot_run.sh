#!/usr/bin/env bash
# Commit the resumable state of a training run in flight, so that a session that ends
# loses nothing: copies RUN_DIR/checkpoint.pt (with optimiser, schedule and RNG state) and
# its metrics log into assets/runs/NAME/ and commits those two files only.
#
#   scripts/snapshot_run.sh runs/s3/panda_loc_s2r panda_loc_s2r "continue: robotpose train ... --resume"
#
# Continue in a later session: mkdir -p runs/X && cp assets/runs/NAME/* runs/X/ and run the
# training command with --out runs/X --resume (written to assets/runs/NAME/RESUME.md).
set -euo pipefail
run=${1:?usage: snapshot_run.sh RUN_DIR NAME COMMAND}
name=${2:?usage: snapshot_run.sh RUN_DIR NAME COMMAND}
command=${3:?usage: snapshot_run.sh RUN_DIR NAME COMMAND}
cd "$(dirname "$0")/.."
dest=assets/runs/$name
mkdir -p "$dest"
cp "$run/checkpoint.pt" "$dest/checkpoint.pt.tmp" && mv "$dest/checkpoint.pt.tmp" "$dest/checkpoint.pt"
cp "$run/metrics.jsonl" "$dest/metrics.jsonl"
step=$(.venv/bin/python -c "from robotpose_lib.checkpoint import load_checkpoint; print(load_checkpoint('$dest/checkpoint.pt')['step'])")
cat > "$dest/RESUME.md" <<EOT
# $name: a training run in flight (snapshot at step $step)

Resumable checkpoint (model, optimiser, schedule, RNG state) and the metrics log, committed
so that an ended session loses nothing. To continue:

\`\`\`bash
mkdir -p runs/$name && cp assets/runs/$name/checkpoint.pt assets/runs/$name/metrics.jsonl runs/$name/
$command --out runs/$name --resume
\`\`\`
EOT
git add "$dest/checkpoint.pt" "$dest/metrics.jsonl" "$dest/RESUME.md"
git commit -q -m "snapshot of training run $name at step $step (resumable)" -- "$dest"
echo "committed $dest at step $step"
