#!/usr/bin/env bash
# Is AGE-KL's Table 4 KL (0.058 over seeds 0-2 against the paper's 0.028) a matter of training length? Its mode_kl
# still falls between epochs 20 and 30 at every seed (runs/table4/age_kl_s*/history.jsonl).
# Continues the 30-epoch trials AGE-KL/0 and AGE-KL/1 (runs/table4/age_kl_s*, from
#   python -m experiments.table4.run --trials=3 --parallel=1)
# from their epoch-30 checkpoints to 45 epochs, in copies under runs/table4_longer, and writes
# experiments/table4/results/table4_longer.md. A diagnostic, not a Table 4 setting. About 15 minutes a seed on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-.venv/bin/python}
runs=()
for run in age_kl_s0 age_kl_s1; do
  dst=runs/table4_longer/$run
  runs+=("$dst")
  [[ -f $dst/metrics.json ]] || ./experiments/continue_run.sh "runs/table4/$run" "$dst" --epochs=45
done
"$python" -m experiments.summarize --runs="$(IFS=,; echo "${runs[*]}")" \
  --title="AGE-KL on imbalanced 25 Gaussians after 45 epochs (Table 4 trials continued from epoch 30)" \
  --command="./experiments/table4/table4_longer.sh" \
  --output=experiments/table4/results/table4_longer.md
