"""Permutation-invariant MNIST: the encoder as a representation, against BiGAN's Table 1.

Not in the AGE paper: BiGAN's setting (Donahue, Kraehenbuehl and Darrell, ICLR
2017, Table 1; ``age_tf.networks.bigan_mnist``): single digits flattened to 784
values in [0, 1], fully connected encoder, generator and joint discriminator of
1024 units, a 50-d code and a uniform prior on [-1, 1]^50 (``--prior``). It trains
AGE or a baseline (``--method=gan`` is BiGAN itself, the VAE takes
``--prior=normal``) on the 60,000 training digits and reports what the code
E(x) is worth (``age_tf.metrics.representation``): the 1-nearest-neighbour and
the linear-probe accuracy of the 10,000 test codes against the training codes,
and the reconstruction distance ||x - G(E(x))|| beside the random-pair one.

    python -m age_tf.experiments.mnist --flagfile=experiments/bigan_mnist/mnist_age_kl.flags
    python -m experiments.bigan_mnist.run   # the table: every row, three seeds

The run directory holds ``flags.txt``, ``history.jsonl``, ``metrics.json``,
``run_info.json``, ``samples.png`` (generated digits, and test digits beside
their reconstructions), ``tensorboard/`` and a resumable ``checkpoint/``.
"""

from __future__ import annotations

import os
import time

import numpy as np
from absl import flags

from age_tf import divergences, files, methods
from age_tf.experiments import checks, cli, hardware, resume, run_flags, training

FLAGS = flags.FLAGS
_MODULE = "age_tf.experiments.mnist"
METHODS = tuple(methods.names(bidirectional=True))

run_flags.free_on_resume(flags.DEFINE_string("mnist_dir", os.path.join("..", "shared", "data", "mnist"),
                                             "Directory of the four MNIST IDX files (gzipped or not)."))
flags.DEFINE_string("method", "age", f"Training method; one of {', '.join(METHODS)} (gan: BiGAN; baselines "
                    "ignore --divergence).")
flags.DEFINE_string("divergence", "kl", f"f-divergence of AGE; one of {', '.join(divergences.names())}.")
flags.DEFINE_float("scale_clip", None, "Scaling clipping r0 in (0, 1]; unset for none.")
flags.DEFINE_enum("encoder_kind", "deterministic", ["deterministic", "gaussian"],
                  "Encoder distribution (BiGAN: deterministic; the VAE: gaussian).")
flags.DEFINE_enum("generator_kind", "deterministic", ["deterministic", "gaussian"],
                  "Generator distribution (BiGAN: deterministic; the VAE: gaussian).")
flags.DEFINE_enum("prior", "uniform", ["uniform", "normal"],
                  "p_z: uniform on [-1, 1]^latent_dim (BiGAN's released code, with the code squashed into it) "
                  "or N(0, I) (the AGE paper's, and the VAE's).")
flags.DEFINE_integer("latent_dim", 50, "Size of z (BiGAN: 50).", lower_bound=1)
flags.DEFINE_integer("hidden_units", 1024, "Units of every hidden layer of E, G and D (BiGAN: 1024).", lower_bound=1)
flags.DEFINE_integer("d_steps", 1, "Discriminator updates per encoder/generator update (BiGAN: 1).", lower_bound=1)
flags.DEFINE_integer("batch_size", 128, "Minibatch size of every update (BiGAN: 128).", lower_bound=1)
run_flags.free_on_resume(flags.DEFINE_integer("epochs", 20, "Epochs of num_train // batch_size updates "
                                              "(BiGAN: 400, on a GPU).", lower_bound=1))
flags.DEFINE_integer("num_train", 0, "Training digits, the first of MNIST's training split (0: all 60,000).",
    lower_bound=0)
flags.DEFINE_integer("seed", 0, "Seed of the weights, the shuffling and all training noise.")
run_flags.free_on_resume(flags.DEFINE_integer(
    "max_train_points", 0, "Training codes the 1-NN searches and the probe fits (0: every training digit).",
        lower_bound=0))
run_flags.free_on_resume(flags.DEFINE_integer("eval_every", 0, "Log the encoder metrics every this many epochs "
                                              "(0: only at the end).", lower_bound=0))
run_flags.define_optimizer_flags(d_learning_rate=2e-4, eg_learning_rate=2e-4, source="BiGAN's released code")
run_flags.define_run_flags("runs/mnist", export=False)
flags.adopt_module_key_flags(run_flags)


def validate_flags():
    """Every check on the flags alone, before anything is read, built or written."""
    checks.check_method_flags(FLAGS, METHODS)
    checks.check_strategy(FLAGS)
    method = methods.get(FLAGS.method)
    if not method.adversarial:
        if FLAGS.prior != "normal":
            checks.usage_error(f"--method={method.name} has the prior N(0, I) (its KL term is in closed form); "
                            "pass --prior=normal.")
        if (FLAGS.encoder_kind, FLAGS.generator_kind) != ("gaussian", "gaussian"):
            checks.usage_error(f"--method={method.name} needs --encoder_kind=gaussian and --generator_kind=gaussian.")
        if FLAGS.precision != "float32":
            checks.usage_error(f"--method={method.name} does not train in {FLAGS.precision} yet; pass "
                            "--precision=float32.")


def run_label() -> str:
    return methods.label(FLAGS.method, FLAGS.divergence, FLAGS.scale_clip)


def load_data():
    """The flattened training and test digits; a bad --mnist_dir exits 2."""
    from age_tf.data import mnist

    try:
        data = mnist.flat_mnist(FLAGS.mnist_dir, FLAGS.num_train)
    except mnist.MnistError as error:
        checks.usage_error(f"--mnist_dir: {error}")
    if len(data.train_x) < FLAGS.batch_size * (FLAGS.d_steps + 1):
        checks.usage_error(f"--mnist_dir holds {len(data.train_x):,} training digits, fewer than one iteration's "
                        f"{FLAGS.d_steps + 1} minibatches of --batch_size={FLAGS.batch_size}.")
    return data


def build_model(seed: int):
    """BiGAN's MNIST networks; Adam for each player with BiGAN's learning rate unless the flags say otherwise."""
    import keras

    from age_tf import models
    from age_tf.networks import bigan_mnist

    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy(FLAGS.precision)
    encoder = bigan_mnist.build_encoder(FLAGS.latent_dim, kind=FLAGS.encoder_kind, prior=FLAGS.prior,
                                        hidden_units=FLAGS.hidden_units, seed=seed * 3 + 1)
    generator = bigan_mnist.build_generator(FLAGS.latent_dim, kind=FLAGS.generator_kind,
                                            hidden_units=FLAGS.hidden_units, seed=seed * 3 + 2)
    discriminator = bigan_mnist.build_discriminator(FLAGS.latent_dim, hidden_units=FLAGS.hidden_units)
    model = models.build(FLAGS.method, encoder, generator, discriminator, divergence=FLAGS.divergence,
                         scale_clip=FLAGS.scale_clip, d_steps=FLAGS.d_steps, seed=seed * 3, prior=FLAGS.prior)
    return models.compile_with_adam(model, FLAGS.d_learning_rate, FLAGS.eg_learning_rate, FLAGS.adam_beta1,
                                    FLAGS.adam_beta2, FLAGS.jit_compile)


def load_run(run_dir: str, num_threads: int = 0):
    """(model, finished epochs) of a run directory this entry point wrote."""
    return training.load_run(run_dir, _MODULE, build_model, num_threads)


def digit_sheet(model, test_x, path: str, seed: int) -> str:
    """A PNG: 8 rows of generated digits, then 8 rows of test digits each beside its reconstruction."""
    from age_tf import views
    from age_tf.metrics import representation

    generated = np.asarray(model.generate(64)).reshape(64, 28, 28, 1)
    x = test_x[:32]
    reconstructed = representation.mean_reconstructions(model, x).reshape(32, 28, 28, 1)
    pairs = np.stack([x.reshape(32, 28, 28, 1), reconstructed], axis=1).reshape(64, 28, 28, 1)
    # A Gaussian generator's draws (the VAE's) stray outside [0, 1]; views take RGB in [-1, 1].
    sheet = np.repeat(np.clip(np.concatenate([generated, pairs]), 0.0, 1.0) * 2.0 - 1.0, 3, axis=-1)
    return views.sample_grid(path, sheet, columns=8)


def run(output_dir: str, strategy, data) -> dict:
    """Trains, evaluates and writes the run directory; returns the metrics."""
    import age_tf
    from age_tf import callbacks, metrics

    hardware.set_threads(FLAGS.num_threads)
    with strategy.scope():
        model = build_model(FLAGS.seed)
    state = training.resume_training(model, output_dir, FLAGS.resume)
    method = methods.get(FLAGS.method)
    # A resumed run reshuffles with another seed rather than replaying epoch 1's order.
    batches = age_tf.data.iteration_batches(
        data.train_x, FLAGS.batch_size, FLAGS.d_steps if method.adversarial else 0,
        seed=FLAGS.seed + 1000 * state.initial_epoch + state.initial_step,
        num_replicas=strategy.num_replicas_in_sync,
    )
    per_iteration = FLAGS.batch_size * ((FLAGS.d_steps + 1) if method.adversarial else 1)
    evaluation = dict(max_train_points=FLAGS.max_train_points, seed=FLAGS.seed)
    guard = callbacks.StopOnNonFinite()
    fit_start = time.time()
    state.fit(model, batches, epochs=FLAGS.epochs, steps_per_epoch=len(data.train_x) // per_iteration,
              guard=guard, checkpoint_every=FLAGS.checkpoint_every,
              checkpoint_every_steps=FLAGS.checkpoint_every_steps, tensorboard=FLAGS.tensorboard,
              extra=[callbacks.PeriodicEvaluation(["representation"], data, FLAGS.eval_every, **evaluation)])
    train_seconds = time.time() - fit_start
    if guard.diverged:
        raise cli.TrainingDiverged(cli.diverged_message(guard, state.saver))

    eval_start = time.time()
    results = metrics.compute(["representation"], model, data, **evaluation)
    eval_seconds = time.time() - eval_start
    optimizer = getattr(model, "g_optimizer", None) or model.optimizer
    results.update(label=run_label(), encoder_generator_steps=int(optimizer.iterations.numpy()), seed=FLAGS.seed)
    files.write_json(os.path.join(output_dir, "metrics.json"), results)
    results.update(state.write_run_info(train_seconds, eval_seconds=eval_seconds))
    results["figure"] = digit_sheet(model, data.test_x, os.path.join(output_dir, "samples.png"), FLAGS.seed)
    results["checkpoint"] = state.saver.latest
    return results


def main(argv):
    if not cli.begin(argv, _MODULE, validate_flags):
        return 0
    data = load_data()  # checks --mnist_dir before anything is written
    strategy = hardware.make_strategy(FLAGS.strategy)
    checks.check_divisible_batch(FLAGS.batch_size, strategy, FLAGS.strategy)
    output_dir = resume.open_run_directory(_MODULE)
    results = run(output_dir, strategy, data)
    shown = ("knn_accuracy", "probe_accuracy", "probe_penalty", "reconstruction_distance", "random_pair_distance",
             "representation_train_points", "representation_test_points", "encoder_generator_steps",
             "train_seconds", "eval_seconds")
    cli.report(results, shown, [
        ("Figure (8 rows of samples G(z), then test digits beside their reconstructions G(E(x)))", results["figure"]),
        ("Metrics", os.path.join(output_dir, "metrics.json")),
        ("Checkpoint", results["checkpoint"]),
    ], heading=f"{results['label']} on permutation-invariant MNIST, seed {FLAGS.seed}, {FLAGS.epochs} epochs:",
        metric_names=["representation"])
    return 0


if __name__ == "__main__":
    cli.run_main(main)
