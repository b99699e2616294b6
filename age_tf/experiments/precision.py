"""Which precision a run trains in: ``--precision=auto`` resolved once, before anything is built.

The mixtures entry point defaults to ``auto``. On a CPU with native bfloat16 units and no GPU
it trains in mixed_bfloat16:

- AMX (Intel Xeon): 2.3x faster than float32 (0.067 s against 0.157 s a 25-Gaussian
  iteration, ``benchmarks/README.md``) with the same Table 4 KL (AGE-KL, seeds 0-4, 0.0534
  (0.0062) against the float32 row's 0.0741 (0.0118):
  ``experiments/table4/results/age_kl_bf16_fused_layers.md``; 0.0692 (0.0181) before the fused
  layers, ``age_kl_bf16.md``).
- AVX-512 BF16 (AMD EPYC Zen 4): 1.6x faster (0.128 s against 0.206 s, the medians of five
  alternating rounds, ``benchmarks/README.md``), with Table 4's KL (seeds 0-2, 0.0668 (0.0112)
  against the float32 row's 0.0741 (0.0118); ``age_kl_bf16_avx512.md``). Its kernels multiply
  bfloat16 and accumulate in float32, as AMX's do.

Everywhere else it keeps float32: without those units bfloat16 is emulated and slow, and on
GPUs it is untested here. A resumed run keeps the precision it was trained in, whatever this
machine has. The resolved value is what the run's ``flags.txt`` records, so a run directory
always names the precision it trained in.
"""

from __future__ import annotations

import os

from age_tf.experiments import hardware, resume, run_directory
from age_tf.experiments.run_flags import AUTO_PRECISION as AUTO
from age_tf.experiments.run_flags import PRECISION_BEFORE_AUTO
from age_tf.experiments.run_flags import PRECISIONS as CHOICES


# What mixed_bfloat16 measured on each kind of bfloat16 unit (hardware.BF16_UNITS), said when it is chosen.
BF16_EVIDENCE = {
    "amx_bf16": ("this CPU has AMX bfloat16 units, on which it measured 2.3x faster than float32 with the "
                 "same Table 4 KL"),
    "avx512_bf16": ("this CPU has AVX-512 bfloat16 instructions, on which it measured 1.6x faster than float32, "
                    "with the same Table 4 KL"),
}


def choose(bf16_units, has_gpu: bool, resumed_precision=None, jit_compile: bool = False,
           adversarial=True) -> tuple:
    """(precision, reason) for ``--precision=auto``: the resumed run's, else mixed_bfloat16
    on a CPU with native bfloat16 units (``bf16_units``, ``hardware.bf16_units()``: AMX or
    AVX-512 BF16) and no GPU for the adversarial methods (those of ``AGE.train_step``, whose
    step the bfloat16 evidence exercised), unless XLA was asked for (slower in bfloat16 on a
    CPU, ``checks.XLA_SLOWER_ON_CPU``); else float32."""
    if resumed_precision in CHOICES:
        return resumed_precision, "the precision of the run it resumes"
    if adversarial is None:
        return "float32", "until --method names a known method"
    if not adversarial:
        return "float32", "the VAE does not train in bfloat16"
    if has_gpu:
        return "float32", "bfloat16 is untested on GPUs here"
    if bf16_units and jit_compile:
        return "float32", "--jit_compile is given, and on a CPU XLA is slower in bfloat16"
    if bf16_units:
        return "mixed_bfloat16", BF16_EVIDENCE[bf16_units]
    return "float32", "this CPU has neither AMX nor AVX-512 bfloat16 units (bfloat16 would be emulated and slow)"


def resumed_precision(flag_values):
    """The ``--precision`` in ``flags.txt`` of the run that ``--output_dir`` holds when this
    invocation would resume it (``--resume`` and a checkpoint there); else None."""
    output_dir = os.path.expanduser(flag_values.output_dir or "")
    if not resume.would_resume(output_dir, flag_values.resume):
        return None
    saved = run_directory.saved_flag(output_dir, "precision")
    if saved is None and run_directory.saved_flag_lines(output_dir):
        return PRECISION_BEFORE_AUTO  # a run from before --precision=auto
    return saved


def _adversarial(flag_values):
    """Whether ``--method`` names an adversarial method; None for an unknown one (the entry
    point's own check names it)."""
    from age_tf import methods

    try:
        return methods.get(flag_values.method).adversarial
    except (AttributeError, ValueError, KeyError):
        return None


def resolve(flag_values, log=print, resuming: bool = True):
    """Replaces ``--precision=auto`` in ``flag_values`` by the precision ``choose`` picks on
    this machine and prints which and why; any other value is left as given. With
    ``resuming`` False (a script that builds a model without a run directory) no earlier
    run is consulted."""
    if flag_values.precision != AUTO:
        return
    units = hardware.bf16_units()
    has_gpu = bool(units) and bool(hardware.gpus())  # TensorFlow is loaded only where the answer matters
    chosen, reason = choose(units, has_gpu, resumed_precision(flag_values) if resuming else None,
                            getattr(flag_values, "jit_compile", False), _adversarial(flag_values))
    flag_values.precision = chosen
    log(f"--precision=auto: training in {chosen} ({reason}); pass --precision=float32, mixed_bfloat16 or "
        "mixed_float16 to choose.")
