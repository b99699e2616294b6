#!/usr/bin/env bash
# AGE-KL on imbalanced 25 Gaussians, paper setting (Section 5.2.1), seeds 0-4,
# one after another; seeds whose metrics.json exists are skipped, so rerunning
# resumes. Writes experiments/table4/results/mog25_age_kl.md. About 21 minutes per seed on 2 cores.
#   ./experiments/table4/reproduce_mog25_age_kl.sh [SEEDS...]
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
SEEDS=("${@:-0 1 2 3 4}")
SEEDS=(${SEEDS[@]})
start=$(date +%s)
runs=()
for seed in "${SEEDS[@]}"; do
  out="runs/mog25_age_kl_s${seed}"
  runs+=("$out")
  if [ -f "$out/metrics.json" ]; then
    echo "seed ${seed}: $out/metrics.json exists, skipped"
    continue
  fi
  "$PY" -m age_tf.experiments.mog --flagfile=experiments/table4/mog25_age_kl.flags \
    --seed="$seed" --output_dir="$out"
done
elapsed=$(( $(date +%s) - start ))
"$PY" -m experiments.summarize \
  --runs="$(IFS=,; echo "${runs[*]}")" \
  --title="AGE-KL on imbalanced 25 Gaussians (paper Section 5.2.1 setting)" \
  --command="./experiments/table4/reproduce_mog25_age_kl.sh ${SEEDS[*]}   # this invocation: ${elapsed} s wall" \
  --output=experiments/table4/results/mog25_age_kl.md
