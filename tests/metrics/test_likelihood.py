"""ELBO, cycle consistency and AIS on linear-Gaussian models with closed forms."""

import keras
import numpy as np
import pytest
from scipy import stats

from age_tf.metrics import likelihood
from age_tf.networks import StochasticNetwork

W = np.array([[1.2, -0.4], [0.3, 0.8]], np.float32)  # x|z ~ N(W z + B, diag(SIGMA^2))
B = np.array([0.5, -1.0], np.float32)
SIGMA = np.array([0.6, 0.4], np.float32)
A = np.array([[0.5, 0.1], [-0.2, 0.7]], np.float32)  # z|x ~ N(A x + C, diag(S^2))
C = np.array([0.1, 0.2], np.float32)
S = np.array([0.5, 0.8], np.float32)


def linear_gaussian(weight, bias, std):
    dense = keras.layers.Dense(4)
    body = keras.Sequential([keras.Input((2,)), dense])
    dense.kernel.assign(np.concatenate([weight.T, np.zeros((2, 2), np.float32)], axis=1))
    dense.bias.assign(np.concatenate([bias, 2 * np.log(std)]))
    return StochasticNetwork(body, kind="gaussian", seed=0)


ENCODER = linear_gaussian(A, C, S)
GENERATOR = linear_gaussian(W, B, SIGMA)
X = np.random.default_rng(0).normal(size=(20, 2)).astype(np.float32)


def expected_reconstruction(x):
    mu = x @ A.T + C
    mean = mu @ W.T + B
    var = np.diag(W @ np.diag(S**2) @ W.T)
    return np.sum(-0.5 * np.log(2 * np.pi * SIGMA**2) - ((x - mean) ** 2 + var) / (2 * SIGMA**2), axis=1)


def expected_kl(x):
    mu = x @ A.T + C
    return 0.5 * np.sum(S**2 + mu**2 - 1 - np.log(S**2), axis=1)


def monte_carlo_standard_error(num_samples):
    samples = likelihood.reconstruction_log_prob_samples(ENCODER, GENERATOR, X, num_samples)[0].numpy()
    return samples.std() / np.sqrt(samples.size)


def test_negative_elbo_by_hand():
    expected = np.mean(expected_kl(X) - expected_reconstruction(X))
    got = likelihood.negative_elbo(ENCODER, GENERATOR, X, num_samples=4000)
    assert got == pytest.approx(expected, abs=4 * monte_carlo_standard_error(4000))


def test_cycle_consistency_by_hand():
    expected = -np.mean(expected_reconstruction(X))
    got = likelihood.cycle_consistency(ENCODER, GENERATOR, X, num_samples=4000)
    assert got == pytest.approx(expected, abs=4 * monte_carlo_standard_error(4000))


def test_ais_matches_the_closed_form_marginal_likelihood():
    marginal = stats.multivariate_normal(B, W @ W.T + np.diag(SIGMA**2))
    exact = marginal.logpdf(X)
    estimate = likelihood.ais_log_likelihood(GENERATOR, X, latent_dim=2)
    assert np.mean(np.abs(estimate - exact)) < 0.05
    # And AIS is not just the prior importance-sampling guess: far points need the annealing.
    assert np.max(np.abs(estimate - exact)) < 0.2


def exact_posterior_encoder(weight_diag):
    """p(z|x) of x|z ~ N(diag(w) z + B, diag(SIGMA^2)), z ~ N(0, I): diagonal, so a Gaussian encoder."""
    precision = 1 + weight_diag**2 / SIGMA**2
    gain = weight_diag / SIGMA**2 / precision  # mean = gain * (x - B)
    return linear_gaussian(np.diag(gain), -gain * B, 1 / np.sqrt(precision))


def test_importance_sampling_is_exact_with_the_true_posterior():
    weight_diag = np.array([1.2, 0.8], np.float32)
    generator = linear_gaussian(np.diag(weight_diag), B, SIGMA)
    exact = stats.multivariate_normal(B, np.diag(weight_diag**2 + SIGMA**2)).logpdf(X)
    # Every importance weight equals p(x): two draws suffice, whatever the seed.
    estimate = likelihood.importance_sampled_log_likelihood(
        exact_posterior_encoder(weight_diag), generator, X, num_samples=2, seed=3
    )
    np.testing.assert_allclose(estimate, exact, atol=1e-4)


def test_importance_sampling_converges_with_an_approximate_proposal():
    exact = stats.multivariate_normal(B, W @ W.T + np.diag(SIGMA**2)).logpdf(X)
    few = likelihood.importance_sampled_log_likelihood(ENCODER, GENERATOR, X, num_samples=1, chunk=1)
    many = likelihood.importance_sampled_log_likelihood(
        ENCODER, GENERATOR, X, num_samples=20_000, proposal_scale=1.5, chunk=5000
    )
    assert np.mean(np.abs(many - exact)) < 0.02
    # One draw is the ELBO-like bound: clearly worse on average (Jensen), so the average matters.
    assert np.mean(exact - few) > 0.1


def test_importance_sampling_rejects_a_bad_sample_count():
    with pytest.raises(ValueError, match="num_samples, chunk and proposal_scale must be positive"):
        likelihood.importance_sampled_log_likelihood(ENCODER, GENERATOR, X, num_samples=0)


def test_joint_log_ratio_by_hand():
    """log p_r(x) + log p_e(z|x) - log p_z(z) - log p_g(x|z) from scipy's densities."""
    z = np.random.default_rng(1).normal(size=(20, 2)).astype(np.float32)
    data = stats.multivariate_normal(mean=[1.0, -0.5], cov=np.diag([2.0, 0.5]))
    expected = (
        data.logpdf(X)
        + stats.norm.logpdf(z, X @ A.T + C, S).sum(1)
        - stats.norm.logpdf(z).sum(1)
        - stats.norm.logpdf(X, z @ W.T + B, SIGMA).sum(1)
    )

    def data_log_prob(x):
        return data.logpdf(np.asarray(x)).astype(np.float32)

    got = likelihood.joint_log_ratio(ENCODER, GENERATOR, data_log_prob, X, z).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)
