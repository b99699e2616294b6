"""How an entry point meets its user: flags parsed and checked, exit codes, labels.

Bad input stops the program before any work with exit code 2 and one sentence
saying what was wrong and how to fix it (``usage_error``); ``run_main`` maps a
diverged run to exit code 3 and a failed write to 4 (docs/running.md, Exit codes).
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys

from absl import app, flags
from absl import logging as absl_logging

from age_tf.experiments import hardware


def usage_error(message: str):
    """Stops the program with exit code 2 and one sentence, before any work."""
    raise app.UsageError(message, exitcode=2)


def module_flags(module_name: str):
    """The flags an entry point defined or adopted (run as ``python -m``, they are
    registered under ``__main__``)."""
    module = sys.modules.get(module_name) or sys.modules["__main__"]
    found = flags.FLAGS.get_key_flags_for_module(module)
    return found or flags.FLAGS.get_key_flags_for_module(sys.argv[0])


def resolved_flags(module_name: str) -> dict:
    """Name -> value of the entry point's flags after parsing."""
    return {f.name: f.value for f in module_flags(module_name)}


class TrainingDiverged(RuntimeError):
    """A player's loss stopped being finite."""


def check_positive(flag_values, names):
    """Exit 2 unless every named flag is > 0 (and finite: ``--d_learning_rate=inf`` too)."""
    for name in names:
        value = getattr(flag_values, name)
        if not (value > 0 and math.isfinite(value)):
            kind = "integer" if isinstance(value, int) else "number"
            usage_error(f"--{name} must be a positive {kind}, got {value}.")


def check_non_negative(flag_values, names):
    """Exit 2 unless every named flag is >= 0."""
    for name in names:
        if getattr(flag_values, name) < 0:
            usage_error(f"--{name} must be >= 0, got {getattr(flag_values, name)}.")


MAX_SEED = 10 ** 9  # the networks are seeded with 3 * seed + 2, which numpy takes below 2**32


def check_seeds(flag_values, names=("seed", "data_seed")):
    """Exit 2 unless every named seed flag (those the entry point has) lies in [0, MAX_SEED]."""
    for name in names:
        value = getattr(flag_values, name, None)
        if value is not None and not 0 <= value <= MAX_SEED:
            usage_error(f"--{name} must lie in [0, {MAX_SEED:,}], got {value}.")


def check_not_empty(flag_values, names=("output_dir",)):
    """Exit 2 when a named path flag was given as an empty string (``--output_dir=``)."""
    for name in names:
        value = getattr(flag_values, name, None)
        if isinstance(value, str) and not value.strip():
            usage_error(f"--{name} is empty; give a path.")


def check_utf8(flag_values, module_name: str):
    """Exit 2 when a string flag of the entry point holds bytes that are not UTF-8
    (``--output_dir=$'runs/\\xff'``): its files could not record the value."""
    for flag in module_flags(module_name):
        values = flag.value if isinstance(flag.value, list) else [flag.value]
        for value in values:
            if not isinstance(value, str):
                continue
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                shown = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                usage_error(f"--{flag.name}={shown} is not valid UTF-8; use a value in UTF-8 characters.")


def check_writable_directory(flag_values, name: str):
    """Exit 2, before any work, when the directory flag ``name`` names a path that
    cannot be created and written (a file, under /proc, a read-only mount): found
    after training, it would throw the run's result away. A probe directory is
    made in the nearest existing ancestor and removed; nothing is left behind."""
    import tempfile

    value = getattr(flag_values, name, None)
    if not value:
        return
    path = os.path.abspath(os.path.expanduser(value))
    if os.path.exists(path) and not os.path.isdir(path):
        usage_error(f"--{name} {path} is a file, not a directory; choose another path.")
    parent = path
    while not os.path.isdir(parent):
        if os.path.lexists(parent):  # a dangling link or a file on the way
            usage_error(f"--{name} {path} cannot be created (Not a directory: {parent}); choose another path.")
        parent = os.path.dirname(parent)
    check_path_length(name, path, parent)
    try:
        os.rmdir(tempfile.mkdtemp(dir=parent, prefix=".age_tf-probe-"))
    except OSError as error:
        usage_error(f"--{name} {path} cannot be created ({error.strerror or error} in {parent}); "
                    "choose a writable path.")


GIB = 2**30


def refuse_beyond_memory(needed_bytes: dict):
    """Exit 2, before anything is built or written, when sizes set by flags need more memory than
    the machine has free (``hardware.available_memory_bytes``). ``needed_bytes`` maps what needs it
    (``"--hidden_units=10000000"``) to a lower bound on its bytes: a run refused here could never
    have finished, while one that passes may still run out (then exit 5, ``run_main``)."""
    from age_tf.experiments import hardware

    free = hardware.available_memory_bytes()
    total = sum(needed_bytes.values())
    if free is None or total <= free:
        return
    largest = sorted(needed_bytes, key=needed_bytes.get, reverse=True)
    named = [what for what in largest if needed_bytes[what] >= 0.1 * total]
    usage_error(f"{' and '.join(named)} need{'' if len(named) > 1 else 's'} at least {total / GIB:,.1f} GiB of memory, and this machine has "
                f"{free / GIB:,.1f} GiB free; lower {'them' if len(named) > 1 else 'it'}.")


# Room kept under the file system's path limit for what a run writes below its directory
# ("checkpoint/steps/ckpt-1234567_temp/part-00000-of-00001.data-00000-of-00001.tempstate<19 digits>").
PATH_ROOM = 160


def check_path_length(name: str, path: str, parent: str):
    """Exit 2 when ``path`` has a component longer than the file system allows, or leaves less than
    ``PATH_ROOM`` characters for the files written below it: the probe in ``parent`` would pass and
    the first save fail after training."""
    try:
        name_max, path_max = os.pathconf(parent, "PC_NAME_MAX"), os.pathconf(parent, "PC_PATH_MAX")
    except (OSError, ValueError):  # not POSIX: nothing to compare against
        return
    longest = max(os.path.relpath(path, parent).split(os.sep), key=len)
    if len(longest.encode()) > name_max:
        usage_error(f"--{name} has a folder name of {len(longest.encode())} bytes ({longest[:20]}...), longer "
                    f"than the {name_max} this file system allows; choose a shorter path.")
    if len(path.encode()) + PATH_ROOM > path_max:
        usage_error(f"--{name} is {len(path.encode())} bytes long, and the files written below it need "
                    f"{len(path.encode()) + PATH_ROOM - path_max} more than the {path_max} this file system "
                    "allows; choose a shorter path.")


def check_adam_betas(flag_values):
    """Exit 2 unless --adam_beta1 and --adam_beta2 lie in [0, 1)."""
    for name in ("adam_beta1", "adam_beta2"):
        if not 0 <= getattr(flag_values, name) < 1:
            usage_error(f"--{name} must lie in [0, 1), got {getattr(flag_values, name)}.")


# XLA measured against TensorFlow's own kernels on a CPU (benchmarks/README.md, XLA on a CPU), the
# worst case of each kind of step: seconds an iteration without and with --jit_compile.
XLA_SLOWER_ON_CPU = {
    "convnets": "XLA made the Stacked MNIST step 8.5x slower (2.18 s against 0.255 s in float32)",
    "mixed_bfloat16": "XLA made the 25-Gaussian step 4.1x slower in mixed_bfloat16 (0.273 s against 0.067 s)",
    # 0.140 against 0.157 s on a Xeon with AMX, but 0.238 against 0.199 s on an AMD EPYC (Zen 4).
    "float32": ("XLA made the 25-Gaussian step 1.2x slower in float32 on an AMD EPYC (0.238 s against 0.199 s) "
                "and at best 11% faster elsewhere"),
}


def check_strategy(flag_values, convnets: bool = False):
    """Exit 2 for --jit_compile with a distribution strategy (unsupported on CPU replicas) or on
    a machine without a GPU, where XLA measured slower than without it or no faster on some
    CPUs (``XLA_SLOWER_ON_CPU``, whose worst case for the step it names); or --strategy=multi_worker
    without a valid TF_CONFIG."""
    if flag_values.strategy != "default" and flag_values.jit_compile:
        usage_error(f"--jit_compile cannot be combined with --strategy={flag_values.strategy}; drop one.")
    if flag_values.jit_compile and not hardware.gpus():
        slower = XLA_SLOWER_ON_CPU["convnets" if convnets else
                                   "mixed_bfloat16" if flag_values.precision == "mixed_bfloat16" else "float32"]
        usage_error(f"--jit_compile is for GPUs: on a CPU {slower}; drop --jit_compile here "
                    "(age_tf.AGE.compile(jit_compile=True) stays available from Python).")
    if flag_values.strategy == "multi_worker":
        check_tf_config(os.environ.get("TF_CONFIG", ""))


def check_tf_config(text: str):
    """Exit 2 unless ``text`` (the TF_CONFIG environment variable) is a JSON object with a
    ``cluster`` of named lists of addresses and a ``task`` with a ``type`` and ``index`` in it."""
    where = "see docs/running.md, Several machines"
    if not text.strip():
        usage_error(f"--strategy=multi_worker needs the TF_CONFIG environment variable (cluster and task); {where}.")
    try:
        config = json.loads(text)
    except ValueError as error:
        usage_error(f"TF_CONFIG is not valid JSON ({error}); {where}.")
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not cluster or not all(
            isinstance(v, list) and v and all(isinstance(a, str) for a in v) for v in cluster.values()):
        usage_error(f'TF_CONFIG needs "cluster": {{"worker": ["host:port", ...]}}; {where}.')
    members = dict(cluster, evaluator=[""])  # TensorFlow's evaluator task stands outside the cluster
    if (not isinstance(task, dict) or task.get("type") not in members or not isinstance(task.get("index"), int)
            or not 0 <= task["index"] < len(members[task["type"]])):
        usage_error(f'TF_CONFIG needs "task": {{"type": "worker", "index": i}} naming one of its cluster\'s '
                    f"addresses; {where}.")


def check_divisible_batch(batch_size: int, strategy, strategy_name: str):
    """The strategy's replica count; exit 2 unless it divides --batch_size."""
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        usage_error(
            f"--batch_size={batch_size} is not divisible by the {replicas} replicas of "
            f"--strategy={strategy_name}; use a multiple of {replicas}."
        )
    return replicas


def diverged_message(guard, training_checkpoint) -> str:
    """Which loss stopped being finite, where the last good checkpoint is, and what to change."""
    checkpoint = training_checkpoint.latest
    where = f"the last good checkpoint is {checkpoint}" if checkpoint else "no checkpoint was written"
    return f"{guard.diverged}; {where}. Lower the learning rates or set --scale_clip."


def parse_flags(argv):
    """absl's flag parsing, with its errors turned into exit code 2 and one sentence.

    Unknown flags, values of the wrong type, enum values outside their choices
    and a --flagfile that does not exist all end here, before any work. A help
    flag prints the help and exits 0 (absl exits 1, as for an error).
    """
    args = list(argv[1:])
    empty_flagfile = [a for i, a in enumerate(args) if a in ("--flagfile=", "-flagfile=") or (
        a in ("--flagfile", "-flagfile") and not (args[i + 1:] and args[i + 1].strip()))]
    if empty_flagfile:  # absl would run the defaults silently
        sys.stderr.write(f"{empty_flagfile[0]} names no file; give the path of a flagfile.\n")
        sys.exit(2)
    for path in flagfiles_named(argv):
        try:
            with open(os.path.expanduser(path), "rb") as f:
                marked = f.read(3) == b"\xef\xbb\xbf"
        except OSError:
            continue  # absl names a missing flagfile itself
        if marked:  # absl would read "\ufeff--name=value" as a stray argument
            sys.stderr.write(f"--flagfile={path} starts with a byte-order mark (as some Windows editors save "
                             "UTF-8); save it as UTF-8 without one, e.g. sed -i '1s/^\\xEF\\xBB\\xBF//' FILE.\n")
            sys.exit(2)
    try:
        return flags.FLAGS(argv)
    except UnicodeDecodeError:  # absl reads a flagfile as text
        sys.stderr.write(f"{binary_flagfile(argv)} is not a text file of flags (one --name=value per line, "
                         "UTF-8); give a flagfile such as a run directory's flags.txt.\n")
        sys.exit(2)
    except SystemExit as stop:
        asked = {"--help", "-help", "-h", "-?", "--helpshort", "--helpfull", "--helpxml"}
        if stop.code == 1 and asked & set(argv[1:]):
            sys.exit(0)
        raise
    except flags.Error as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        message = message.removeprefix("ERROR::").strip()
        sys.stderr.write(f"{message}\nSee --helpfull for every flag and its allowed values.\n")
        sys.exit(2)


def flagfiles_named(argv) -> list:
    """The paths of the flagfiles named on the command line (``--flagfile=PATH`` or ``--flagfile PATH``)."""
    args = list(argv[1:])
    named = [b for a, b in zip(args, args[1:]) if a.lstrip("-") == "flagfile"]
    return named + [a.split("=", 1)[1] for a in args if a.lstrip("-").startswith("flagfile=")]


def binary_flagfile(argv) -> str:
    """``--flagfile=PATH`` of the first flagfile named in ``argv`` (``--flagfile=PATH`` or
    ``--flagfile PATH``) that is not UTF-8 text; ``A --flagfile`` when none of them is (a
    flagfile named inside another)."""
    for path in flagfiles_named(argv):
        try:
            with open(os.path.expanduser(path), encoding="utf-8") as f:
                f.read()
        except UnicodeDecodeError:
            return f"--flagfile={path}"
        except OSError:
            continue
    return "A --flagfile"


def run_main(main):
    """``app.run(main)`` for an entry point: bad flags exit 2, a diverged run 3, failed
    writes 4, out of memory 5, Ctrl-C 130.

    An OSError that reaches here comes from writing the run's files (disk full,
    permissions), and so does TensorFlow's ResourceExhaustedError from a checkpoint
    save on a full disk: each is reported in one sentence, and the newest
    checkpoint, written atomically before, stays readable. Ctrl-C stops with one
    line saying how to resume instead of a traceback.
    """

    def guarded(argv):
        # absl's app.run logs INFO, and TensorFlow's checkpoint saver logs a line at every save:
        # warnings and errors only, unless the user asked for more with --verbosity.
        if not flags.FLAGS["verbosity"].present:
            absl_logging.set_verbosity(absl_logging.WARNING)
        logging.getLogger("tensorflow").setLevel(logging.WARNING)
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
        except MemoryError:
            return out_of_memory("")
        except KeyboardInterrupt:
            output_dir = getattr(flags.FLAGS, "output_dir", None)
            where = f" in {output_dir}" if output_dir else ""
            sys.stderr.write(f"Interrupted. The newest checkpoint{where} is kept; rerun the same command to "
                             "resume from it.\n")
            return 130
        except Exception as error:  # noqa: BLE001 - only TensorFlow's data, memory and file errors are ours
            import tensorflow as tf  # loaded by then: the error came from it

            line = first_line(error)
            output_dir = os.path.abspath(getattr(flags.FLAGS, "output_dir", None) or os.sep + "\0")
            if isinstance(error, tf.errors.NotFoundError) and output_dir in str(error):
                sys.stderr.write(f"Stopped by a file error: {line}. Check that {output_dir} is still there, then "
                                 "rerun the same command (a training run resumes from its last checkpoint).\n")
                return 4
            if isinstance(error, (tf.errors.DataLossError, tf.errors.NotFoundError)):  # data read mid-training
                source = getattr(flags.FLAGS, "data_dir", None) or getattr(flags.FLAGS, "data", None)
                where = f" in {os.path.abspath(os.path.expanduser(source))}" if source else ""
                sys.stderr.write(f"Stopped by damaged or missing data{where}: {line}. Prepare the data again (a "
                                 "tensorflow-datasets folder: remove it and rerun tfds build), then rerun the same "
                                 "command (a training run resumes from its last checkpoint).\n")
                return 2
            if isinstance(error, tf.errors.ResourceExhaustedError) and ("OOM" in str(error) or
                                                                        "alloc" in str(error).lower()):
                return out_of_memory(f" ({line})")
            if isinstance(error, tf.errors.PermissionDeniedError):  # a checkpoint save, e.g. a read-only folder
                sys.stderr.write(f"Stopped by a file error: {line}. Fix the permissions, then rerun the "
                                 "same command (a training run resumes from its last checkpoint).\n")
                return 4
            if not isinstance(error, tf.errors.ResourceExhaustedError):
                raise
            sys.stderr.write(
                f"Stopped by a file error: {line}. Free some space, then rerun "
                "the same command (a training run resumes from its last checkpoint).\n"
            )
            return 4
        finally:
            from age_tf.experiments import run_lock  # the run directory's lock, taken when it was opened

            run_lock.release_all()

    app.run(guarded, flags_parser=parse_flags)


def first_line(error: BaseException) -> str:
    """The line of an error's message that says what went wrong, or its type. TensorFlow's errors
    from a graph open with "Graph execution error:" and the Python stack of the op: their reason
    is the last line that is neither indented nor that heading."""
    text = str(error).strip()
    lines = text.splitlines()
    if lines and lines[0].startswith("Graph execution error"):
        reasons = [line for line in lines[1:] if line.strip() and not line[0].isspace()
                   and not line.startswith("Detected at node")]
        if reasons:
            return reasons[-1].strip()
    return lines[0] if lines else type(error).__name__


def out_of_memory(detail: str) -> int:
    """Exit 5: the run needed more memory than the machine had (a MemoryError, or TensorFlow's
    out-of-memory error), said as such rather than as a file error."""
    sys.stderr.write(f"Stopped: out of memory{detail}. Lower the sizes that set it (--batch_size, the layer "
                     "widths, --num_eval_samples, --num_train_examples) or free memory; a training run resumes "
                     "from its last checkpoint.\n")
    return 5


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


def begin(argv, module_name: str, validate) -> bool:
    """The opening of every entry point: no stray arguments, seeds in range, no empty
    path flags, UTF-8 values, --precision=auto resolved, ``validate()``, --output_dir and --export_dir writable,
    and --dry_run printing the resolved flags. False when the program should stop."""
    if len(argv) > 1:
        usage_error(f"Unexpected arguments: {' '.join(argv[1:])}.")
    check_seeds(flags.FLAGS)
    check_not_empty(flags.FLAGS, ("output_dir", "export_dir", "data_dir", "data", "mnist_dir", "classifier_dir"))
    check_utf8(flags.FLAGS, module_name)
    if "precision" in flags.FLAGS:
        from age_tf.experiments import precision  # imports run_directory, which imports this module

        precision.resolve(flags.FLAGS)
    validate()
    for name in ("output_dir", "export_dir"):
        check_writable_directory(flags.FLAGS, name)
    if flags.FLAGS.dry_run:
        print_resolved_flags(module_name)
        return False
    return True


# What the numbers an entry point adds to its metrics mean (the metrics say their own).
RUN_MEANINGS = {
    "train_seconds": "training wall time in seconds, every stretch of a resumed run",
    "eval_seconds": "evaluation wall time in seconds",
    "encoder_generator_steps": "encoder/generator updates so far",
    "generator_steps": "generator updates so far",
    "resumed_after_epoch": "epochs finished before this invocation (0, with no steps below: trained from scratch)",
    "resumed_steps_into_epoch": "steps of the next epoch finished before this invocation (a mid-epoch checkpoint)",
}


def report(results: dict, keys, files, heading: str = "", metric_names=()):
    """Prints ``heading``, then one line per named number of ``results`` with what it
    means (as the registered ``metric_names`` say), then 'Label: path' lines."""
    from age_tf import metrics

    if heading:
        print(heading)
    shown = [k for k in keys if k in results]
    width = max((len(k) for k in shown), default=0)
    for key in shown:
        value = results[key]
        text = f"{value:.4g}" if isinstance(value, (int, float)) else str(value)
        meaning = metrics.meaning(key, metric_names) or RUN_MEANINGS.get(key, "")
        print(f"  {key:<{width}}  {text:<8}  {meaning}".rstrip())
    for label, path in files:
        if path:
            print(f"{label}: {path}")
