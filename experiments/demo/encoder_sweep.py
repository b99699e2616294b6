"""Variants of the README demo, each scored every epoch on the encoder and the generator.

How the demo's settings were searched for a reconstruction mode accuracy of 90% (README.md beside
this file, "Searching for the encoder"). Each variant is the demo's flagfile with a few settings
changed, trained through the library (not the entry point, so that the encoder can have its own
learning rate and every rate can decay), and scored after every epoch on the held-out points of
``age_tf.experiments.mog``: modes covered, mode KL and reconstruction mode accuracy. One JSON
line a variant goes to ``--output`` (epoch by epoch, with the wall time), and with ``--figure_dir``
its final four-panel figure.

    python -m experiments.demo.encoder_sweep --variant='{"name": "decay", "decay": true}' --seed=101
"""

from __future__ import annotations

import json
import os
import time

from absl import app, flags

FLAGS = flags.FLAGS
# The demo's settings (mog25_demo.flags); a variant overrides some of them.
DEMO = dict(epochs=8, batch=500, d_steps=2, e_hidden=128, g_hidden=128, g_layers=3, d_hidden=128, lr_d=1e-3,
            lr_e=5e-4, lr_g=5e-4, encoder_kind="deterministic", decay=False)
flags.DEFINE_string("variant", "{}", "JSON object: a name and the settings of DEMO it changes; decay: true "
                    "holds each learning rate for the first half of training and then lowers it linearly to 0.")
flags.DEFINE_integer("seed", 101, "Seed of the weights and the training noise (the search used 101-103).")
flags.DEFINE_integer("num_threads", 1, "TensorFlow intra- and inter-op threads.")
flags.DEFINE_string("output", "runs/encoder_sweep/sweep.jsonl", "JSON-lines file the variant's record is appended to.")
flags.DEFINE_string("figure_dir", "", "If set, the variant's final figure is written there.")


def halfway_decay(base: float, total_steps: int):
    """A Keras schedule: ``base`` for the first half of ``total_steps`` updates, then linearly down to 0."""
    import keras
    import tensorflow as tf

    class HalfwayDecay(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            start = total_steps // 2
            fraction = tf.clip_by_value((tf.cast(step, tf.float32) - start) / float(total_steps - start), 0.0, 1.0)
            return base * (1.0 - fraction)

    return HalfwayDecay()


def main(argv):
    del argv
    import keras
    import numpy as np
    import tensorflow as tf

    import age_tf
    from age_tf import metrics, models, optimizers, plots
    from age_tf.data.mog import heldout_draw
    from age_tf.metrics.modes import returned_home
    from age_tf.networks import mlp

    variant = json.loads(FLAGS.variant)
    unknown = sorted(set(variant) - set(DEMO) - {"name"})
    if unknown:
        raise app.UsageError(f"Unknown settings {', '.join(unknown)}; the demo's are {', '.join(DEMO)}.")
    settings = {**DEMO, **variant}
    tf.config.threading.set_intra_op_parallelism_threads(FLAGS.num_threads)
    tf.config.threading.set_inter_op_parallelism_threads(FLAGS.num_threads)
    start = time.time()
    seed = FLAGS.seed
    keras.utils.set_random_seed(seed)
    data = age_tf.data.grid_mixture(25, True, seed=0)
    heldout, labels = heldout_draw(25, True, 0, 10_000)  # the entry point's held-out points
    model = models.build(
        "age",
        mlp.build_encoder(kind=settings["encoder_kind"], hidden_units=settings["e_hidden"], seed=seed * 3 + 1),
        mlp.build_generator(hidden_units=settings["g_hidden"], num_hidden_layers=settings["g_layers"],
                            seed=seed * 3 + 2),
        mlp.build_discriminator(hidden_units=settings["d_hidden"]),
        divergence="kl", d_steps=settings["d_steps"], seed=seed * 3,
    )
    steps = len(data.points) // settings["batch"]
    total = steps * settings["epochs"]

    def adam(rate, updates_per_step):
        schedule = halfway_decay(rate, total * updates_per_step) if settings["decay"] else rate
        return optimizers.Adam(schedule, beta_1=0.0)

    model.compile(d_optimizer=adam(settings["lr_d"], settings["d_steps"]), e_optimizer=adam(settings["lr_e"], 1),
                  g_optimizer=adam(settings["lr_g"], 1))
    record = dict(variant=variant, settings=settings, seed=seed, num_threads=FLAGS.num_threads, epochs=[])

    class Score(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            scores = metrics.compute(["mode_coverage", "reconstruction_mode_accuracy"], self.model, data,
                                     heldout=heldout, heldout_labels=labels)
            record["epochs"].append(dict(epoch=epoch + 1, wall_s=round(time.time() - start, 1), **scores))
            print(json.dumps(record["epochs"][-1]), flush=True)

    batches = age_tf.data.iteration_batches(data.points, settings["batch"], settings["d_steps"], seed=seed + 1)
    model.fit(batches, epochs=settings["epochs"], steps_per_epoch=steps, verbose=0, callbacks=[Score()])
    record["wall_s"] = round(time.time() - start, 1)
    os.makedirs(os.path.dirname(os.path.abspath(FLAGS.output)), exist_ok=True)
    with open(FLAGS.output, "a") as f:
        f.write(json.dumps(record) + "\n")
    if FLAGS.figure_dir:
        os.makedirs(FLAGS.figure_dir, exist_ok=True)
        recon = np.asarray(model.reconstruct(heldout[:5000]))
        plots.mixture_panels(os.path.join(FLAGS.figure_dir, f"{variant.get('name', 'demo')}_s{seed}.png"),
                             heldout[:5000], labels[:5000], np.asarray(model.generate(5000)), recon,
                             np.asarray(model.encode(heldout[:5000])), title=f"{variant.get('name')} seed {seed}",
                             centers=data.centers, home=returned_home(recon, labels[:5000], data.centers, data.std))


if __name__ == "__main__":
    app.run(main)
