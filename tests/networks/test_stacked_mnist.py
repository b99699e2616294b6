"""Tables 8-10: output shapes, layer sizes, and the implicit generator's noise."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import age_tf
from age_tf.networks import stacked_mnist as nets


def test_generator_table8_shapes_and_range():
    gen = nets.build_generator(kind="deterministic")
    shapes = [l.output.shape[1:] for l in gen.body.layers if isinstance(l, (keras.layers.Reshape, keras.layers.Conv2DTranspose))]
    assert shapes == [(4, 4, 256), (7, 7, 128), (14, 14, 64), (28, 28, 3)]
    x = gen(tf.random.normal([2, 8]))
    assert x.shape == (2, 28, 28, 3) and float(tf.reduce_max(tf.abs(x))) <= 1.0


def test_encoder_table9_shapes():
    enc = nets.build_encoder(kind="gaussian")
    convs = [l.output.shape[1:] for l in enc.body.layers if isinstance(l, keras.layers.Conv2D)]
    assert convs == [(14, 14, 64), (7, 7, 128), (4, 4, 256)]
    assert enc.body.output.shape[-1] == 16
    assert enc(tf.zeros([3, 28, 28, 3])).shape == (3, 8)
    assert nets.build_encoder(kind="deterministic").body.output.shape[-1] == 8


def test_discriminator_table10_has_no_batch_norm_and_one_logit():
    d = nets.build_discriminator()
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in d.layers)
    dense = [l.units for l in d.layers if isinstance(l, keras.layers.Dense)]
    assert dense == [1024, 1]
    assert d([tf.zeros([5, 28, 28, 3]), tf.zeros([5, 8])]).shape == (5,)


def test_implicit_generator_noise_starts_silent_and_acts_once_scaled():
    gen = nets.build_generator(kind="implicit", seed=0)
    noise_layers = [l for l in gen.body.layers if isinstance(l, nets.NoiseInjection)]
    assert [tuple(l.scale.shape) for l in noise_layers] == [(4, 4, 256), (7, 7, 128), (14, 14, 64)]
    z = tf.random.normal([2, 8], seed=1)
    np.testing.assert_allclose(gen(z), gen(z), atol=1e-6)  # zero scales: no noise yet
    for layer in noise_layers:
        layer.scale.assign(tf.ones_like(layer.scale))
    assert not np.allclose(gen(z), gen(z))


def test_one_age_all_train_step_on_stacked_images():
    keras.utils.set_random_seed(0)
    model = age_tf.AGE(
        nets.build_encoder(seed=1), nets.build_generator(seed=2), nets.build_discriminator(),
        divergence="all", d_steps=1, seed=0,
    )
    model.compile()
    logs = model.train_step(tf.random.uniform([16, 28, 28, 3], -1, 1, seed=3))
    assert all(np.isfinite(float(v)) for v in logs.values())


def test_unsupported_kinds_are_refused():
    with pytest.raises(ValueError, match="Gaussian generator is not offered"):
        nets.build_generator(kind="gaussian")
    with pytest.raises(ValueError, match="deterministic or Gaussian encoder"):
        nets.build_encoder(kind="implicit")
