#!/usr/bin/env bash
# Does the AGE-KL - VAE gap of experiments/table3/results/table3.md close with more training? (experiments/table3/results/table3_discussion.md)
# Continues the 10-epoch Table 3 trials VAE/0 and AGE-KL/0 (runs/table3/*_s0, from
#   python -m experiments.table3.run --trials=3 --flagfile_path=experiments/table3/mog9_table3_cpu.flags)
# from their epoch-10 checkpoints to 30 epochs, in copies under runs/table3_longer, and evaluates them
# with the Table 3 metrics plus nll_is. About 3 minutes (VAE) and 65 minutes (AGE-KL) on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
for run in vae_s0 age_kl_s0; do
  ./experiments/continue_run.sh "runs/table3/$run" "runs/table3_longer/$run" --epochs=30 --num_threads=1 \
    --metrics=objective,cycle_consistency,nll,nll_is,mode_coverage
done
