"""What the AGE and VAE models share: reading x from fit's batches, their
sub-networks as ``get_config`` entries, and scalar losses under every strategy."""

from __future__ import annotations

import keras


def unpack_x(data):
    """model.fit may hand over x, (x,), (x, y) or (x, y, w): keep x."""
    if isinstance(data, (tuple, list)):
        return data[0]
    return data


def serialize_networks(model, names) -> dict:
    """The sub-networks ``names`` of ``model`` as get_config entries."""
    return {name: keras.saving.serialize_keras_object(getattr(model, name)) for name in names}


def deserialize_networks(config, names) -> dict:
    """A copy of ``config`` whose ``names`` entries are networks again (from_config)."""
    config = dict(config)
    for name in names:
        config[name] = keras.saving.deserialize_keras_object(config[name])
    return config


class ScalarLogsModel(keras.Model):
    """A ``keras.Model`` whose steps' logs survive ``MultiWorkerMirroredStrategy``.

    There Keras averages each replica's logs with ``strategy.reduce(MEAN, axis=0)``,
    which rejects scalars (Keras 3.15): ``step_logs`` hands it one-element vectors,
    and the training and test functions reshape what comes back into scalars, which
    the NaN guard, the JSON history and TensorBoard's scalar summaries need. Under
    every other strategy both are Keras' own.
    """

    def step_logs(self) -> dict:
        """Every metric's result, what ``train_step`` and ``test_step`` return."""
        import tensorflow as tf

        logs = {m.name: m.result() for m in self.metrics}
        logs.update(self.extra_logs())
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            logs = {k: tf.reshape(v, [1]) for k, v in logs.items()}
        return logs

    def extra_logs(self) -> dict:
        """Scalars a model logs beside its metrics (none here)."""
        return {}

    def _scalar_logs(self, keras_function):
        import tensorflow as tf

        if not isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return keras_function

        def function(iterator):
            logs = keras_function(iterator)
            return {k: tf.reshape(v, []) if getattr(v, "shape", None) == (1,) else v for k, v in logs.items()}

        return function

    def make_train_function(self, force=False):
        if self.train_function is None or force:
            super().make_train_function(force)
            self.train_function = self._scalar_logs(self.train_function)
        return self.train_function

    def make_test_function(self, force=False):
        if self.test_function is None or force:
            super().make_test_function(force)
            self.test_function = self._scalar_logs(self.test_function)
        return self.test_function
