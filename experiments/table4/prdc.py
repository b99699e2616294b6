"""``table4_prdc.md``: precision, recall, density and coverage of every Table 4 trial, from the
generated points kept in ``table4_samples/`` (no training).

    python -m experiments.table4.prdc [--results_dir=experiments/table4/results]

Each trial's 5,000 kept points are scored against 5,000 held-out points of the mixture it trained
on (the entry point's fresh draw, ``age_tf.data.mog.heldout_draw``) in the plane itself, with the
papers' k (3 for precision/recall, 5 for density/coverage; ``age_tf.metrics.manifold``).
``python -m experiments.table4.run`` rewrites the file with its other outputs.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time


from age_tf import files
from experiments import tables, trials
from experiments.table4 import breakdown

KEYS = ("precision", "recall", "density", "coverage")
RESULTS_DIR = os.path.join("experiments", "table4", "results")
REAL_POINTS = 5_000  # as many as each trial kept


REAL_ROW = "Real data (another draw)"


def trial_scores(per_trial) -> dict:
    """label -> [(seed, {key: value}), ...] for each kept trial, and first, as ``REAL_ROW``, a
    second draw of the mixture itself (seed 0's held-out draw against data seed 1's): what the
    four numbers read when nothing is wrong."""
    from age_tf.data.mog import heldout_draw
    from age_tf.metrics import manifold

    found, references = {}, {}
    for label, seed, samples, mixture in per_trial:
        key = (len(mixture.centers), bool((mixture.probabilities < mixture.probabilities.max()).any()))
        if key not in references:
            references[key] = manifold.ManifoldReference(heldout_draw(*key, data_seed=0, num=REAL_POINTS)[0])
            other_draw = heldout_draw(*key, data_seed=1, num=REAL_POINTS)[0]
            found.setdefault(REAL_ROW, []).append((0, references[key].score(other_draw)))
        found.setdefault(label, []).append((seed, references[key].score(samples)))
    return found


def section(found: dict, recorded: dict, command: str, seconds: float) -> list:
    """The Markdown of ``table4_prdc.md``: per row mean (s.e.), beside the table's modes and KL."""
    from age_tf.experiments import hardware

    def cells(label, row):
        records = trials.row_records(recorded, label)
        table = ([trials.mean_se_cell([r["modes_covered"] for r in records]),
                  trials.mean_se_cell([r["mode_kl"] for r in records])] if records else ["-", "-"])
        return table + [trials.mean_se_cell([scores[key] for _, scores in row]) for key in KEYS]

    per_trial = [tables.markdown_row([label, seed, *(f"{scores[key]:.4f}" for key in KEYS)])
                 for label in found if label != REAL_ROW for seed, scores in found[label]]
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    return [
        "# Table 4: precision, recall, density and coverage",
        "",
        f"Command: `{command}`, {date}, {hardware.machine_description()}; {seconds:.0f} s, no training. "
        "Each trial's 5,000 generated points kept in `table4_samples/` against 5,000 held-out points of the "
        "mixture (a fresh draw, as the entry point evaluates), in the plane: precision and recall "
        "(Kynkaanniemi et al., 2019, k = 3), density and coverage (Naeem et al., 2020, k = 5), "
        "`age_tf.metrics.manifold`. Precision and density measure how much of the generated mass lies where "
        "real points do; recall and coverage how much of the real data the samples reach. Density is 1 "
        "when the two sets agree, above 1 where samples crowd the dense modes. Modes and KL are "
        "`table4.md`'s (10,000 points a trial). The first row scores 5,000 points of another draw of "
        "the mixture itself: what the numbers read when nothing is wrong (not 1: 5,000 points leave gaps "
        "between the k-NN balls). Mean (standard error) over the seeds listed.",
        "",
        *tables.markdown_header(["Method", "modes", "KL", *KEYS, "seeds"]),
        *breakdown.row_lines(found, cells),
        "",
        "Per trial:",
        "",
        *tables.markdown_header(["Method", "seed", *KEYS]),
        *per_trial,
    ]


def write_prdc_table(results_dir: str, recorded: dict, command: str = "python -m experiments.table4.run") -> str:
    """Scores every kept trial and writes ``<results_dir>/table4_prdc.md``; returns its path."""
    start = time.time()
    found = trial_scores(breakdown.kept_trials(results_dir, recorded))
    path = os.path.join(results_dir, "table4_prdc.md")
    if found:
        text = "\n".join(section(found, recorded, command, time.time() - start)) + "\n"
        files.write(path, lambda f: f.write(text), ".md")
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results_dir", default=RESULTS_DIR)
    args = parser.parse_args(argv)
    table = os.path.join(args.results_dir, "table4.json")
    recorded = trials.load_results(table).get("trials", {})
    if not recorded:
        print(f"{table} holds no trials: run python -m experiments.table4.run first.", file=sys.stderr)
        return 2
    path = write_prdc_table(args.results_dir, recorded, "python -m experiments.table4.prdc")
    print(open(path).read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
