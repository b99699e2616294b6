"""Is the AIS step size right for a trained model? (BUILD_NOTES.md, Table 3.)

Restores the newest checkpoint of a mog RUN_DIR trained with a Gaussian encoder and generator and,
on its first NUM_POINTS held-out points, compares -log p_g(x) from:
- importance sampling with the trained encoder p_e(z|x) as proposal (SAMPLES draws a point;
  age_tf.metrics.likelihood.importance_sampled_log_likelihood, the nll_is metric): unbiased for
  p_g(x), tight when p_e(z|x) is close to the posterior, and converging to the truth as SAMPLES
  grows, whatever the proposal;
- the same with the proposal's standard deviations doubled (heavier tails);
- AIS (age_tf.metrics.likelihood.ais_log_likelihood) with the run's settings at several HMC step
  sizes.
Agreement of AIS at the run's step size with both importance-sampling estimates says the NLL column
of Table 3 is trustworthy for that model.

    python experiments/table3/check_ais.py runs/table3/age_kl_s0 [NUM_POINTS=20] [SAMPLES=20000] [STEP_SIZES]

STEP_SIZES is a comma-separated list (default: 0.05, the run's --ais_step_size and 0.5); "none"
skips AIS (NUM_POINTS=100 then compares with the trial's own NLL, which is on the same points).
"""
import sys
import time

import numpy as np
from absl import flags

from age_tf.experiments import mog

FLAGS = flags.FLAGS
run = sys.argv[1]
num_points = int(sys.argv[2]) if len(sys.argv) > 2 else 20
samples = int(sys.argv[3]) if len(sys.argv) > 3 else 20_000
step_sizes = sys.argv[4] if len(sys.argv) > 4 else ""

from age_tf.metrics import likelihood  # noqa: E402

model, epoch = mog.load_run(run)
print(f"{run}: restored after epoch {epoch}; {num_points} held-out points, {samples} IS samples each")
x = mog.heldout_points(FLAGS.data_seed)[0][:num_points]

for widen in (1.0, 2.0):
    start = time.time()
    nll = -np.mean(likelihood.importance_sampled_log_likelihood(
        model.encoder, model.generator, x, num_samples=samples, proposal_scale=widen, chunk=2000))
    print(f"importance sampling, proposal scale x{widen:g}: NLL {nll:.4f} ({time.time() - start:.0f} s)")
if step_sizes == "none":
    step_sizes = []
elif step_sizes:
    step_sizes = [float(s) for s in step_sizes.split(",")]
else:
    step_sizes = [0.05, FLAGS.ais_step_size, 0.5]
for step_size in step_sizes:
    start = time.time()
    log_px = likelihood.ais_log_likelihood(
        model.generator, x, model.latent_dim, num_steps=FLAGS.ais_steps, num_chains=FLAGS.ais_chains,
        step_size=step_size,
    )
    print(f"AIS {FLAGS.ais_steps} steps x {FLAGS.ais_chains} chains, step size {step_size:g}: "
          f"NLL {-np.mean(log_px):.4f} ({time.time() - start:.0f} s)")
