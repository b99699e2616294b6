import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from age_tf.data import grid_centers, grid_mixture, iteration_batches
from age_tf.data.mog import points_per_mode


def test_grid_of_25_has_spacing_two_centred_on_origin():
    centers = grid_centers(25)
    assert centers.shape == (25, 2)
    np.testing.assert_allclose(sorted(set(centers[:, 0])), [-4, -2, 0, 2, 4])
    np.testing.assert_allclose(centers.mean(0), [0, 0])


def test_imbalanced_counts_and_probabilities():
    data = grid_mixture(25, imbalanced=True, seed=0)
    counts = np.bincount(data.labels)
    assert counts[1::2].tolist() == [500] * 12 and counts[0::2].tolist() == [10_000] * 13
    assert len(data.points) == 136_000
    np.testing.assert_allclose(data.probabilities, counts / 136_000)
    np.testing.assert_array_equal(points_per_mode(25, imbalanced=True), counts)  # without drawing them
    assert points_per_mode(1, imbalanced=True).tolist() == [10_000]
    # Each component has the stated std around its centre.
    spread = data.points[data.labels == 0] - data.centers[0]
    np.testing.assert_allclose(spread.std(0), [0.3, 0.3], rtol=0.03)


def test_balanced_nine_and_seeded():
    a = grid_mixture(9, imbalanced=False, seed=3)
    b = grid_mixture(9, imbalanced=False, seed=3)
    assert np.bincount(a.labels).tolist() == [10_000] * 9
    np.testing.assert_array_equal(a.points, b.points)


def test_non_square_mode_count_is_rejected():
    with pytest.raises(ValueError, match="square number"):
        grid_mixture(10)


def test_iteration_batches_hold_d_steps_plus_one_minibatches():
    batches = iteration_batches(np.arange(100, dtype=np.float32)[:, None], 4, d_steps=2, seed=0)
    first = next(iter(batches))
    assert first.shape == (12, 1)
    assert len(set(first.numpy().ravel().tolist())) == 12  # no repeats inside one iteration


def test_reused_minibatch_repeats_one_minibatch_for_every_update():
    batches = iter(iteration_batches(np.arange(100, dtype=np.float32)[:, None], 4, d_steps=2, seed=0,
                                     reuse_minibatch=True))
    first, second = next(batches).numpy(), next(batches).numpy()
    assert first.shape == (12, 1)
    np.testing.assert_array_equal(first[:4], first[4:8])
    np.testing.assert_array_equal(first[:4], first[8:])
    assert len(set(first[:4].ravel().tolist())) == 4
    assert not set(first.ravel().tolist()) & set(second.ravel().tolist())  # an epoch walks the data once


def test_iteration_batches_without_discriminator_steps_are_plain_minibatches():
    batches = iteration_batches(np.arange(100, dtype=np.float32)[:, None], 4, d_steps=0, seed=0)
    assert next(iter(batches)).shape == (4, 1)
    with pytest.raises(ValueError, match="d_steps must be 0 .no discriminator. or positive, got -1"):
        iteration_batches(np.zeros([10, 1], np.float32), 4, d_steps=-1)


def test_distribution_is_the_mixture_density():
    mixture = grid_mixture(9, imbalanced=True, seed=0)
    x = np.array([[0.0, 0.0], [2.1, -1.9], [0.9, 1.0], [5.0, 5.0]], np.float32)
    expected = logsumexp(
        [np.log(p) + stats.multivariate_normal(c, 0.09 * np.eye(2)).logpdf(x)
         for p, c in zip(mixture.probabilities, mixture.centers)],
        axis=0,
    )
    np.testing.assert_allclose(mixture.distribution().log_prob(x).numpy(), expected, rtol=1e-5)
