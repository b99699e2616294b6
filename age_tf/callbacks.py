"""Keras callbacks: evaluation during training lives here, never in train_step."""

from __future__ import annotations

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
