"""CelebA and ImageNet at 64x64 (Section 5.3, Table 6, Figures 2-5, Appendix E.3).

SAGAN generator with per-layer noise (implicit p_g(x|z)), ResNet-50 Gaussian
encoder and the three-module joint discriminator, trained by AGE-ALL or a
baseline, with one update of each network per minibatch. The run directory
gets ``flags.txt``, ``history.jsonl``, ``metrics.json``, ``views/`` (samples,
reconstructions, interpolations and latent nearest neighbours as PNG grids),
``tensorboard/`` and a resumable ``checkpoint/``.

    python -m age_tf.experiments.celeba --flagfile=experiments/table6/celeba_age_all.flags
    python -m age_tf.experiments.celeba --flagfile=experiments/table6/imagenet_hinge.flags

The data must be prepared by tensorflow-datasets in ``--data_dir`` (nothing is
downloaded). FID and KID need an Inception network from a file: the reference FID graph
(``--fid_inception_graph``, ``classify_image_graph_def.pb``; numbers comparable with
published FIDs, reported as ``fid`` and ``kid``) or Keras' InceptionV3 weights
(``--inception_weights``; reported as ``fid_keras`` and ``kid_keras``, not comparable).
Without either the run reports no FID.
"""

from __future__ import annotations

import os
import time

from absl import flags

from age_tf import divergences, methods
from age_tf.experiments import cli, hardware, resume, run_directory, run_flags, training

FLAGS = flags.FLAGS
_MODULE = "age_tf.experiments.celeba"
METHODS = tuple(methods.names(adversarial=True))
DATASETS = ("celeba", "imagenet")
# Appendix E.3: batch 256 for CelebA, 240 for ImageNet.
DEFAULT_BATCH = {"celeba": 256, "imagenet": 240}

flags.DEFINE_enum("dataset", "celeba", list(DATASETS), "tensorflow-datasets dataset at 64x64.")
run_flags.free_on_resume(flags.DEFINE_string("data_dir", None, "tensorflow-datasets data directory holding the prepared dataset."))
flags.DEFINE_string("split", "train", "Training split.")
flags.DEFINE_string("validation_split", "validation", "Split of the images shown in the views.")
flags.DEFINE_string(
    "method", "age",
    f"One of {', '.join(METHODS)}; ugm is unidirectional AGE (Appendix B: generator and D(x) only).",
)
flags.DEFINE_string("divergence", "all", f"f-divergence of AGE; one of {', '.join(divergences.names())}.")
flags.DEFINE_float("scale_clip", None, "Scaling clipping r0 in (0, 1]; unset for none.")
flags.DEFINE_integer("latent_dim", 0, "Size of z (0: the dataset's preset, 100 or 140).")
flags.DEFINE_integer("ch", 0, "SAGAN channel width (0: the dataset's preset, 32 or 64).")
flags.DEFINE_integer("mlp_units", 0, "Width of the encoder's MLP (0: the preset, 1024 or 2048).")
flags.DEFINE_enum("encoder_backbone", "resnet50", ["resnet50", "small"],
                  "resnet50 as the paper; small is a tiny conv stack for smoke tests only.")
flags.DEFINE_enum("encoder_kind", "gaussian", ["gaussian", "deterministic"], "Encoder distribution.")
flags.DEFINE_enum("generator_kind", "implicit", ["implicit", "deterministic"], "Generator distribution.")
flags.DEFINE_integer("batch_size", 0, "Minibatch size (0: 256 for CelebA, 240 for ImageNet).")
run_flags.free_on_resume(flags.DEFINE_integer("epochs", 50, "Epochs of len(split) // batch_size updates of each network."))
flags.DEFINE_integer("steps_per_epoch", 0, "Updates per epoch (0: the split's size // batch_size).")
flags.DEFINE_integer("seed", 0, "Seed of the weights, the shuffling and all training noise.")
run_flags.free_on_resume(flags.DEFINE_integer("views_every", 1, "Write the PNG views every this many epochs (0: only at the end)."))
run_flags.free_on_resume(flags.DEFINE_integer("num_view_images", 64, "Validation images used by the views."))
run_flags.free_on_resume(flags.DEFINE_string(
    "fid_inception_graph", None, "The reference FID code's Inception graph (classify_image_graph_def.pb) for FID/KID "
    "comparable with published numbers."))
run_flags.free_on_resume(flags.DEFINE_string(
    "inception_weights", None, "Keras InceptionV3 (include_top=False) weights file instead: its numbers, fid_keras and "
    "kid_keras, rank models but are not comparable with published FIDs."))
run_flags.free_on_resume(flags.DEFINE_string("inception_cache", None, "Where to cache the real data's Inception statistics "
                    "(default: <output_dir>/inception_reference.npz)."))
run_flags.free_on_resume(flags.DEFINE_integer("fid_samples", 50_000, "Generated (and real) images for FID/KID (paper: 50,000)."))
run_flags.define_manifold_flags()
run_flags.define_optimizer_flags(d_learning_rate=1e-4, eg_learning_rate=5e-5, source="Appendix E.3")
run_flags.define_run_flags("runs/celeba")
flags.adopt_module_key_flags(run_flags)


# With --fid_inception_graph or --inception_weights, computed at the end from one embedding of the samples.
IMAGE_METRICS = ("fid", "kid", "inception_prdc")


def resolved(name: str) -> int:
    """A size flag, or the dataset's preset when it is 0."""
    from age_tf.networks import sagan

    value = getattr(FLAGS, name)
    if value:
        return value
    if name == "batch_size":
        return DEFAULT_BATCH[FLAGS.dataset]
    return sagan.PRESETS[FLAGS.dataset][name]


def validate_flags():
    """Every check that can fail runs here, before anything is built or written."""
    cli.check_method_flags(FLAGS, METHODS)
    cli.check_non_negative(
        FLAGS, ("latent_dim", "ch", "mlp_units", "batch_size", "steps_per_epoch", "views_every", "num_threads",
                "checkpoint_every_steps")
    )
    cli.check_positive(
        FLAGS, ("epochs", "checkpoint_every", "fid_samples", "d_learning_rate", "eg_learning_rate",
                "precision_recall_k", "density_coverage_k")
    )
    if FLAGS.num_view_images < 16:
        cli.usage_error(
            f"--num_view_images must be at least 16 (8 interpolation pairs; 8 queries and their "
            f"neighbours), got {FLAGS.num_view_images}."
        )
    cli.check_adam_betas(FLAGS)
    cli.check_strategy(FLAGS, convnets=True)
    if FLAGS.inception_weights and FLAGS.fid_inception_graph:
        cli.usage_error("Give --fid_inception_graph (comparable FIDs) or --inception_weights (Keras' InceptionV3), "
                        "not both.")
    for name in ("fid_inception_graph", "inception_weights"):
        if getattr(FLAGS, name):
            from age_tf.metrics import inception

            try:
                inception.load_feature_network(getattr(FLAGS, name))
            except inception.InceptionWeightsError as error:
                cli.usage_error(f"--{name}: {error}")


def build_model(seed: int):
    """Appendix E.3 networks and optimizers (Adam, beta_1 = 0: 1e-4 for D, 5e-5 for E and G)."""
    import keras

    from age_tf import models
    from age_tf.networks import resnet_encoder, sagan

    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy(FLAGS.precision)
    latent_dim, ch = resolved("latent_dim"), resolved("ch")
    bidirectional = methods.get(FLAGS.method).bidirectional
    encoder = None
    if bidirectional:
        encoder = resnet_encoder.build_encoder(
            latent_dim=latent_dim, mlp_units=resolved("mlp_units"), kind=FLAGS.encoder_kind,
            seed=seed * 3 + 1, backbone=FLAGS.encoder_backbone,
        )
    generator = sagan.build_generator(latent_dim=latent_dim, ch=ch, kind=FLAGS.generator_kind, seed=seed * 3 + 2)
    discriminator = sagan.build_discriminator(latent_dim=latent_dim, ch=ch, joint=bidirectional)
    model = models.build(FLAGS.method, encoder, generator, discriminator, divergence=FLAGS.divergence,
                         scale_clip=FLAGS.scale_clip, d_steps=1, seed=seed * 3)
    return models.compile_with_adam(model, FLAGS.d_learning_rate, FLAGS.eg_learning_rate, FLAGS.adam_beta1,
                                    FLAGS.adam_beta2, FLAGS.jit_compile)


def load_images(split: str, shuffle_seed=None):
    from age_tf.data import images

    loader = images.celeba if FLAGS.dataset == "celeba" else images.imagenet
    try:
        dataset = loader(split, data_dir=FLAGS.data_dir, shuffle_seed=shuffle_seed)
        spec = images.check_image_spec(dataset, f"--dataset={FLAGS.dataset} --split={split}")
    except (images.DatasetNotPreparedError, images.ImageDataError) as error:
        cli.usage_error(str(error))
    except ValueError as error:  # e.g. tfds: unknown split name
        cli.usage_error(f"--dataset={FLAGS.dataset} --split={split}: {error}")
    if tuple(spec.shape) != (64, 64, 3):
        cli.usage_error(
            f"--dataset={FLAGS.dataset} --split={split} yields images of shape {tuple(spec.shape)}; "
            "the networks of Table 11 take single 64x64x3 images."
        )
    return dataset


def steps_per_epoch(train_images, batch_size: int) -> int:
    """--steps_per_epoch, or the split's size // batch_size (exit 2 if tfds does not know it)."""
    if FLAGS.steps_per_epoch:
        return FLAGS.steps_per_epoch
    size = int(train_images.cardinality())
    if size <= 0:
        cli.usage_error(f"The size of split {FLAGS.split!r} is unknown; give --steps_per_epoch.")
    return max(size // batch_size, 1)


def run(output_dir: str, strategy, train_images, validation_images) -> dict:
    """Trains, evaluates and writes the run directory; returns the metrics."""
    from age_tf import callbacks, metrics, views
    from age_tf.data import images

    start = time.time()
    batch_size = resolved("batch_size")
    replicas = strategy.num_replicas_in_sync
    with strategy.scope():
        model = build_model(FLAGS.seed)
    state = training.resume_training(model, output_dir, FLAGS.resume)
    batches = images.training_batches(
        train_images, batch_size, d_steps=1, seed=FLAGS.seed + 1000 * state.initial_epoch + state.initial_step,
        num_replicas=replicas,
    )
    shown = None if model.unidirectional else validation_images
    guard = callbacks.StopOnNonFinite()
    views_callback = callbacks.ImageViews(shown, output_dir, every=FLAGS.views_every, seed=FLAGS.seed,
                                          num_images=FLAGS.num_view_images)
    state.fit(model, batches, epochs=FLAGS.epochs,
                 steps_per_epoch=steps_per_epoch(train_images, batch_size), guard=guard,
                 checkpoint_every=FLAGS.checkpoint_every,
                 checkpoint_every_steps=FLAGS.checkpoint_every_steps, tensorboard=FLAGS.tensorboard,
                 extra=[views_callback])
    train_seconds = time.time() - start
    if guard.diverged:
        raise cli.TrainingDiverged(cli.diverged_message(guard, state.saver))

    view_images = callbacks.first_images(shown, FLAGS.num_view_images)
    view_paths = views.write_all_views(model, view_images, output_dir, tag="final", seed=FLAGS.seed)
    results = {}
    feature_network = FLAGS.fid_inception_graph or FLAGS.inception_weights
    if feature_network:
        results.update(metrics.compute(
            IMAGE_METRICS, model, load_images(FLAGS.split),
            inception_weights=feature_network,
            inception_cache=FLAGS.inception_cache or os.path.join(output_dir, "inception_reference.npz"),
            num_samples=FLAGS.fid_samples, reference_examples=FLAGS.fid_samples,
            dataset_id=f"{FLAGS.dataset}/{FLAGS.split}/64", seed=FLAGS.seed,
            precision_recall_k=FLAGS.precision_recall_k, density_coverage_k=FLAGS.density_coverage_k,
        ))
    results.update(generator_steps=int(model.g_optimizer.iterations.numpy()), seed=FLAGS.seed)
    run_directory.write_json(os.path.join(output_dir, "metrics.json"), results)
    results.update(state.write_run_info(train_seconds))
    if FLAGS.export_dir:
        from age_tf import export

        results["export"] = export.export_saved_model(model, FLAGS.export_dir)
    results["views"] = view_paths
    results["checkpoint"] = state.saver.latest
    return results


def main(argv):
    if not cli.begin(argv, _MODULE, validate_flags):
        return 0
    hardware.set_threads(FLAGS.num_threads)
    # Opening the splits checks that the data is prepared, before anything is written.
    train_images = load_images(FLAGS.split, shuffle_seed=FLAGS.seed)
    validation_images = load_images(FLAGS.validation_split)
    steps_per_epoch(train_images, resolved("batch_size"))
    strategy = hardware.make_strategy(FLAGS.strategy)
    cli.check_divisible_batch(resolved("batch_size"), strategy, FLAGS.strategy)
    output_dir = resume.open_run_directory(_MODULE)
    results = run(output_dir, strategy, train_images, validation_images)
    shown = ("fid", "kid", "kid_std", "fid_keras", "kid_keras", "kid_keras_std", "precision", "recall", "density",
             "coverage", "train_seconds", "generator_steps")
    cli.report(results, shown, metric_names=IMAGE_METRICS, files=[
        ("Metrics", os.path.join(output_dir, "metrics.json")),
        ("Views", os.path.join(output_dir, "views")),
        ("Checkpoint", results["checkpoint"]),
        ("SavedModel", results.get("export")),
    ])
    return 0


if __name__ == "__main__":
    cli.run_main(main)
