#!/usr/bin/env bash
# One job for a lent GPU machine: train the Panda sim-to-real models at the paper's stage
# sizes (config "gpu": fine-tuned EfficientNet-Lite0, 5 stages, 240x320; no download
# needed) on the Panda rendered from its URDF meshes (ROBOT, default panda) with the
# RECIPE (default dream: DREAM-style randomisation, the recipe chapter 5's trial chose; dream_filmed
# adds filmed views and held objects), the
# localization net then the one-pass instance model; evaluate them (synthetic test set,
# the filmed validation set, the twin ladder and the dev photos when present) and leave
# checkpoints, logs and reports (text, and JSON for the records) in OUT. Ship a run as a
# model folder assets/models/NAME/ with scripts/ship_model.py OUT/localization NAME ...
#
#   scripts/gpu_train.sh OUT MINUTES        # on the GPU machine (CUDA, AMP float16)
#   TINY=1 scripts/gpu_train.sh OUT 1       # the same steps at tiny sizes on a CPU (a check)
#
# Time: 70 % of MINUTES for the localization net, 20 % for the instance net, the rest for
# evaluation. Each training stops with a checkpoint when its share is spent
# (--max-minutes), so a run cut short still ships what it learnt. Continue a run with the
# same OUT: the commands resume from OUT/*/checkpoint.pt.
set -euo pipefail
out=${1:?usage: gpu_train.sh OUT MINUTES}
minutes=${2:?usage: gpu_train.sh OUT MINUTES}
robot=${ROBOT:-panda}
recipe=${RECIPE:-dream}
here=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-$here/.venv/bin/python}
[ -x "$py" ] || py=python3
rp() { "$py" -m robotpose_lib.cli "$@"; }

if [ "${TINY:-0}" = 1 ]; then
  config=quick; init=(); size=(--steps 6 --batch-size 2 --n-scenes 64 --workers 0 --threads 1)
  inst_size=(--steps 4 --batch-size 2 --n-scenes 32 --workers 0 --threads 1)
  eval_n=4
else
  config=gpu; init=(); size=(); inst_size=(); eval_n=200
  "$py" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device')"
fi
loc_min=$("$py" -c "print(max(0.05, 0.7 * $minutes))")
inst_min=$("$py" -c "print(max(0.05, 0.2 * $minutes))")
mkdir -p "$out"
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$out/run.log"; }

log "localization: config $config, robot $robot, recipe $recipe, $loc_min min"
rp train localization --config "$config" --robot "$robot" --out "$out/localization" --resume \
  --recipe "$recipe" --set depth_weight=50 --set intermediate=low_res --schedule cosine \
  --max-minutes "$loc_min" --no-progress "${size[@]}" "${init[@]}" 2>&1 | tail -n 3 | tee -a "$out/run.log"

log "one-pass instances: config $config, recipe $recipe, $inst_min min"
rp train onepass --config "$config" --robot "$robot" --out "$out/instances" --resume \
  --localization "$out/localization/checkpoint.pt" --recipe "$recipe" --calibrate "$eval_n" \
  --max-minutes "$inst_min" --no-progress "${inst_size[@]}" 2>&1 | tail -n 3 | tee -a "$out/run.log"

log "evaluation"
rp eval localization --checkpoint "$out/localization/checkpoint.pt" --n "$eval_n" --no-progress \
  --json "$out/eval_localization.json" > "$out/eval_localization.txt" 2>&1 || log "eval localization failed (see file)"
rp eval onepass --checkpoint "$out/instances/checkpoint.pt" --n "$eval_n" --robot-free "$eval_n" --hard-negatives \
  --json "$out/eval_instances.json" > "$out/eval_instances.txt" 2>&1 || log "eval instances failed (see file)"
rp eval filmed --checkpoint "$out/localization/checkpoint.pt" --instances none --n "$eval_n" \
  --json "$out/eval_filmed.json" > "$out/eval_filmed.txt" 2>&1 || log "eval filmed failed (see file)"
if "$py" -c "from robotpose_lib.real_panda import find_real_panda_dir as f; import sys; sys.exit(f() is None)"; then
  for inst in none "$out/instances/checkpoint.pt"; do
    tag=$([ "$inst" = none ] && echo single || echo instances)
    rp eval real --checkpoint "$out/localization/checkpoint.pt" --instances "$inst" --method nms \
      --json "$out/eval_real_$tag.json" > "$out/eval_real_$tag.txt" 2>&1 || log "eval real ($tag) failed"
  done
  rp eval twin --checkpoint "$out/localization/checkpoint.pt" --instances none \
    --json "$out/eval_twin.json" > "$out/eval_twin.txt" 2>&1 || log "eval twin failed (see file)"
else
  log "no real photos beside the repository: eval real and eval twin skipped"
fi
log "done: $(ls "$out")"
