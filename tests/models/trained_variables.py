"""Whether a training step moved a network: its trainable variables before and after."""

import numpy as np


def snapshot(network) -> list:
    """Copies of the network's trainable variables, to compare after a step."""
    return [v.numpy().copy() for v in network.trainable_variables]


def moved(before: list, network) -> bool:
    """True when any trainable variable of ``network`` differs from its ``snapshot``."""
    return any(not np.allclose(b, v.numpy()) for b, v in zip(before, network.trainable_variables))
