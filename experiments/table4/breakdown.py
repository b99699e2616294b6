"""``table4_samples.png`` and ``table4_breakdown.md``: each row's samples, its KL split into
the minority modes' mass and the spread within groups, read with other rules for assigning a point
to a mode, and its modes counted only where a mode keeps part of its mass."""

from __future__ import annotations

import math
import os
import sys
from typing import Optional, Tuple

import numpy as np

from age_tf import files
from age_tf.experiments import run_directory
from experiments import tables, trials
from experiments.table4.comparisons import difference_cell
from experiments.table4.rows import PAPER_VALUES, ROW_LABELS, SAMPLES_DIR


def trial_mixture(run_dir: str) -> Tuple[int, bool]:
    """(num_modes, imbalanced) of the grid mixture a trial trained on, from its flags.txt."""
    num_modes = run_directory.saved_flag(run_dir, "num_modes")
    if num_modes is None:
        raise FileNotFoundError(f"{run_dir}/flags.txt is missing or names no --num_modes: not a mog run directory.")
    return int(num_modes), run_directory.saved_flag(run_dir, "imbalanced") == "true"


def kept_samples(results_dir: str, label: str, seed: int) -> Optional[str]:
    """``<results_dir>/table4_samples/<row>_s<seed>.npz``: the trial's generated
    points (its ``samples.npy``) and the mixture it trained on, copied out of its
    run directory the first time, so that the figure can be redrawn where
    ``runs/`` is gone (a fresh clone that resumes from ``table4.json``). None when
    neither the copy nor the run directory's samples exist."""
    kept = os.path.join(results_dir, SAMPLES_DIR, f"{trials.slug(label)}_s{seed}.npz")
    if os.path.isfile(kept):
        return kept
    run_dir = trials.trial_dir(label, seed)
    samples_path = os.path.join(run_dir, "samples.npy")
    if not os.path.isfile(samples_path):
        return None
    num_modes, imbalanced = trial_mixture(run_dir)
    os.makedirs(os.path.dirname(kept), exist_ok=True)
    np.savez_compressed(kept, samples=np.load(samples_path).astype(np.float32),
                        num_modes=num_modes, imbalanced=imbalanced)
    return kept


def samples_figure(results_dir: str, recorded: dict):
    """Generated samples of the lowest recorded seed of each row (Figure 9), over the true mode centres."""
    from age_tf import plots
    from age_tf.data import grid_mixture

    panels, mixture = [], None
    for label in ROW_LABELS:
        seeds = [r["seed"] for r in trials.row_records(recorded, label)]
        kept = kept_samples(results_dir, label, seeds[0]) if seeds else None
        if seeds and kept is None:
            print(f"No samples of {label} seed {seeds[0]} in {results_dir}/{SAMPLES_DIR} or its run directory; "
                  "the figure leaves that row out.", file=sys.stderr)
        if kept:
            with np.load(kept) as saved:
                panels.append((f"{label} (seed {seeds[0]})", saved["samples"]))
                mixture = mixture or grid_mixture(int(saved["num_modes"]), imbalanced=bool(saved["imbalanced"]))
    if panels:
        probabilities = mixture.probabilities
        plots.mixture_samples_grid(os.path.join(results_dir, "table4_samples.png"), panels, centers=mixture.centers,
                            minority=probabilities < probabilities.max())


# The discs of ``rule_section``: a generated point's mode is its nearest centre
# within this many standard deviations (inf: no disc, every point counts).
RULE_RADII = (1.5, 2.0, 3.0, math.inf)
TABLE_RADIUS = 3.0  # the rule of table4.md and of the bar (PacGAN's)
INNER_RADIUS = 1.5  # "inner fraction": on-mode points within this many standard deviations


def kept_trials(results_dir: str, recorded: dict):
    """(label, seed, samples, mixture) of every recorded trial whose points are
    kept, rows in the paper's order and seeds in order."""
    from age_tf.data import grid_mixture

    for label in ROW_LABELS:
        for seed in (r["seed"] for r in trials.row_records(recorded, label)):
            kept = kept_samples(results_dir, label, seed)
            if kept is None:
                continue
            with np.load(kept) as saved:
                mixture = grid_mixture(int(saved["num_modes"]), imbalanced=bool(saved["imbalanced"]))
                yield label, seed, saved["samples"], mixture


def row_lines(found: dict, cells) -> list:
    """One Markdown line per row of ``found`` (label -> [(seed, values), ...]):
    the label, ``cells(label, row)`` and the seeds; shared by the breakdown's sections."""
    return [tables.markdown_row([label, *cells(label, row), ", ".join(str(seed) for seed, _ in row)])
            for label, row in found.items()]


def split_section(per_trial) -> list:
    """The KL split by the chain rule (``modes.minority_breakdown``): per row, then per trial."""
    from age_tf.metrics import modes

    keys = ("mode_kl", "minority_share", "kl_between_groups", "kl_within_groups")
    found, trial_lines, true_share = {}, [], None
    for label, seed, samples, mixture in per_trial:
        try:
            split = modes.minority_breakdown(samples, mixture.centers, mixture.probabilities, mixture.std)
        except ValueError as error:  # every point off-mode: no histogram to split
            print(f"{label} seed {seed} left out of table4_breakdown.md: {error}", file=sys.stderr)
            continue
        split["mode_kl"] = split["kl_between_groups"] + split["kl_within_groups"]
        true_share = split["true_minority_share"]
        found.setdefault(label, []).append((seed, split))
        trial_lines.append(tables.markdown_row([label, seed, *(f"{split[key]:.4g}" for key in keys)]))
    if not found:
        return []
    lines = row_lines(found, lambda _, row: [trials.mean_se_cell([s[key] for _, s in row]) for key in keys])
    return [
        "Written with `table4.md` by `python -m experiments.table4.run`. Per trial: the 5,000 "
        "points its run drew after training (`samples.npy`, kept in `table4_samples/`), not the 10,000 "
        "counted in `table4.md`, so the KL column differs a little from that table's. The minority modes "
        "are those with probability below the largest. By the chain rule KL = between + within: "
        "*between* is the KL of the two-group histogram (the minority share of the on-mode points "
        "against the true share), *within* the KL of the histogram inside each group, weighted by the "
        "group's share (`age_tf.metrics.modes.minority_breakdown`). A minority share below the true one "
        "means mass lost from the minority modes; above it, mass spread onto them. Mean (standard error) "
        "over the seeds listed.",
        "",
        f"| Method | KL (these points) | minority share (true {true_share:.4f}) | KL between groups | "
        "KL within groups | seeds |",
        "|---|---|---|---|---|---|",
        *lines,
        "",
        "Per trial:",
        "",
        "| Method | seed | KL (these points) | minority share | KL between groups | KL within groups |",
        "|---|---|---|---|---|---|",
        *trial_lines,
    ]


def radius_header(radius: float) -> str:
    if math.isinf(radius):
        return "KL, nearest centre"
    return f"KL, {radius:g} s.d." + (" (the table's)" if radius == TABLE_RADIUS else "")


def rule_section(per_trial) -> list:
    """The same points read with other assignment rules, and where the points of
    each group of modes sit within their discs (``modes.inner_fractions``)."""
    from age_tf.metrics import modes

    found = {}
    for label, seed, samples, mixture in per_trial:
        args = (samples, mixture.centers, mixture.probabilities, mixture.std)
        kls = [modes.mode_statistics(*args, radius_in_stds=radius)["mode_kl"] for radius in RULE_RADII]
        inner = modes.inner_fractions(*args, inner_in_stds=INNER_RADIUS, radius_in_stds=TABLE_RADIUS)
        if not all(map(math.isfinite, kls)):  # no point inside the smallest disc: no histogram
            print(f"{label} seed {seed} left out of the assignment-rule table: no point within "
                  f"{RULE_RADII[0]:g} s.d. of a mode.", file=sys.stderr)
            continue
        fractions = [inner["minority_inner_fraction"], inner["majority_inner_fraction"]]
        found.setdefault(label, []).append((seed, kls + fractions))
    if not found:
        return []

    def cell(values):
        values = [v for v in values if not math.isnan(v)]  # a group that got no point has no fraction
        return trials.mean_se_cell(values) if values else "-"

    columns = len(RULE_RADII) + 2
    lines = row_lines(found, lambda _, row: [cell([v[i] for _, v in row]) for i in range(columns)])
    gaussian = modes.gaussian_inner_fraction(INNER_RADIUS, TABLE_RADIUS)
    return [
        "## How the reading depends on the assignment rule",
        "",
        "The paper states neither how it assigns a generated point to a mode nor how many points it draws. "
        f"`table4.md` and the issue's bar use PacGAN's rule: the nearest centre within {TABLE_RADIUS:g} "
        "standard deviations, other points off-mode. Here the same kept points are read with smaller "
        "discs and with none (*nearest centre*: every point counts for its nearest mode, as a classifier "
        "of the modes would count it, bridges included). *Inner fraction*: of the points a group of "
        f"modes receives under the table's rule, the share within {INNER_RADIUS:g} standard deviations of "
        "their centre; "
        f"a Gaussian mode of the mixture has {gaussian:.3f} (`age_tf.metrics.modes.inner_fractions`). A "
        "group well below that holds mostly points on the rim of its discs: on this grid each minority "
        "mode lies between majority modes, and the paths between those cross its disc. Mean (standard "
        "error) over the seeds listed.",
        "",
        *tables.markdown_header(["Method", *(radius_header(r) for r in RULE_RADII),
                                    "inner fraction, minority", "inner fraction, majority", "seeds"]),
        *lines,
    ]


# The shares of ``coverage_section``: a mode counts when it holds at least this
# fraction of its true probability among the on-mode points.
HOLDING_RATIOS = (0.1, 0.25, 0.5)


def coverage_section(per_trial) -> list:
    """The same points' modes counted with stricter rules: a mode holding at least
    a given part of its true share (``modes.modes_holding_share``), beside the
    table's count of modes with any point."""
    from age_tf.metrics import modes

    found = {}
    for label, seed, samples, mixture in per_trial:
        args = (samples, mixture.centers, mixture.probabilities, mixture.std)
        counts = [modes.mode_statistics(*args, radius_in_stds=TABLE_RADIUS)["modes_covered"]]
        counts += [modes.modes_holding_share(*args, ratio, radius_in_stds=TABLE_RADIUS) for ratio in HOLDING_RATIOS]
        found.setdefault(label, []).append((seed, counts))
    if not found:
        return []
    strictest = {label: tables.mean_and_stderr([v[-1] for _, v in row]) for label, row in found.items()}

    def lead_cell(label):
        if label == "AGE-KL" or "AGE-KL" not in strictest:
            return "-"
        return difference_cell(strictest["AGE-KL"], strictest[label], digits=3)

    lines = row_lines(found, lambda label, row: [*(trials.mean_se_cell(column) for column in zip(*(v for _, v in row))),
                                                 lead_cell(label), PAPER_VALUES[label][0]])
    return [
        "## How the mode count depends on what counts as covered",
        "",
        "`table4.md` and the issue's bar count a mode as covered when it receives one point (within "
        f"{TABLE_RADIUS:g} standard deviations), however much mass it should hold, so a generator that "
        "leaves a mode a handful of its points still covers it. Here the same kept points count a mode "
        "only when its share of the on-mode points is at least a part of its true probability "
        "(`age_tf.metrics.modes.modes_holding_share`). The paper counts modes with a classifier and "
        "states no threshold; these readings were added after the trials had run and do not judge the "
        "bar. Mean (standard error) over the seeds listed; the difference column is AGE-KL's count at "
        f"{HOLDING_RATIOS[-1]:g} of the share minus the row's (standard error of the difference), in bold "
        "where it is more than two standard errors.",
        "",
        *tables.markdown_header(["Method", "modes with any point (the table's)",
                                    *(f"modes holding >= {ratio:g} of their share" for ratio in HOLDING_RATIOS),
                                    f"AGE-KL minus it at >= {HOLDING_RATIOS[-1]:g}", "paper's Modes", "seeds"]),
        *lines,
    ]


def breakdown_table(results_dir: str, recorded: dict) -> str:
    """Writes ``table4_breakdown.md``: per row, mean (standard error) over its
    trials of ``modes.minority_breakdown`` of the points kept in ``table4_samples/``,
    then the same split for every trial, so that one seed's share can be read off;
    then the KL of those points under other assignment rules (``rule_section``)
    and their modes counted with stricter rules (``coverage_section``)."""
    per_trial = list(kept_trials(results_dir, recorded))
    split = split_section(per_trial)
    if not split:
        return ""
    text = "\n".join([
        "# Table 4: where the mode KL comes from",
        "",
        *split,
        "",
        *rule_section(per_trial),
        "",
        *coverage_section(per_trial),
    ]) + "\n"
    files.write(os.path.join(results_dir, "table4_breakdown.md"), lambda f: f.write(text), ".md")
    return text
