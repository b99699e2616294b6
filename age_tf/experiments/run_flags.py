"""Flags that every training entry point shares: optimizers, hardware, run directory.

Each entry point calls the two ``define_*`` functions once at import, with its
own defaults and the source it cites, and then adopts them as its key flags
(``flags.adopt_module_key_flags(run_flags)``) so that ``--dry_run`` and each
run's ``flags.txt`` list them with the entry point's own flags.

    run_flags.define_optimizer_flags(d_learning_rate=1e-4, eg_learning_rate=5e-5,
                                     source="Appendix E.1")
    run_flags.define_run_flags("runs/mog", export=True)
    flags.adopt_module_key_flags(run_flags)
"""

from __future__ import annotations

import math
from typing import Optional

from absl import flags

STRATEGIES = ("default", "mirrored", "multi_worker")


def free_on_resume(holder):
    """Declares, where a flag is defined, that a resumed run may change it: how long
    it trains, where and how it runs, what it evaluates. Any other flag is a training
    setting, which a resume must keep (``resume.refuse_changed_resume``). Returns
    ``holder``, so that it wraps the definition:

        free_on_resume(flags.DEFINE_integer("epochs", 30, "Epochs to train."))
    """
    flags.FLAGS[holder.name].free_on_resume = True
    return holder


def is_free_on_resume(flag) -> bool:
    """Whether ``flag`` (an absl Flag) was declared with ``free_on_resume``."""
    return getattr(flag, "free_on_resume", False)


PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
AUTO_PRECISION = "auto"  # resolved before the run starts (age_tf.experiments.precision)
PRECISION_BEFORE_AUTO = "float32"  # the default, so the precision, of a run whose flags.txt predates auto


def require_positive(name: str):
    """absl refuses ``--name`` at parsing unless it is a positive, finite number: a ``lower_bound``
    alone would let ``nan`` and ``inf`` through, and training would then diverge at once."""
    flags.register_validator(name, lambda value: value > 0 and math.isfinite(value),
                             message="must be a positive number")


def define_optimizer_flags(d_learning_rate: float, eg_learning_rate: float, source: str):
    """Adam's learning rates (positive) and betas (in [0, 1)); ``source`` names where the defaults come
    from. absl checks the values as it parses them."""
    flags.DEFINE_float("d_learning_rate", d_learning_rate,
                       f"Adam learning rate of the discriminator ({source}: {d_learning_rate:g}).")
    flags.DEFINE_float("eg_learning_rate", eg_learning_rate,
                       f"Adam learning rate of encoder and generator ({source}: {eg_learning_rate:g}).")
    flags.DEFINE_float("adam_beta1", 0.0,
                       "Adam beta_1 of all three optimizers (Appendix E.3 and the authors' code: 0).")
    flags.DEFINE_float("adam_beta2", 0.999, "Adam beta_2 of all three optimizers.")
    for name in ("d_learning_rate", "eg_learning_rate"):
        require_positive(name)
    for name in ("adam_beta1", "adam_beta2"):
        flags.register_validator(name, lambda value: 0 <= value < 1, message="must lie in [0, 1)")


def define_manifold_flags():
    """k of the ``prdc`` metrics (``age_tf.metrics.manifold``), at the papers' defaults."""
    free_on_resume(flags.DEFINE_integer(
        "precision_recall_k", 3, "k of the k-NN balls of precision and recall (Kynkaanniemi et al., 2019: 3).",
            lower_bound=1))
    free_on_resume(flags.DEFINE_integer(
        "density_coverage_k", 5, "k of the k-NN balls of density and coverage (Naeem et al., 2020: 5).", lower_bound=1))


def define_run_flags(output_dir: str, export: bool = True, precision_note: Optional[str] = None,
                     auto_precision: bool = False):
    """Threads, distribution strategy, XLA, precision, run directory, checkpoints,
    TensorBoard, SavedModel export (when ``export``) and ``--dry_run``. All but
    --precision may change when a run resumes. With ``auto_precision`` --precision
    defaults to ``auto`` (``age_tf.experiments.precision``: mixed_bfloat16 on CPUs with AMX or
    AVX-512 bfloat16 units, else float32), for entry points whose bfloat16 quality was checked."""
    free_on_resume(flags.DEFINE_integer(
        "num_threads", 0, "CPU threads for TensorFlow ops (0: TensorFlow's default).", lower_bound=0))
    free_on_resume(flags.DEFINE_enum(
        "strategy", "default", list(STRATEGIES),
        "tf.distribute strategy: default (one device), mirrored (all local GPUs) or multi_worker "
        "(MultiWorkerMirroredStrategy configured by the TF_CONFIG environment variable).",
    ))
    free_on_resume(flags.DEFINE_boolean(
        "jit_compile", False, "Compile train_step with XLA, for GPUs: refused on a machine without one, where it "
        "measured slower (benchmarks/README.md)."))
    auto = ("; auto (the default): mixed_bfloat16 on a CPU with AMX or AVX-512 bfloat16 units and no GPU, where it "
            "measured 2.3x or 1.6x faster with float32's Table 4 KL, else float32; a resumed run keeps its own"
            if auto_precision else "")
    flags.DEFINE_enum(
        "precision", AUTO_PRECISION if auto_precision else "float32",
        [AUTO_PRECISION, *PRECISIONS] if auto_precision else list(PRECISIONS),
        "float32, or mixed_bfloat16: bfloat16 compute with float32 weights, losses and scale factors "
        "(faster only on CPUs with bfloat16 units, AMX or AVX-512 BF16; see BUILD_NOTES.md), or mixed_float16: "
        "float16 compute with dynamic loss scaling for each player, for GPUs without bfloat16"
        + auto + (f"; {precision_note}" if precision_note else "") + ".",
    )
    free_on_resume(flags.DEFINE_string(
        "output_dir", output_dir, "Run directory: resolved flags, history, checkpoints, metrics, figures."))
    free_on_resume(flags.DEFINE_integer(
        "checkpoint_every", 1, "Write a resumable checkpoint every this many epochs.", lower_bound=1))
    free_on_resume(flags.DEFINE_integer(
        "checkpoint_every_steps", 0, "Also write one every this many steps within an epoch, for long epochs "
        "(0: only at epochs' ends); a resume continues from the newest, mid-epoch or not.", lower_bound=0))
    free_on_resume(flags.DEFINE_boolean(
        "resume", True, "Continue from the newest checkpoint in --output_dir if there is one."))
    free_on_resume(flags.DEFINE_boolean(
        "tensorboard", True,
        "Write TensorBoard scalars (and figures where the entry point draws them) to <output_dir>/tensorboard."))
    if export:
        free_on_resume(flags.DEFINE_string(
            "export_dir", None, "If set, write a versioned SavedModel for serving here."))
    free_on_resume(flags.DEFINE_boolean("dry_run", False, "Print the resolved flags and exit."))
