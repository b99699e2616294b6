"""Mixture-of-Gaussians experiment (Section 5.2.1, Table 4, Appendix E.1).

The defaults are the paper's setting: AGE-KL on the imbalanced 25-Gaussian grid
with deterministic encoder and generator, 30 epochs (about 21 minutes on a 2-core
CPU; ``experiments/table4/mog25_age_kl.flags`` spells it out). The README demo,
``experiments/demo/mog25_demo.flags``, shortens it to one or two minutes.

    python -m age_tf.experiments.mog --flagfile=experiments/demo/mog25_demo.flags
    python -m age_tf.experiments.mog --flagfile=experiments/table4/mog25_age_kl.flags --seed=3
    python -m age_tf.experiments.mog --data=points.npy --latent_dim=2

``--data`` trains the same networks on your own [N, d] array (``.npy`` or
``.csv``, ``age_tf.data.vectors``) instead of the grid: ``--validation_share`` of
the rows is held out, every column is standardised with the training rows' mean
and standard deviation, and the metrics are those that need no modes
(reconstruction distance, precision and recall, density and coverage, on the
standardised held-out rows). ``samples.npy`` is in the file's own units; for
d = 2, ``mog.png`` draws the four panels.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
from absl import flags

import age_tf
from age_tf import divergences, files, methods
from age_tf.data.mog import heldout_draw, points_per_mode
from age_tf.metrics.modes import returned_home
from age_tf.experiments import checks, cli, hardware, precision, resume, run_directory, run_flags, training
from age_tf.networks import KINDS, mlp

FLAGS = flags.FLAGS
_MODULE = "age_tf.experiments.mog"
METHODS = tuple(methods.names(bidirectional=True))  # the mixture discriminator is joint
# The registered metrics that apply to points in the plane (not fid, kid, stacked_mnist).
MIXTURE_METRICS = ("mode_coverage", "prdc", "reconstruction_mse", "reconstruction_mode_accuracy", "objective", "cycle_consistency", "nll", "nll_is")
_FIGURE_METRICS = ("modes_covered", "mode_kl", "reconstruction_mode_accuracy", "reconstruction_distance", "precision",
                   "recall", "objective", "nll")
# Every mixture run measures the encoder beside the generator, whatever --metrics asks.
ALWAYS_METRICS = ("mode_coverage", "reconstruction_mode_accuracy")
# With --data: the metrics that need no modes; the encoder's and the samples' always run.
VECTOR_METRICS = ("reconstruction_distance", "prdc", "reconstruction_mse")
VECTOR_ALWAYS_METRICS = ("reconstruction_distance", "prdc")
HELDOUT_POINTS = 10_000  # a fresh draw of the mixture for reconstruction, objective and nll

flags.DEFINE_string("data", None, "Your own [N, d] array (.npy, or .csv of numbers only) to train on instead of "
                    "the grid; standardised per column (see the module docstring).")
flags.DEFINE_float("validation_share", 0.1, "With --data: share of the rows held out for the metrics.")
flags.DEFINE_integer("num_modes", 25, "Mixture components on the grid: 9 or 25.")
flags.DEFINE_boolean("imbalanced", True, "Odd-indexed modes get 500 points, others 10,000.")
flags.DEFINE_string(
    "method", "age", f"Training method; one of {', '.join(METHODS)} (baselines ignore --divergence)."
)
flags.DEFINE_string("divergence", "kl", f"f-divergence; one of {', '.join(divergences.names())}.")
flags.DEFINE_float("scale_clip", None, "Scaling clipping r0 in (0, 1]; unset for none.")
flags.DEFINE_integer("d_steps", 5, "Discriminator updates per encoder/generator update (unused by "
                     "--method=vae, which takes one minibatch per update).", lower_bound=1)
flags.DEFINE_integer("batch_size", 500, "Minibatch size of every update.", lower_bound=1)
run_flags.free_on_resume(flags.DEFINE_integer(
    "epochs", 30, "Epochs of len(data) // batch_size E/G updates each (Appendix E.1: 30).", lower_bound=1))
flags.DEFINE_integer("steps_per_epoch", 0, "E/G updates per epoch (0: len(data) // batch_size).", lower_bound=0)
flags.DEFINE_string("encoder_kind", "deterministic", f"One of {', '.join(KINDS)}.")
flags.DEFINE_string("generator_kind", "deterministic", f"One of {', '.join(KINDS)}.")
flags.DEFINE_integer("latent_dim", 2, "Size of z.", lower_bound=1)
flags.DEFINE_integer("hidden_units", 500, "Units of each hidden layer of E and G (Appendix E.1: 500).", lower_bound=1)
flags.DEFINE_integer("generator_layers", 2, "Hidden layers of G (Appendix E.1: 2; E has 3).", lower_bound=1)
flags.DEFINE_integer("d_hidden_units", 400, "Units of each hidden layer of D's three modules (Appendix E.1: 400).",
    lower_bound=1)
flags.DEFINE_enum(
    "dense_init", "glorot", list(mlp.DENSE_INITS),
    "How every Dense layer starts: glorot (Keras' default, zero biases) or torch (PyTorch's "
    "nn.Linear default, as the authors' code: weights and biases uniform in +-1/sqrt(fan_in)).",
)
flags.DEFINE_float(
    "d_negative_slope", 0.2, "LeakyReLU slope of the discriminator (the authors' code: 0.01).", lower_bound=0.0
)
flags.DEFINE_boolean(
    "reuse_minibatch", False,
    "Give all d_steps discriminator updates and the encoder/generator update of an iteration the same "
    "minibatch, as the authors' code does (default: a fresh one each, as Algorithm 1).",
)
flags.DEFINE_integer("seed", 0, "Seed of the weights and of all training noise.")
flags.DEFINE_integer("data_seed", 0, "Seed of the training data draw.")
run_flags.free_on_resume(flags.DEFINE_integer("num_eval_samples", 10_000, "Generated points for the mode metrics.",
    lower_bound=1))
run_flags.free_on_resume(flags.DEFINE_list(
    "metrics", ["mode_coverage", "reconstruction_mse", "reconstruction_mode_accuracy"],
    "Registered metrics computed at the end; mode_coverage and reconstruction_mode_accuracy always are (prdc: precision, recall, density and coverage of the "
    "samples against held-out points; objective, cycle_consistency, nll and nll_is need Gaussian "
    "encoder and generator).",
))
run_flags.define_manifold_flags()
run_flags.free_on_resume(flags.DEFINE_integer("mc_samples", 10, "Draws of z per held-out point for objective and cycle_consistency.",
    lower_bound=1))
run_flags.free_on_resume(flags.DEFINE_integer("ais_steps", 1000, "AIS intermediate distributions of the nll metric (paper: 1000).",
    lower_bound=1))
run_flags.free_on_resume(flags.DEFINE_integer("ais_chains", 30, "AIS chains per point of the nll metric (paper: 30).",
    lower_bound=1))
run_flags.free_on_resume(flags.DEFINE_float("ais_step_size", 0.2, "HMC step size of the AIS transitions (5 leapfrog steps each)."))
run_flags.require_positive("ais_step_size")
run_flags.free_on_resume(flags.DEFINE_integer(
    "ais_examples", 100, "Held-out points of the nll metric (paper: 10,000, hours on a CPU).", lower_bound=1
))
run_flags.free_on_resume(flags.DEFINE_integer(
    "is_samples", 1000, "Encoder-proposal draws per point of the nll_is metric (on the nll metric's points).",
        lower_bound=1
))
run_flags.free_on_resume(flags.DEFINE_integer("eval_every", 0, "Log the mode metrics every this many epochs (0: only at the end).",
    lower_bound=0))
run_flags.define_optimizer_flags(d_learning_rate=1e-4, eg_learning_rate=5e-5, source="Appendix E.1")
run_flags.define_run_flags("runs/mog", auto_precision=True)
flags.adopt_module_key_flags(run_flags)


def validate_flags():
    """Every check that can fail runs here, before anything is built."""
    checks.check_method_flags(FLAGS, METHODS)
    if int(round(FLAGS.num_modes ** 0.5)) ** 2 != FLAGS.num_modes or FLAGS.num_modes < 1:
        checks.usage_error(f"--num_modes must be a square number (9, 25), got {FLAGS.num_modes}.")
    checks.check_strategy(FLAGS)
    if not math.isfinite(FLAGS.d_negative_slope):
        checks.usage_error(f"--d_negative_slope must be a finite number of at least 0, got {FLAGS.d_negative_slope}.")
    if "prdc" in [*FLAGS.metrics, *(VECTOR_ALWAYS_METRICS if FLAGS.data else ())]:
        needed = max(FLAGS.precision_recall_k, FLAGS.density_coverage_k) + 1
        if FLAGS.num_eval_samples < needed:
            checks.usage_error(f"--num_eval_samples={FLAGS.num_eval_samples} is too few for precision, recall, density "
                            f"and coverage with k = {needed - 1}: they need at least {needed} samples.")
    gaussian_only = {"objective", "cycle_consistency", "nll", "nll_is"} & set(chosen_metrics())
    method = methods.get(FLAGS.method)
    if not method.adversarial and FLAGS.precision != "float32":
        checks.usage_error(f"--method={method.name} does not train in {FLAGS.precision} yet; pass --precision=float32.")
    needs_gaussian = method.gaussian_networks or gaussian_only
    if needs_gaussian and (FLAGS.encoder_kind, FLAGS.generator_kind) != ("gaussian", "gaussian"):
        what = f"--method={method.name}" if method.gaussian_networks else f"--metrics={','.join(sorted(gaussian_only))}"
        checks.usage_error(
            f"{what} needs --encoder_kind=gaussian and --generator_kind=gaussian."
        )
    for name in ("encoder_kind", "generator_kind"):
        if getattr(FLAGS, name) not in KINDS:
            checks.usage_error(
                f"Unknown --{name} {getattr(FLAGS, name)!r}. Available: {', '.join(KINDS)}."
            )
    if FLAGS.data:
        validate_data_flags()
    else:
        validate_mixture_flags()
    checks.refuse_beyond_memory(memory_needed(data_dim()))


def memory_needed(dim: int) -> dict:
    """Lower bounds on the bytes the sizes set by flags take (``checks.refuse_beyond_memory``): the
    weights of E, G and D with Adam's two moments, one step's activations, and the evaluation
    samples with their codes (float32)."""
    h, dh, layers = FLAGS.hidden_units, FLAGS.d_hidden_units, FLAGS.generator_layers
    weight_bytes = 4 * 3  # float32, with Adam's two moments
    return {  # h x h products: 2 in E (3 hidden layers), layers - 1 in G; dh x dh: 5 in D (Dx, Dz, Dxz)
        f"--hidden_units={h}": weight_bytes * (2 + max(layers - 1, 0)) * h * h,
        f"--d_hidden_units={dh}": weight_bytes * 5 * dh * dh,
        f"--batch_size={FLAGS.batch_size}": 4 * FLAGS.batch_size * ((3 + layers) * h + 8 * dh),
        f"--num_eval_samples={FLAGS.num_eval_samples}": 4 * 2 * FLAGS.num_eval_samples * (dim + FLAGS.latent_dim),
    }


def validate_mixture_flags():
    """The checks of a run on the generated mixture (no --data)."""
    points = int(points_per_mode(FLAGS.num_modes, FLAGS.imbalanced).sum())
    if not FLAGS.steps_per_epoch and FLAGS.batch_size > points:
        checks.usage_error(
            f"--batch_size={FLAGS.batch_size} is larger than the {points:,} points of --num_modes="
            f"{FLAGS.num_modes}, so an epoch would have no step; use a smaller batch or set --steps_per_epoch."
        )
    if FLAGS.ais_examples > HELDOUT_POINTS:
        checks.usage_error(
            f"--ais_examples must be at most the {HELDOUT_POINTS:,} held-out points, got {FLAGS.ais_examples}."
        )
    unknown = [m for m in FLAGS.metrics if m not in MIXTURE_METRICS]
    if unknown:  # checked before training: an image metric would fail only after it
        checks.usage_error(
            f"Unknown metrics {', '.join(unknown)} for a mixture run. Available: {', '.join(MIXTURE_METRICS)}."
        )


_loaded_vectors = {}


def vector_data():
    """The --data file, read, split and standardised once (``age_tf.data.vectors``); None without --data."""
    from age_tf.data import vectors

    if not FLAGS.data:
        return None
    key = (FLAGS.data, FLAGS.validation_share)
    if key not in _loaded_vectors:
        _loaded_vectors.clear()
        _loaded_vectors[key] = vectors.load_vectors(FLAGS.data, FLAGS.validation_share)
    return _loaded_vectors[key]


def chosen_metrics() -> list:
    """--metrics; with --data and --metrics left at its default, the metrics that need no modes."""
    if FLAGS.data and not FLAGS["metrics"].present:
        return list(VECTOR_METRICS)
    return list(FLAGS.metrics)


def validate_data_flags():
    """--data: the file is read and checked here, before anything is written (exit 2 naming it)."""
    from age_tf.data import vectors

    if not 0.0 < FLAGS.validation_share < 1.0:
        checks.usage_error(f"--validation_share must lie strictly between 0 and 1, got {FLAGS.validation_share}.")
    unknown = [m for m in chosen_metrics() if m not in VECTOR_METRICS]
    if unknown:
        checks.usage_error(f"--metrics {', '.join(unknown)} need the mixture's modes or density; with --data choose "
                        f"from {', '.join(VECTOR_METRICS)}.")
    try:
        data = vector_data()
    except vectors.VectorDataError as error:
        checks.usage_error(str(error))
    if "prdc" in chosen_metrics() + list(VECTOR_ALWAYS_METRICS):
        needed = max(FLAGS.precision_recall_k, FLAGS.density_coverage_k) + 1
        if len(data.heldout) < needed:
            checks.usage_error(
                f"--validation_share={FLAGS.validation_share} holds out {len(data.heldout)} of the "
                f"{len(data.points) + len(data.heldout)} rows of {FLAGS.data}; precision, recall, density and "
                f"coverage need at least {needed} (k + 1); raise --validation_share or add rows."
            )
    if not FLAGS.steps_per_epoch and FLAGS.batch_size > len(data.points):
        checks.usage_error(
            f"--batch_size={FLAGS.batch_size} is larger than the {len(data.points):,} training rows of {FLAGS.data} "
            f"({len(data.heldout):,} more are held out), so an epoch would have no step; use a smaller batch or "
            "set --steps_per_epoch."
        )


def data_dim() -> int:
    """2 for the grid; the number of columns of --data."""
    if not FLAGS.data:
        return 2
    from age_tf.data import vectors

    return vectors.array_shape(FLAGS.data)[1]


def build_model(seed: int):
    """Appendix E.1 networks and optimizers (Adam 1e-4 for D, 5e-5 for E and G)."""
    import keras

    from age_tf import models

    keras.utils.set_random_seed(seed)
    precision.resolve(FLAGS, resuming=False)  # a script that builds without the entry point's opening (cli.begin)
    keras.mixed_precision.set_global_policy(FLAGS.precision)
    dim = data_dim()
    encoder = mlp.build_encoder(
        data_dim=dim, latent_dim=FLAGS.latent_dim, kind=FLAGS.encoder_kind, hidden_units=FLAGS.hidden_units,
        seed=seed * 3 + 1, dense_init=FLAGS.dense_init,
    )
    generator = mlp.build_generator(
        data_dim=dim, latent_dim=FLAGS.latent_dim, kind=FLAGS.generator_kind, hidden_units=FLAGS.hidden_units,
        num_hidden_layers=FLAGS.generator_layers, seed=seed * 3 + 2, dense_init=FLAGS.dense_init,
    )
    discriminator = mlp.build_discriminator(
        data_dim=dim, latent_dim=FLAGS.latent_dim, hidden_units=FLAGS.d_hidden_units, dense_init=FLAGS.dense_init,
        negative_slope=FLAGS.d_negative_slope,
    )
    model = models.build(FLAGS.method, encoder, generator, discriminator, divergence=FLAGS.divergence,
                         scale_clip=FLAGS.scale_clip, d_steps=FLAGS.d_steps, seed=seed * 3)
    return models.compile_with_adam(model, FLAGS.d_learning_rate, FLAGS.eg_learning_rate, FLAGS.adam_beta1,
                                    FLAGS.adam_beta2, FLAGS.jit_compile)


TrainingDiverged = cli.TrainingDiverged


def run_label() -> str:
    """AGE-KL, AGE-KL-SC0.5, f-GAN-KL, VAE, ... as in the paper's tables."""
    return methods.label(FLAGS.method, FLAGS.divergence, FLAGS.scale_clip)


def load_run(run_dir: str, num_threads: int = 0):
    """(model, finished epochs) of a run directory this entry point wrote; FLAGS then
    describe that run (``run_directory.load_run``)."""
    return training.load_run(run_dir, "age_tf.experiments.mog", build_model, num_threads)


def heldout_points(data_seed: int, num: int = HELDOUT_POINTS) -> tuple:
    """A fresh draw of the same mixture, subsampled uniformly to ``num`` points."""
    return heldout_draw(FLAGS.num_modes, FLAGS.imbalanced, data_seed, num)


def run(output_dir: str, strategy) -> dict:
    """Trains, evaluates and writes the run directory; returns the metrics."""
    import keras

    from age_tf import callbacks, metrics, plots

    hardware.set_threads(FLAGS.num_threads, small_ops=FLAGS.precision == "mixed_bfloat16")
    start = time.time()
    vectors = vector_data()
    if vectors is None:
        data = age_tf.data.grid_mixture(FLAGS.num_modes, FLAGS.imbalanced, seed=FLAGS.data_seed)
        heldout, heldout_labels = heldout_points(FLAGS.data_seed)
        always, centers = ALWAYS_METRICS, data.centers
    else:
        data, heldout, heldout_labels = vectors, vectors.heldout, None
        always, centers = VECTOR_ALWAYS_METRICS, None
    replicas = strategy.num_replicas_in_sync
    with strategy.scope():  # networks and optimizers are built under the strategy
        model = build_model(FLAGS.seed)
    steps_per_epoch = FLAGS.steps_per_epoch or len(data.points) // FLAGS.batch_size
    state = training.resume_training(model, output_dir, FLAGS.resume)
    # A resumed run reshuffles with another seed rather than replaying epoch 1's order.
    # The VAE has no discriminator: each of its updates takes one minibatch of
    # batch_size, like AGE's encoder/generator update (Table 3's equal budget).
    batches = age_tf.data.iteration_batches(
        data.points,
        FLAGS.batch_size,
        FLAGS.d_steps if methods.get(FLAGS.method).adversarial else 0,
        seed=FLAGS.seed + 1000 * state.initial_epoch + state.initial_step,
        num_replicas=replicas,
        reuse_minibatch=FLAGS.reuse_minibatch,
    )
    guard = callbacks.StopOnNonFinite()
    shown_labels = None if heldout_labels is None else heldout_labels[:5000]

    def render(trained, path, title=run_label(), samples=None):
        """Real data, samples, reconstructions and latent codes (Figure 9 panels); None unless the data is 2-D."""
        if heldout.shape[1] != 2:
            return None
        samples = np.asarray(trained.generate(5000)) if samples is None else samples
        reconstructions = np.asarray(trained.reconstruct(heldout[:5000]))
        return plots.mixture_panels(
            path,
            heldout[:5000],
            shown_labels,
            samples,
            reconstructions,
            np.asarray(trained.encode(heldout[:5000])),
            title=title,
            centers=centers,
            home=None if vectors else returned_home(reconstructions, shown_labels, data.centers, data.std),
        )

    evaluation = callbacks.PeriodicEvaluation(always, data, FLAGS.eval_every,
                                              num_samples=FLAGS.num_eval_samples, heldout=heldout,
                                              heldout_labels=heldout_labels)
    mixture_images = []
    if FLAGS.tensorboard and heldout.shape[1] == 2:
        log_dir = os.path.join(output_dir, run_directory.TENSORBOARD_DIR)
        mixture_images = [callbacks.ImageSummary(render, log_dir, FLAGS.eval_every, name="mixture")]
    state.fit(model, batches, epochs=FLAGS.epochs, steps_per_epoch=steps_per_epoch, guard=guard,
                 checkpoint_every=FLAGS.checkpoint_every,
                 checkpoint_every_steps=FLAGS.checkpoint_every_steps, tensorboard=FLAGS.tensorboard,
                 extra=[evaluation, *mixture_images])
    train_seconds = time.time() - start
    checkpoint = state.saver.latest
    if guard.diverged:
        raise TrainingDiverged(cli.diverged_message(guard, state.saver))

    eval_start = time.time()
    results = metrics.compute(
        dict.fromkeys([*chosen_metrics(), *always]),
        model,
        data,
        num_samples=FLAGS.num_eval_samples,
        heldout=heldout,
        heldout_labels=heldout_labels,
        mc_samples=FLAGS.mc_samples,
        ais_steps=FLAGS.ais_steps,
        ais_chains=FLAGS.ais_chains,
        ais_examples=FLAGS.ais_examples,
        ais_step_size=FLAGS.ais_step_size,
        is_samples=FLAGS.is_samples,
        precision_recall_k=FLAGS.precision_recall_k,
        density_coverage_k=FLAGS.density_coverage_k,
    )
    eval_seconds = time.time() - eval_start
    results.update(
        encoder_generator_steps=int(
            getattr(model, "e_optimizer", getattr(model, "optimizer", None)).iterations.numpy()
        ),
        seed=FLAGS.seed,
        data_seed=FLAGS.data_seed,
    )
    files.write_json(os.path.join(output_dir, "metrics.json"), results)
    results.update(state.write_run_info(train_seconds, eval_seconds=eval_seconds))

    samples = np.asarray(model.generate(5000))
    saved = samples if vectors is None else vectors.to_data_units(samples)
    files.write(os.path.join(output_dir, "samples.npy"), lambda f: np.save(f, saved), ".npy", binary=True)
    figure = render(model, os.path.join(output_dir, "mog.png"), samples=samples,
                    title=f"{run_label()}  seed {FLAGS.seed}: "
                    + ", ".join(f"{k} {results[k]:.3g}" for k in results if k in _FIGURE_METRICS))
    if FLAGS.export_dir:
        from age_tf import export

        results["export"] = export.export_saved_model(model, FLAGS.export_dir)
    keras.backend.clear_session()
    results["figure"] = figure
    results["checkpoint"] = checkpoint
    return results


def main(argv):
    if not cli.begin(argv, _MODULE, validate_flags):
        return 0
    strategy = hardware.make_strategy(FLAGS.strategy)
    checks.check_divisible_batch(FLAGS.batch_size, strategy, FLAGS.strategy)
    output_dir = resume.open_run_directory(_MODULE)
    results = run(output_dir, strategy)
    hidden = ("figure", "checkpoint", "export", "seed", "data_seed")
    vectors = vector_data()
    if vectors is None:
        data = f"{FLAGS.num_modes} {'imbalanced ' if FLAGS.imbalanced else ''}Gaussians"
        samples_line = []
    else:
        data = (f"{FLAGS.data} ({len(vectors.points):,} training and {len(vectors.heldout):,} held-out rows of "
                f"{vectors.dim} columns, each standardised by the training rows' mean and standard deviation; "
                "the metrics are on that scale)")
        samples_line = [("Samples G(z) in the file's units", os.path.join(output_dir, "samples.npy"))]
    cli.report(results, [k for k in results if k not in hidden], [
        ("Figure (real data, samples G(z), reconstructions G(E(x)), latent codes E(x))", results["figure"]),
        *samples_line,
        ("Metrics", os.path.join(output_dir, "metrics.json")),
        ("Checkpoint", results["checkpoint"]),
        ("SavedModel", results.get("export")),
    ], heading=f"{run_label()} on {data}, seed {FLAGS.seed}, {FLAGS.epochs} epochs:",
       metric_names=[*chosen_metrics(), *(VECTOR_ALWAYS_METRICS if vectors else ALWAYS_METRICS)])
    return 0


if __name__ == "__main__":
    cli.run_main(main)
