"""Plumbing shared by the experiment entry points: run directories and logs."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

import keras
from absl import app, flags


def usage_error(message: str):
    """Stops the program with exit code 2 and one sentence, before any work."""
    raise app.UsageError(message, exitcode=2)


def prepare_output_dir(path: str) -> str:
    """Creates the run directory, or stops with a clear message if it cannot."""
    path = os.path.abspath(os.path.expanduser(path))
    if os.path.exists(path) and not os.path.isdir(path):
        usage_error(f"--output_dir {path} is a file, not a directory; choose another path.")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        usage_error(f"--output_dir {path} cannot be created ({error.strerror}).")
    if not os.access(path, os.W_OK):
        usage_error(f"--output_dir {path} is not writable; choose another path.")
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


def machine_description() -> str:
    """'2 CPU cores (AMD EPYC), Linux, no GPU' or with the GPUs TensorFlow sees."""
    import platform

    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    gpus = ""
    if "tensorflow" in sys.modules:
        found = sys.modules["tensorflow"].config.list_physical_devices("GPU")
        gpus = f"{len(found)} GPU(s)" if found else ""
    return f"{os.cpu_count()} CPU cores ({model or platform.processor()}), {platform.system()}, {gpus or 'no GPU'}"


ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"


def relaunch_with_onednn(module_name: str):
    """Re-executes ``python -m module_name`` with TensorFlow's oneDNN kernels on,
    unless ``TF_ENABLE_ONEDNN_OPTS`` is already set (either way: the user's choice).

    TensorFlow reads the variable once, when it loads, and leaves oneDNN off on
    CPUs without AVX-512; the Stacked MNIST convnets train 2.35x faster with it
    on such a CPU (BUILD_NOTES.md, Speed), the mixture MLPs do not, so only the
    convnet entry points call this, from ``__main__`` before any work. The process
    is replaced (``os.execve``): same pid, stdout and stderr, same arguments.
    """
    if ONEDNN_VARIABLE in os.environ:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    env = dict(os.environ, **{ONEDNN_VARIABLE: "1"})
    os.execve(sys.executable, [sys.executable, "-m", module_name, *sys.argv[1:]], env)


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
        "machine": machine_description(),
        "command": command_line(),
        ONEDNN_VARIABLE: os.environ.get(ONEDNN_VARIABLE),  # oneDNN kernels change the round-off
        **{name: round(float(value), 1) for name, value in seconds.items()},
    }
    write_json(os.path.join(output_dir, "run_info.json"), info)
    return info


def _module_flags(module_name: str):
    # Run as `python -m`, the module's flags are registered under __main__.
    module = sys.modules.get(module_name) or sys.modules["__main__"]
    found = flags.FLAGS.get_key_flags_for_module(module)
    return found or flags.FLAGS.get_key_flags_for_module(sys.argv[0])


def save_resolved_flags(output_dir: str, module_name: str) -> str:
    """Writes the resolved flags of this module as a reusable flagfile."""
    path = os.path.join(output_dir, "flags.txt")
    lines = [f"# Resolved flags of python -m {module_name}"]
    for flag in _module_flags(module_name):
        if flag.value is not None:
            lines.append(flag.serialize())
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def saved_flag(run_dir: str, name: str):
    """The value of ``--name`` in ``run_dir/flags.txt`` as written there (a string;
    ``"true"``/``"false"`` for ``--name``/``--noname``), or None when the file or
    the flag is missing. For tools that look at a finished run without parsing
    its flags into FLAGS (``load_run`` does that)."""
    path = os.path.join(run_dir, "flags.txt")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith(f"--{name}="):
                return line.split("=", 1)[1]
            if line == f"--{name}":
                return "true"
            if line == f"--no{name}":
                return "false"
    return None


def resolved_flags(module_name: str) -> dict:
    return {f.name: f.value for f in _module_flags(module_name)}


HISTORY_FILE = "history.jsonl"


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


class TrainingDiverged(RuntimeError):
    """A player's loss stopped being finite."""


def make_strategy(name: str):
    """default (one device), mirrored (all local GPUs) or multi_worker (TF_CONFIG)."""
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def check_positive(flag_values, names):
    """Exit 2 unless every named flag is > 0."""
    for name in names:
        value = getattr(flag_values, name)
        if not value > 0:
            kind = "integer" if isinstance(value, int) else "number"
            usage_error(f"--{name} must be a positive {kind}, got {value}.")


def check_non_negative(flag_values, names):
    for name in names:
        if getattr(flag_values, name) < 0:
            usage_error(f"--{name} must be >= 0, got {getattr(flag_values, name)}.")


def check_adam_betas(flag_values):
    for name in ("adam_beta1", "adam_beta2"):
        if not 0 <= getattr(flag_values, name) < 1:
            usage_error(f"--{name} must lie in [0, 1), got {getattr(flag_values, name)}.")


def check_strategy(flag_values):
    if flag_values.strategy != "default" and flag_values.jit_compile:
        usage_error(f"--jit_compile cannot be combined with --strategy={flag_values.strategy}; drop one.")
    if flag_values.strategy == "multi_worker" and not os.environ.get("TF_CONFIG"):
        usage_error(
            "--strategy=multi_worker needs the TF_CONFIG environment variable (cluster and task); "
            "see the README section on several machines."
        )


def check_divisible_batch(batch_size: int, strategy, strategy_name: str):
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        usage_error(
            f"--batch_size={batch_size} is not divisible by the {replicas} replicas of "
            f"--strategy={strategy_name}; use a multiple of {replicas}."
        )
    return replicas


def set_threads(num_threads: int):
    if num_threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(num_threads)
        tf.config.threading.set_inter_op_parallelism_threads(num_threads)


def diverged_message(guard, training_checkpoint) -> str:
    checkpoint = training_checkpoint.latest
    where = f"the last good checkpoint is {checkpoint}" if checkpoint else "no checkpoint was written"
    return f"{guard.diverged}; {where}. Lower the learning rates or set --scale_clip."


def parse_flags(argv):
    """absl's flag parsing, with its errors turned into exit code 2 and one sentence.

    Unknown flags, values of the wrong type, enum values outside their choices
    and a --flagfile that does not exist all end here, before any work.
    """
    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        message = message.removeprefix("ERROR::").strip()
        sys.stderr.write(f"{message}\nSee --helpfull for every flag and its allowed values.\n")
        sys.exit(2)


def run_main(main):
    """``app.run(main)`` for an entry point: bad flags exit 2, a diverged run 3, failed writes 4.

    An OSError that reaches here comes from writing the run's files (disk full,
    permissions): it is reported in one sentence naming the path, and the
    newest checkpoint, written atomically before, stays readable.
    """

    def guarded(argv):
        try:
            return main(argv)
        except TrainingDiverged as error:
            sys.stderr.write(f"Training stopped: {error}\n")
            return 3
        except app.UsageError as error:
            # One sentence, not absl's usage text (the module docstring) before it.
            sys.stderr.write(f"{error}\n")
            return error.exitcode if error.exitcode is not None else 2
        except OSError as error:
            where = f" at {error.filename}" if error.filename else ""
            sys.stderr.write(
                f"Stopped by a file error{where}: {error.strerror or error}. Free some space or fix "
                "the permissions, then rerun the same command (a training run resumes from its last "
                "checkpoint).\n"
            )
            return 4

    app.run(guarded, flags_parser=parse_flags)


# -- Labels, flag checks and the training loop's plumbing, shared by the entry points --

METHOD_LABELS = {"fgan": "f-GAN-KL", "gan": "GAN (JS)", "logd": "logD-GAN", "hinge": "Hinge",
                 "vae": "VAE", "ugm": "AGE-UGM"}
DIVERGENCE_LABELS = {"kl": "KL", "revkl": "RevKL", "js": "JS", "hellinger": "H2", "pearson": "Pearson",
                     "all": "ALL"}


def run_label(method: str, divergence: str, scale_clip=None, deterministic: bool = False) -> str:
    """The paper's name of a run: AGE-ALL, AGE-ALL(d), AGE-KL-SC0.5, f-GAN-KL, Hinge, ..."""
    if method != "age":
        label = METHOD_LABELS.get(method, method)
    else:
        label = f"AGE-{DIVERGENCE_LABELS.get(divergence, divergence.upper())}"
        label += f"-SC{scale_clip:g}" if scale_clip else ""
    return label + ("(d)" if deterministic else "")


def check_method_flags(flag_values, available_methods):
    """--method, --divergence and --scale_clip name something that exists, or exit 2."""
    from age_tf import divergences

    if flag_values.method not in available_methods:
        usage_error(f"Unknown method {flag_values.method!r}. Available: {', '.join(available_methods)}.")
    if flag_values.divergence not in divergences.names():
        usage_error(
            f"Unknown divergence {flag_values.divergence!r}. Available: {', '.join(divergences.names())}."
        )
    try:
        divergences.validate_scale_clip(flag_values.scale_clip)
    except ValueError as error:
        usage_error(f"--{error}")


def print_resolved_flags(module_name: str):
    """What --dry_run prints: every flag of the module, resolved."""
    for name, value in sorted(resolved_flags(module_name).items()):
        print(f"--{name}={value}")


def fit_verbosity() -> int:
    """A progress bar on a terminal, one line per epoch in a log file."""
    return 1 if sys.stdout.isatty() else 2


def restore_training(model, output_dir: str, resume: bool):
    """(TrainingCheckpoint in output_dir/checkpoint, finished epochs restored from it).

    ``earlier_train_seconds(output_dir, epochs)`` is the training time those epochs took."""
    from age_tf import checkpointing

    saver = checkpointing.TrainingCheckpoint(model, os.path.join(output_dir, "checkpoint"))
    initial_epoch = saver.restore_latest() if resume else 0
    if initial_epoch:
        print(f"Resuming after epoch {initial_epoch} from {saver.latest}")
    return saver, initial_epoch


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
    set_threads(num_threads)
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
        found.append(keras.callbacks.TensorBoard(log_dir=os.path.join(output_dir, "tensorboard"),
                                                 write_graph=False))
    found.append(checkpointing.CheckpointEveryEpochs(saver, checkpoint_every, epochs, guard=guard))
    return found


def begin(argv, module_name: str, validate) -> bool:
    """The opening of every entry point: no stray arguments, ``validate()``, and
    --dry_run printing the resolved flags. False when the program should stop."""
    if len(argv) > 1:
        usage_error(f"Unexpected arguments: {' '.join(argv[1:])}.")
    validate()
    if flags.FLAGS.dry_run:
        print_resolved_flags(module_name)
        return False
    return True


def open_run_directory(module_name: str, batch_size: int):
    """The strategy (batch size checked against its replicas), then the run
    directory with the resolved flags: the last checks before anything is written."""
    strategy = make_strategy(flags.FLAGS.strategy)
    check_divisible_batch(batch_size, strategy, flags.FLAGS.strategy)
    output_dir = prepare_output_dir(flags.FLAGS.output_dir)
    save_resolved_flags(output_dir, module_name)
    return output_dir, strategy


def report(results: dict, keys, files, prefix: str = ""):
    """Prints the named numbers of ``results`` on one line, then 'Label: path' lines."""
    print(prefix + " ".join(f"{k}={results[k]:.4g}" for k in keys if k in results))
    for label, path in files:
        if path:
            print(f"{label}: {path}")
