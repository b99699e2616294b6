"""Runs the rows of a paper table for several seeds each and tabulates mean (standard error).

Shared by the table runners (``python -m experiments.tableN.run``). A table names the entry point
that runs one trial, its rows (a label and the flags that make the row) and
the metrics to tabulate. Every trial runs in its own process and run
directory ``<runs_dir>/<row slug>_s<seed>``; trials run several at once when
the machine has the cores. Results go to ``<results_dir>/<name>.json`` (every
trial's metrics, the command, the machine, the wall time) and
``<results_dir>/<name>.md``, followed by ``<results_dir>/<name>_discussion.md``
(the comparison with the paper, written by hand) when it exists, after each trial. Rerunning resumes: a trial already
in the JSON, or whose run directory holds ``metrics.json``, is not run again; a
rerun with nothing left to run rewrites the Markdown (with the discussion) and
keeps the command, machine and wall time of the last invocation that ran trials.

    TABLE = trials.Table(name="table4", title="...", runner="experiments.table4.run",
                         module="age_tf.experiments.mog",
                         rows=(("AGE-KL", ("--method=age", "--divergence=kl")), ...),
                         columns=(trials.Column("modes_covered", "Modes"), ...))
    trials.define_flags(TABLE, flagfile="experiments/table4/mog25_age_kl.flags")

    def main(argv):
        return trials.main(TABLE, argv)
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import math
import os
import re
import subprocess
import sys
import time
from typing import Callable, Dict, Optional, Sequence, Tuple

from absl import flags

from age_tf import files
from age_tf.experiments import checks, hardware, run_directory
from experiments import tables

FLAGS = flags.FLAGS


@dataclasses.dataclass(frozen=True)
class Column:
    """One metric of the table: ``metrics.json`` key, header, and a factor (100 for %)."""

    key: str
    header: str
    scale: float = 1.0


@dataclasses.dataclass(frozen=True)
class Table:
    """What a reproduce entry point runs and how it tabulates.

    Args:
        name: file stem of the results, e.g. ``table4``.
        title: heading of the Markdown file.
        runner: the reproduce entry point itself, as recorded in the command.
        module: the entry point of one trial (``python -m module``).
        rows: (label, flags) pairs in the paper's order.
        columns: the metrics tabulated as mean (standard error).
        paper: label -> the paper's values for that row, shown in a last column.
        paper_header: header of that column.
        notes: lines printed under the table.
        checks: renders, from the recorded trials, a section printed after the
            notes (e.g. an issue's bar, judged from the current numbers), so
            that the hand-written discussion need not restate them.
    """

    name: str
    title: str
    runner: str
    module: str
    rows: Tuple[Tuple[str, Sequence[str]], ...]
    columns: Tuple[Column, ...]
    paper: Optional[Dict[str, str]] = None
    paper_header: str = "paper"
    notes: Tuple[str, ...] = ()
    checks: Optional[Callable[[dict], str]] = None

    @property
    def labels(self) -> list:
        return [label for label, _ in self.rows]

    def progress(self, metrics: dict) -> str:
        """The line printed when a trial ends: each column's header and value."""
        return ", ".join(f"{c.header} {metrics[c.key] * c.scale:.4g}" for c in self.columns)


def define_flags(table: Table, flagfile: str, runs_dir: Optional[str] = None):
    """The runner's flags; call once at import of the entry point."""
    flags.DEFINE_integer("trials", 3, "Seeds per row (0, 1, ...).")
    flags.DEFINE_list("rows", table.labels, "Subset of rows to run, by label.")
    flags.DEFINE_integer("parallel", 0, "Trials at once (0: one per 2 CPU cores, at least 1).")
    flags.DEFINE_string("flagfile_path", flagfile, "Base flags of every trial.")
    flags.DEFINE_list("extra_flags", [], "More flags for every trial, e.g. --epochs=1.")
    flags.DEFINE_string("runs_dir", runs_dir or os.path.join("runs", table.name),
                        "Where trial run directories go (large).")
    flags.DEFINE_string("results_dir", os.path.join("experiments", table.name, "results"),
                        f"Where {table.name}.md and {table.name}.json go (small).")
    flags.DEFINE_boolean("dry_run", False, "Print the trials that would run and exit.")


def slug(label: str) -> str:
    """A row label as a file name: 'GAN (JS)' -> 'gan__js'."""
    return "".join(c.lower() if c.isalnum() else "_" for c in label).strip("_")


def trial_dir(label: str, seed: int) -> str:
    """``<runs_dir>/<row slug>_s<seed>``: the run directory of one trial."""
    return os.path.join(FLAGS.runs_dir, f"{slug(label)}_s{seed}")


def row_of(key: str) -> str:
    """The row label of a trial key ``label/seed``."""
    return key.rsplit("/", 1)[0]


def row_records(trials: dict, label: str) -> list:
    """The recorded trials of one row, in seed order (numeric: seed 10 after seed 9)."""
    return sorted((r for k, r in trials.items() if row_of(k) == label), key=lambda r: r["seed"])


def load_results(path: str) -> dict:
    """The whole results JSON: ``trials`` and the last invocation that ran trials
    (``command``, ``machine``, ``parallel``, ``threads``, ``wall_seconds``, ``ran``);
    {} before the first. Exit 2 naming the file when it is not such a record: moved
    away, it is rebuilt from the trials' run directories."""
    if not os.path.isfile(path):
        return {}
    what = ("move it away and rerun: finished trials are read again from their run directories "
            "(--runs_dir).")
    found = run_directory.read_json_object(path, what)
    trials = found.get("trials", {})
    if not isinstance(trials, dict) or not all(
            isinstance(r, dict) and isinstance(r.get("seed"), int) for r in trials.values()):
        checks.usage_error(f"{path} has no trials in the form this runner writes (label/seed: metrics with a "
                        f"seed); {what}")
    _check_types(path, _typed_fields(found), what)
    return found


def _check_types(path: str, fields, what: str):
    """Exit 2 naming ``path`` and the field when a (name, value) of ``fields`` is not the type the
    runner writes there (the table renderer would fail on it after rewriting the results)."""
    for field, value in fields:
        text = field.rpartition(".")[2] in TEXT_FIELDS
        if value is not None and not (isinstance(value, str) if text else _is_number(value)):
            checks.usage_error(f"{path} holds {value!r} at {field}, where this runner writes "
                            f"{'text' if text else 'a number'}; {what}")


TEXT_FIELDS = ("command", "machine", "label")  # of a results file and its trials; every other value is a number


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _typed_fields(found: dict):
    """(name, value) of a results file's fields and of its trials' (``trials.<key>.<field>``)."""
    for field, value in found.items():
        if field != "trials":
            yield field, value
    for key, record in found.get("trials", {}).items():
        for field, value in record.items():
            yield f"trials.{key}.{field}", value


TIMES = ("train_seconds", "eval_seconds", "classifier_seconds")  # from a trial's run_info.json
RUN_INFO = (*TIMES, "machine")  # what a trial's record takes from its run_info.json


def finished_trial(out: str) -> dict:
    """A finished trial's ``metrics.json`` with its wall times and machine from ``run_info.json``."""
    what = f"remove it and rerun to evaluate that trial again (its checkpoints in {out} are kept)."
    record = run_directory.read_json_object(os.path.join(out, "metrics.json"), what)
    _check_types(os.path.join(out, "metrics.json"), record.items(), what)
    info_path = os.path.join(out, "run_info.json")
    if os.path.isfile(info_path):
        info = run_directory.read_json_object(info_path, "remove it and rerun; the trial is then recorded "
                                              "without its times and machine.")
        record.update({k: info[k] for k in RUN_INFO if k in info})
    return record


def trial_minutes(record: dict) -> float:
    """Training plus evaluation time of one trial, in minutes (NaN if not recorded)."""
    seconds = [record[k] for k in TIMES if k in record]
    return sum(seconds) / 60 if seconds else math.nan


def progress_note(out: str) -> str:
    """' (history reaches epoch E of N)' for a trial that has trained before, else ''.

    E is the last epoch in its ``history.jsonl`` (torn lines skipped), N the
    ``--epochs`` of its ``flags.txt``; the trial resumes from its newest
    checkpoint, which is epoch E when it checkpointed every epoch."""
    last = 0
    for _, record in run_directory.history_records(os.path.join(out, run_directory.HISTORY_FILE)):
        try:
            last = max(last, int(record["epoch"]))
        except (ValueError, KeyError, TypeError):
            continue
    epochs = run_directory.saved_flag(out, "epochs")
    return f" (history reaches epoch {last}{' of ' + epochs if epochs else ''})" if last else ""


def run_trial(module: str, label: str, row_flags, seed: int, threads: int) -> dict:
    """One trial in its own process; its stdout and stderr go to ``stdout.log``
    (appended: a resumed trial keeps the log of its earlier stretches)."""
    out = trial_dir(label, seed)
    command = [
        sys.executable, "-m", module,
        f"--flagfile={FLAGS.flagfile_path}", *row_flags, *FLAGS.extra_flags,
        f"--seed={seed}", f"--output_dir={out}", f"--num_threads={threads}",
    ]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "stdout.log"), "a") as log:
        log.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')}: {' '.join(command)}\n")
        log.flush()
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise RuntimeError(failure_message(label, seed, result.returncode, out))
    return finished_trial(out)


def failure_message(label: str, seed: int, returncode: int, out: str) -> str:
    """What a failed trial tells the user. Exit 2 is the entry point refusing its
    input (e.g. a resume with other settings): its one sentence, the last line of
    the trial's log, is quoted, since rerunning will not change it."""
    log = os.path.join(out, "stdout.log")
    if returncode == 2:
        with open(log) as f:
            lines = [line.strip() for line in f if line.strip()]
        reason = lines[-1] if lines else "no message"
        return f"{label} seed {seed} was refused (exit 2): {reason} (log: {log})"
    return f"{label} seed {seed} failed (exit {returncode}); see {log}"


def mean_se_cell(values, scale: float = 1.0) -> str:
    """'mean (se)' with 4 and 2 significant digits; the mean alone for one value."""
    mean, se = tables.mean_and_stderr([v * scale for v in values])
    return f"{mean:.4g} ({se:.2g})" if not math.isnan(se) else f"{mean:.4g}"


def recorded_hours_sentence(trials: dict) -> str:
    """'All N trials took H hours of training and evaluation together. ' from their
    run_info times: the whole table's cost when invocations were interrupted and
    resumed, which no single invocation's wall time shows. Empty if none is timed."""
    minutes = [trial_minutes(r) for r in trials.values()]
    timed = [m for m in minutes if not math.isnan(m)]
    if not timed:
        return ""
    missing = len(minutes) - len(timed)
    untimed = f" ({missing} without recorded times)" if missing else ""
    if len(minutes) == 1:
        return f"The one trial took {sum(timed) / 60:.1f} hours of training and evaluation. "
    return (f"All {len(minutes)} trials{untimed} took {sum(timed) / 60:.1f} hours of training and "
            "evaluation together (trials that ran side by side each count in full). ")


def machines_sentence(trials: dict) -> str:
    """'The trials ran on M (n); M2 (m). ' from each record's machine (a table
    resumed in several sessions may have run on several machines); empty if none
    is recorded."""
    counts = collections.Counter(r["machine"] for r in trials.values() if "machine" in r)
    if not counts:
        return ""
    missing = len(trials) - sum(counts.values())
    listed = "; ".join(f"{machine} ({n})" for machine, n in counts.most_common())
    return f"The trials ran on {listed}{f'; {missing} without a recorded machine' if missing else ''}. "


def render_table(table: Table, trials: dict, wall_seconds: Optional[float], command: str,
                 ran: Optional[int] = 0, parallel: int = 0, threads: int = 0,
                 machine: Optional[str] = None) -> str:
    """The Markdown table; ``parallel`` and ``threads`` (when given) say how many
    trials this invocation ran side by side and with how many CPU threads each,
    on which its trials' minutes depend. ``ran`` None: a record that predates
    counting them; ``wall_seconds`` None: one whose wall time was lost (an early
    re-render overwrote it); ``machine`` None: this machine."""
    concurrency = (f", {parallel} side by side with {threads} CPU thread(s) each"
                   if parallel and threads else "")
    counted = (f"for {ran} trial(s) run (the others were recorded before)" if ran is not None
               else "(the number of trials it ran was not recorded)")
    wall = f"{wall_seconds / 60:.1f} minutes {counted}" if wall_seconds is not None else "not recorded"
    headers = ["Method", *(c.header for c in table.columns), "minutes a trial", "seeds"]
    if table.paper:
        headers.append(table.paper_header)
    lines = [
        f"# {table.title}",
        "",
        "Command:",
        "",
        "```",
        command,
        "```",
        "",
        f"Machine of this invocation: {machine or hardware.machine_description()}. Wall time of this invocation: "
        f"{wall}{concurrency}. "
        f"{machines_sentence(trials)}"
        f"{recorded_hours_sentence(trials)}"
        "Mean (standard error) over the seeds listed; minutes a trial: mean training plus "
        "evaluation time from each trial's run_info.json (every stretch of a resumed trial).",
        "",
        *tables.markdown_header(headers),
    ]
    for label in table.labels:
        results = row_records(trials, label)
        if not results:
            continue
        cells = [mean_se_cell([r[c.key] for r in results], c.scale) for c in table.columns]
        minutes = [trial_minutes(r) for r in results]
        cells.append(f"{sum(minutes) / len(minutes):.1f}" if not any(map(math.isnan, minutes)) else "-")
        cells.append(", ".join(str(r["seed"]) for r in results))
        if table.paper:
            cells.append(table.paper.get(label, "-"))
        lines.append(tables.markdown_row([label, *cells]))
    if table.notes:
        lines += ["", *table.notes]
    if table.checks and trials:
        lines += ["", table.checks(trials).rstrip("\n")]
    return "\n".join(lines) + "\n"


_WRITTEN_AFTER = re.compile(r"[Ww]ritten by hand after (\d+) trials")


def discussion_lag_note(discussion: str, trials: dict) -> str:
    """The sentence put (in italics) before a hand-written discussion that no longer matches the table.

    A discussion states the trials it read as "Written by hand after N trials";
    the runner rewrites the table after every trial, so until someone rereads
    the numbers and edits the prose, a reader is told which of the two is current.
    Returns "" when the counts agree or the discussion states none.
    """
    match = _WRITTEN_AFTER.search(discussion)
    if not match or int(match.group(1)) == len(trials):
        return ""
    return (f"The discussion below was written after {match.group(1)} trials; the tables above have "
            f"{len(trials)}. Where their numbers differ, the tables above are current.")


def write_results(table: Table, results_dir: str, trials: dict, record: dict, wall_seconds: Optional[float],
                  ran: Optional[int], after: Optional[Callable[[str, dict], None]] = None) -> str:
    """Writes ``<table>.json`` and ``<table>.md`` (with the hand-written
    ``<table>_discussion.md`` appended when it exists, behind a note when it
    counts other trials than the table: ``discussion_lag_note``) and runs ``after``;
    returns the Markdown. ``record``: the invocation's command, machine,
    parallel and threads."""
    files.write_json(os.path.join(results_dir, f"{table.name}.json"),
                             {"trials": trials, **record, "wall_seconds": wall_seconds, "ran": ran})
    text = render_table(table, trials, wall_seconds, record["command"], ran=ran,
                        parallel=record.get("parallel", 0), threads=record.get("threads", 0),
                        machine=record.get("machine"))
    discussion = os.path.join(results_dir, f"{table.name}_discussion.md")
    if os.path.isfile(discussion):  # written by hand after reading the numbers; kept across reruns
        with open(discussion) as f:
            written = f.read()
        lag = discussion_lag_note(written, trials)
        if lag:
            print(f"{discussion}: {lag} Edit it after rereading them.", file=sys.stderr)
        text += "\n" + (f"*{lag}*\n\n" if lag else "") + written
    files.write(os.path.join(results_dir, f"{table.name}.md"), lambda f: f.write(text), ".md")
    if after:
        after(results_dir, trials)
    return text


MAX_TRIALS = 1000  # seeds per row; far beyond any table's (the paper's: 10)

# Flags a trial's command sets itself (run_trial), after --extra_flags.
TRIAL_FLAGS = ("seed", "output_dir", "num_threads")


def extra_flag_conflicts(table: Table, extra, rows) -> list:
    """(flag, what sets it) of each of ``extra`` that one of the ``rows`` (labels) or the
    runner sets for a trial: passed on, it would train another method than the row's
    label says (an AGE-JS trial recorded as the AGE-KL row), or be overridden."""
    name = lambda arg: arg.lstrip("-").split("=", 1)[0]  # noqa: E731
    set_by = {n: "the runner" for n in (*TRIAL_FLAGS, "flagfile")}
    for label, row_flags in (row for row in table.rows if row[0] in rows):
        for arg in row_flags:
            set_by.setdefault(name(arg), f"the row {label}")
            set_by.setdefault("no" + name(arg), f"the row {label}")
    found = []
    for arg in extra:
        key = name(arg)
        if key in set_by or (key.startswith("no") and key[2:] in set_by):
            found.append((arg, set_by.get(key) or set_by[key[2:]]))
    return found


def _validate(table: Table):
    """Exit 2 for unknown rows, --trials outside [1, MAX_TRIALS], negative --parallel, a
    missing flagfile, or --extra_flags that are not flags or that change what a row trains."""
    if not FLAGS.rows:
        checks.usage_error(f"--rows is empty; name one or more of: {', '.join(table.labels)}.")
    unknown = [r for r in FLAGS.rows if r not in table.labels]
    if unknown:
        checks.usage_error(f"Unknown rows {unknown}. Available: {', '.join(table.labels)}.")
    if not 1 <= FLAGS.trials <= MAX_TRIALS:
        checks.usage_error(f"--trials={FLAGS.trials}: give the number of seeds per row, 1 to {MAX_TRIALS} "
                        "(the paper: 10).")
    not_flags = [arg for arg in FLAGS.extra_flags if not arg.startswith("-")]
    if not_flags:
        checks.usage_error(f"--extra_flags={','.join(not_flags)} is not a flag; give flags such as "
                        "--extra_flags=--epochs=1,--num_eval_samples=1000.")
    stopping = [arg for arg in FLAGS.extra_flags
                if arg.lstrip("-").split("=", 1)[0] in ("dry_run", "help", "helpfull", "helpshort", "helpxml")]
    if stopping:
        checks.usage_error(f"--extra_flags={stopping[0]} would make every trial stop before training, leaving no "
                        "metrics; for the runner's own plan pass --dry_run to it, not in --extra_flags.")
    conflicts = extra_flag_conflicts(table, FLAGS.extra_flags, FLAGS.rows)
    if conflicts:
        arg, owner = conflicts[0]
        checks.usage_error(f"--extra_flags={arg} changes a flag that {owner} sets, so the trial would not be "
                        "what the table records; leave that row out with --rows, or run the entry point "
                        "itself for other settings.")
    if FLAGS.parallel < 0:
        checks.usage_error(f"--parallel={FLAGS.parallel}: give the trials to run at once, 1 or more, "
                        "or 0 for one per 2 CPU cores.")
    if not os.path.isfile(FLAGS.flagfile_path):
        checks.usage_error(f"--flagfile_path {FLAGS.flagfile_path} does not exist.")


def asked_epochs(flagfile_path: str, row_flags, extra_flags):
    """The ``--epochs`` a trial's command gives (the last of its flagfile, row and extra flags, as absl
    reads them), as written; None when none of them sets it."""
    lines = []
    try:
        with open(flagfile_path, encoding="utf-8") as f:
            lines = [line.strip() for line in f]
    except (OSError, UnicodeDecodeError):
        pass
    epochs = None
    for arg in (*lines, *row_flags, *extra_flags):
        if arg.startswith("--epochs="):
            epochs = arg.split("=", 1)[1]
    return epochs


def trained_as_asked(out: str, epochs) -> bool:
    """Whether a run directory holding ``metrics.json`` finished the ``epochs`` its command asks for: a
    trial recorded at 1 epoch is not finished for a command that asks for 2 (it resumes and trains on).
    A directory whose flags.txt does not say (missing, or not text) counts as finished: its metrics.json
    is read, and named if damaged."""
    saved = run_directory.saved_flag(out, "epochs")
    return epochs is None or saved is None or saved == epochs


def _pending(table: Table, trials: dict) -> list:
    """(key, label, flags, seed) of every trial not finished yet, seed by seed
    across the rows (an interrupted invocation leaves every row with trials);
    finished run directories missing from ``trials``, or recorded without their
    times and machine, are (re)read into it."""
    todo = []
    for seed in range(FLAGS.trials):
        for label, row_flags in table.rows:
            if label not in FLAGS.rows:
                continue
            key = f"{label}/{seed}"
            done = os.path.join(trial_dir(label, seed), "metrics.json")
            if os.path.isfile(done) and not trained_as_asked(
                    trial_dir(label, seed), asked_epochs(FLAGS.flagfile_path, row_flags, FLAGS.extra_flags)):
                todo.append((key, label, row_flags, seed))  # finished at fewer epochs: it resumes
                continue
            complete = key in trials and "machine" in trials[key] and any(k in trials[key] for k in TIMES)
            if key in trials and (complete or not os.path.isfile(done)):
                continue
            if os.path.isfile(done):  # finished, or recorded before trials carried their times and machine
                trials[key] = finished_trial(trial_dir(label, seed))
                continue
            todo.append((key, label, row_flags, seed))
    return todo


def main(table: Table, argv, after: Optional[Callable[[str, dict], None]] = None) -> int:
    """Runs the pending trials of ``table`` and writes its results.

    ``after(results_dir, trials)`` writes anything more (e.g. a figure).
    """
    if len(argv) > 1:
        checks.usage_error(f"Unexpected arguments: {' '.join(argv[1:])}.")
    _validate(table)
    for name in ("results_dir", "runs_dir"):
        checks.check_writable_directory(FLAGS, name)
    json_path = os.path.join(os.path.abspath(os.path.expanduser(FLAGS.results_dir)), f"{table.name}.json")
    previous = load_results(json_path)
    trials = previous.get("trials", {})
    todo = _pending(table, trials)
    parallel = FLAGS.parallel or max(1, (os.cpu_count() or 2) // 2)
    threads = max(1, (os.cpu_count() or 2) // parallel)
    print(f"{len(trials)} trials recorded, {len(todo)} to run, {parallel} at a time.")
    if FLAGS.dry_run:
        for key, label, _, seed in todo:
            started = progress_note(trial_dir(label, seed))
            print(f"would {'resume' if started else 'run'} {key}{started}")
        return 0

    results_dir = run_directory.prepare_output_dir(FLAGS.results_dir)
    if not todo and {"command", "wall_seconds"} <= previous.keys():
        # Nothing to run (e.g. rerun after writing <table>_discussion.md): the table
        # keeps the command, machine and wall time of the invocation that ran trials.
        record = {k: previous[k] for k in ("command", "machine", "parallel", "threads") if k in previous}
        text = write_results(table, results_dir, trials, record, previous["wall_seconds"],
                             previous.get("ran"), after)
        sys.stdout.write(text)
        return 0

    start = time.time()
    command = f"python -m {table.runner} " + " ".join(sys.argv[1:])
    record = {"command": command, "machine": hardware.machine_description(),
              "parallel": parallel, "threads": threads}
    failed, ran = [], 0
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        futures = {
            pool.submit(run_trial, table.module, label, row_flags, seed, threads): key
            for key, label, row_flags, seed in todo
        }
        for future in concurrent.futures.as_completed(futures):
            key = futures[future]
            try:
                trials[key] = future.result()
            except RuntimeError as error:  # the others go on; a rerun retries this one
                failed.append(str(error))
                print(error, file=sys.stderr, flush=True)
                continue
            print(f"{key}: {table.progress(trials[key])}", flush=True)
            ran += 1
            # After every trial, so a stopped invocation leaves a current table, not only the JSON.
            write_results(table, results_dir, trials, record, time.time() - start, ran, after)
    text = write_results(table, results_dir, trials, record, time.time() - start, ran, after)
    sys.stdout.write(text)
    if failed:
        print(f"{len(failed)} trial(s) failed; rerun the same command to retry them (a refused one after "
              "fixing what its message names).", file=sys.stderr)
        return 1
    return 0
