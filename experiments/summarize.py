"""Collects the metrics.json of several runs into a Markdown results table.

    python -m experiments.summarize --runs=runs/mog25_age_kl_s0,runs/mog25_age_kl_s1 \
        --title="AGE-KL, imbalanced 25 Gaussians" --command="..." \
        --output=experiments/table4/results/mog25_age_kl.md
"""

from __future__ import annotations

import math
import os
import sys

from absl import flags

from age_tf import files
from age_tf.experiments import checks, cli, hardware, run_directory
from experiments.tables import markdown_header, markdown_row, mean_and_stderr

FLAGS = flags.FLAGS


def define_flags():
    """This tool's flags; defined when it runs, not when it is imported."""
    flags.DEFINE_list("runs", [], "Run directories, each holding metrics.json.")
    flags.DEFINE_string("output", None, "Markdown file to write.")
    flags.DEFINE_string("title", "Results", "Heading of the table.")
    flags.DEFINE_string("command", "", "The command that produced the runs, recorded verbatim.")
    flags.DEFINE_list(
        "columns",
        ["modes_covered", "mode_kl", "off_mode_fraction", "reconstruction_mse", "train_seconds"],
        "metrics.json keys to tabulate.",
    )
    flags.DEFINE_enum(
        "row_label", "seed", ["seed", "run"],
        "First column: the run's seed (rows are seeds of one setting; a mean row is added) or its directory "
        "name (rows are different settings; no mean row).",
    )


machine_description = hardware.machine_description


def render(rows, columns, title, command, row_label: str = "seed") -> str:
    lines = [f"# {title}", ""]
    if command:
        lines += ["Command:", "", "```", command, "```", ""]
    recorded = sorted({row["machine"] for row in rows if row.get("machine")})  # run_info.json's
    lines += [f"Machine: {'; '.join(recorded) if recorded else machine_description()}.", ""]
    lines += markdown_header([row_label, *columns])
    for row in rows:
        lines.append(markdown_row([row.get(row_label, "?"), *(_fmt(row.get(c)) for c in columns)]))
    if row_label == "seed":
        lines.append(_mean_row(rows, columns))
    total = sum(row.get("train_seconds", 0) for row in rows)
    lines += ["", f"Runs: {len(rows)}; total training wall time {total / 60:.1f} minutes."]
    return "\n".join(lines) + "\n"


def _mean_row(rows, columns) -> str:
    stats = []
    for c in columns:
        values = [row[c] for row in rows if isinstance(row.get(c), (int, float))]
        if values:
            mean, stderr = mean_and_stderr(values)
            stats.append(f"{_fmt(mean)} ({_fmt(stderr)})")
        else:
            stats.append("")
    return markdown_row(["mean (s.e.)", *stats])


def _fmt(value):
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return "-"
    return f"{value:.4g}"


def main(argv):
    del argv
    if not FLAGS.runs:
        checks.usage_error("--runs is empty; give the run directories to summarise.")
    rows = []
    for run in FLAGS.runs:
        path = os.path.join(run, "metrics.json")
        if not os.path.isfile(path):
            checks.usage_error(f"{path} does not exist; did the run in {run} finish?")
        what = f"rerun the command that made {run} (it resumes from its newest checkpoint)."
        row = run_directory.read_json_object(path, what)
        info = os.path.join(run, "run_info.json")  # wall time lives apart from the metrics
        if os.path.isfile(info):
            row = {**run_directory.read_json_object(info, what), **row}
        rows.append({**row, "run": os.path.basename(os.path.normpath(run))})
    text = render(rows, FLAGS.columns, FLAGS.title, FLAGS.command, FLAGS.row_label)
    if FLAGS.output:
        os.makedirs(os.path.dirname(os.path.abspath(FLAGS.output)), exist_ok=True)
        files.write(FLAGS.output, lambda f: f.write(text), ".md")
    sys.stdout.write(text)


if __name__ == "__main__":
    define_flags()
    cli.run_main(main)
