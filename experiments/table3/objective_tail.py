"""Where in the held-out data is a Gaussian-E/G model's objective spent? (experiments/table3/results/table3.md)

Restores the newest checkpoint of a mog RUN_DIR and prints, on the 10,000 held-out points the `objective`
and `cycle_consistency` metrics use (10 draws of z per point, as they do): both metrics on the first 2,000
points and on all 10,000; quantiles of the per-point cycle-consistency term -E_z log p_g(x|z); and the
mean of that term without the 1% of worst-reconstructed points, with the share of the mean those 1% carry.

    python experiments/table3/objective_tail.py runs/table3_longer/age_kl_s0
"""
import sys

import numpy as np
from absl import flags

from age_tf.experiments import mog
from age_tf.metrics import likelihood

FLAGS = flags.FLAGS
run = sys.argv[1]

model, epoch = mog.load_run(run)
x = mog.heldout_points(FLAGS.data_seed)[0]
for n in (2000, len(x)):
    objective = likelihood.negative_elbo(model.encoder, model.generator, x[:n], FLAGS.mc_samples)
    cc = likelihood.cycle_consistency(model.encoder, model.generator, x[:n], FLAGS.mc_samples)
    print(f"{run} (epoch {epoch}), first {n} held-out points: objective {objective:.3f}, CC {cc:.3f}")
log_px_z, _ = likelihood.reconstruction_log_prob_samples(model.encoder, model.generator, x, FLAGS.mc_samples)
per_point = -log_px_z.numpy().mean(0)
quantiles = dict(zip(("50%", "90%", "99%", "99.9%", "max"), np.percentile(per_point, [50, 90, 99, 99.9, 100])))
worst = per_point >= np.percentile(per_point, 99)
print("per-point CC quantiles: " + ", ".join(f"{k} {v:.2f}" for k, v in quantiles.items()))
print(f"CC without the worst 1%: {per_point[~worst].mean():.3f}; the worst 1% carry "
      f"{per_point[worst].sum() / len(per_point):.3f} of the mean {per_point.mean():.3f}")
