import sys
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import age_tf
from age_tf.models import VAE
from age_tf.networks import mlp

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "metrics"))
import test_likelihood as closed_form  # noqa: E402


def test_elbo_terms_match_the_closed_form():
    vae = VAE(closed_form.ENCODER, closed_form.GENERATOR, seed=0)
    x = np.repeat(closed_form.X[:3], 20_000, axis=0)
    kl, reconstruction = vae.negative_elbo_terms(tf.constant(x))
    np.testing.assert_allclose(kl.numpy()[::20_000], closed_form.expected_kl(closed_form.X[:3]), rtol=1e-5)
    samples = reconstruction.numpy().reshape(3, 20_000)
    standard_error = samples.std(axis=1) / np.sqrt(20_000)
    error = np.abs(samples.mean(axis=1) + closed_form.expected_reconstruction(closed_form.X[:3]))
    assert np.all(error < 4 * standard_error), (error, standard_error)


def test_training_lowers_the_negative_elbo():
    keras.utils.set_random_seed(0)
    vae = VAE(mlp.build_encoder(hidden_units=16, kind="gaussian", seed=1),
              mlp.build_generator(hidden_units=16, kind="gaussian", seed=2), seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(3e-3))
    x = age_tf.data.grid_mixture(9, seed=0).points[::50]
    history = vae.fit(x, batch_size=128, epochs=15, verbose=0)
    losses = history.history["negative_elbo"]
    assert losses[-1] < losses[0] - 1.0


def test_vae_refuses_non_gaussian_networks():
    with pytest.raises(ValueError, match="VAE needs a Gaussian encoder"):
        VAE(mlp.build_encoder(hidden_units=4), mlp.build_generator(hidden_units=4, kind="gaussian"))


def test_keras_file_round_trip(tmp_path):
    keras.utils.set_random_seed(0)
    vae = VAE(mlp.build_encoder(hidden_units=8, kind="gaussian", seed=1),
              mlp.build_generator(hidden_units=8, kind="gaussian", seed=2), seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    x = age_tf.data.grid_mixture(9, seed=0).points[:64]
    vae.fit(x, batch_size=32, epochs=1, verbose=0)
    vae.save(tmp_path / "vae.keras")
    loaded = keras.models.load_model(tmp_path / "vae.keras")
    np.testing.assert_array_equal(loaded.encode(x[:4], mean=True), vae.encode(x[:4], mean=True))
    np.testing.assert_array_equal(loaded.generator.mean(x[:4]), vae.generator.mean(x[:4]))
