"""The shared per-layer noise maps (Appendix C), and their old import path."""

import keras
import numpy as np
import tensorflow as tf

from age_tf.networks import noise, stacked_mnist


def test_noise_map_is_one_channel_broadcast_with_learned_scales():
    layer = noise.NoiseInjection(seed=0)
    x = tf.zeros([2, 3, 3, 4])
    np.testing.assert_array_equal(layer(x), x)  # zero-initialised scales
    layer.scale.assign(tf.ones_like(layer.scale))
    out = layer(x).numpy()
    # One N(0, 1) map per example, the same in every channel, different per example.
    np.testing.assert_array_equal(out, np.repeat(out[..., :1], 4, axis=-1))
    assert not np.allclose(out[0], out[1])


def test_old_import_path_and_saved_configs_still_work():
    assert stacked_mnist.NoiseInjection is noise.NoiseInjection
    config = keras.saving.serialize_keras_object(noise.NoiseInjection(seed=3))
    assert config["registered_name"] == "age_tf>NoiseInjection"
    # Configs saved before the move name the old module.
    config["module"] = "age_tf.networks.stacked_mnist"
    restored = keras.saving.deserialize_keras_object(config)
    assert isinstance(restored, noise.NoiseInjection) and restored.seed == 3
