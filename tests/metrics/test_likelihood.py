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
