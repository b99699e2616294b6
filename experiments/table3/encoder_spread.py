"""How wide is a trained Gaussian encoder, and what does its KL to the prior cost? (experiments/table3/results/table3.md)

Restores the newest checkpoint of a mog RUN_DIR trained with a Gaussian encoder and prints, over the
first NUM_POINTS held-out points: the mean standard deviation of p_e(z|x) per latent coordinate, the
mean KL(p_e(z|x) || N(0, I)) in closed form (the objective's second term, equation 8), and E[mu^2].

    python experiments/table3/encoder_spread.py runs/table3_longer/age_kl_s0 [NUM_POINTS=2000]
"""
import sys

import numpy as np
from absl import flags

from age_tf.experiments import mog

FLAGS = flags.FLAGS
run = sys.argv[1]
num_points = int(sys.argv[2]) if len(sys.argv) > 2 else 2000

model, epoch = mog.load_run(run)
x = mog.heldout_points(FLAGS.data_seed)[0][:num_points]
posterior = model.encoder.distribution(x, training=False).distribution
std, mean = posterior.scale.numpy(), posterior.loc.numpy()
kl = 0.5 * np.sum(std**2 + mean**2 - 1 - 2 * np.log(std), axis=1)
print(f"{run} (epoch {epoch}, {num_points} held-out points): encoder std "
      f"{[round(float(v), 4) for v in std.mean(0)]}, KL(p_e(z|x) || p_z) {kl.mean():.3f}, "
      f"E[mu^2] {[round(float(v), 3) for v in (mean**2).mean(0)]}")
