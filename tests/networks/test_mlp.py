"""The MLP networks' Dense initialisation (age_tf.networks.mlp.dense)."""

import math

import numpy as np
import pytest

from age_tf.networks import mlp


def _layer(network, name):
    return next(layer for layer in network.layers if layer.name == name)


def test_torch_init_is_uniform_within_one_over_sqrt_fan_in():
    disc = mlp.build_discriminator(data_dim=2, latent_dim=2, hidden_units=400, dense_init="torch")
    for name, fan_in in (("dx_dense0", 2), ("dx_dense1", 400), ("dxz_dense0", 800), ("dxz_score", 400)):
        kernel, bias = (w.numpy() for w in _layer(disc, name).weights)
        bound = 1.0 / math.sqrt(fan_in)
        for values in (kernel, bias):
            assert np.abs(values).max() <= bound
            if values.size >= 100:
                assert np.abs(values).max() > 0.9 * bound  # fills the interval
        # Uniform on [-b, b] has standard deviation b / sqrt(3).
        np.testing.assert_allclose(kernel.std(), bound / math.sqrt(3), rtol=0.1)


def test_glorot_init_keeps_keras_default_zero_biases():
    disc = mlp.build_discriminator(hidden_units=400)
    kernel, bias = (w.numpy() for w in _layer(disc, "dx_dense0").weights)
    assert not bias.any()
    limit = math.sqrt(6.0 / (2 + 400))  # Glorot uniform
    assert np.abs(kernel).max() <= limit


def test_generator_and_encoder_take_the_init():
    gen = mlp.build_generator(hidden_units=16, dense_init="torch", seed=0)
    first = gen.weights[0].numpy()  # [latent_dim, hidden] kernel, no bias before batch norm
    assert first.shape == (2, 16)
    assert np.abs(first).max() > 0.3  # +-0.707 for fan_in 2; Glorot's limit would be 0.56
    enc = mlp.build_encoder(hidden_units=16, dense_init="torch", seed=0)
    assert np.abs(enc.weights[-1].numpy()).max() <= 1.0 / math.sqrt(16)  # output bias


def test_unknown_init_names_the_choices():
    with pytest.raises(ValueError, match="Unknown dense_init 'he'. Available: glorot, torch"):
        mlp.build_discriminator(dense_init="he")


def test_discriminator_leaky_slope_is_configurable():
    import keras

    keras.utils.set_random_seed(0)
    disc = mlp.build_discriminator(hidden_units=8, negative_slope=0.01)
    slopes = {layer.negative_slope for layer in disc.layers if isinstance(layer, keras.layers.LeakyReLU)}
    assert slopes == {0.01}
    # A unit with negative pre-activation passes 0.01 of it: D is not the 0.2-slope network.
    default = mlp.build_discriminator(hidden_units=8)
    default.set_weights(disc.get_weights())
    x, z = np.array([[1.0, -2.0]], np.float32), np.array([[0.5, 0.3]], np.float32)
    assert float(disc([x, z])[0]) != pytest.approx(float(default([x, z])[0]))
