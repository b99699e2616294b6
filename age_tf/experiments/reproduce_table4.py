"""Paper Table 4: mode coverage of eight methods on imbalanced 25 Gaussians.

Runs every row of Table 4 (deterministic encoder and generator, the settings of
``experiments/mog25_age_kl.flags``) for ``--trials`` seeds each, several trials
at once when the machine has the cores, and writes into ``--results_dir``:

- ``table4.md``: mean (standard error) of modes covered and mode KL per row;
- ``table4.json``: every trial's metrics, the flags and the wall time;
- ``table4_samples.png``: generated samples of one trial per method (Figure 9).

It resumes: a trial whose metrics are already in ``table4.json`` or whose run
directory holds ``metrics.json`` is not run again.

    python -m age_tf.experiments.reproduce_table4 --trials=3
"""

from __future__ import annotations

import concurrent.futures
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
from absl import app, flags

from age_tf.experiments import common, summarize

FLAGS = flags.FLAGS

# (label, mog flags), in the paper's order.
ROWS = (
    ("AGE-KL", ["--method=age", "--divergence=kl"]),
    ("f-GAN-KL", ["--method=fgan"]),
    ("AGE-H2", ["--method=age", "--divergence=hellinger"]),
    ("AGE-RevKL", ["--method=age", "--divergence=revkl"]),
    ("GAN (JS)", ["--method=gan"]),
    ("AGE-ALL", ["--method=age", "--divergence=all"]),
    ("logD-GAN", ["--method=logd"]),
    ("Hinge", ["--method=hinge"]),
)
ROW_LABELS = [label for label, _ in ROWS]

flags.DEFINE_integer("trials", 3, "Seeds per row (0, 1, ...).")
flags.DEFINE_list("rows", ROW_LABELS, "Subset of rows to run, by label.")
flags.DEFINE_integer("parallel", 0, "Trials at once (0: one per 2 CPU cores, at least 1).")
flags.DEFINE_string("flagfile_path", "experiments/mog25_age_kl.flags", "Base flags of every trial.")
flags.DEFINE_list("extra_flags", [], "More flags for every trial, e.g. --epochs=1.")
flags.DEFINE_string("runs_dir", "runs/table4", "Where trial run directories go (large).")
flags.DEFINE_string("results_dir", "results", "Where table4.md/.json/_samples.png go (small).")
flags.DEFINE_boolean("dry_run", False, "Print the trials that would run and exit.")


def slug(label: str) -> str:
    return "".join(c.lower() if c.isalnum() else "_" for c in label).strip("_")


def trial_dir(label: str, seed: int) -> str:
    return os.path.join(FLAGS.runs_dir, f"{slug(label)}_s{seed}")


def load_recorded(path: str) -> dict:
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        return json.load(f).get("trials", {})


def run_trial(label, row_flags, seed, threads):
    out = trial_dir(label, seed)
    command = [
        sys.executable, "-m", "age_tf.experiments.mog",
        f"--flagfile={FLAGS.flagfile_path}", *row_flags, *FLAGS.extra_flags,
        f"--seed={seed}", f"--output_dir={out}", f"--num_threads={threads}",
    ]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "stdout.log"), "w") as log:
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise RuntimeError(f"{label} seed {seed} failed (exit {result.returncode}); see {out}/stdout.log")
    with open(os.path.join(out, "metrics.json")) as f:
        return json.load(f)


def render_table(trials: dict, wall_seconds: float, command: str) -> str:
    lines = [
        "# Table 4: mode coverage on imbalanced 25 Gaussians",
        "",
        "Command:",
        "",
        "```",
        command,
        "```",
        "",
        f"Machine: {summarize.machine_description()}. Wall time of this invocation: "
        f"{wall_seconds / 60:.1f} minutes. Mean (standard error) over the seeds listed.",
        "",
        "| Method | Modes | KL | off-mode fraction | seeds |",
        "|---|---|---|---|---|",
    ]
    for label in ROW_LABELS:
        results = [trials[k] for k in sorted(trials) if k.rsplit("/", 1)[0] == label]
        if not results:
            continue
        cells = []
        for key in ("modes_covered", "mode_kl", "off_mode_fraction"):
            mean, se = summarize.mean_and_stderr([r[key] for r in results])
            cells.append(f"{mean:.4g} ({se:.2g})" if not math.isnan(se) else f"{mean:.4g}")
        seeds = ", ".join(str(r["seed"]) for r in results)
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {seeds} |")
    return "\n".join(lines) + "\n"


def samples_figure(path: str, trials: dict):
    from age_tf import figures

    panels = []
    for label in ROW_LABELS:
        keys = sorted(k for k in trials if k.rsplit("/", 1)[0] == label)
        if keys:
            seed = trials[keys[0]]["seed"]
            samples_path = os.path.join(trial_dir(label, seed), "samples.npy")
            if os.path.isfile(samples_path):
                panels.append((f"{label} (seed {seed})", np.load(samples_path)))
    if panels:
        figures.sample_grid(path, panels)


def main(argv):
    if len(argv) > 1:
        common.usage_error(f"Unexpected arguments: {' '.join(argv[1:])}.")
    unknown = [r for r in FLAGS.rows if r not in ROW_LABELS]
    if unknown:
        common.usage_error(f"Unknown rows {unknown}. Available: {', '.join(ROW_LABELS)}.")
    if FLAGS.trials <= 0 or FLAGS.parallel < 0:
        common.usage_error("--trials must be positive and --parallel >= 0.")
    if not os.path.isfile(FLAGS.flagfile_path):
        common.usage_error(f"--flagfile_path {FLAGS.flagfile_path} does not exist.")
    results_dir = common.prepare_output_dir(FLAGS.results_dir)
    json_path = os.path.join(results_dir, "table4.json")
    trials = load_recorded(json_path)

    todo = []
    for label, row_flags in ROWS:
        if label not in FLAGS.rows:
            continue
        for seed in range(FLAGS.trials):
            key = f"{label}/{seed}"
            done = os.path.join(trial_dir(label, seed), "metrics.json")
            if key in trials:
                continue
            if os.path.isfile(done):
                with open(done) as f:
                    trials[key] = json.load(f)
                continue
            todo.append((key, label, row_flags, seed))
    parallel = FLAGS.parallel or max(1, (os.cpu_count() or 2) // 2)
    threads = max(1, (os.cpu_count() or 2) // parallel)
    print(f"{len(trials)} trials recorded, {len(todo)} to run, {parallel} at a time.")
    if FLAGS.dry_run:
        for key, *_ in todo:
            print(f"would run {key}")
        return 0

    start = time.time()
    command = "python -m age_tf.experiments.reproduce_table4 " + " ".join(sys.argv[1:])
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        futures = {pool.submit(run_trial, label, f, seed, threads): key for key, label, f, seed in todo}
        for future in concurrent.futures.as_completed(futures):
            key = futures[future]
            trials[key] = future.result()
            print(f"{key}: modes {trials[key]['modes_covered']}, KL {trials[key]['mode_kl']:.4f}", flush=True)
            common.write_json(json_path, {"trials": trials, "command": command})
    wall = time.time() - start
    common.write_json(json_path, {"trials": trials, "command": command, "wall_seconds": wall})
    table = render_table(trials, wall, command)
    with open(os.path.join(results_dir, "table4.md"), "w") as f:
        f.write(table)
    samples_figure(os.path.join(results_dir, "table4_samples.png"), trials)
    sys.stdout.write(table)
    return 0


if __name__ == "__main__":
    app.run(main)
