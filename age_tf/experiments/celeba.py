"""CelebA, ImageNet or your own folder of images (Section 5.3, Table 6, Figures 2-5, Appendix E.3).

At 64x64: SAGAN generator with per-layer noise (implicit p_g(x|z)), ResNet-50
Gaussian encoder and the three-module joint discriminator (Table 11). At 32x32
(``--image_size=32``): the DCGAN networks of Tables 8-10, doubled to 32x32 and
of width ``--ch`` (``age_tf.networks.dcgan``), which a CPU trains in minutes.
Either is trained by AGE-ALL or a baseline, with one update of each network per
minibatch. The run directory
gets ``flags.txt``, ``history.jsonl``, ``metrics.json``, ``views/`` (samples,
reconstructions, interpolations and latent nearest neighbours as PNG grids),
``tensorboard/`` and a resumable ``checkpoint/``.

    python -m age_tf.experiments.celeba --flagfile=experiments/table6/celeba_age_all.flags
    python -m age_tf.experiments.celeba --flagfile=experiments/table6/imagenet_hinge.flags
    python -m age_tf.experiments.celeba --dataset=folder --data_dir=PATH --image_size=32

CelebA and ImageNet must be prepared by tensorflow-datasets in ``--data_dir``
(nothing is downloaded). ``--dataset=folder`` reads every PNG or JPEG under the
folder ``--data_dir`` instead (``age_tf.data.folder``: class subfolders become
labels), holds out ``--validation_share`` of it for the views and metrics, and
reports the encoder's reconstruction distance on those held-out images, with
1-NN and linear-probe accuracy of E(x) when the folder has classes.

FID and KID need an Inception network from a file: the reference FID graph
(``--fid_inception_graph``, ``classify_image_graph_def.pb``; numbers comparable with
published FIDs, reported as ``fid`` and ``kid``) or Keras' InceptionV3 weights
(``--inception_weights``; reported as ``fid_keras`` and ``kid_keras``, not comparable).
Without either the run reports no FID.
"""

from __future__ import annotations

import os
import time

from absl import flags

from age_tf import divergences, files, methods
from age_tf.experiments import checks, cli, hardware, resume, run_flags, training

FLAGS = flags.FLAGS
_MODULE = "age_tf.experiments.celeba"
METHODS = tuple(methods.names(adversarial=True))
DATASETS = ("celeba", "imagenet", "folder")
IMAGE_SIZES = (32, 64)
# Appendix E.3: batch 256 for CelebA, 240 for ImageNet; 64 (Stacked MNIST's) for a folder.
DEFAULT_BATCH = {"celeba": 256, "imagenet": 240, "folder": 64}
# The 32x32 DCGAN networks' preset: Tables 8-10's width; a latent of 32 for images richer than digits.
DCGAN_PRESET = dict(latent_dim=32, ch=64)

flags.DEFINE_enum("dataset", "celeba", list(DATASETS),
                  "celeba or imagenet (tensorflow-datasets), or folder: every PNG or JPEG under --data_dir.")
run_flags.free_on_resume(flags.DEFINE_string(
    "data_dir", None, "tensorflow-datasets data directory holding the prepared dataset; with --dataset=folder, "
    "the folder of images (class subfolders are labels)."))
flags.DEFINE_enum("image_size", "64", [str(size) for size in IMAGE_SIZES],
                  "Side of the square images: 64 (Table 11's SAGAN networks) or 32 (the DCGAN networks).")
flags.DEFINE_float("validation_share", 0.1, "With --dataset=folder: share of the images held out for the views and "
                   "the encoder's metrics.")
run_flags.free_on_resume(flags.DEFINE_integer(
    "representation_train_points", 10_000, "With --dataset=folder and classes: training images whose codes the "
    "1-NN and the linear probe use (0: all)."))
flags.DEFINE_string("split", "train", "Training split.")
flags.DEFINE_string("validation_split", "validation", "Split of the images shown in the views.")
flags.DEFINE_string(
    "method", "age",
    f"One of {', '.join(METHODS)}; ugm is unidirectional AGE (Appendix B: generator and D(x) only).",
)
flags.DEFINE_string("divergence", "all", f"f-divergence of AGE; one of {', '.join(divergences.names())}.")
flags.DEFINE_float("scale_clip", None, "Scaling clipping r0 in (0, 1]; unset for none.")
flags.DEFINE_integer("latent_dim", 0, "Size of z (0: the preset: 100 CelebA and folder, 140 ImageNet, 32 at 32x32).",
    lower_bound=0)
flags.DEFINE_integer("ch", 0, "Channel width of the SAGAN or DCGAN networks (0: the preset: 32 CelebA and folder, "
                     "64 ImageNet and at 32x32).", lower_bound=0)
flags.DEFINE_integer("mlp_units", 0, "Width of the 64x64 encoder's MLP (0: the preset, 1024 or 2048).", lower_bound=0)
flags.DEFINE_enum("encoder_backbone", "resnet50", ["resnet50", "small"],
                  "Of the 64x64 encoder: resnet50 as the paper; small is a tiny conv stack for smoke tests only.")
flags.DEFINE_enum("encoder_kind", "gaussian", ["gaussian", "deterministic"], "Encoder distribution.")
flags.DEFINE_enum("generator_kind", "implicit", ["implicit", "deterministic"], "Generator distribution.")
flags.DEFINE_integer("batch_size", 0, "Minibatch size (0: 256 for CelebA, 240 for ImageNet, 64 for a folder).",
    lower_bound=0)
run_flags.free_on_resume(flags.DEFINE_integer("epochs", 50, "Epochs of len(split) // batch_size updates of each network.",
    lower_bound=1))
flags.DEFINE_integer("steps_per_epoch", 0, "Updates per epoch (0: the training images // batch_size).", lower_bound=0)
flags.DEFINE_integer("seed", 0, "Seed of the weights, the shuffling and all training noise.")
run_flags.free_on_resume(flags.DEFINE_integer("views_every", 1, "Write the PNG views every this many epochs (0: only at the end).",
    lower_bound=0))
run_flags.free_on_resume(flags.DEFINE_integer("num_view_images", 64, "Validation images used by the views."))
run_flags.free_on_resume(flags.DEFINE_string(
    "fid_inception_graph", None, "The reference FID code's Inception graph (classify_image_graph_def.pb) for FID/KID "
    "comparable with published numbers."))
run_flags.free_on_resume(flags.DEFINE_string(
    "inception_weights", None, "Keras InceptionV3 (include_top=False) weights file instead: its numbers, fid_keras and "
    "kid_keras, rank models but are not comparable with published FIDs."))
run_flags.free_on_resume(flags.DEFINE_string("inception_cache", None, "Where to cache the real data's Inception statistics "
                    "(default: <output_dir>/inception_reference.npz)."))
run_flags.free_on_resume(flags.DEFINE_integer("fid_samples", 50_000, "Generated (and real) images for FID/KID (paper: 50,000).",
    lower_bound=1))
run_flags.define_manifold_flags()
run_flags.define_optimizer_flags(d_learning_rate=1e-4, eg_learning_rate=5e-5, source="Appendix E.3")
run_flags.define_run_flags("runs/celeba")
flags.adopt_module_key_flags(run_flags)


# With --fid_inception_graph or --inception_weights, computed at the end from one embedding of the samples.
IMAGE_METRICS = ("fid", "kid", "inception_prdc")
# With --dataset=folder, computed at the end on the held-out images (representation: with classes).
ENCODER_METRICS = ("representation", "reconstruction_distance")
ENCODER_KEYS = ("knn_accuracy", "probe_accuracy", "reconstruction_distance", "random_pair_distance",
                "representation_train_points", "representation_test_points")


def image_size() -> int:
    return int(FLAGS.image_size)


def resolved(name: str) -> int:
    """A size flag, or the preset of the dataset and image size when it is 0."""
    from age_tf.networks import sagan

    value = getattr(FLAGS, name)
    if value:
        return value
    if name == "batch_size":
        return DEFAULT_BATCH[FLAGS.dataset]
    if image_size() == 32:
        return DCGAN_PRESET.get(name, 0)
    return sagan.PRESETS["imagenet" if FLAGS.dataset == "imagenet" else "celeba"][name]


def validate_flags():
    """Every check that can fail runs here, before anything is built or written."""
    checks.check_method_flags(FLAGS, METHODS)
    if FLAGS.num_view_images < 16:
        checks.usage_error(
            f"--num_view_images must be at least 16 (8 interpolation pairs; 8 queries and their "
            f"neighbours), got {FLAGS.num_view_images}."
        )
    checks.check_strategy(FLAGS, convnets=True)
    if not 0.0 < FLAGS.validation_share < 1.0:
        checks.usage_error(f"--validation_share must lie strictly between 0 and 1, got {FLAGS.validation_share}.")
    if image_size() == 32 and not methods.get(FLAGS.method).bidirectional:
        checks.usage_error(f"--method={FLAGS.method} trains D(x) alone, which only the 64x64 networks offer; pass "
                        "--image_size=64.")
    if FLAGS.dataset == "folder" and not FLAGS.data_dir:
        checks.usage_error("--dataset=folder needs --data_dir, the folder of your PNG or JPEG images.")
    if FLAGS.inception_weights and FLAGS.fid_inception_graph:
        checks.usage_error("Give --fid_inception_graph (comparable FIDs) or --inception_weights (Keras' InceptionV3), "
                        "not both.")
    for name in ("fid_inception_graph", "inception_weights"):
        if getattr(FLAGS, name):
            from age_tf.metrics import inception

            try:
                inception.load_feature_network(getattr(FLAGS, name))
            except inception.InceptionWeightsError as error:
                checks.usage_error(f"--{name}: {error}")


def build_networks(seed: int, bidirectional: bool):
    """(encoder or None, generator, discriminator): Table 11's at 64x64, the DCGAN family at 32x32."""
    from age_tf.networks import dcgan, resnet_encoder, sagan

    latent_dim, ch = resolved("latent_dim"), resolved("ch")
    if image_size() == 32:
        encoder = dcgan.build_encoder(latent_dim, kind=FLAGS.encoder_kind, seed=seed * 3 + 1, image_size=32,
                                      ch=ch) if bidirectional else None
        generator = dcgan.build_generator(latent_dim, kind=FLAGS.generator_kind, seed=seed * 3 + 2, image_size=32,
                                          ch=ch)
        return encoder, generator, dcgan.build_discriminator(latent_dim, image_size=32, ch=ch)
    encoder = None
    if bidirectional:
        encoder = resnet_encoder.build_encoder(
            latent_dim=latent_dim, mlp_units=resolved("mlp_units"), kind=FLAGS.encoder_kind,
            seed=seed * 3 + 1, backbone=FLAGS.encoder_backbone,
        )
    generator = sagan.build_generator(latent_dim=latent_dim, ch=ch, kind=FLAGS.generator_kind, seed=seed * 3 + 2)
    return encoder, generator, sagan.build_discriminator(latent_dim=latent_dim, ch=ch, joint=bidirectional)


def build_model(seed: int):
    """Appendix E.3 networks and optimizers (Adam, beta_1 = 0: 1e-4 for D, 5e-5 for E and G)."""
    import keras

    from age_tf import models

    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy(FLAGS.precision)
    encoder, generator, discriminator = build_networks(seed, methods.get(FLAGS.method).bidirectional)
    model = models.build(FLAGS.method, encoder, generator, discriminator, divergence=FLAGS.divergence,
                         scale_clip=FLAGS.scale_clip, d_steps=1, seed=seed * 3)
    return models.compile_with_adam(model, FLAGS.d_learning_rate, FLAGS.eg_learning_rate, FLAGS.adam_beta1,
                                    FLAGS.adam_beta2, FLAGS.jit_compile)


def load_folder():
    """The folder's images, decoded and split (exit 2 with one sentence naming what is wrong)."""
    from age_tf.data import folder

    try:
        images = folder.load_image_folder(FLAGS.data_dir, image_size(), FLAGS.validation_share)
    except folder.FolderError as error:
        checks.usage_error(str(error))
    batch_size = resolved("batch_size")
    if len(images.train) < batch_size:
        checks.usage_error(
            f"The image folder {FLAGS.data_dir} holds {len(images.train) + len(images.validation)} images, of which "
            f"{len(images.train)} train after holding out {len(images.validation)}: fewer than one batch of "
            f"{batch_size}; add images or pass a smaller --batch_size."
        )
    if len(images.validation) < 16:
        checks.usage_error(
            f"--validation_share={FLAGS.validation_share} holds out {len(images.validation)} of the "
            f"{len(images.train) + len(images.validation)} images in {FLAGS.data_dir}; the views need at least 16 "
            "(8 interpolation pairs); raise --validation_share or add images."
        )
    return images


def load_images(split: str, shuffle_seed=None):
    from age_tf.data import images

    loader = images.celeba if FLAGS.dataset == "celeba" else images.imagenet
    try:
        dataset = loader(split, data_dir=FLAGS.data_dir, shuffle_seed=shuffle_seed, image_size=image_size())
        spec = images.check_image_spec(dataset, f"--dataset={FLAGS.dataset} --split={split}")
    except (images.DatasetNotPreparedError, images.ImageDataError) as error:
        checks.usage_error(str(error))
    except ValueError as error:  # e.g. tfds: unknown split name
        checks.usage_error(f"--dataset={FLAGS.dataset} --split={split}: {error}")
    if tuple(spec.shape) != (image_size(), image_size(), 3):
        checks.usage_error(
            f"--dataset={FLAGS.dataset} --split={split} yields images of shape {tuple(spec.shape)}; "
            f"the networks of --image_size={image_size()} take single {image_size()}x{image_size()}x3 images."
        )
    return dataset


def view_images(dataset):
    """The first --num_view_images of the validation split, read before anything is written: a
    split too small for the views, or damaged records among them, stops the run now (exit 2)
    rather than at the end of epoch 1."""
    import tensorflow as tf

    from age_tf import callbacks

    where = f"--dataset={FLAGS.dataset} --validation_split={FLAGS.validation_split}"
    try:
        found = callbacks.first_images(dataset, FLAGS.num_view_images)
    except (tf.errors.DataLossError, tf.errors.NotFoundError, tf.errors.InvalidArgumentError) as error:
        checks.usage_error(f"{where} cannot be read ({cli.first_line(error)}); prepare that dataset again.")
    except ValueError as error:  # np.stack of no images: an empty split
        checks.usage_error(f"{where} yields no images ({error}); choose another --validation_split.")
    if len(found) < 16:
        checks.usage_error(f"{where} holds {len(found)} images; the views need at least 16 (8 interpolation pairs); "
                        "choose a larger --validation_split.")
    return found


def steps_per_epoch(train_images, batch_size: int) -> int:
    """--steps_per_epoch, or the split's size // batch_size (exit 2 if tfds does not know it)."""
    if FLAGS.steps_per_epoch:
        return FLAGS.steps_per_epoch
    size = int(train_images.cardinality())
    if size <= 0:
        checks.usage_error(f"The size of split {FLAGS.split!r} is unknown; give --steps_per_epoch.")
    return max(size // batch_size, 1)


def encoder_metrics(model, images) -> dict:
    """For a folder: the reconstruction distance on the held-out images, and with classes the 1-NN and
    linear-probe accuracy of E(x) (train codes searched and fitted, held-out codes scored)."""
    from age_tf import metrics

    if model.unidirectional:
        return {}
    if images.labelled:
        limit = FLAGS.representation_train_points or None
        return metrics.compute(("representation",), model, None, train_x=images.images("train", limit),
                               train_labels=images.train_labels[:limit], test_x=images.images("validation"),
                               test_labels=images.validation_labels, seed=FLAGS.seed)
    return metrics.compute(("reconstruction_distance",), model, None, heldout=images.images("validation"),
                           seed=FLAGS.seed)


def run(output_dir: str, strategy, train_images, validation_images, folder_images=None) -> dict:
    """Trains, evaluates and writes the run directory; returns the metrics.

    ``folder_images`` (``age_tf.data.folder.ImageFolder``) adds the encoder's metrics on its
    held-out images; the train and validation images are then its arrays."""
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
    if folder_images is not None:
        results.update(encoder_metrics(model, folder_images))
    feature_network = FLAGS.fid_inception_graph or FLAGS.inception_weights
    if feature_network:
        real = folder_images.training_dataset() if folder_images else load_images(FLAGS.split)
        source = os.path.abspath(FLAGS.data_dir) if folder_images else f"{FLAGS.dataset}/{FLAGS.split}"
        results.update(metrics.compute(
            IMAGE_METRICS, model, real,
            inception_weights=feature_network,
            inception_cache=FLAGS.inception_cache or os.path.join(output_dir, "inception_reference.npz"),
            num_samples=FLAGS.fid_samples, reference_examples=FLAGS.fid_samples,
            dataset_id=f"{source}/{image_size()}", seed=FLAGS.seed,
            precision_recall_k=FLAGS.precision_recall_k, density_coverage_k=FLAGS.density_coverage_k,
        ))
    results.update(generator_steps=int(model.g_optimizer.iterations.numpy()), seed=FLAGS.seed)
    files.write_json(os.path.join(output_dir, "metrics.json"), results)
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
    # Opening the splits (decoding a folder) checks the data, before anything is written.
    folder_images = None
    if FLAGS.dataset == "folder":
        folder_images = load_folder()
        train_images, validation_images = folder_images.training_dataset(), folder_images.images("validation")
    else:
        train_images = load_images(FLAGS.split, shuffle_seed=FLAGS.seed)
        validation_images = view_images(load_images(FLAGS.validation_split))
    steps_per_epoch(train_images, resolved("batch_size"))
    strategy = hardware.make_strategy(FLAGS.strategy)
    checks.check_divisible_batch(resolved("batch_size"), strategy, FLAGS.strategy)
    output_dir = resume.open_run_directory(_MODULE)
    results = run(output_dir, strategy, train_images, validation_images, folder_images)
    shown = ("fid", "kid", "kid_std", "fid_keras", "kid_keras", "kid_keras_std", "precision", "recall", "density",
             "coverage", *ENCODER_KEYS, "train_seconds", "generator_steps")
    heading = ""
    if folder_images is not None:
        classes = (f"{len(folder_images.class_names)} classes" if folder_images.labelled else "no classes")
        heading = (f"{methods.label(FLAGS.method, FLAGS.divergence, FLAGS.scale_clip)} on {FLAGS.data_dir} "
                   f"({len(folder_images.train):,} training and {len(folder_images.validation):,} held-out "
                   f"{image_size()}x{image_size()} images, {classes}), seed {FLAGS.seed}:")
    cli.report(results, shown, heading=heading, metric_names=(*IMAGE_METRICS, *ENCODER_METRICS), files=[
        ("Metrics", os.path.join(output_dir, "metrics.json")),
        ("Views", os.path.join(output_dir, "views")),
        ("Checkpoint", results["checkpoint"]),
        ("SavedModel", results.get("export")),
    ])
    return 0


if __name__ == "__main__":
    cli.run_main(main)
