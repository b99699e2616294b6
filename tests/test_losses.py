"""Every loss against values computed by hand for logits e = [0, 2], g = [-1, 1]."""

import math

import pytest
import tensorflow as tf

from age_tf import divergences, losses

E = tf.constant([0.0, 2.0], tf.float64)
G = tf.constant([-1.0, 1.0], tf.float64)
sp = lambda t: math.log1p(math.exp(t))  # softplus


class GivenScales:
    """A divergence whose scales s_phi and s_theta are the given values, whatever D is."""

    def __init__(self, scales):
        self.scales = tf.constant(scales, tf.float64)

    def encoder_scale(self, log_r):
        return self.scales

    generator_scale = encoder_scale


@pytest.mark.parametrize(
    "fn, args, expected",
    [
        (losses.logistic_discriminator_loss, (E, G), (sp(0) + sp(-2)) / 2 + (sp(-1) + sp(1)) / 2),
        (losses.age_encoder_loss, (E, GivenScales([1.0, 3.0])), (0 * 1 + 2 * 3) / 2),
        (losses.age_generator_loss, (G, GivenScales([2.0, 0.5])), -(-1 * 2 + 1 * 0.5) / 2),
        (losses.fgan_kl_discriminator_loss, (E, G), -1.0 + (math.exp(-2) + math.exp(0)) / 2),
        (losses.fgan_kl_encoder_loss, (E,), 1.0),
        (losses.fgan_kl_generator_loss, (G,), -(math.exp(-2) + 1.0) / 2),
        (losses.gan_encoder_loss, (E,), -(sp(0) + sp(-2)) / 2),
        (losses.gan_generator_loss, (G,), -(sp(-1) + sp(1)) / 2),
        (losses.logd_encoder_loss, (E,), (sp(0) + sp(2)) / 2),
        (losses.logd_generator_loss, (G,), (sp(1) + sp(-1)) / 2),
        (losses.hinge_discriminator_loss, (E, G), (1 + 0) / 2 + (0 + 2) / 2),
        (losses.hinge_encoder_loss, (E,), 1.0),
        (losses.hinge_generator_loss, (G,), 0.0),
    ],
)
def test_loss_values_by_hand(fn, args, expected):
    assert fn(*args).numpy() == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_age_scales_carry_no_gradient():
    logits = tf.Variable([0.5, -1.0], dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = losses.age_generator_loss(logits, divergences.get("kl"))  # KL: s_theta = r
    # d/dD of -mean(stop(e^D) D) is -e^D / 2, not -(e^D + D e^D) / 2.
    expected = [-math.exp(0.5) / 2, -math.exp(-1.0) / 2]
    assert tape.gradient(loss, logits).numpy().tolist() == pytest.approx(expected)


def test_logistic_loss_minimiser_is_the_log_ratio():
    # Pointwise, p_e softplus(-D) + p_g softplus(D) is minimised at D = log(p_e / p_g).
    d = tf.Variable(0.0, dtype=tf.float64)
    for _ in range(300):
        with tf.GradientTape() as tape:
            loss = 0.8 * tf.math.softplus(-d) + 0.2 * tf.math.softplus(d)
        d.assign_sub(0.5 * tape.gradient(loss, d))
    assert d.numpy() == pytest.approx(math.log(0.8 / 0.2), abs=1e-6)
