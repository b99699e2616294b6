"""Frechet and kernel distances from activations, against independent references."""

import numpy as np
import pytest
from scipy import linalg

from age_tf.metrics import frechet


def test_one_dimensional_closed_form():
    # W2^2 between N(1, 2^2) and N(-1, 3^2) is (1 - -1)^2 + (2 - 3)^2 = 5.
    assert frechet.frechet_distance([1.0], [[4.0]], [-1.0], [[9.0]]) == pytest.approx(5.0)


def test_full_covariance_against_the_symmetric_square_root_form():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    s_a, s_b = a @ a.T + np.eye(4), b @ b.T + 0.5 * np.eye(4)
    mu_a, mu_b = rng.normal(size=4), rng.normal(size=4)
    root_a = linalg.sqrtm(s_a).real
    expected = np.sum((mu_a - mu_b) ** 2) + np.trace(s_a + s_b - 2 * linalg.sqrtm(root_a @ s_b @ root_a).real)
    assert frechet.frechet_distance(mu_a, s_a, mu_b, s_b) == pytest.approx(expected, rel=1e-8)


def test_from_activations_matches_statistics_and_is_zero_on_itself():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(500, 3))
    b = rng.normal(loc=2.0, size=(500, 3))
    mu_a, s_a = a.mean(0), np.cov(a, rowvar=False)
    mu_b, s_b = b.mean(0), np.cov(b, rowvar=False)
    assert frechet.frechet_distance_from_activations(a, b) == pytest.approx(
        frechet.frechet_distance(mu_a, s_a, mu_b, s_b))
    assert frechet.frechet_distance_from_activations(a, a) == pytest.approx(0.0, abs=1e-6)


def test_singular_covariances_are_handled():
    a = np.zeros((10, 2))
    a[:, 0] = np.arange(10)  # rank-1 covariance
    assert np.isfinite(frechet.frechet_distance_from_activations(a, a + 1.0))


def test_shape_mismatch_and_too_few_rows_are_clear_errors():
    with pytest.raises(ValueError, match="differ in shape"):
        frechet.frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match=r"must be \[n >= 2, d\]"):
        frechet.statistics(np.zeros((1, 4)))


def test_kernel_distance_against_a_direct_unbiased_mmd():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(30, 4)), rng.normal(loc=0.5, size=(30, 4))
    k = lambda x, y: (x @ y / 4 + 1) ** 3  # noqa: E731
    xx = np.mean([k(a[i], a[j]) for i in range(30) for j in range(30) if i != j])
    yy = np.mean([k(b[i], b[j]) for i in range(30) for j in range(30) if i != j])
    xy = np.mean([k(a[i], b[j]) for i in range(30) for j in range(30)])
    got = frechet.kernel_distance_from_activations(a, b, num_subsets=1, subset_size=30)
    assert got == pytest.approx(xx + yy - 2 * xy, rel=1e-10)
