"""Paper Table 4: mode coverage of eight methods on imbalanced 25 Gaussians.

Runs every row of Table 4 (deterministic encoder and generator, the settings of
``experiments/table4/mog25_age_kl.flags``) for ``--trials`` seeds each, several trials
at once when the machine has the cores, and writes into ``--results_dir``:

- ``table4.md``: mean (standard error) of modes covered and mode KL per row,
  then issue 3's bar judged from those means and the rows ranked by KL beside
  the paper's ranking (``bar_section``), and every trial's numbers by seed
  (``trials_section``);
- ``table4.json``: every trial's metrics, the flags and the wall time;
- ``table4_samples.png``: generated samples of one trial per method (Figure 9),
  drawn from the points kept in ``table4_samples/`` (every trial's);
- ``table4_breakdown.md``: the mode KL of those points split into the wrong
  mass on the minority modes and the spread within each group of modes, read
  with other rules for assigning a point to a mode (``rule_section``), and
  their modes counted only where a mode keeps part of its mass
  (``coverage_section``).

It resumes: a trial whose metrics are already in ``table4.json`` or whose run
directory holds ``metrics.json`` is not run again. The results directory alone
(committed) is enough to resume and redraw everything in a fresh clone; the
run directories under ``--runs_dir`` (checkpoints, logs) are not needed once
a trial is recorded. The runner itself is
``experiments.trials``, shared with Tables 3 and 5.

    python -m experiments.table4.run --trials=3
"""

from __future__ import annotations

from age_tf.experiments import cli
from experiments import trials
from experiments.table4 import breakdown, prdc
from experiments.table4.comparisons import sections_after_table
from experiments.table4.rows import PAPER, ROWS


TABLE = trials.Table(
    name="table4",
    title="Table 4: mode coverage on imbalanced 25 Gaussians",
    runner="experiments.table4.run",
    module="age_tf.experiments.mog",
    rows=ROWS,
    columns=(
        trials.Column("modes_covered", "Modes"),
        trials.Column("mode_kl", "KL"),
        trials.Column("off_mode_fraction", "off-mode fraction"),
    ),
    paper=PAPER,
    paper_header="paper: Modes / KL (10 trials)",
    checks=sections_after_table,
    notes=(
        "A mode is covered when at least one of 10,000 generated points lies within 3 standard "
        "deviations of its centre (PacGAN's released rule); KL is KL(generated mode histogram || true "
        "mode probabilities) over those points; the off-mode fraction is the share outside every "
        "mode's 3 standard deviations. The paper states neither its rule nor its sample count "
        "(BUILD_NOTES.md, Mode assignment).",
        "",
        "![Generated samples](table4_samples.png)",
        "",
        "`table4_samples.png`: 5,000 generated points of each row's lowest seed (its run's `samples.npy`, "
        "kept in `table4_samples/`; as in the paper's Figure 9), over the majority (+) and minority (x) "
        "mode centres. `table4_breakdown.md` splits each row's KL into the wrong mass on the minority "
        "modes and the spread within each group, and reads the same points with other rules for "
        "assigning a point to a mode.",
    ),
)
trials.define_flags(TABLE, flagfile="experiments/table4/mog25_age_kl.flags")


def write_outputs(results_dir: str, recorded: dict):
    """What the table adds to ``trials``' JSON and Markdown: the figure, the KL breakdown
    (``breakdown``) and precision/recall and density/coverage (``prdc``)."""
    breakdown.samples_figure(results_dir, recorded)
    breakdown.breakdown_table(results_dir, recorded)
    prdc.write_prdc_table(results_dir, recorded)


def main(argv):
    return trials.main(TABLE, argv, after=write_outputs)


if __name__ == "__main__":
    cli.run_main(main)
