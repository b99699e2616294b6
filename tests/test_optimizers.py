"""age_tf.optimizers.Adam: Keras Adam's arithmetic in one fused op a variable."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from age_tf import optimizers


def _train(optimizer_class, steps=20, **kwargs):
    rng = np.random.default_rng(0)
    variable = keras.Variable(rng.normal(size=(50, 30)).astype("float32"))
    optimizer = optimizer_class(1e-2, **kwargs)
    step = tf.function(lambda g: optimizer.apply_gradients([(g, variable)]))
    for _ in range(steps):
        step(tf.constant(rng.normal(size=(50, 30)).astype("float32")))
    return variable.numpy(), optimizer


@pytest.mark.parametrize("kwargs", [dict(beta_1=0.0), dict(beta_1=0.5, beta_2=0.9, epsilon=1e-3), {}])
def test_the_fused_update_is_keras_adams(kwargs):
    theirs, _ = _train(keras.optimizers.Adam, **kwargs)
    ours, optimizer = _train(optimizers.Adam, **kwargs)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)  # float32 rounding over 20 steps
    assert int(optimizer.iterations.numpy()) == 20


def test_one_step_by_hand():
    """From w = 1, g = 2 at step 1: m = (1 - b1) g, v = (1 - b2) g^2 and
    w -= lr sqrt(1 - b2) / (1 - b1) m / (sqrt(v) + eps) = lr g / (|g| + eps / sqrt(1 - b2))."""
    variable = keras.Variable(np.ones(3, "float32"))
    optimizer = optimizers.Adam(0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
    optimizer.apply_gradients([(tf.constant([2.0, -2.0, 0.0]), variable)])
    expected = 1 - 0.1 * np.array([2.0, -2.0, 0.0]) / (2.0 + 1e-7 / np.sqrt(1 - 0.999))
    np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-6)


def test_a_keras_adam_checkpoint_restores_into_it_slot_for_slot(tmp_path):
    variable = keras.Variable(np.ones((4, 2), "float32"))
    theirs = keras.optimizers.Adam(1e-2)
    for _ in range(3):
        theirs.apply_gradients([(tf.fill((4, 2), 0.5), variable)])
    path = tf.train.Checkpoint(variable=variable, optimizer=theirs).save(str(tmp_path / "ckpt"))
    fresh = keras.Variable(np.zeros((4, 2), "float32"))
    ours = optimizers.Adam(1e-2)
    ours.build([fresh])
    tf.train.Checkpoint(variable=fresh, optimizer=ours).restore(path).assert_consumed()
    assert int(ours.iterations.numpy()) == 3
    for mine, keras_slot in zip(ours.variables, theirs.variables):
        np.testing.assert_array_equal(mine.numpy(), keras_slot.numpy())
    assert isinstance(keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(ours)),
                      optimizers.Adam)


def test_loss_scale_applies_finite_gradients_unscaled_and_skips_the_rest():
    """SGD(1) under LossScale(initial_scale=8): a gradient 8 g (what a scaled loss gives) moves
    w by g; a non-finite one moves nothing, halves the scale and is counted."""
    variable = keras.Variable(np.array([1.0, 2.0], "float32"))
    optimizer = optimizers.LossScale(keras.optimizers.SGD(1.0), initial_scale=8.0)
    optimizer.build([variable])
    assert float(optimizer.scale_loss(tf.constant(0.5))) == 4.0
    optimizer.apply_gradients([(tf.constant([8.0, -16.0]), variable)])
    np.testing.assert_array_equal(variable.numpy(), [0.0, 4.0])
    optimizer.apply_gradients([(tf.constant([np.inf, 1.0]), variable)])
    optimizer.apply_gradients([(tf.constant([np.nan, 1.0]), variable)])
    np.testing.assert_array_equal(variable.numpy(), [0.0, 4.0])
    assert int(optimizer.skipped_steps.numpy()) == 2 and float(optimizer.dynamic_scale.numpy()) == 2.0
    assert int(optimizer.iterations.numpy()) == 1  # only the applied step counts


def test_with_loss_scaling_wraps_only_under_mixed_float16():
    adam = optimizers.Adam(1e-3)
    assert optimizers.with_loss_scaling(adam, "float32") is adam
    assert optimizers.with_loss_scaling(adam, "mixed_bfloat16") is adam
    wrapped = optimizers.with_loss_scaling(adam, "mixed_float16")
    assert isinstance(wrapped, optimizers.LossScale) and wrapped.inner_optimizer is adam
    assert optimizers.with_loss_scaling(wrapped, "mixed_float16") is wrapped
    assert optimizers.with_loss_scaling(None, "mixed_float16") is None
