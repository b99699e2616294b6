"""Keras callbacks: evaluation during training lives here, never in train_step."""

from __future__ import annotations

import json
import time

import keras
import numpy as np

from age_tf import files, metrics, views


class PeriodicEvaluation(keras.callbacks.Callback):
    """Adds registered metrics to the epoch logs every ``every`` epochs.

    Place it before loggers in the callback list so that they record the values.
    """

    def __init__(self, metric_names, dataset, every: int = 1, **options):
        super().__init__()
        self.metric_names = list(metric_names)
        self.dataset = dataset
        self.every = int(every)
        self.options = options

    def on_epoch_end(self, epoch, logs=None):
        if self.every <= 0 or (epoch + 1) % self.every:
            return
        results = metrics.compute(self.metric_names, self.model, self.dataset, **self.options)
        if logs is not None:
            logs.update({f"eval_{k}": float(v) for k, v in results.items()})


class StopOnNonFinite(keras.callbacks.Callback):
    """Stops training as soon as a player's loss is NaN or infinite.

    After ``fit`` returns, ``diverged`` holds a sentence naming the player, the
    epoch and the batch (None if training stayed finite). Checkpoint callbacks
    given this guard skip saving once it has fired, so the last checkpoint on
    disk is the last good one.
    """

    PLAYERS = (
        ("d_loss", "discriminator"),
        ("e_loss", "encoder"),
        ("g_loss", "generator"),
        ("negative_elbo", "VAE"),
    )

    def __init__(self):
        super().__init__()
        self.diverged = None
        self._epoch = 0
        self._resumed = (None, 0)  # (epoch, steps already finished in it) after a mid-epoch resume

    def resumed_within(self, epoch: int, steps_done: int):
        """The next ``fit`` trains the rest of ``epoch`` (0-based) from step ``steps_done``
        (a mid-epoch checkpoint): its batches are then numbered from the epoch's start."""
        self._resumed = (epoch, steps_done)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.diverged or not logs:
            return
        # Under MultiWorkerMirroredStrategy a loss arrives as an array (one value a replica).
        bad = [
            player
            for key, player in self.PLAYERS
            if key in logs and not np.all(np.isfinite(np.asarray(logs[key], dtype=np.float64)))
        ]
        if bad:
            resumed_epoch, steps_done = self._resumed
            batch += steps_done if self._epoch == resumed_epoch else 0
            self.diverged = (
                f"The {', '.join(bad)} loss{'es' if len(bad) > 1 else ''} became NaN or infinite in epoch "
                f"{self._epoch + 1}, batch {batch + 1}"
            )
            self.model.stop_training = True


class ImageSummary(keras.callbacks.Callback):
    """Writes a PNG rendered by ``render(model, path)`` to TensorBoard every few epochs.

    ``render`` draws whatever the experiment shows (sample and reconstruction
    grids, the mixture panels) into ``path``; the PNG also stays on disk.
    """

    def __init__(self, render, log_dir: str, every: int, name: str = "samples"):
        super().__init__()
        self.render = render
        self.log_dir = log_dir
        self.every = int(every)
        self.name = name
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if self.every <= 0 or (epoch + 1) % self.every:
            return
        import os

        import tensorflow as tf

        path = os.path.join(self.log_dir, f"{self.name}_epoch{epoch + 1:04d}.png")
        os.makedirs(self.log_dir, exist_ok=True)
        self.render(self.model, path)
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "images"))
        image = tf.image.decode_png(tf.io.read_file(path), channels=3)[None]
        with self._writer.as_default():
            tf.summary.image(self.name, image, step=epoch + 1)
        self._writer.flush()


class ImageViews(keras.callbacks.Callback):
    """Writes samples, reconstructions, interpolations and latent neighbours every few epochs.

    Files: ``output_dir/views/epoch_XXXX_{samples,reconstructions,
    interpolations,neighbours}.png`` (1-based epochs), drawn by
    ``age_tf.views.write_all_views`` (Figures 2-5, 13-15). The prior draws z
    (from ``seed``) and the validation images are fixed when the callback is
    made, so the same tiles of successive epochs show the model's progress.
    A model without an encoder (AGE-UGM) gets the samples only.

    Args:
        validation_images: array [n, H, W, 3] in [-1, 1], or a tf.data.Dataset
            of images or batches, of which the first ``num_images`` are kept
            (None for a model without encoder).
        output_dir: the run directory.
        every: epochs between two sets of views (0 or less: never).
        num_samples: generated images per sample grid.
        seed: seed of the fixed z.
        num_images: images kept from a dataset.
        **view_options: passed on to ``write_all_views`` (columns,
            num_reconstructions, interpolation_pairs, interpolation_steps,
            num_queries, k).
    """

    def __init__(self, validation_images, output_dir: str, every: int = 1, num_samples: int = 64,
                 seed: int = 0, num_images: int = 256, **view_options):
        super().__init__()
        self.images = first_images(validation_images, num_images)
        self.output_dir = output_dir
        self.every = int(every)
        self.num_samples = int(num_samples)
        self.seed = seed
        self.view_options = view_options
        self.paths = {}
        self._z = None

    def on_epoch_end(self, epoch, logs=None):
        if self.every <= 0 or (epoch + 1) % self.every:
            return
        if self._z is None:
            rng = np.random.default_rng(self.seed)
            self._z = rng.standard_normal((self.num_samples, self.model.latent_dim)).astype(np.float32)
        self.paths = views.write_all_views(
            self.model, self.images, self.output_dir, tag=f"epoch_{epoch + 1:04d}", z=self._z,
            **self.view_options,
        )


def first_images(images, count: int) -> np.ndarray:
    """The first ``count`` images of an array or dataset, checked (None stays None)."""
    import tensorflow as tf

    from age_tf.data.images import check_image_spec, check_images

    if images is None:  # AGE-UGM: samples only
        return None
    if isinstance(images, tf.data.Dataset):
        if check_image_spec(images, "validation_images").shape.rank == 4:
            images = images.unbatch()
        images = np.stack([x.numpy() for x in images.take(count)])
    return check_images(images, "validation_images")


def duration_text(seconds: float) -> str:
    """'45s', '12m05s', '3h02m': a duration for a progress line."""
    seconds = max(int(round(seconds)), 0)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class RunProgress(keras.callbacks.Callback):
    """One line on the whole run beside Keras' per-epoch bar: steps done of the total,
    the training time so far and an estimate of the time left, e.g.

        Run: epoch 3 of 30, step 816 of 8,160 (10%), 2m05s elapsed, about 18m50s left

    printed after every epoch and, within long epochs, every ``every_seconds``. A resumed
    run counts the steps of its earlier stretches (``initial_steps``) and their time
    (``earlier_seconds``); the time left extrapolates this stretch's own pace.
    """

    def __init__(self, total_steps: int, steps_per_epoch: int, initial_steps: int = 0,
                 earlier_seconds: float = 0.0, every_seconds: float = 60.0, write=print, clock=time.monotonic):
        super().__init__()
        self.total_steps, self.steps_per_epoch = int(total_steps), max(int(steps_per_epoch), 1)
        self.done = int(initial_steps)
        self.earlier_seconds, self.every_seconds = float(earlier_seconds), float(every_seconds)
        self.write, self.clock = write, clock
        self._start = self._last = None
        self._first = self.done

    def on_train_begin(self, logs=None):
        if self._start is None:  # a resumed run's shortened first epoch and the rest are two fits
            self._start = self._last = self.clock()
            self._first = self.done

    def line(self) -> str:
        now = self.clock()
        spent = now - self._start
        stretch = self.done - self._first
        left = spent / stretch * (self.total_steps - self.done) if stretch else None
        epoch = min(-(-self.done // self.steps_per_epoch), -(-self.total_steps // self.steps_per_epoch))
        share = self.done / self.total_steps if self.total_steps else 1.0
        return (f"Run: epoch {max(epoch, 1)} of {-(-self.total_steps // self.steps_per_epoch)}, step {self.done:,} of "
                f"{self.total_steps:,} ({share:.0%}), {duration_text(self.earlier_seconds + spent)} elapsed, "
                + (f"about {duration_text(left)} left" if left is not None else "time left not known yet"))

    def on_train_batch_end(self, batch, logs=None):
        self.done += 1
        if self.every_seconds > 0 and self.clock() - self._last >= self.every_seconds:
            self._last = self.clock()
            self.write(self.line())

    def on_epoch_end(self, epoch, logs=None):
        self._last = self.clock()
        self.write(self.line())


class JsonLinesLogger(keras.callbacks.Callback):
    """Appends one JSON line of logs per epoch to a file, with ``wall_s``: the
    training wall time so far, counting ``earlier_seconds`` from the stretches
    before a resume (a run directory's ``history.jsonl``). A failed write names the file."""

    def __init__(self, path: str, earlier_seconds: float = 0.0):
        super().__init__()
        self.path = path
        self._start = time.time() - earlier_seconds

    def on_epoch_end(self, epoch, logs=None):
        record = {"epoch": epoch + 1, "wall_s": round(time.time() - self._start, 2)}
        record.update({k: float(v) for k, v in (logs or {}).items()})
        try:
            with open(self.path, "a") as f:
                f.write(json.dumps(record) + "\n")
        except OSError as error:
            raise files.with_filename(error, self.path) from error
