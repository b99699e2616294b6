"""How an entry point meets its user: flags parsed, its opening (``begin``), exit codes, the report.

The top of the entry points' layer, imported by the entry points alone: the checks on flags
live in ``checks`` (bad input: exit 2 and one sentence, before any work), and ``run_main``
maps a diverged run to exit code 3, a failed write to 4 and running out of memory to 5
(docs/running.md, Exit codes). Its imports run one way: cli -> precision -> resume ->
run_directory -> checks -> hardware.
"""

from __future__ import annotations

import logging
import os
import re
import sys

from absl import app, flags
from absl import logging as absl_logging

from age_tf.experiments import checks, precision, run_lock


class TrainingDiverged(RuntimeError):
    """A player's loss stopped being finite."""


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
            return stop(4, f"Stopped by a file error{where}: {error.strerror or error}. Free some space or fix "
                           "the permissions")
        except MemoryError:
            return stop(5, OUT_OF_MEMORY)
        except KeyboardInterrupt:
            output_dir = getattr(flags.FLAGS, "output_dir", None)
            where = f" in {output_dir}" if output_dir else ""
            sys.stderr.write(f"Interrupted. The newest checkpoint{where} is kept; rerun the same command to "
                             "resume from it.\n")
            return 130
        except Exception as error:  # noqa: BLE001 - only TensorFlow's data, memory and file errors are ours
            reported = tensorflow_error(error)
            if reported is None:
                raise
            return stop(*reported)
        finally:
            run_lock.release_all()

    app.run(guarded, flags_parser=parse_flags)


RESUMES = "then rerun the same command (a training run resumes from its last checkpoint)"
OUT_OF_MEMORY = ("Stopped: out of memory. Lower the sizes that set it (--batch_size, the layer widths, "
                 "--num_eval_samples, --num_train_examples) or free memory")


def stop(code: int, sentence: str) -> int:
    """Writes ``sentence`` with how to go on (``RESUMES``) to stderr; returns the exit ``code``."""
    sys.stderr.write(f"{sentence}, {RESUMES}.\n")
    return code


def tensorflow_error(error: Exception):
    """(exit code, sentence) for the TensorFlow errors a run meets through no fault of the code, or
    None for any other error (a bug: its traceback is shown):

    - a file of ``--output_dir`` not found (removed under the run), permission denied (a
      checkpoint save into a read-only folder), a full disk (ResourceExhausted from a save): 4;
    - damaged or missing data read mid-training (DataLossError, NotFoundError elsewhere): 2;
    - out of memory (ResourceExhausted that says OOM or alloc): 5.
    """
    import tensorflow as tf  # loaded by then: the error came from it

    line = first_line(error)
    output_dir = os.path.abspath(getattr(flags.FLAGS, "output_dir", None) or os.sep + "\0")
    if isinstance(error, tf.errors.NotFoundError) and output_dir in str(error):
        return 4, f"Stopped by a file error: {line}. Check that {output_dir} is still there"
    if isinstance(error, (tf.errors.DataLossError, tf.errors.NotFoundError)):
        source = getattr(flags.FLAGS, "data_dir", None) or getattr(flags.FLAGS, "data", None)
        where = f" in {os.path.abspath(os.path.expanduser(source))}" if source else ""
        return 2, (f"Stopped by damaged or missing data{where}: {line}. Prepare the data again (a "
                   "tensorflow-datasets folder: remove it and rerun tfds build)")
    if isinstance(error, tf.errors.PermissionDeniedError):
        return 4, f"Stopped by a file error: {line}. Fix the permissions"
    if isinstance(error, tf.errors.ResourceExhaustedError):
        if "OOM" in str(error) or "alloc" in str(error).lower():
            return 5, OUT_OF_MEMORY.replace("out of memory.", f"out of memory ({line}).")
        return 4, f"Stopped by a file error: {line}. Free some space"
    return None


def first_line(error: BaseException) -> str:
    """The line of an error's message that says what went wrong, or its type. TensorFlow's errors
    from a graph open with "Graph execution error:" and the Python stack of the op: their reason
    is the last line that is neither indented nor that heading. TensorFlow's wrapping of the op
    (``{{function_node __wrapped__SaveV2_...}} `` before, `` [Op:SaveV2]`` after) is dropped."""
    text = str(error).strip()
    lines = text.splitlines()
    line = lines[0] if lines else type(error).__name__
    if lines and lines[0].startswith("Graph execution error"):
        reasons = [line for line in lines[1:] if line.strip() and not line[0].isspace()
                   and not line.startswith("Detected at node")]
        if reasons:
            line = reasons[-1]
    return re.sub(r"^\{\{function_node [^}]*\}\}\s*|\s*\[Op:\w+\]$", "", line.strip())


def print_resolved_flags(module_name: str):
    """What --dry_run prints: every flag of the module, resolved."""
    for name, value in sorted(checks.resolved_flags(module_name).items()):
        print(f"--{name}={value}")




def begin(argv, module_name: str, validate) -> bool:
    """The opening of every entry point: no stray arguments, seeds in range, no empty
    path flags, UTF-8 values, --precision=auto resolved, ``validate()``, --output_dir and --export_dir writable,
    and --dry_run printing the resolved flags. False when the program should stop."""
    if len(argv) > 1:
        checks.usage_error(f"Unexpected arguments: {' '.join(argv[1:])}.")
    checks.check_seeds(flags.FLAGS)
    checks.check_not_empty(flags.FLAGS, ("output_dir", "export_dir", "data_dir", "data", "mnist_dir", "classifier_dir"))
    checks.check_utf8(flags.FLAGS, module_name)
    if "precision" in flags.FLAGS:
        precision.resolve(flags.FLAGS)
    validate()
    for name in ("output_dir", "export_dir"):
        checks.check_writable_directory(flags.FLAGS, name)
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
