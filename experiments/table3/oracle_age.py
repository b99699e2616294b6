"""AGE with the exact log-ratio in place of the discriminator: is D's estimate what costs AGE-KL? (experiments/table3/results/table3.md)

Trains a Gaussian-E/G mixture model from a mog flagfile (default experiments/table3/mog9_table3_cpu.flags) by
Theorem 1's encoder and generator updates, unchanged (the model's own method losses, scale functions and
optimizers), but with the discriminator replaced by the closed-form log-ratio of the current E and G,

    D*(x, z) = log p_r(x) + log p_e(z|x) - log p_z(z) - log p_g(x|z),

held fixed within each update as a trained D is (gradients reach E and G only through the pairs x and z,
not through the densities' weights). No D steps are taken, so a run costs about one thirty-first of an
AGE run. Prints the objective (equation 8) and CC on the metrics' 10,000 held-out points after every epoch.

    python experiments/table3/oracle_age.py [--flagfile=experiments/table3/mog9_table3_cpu.flags] [--seed=0] [--epochs=10]
        [--batch_norm_inference]
"""
import sys
import time

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from absl import flags

import age_tf
from age_tf.experiments import hardware, mog
from age_tf.metrics import likelihood

tfd = tfp.distributions
FLAGS = flags.FLAGS
flags.DEFINE_boolean("batch_norm_inference", False, "Run E and G with batch norm in inference mode (fixed "
                     "statistics), so that D* is exactly their ratio; by default they run in training mode "
                     "as in AGE training, and D*'s densities use the statistics of the batch they are "
                     "evaluated on.")
FLAGS(["oracle_age", "--flagfile=experiments/table3/mog9_table3_cpu.flags", *sys.argv[1:]])
if FLAGS.method != "age" or FLAGS.encoder_kind != "gaussian" or FLAGS.generator_kind != "gaussian":
    sys.exit("The closed-form ratio needs --method=age with Gaussian encoder and generator.")

hardware.set_threads(FLAGS.num_threads)
model = mog.build_model(FLAGS.seed)
data = age_tf.data.grid_mixture(FLAGS.num_modes, FLAGS.imbalanced, seed=FLAGS.data_seed)
data_density = data.distribution()
prior = tfd.MultivariateNormalDiag(loc=tf.zeros(FLAGS.latent_dim))
TRAINING = not FLAGS.batch_norm_inference


def oracle_logits(x, z):
    """D*(x, z) as a logit whose gradient reaches E and G only through x and z.

    Value D*, input gradients those of D*, weights of the densities held fixed: the first-order
    surrogate D*(x0, z0) + grad_x D* . (x - x0) + grad_z D* . (z - z0) at x0 = x, z0 = z.
    """
    x0, z0 = tf.stop_gradient(x), tf.stop_gradient(z)
    with tf.GradientTape() as tape:
        tape.watch([x0, z0])
        ratio = likelihood.joint_log_ratio(model.encoder, model.generator, data_density.log_prob, x0, z0,
                                           training=TRAINING)
    grad_x, grad_z = (tf.stop_gradient(g) for g in tape.gradient(ratio, [x0, z0]))
    return (tf.stop_gradient(ratio) + tf.reduce_sum(grad_x * (x - x0), -1)
            + tf.reduce_sum(grad_z * (z - z0), -1))


@tf.function
def update(x):
    z_g = prior.sample(tf.shape(x)[0])
    e_vars, g_vars = model.encoder.trainable_variables, model.generator.trainable_variables
    with tf.GradientTape() as tape:
        logits_e = oracle_logits(x, model.encoder(x, training=TRAINING))
        logits_g = oracle_logits(model.generator(z_g, training=TRAINING), z_g)
        total = (model.method.encoder_loss(logits_e, model.divergence)
                 + model.method.generator_loss(logits_g, model.divergence))
    grads = tape.gradient(total, e_vars + g_vars)
    model.e_optimizer.apply_gradients(zip(grads[: len(e_vars)], e_vars))
    model.g_optimizer.apply_gradients(zip(grads[len(e_vars):], g_vars))
    return tf.reduce_mean(logits_e)


heldout = mog.heldout_points(FLAGS.data_seed)[0]
rng = np.random.default_rng(FLAGS.seed)
steps = FLAGS.steps_per_epoch or len(data.points) // FLAGS.batch_size
print(f"AGE-{FLAGS.divergence.upper()} with D*, batch norm in {'training' if TRAINING else 'inference'} mode, seed {FLAGS.seed}: {FLAGS.epochs} epochs of {steps} "
      f"E/G updates, batch {FLAGS.batch_size}, learning rate {FLAGS.eg_learning_rate}", flush=True)
start = time.time()
for epoch in range(1, FLAGS.epochs + 1):
    order = rng.permutation(len(data.points))
    kl = [update(data.points[order[i * FLAGS.batch_size:(i + 1) * FLAGS.batch_size]]) for i in range(steps)]
    objective = likelihood.negative_elbo(model.encoder, model.generator, heldout, FLAGS.mc_samples)
    cc = likelihood.cycle_consistency(model.encoder, model.generator, heldout, FLAGS.mc_samples)
    print(f"epoch {epoch}: objective {objective:.3f}, CC {cc:.3f}, training E_pe[D*] "
          f"{float(np.mean(kl)):.3f}, {time.time() - start:.0f} s", flush=True)
