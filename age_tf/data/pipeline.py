"""tf.data plumbing shared by every dataset."""

from __future__ import annotations

from typing import Optional

import numpy as np
import tensorflow as tf


def iteration_batches(
    examples, batch_size: int, d_steps: int, seed: Optional[int] = None, shuffle_buffer=None
) -> tf.data.Dataset:
    """An endless, shuffled dataset whose elements feed one AGE iteration.

    Each element holds (d_steps + 1) * batch_size examples: ``AGE.train_step``
    gives each of the d_steps discriminator updates its own minibatch and the
    encoder/generator update the last one (Algorithm 1, lines 3 and 7). Use
    ``steps_per_epoch=len(examples) // batch_size`` so that an epoch has as
    many encoder/generator updates as minibatches in the data, as in the paper.
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}.")
    if d_steps <= 0:
        raise ValueError(f"d_steps must be positive, got {d_steps}.")
    if isinstance(examples, tf.data.Dataset):
        dataset = examples
        buffer = shuffle_buffer or 10_000
    else:
        examples = np.asarray(examples)
        dataset = tf.data.Dataset.from_tensor_slices(examples)
        buffer = shuffle_buffer or len(examples)
    dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True).repeat()
    dataset = dataset.batch((d_steps + 1) * batch_size, drop_remainder=True).prefetch(2)
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
