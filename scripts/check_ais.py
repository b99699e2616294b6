"""Is the AIS step size right for a trained model? (BUILD_NOTES.md, Table 3.)

Restores the newest checkpoint of a mog RUN_DIR trained with a Gaussian encoder and generator and,
on its first NUM_POINTS held-out points, compares -log p_g(x) from:
- importance sampling with the trained encoder p_e(z|x) as proposal (SAMPLES draws a point,
  log mean_s p_z(z_s) p_g(x|z_s) / p_e(z_s|x)): unbiased for p_g(x), tight when p_e(z|x) is close
  to the posterior, and converging to the truth as SAMPLES grows, whatever the proposal;
- the same with the proposal's standard deviations doubled (heavier tails);
- AIS (age_tf.metrics.likelihood.ais_log_likelihood) with the run's settings at several HMC step
  sizes.
Agreement of AIS at the run's step size with both importance-sampling estimates says the NLL column
of Table 3 is trustworthy for that model.

    python scripts/check_ais.py runs/table3/age_kl_s0 [NUM_POINTS=20] [SAMPLES=20000] [STEP_SIZES]

STEP_SIZES is a comma-separated list (default: 0.05, the run's --ais_step_size and 0.5); "none"
skips AIS (NUM_POINTS=100 then compares with the trial's own NLL, which is on the same points).
"""
import sys
import time

import numpy as np
from absl import flags

from age_tf.experiments import common, mog

FLAGS = flags.FLAGS
run = sys.argv[1]
num_points = int(sys.argv[2]) if len(sys.argv) > 2 else 20
samples = int(sys.argv[3]) if len(sys.argv) > 3 else 20_000
step_sizes = sys.argv[4] if len(sys.argv) > 4 else ""
FLAGS(["check_ais", f"--flagfile={run}/flags.txt"])

import tensorflow as tf  # noqa: E402
import tensorflow_probability as tfp  # noqa: E402

from age_tf.metrics import likelihood  # noqa: E402

tfd = tfp.distributions
model = mog.build_model(FLAGS.seed)
_, epoch = common.restore_training(model, run, True)
print(f"{run}: restored after epoch {epoch}; {num_points} held-out points, {samples} IS samples each")
x = tf.constant(mog.heldout_points(FLAGS.data_seed)[0][:num_points], tf.float32)
prior = tfd.MultivariateNormalDiag(tf.zeros([model.latent_dim]), tf.ones([model.latent_dim]))


def importance_sampling_nll(widen: float, chunk: int = 2000) -> float:
    """-mean_x log mean_s p_z(z) p_g(x|z) / q(z|x), q = p_e(z|x) with its scale times ``widen``."""
    posterior = model.encoder.distribution(x, training=False).distribution
    proposal = tfd.MultivariateNormalDiag(posterior.loc, posterior.scale * widen)
    log_weights = []
    for start in range(0, samples, chunk):
        z = proposal.sample(chunk, seed=tf.constant([start, 7]))  # [S, B, k]
        flat = tf.reshape(z, [-1, model.latent_dim])
        x_tiled = tf.reshape(tf.tile(x[None], [chunk, 1, 1]), [-1, x.shape[-1]])
        log_px_z = tf.reshape(model.generator.distribution(flat, training=False).log_prob(x_tiled),
                              [chunk, num_points])
        log_weights.append(prior.log_prob(z) + log_px_z - proposal.log_prob(z))
    log_weights = tf.concat(log_weights, 0)
    log_px = tf.reduce_logsumexp(log_weights, 0) - np.log(samples)
    return float(-tf.reduce_mean(log_px))


for widen in (1.0, 2.0):
    start = time.time()
    nll = importance_sampling_nll(widen)
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
