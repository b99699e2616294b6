"""Seconds per AGE iteration on the 25-Gaussian demo (5 D steps + 1 E/G step).

    python benchmarks/mog_step.py [default|inter1|xla|bf16] [--steps=60]

Prints the median-free mean over ``--steps`` iterations after 10 warm-up ones.
A first cut of issue 8's harness; not a test.
"""

import sys
import time

import tensorflow as tf


def main(mode="default", steps=60):
    if mode == "inter1":
        tf.config.threading.set_inter_op_parallelism_threads(1)
    import age_tf
    from absl import flags

    from age_tf.experiments import mog

    precision = "mixed_bfloat16" if mode == "bf16" else "float32"  # build_model sets the policy from the flag
    flags.FLAGS(["mog_step", f"--jit_compile={mode == 'xla'}", f"--precision={precision}"])
    data = age_tf.data.grid_mixture(25, seed=0)
    model = mog.build_model(0)
    batches = age_tf.data.iteration_batches(data.points, 500, 5, seed=0)
    model.fit(batches, steps_per_epoch=10, epochs=1, verbose=0)
    start = time.time()
    model.fit(batches, steps_per_epoch=steps, epochs=1, verbose=0)
    print(f"{mode}: {(time.time() - start) / steps:.3f} s per iteration")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--steps=")]
    steps = [int(a.split("=")[1]) for a in sys.argv[1:] if a.startswith("--steps=")]
    main(args[0] if args else "default", steps[0] if steps else 60)
