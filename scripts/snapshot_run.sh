#!/usr/bin/env bash
# Commit the resumable state of a training run in flight, so that a session that ends
# loses nothing: copies RUN_DIR/checkpoint.pt (with optimiser, schedule and RNG state) and
# its metrics log into assets/models/MODEL/resume/ (the folder of the model the run
# trains; the resume/ folder stays out of the installed package) and commits those files.
#
#   scripts/snapshot_run.sh runs/s3/panda_loc_s2r panda_localization_cpu "robotpose train ..."
#
# Continue in a later session: mkdir -p runs/X && cp assets/models/MODEL/resume/* runs/X/
# and run the training command with --out runs/X --resume (written to resume/RESUME.md).
set -euo pipefail
run=${1:?usage: snapshot_run.sh RUN_DIR MODEL COMMAND}
name=${2:?usage: snapshot_run.sh RUN_DIR MODEL COMMAND}
command=${3:?usage: snapshot_run.sh RUN_DIR MODEL COMMAND}
cd "$(dirname "$0")/.."
dest=assets/models/$name/resume
run_name=$(basename "$run")
mkdir -p "$dest"
cp "$run/checkpoint.pt" "$dest/checkpoint.pt.tmp" && mv "$dest/checkpoint.pt.tmp" "$dest/checkpoint.pt"
cp "$run/metrics.jsonl" "$dest/metrics.jsonl"
step=$(.venv/bin/python -c "from robotpose_lib.checkpoint import load_checkpoint; print(load_checkpoint('$dest/checkpoint.pt')['step'])")
cat > "$dest/RESUME.md" <<EOT
# $name: the training run $run_name, resumable (snapshot at step $step)

Resumable checkpoint (model, optimiser, schedule, RNG state) and the metrics log, committed
so that an ended session loses nothing. To continue:

\`\`\`bash
mkdir -p runs/$run_name && cp $dest/checkpoint.pt $dest/metrics.jsonl runs/$run_name/
$command --out runs/$run_name --resume
\`\`\`
EOT
git add "$dest/checkpoint.pt" "$dest/metrics.jsonl" "$dest/RESUME.md"
git commit -q -m "snapshot of training run $run_name ($name) at step $step (resumable)" -- "$dest"
echo "committed $dest at step $step"
