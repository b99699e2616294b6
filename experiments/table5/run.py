"""Paper Tables 5 and 7: mode collapse and reconstruction on Stacked MNIST.

Runs the rows of Table 5 (AGE-ALL(d), AGE-ALL, f-GAN-KL, GAN (JS), logD-GAN,
Hinge) and of Table 7 (AGE with scaling clipping r0 = 0.5 for every other
divergence of the registry) with the settings of ``--flagfile_path`` (default
the paper's ``experiments/table5/stacked_mnist_age_all.flags``; the CPU-budget
``experiments/table5/stacked_mnist_age_all_cpu.flags`` trains far less) for
``--trials`` seeds each, and writes into ``--results_dir``:

- ``table5.md``: mean (standard error) of modes covered, mode KL, reconstruction
  accuracy (%) and the classifier-feature Frechet distance per row, the seeds,
  and the paper's values next to them;
- ``table5.json``: every trial's metrics, the command, the machine and the wall time.

Trials that run at once share the mode classifier's cache: the first trains it,
the others wait for it and load it. It resumes like Table 4's runner
(``experiments.trials``): finished trials are not run again.

    python -m experiments.table5.run --trials=10
    python -m experiments.table5.run --trials=3 --rows=AGE-ALL,Hinge \\
        --flagfile_path=experiments/table5/stacked_mnist_age_all_cpu.flags
"""

from __future__ import annotations

from age_tf.experiments import cli
from experiments import trials

_DETERMINISTIC = ["--encoder_kind=deterministic", "--generator_kind=deterministic"]
_STOCHASTIC = ["--encoder_kind=gaussian", "--generator_kind=implicit"]
# (label, stacked_mnist flags): Table 5 in the paper's order, then Table 7's AGE-SC rows.
ROWS = (
    ("AGE-ALL(d)", ["--method=age", "--divergence=all", *_DETERMINISTIC]),
    ("AGE-ALL", ["--method=age", "--divergence=all", *_STOCHASTIC]),
    ("f-GAN-KL", ["--method=fgan", *_STOCHASTIC]),
    ("GAN (JS)", ["--method=gan", *_STOCHASTIC]),
    ("logD-GAN", ["--method=logd", *_STOCHASTIC]),
    ("Hinge", ["--method=hinge", *_STOCHASTIC]),
    ("AGE-KL-SC0.5", ["--method=age", "--divergence=kl", "--scale_clip=0.5", *_STOCHASTIC]),
    ("AGE-H2-SC0.5", ["--method=age", "--divergence=hellinger", "--scale_clip=0.5", *_STOCHASTIC]),
    ("AGE-JS-SC0.5", ["--method=age", "--divergence=js", "--scale_clip=0.5", *_STOCHASTIC]),
    ("AGE-RevKL-SC0.5", ["--method=age", "--divergence=revkl", "--scale_clip=0.5", *_STOCHASTIC]),
    ("AGE-Pearson-SC0.5", ["--method=age", "--divergence=pearson", "--scale_clip=0.5", *_STOCHASTIC]),
)
ROW_LABELS = [label for label, _ in ROWS]
# Tables 5 and 7 (10 trials, standard errors): modes / KL / recon. %.
PAPER = {
    "AGE-ALL(d)": "971.7 (20.1) / 0.42 (0.10) / 81.7 (1.8)",
    "AGE-ALL": "981.2 (9.5) / 0.36 (0.05) / 86.5 (1.6)",
    "f-GAN-KL": "466 (452.5) / 3.49 (2.45) / 27.8 (1.6)",
    "GAN (JS)": "954.2 (17.3) / 0.71 (0.08) / 64.2 (2.2)",
    "logD-GAN": "932.1 (59.8) / 0.55 (0.14) / 81.3 (2.3)",
    "Hinge": "959.9 (17.1) / 0.53 (0.10) / 84.1 (1.8)",
    "AGE-KL-SC0.5": "983.5 (8.7) / 0.3503 (0.04) / 84.84 (1.51)",
    "AGE-H2-SC0.5": "982.5 (10.2) / 0.3497 (0.08) / 85.58 (0.92)",
    "AGE-JS-SC0.5": "977.7 (17.7) / 0.3600 (0.05) / 83.70 (2.25)",
    "AGE-RevKL-SC0.5": "976.9 (12.1) / 0.3690 (0.07) / 84.73 (1.26)",
}
TABLE = trials.Table(
    name="table5",
    title="Tables 5 and 7: mode collapse and reconstruction on Stacked MNIST",
    runner="experiments.table5.run",
    module="age_tf.experiments.stacked_mnist",
    rows=ROWS,
    columns=(
        trials.Column("modes_covered", "Modes"),
        trials.Column("mode_kl", "KL"),
        trials.Column("recon_accuracy", "Recon. (%)", scale=100.0),
        trials.Column("classifier_frechet_distance", "classifier FD"),
    ),
    paper=PAPER,
    paper_header="paper: Modes / KL / Recon. (%)",
    notes=(
        "Modes: of 1000, among the generated samples (26,000 with the flagfiles; num_eval_samples in "
        "table5.json); KL: KL(generated modes || uniform); Recon.: share of as many evaluation images "
        "(stacked from the MNIST test split) whose reconstruction G(E(x)) has the same mode; classifier FD: "
        "Frechet distance between the mode classifier's features of generated and evaluation images (not "
        "Inception FID). The paper has no Pearson row.",
    ),
)
trials.define_flags(TABLE, flagfile="experiments/table5/stacked_mnist_age_all.flags")


def main(argv):
    return trials.main(TABLE, argv)


if __name__ == "__main__":
    cli.run_main(main)
