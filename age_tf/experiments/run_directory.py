"""A run directory: its flags, history, checkpoints, run_info.json and results files.

Everything an entry point writes goes through here: the directory is created
or refused with a clear message, JSON is written atomically, the history and
``run_info.json`` count every stretch of a resumed run, and a finished run can
be loaded back (``load_run``) or read without loading (``saved_flag``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
import time

import keras
from absl import flags

from age_tf.experiments import cli, hardware


def prepare_output_dir(path: str) -> str:
    """Creates the run directory, or stops with a clear message if it cannot."""
    path = os.path.abspath(os.path.expanduser(path))
    if os.path.exists(path) and not os.path.isdir(path):
        cli.usage_error(f"--output_dir {path} is a file, not a directory; choose another path.")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        cli.usage_error(f"--output_dir {path} cannot be created ({error.strerror}).")
    if not os.access(path, os.W_OK):
        cli.usage_error(f"--output_dir {path} is not writable; choose another path.")
    return path


def write_json(path: str, payload) -> str:
    """Writes JSON atomically: a reader never sees a half-written file."""
    directory = os.path.dirname(path) or "."
    tmp = None
    try:
        handle, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are shared like any file
        with os.fdopen(handle, "w") as f:
            json.dump(payload, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    except OSError as error:
        raise _naming(error, path) from error
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)
    return path


def _umask() -> int:
    """The process's umask (reading it means setting it; done before any thread starts)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()


def _naming(error: OSError, path: str) -> OSError:
    """The same error, naming the file we meant to write (write() errors name none)."""
    return type(error)(error.errno, error.strerror or str(error), path)


def command_line() -> str:
    """This process's command as a user would retype it: ``python -m <module> <flags>``
    when run with -m (whose sys.argv[0] is the module's file path), else the script."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    program = ["python -m", spec.name] if spec is not None and spec.name else ["python", *sys.argv[:1]]
    return " ".join(program + sys.argv[1:])


def write_run_info(output_dir: str, train_seconds: float, resumed_after_epoch: int,
                   earlier_train_seconds: float = 0.0, **seconds) -> dict:
    """Wall time and machine of a run, in run_info.json.

    They live apart from metrics.json so that two runs with the same seed on the
    same machine write byte-identical metrics.json files. ``train_seconds`` covers
    every stretch of a resumed run: ``earlier_train_seconds`` (what the history
    recorded before the resume) plus this invocation's ``train_seconds``.
    ``seconds`` adds other timings, e.g. ``eval_seconds=...``.
    """
    info = {
        "train_seconds": round(float(earlier_train_seconds + train_seconds), 1),
        "earlier_train_seconds": round(float(earlier_train_seconds), 1),
        "resumed_after_epoch": int(resumed_after_epoch),
        "machine": hardware.machine_description(),
        "command": command_line(),
        hardware.ONEDNN_VARIABLE: os.environ.get(hardware.ONEDNN_VARIABLE),  # oneDNN kernels change the round-off
        **{name: round(float(value), 1) for name, value in seconds.items()},
    }
    write_json(os.path.join(output_dir, "run_info.json"), info)
    return info


def save_resolved_flags(output_dir: str, module_name: str) -> str:
    """Writes the resolved flags of this module as a reusable flagfile."""
    path = os.path.join(output_dir, "flags.txt")
    lines = [f"# Resolved flags of python -m {module_name}", *resolved_flag_lines(module_name).values()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


# Flags a resumed run may change: how long it trains, where and how it runs, and
# what it evaluates. Any other difference from the run's flags.txt is refused.
FREE_ON_RESUME = frozenset({
    "epochs", "output_dir", "resume", "dry_run", "num_threads", "strategy", "jit_compile",
    "checkpoint_every", "tensorboard", "export_dir", "eval_every", "views_every", "num_view_images",
    "num_eval_samples", "metrics", "mc_samples", "ais_steps", "ais_chains", "ais_step_size",
    "ais_examples", "is_samples", "classifier_dir", "classifier_min_accuracy", "inception_weights",
    "inception_cache", "fid_samples", "mnist_dir", "data_dir",
})


def changed_on_resume(saved_lines, current: dict) -> list:
    """``(saved, now)`` line pairs of the training settings that differ between a
    run's flags.txt (``saved_lines``) and this invocation (``current``: flag name ->
    its line), lines as ``flag.serialize()`` writes them. A flag absent from either
    side (added to the entry point after the run) is not compared, nor any in
    ``FREE_ON_RESUME``."""
    changes = []
    for line in saved_lines:
        name = _flag_name(line, current)
        if name in current and name not in FREE_ON_RESUME and current[name] != line:
            changes.append((line, current[name]))
    return changes


def _flag_name(line: str, known) -> str:
    """``name`` of ``--name=value``, ``--name`` or (``name`` in ``known``) ``--noname``."""
    body = line[2:]
    if "=" in body:
        return body.split("=", 1)[0]
    if body not in known and body.startswith("no") and body[2:] in known:
        return body[2:]
    return body


def refuse_changed_resume(output_dir: str, module_name: str) -> None:
    """Stops, before flags.txt is rewritten, when ``--resume`` would continue a run
    directory's checkpoint with other training settings than the run had."""
    import tensorflow as tf

    if not flags.FLAGS.resume or tf.train.latest_checkpoint(os.path.join(output_dir, "checkpoint")) is None:
        return  # nothing to resume: the run starts over and its flags.txt is replaced
    saved = saved_flag_lines(output_dir)
    path = os.path.join(output_dir, "flags.txt")
    changes = changed_on_resume(saved, resolved_flag_lines(module_name))
    if changes:
        listed = "; ".join(f"{then} there, {now} now" for then, now in changes)
        cli.usage_error(
            f"--output_dir {output_dir} holds a checkpoint trained with other settings ({listed}); "
            f"resuming would mix the two. Rerun with that run's settings (--flagfile={path}, changing "
            "only --epochs or evaluation flags), choose another --output_dir, or pass --noresume to "
            "train from scratch there (its checkpoints are replaced)."
        )


def resolved_flag_lines(module_name: str) -> dict:
    """Flag name -> its flags.txt line (``flag.serialize()``) for every flag of the
    entry point that has a value: what ``save_resolved_flags`` writes."""
    return {flag.name: flag.serialize() for flag in cli.module_flags(module_name) if flag.value is not None}


def saved_flag(run_dir: str, name: str):
    """The value of ``--name`` in ``run_dir/flags.txt`` as written there (a string;
    ``"true"``/``"false"`` for ``--name``/``--noname``), or None when the file or
    the flag is missing. For tools that look at a finished run without parsing
    its flags into FLAGS (``load_run`` does that)."""
    for line in saved_flag_lines(run_dir):
        if _flag_name(line, {name}) == name:
            if "=" in line:
                return line.split("=", 1)[1]
            return "false" if line == f"--no{name}" else "true"
    return None


def saved_flag_lines(run_dir: str) -> list:
    """The ``--flag`` lines of ``run_dir/flags.txt``; none when it is missing."""
    path = os.path.join(run_dir, "flags.txt")
    if not os.path.isfile(path):
        return []
    with open(path) as f:
        return [line.strip() for line in f if line.startswith("--")]


HISTORY_FILE = "history.jsonl"
TENSORBOARD_DIR = "tensorboard"  # the TensorBoard callback's scalars and any image summaries beside them


def recorded_wall_seconds(history_path: str, epoch: int) -> float:
    """Training wall time up to the end of ``epoch``, as a run's history recorded it.

    The last record of that epoch counts: it belongs to the stretch whose checkpoint
    a resumed run restored. 0.0 for epoch 0, a missing history or no such record;
    a torn line (a process killed mid-write) is skipped. A resumed run adds this to
    its own time, so that its ``train_seconds`` cover every stretch, not the last.
    """
    if epoch <= 0 or not os.path.isfile(history_path):  # isfile: not a device such as /dev/full
        return 0.0
    found = 0.0
    with open(history_path) as f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("epoch") == epoch and "wall_s" in record:
                found = float(record["wall_s"])
    return found


class JsonLinesLogger(keras.callbacks.Callback):
    """Appends one JSON line of logs per epoch to a file, with ``wall_s``: the
    training wall time so far, counting ``earlier_seconds`` from the stretches
    before a resume (``recorded_wall_seconds``)."""

    def __init__(self, path: str, earlier_seconds: float = 0.0):
        super().__init__()
        self.path = path
        self._start = time.time() - earlier_seconds

    def on_epoch_end(self, epoch, logs=None):
        record = {"epoch": epoch + 1, "wall_s": round(time.time() - self._start, 2)}
        record.update({k: float(v) for k, v in (logs or {}).items()})
        try:
            with open(self.path, "a") as f:
                f.write(json.dumps(record) + "\n")
        except OSError as error:
            raise _naming(error, self.path) from error


def restore_training(model, output_dir: str, resume: bool):
    """(TrainingCheckpoint in output_dir/checkpoint, finished epochs restored from it).

    ``earlier_train_seconds(output_dir, epochs)`` is the training time those epochs took;
    ``resume_training`` gives all three to an entry point."""
    from age_tf import checkpointing

    saver = checkpointing.TrainingCheckpoint(model, os.path.join(output_dir, "checkpoint"))
    initial_epoch = saver.restore_latest() if resume else 0
    if initial_epoch:
        print(f"Resuming after epoch {initial_epoch} from {saver.latest}")
    return saver, initial_epoch


@dataclasses.dataclass(frozen=True)
class Training:
    """Where a run directory's training stands: its checkpoint ``saver``, the epochs
    already finished (``initial_epoch``; 0 for a fresh run or ``--noresume``) and the
    training seconds they took (``earlier_seconds``, which a resumed run adds to its own)."""

    output_dir: str
    saver: object
    initial_epoch: int
    earlier_seconds: float

    def fit(self, model, batches, *, epochs: int, steps_per_epoch: int, guard, checkpoint_every: int,
            tensorboard: bool, extra=()) -> None:
        """Trains epochs ``initial_epoch + 1 .. epochs`` with ``training_callbacks``;
        nothing when the run already finished them."""
        if self.initial_epoch >= epochs:
            return
        model.fit(
            batches,
            initial_epoch=self.initial_epoch,
            shuffle=False,  # the dataset shuffles itself (Keras warns that it ignores shuffle=True)
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            verbose=cli.fit_verbosity(),
            callbacks=training_callbacks(self.output_dir, guard, self.saver, epochs, checkpoint_every,
                                         tensorboard, extra, self.earlier_seconds),
        )

    def write_run_info(self, train_seconds: float, **seconds) -> dict:
        """``write_run_info`` for this run: this invocation's ``train_seconds`` plus the
        earlier stretches', and the epoch it resumed after. Returns what an entry point
        reports beside its metrics: ``train_seconds`` (every stretch), each of
        ``seconds`` as recorded and ``resumed_after_epoch``."""
        info = write_run_info(self.output_dir, train_seconds, self.initial_epoch, self.earlier_seconds, **seconds)
        return {"train_seconds": info["train_seconds"], **{name: info[name] for name in seconds},
                "resumed_after_epoch": self.initial_epoch}


def resume_training(model, output_dir: str, resume: bool) -> Training:
    """Restores the newest checkpoint of ``output_dir`` into ``model`` when ``resume``
    (``restore_training``) and reads the time its epochs took from the history."""
    saver, initial_epoch = restore_training(model, output_dir, resume)
    return Training(output_dir, saver, initial_epoch, earlier_train_seconds(output_dir, initial_epoch))


def load_run(run_dir: str, module_name: str, build_model, num_threads: int = 0):
    """(model, finished epochs) of a run directory that ``python -m module_name`` wrote.

    Parses ``run_dir/flags.txt`` into FLAGS (which then describe that run; the
    module must be imported so that its flags are defined), sets the CPU threads,
    builds the model with ``build_model(seed)`` as the run did and restores its
    newest checkpoint; for scripts that examine a trained run.
    """
    flagfile = os.path.join(run_dir, "flags.txt")
    if not os.path.isfile(flagfile):
        raise FileNotFoundError(
            f"{flagfile} does not exist: give a run directory written by "
            f"python -m {module_name} --output_dir=..."
        )
    flags.FLAGS([sys.argv[0] if sys.argv else module_name, f"--flagfile={flagfile}"])
    hardware.set_threads(num_threads)
    model = build_model(flags.FLAGS.seed)
    _, epoch = restore_training(model, run_dir, True)
    if not epoch:
        raise FileNotFoundError(
            f"No checkpoint in {run_dir}/checkpoint: the run saved none yet (see --checkpoint_every)."
        )
    return model, epoch


def earlier_train_seconds(output_dir: str, initial_epoch: int) -> float:
    """Training seconds the run's history recorded for its first ``initial_epoch``
    epochs: what a resumed run adds to its own time."""
    return recorded_wall_seconds(os.path.join(output_dir, HISTORY_FILE), initial_epoch)


def training_callbacks(output_dir: str, guard, saver, epochs: int, checkpoint_every: int,
                       tensorboard: bool = True, extra=(), earlier_seconds: float = 0.0) -> list:
    """The NaN guard, ``extra`` (evaluation first: loggers record its values), the
    JSON-lines history, TensorBoard scalars and the resumable checkpoints."""
    from age_tf import checkpointing

    history = JsonLinesLogger(os.path.join(output_dir, HISTORY_FILE), earlier_seconds)
    found = [guard, *extra, history]
    if tensorboard:
        found.append(keras.callbacks.TensorBoard(log_dir=os.path.join(output_dir, TENSORBOARD_DIR),
                                                 write_graph=False))
    found.append(checkpointing.CheckpointEveryEpochs(saver, checkpoint_every, epochs, guard=guard))
    return found


def open_run_directory(module_name: str, batch_size: int):
    """The strategy (batch size checked against its replicas), then the run
    directory with the resolved flags: the last checks before anything is written."""
    strategy = hardware.make_strategy(flags.FLAGS.strategy)
    cli.check_divisible_batch(batch_size, strategy, flags.FLAGS.strategy)
    output_dir = prepare_output_dir(flags.FLAGS.output_dir)
    refuse_changed_resume(output_dir, module_name)
    save_resolved_flags(output_dir, module_name)
    return output_dir, strategy
