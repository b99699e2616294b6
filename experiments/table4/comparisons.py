"""What ``table4.md`` prints after the table: the rows against the bar, ranked by KL beside
the paper's ranking, every pairwise KL difference with its standard error, and every trial."""

from __future__ import annotations

import math
from typing import Tuple

import numpy as np

from experiments import tables, trials
from experiments.table4.rows import BAR_KL, BAR_MODES, BAR_RIVALS, PAPER_VALUES, ROW_LABELS


def seeds_text(seeds) -> str:
    """'seeds 0-5' for a run of consecutive seeds, else 'seeds 0, 2, 5'."""
    seeds = sorted(seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"seeds {seeds[0]}-{seeds[-1]}"
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(map(str, seeds))


def difference(a: Tuple[float, float], b: Tuple[float, float]) -> Tuple[float, float]:
    """(mean of a minus mean of b, standard error of that difference) from two
    rows' (mean, standard error): the root sum of the squared errors, the rows'
    trials being independent. A row of one seed has no standard error and adds
    none (its mean is taken as exact). Rounded to 12 decimals, so that equal means
    computed by different sums print as 0 rather than as rounding noise."""
    (a_mean, a_se), (b_mean, b_se) = a, b
    return round(a_mean - b_mean, 12), math.sqrt(np.nan_to_num(a_se) ** 2 + np.nan_to_num(b_se) ** 2)


def beyond_two_se(value: float, se: float) -> bool:
    """Whether a difference is more than two of its standard errors from zero."""
    return abs(value) > 2 * se


def difference_text(value: float, se: float, digits: int = 2) -> str:
    """'+0.084 (0.019)': a signed difference with its standard error."""
    return f"{value:+.{digits}g} ({se:.2g})"


def difference_cell(a: Tuple[float, float], b: Tuple[float, float], digits: int = 2) -> str:
    """``difference_text`` of ``difference(a, b)``, in bold when it is beyond two
    standard errors, so a reader sees which differences the seeds settle."""
    value, se = difference(a, b)
    text = difference_text(value, se, digits)
    return f"**{text}**" if beyond_two_se(value, se) else text


def ordering_cell(lead: float, se: float) -> str:
    """'yes' when AGE-KL's mean is on the paper's side (``lead`` > 0), else 'no';
    flagged when the difference is within two of its standard errors, which the
    means alone do not settle."""
    if lead == 0:
        return "no (equal)"
    verdict = "yes" if lead > 0 else "no"
    return verdict if beyond_two_se(lead, se) else f"{verdict} (within 2 s.e.)"


def bar_section(recorded: dict) -> str:
    """The issue's bar judged from the recorded trials, and the rows ranked by KL
    beside the paper's ranking: rendered with the table after every trial so the
    hand-written discussion need not restate means that move with each seed.
    Orderings compare means; the standard error of a difference is the root sum
    of the two rows' squared standard errors."""
    rows = {}
    for label in ROW_LABELS:
        found = trials.row_records(recorded, label)
        if found:
            rows[label] = {key: tables.mean_and_stderr([r[key] for r in found])
                           for key in ("modes_covered", "mode_kl")}
            rows[label]["seeds"] = [r["seed"] for r in found]
    lines = ["## Against the issue's bar", "",
             "Rendered by the runner from the trials above (means over each row's seeds); the discussion below "
             "interprets it."]
    if "AGE-KL" in rows:
        own = rows["AGE-KL"]
        (modes, modes_se), (kl, kl_se) = own["modes_covered"], own["mode_kl"]
        lines += ["",
                  f"AGE-KL over {seeds_text(own['seeds'])}: modes {modes:.4g} ({modes_se:.2g}), at least "
                  f"{BAR_MODES}: {'holds' if modes >= BAR_MODES else 'missed'}; KL {kl:.4g} ({kl_se:.2g}), at most "
                  f"{BAR_KL}: {'holds' if kl <= BAR_KL else 'missed'}."]
        rivals = [label for label in BAR_RIVALS if label in rows]
        if rivals:
            lines += ["", "| AGE-KL against | seeds | modes: AGE-KL minus it (s.e.) | more modes | "
                      "KL: AGE-KL minus it (s.e.) | lower KL |", "|---|---|---|---|---|---|"]
            for label in rivals:
                cells = [seeds_text(rows[label]["seeds"])]
                for key, sign in (("modes_covered", 1), ("mode_kl", -1)):
                    value, se = difference(own[key], rows[label][key])
                    cells += [difference_text(value, se), ordering_cell(sign * value, se)]
                lines.append(tables.markdown_row([label, *cells]))
    ranked = sorted(rows, key=lambda label: rows[label]["mode_kl"][0])
    paper_ranked = sorted((label for label in ROW_LABELS if label in rows),
                          key=lambda label: float(PAPER_VALUES[label][2]))
    lines += ["", "Rows by mean KL, lowest first:", "",
              "| rank | here | KL | paper | paper's KL |", "|---|---|---|---|---|"]
    for rank, (label, paper_label) in enumerate(zip(ranked, paper_ranked), start=1):
        lines.append(f"| {rank} | {label} | {rows[label]['mode_kl'][0]:.4g} | {paper_label} | "
                     f"{PAPER_VALUES[paper_label][2]} |")
    lines += pairwise_kl_lines({label: rows[label]["mode_kl"] for label in ranked})
    return "\n".join(lines) + "\n"


def pairwise_kl_lines(ranked: dict) -> list:
    """Every pair of rows' KL difference with its standard error, rows and columns
    in ``ranked``'s order (label -> (mean, s.e.), lowest KL first): the lower
    triangle, so each cell is a row minus one ranked above it. Which ranks the
    seeds settle is read here, not restated by hand."""
    labels = list(ranked)
    if len(labels) < 2:
        return []
    lines = ["", "KL of each row minus that of each row ranked above it (standard error of the difference), "
             "in bold where the difference is more than two standard errors (a rank the seeds so far "
             "settle):", "", *tables.markdown_header(["minus:", *labels[:-1]])]
    for i, label in enumerate(labels[1:], start=1):
        cells = [difference_cell(ranked[label], ranked[other], digits=2) if j < i else ""
                 for j, other in enumerate(labels[:-1])]
        lines.append(tables.markdown_row([label, *cells]))
    return lines


def trials_section(recorded: dict) -> str:
    """Every trial's modes covered and KL by row and seed, and each row's KL range:
    the single seeds the discussion reads, rendered after every trial rather than
    restated by hand."""
    seeds = sorted({record["seed"] for record in recorded.values()})
    lines = ["## Every trial", "", "Modes covered / KL of each trial, by seed:", "",
             *tables.markdown_header(["Method", *(f"seed {seed}" for seed in seeds), "KL range"])]
    for label in ROW_LABELS:
        found = {record["seed"]: record for record in trials.row_records(recorded, label)}
        if found:
            cells = [f"{found[seed]['modes_covered']:g} / {found[seed]['mode_kl']:.3f}" if seed in found else "-"
                     for seed in seeds]
            kls = [record["mode_kl"] for record in found.values()]
            lines.append(tables.markdown_row([label, *cells, f"{min(kls):.3f}-{max(kls):.3f}"]))
    return "\n".join(lines) + "\n"


def sections_after_table(recorded: dict) -> str:
    """What ``table4.md`` prints after the table: the bar and ranking, then every trial."""
    return bar_section(recorded) + "\n" + trials_section(recorded)
