"""Stacked MNIST: 1000 modes (Section 5.2.2, Tables 5 and 7, Figure 10, Appendix E.2).

The networks of Tables 8-10 (Gaussian encoder, implicit generator; both
deterministic for AGE-ALL(d)) trained by AGE or a baseline on 128,000 stacked
images, batch 64, one update of each network per minibatch, then evaluated on
26,000 generated samples and 26,000 evaluation images stacked from the MNIST
test split: modes covered (of 1000), KL(generated modes || uniform),
reconstruction accuracy and a Frechet distance on the mode classifier's
features. The mode classifier is trained on MNIST by the first run and cached
in ``--classifier_dir``.

The run directory gets ``flags.txt``, ``history.jsonl``, ``metrics.json``
(seeded results only), ``run_info.json`` (wall times, machine, command),
``views/`` (sample and reconstruction grids as PNG, every ``--views_every``
epochs and at the end), ``tensorboard/`` and a resumable ``checkpoint/``.

    python -m age_tf.experiments.stacked_mnist --flagfile=experiments/table5/stacked_mnist_age_all.flags
    python -m age_tf.experiments.stacked_mnist \
        --flagfile=experiments/table5/stacked_mnist_age_all_cpu.flags

On a CPU without AVX-512 (this workplace's AMD EPYC) TensorFlow leaves its
oneDNN kernels off; they make the training step of these convnets 2.35x faster
(BUILD_NOTES.md, Speed), so this entry point restarts itself with
``TF_ENABLE_ONEDNN_OPTS=1`` unless the variable is set (``=0`` keeps them off).
"""

from __future__ import annotations

import math
import os
import time

from absl import flags

from age_tf import files, methods
from age_tf.experiments import checks, cli, hardware, resume, run_flags, training

FLAGS = flags.FLAGS
_MODULE = "age_tf.experiments.stacked_mnist"
METHODS = tuple(methods.names(adversarial=True, bidirectional=True))
NUM_VIEW_IMAGES = 64  # evaluation images shown in the reconstruction and latent views

run_flags.free_on_resume(flags.DEFINE_string("mnist_dir", os.path.join("..", "shared", "data", "mnist"),
                    "Directory of the four MNIST IDX files (gzipped or not)."))
run_flags.free_on_resume(flags.DEFINE_string("classifier_dir", os.path.join("runs", "mnist_classifier"),
                    "Cache of the mode classifier (trained here on the first run, then loaded)."))
run_flags.free_on_resume(flags.DEFINE_float("classifier_min_accuracy", 0.99,
                   "Least MNIST test accuracy accepted for the mode classifier, cached or trained "
                   "(lower it only for smoke tests)."))
flags.DEFINE_string("method", "age", f"Training method; one of {', '.join(METHODS)} (baselines ignore "
                    "--divergence).")
flags.DEFINE_string("divergence", "all", "f-divergence of AGE; all is AGE-ALL (Section 3.2).")
flags.DEFINE_float("scale_clip", None, "Scaling clipping r0 in (0, 1] (Table 7: 0.5); unset for none.")
flags.DEFINE_enum("encoder_kind", "gaussian", ["gaussian", "deterministic"], "Encoder distribution.")
flags.DEFINE_enum("generator_kind", "implicit", ["implicit", "deterministic"],
                  "Generator distribution (implicit: per-layer noise maps, Appendix C).")
flags.DEFINE_integer("latent_dim", 8, "Size of z (Table 8: 8).", lower_bound=1)
flags.DEFINE_integer("d_steps", 1, "Discriminator updates per encoder/generator update (paper: 1).", lower_bound=1)
flags.DEFINE_integer("batch_size", 64, "Minibatch size of every update (paper: 64).", lower_bound=1)
run_flags.free_on_resume(flags.DEFINE_integer("epochs", 50, "Epochs of num_train_examples // batch_size updates (paper: 50).",
    lower_bound=1))
flags.DEFINE_integer("steps_per_epoch", 0, "Updates per epoch (0: num_train_examples // batch_size).", lower_bound=0)
flags.DEFINE_integer("num_train_examples", 128_000, "Stacked training images (paper: 128,000).", lower_bound=1)
run_flags.free_on_resume(flags.DEFINE_integer("num_eval_samples", 26_000,
                     "Generated samples, and stacked evaluation images, for the metrics (paper: 26,000).",
                         lower_bound=1))
run_flags.free_on_resume(flags.DEFINE_integer(
    "representation_train_points", 10_000,
    "Stacked training images whose codes E(x) the encoder metrics (1-NN and linear probe on each channel's digit, "
    "reconstruction distance) search and fit, scored on the evaluation images (0: not computed).", lower_bound=0))
flags.DEFINE_integer("seed", 0, "Seed of the weights, the shuffling and all training noise.")
flags.DEFINE_integer("data_seed", 0, "Seed of the stacked training (data_seed) and evaluation "
                     "(data_seed + 1) draws.")
run_flags.free_on_resume(flags.DEFINE_integer("eval_every", 0, "Log the metrics every this many epochs (0: only at the end).",
    lower_bound=0))
run_flags.define_manifold_flags()
run_flags.free_on_resume(flags.DEFINE_integer("views_every", 1, "Write the PNG views every this many epochs (0: only at the end).",
    lower_bound=0))
run_flags.define_optimizer_flags(d_learning_rate=1e-4, eg_learning_rate=1e-4, source="Appendix E.2")
run_flags.define_run_flags("runs/stacked_mnist", export=False, precision_note="the mode classifier stays float32")
flags.adopt_module_key_flags(run_flags)


def validate_flags():
    """Every check on the flags alone, before anything is read, built or written."""
    checks.check_method_flags(FLAGS, METHODS)
    checks.check_strategy(FLAGS, convnets=True)
    if not 0 < FLAGS.classifier_min_accuracy <= 1:
        checks.usage_error(f"--classifier_min_accuracy must lie in (0, 1], got {FLAGS.classifier_min_accuracy}.")
    if FLAGS.num_train_examples < FLAGS.batch_size:
        checks.usage_error(
            f"--num_train_examples={FLAGS.num_train_examples} is smaller than one minibatch "
            f"(--batch_size={FLAGS.batch_size})."
        )
    if FLAGS.num_eval_samples < 16:
        checks.usage_error(
            f"--num_eval_samples must be at least 16 (the views interpolate 8 pairs of evaluation "
            f"images), got {FLAGS.num_eval_samples}."
        )
    classifier_dir = os.path.expanduser(FLAGS.classifier_dir)
    if os.path.exists(classifier_dir) and not os.path.isdir(classifier_dir):
        checks.usage_error(f"--classifier_dir {classifier_dir} is a file, not a directory; choose another path.")
    image = 28 * 28 * 3  # bytes of one stacked uint8 image
    checks.refuse_beyond_memory({  # lower bounds: the uint8 images in numpy, as tensor slices and in the shuffle
        # buffer; the evaluation images and their float32 samples; one step's float32 batch, as read and generated
        f"--num_train_examples={FLAGS.num_train_examples}": 3 * image * FLAGS.num_train_examples,
        f"--num_eval_samples={FLAGS.num_eval_samples}": 5 * image * FLAGS.num_eval_samples,
        f"--batch_size={FLAGS.batch_size}": 2 * 4 * image * FLAGS.batch_size,
    })


def run_label() -> str:
    deterministic = (FLAGS.encoder_kind, FLAGS.generator_kind) == ("deterministic", "deterministic")
    return methods.label(FLAGS.method, FLAGS.divergence, FLAGS.scale_clip, deterministic)


def load_data():
    """The stacked training and evaluation sets; a bad --mnist_dir exits 2."""
    from age_tf.data import mnist

    try:
        return mnist.stacked_mnist(FLAGS.mnist_dir, FLAGS.num_train_examples, FLAGS.num_eval_samples,
                                   seed=FLAGS.data_seed)
    except mnist.MnistError as error:
        checks.usage_error(f"--mnist_dir: {error}")


def build_model(seed: int):
    """Tables 8-10 and Appendix E.2's optimizers (Adam 1e-4 for all three networks)."""
    import keras

    from age_tf import models
    from age_tf.networks import stacked_mnist

    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy(FLAGS.precision)
    encoder = stacked_mnist.build_encoder(FLAGS.latent_dim, kind=FLAGS.encoder_kind, seed=seed * 3 + 1)
    generator = stacked_mnist.build_generator(FLAGS.latent_dim, kind=FLAGS.generator_kind, seed=seed * 3 + 2)
    discriminator = stacked_mnist.build_discriminator(FLAGS.latent_dim)
    model = models.build(FLAGS.method, encoder, generator, discriminator, divergence=FLAGS.divergence,
                         scale_clip=FLAGS.scale_clip, d_steps=FLAGS.d_steps, seed=seed * 3)
    return models.compile_with_adam(model, FLAGS.d_learning_rate, FLAGS.eg_learning_rate, FLAGS.adam_beta1,
                                    FLAGS.adam_beta2, FLAGS.jit_compile)


def load_run(run_dir: str, num_threads: int = 0):
    """(model, finished epochs) of a run directory this entry point wrote; FLAGS then
    describe that run (``run_directory.load_run``)."""
    return training.load_run(run_dir, "age_tf.experiments.stacked_mnist", build_model, num_threads)


def representation_data(data, num_train: int) -> dict:
    """The representation metric's points: the first ``num_train`` stacked training images and every
    evaluation image, in [-1, 1], each labelled by its three digits (one label a channel)."""
    from age_tf.data import mnist
    from age_tf.metrics.stacked_mnist import digits_from_modes

    return dict(train_x=mnist.to_unit_range(data.train_images[:num_train]),
                train_labels=digits_from_modes(data.train_labels[:num_train]),
                test_x=data.eval_unit_range(), test_labels=digits_from_modes(data.eval_labels))


def mode_classifier_or_stop():
    """(the mode classifier, seconds it took): loaded from --classifier_dir or trained there. Before
    the run directory is opened: a classifier that cannot be had costs no training and writes no
    flags.txt (exit 2 with what to change)."""
    from age_tf.metrics import mode_classifier

    start = time.time()
    try:
        classifier = mode_classifier.load_or_train(FLAGS.mnist_dir, FLAGS.classifier_dir, seed=0,
                                                   min_accuracy=FLAGS.classifier_min_accuracy)
    except mode_classifier.ClassifierAccuracyError as error:
        most = math.floor(error.measured * 1000) / 1000
        checks.usage_error(f"{error.finding}; pass --classifier_min_accuracy={most} or lower to use it, "
                        "or a --classifier_dir of a classifier trained longer.")
    except mode_classifier.CacheError as error:
        checks.usage_error(f"Mode classifier: {error}; pass another --classifier_dir.")
    return classifier, time.time() - start


def run(output_dir: str, strategy, data, classifier, classifier_seconds: float) -> dict:
    """Trains, evaluates and writes the run directory; returns the metrics."""
    from age_tf import callbacks, metrics, views
    from age_tf.data import mnist

    with strategy.scope():
        model = build_model(FLAGS.seed)
    state = training.resume_training(model, output_dir, FLAGS.resume)
    # A resumed run reshuffles with another seed rather than replaying epoch 1's order.
    batches = mnist.stacked_batches(data.train_images, FLAGS.batch_size, FLAGS.d_steps,
                                    seed=FLAGS.seed + 1000 * state.initial_epoch + state.initial_step,
                                    num_replicas=strategy.num_replicas_in_sync)
    view_images = mnist.to_unit_range(data.eval_images[:NUM_VIEW_IMAGES])
    evaluation = dict(classifier=classifier.model, num_samples=FLAGS.num_eval_samples,
                      precision_recall_k=FLAGS.precision_recall_k, density_coverage_k=FLAGS.density_coverage_k)
    metric_names = ["stacked_mnist"]
    if FLAGS.representation_train_points:
        metric_names.append("representation")
        evaluation.update(representation_data(data, FLAGS.representation_train_points), seed=FLAGS.seed)
    guard = callbacks.StopOnNonFinite()
    extra = [
        callbacks.PeriodicEvaluation(metric_names, data, FLAGS.eval_every, **evaluation),
        callbacks.ImageViews(view_images, output_dir, every=FLAGS.views_every, seed=FLAGS.seed,
                             num_images=NUM_VIEW_IMAGES),
    ]
    fit_start = time.time()
    state.fit(model, batches, epochs=FLAGS.epochs,
                 steps_per_epoch=FLAGS.steps_per_epoch or FLAGS.num_train_examples // FLAGS.batch_size,
                 guard=guard, checkpoint_every=FLAGS.checkpoint_every,
                 checkpoint_every_steps=FLAGS.checkpoint_every_steps, tensorboard=FLAGS.tensorboard,
                 extra=extra)
    train_seconds = time.time() - fit_start
    if guard.diverged:
        raise cli.TrainingDiverged(cli.diverged_message(guard, state.saver))

    eval_start = time.time()
    results = metrics.compute(metric_names, model, data, **evaluation)
    eval_seconds = time.time() - eval_start
    view_paths = views.write_all_views(model, view_images, output_dir, tag="final", seed=FLAGS.seed)
    results.update(
        label=run_label(),
        classifier_test_accuracy=classifier.test_accuracy,
        encoder_generator_steps=int(model.g_optimizer.iterations.numpy()),
        num_eval_samples=FLAGS.num_eval_samples,
        seed=FLAGS.seed,
        data_seed=FLAGS.data_seed,
    )
    files.write_json(os.path.join(output_dir, "metrics.json"), results)
    results.update(state.write_run_info(train_seconds, eval_seconds=eval_seconds,
                                           classifier_seconds=classifier_seconds))
    results.update(views=view_paths, checkpoint=state.saver.latest)
    return results


def main(argv):
    if not cli.begin(argv, _MODULE, validate_flags):
        return 0
    hardware.set_threads(FLAGS.num_threads)
    data = load_data()  # checks --mnist_dir before anything is written
    strategy = hardware.make_strategy(FLAGS.strategy)
    checks.check_divisible_batch(FLAGS.batch_size, strategy, FLAGS.strategy)
    classifier, classifier_seconds = mode_classifier_or_stop()
    output_dir = resume.open_run_directory(_MODULE)
    results = run(output_dir, strategy, data, classifier, classifier_seconds)
    shown = ("modes_covered", "mode_kl", "recon_accuracy", "classifier_frechet_distance", "precision", "recall",
             "density", "coverage", "knn_accuracy", "probe_accuracy", "reconstruction_distance", "random_pair_distance",
             "representation_train_points", "train_seconds", "eval_seconds")
    cli.report(results, shown, [
        ("Metrics", os.path.join(output_dir, "metrics.json")),
        ("Views", os.path.join(output_dir, "views")),
        ("Checkpoint", results["checkpoint"]),
    ], heading=f"{results['label']}, seed {FLAGS.seed}, {FLAGS.epochs} epochs:",
        metric_names=["stacked_mnist", "representation"])
    return 0


if __name__ == "__main__":
    hardware.relaunch_with_onednn(_MODULE)
    cli.run_main(main)
