"""The divergence table (paper Table 1) and scaling clipping (Section 3.2)."""

import math

import numpy as np
import pytest
import tensorflow as tf

from age_tf import divergences

DERIVED = [n for n in divergences.names() if n != "all"]
LOG_R = np.linspace(-3.0, 3.0, 13)


def _autodiff_f_second(div, r):
    r = tf.constant(r, tf.float64)
    with tf.GradientTape() as outer:
        outer.watch(r)
        with tf.GradientTape() as inner:
            inner.watch(r)
            f = div.f(r)
        f_prime = inner.gradient(f, r)
    return outer.gradient(f_prime, r).numpy()


def test_registry_names_and_unknown_name_lists_valid_ones():
    assert divergences.names() == ["kl", "revkl", "js", "hellinger", "pearson", "all"]
    with pytest.raises(ValueError, match="Unknown divergence 'kll'. Available: kl, revkl"):
        divergences.get("kll")


@pytest.mark.parametrize("name", divergences.names())
def test_f_vanishes_at_one(name):
    assert divergences.get(name).f(tf.constant(1.0, tf.float64)).numpy() == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize("name", divergences.names())
def test_f_second_matches_autodiff(name):
    div = divergences.get(name)
    r = np.exp(LOG_R)
    np.testing.assert_allclose(
        div.f_second(tf.constant(r, tf.float64)).numpy(), _autodiff_f_second(div, r), rtol=1e-9
    )


@pytest.mark.parametrize("name", DERIVED)
def test_scales_match_autodiff_of_f(name):
    """s_phi = f''(r) r and s_theta = f~''(1/r)/r, f~(t) = t f(1/t), both by autodiff."""
    div = divergences.get(name)
    r = np.exp(LOG_R)
    f_second = _autodiff_f_second(div, r)

    class Tilde:
        def f(self, t):
            return t * div.f(1.0 / t)

    f_tilde_second_at_inv_r = _autodiff_f_second(Tilde(), 1.0 / r)
    log_r = tf.constant(LOG_R, tf.float64)
    np.testing.assert_allclose(div.encoder_scale(log_r).numpy(), f_second * r, rtol=1e-9)
    np.testing.assert_allclose(
        div.generator_scale(log_r).numpy(), f_tilde_second_at_inv_r / r, rtol=1e-9
    )


@pytest.mark.parametrize(
    "name, s_phi, s_theta",
    [
        # Table 1 by hand at r = e: KL (1, r), RevKL (1/r, 1), 2JS (1/(1+r), r/(1+r)),
        # H^2 (r^-1/2 / 2, r^1/2 / 2), Pearson (2r, 2r^2), ALL (1, 1).
        ("kl", 1.0, math.e),
        ("revkl", 1 / math.e, 1.0),
        ("js", 1 / (1 + math.e), math.e / (1 + math.e)),
        ("hellinger", 0.5 / math.sqrt(math.e), 0.5 * math.sqrt(math.e)),
        ("pearson", 2 * math.e, 2 * math.e**2),
        ("all", 1.0, 1.0),
    ],
)
def test_scales_by_hand(name, s_phi, s_theta):
    div = divergences.get(name)
    one = tf.constant([1.0], tf.float64)
    assert div.encoder_scale(one).numpy()[0] == pytest.approx(s_phi, rel=1e-12)
    assert div.generator_scale(one).numpy()[0] == pytest.approx(s_theta, rel=1e-12)


@pytest.mark.parametrize("name", divergences.names())
@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
def test_scales_finite_for_extreme_log_ratios(name, dtype):
    div = divergences.get(name)
    log_r = tf.constant([-80.0, -40.0, 0.0, 40.0, 80.0], dtype)
    for scale in (div.encoder_scale(log_r), div.generator_scale(log_r)):
        values = scale.numpy()
        assert np.all(np.isfinite(values)) and np.all(values >= 0), values


def test_kl_generator_scale_exact_at_large_log_ratio():
    # s_theta = r = e^80 is representable in float32 and must be exact, not saturated.
    value = divergences.get("kl").generator_scale(tf.constant([80.0])).numpy()[0]
    assert value == pytest.approx(math.exp(80.0), rel=1e-5)


@pytest.mark.parametrize("name", DERIVED)
def test_clipping_bounds(name):
    r0 = 0.5
    clipped = divergences.get(name, scale_clip=r0)
    plain = divergences.get(name)
    log_r = tf.constant([-5.0, math.log(r0), 0.3, -math.log(r0), 5.0], tf.float64)
    expected_log_r = tf.constant([math.log(r0), math.log(r0), 0.3, -math.log(r0), -math.log(r0)], tf.float64)
    np.testing.assert_allclose(clipped.encoder_scale(log_r), plain.encoder_scale(expected_log_r), rtol=1e-12)
    np.testing.assert_allclose(clipped.generator_scale(log_r), plain.generator_scale(expected_log_r), rtol=1e-12)
    np.testing.assert_array_equal(clipped.clipped_mask(log_r).numpy(), [True, False, False, False, True])
    assert not plain.clipped_mask(log_r).numpy().any()


@pytest.mark.parametrize("name", DERIVED)
def test_clip_at_one_gives_constant_scales_f_second_at_one(name):
    div = divergences.get(name, scale_clip=1.0)
    f2 = div.f_second(tf.constant(1.0, tf.float64)).numpy()
    log_r = tf.constant([-3.0, 0.0, 2.0], tf.float64)
    np.testing.assert_allclose(div.encoder_scale(log_r).numpy(), f2, rtol=1e-12)
    np.testing.assert_allclose(div.generator_scale(log_r).numpy(), f2, rtol=1e-12)


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, float("nan"), "x"])
def test_scale_clip_outside_unit_interval_is_rejected(bad):
    with pytest.raises(ValueError, match=r"scale_clip"):
        divergences.get("kl", scale_clip=bad)
