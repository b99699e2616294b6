"""What the AGE and VAE models share: reading x from fit's batches, and their
sub-networks as ``get_config`` entries."""

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
