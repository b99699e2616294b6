"""The fused BatchNormalization and LeakyReLU (age_tf.networks.fused_layers) against Keras' own layers."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from age_tf.networks import fused_layers


def _forward_and_gradients(layer, x, weights, training=True):
    """Output, gradient of a fixed weighted sum wrt the input and the layer's trainable weights."""
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=training)
        loss = tf.reduce_sum(tf.cast(y, tf.float32) * weights)
    grads = tape.gradient(loss, [x] + layer.trainable_weights)
    return y.numpy().astype(np.float64), [g.numpy().astype(np.float64) for g in grads]


# -- LeakyReLU ----------------------------------------------------------------


@pytest.mark.parametrize("slope", [0.2, 0.01, 0.0])
def test_leaky_relu_matches_keras_to_the_bit(slope):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 7)).astype("float32")
    x[0, :3] = 0.0  # the kink: both take the slope's side
    weights = rng.normal(size=x.shape).astype("float32")
    ours = _forward_and_gradients(fused_layers.LeakyReLU(negative_slope=slope), x, weights)
    keras_ = _forward_and_gradients(keras.layers.LeakyReLU(negative_slope=slope), x, weights)
    np.testing.assert_array_equal(ours[0], keras_[0])
    np.testing.assert_array_equal(ours[1][0], keras_[1][0])
    # By hand: dy where x > 0, slope * dy elsewhere.
    np.testing.assert_array_equal(ours[1][0], np.where(x > 0, weights, np.float32(slope) * weights))


# -- BatchNormalization -------------------------------------------------------


def _pair(shape, dtype="float32", **kwargs):
    """Our layer and Keras' with the same (non-trivial) gamma and beta."""
    rng = np.random.default_rng(1)
    layers = (fused_layers.BatchNormalization(dtype=dtype, **kwargs),
              keras.layers.BatchNormalization(dtype=dtype, **kwargs))
    for layer in layers:
        layer.build(shape)
    gamma = rng.uniform(0.5, 1.5, shape[-1]).astype("float32")
    beta = rng.normal(size=shape[-1]).astype("float32")
    for layer in layers:
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
    return layers


@pytest.mark.parametrize("shape", [(50, 6), (8, 5, 4, 3)])
def test_batch_norm_training_step_matches_keras(shape):
    rng = np.random.default_rng(2)
    ours, theirs = _pair(shape, momentum=0.9, epsilon=1e-5)
    for step in range(2):  # the moving statistics after two updates
        x = (3.0 + 2.0 * rng.normal(size=shape)).astype("float32")
        weights = rng.normal(size=shape).astype("float32")
        (y, grads), (y_k, grads_k) = (_forward_and_gradients(layer, x, weights) for layer in (ours, theirs))
        np.testing.assert_allclose(y, y_k, atol=2e-5)
        for g, g_k in zip(grads, grads_k):  # input, gamma, beta
            np.testing.assert_allclose(g, g_k, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(ours.moving_mean.numpy(), theirs.moving_mean.numpy(), rtol=1e-5)
    np.testing.assert_allclose(ours.moving_variance.numpy(), theirs.moving_variance.numpy(), rtol=1e-5)


def test_batch_norm_moving_statistics_by_hand():
    """Keras' rule: m <- 0.9 m + 0.1 mean, v <- 0.9 v + 0.1 s^2 with the biased s^2."""
    x = np.array([[1.0], [2.0], [6.0]], "float32")  # mean 3, biased variance 14/3
    layer = fused_layers.BatchNormalization(momentum=0.9)
    y = layer(x, training=True).numpy()
    np.testing.assert_allclose(layer.moving_mean.numpy(), [0.3], rtol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), [0.9 + 0.1 * 14 / 3], rtol=1e-6)
    np.testing.assert_allclose(y[:, 0], (x[:, 0] - 3.0) / np.sqrt(14 / 3 + 1e-3), rtol=1e-5)


@pytest.mark.parametrize("shape", [(64, 16), (16, 4, 4, 8)])
def test_batch_norm_in_mixed_bfloat16_stays_close_to_keras(shape):
    rng = np.random.default_rng(3)
    ours, theirs = _pair(shape, dtype="mixed_bfloat16")
    x = rng.normal(size=shape).astype("float32")
    weights = rng.normal(size=shape).astype("float32")
    (y, grads), (y_k, grads_k) = (_forward_and_gradients(layer, x, weights) for layer in (ours, theirs))
    assert _pair(shape, dtype="mixed_bfloat16")[0](x, training=True).dtype == tf.bfloat16
    np.testing.assert_allclose(y, y_k, atol=0.05)
    for g, g_k in zip(grads, grads_k):
        np.testing.assert_allclose(g, g_k, atol=0.05 * np.abs(g_k).max())
    np.testing.assert_allclose(ours.moving_mean.numpy(), theirs.moving_mean.numpy(), atol=1e-3)
    np.testing.assert_allclose(ours.moving_variance.numpy(), theirs.moving_variance.numpy(), atol=1e-2)


def test_batch_norm_inference_and_unfused_cases_are_keras():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(10, 3)).astype("float32")
    ours, theirs = _pair((10, 3))
    ours(x, training=True), theirs(x, training=True)
    np.testing.assert_allclose(ours(x, training=False).numpy(), theirs(x, training=False).numpy(), atol=1e-6)
    assert not ours._fused(tf.constant(x), training=False, mask=None)
    assert not ours._fused(tf.constant(x[:, :, None]), training=True, mask=None)  # rank 3
    assert not fused_layers.BatchNormalization(axis=0)._fused(tf.constant(x), True, None)
    assert ours._fused(tf.constant(x), training=True, mask=None)


def test_checkpoints_move_between_keras_layers_and_ours(tmp_path):
    def net(bn, act):
        inputs = keras.Input((3,))
        return keras.Model(inputs, act(negative_slope=0.2)(bn()(keras.layers.Dense(4)(inputs))))

    keras_net = net(keras.layers.BatchNormalization, keras.layers.LeakyReLU)
    x = np.random.default_rng(5).normal(size=(20, 3)).astype("float32")
    keras_net(x, training=True)  # moves the moving statistics off their start
    path = tf.train.Checkpoint(net=keras_net).write(str(tmp_path / "ckpt"))
    ours = net(fused_layers.BatchNormalization, fused_layers.LeakyReLU)
    tf.train.Checkpoint(net=ours).read(path).assert_consumed()
    for a, b in zip(ours.weights, keras_net.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_allclose(ours(x).numpy(), keras_net(x).numpy(), atol=1e-6)


def test_a_model_of_them_round_trips_through_keras_config():
    inputs = keras.Input((3,))
    h = fused_layers.LeakyReLU(negative_slope=0.1)(fused_layers.BatchNormalization(momentum=0.8)(inputs))
    model = keras.Model(inputs, h)
    clone = keras.Model.from_config(model.get_config())
    kinds = {type(layer) for layer in clone.layers}
    assert {fused_layers.BatchNormalization, fused_layers.LeakyReLU} <= kinds
    bn = next(layer for layer in clone.layers if isinstance(layer, fused_layers.BatchNormalization))
    assert bn.momentum == 0.8


def test_the_networks_batch_norm_has_pytorchs_defaults_and_syncs_replicas():
    layer = fused_layers.batch_norm(name="bn")
    assert isinstance(layer, fused_layers.BatchNormalization)
    assert (layer.momentum, layer.epsilon, layer.synchronized, layer.name) == (0.9, 1e-5, True, "bn")
