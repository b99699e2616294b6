"""tf.data plumbing shared by every dataset."""

from __future__ import annotations

from typing import Optional

import numpy as np
import tensorflow as tf


def interleave_for_replicas(batch, d_steps: int, num_replicas: int):
    """Reorders one iteration batch so that contiguous replica shards line up.

    ``batch`` holds d_steps + 1 minibatches one after another. A distribution
    strategy gives replica r the r-th contiguous shard; after this reordering
    that shard holds the r-th part of every minibatch, so the replicas together
    take exactly the single-device step on the same global minibatches.
    """
    if num_replicas == 1:
        return batch
    parts = d_steps + 1
    shape = tf.shape(batch)
    per_replica = shape[0] // (parts * num_replicas)
    grid = tf.reshape(batch, tf.concat([[parts, num_replicas, per_replica], shape[1:]], 0))
    perm = [1, 0, 2] + list(range(3, len(batch.shape) + 2))
    return tf.reshape(tf.transpose(grid, perm), shape)


def check_training_array(examples, name: str = "x") -> None:
    """Raises ValueError, in one sentence, for an array no model can train on: no examples, integer or
    non-numeric values (the networks take floats; uint8 pixels would train on the wrong range), or NaN
    or infinite values (which would train the weights to NaN and then blame the losses)."""
    array = np.asarray(examples)
    if array.ndim == 0 or len(array) == 0:
        raise ValueError(f"{name} holds no examples (shape {array.shape}); give an array of shape [n, ...] with n > 0.")
    if not np.issubdtype(array.dtype, np.floating):
        hint = " Images of uint8 pixels: x.astype('float32') / 127.5 - 1." if array.dtype == np.uint8 else ""
        raise ValueError(f"{name} is {array.dtype}; the networks take floats: pass x.astype('float32').{hint}")
    finite = np.isfinite(array)
    if not finite.all():
        first = np.argwhere(~finite)[0]
        raise ValueError(f"{name} holds {int((~finite).sum())} NaN or infinite values (the first at index "
                         f"{tuple(int(i) for i in first)}); training on them would make every weight NaN. Remove or "
                         "fill them first.")


def iteration_batches(
    examples,
    batch_size: int,
    d_steps: int,
    seed: Optional[int] = None,
    shuffle_buffer=None,
    num_replicas: int = 1,
    reuse_minibatch: bool = False,
) -> tf.data.Dataset:
    """An endless, shuffled dataset whose elements feed one AGE iteration.

    Each element holds (d_steps + 1) * batch_size examples: ``AGE.train_step``
    gives each of the d_steps discriminator updates its own minibatch and the
    encoder/generator update the last one (Algorithm 1, lines 3 and 7). Use
    ``steps_per_epoch=len(examples) // batch_size`` so that an epoch has as
    many encoder/generator updates as minibatches in the data, as in the paper.
    With ``num_replicas > 1`` (a distribution strategy), ``batch_size`` is the
    global minibatch size and must be divisible by it. ``d_steps=0`` gives plain
    minibatches of ``batch_size``, for models without a discriminator (the VAE).
    ``reuse_minibatch=True`` repeats one minibatch d_steps + 1 times instead, as
    the authors' code does (every update of an iteration sees the same data).
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}.")
    if num_replicas < 1 or batch_size % num_replicas:
        raise ValueError(
            f"batch_size {batch_size} must be divisible by the number of replicas {num_replicas}."
        )
    if d_steps < 0:
        raise ValueError(f"d_steps must be 0 (no discriminator) or positive, got {d_steps}.")
    if isinstance(examples, tf.data.Dataset):
        dataset = examples
        buffer = shuffle_buffer or 10_000
    else:
        check_training_array(examples, "examples")
        examples = np.asarray(examples)
        dataset = tf.data.Dataset.from_tensor_slices(examples)
        buffer = shuffle_buffer or len(examples)
    dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True).repeat()
    if reuse_minibatch:
        dataset = dataset.batch(batch_size, drop_remainder=True)
        dataset = dataset.map(lambda b: tf.tile(b, [d_steps + 1] + [1] * (len(b.shape) - 1)))
    else:
        dataset = dataset.batch((d_steps + 1) * batch_size, drop_remainder=True)
    if num_replicas > 1:
        dataset = dataset.map(lambda b: interleave_for_replicas(b, d_steps, num_replicas))
    dataset = dataset.prefetch(2)
    return dataset.with_options(fixed_resources_options())


def fixed_resources_options() -> tf.data.Options:
    """tf.data options without the autotuning thread.

    With autotuning on, destroying the iterator at the end of ``fit`` waited
    about 40 s for tf.data's background model thread on a 2-core CPU (TF 2.21,
    measured); the input pipeline is far from the bottleneck here, so fixed
    buffer sizes cost nothing.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return options
