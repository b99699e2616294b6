"""A run directory's files: ``flags.txt``, ``history.jsonl``, ``run_info.json`` and results.

The directory is created or refused with a clear message, every file is written
whole (``age_tf.files``), ``run_info.json`` counts every stretch of a resumed run, and a
finished run's flags can be read without parsing them (``saved_flag``).
Whether a run may resume lives in ``resume``; training in it, in ``training``.
"""

from __future__ import annotations

import json
import os
import sys

from age_tf import files
from age_tf.experiments import checks, hardware


def prepare_output_dir(path: str) -> str:
    """Creates the run directory, or stops with a clear message if it cannot."""
    path = os.path.abspath(os.path.expanduser(path))
    if os.path.exists(path) and not os.path.isdir(path):
        checks.usage_error(f"--output_dir {path} is a file, not a directory; choose another path.")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        checks.usage_error(f"--output_dir {path} cannot be created ({error.strerror}).")
    if not os.access(path, os.W_OK):
        checks.usage_error(f"--output_dir {path} is not writable; choose another path.")
    return path


def read_json_object(path: str, what: str) -> dict:
    """The JSON object in ``path`` (a run's metrics.json or run_info.json, a table's
    results); exit 2 naming the file when it is not one (truncated, edited by hand,
    another program's), followed by what to do (``what``)."""
    try:
        with open(path) as f:
            found = json.load(f)
    except (ValueError, UnicodeDecodeError) as error:
        checks.usage_error(f"{path} is not valid JSON ({error}); {what}")
    if not isinstance(found, dict):
        checks.usage_error(f"{path} holds a JSON {type(found).__name__}, not an object; {what}")
    return found


def command_line() -> str:
    """This process's command as a user would retype it: ``python -m <module> <flags>``
    when run with -m (whose sys.argv[0] is the module's file path), else the script."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    program = ["python -m", spec.name] if spec is not None and spec.name else ["python", *sys.argv[:1]]
    return " ".join(program + sys.argv[1:])


def write_run_info(output_dir: str, train_seconds: float, resumed_after_epoch: int,
                   earlier_train_seconds: float = 0.0, resumed_steps_into_epoch: int = 0, **seconds) -> dict:
    """Wall time and machine of a run, in run_info.json.

    They live apart from metrics.json so that two runs with the same seed on the
    same machine write byte-identical metrics.json files. ``train_seconds`` covers
    every stretch of a resumed run: ``earlier_train_seconds`` (what the history
    recorded before the resume) plus this invocation's ``train_seconds``.
    ``seconds`` adds other timings, e.g. ``eval_seconds=...``. A run resumed from a
    mid-epoch checkpoint records the steps it had finished into the next epoch
    (``resumed_steps_into_epoch``).
    """
    info = {
        "train_seconds": round(float(earlier_train_seconds + train_seconds), 1),
        "earlier_train_seconds": round(float(earlier_train_seconds), 1),
        "resumed_after_epoch": int(resumed_after_epoch),
        **({"resumed_steps_into_epoch": int(resumed_steps_into_epoch)} if resumed_steps_into_epoch else {}),
        "machine": hardware.machine_description(),
        "command": command_line(),
        hardware.ONEDNN_VARIABLE: os.environ.get(hardware.ONEDNN_VARIABLE),  # oneDNN kernels change the round-off
        **{name: round(float(value), 1) for name, value in seconds.items()},
    }
    files.write_json(os.path.join(output_dir, "run_info.json"), info)
    return info


FLAGS_HEADER = "# Resolved flags of python -m "  # flags.txt's first line, then the entry point that wrote it


def save_resolved_flags(output_dir: str, module_name: str) -> str:
    """Writes the resolved flags of this module as a reusable flagfile, whole or not at all
    (``age_tf.files``); its first line names the entry point (``writer``)."""
    lines = [f"{FLAGS_HEADER}{module_name}", *resolved_flag_lines(module_name).values()]
    return files.write(os.path.join(output_dir, "flags.txt"), lambda f: f.write("\n".join(lines) + "\n"), ".txt")


def writer(run_dir: str):
    """The entry point (``age_tf.experiments.mog``, ...) that ``run_dir/flags.txt`` names on its first
    line, or None when the file is missing, unreadable or has no such line."""
    path = os.path.join(run_dir, "flags.txt")
    if not os.path.isfile(path):  # not a named pipe, whose reading would wait forever
        return None
    try:
        with open(path, encoding="utf-8") as f:
            first = f.readline().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return first[len(FLAGS_HEADER):].strip() or None if first.startswith(FLAGS_HEADER) else None


UNSET = " unset"  # flags.txt line of a flag without a value: "# --scale_clip unset" (a comment to absl)


def resolved_flag_lines(module_name: str) -> dict:
    """Flag name -> its flags.txt line for every flag of the entry point: what
    ``save_resolved_flags`` writes. A flag with a value gives ``flag.serialize()``;
    one without (e.g. --scale_clip unset) gives the comment ``# --name unset``, so
    that a resume that sets it is seen to change it."""
    return {flag.name: flag.serialize() if flag.value is not None else f"# --{flag.name}{UNSET}"
            for flag in checks.module_flags(module_name)}


def default_flag_lines(module_name: str) -> dict:
    """Flag name -> the flags.txt line each flag of the entry point has at its default."""
    import copy

    lines = {}
    for flag in checks.module_flags(module_name):
        at_default = copy.deepcopy(flag)
        at_default.value = flag.default
        lines[flag.name] = at_default.serialize() if flag.default is not None else f"# --{flag.name}{UNSET}"
    return lines


def flag_name(line: str, known) -> str:
    """``name`` of ``--name=value``, ``--name``, ``# --name unset`` or (``name`` in
    ``known``) ``--noname``."""
    if line.startswith("# --") and line.endswith(UNSET):
        return line[len("# --"):-len(UNSET)]
    body = line[2:]
    if "=" in body:
        return body.split("=", 1)[0]
    if body not in known and body.startswith("no") and body[2:] in known:
        return body[2:]
    return body


def saved_flag(run_dir: str, name: str):
    """The value of ``--name`` in ``run_dir/flags.txt`` as written there (a string;
    ``"true"``/``"false"`` for ``--name``/``--noname``), or None when the file or
    the flag is missing. For tools that look at a finished run without parsing
    its flags into FLAGS (``load_run`` does that)."""
    for line in saved_flag_lines(run_dir):
        if flag_name(line, {name}) == name:
            if line.startswith("#"):
                return None
            if "=" in line:
                return line.split("=", 1)[1]
            return "false" if line == f"--no{name}" else "true"
    return None


def saved_flag_lines(run_dir: str) -> list:
    """The ``--flag`` and ``# --flag unset`` lines of ``run_dir/flags.txt``; none when it is
    missing or not text."""
    path = os.path.join(run_dir, "flags.txt")
    if not os.path.isfile(path):
        return []
    try:
        with open(path) as f:
            lines = [line.strip() for line in f]
    except UnicodeDecodeError:
        return []
    return [line for line in lines if line.startswith("--") or (line.startswith("# --") and line.endswith(UNSET))]


HISTORY_FILE = "history.jsonl"
CHECKPOINT_DIR = "checkpoint"  # the run's TrainingCheckpoint files
TENSORBOARD_DIR = "tensorboard"  # the TensorBoard callback's scalars and any image summaries beside them
# What a training leaves in its run directory, besides flags.txt (rewritten by every run):
# ``clear_training`` removes them when a run starts over (--noresume).
TRAINING_DIRS = (CHECKPOINT_DIR, TENSORBOARD_DIR, "views")
TRAINING_FILES = (HISTORY_FILE, "metrics.json", "run_info.json", "mog.png", "samples.npy")


def clear_training(output_dir: str) -> list:
    """Removes what an earlier training left in ``output_dir`` (``TRAINING_DIRS`` and
    ``TRAINING_FILES``, each only if it is what a training writes there: a directory
    or a file), so that the directory describes only the training that starts now;
    returns the names removed."""
    import shutil

    removed = []
    for name in (*TRAINING_DIRS, *TRAINING_FILES):
        path = os.path.join(output_dir, name)
        try:
            if name in TRAINING_DIRS and os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif name in TRAINING_FILES and os.path.isfile(path):
                os.remove(path)
            else:
                continue
        except OSError as error:
            raise files.with_filename(error, path) from error
        removed.append(name)
    return removed


def history_records(history_path: str) -> list:
    """(line, record) for each line of a run's history that is a JSON object; a torn line (a
    process killed mid-write) and one whose bytes are not UTF-8 are skipped alike. [] when the
    file is missing or not a regular file."""
    if not os.path.isfile(history_path):  # isfile: not a device such as /dev/full
        return []
    with open(history_path, "rb") as f:
        raw_lines = f.readlines()
    records = []
    for raw in raw_lines:
        try:
            line = raw.decode("utf-8")
            record = json.loads(line)
        except ValueError:  # UnicodeDecodeError is a ValueError too
            continue
        if isinstance(record, dict):
            records.append((line if line.endswith("\n") else line + "\n", record))
    return records


def drop_history_after(history_path: str, epoch: int) -> int:
    """Removes the records of epochs after ``epoch`` (and torn lines) from a run's history;
    returns how many lines went. A resumed run retrains those epochs from the checkpoint
    of ``epoch`` and records them again: without this, the history would hold the lost
    stretch's epochs and the retrained ones, twice over (e.g. after a save failed on a
    full disk). The file is replaced whole (``age_tf.files``)."""
    if not os.path.isfile(history_path):
        return 0
    with open(history_path, "rb") as f:
        lines = f.readlines()
    kept = [line for line, record in history_records(history_path)
            if isinstance(record.get("epoch"), int) and record["epoch"] <= epoch]
    if len(kept) == len(lines):
        return 0
    files.write(history_path, lambda f: f.writelines(kept), ".jsonl")
    return len(lines) - len(kept)


def recorded_wall_seconds(history_path: str, epoch: int) -> float:
    """Training wall time up to the end of ``epoch``, as a run's history recorded it.

    The last record of that epoch counts: it belongs to the stretch whose checkpoint
    a resumed run restored. 0.0 for epoch 0, a missing history or no such record;
    a torn line (a process killed mid-write) is skipped. A resumed run adds this to
    its own time, so that its ``train_seconds`` cover every stretch, not the last.
    """
    if epoch <= 0:
        return 0.0
    found = 0.0
    for _, record in history_records(history_path):
        if record.get("epoch") == epoch and "wall_s" in record:
            found = float(record["wall_s"])
    return found


def earlier_train_seconds(output_dir: str, initial_epoch: int) -> float:
    """Training seconds the run's history recorded for its first ``initial_epoch``
    epochs: what a resumed run adds to its own time."""
    return recorded_wall_seconds(os.path.join(output_dir, HISTORY_FILE), initial_epoch)
