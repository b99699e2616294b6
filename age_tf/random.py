"""Seeded Gaussian noise that is correct under tf.distribute.

``normal(shape, seed_generator)`` draws exactly what
``keras.random.normal(shape, seed=seed_generator)`` draws on one device. Inside
a replica of a ``MirroredStrategy`` with R replicas it draws the noise of the
whole global batch, R times ``shape[0]`` rows, from the shared seed and keeps
this replica's rows: every replica gets different noise, and the replicas
together get exactly the noise one device would draw for the global batch, so a
distributed step equals the single-device step on the same global batch.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _replica():
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return None, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def normal(shape, seed_generator: keras.random.SeedGenerator, dtype="float32"):
    """N(0, 1) noise of ``shape`` (per replica) from ``seed_generator``."""
    replica_id, replicas = _replica()
    if replica_id is None:
        return keras.random.normal(shape, dtype=dtype, seed=seed_generator)
    shape = tf.unstack(tf.convert_to_tensor(shape, tf.int32)) if not isinstance(shape, (list, tuple)) else list(shape)
    rows = shape[0]
    full = keras.random.normal([rows * replicas, *shape[1:]], dtype=dtype, seed=seed_generator)
    start = tf.cast(replica_id, tf.int32) * rows
    return full[start : start + rows]
