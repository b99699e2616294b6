"""BiGAN's permutation-invariant MNIST networks: shapes, ranges, kinds."""

import numpy as np
import pytest

from age_tf.networks import bigan_mnist


def test_shapes_and_output_ranges():
    x = np.random.default_rng(0).uniform(size=(5, 784)).astype("float32")
    encoder = bigan_mnist.build_encoder(latent_dim=6, hidden_units=32, prior="uniform", seed=1)
    codes = np.asarray(encoder(x))
    assert codes.shape == (5, 6) and np.abs(codes).max() <= 1.0  # in the uniform prior's support
    generator = bigan_mnist.build_generator(latent_dim=6, hidden_units=32, seed=2)
    pixels = np.asarray(generator(codes * 5.0))
    assert pixels.shape == (5, 784) and pixels.min() >= 0.0 and pixels.max() <= 1.0
    logits = np.asarray(bigan_mnist.build_discriminator(latent_dim=6, hidden_units=32)([x, codes]))
    assert logits.shape == (5,)


def test_normal_prior_codes_are_unbounded_and_gaussian_kind_has_a_mean():
    x = np.full((4, 784), 0.5, "float32")
    encoder = bigan_mnist.build_encoder(latent_dim=3, hidden_units=16, prior="normal", kind="gaussian", seed=0)
    assert encoder.body.output_shape == (None, 6)  # mean and log-variance
    assert np.asarray(encoder.mean(x)).shape == (4, 3)
    generator = bigan_mnist.build_generator(latent_dim=3, hidden_units=16, kind="gaussian", seed=0)
    mean = np.asarray(generator.mean(np.zeros((4, 3), "float32")))
    assert mean.shape == (4, 784) and 0.0 <= mean.min() and mean.max() <= 1.0
    log_var = np.asarray(generator.distribution(np.full((4, 3), 30.0, "float32")).distribution.scale) ** 2
    low, high = np.exp(bigan_mnist.PIXEL_LOG_VAR_RANGE)
    assert log_var.min() >= low * 0.999 and log_var.max() <= high * 1.001  # bounded however large z is


def test_unknown_prior_and_implicit_kind_are_refused():
    with pytest.raises(ValueError, match="Unknown prior"):
        bigan_mnist.build_encoder(prior="laplace")
    with pytest.raises(ValueError, match="not implicit"):
        bigan_mnist.build_generator(kind="implicit")
