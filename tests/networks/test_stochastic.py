import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from age_tf.networks import StochasticNetwork, mlp


def _linear_body(in_dim, out_dim, bias):
    body = keras.Sequential([keras.Input((in_dim,)), keras.layers.Dense(out_dim, kernel_initializer="zeros")])
    body.layers[-1].bias.assign(bias)
    return body


def test_gaussian_samples_have_the_heads_mean_and_std():
    # loc = [1, -2], log_var = [0, log 4] -> std [1, 2].
    body = _linear_body(3, 4, [1.0, -2.0, 0.0, np.log(4.0)])
    net = StochasticNetwork(body, kind="gaussian", seed=0)
    samples = net(tf.zeros([20_000, 3])).numpy()
    np.testing.assert_allclose(samples.mean(0), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(samples.std(0), [1.0, 2.0], rtol=0.03)
    np.testing.assert_allclose(net.mean(tf.zeros([2, 3])).numpy(), [[1.0, -2.0]] * 2)


def test_gaussian_distribution_log_prob_matches_scipy():
    body = _linear_body(3, 4, [1.0, -2.0, 0.0, np.log(4.0)])
    net = StochasticNetwork(body, kind="gaussian", seed=0)
    point = np.array([[0.5, 0.0]], np.float32)
    expected = stats.norm(1.0, 1.0).logpdf(0.5) + stats.norm(-2.0, 2.0).logpdf(0.0)
    assert net.distribution(tf.zeros([1, 3])).log_prob(point).numpy()[0] == pytest.approx(expected, rel=1e-5)


def test_gaussian_samples_are_reparameterised():
    body = _linear_body(1, 2, [0.0, 0.0])
    net = StochasticNetwork(body, kind="gaussian", seed=1)
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(net(tf.ones([5, 1])))
    grads = tape.gradient(out, net.trainable_variables)
    assert all(g is not None for g in grads)


def test_implicit_varies_with_noise_and_deterministic_does_not():
    x = tf.ones([4, 2])
    implicit = mlp.build_generator(latent_dim=2, hidden_units=8, kind="implicit", noise_dim=3, seed=0)
    assert implicit.body.inputs[0].shape[-1] == 5
    assert not np.allclose(implicit(x).numpy(), implicit(x).numpy())
    deterministic = mlp.build_generator(latent_dim=2, hidden_units=8, kind="deterministic")
    np.testing.assert_array_equal(deterministic(x).numpy(), deterministic(x).numpy())


def test_bad_kind_and_noise_are_rejected():
    with pytest.raises(ValueError, match="Unknown encoder/generator kind 'gauss'. Available"):
        mlp.build_encoder(kind="gauss")
    with pytest.raises(ValueError, match="only applies to kind='implicit'"):
        StochasticNetwork(_linear_body(1, 1, [0.0]), kind="deterministic", noise_dim=2)
    with pytest.raises(ValueError, match="distribution\\(\\) needs kind='gaussian'"):
        mlp.build_encoder(hidden_units=4).distribution(tf.zeros([1, 2]))


def test_discriminator_outputs_one_logit_per_example():
    d = mlp.build_discriminator(data_dim=2, latent_dim=3, hidden_units=8)
    assert d([tf.zeros([7, 2]), tf.zeros([7, 3])]).shape == (7,)


def test_appendix_e1_layer_counts():
    enc = mlp.build_encoder()
    gen = mlp.build_generator()
    dense = lambda net: [l.units for l in net.body.layers if isinstance(l, keras.layers.Dense)]
    assert dense(enc) == [500, 500, 500, 2]
    assert dense(gen) == [500, 500, 2]
    disc = mlp.build_discriminator()
    hidden = [l.units for l in disc.layers if isinstance(l, keras.layers.Dense) and l.units > 1]
    assert hidden == [400] * 6
