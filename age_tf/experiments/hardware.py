"""The machine a run uses: its description, oneDNN kernels, CPU threads and the distribution strategy."""

from __future__ import annotations

import os
import sys


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


def make_strategy(name: str):
    """default (one device), mirrored (all local GPUs) or multi_worker (TF_CONFIG)."""
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def set_threads(num_threads: int):
    """TensorFlow's intra- and inter-op CPU threads (0: TensorFlow's default, all cores)."""
    if num_threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(num_threads)
        tf.config.threading.set_inter_op_parallelism_threads(num_threads)
