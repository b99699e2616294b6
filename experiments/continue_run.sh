#!/usr/bin/env bash
# Continues a finished mixture-of-Gaussians run in a copy, leaving the original as it is:
#   experiments/continue_run.sh SRC DST [flags for python -m age_tf.experiments.mog, e.g. --epochs=45]
# The first call copies SRC (its checkpoint, flags.txt and history) to DST without SRC's metrics.json;
# every call then resumes DST from its newest checkpoint with DST's flags plus the ones given (a resume
# refuses flags that would change what is trained; --epochs and evaluation flags may change).
# Used by experiments/table3/table3_longer.sh and experiments/table4/table4_longer.sh.
set -euo pipefail
if (( $# < 2 )); then
  echo "Usage: $0 SRC DST [flags for python -m age_tf.experiments.mog, e.g. --epochs=45]" >&2
  exit 2
fi
src=$1 dst=$2
shift 2
python=${PYTHON:-.venv/bin/python}
src_real=$(realpath -m -- "$src") dst_real=$(realpath -m -- "$dst")
if [[ $dst_real == "$src_real" || $dst_real == "$src_real"/* ]]; then
  echo "DST $dst is SRC or inside it; the copy must go elsewhere, so that $src stays as it is." >&2
  exit 2
fi
if [[ ! -f $dst/flags.txt ]]; then
  [[ -d $src/checkpoint ]] || { echo "No checkpoint in $src: run the command that makes it first." >&2; exit 2; }
  if [[ -e $dst && ( ! -d $dst || -n $(ls -A -- "$dst") ) ]]; then
    echo "DST $dst already exists and is not a run directory (no flags.txt); choose a new DST." >&2
    exit 2
  fi
  mkdir -p "$dst" && cp -r "$src/." "$dst" && rm -f "$dst/metrics.json" "$dst/.lock"
fi
"$python" -u -m age_tf.experiments.mog --flagfile="$dst/flags.txt" "$@" --output_dir="$dst" --notensorboard
