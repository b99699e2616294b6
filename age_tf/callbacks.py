"""Keras callbacks: evaluation during training lives here, never in train_step."""

from __future__ import annotations

import math

import keras

from age_tf import metrics


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

    PLAYERS = (("d_loss", "discriminator"), ("e_loss", "encoder"), ("g_loss", "generator"))

    def __init__(self):
        super().__init__()
        self.diverged = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.diverged or not logs:
            return
        bad = [
            player
            for key, player in self.PLAYERS
            if key in logs and not math.isfinite(float(logs[key]))
        ]
        if bad:
            self.diverged = (
                f"The {', '.join(bad)} loss{'es' if len(bad) > 1 else ''} became NaN or infinite in epoch "
                f"{self._epoch + 1}, batch {batch + 1}"
            )
            self.model.stop_training = True
