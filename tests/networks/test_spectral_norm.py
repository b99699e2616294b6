"""Spectral normalization: sigma(W) -> 1, gradients through sigma, kernels left alone."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from age_tf.networks.spectral_norm import SpectralNorm


def top_singular_value(kernel):
    matrix = np.reshape(np.asarray(kernel), (-1, kernel.shape[-1]))
    return np.linalg.svd(matrix, compute_uv=False)[0]


@pytest.mark.parametrize("make_layer, shape", [
    (lambda: keras.layers.Dense(6), (4, 5)),
    (lambda: keras.layers.Conv2D(4, 3, padding="same"), (2, 8, 8, 3)),
])
def test_power_iteration_normalizes_the_kernel_to_spectral_norm_one(make_layer, shape):
    keras.utils.set_random_seed(0)
    layer = make_layer()
    wrapped = SpectralNorm(layer)
    x = tf.random.normal(shape, seed=1)
    wrapped(x)
    layer.kernel.assign(3.0 * layer.kernel)
    for _ in range(20):  # one power-iteration step per training call
        wrapped(x, training=True)
    assert top_singular_value(layer.kernel.numpy()) > 2.0  # the raw kernel is not normalized
    assert top_singular_value(wrapped.normalized_kernel().numpy()) == pytest.approx(1.0, abs=1e-3)
    # The layer really runs on W / sigma.
    if isinstance(layer, keras.layers.Dense):
        expected = x.numpy() @ wrapped.normalized_kernel().numpy() + layer.bias.numpy()
        np.testing.assert_allclose(wrapped(x), expected, rtol=1e-5, atol=1e-5)


def test_forward_passes_never_touch_the_trainable_kernel():
    wrapped = SpectralNorm(keras.layers.Dense(3))
    x = tf.random.normal([4, 5])
    wrapped(x)
    kernel, u = wrapped.layer.kernel.numpy().copy(), wrapped.u.numpy().copy()
    wrapped(x)
    np.testing.assert_array_equal(wrapped.u.numpy(), u)  # inference: u is read only
    wrapped(x, training=True)
    np.testing.assert_array_equal(wrapped.layer.kernel.numpy(), kernel)
    assert not np.allclose(wrapped.u.numpy(), u)  # training: the power iteration advances
    assert [w.name for w in wrapped.trainable_weights] == ["kernel", "bias"]


def test_gradient_passes_through_sigma():
    # For fixed u, v, sigma(W) = v^T W u is linear in W, so W / sigma(W) is
    # invariant to scaling W and the gradient is orthogonal to W (Euler). With no
    # gradient through sigma (keras.layers.SpectralNormalization) it is not.
    keras.utils.set_random_seed(2)
    wrapped = SpectralNorm(keras.layers.Dense(3, use_bias=False))
    x = tf.random.normal([8, 5], seed=3)
    wrapped(x)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.sin(wrapped(x)))
    grad = tape.gradient(loss, wrapped.layer.kernel).numpy()
    kernel = wrapped.layer.kernel.numpy()
    cosine = np.sum(grad * kernel) / (np.linalg.norm(grad) * np.linalg.norm(kernel))
    assert abs(cosine) < 1e-5
    assert np.linalg.norm(grad) > 1e-3


def test_config_round_trip_and_mixed_precision():
    wrapped = SpectralNorm(keras.layers.Dense(3), power_iterations=2, name="sn")
    clone = SpectralNorm.from_config(wrapped.get_config())
    assert clone.power_iterations == 2 and isinstance(clone.layer, keras.layers.Dense)

    x = keras.Input((5,))
    layer = SpectralNorm(keras.layers.Dense(3, dtype="mixed_bfloat16"), dtype="mixed_bfloat16")
    model = keras.Model(x, layer(x))
    out = model(tf.ones([2, 5]), training=True)
    assert out.dtype == tf.bfloat16 and layer.u.dtype == "float32"
    assert top_singular_value(layer.normalized_kernel().numpy()) < 1.5


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="power_iterations must be a positive integer"):
        SpectralNorm(keras.layers.Dense(3), power_iterations=0)
    with pytest.raises(ValueError, match="ReLU has none"):
        SpectralNorm(keras.layers.ReLU())(tf.zeros([1, 2]))


MIRRORED = r"""
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras, numpy as np
from age_tf.networks.spectral_norm import SpectralNorm

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    layer = SpectralNorm(keras.layers.Dense(4))
    layer.build((None, 3))
kernel, u0 = layer.layer.kernel.numpy(), layer.u.numpy()
batches = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices(tf.ones([4, 3])).batch(4))
step = tf.function(lambda x: strategy.run(lambda x: layer(x, training=True), (x,)))
for batch in batches:
    step(batch)
# One power-iteration step from u0, by hand: v = u0 W^T / |.|, u = v W / |.|.
v = u0 @ kernel.T
v /= np.linalg.norm(v)
expected = v @ kernel
expected /= np.linalg.norm(expected)
replicas = [np.asarray(value) for value in layer.u.value.values]
assert len(replicas) == 2
for value in replicas:
    np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-6)
print("u on both replicas:", replicas[0].round(4).tolist())
"""


@pytest.mark.slow  # starts a process
def test_power_iteration_vector_is_updated_alike_on_every_replica():
    """Under MirroredStrategy (two logical CPUs, in a subprocess) a training call's u update."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run([sys.executable, "-c", MIRRORED], cwd=root, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "u on both replicas" in result.stdout
