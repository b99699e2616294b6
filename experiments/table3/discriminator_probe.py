"""How well does the discriminator of a Gaussian-E/G mixture run know log(p_e / p_g)? (experiments/table3/results/table3.md)

With a Gaussian encoder and a Gaussian generator on the known 9-Gaussian mixture, the log density ratio
that logistic regression should find (Section 2.2) has a closed form:

    D*(x, z) = log p_r(x) + log p_e(z|x) - log p_z(z) - log p_g(x|z),

and E_pe[D*] = KL(p_e, p_g), the quantity AGE-KL descends (Section 5.1). This script restores the
newest checkpoint of a mog RUN_DIR, freezes E and G (inference mode), and trains a discriminator on
them by the same logistic regression as ``AGE.discriminator_step`` (Adam, beta_1 = 0, the run's
batch size), starting from the run's own D or from a fresh one. Every --report_every steps it prints,
on fixed held-out pairs (2,000 from p_e, 2,000 from p_g): E_pe[D] and E_pe[D*] (KL estimates; also over the
pairs without the 1% of largest D*, as the held-out objective has a heavy tail),
E_pg[exp D] (1 for the true ratio), the correlation of D with D*, and the cosine between D's and D*'s
gradients, in z on p_e pairs (what moves E, Theorem 1) and in x on p_g pairs (what moves G).

    python experiments/table3/discriminator_probe.py runs/table3_longer/age_kl_s0 [--fresh] [--steps=3000]
        [--learning_rate=1e-4] [--report_every=250] [--seed=0] [--num_threads=0]
"""
import argparse
import sys

import numpy as np

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("run_dir")
parser.add_argument("--fresh", action="store_true", help="Train a newly initialised D, not the run's.")
parser.add_argument("--steps", type=int, default=3000)
parser.add_argument("--learning_rate", type=float, default=1e-4)
parser.add_argument("--report_every", type=int, default=250)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--num_threads", type=int, default=0, help="CPU threads (0: TensorFlow's default).")
args = parser.parse_args()

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import flags  # noqa: E402

import age_tf  # noqa: E402
from age_tf.experiments import mog  # noqa: E402
from age_tf.metrics import likelihood  # noqa: E402
from age_tf.networks import mlp  # noqa: E402

FLAGS = flags.FLAGS
model, epoch = mog.load_run(args.run_dir, args.num_threads)
if FLAGS.encoder_kind != "gaussian" or FLAGS.generator_kind != "gaussian":
    sys.exit("The closed-form ratio needs --encoder_kind=gaussian and --generator_kind=gaussian.")

data = age_tf.data.grid_mixture(FLAGS.num_modes, FLAGS.imbalanced, seed=FLAGS.data_seed)
data_density = data.distribution()
keras.utils.set_random_seed(args.seed)
discriminator = model.discriminator
if args.fresh:
    discriminator = mlp.build_discriminator(latent_dim=FLAGS.latent_dim)
optimizer = keras.optimizers.Adam(args.learning_rate, beta_1=FLAGS.adam_beta1, beta_2=FLAGS.adam_beta2)
rng = np.random.default_rng(args.seed)


def true_log_ratio(x, z):
    """D*(x, z) in closed form (the docstring's equation)."""
    return likelihood.joint_log_ratio(model.encoder, model.generator, data_density.log_prob, x, z)


def pairs(x):
    """(x, z) ~ p_e with x given, and as many (x, z) ~ p_g, with E and G in inference mode."""
    x = tf.convert_to_tensor(x)
    z_g = tf.random.normal((tf.shape(x)[0], FLAGS.latent_dim))
    return (x, model.encoder(x, training=False)), (model.generator(z_g, training=False), z_g)


heldout_e, heldout_g = pairs(mog.heldout_points(FLAGS.data_seed, 2000)[0])


@tf.function
def step(x):
    (x_e, z_e), (x_g, z_g) = pairs(x)
    with tf.GradientTape() as tape:
        logits = discriminator([tf.concat([x_e, x_g], 0), tf.concat([z_e, z_g], 0)], training=True)
        n = tf.shape(x_e)[0]
        loss = age_tf.losses.logistic_discriminator_loss(logits[:n], logits[n:])
    variables = discriminator.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss


def gradient_cosine(x, z, wrt):
    """Mean cosine between grad D and grad D* in x (wrt=0) or z (wrt=1), per pair."""
    x, z = tf.identity(x), tf.identity(z)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, z])
        learned = discriminator([x, z], training=False)
        true = true_log_ratio(x, z)
    g_learned, g_true = tape.gradient(learned, [x, z])[wrt], tape.gradient(true, [x, z])[wrt]
    cos = tf.reduce_sum(g_learned * g_true, -1) / (tf.norm(g_learned, axis=-1) * tf.norm(g_true, axis=-1) + 1e-12)
    return float(tf.reduce_mean(cos)), float(tf.reduce_mean(tf.norm(g_learned, axis=-1))), float(
        tf.reduce_mean(tf.norm(g_true, axis=-1)))


def report(done):
    d_e = discriminator(list(heldout_e), training=False).numpy()
    d_g = discriminator(list(heldout_g), training=False).numpy()
    t_e, t_g = true_log_ratio(*heldout_e).numpy(), true_log_ratio(*heldout_g).numpy()
    corr = np.corrcoef(np.concatenate([d_e, d_g]), np.concatenate([t_e, t_g]))[0, 1]
    cos_z, norm_z, true_norm_z = gradient_cosine(*heldout_e, wrt=1)
    cos_x, norm_x, true_norm_x = gradient_cosine(*heldout_g, wrt=0)
    bulk = t_e <= np.percentile(t_e, 99)  # the p_e pairs without the 1% of largest D*
    print(f"step {done:6d}: E_pe[D] {d_e.mean():.3f} (D* {t_e.mean():.3f}; without D*'s top 1% "
          f"{d_e[bulk].mean():.3f} vs {t_e[bulk].mean():.3f}), E_pg[exp D] "
          f"{np.exp(d_g).mean():.3f} (D* {np.exp(t_g).mean():.3f}), corr(D, D*) {corr:.3f}; "
          f"cos grad_z on p_e {cos_z:.3f} (|grad| {norm_z:.2f} vs {true_norm_z:.2f}), "
          f"cos grad_x on p_g {cos_x:.3f} (|grad| {norm_x:.2f} vs {true_norm_x:.2f})", flush=True)


log_data = float(tf.reduce_mean(data_density.log_prob(heldout_e[0])))
print(f"{args.run_dir}, epoch {epoch}, {'fresh' if args.fresh else 'the run'}'s D, learning rate "
      f"{args.learning_rate}, batch {FLAGS.batch_size}; on the held-out pairs E log p_r(x) = {log_data:.3f}, "
      f"so the objective (equation 8) E_pe[D*] - E log p_r(x) = "
      f"{float(tf.reduce_mean(true_log_ratio(*heldout_e))) - log_data:.3f}", flush=True)
report(0)
for done in range(1, args.steps + 1):
    step(data.points[rng.integers(0, len(data.points), FLAGS.batch_size)])
    if done % args.report_every == 0:
        report(done)
