"""The checks an entry point makes on its flags before any work: each stops the program with exit
code 2 and one sentence saying what was wrong and how to fix it (``usage_error``).

The bottom of the entry points' layer: it imports only ``hardware``, so that ``run_directory``,
``resume`` and ``precision`` can refuse input without importing ``cli``, which imports them.
"""

from __future__ import annotations

import json
import os
import sys

from absl import app, flags

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
    made in the nearest existing ancestor and removed (``cannot_write``)."""
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
    reason = cannot_write(parent)
    if reason:
        usage_error(f"--{name} {path} cannot be created ({reason} in {parent}); choose a writable path.")


def cannot_write(directory: str):
    """Why nothing can be created in ``directory`` (``"Permission denied"``, a read-only mount), or
    None when it can: a probe directory is made there and removed, so nothing is left behind."""
    import tempfile

    try:
        os.rmdir(tempfile.mkdtemp(dir=directory, prefix=".age_tf-probe-"))
    except OSError as error:
        return error.strerror or str(error)
    return None


GIB = 2**30


def refuse_beyond_memory(needed_bytes: dict):
    """Exit 2, before anything is built or written, when sizes set by flags need more memory than
    the machine has free (``hardware.available_memory_bytes``). ``needed_bytes`` maps what needs it
    (``"--hidden_units=10000000"``) to a lower bound on its bytes: a run refused here could never
    have finished, while one that passes may still run out (then exit 5, ``run_main``)."""
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
