"""The machine a run uses: its description, oneDNN kernels, CPU threads and the distribution strategy."""

from __future__ import annotations

import os
import sys


def cpu_field(name: str, cpuinfo: str = "/proc/cpuinfo") -> str:
    """The value of the first ``name`` line of ``cpuinfo`` ('model name', 'flags'), or '' where
    there is none or the file cannot be read (not Linux)."""
    try:
        with open(cpuinfo) as f:
            return next((line.split(":", 1)[1].strip() for line in f
                         if line.startswith(name) and ":" in line), "")
    except OSError:
        return ""


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> set:
    """The CPU's feature flags (``avx2``, ``avx512_bf16``, ``amx_bf16``, ...)."""
    return set(cpu_field("flags", cpuinfo).split())


def machine_description() -> str:
    """'2 CPU cores (AMD EPYC), Linux, no GPU' or with the GPUs TensorFlow sees; the CPU's
    bfloat16 units follow its model where it has some ('AMD EPYC, avx512_bf16'), since they
    decide ``--precision=auto`` and the speed, and one model name covers several generations."""
    import platform

    gpus = ""
    if "tensorflow" in sys.modules:
        found = sys.modules["tensorflow"].config.list_physical_devices("GPU")
        gpus = f"{len(found)} GPU(s)" if found else ""
    cpu = ", ".join(filter(None, [cpu_field("model name") or platform.processor(), bf16_units()]))
    return f"{os.cpu_count()} CPU cores ({cpu}), {platform.system()}, {gpus or 'no GPU'}"


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


# The CPU's native bfloat16 units, fastest first: AMX tiles (Intel Xeon from Sapphire Rapids on),
# then AVX-512 bfloat16 dot products (AMD Zen 4, Intel Cooper Lake). Without either, TensorFlow
# emulates bfloat16 and it is slow.
BF16_UNITS = ("amx_bf16", "avx512_bf16")


def bf16_units(cpuinfo: str = "/proc/cpuinfo"):
    """The first of ``BF16_UNITS`` among the CPU's flags in ``cpuinfo``, or None where the CPU
    has neither (mixed_bfloat16 is then emulated)."""
    flags = cpu_flags(cpuinfo)
    return next((unit for unit in BF16_UNITS if unit in flags), None)


def has_amx_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether the CPU has AMX bfloat16 matrix units (``amx_bf16`` among its flags in ``cpuinfo``)."""
    return bf16_units(cpuinfo) == "amx_bf16"


def gpus() -> list:
    """The GPUs TensorFlow sees (none on a CPU-only machine)."""
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


def make_strategy(name: str):
    """default (one device), mirrored (all local GPUs) or multi_worker (TF_CONFIG)."""
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def available_memory_bytes(meminfo: str = "/proc/meminfo", cgroup: str = "/sys/fs/cgroup") -> int | None:
    """Bytes of memory a run can still take: the kernel's MemAvailable, or less where a cgroup
    (a container's limit) leaves less; None where neither can be read (not Linux)."""
    found = []
    try:
        with open(meminfo) as f:
            found += [int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:")]
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(os.path.join(cgroup, "memory.max")) as f:
            limit = f.read().strip()
        with open(os.path.join(cgroup, "memory.current")) as f:
            used = int(f.read().strip())
        if limit.isdigit():
            found.append(max(0, int(limit) - used))
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def set_threads(num_threads: int, small_ops: bool = False):
    """TensorFlow's intra- and inter-op CPU threads: ``num_threads`` each, or with 0
    TensorFlow's default (all cores each), unless ``small_ops``.

    ``small_ops`` (the mixtures' 500-unit MLPs in mixed_bfloat16): with 0 on an AMX CPU, half
    the cores inside an op and two ops at once. There TensorFlow runs their bfloat16 products on
    one thread each (they fit its L2 cache), and two side by side go faster: 0.077 s against
    0.102 s an iteration of the 25-Gaussian step on a 2-core Xeon (float32 gained nothing;
    Stacked MNIST's convnets lost; benchmarks/README.md, Threads). On a 2-core AMD EPYC with
    AVX-512 bfloat16 (Zen 4) the split lost instead (0.146 and 0.135 s against 0.125 and
    0.130 s, 2026-12-06), so elsewhere TensorFlow's default stays.
    """
    import tensorflow as tf

    if num_threads:
        tf.config.threading.set_intra_op_parallelism_threads(num_threads)
        tf.config.threading.set_inter_op_parallelism_threads(num_threads)
    elif small_ops and has_amx_bf16():
        try:
            tf.config.threading.set_intra_op_parallelism_threads(max(1, (os.cpu_count() or 2) // 2))
            tf.config.threading.set_inter_op_parallelism_threads(2)
        except RuntimeError:  # TensorFlow already started in this process (e.g. a test): keep its threads
            pass
