import numpy as np
import pytest

from age_tf import metrics
from age_tf.data import grid_centers, grid_mixture
from age_tf.metrics import modes


def test_assign_modes_three_std_radius():
    centers = grid_centers(9)
    points = np.array([[0.0, 0.0], [0.89, 0.0], [0.91, 0.0], [1.0, 1.0], [2.1, -1.9]])
    np.testing.assert_array_equal(modes.assign_modes(points, centers, std=0.3), [4, 4, -1, -1, 6])


def test_mode_statistics_by_hand():
    centers = grid_centers(9)
    probabilities = np.full(9, 1 / 9)
    # 6 points on mode 0, 2 on mode 4, 2 off-mode.
    points = np.array([centers[0]] * 6 + [centers[4]] * 2 + [[1.0, 1.0]] * 2)
    stats = modes.mode_statistics(points, centers, probabilities, std=0.3)
    q = np.array([0.75, 0.25])
    assert stats["modes_covered"] == 2
    assert stats["off_mode_fraction"] == pytest.approx(0.2)
    assert stats["mode_kl"] == pytest.approx(np.sum(q * np.log(q * 9)))


def test_perfect_histogram_has_zero_kl():
    centers = grid_centers(25)
    counts = np.where(np.arange(25) % 2, 1, 20)
    points = np.repeat(centers, counts, axis=0)
    stats = modes.mode_statistics(points, centers, counts / counts.sum(), std=0.3)
    assert stats == {"modes_covered": 25, "mode_kl": pytest.approx(0, abs=1e-12), "off_mode_fraction": 0.0}


def test_modes_holding_share_by_hand():
    centers = grid_centers(9)
    probabilities = np.full(9, 1 / 9)
    # On-mode shares 6/9, 2/9 and 1/9 (one point off-mode): 6, 2 and 1 times the true 1/9.
    points = np.array([centers[0]] * 6 + [centers[4]] * 2 + [centers[8]] + [[1.0, 1.0]])
    counted = [modes.modes_holding_share(points, centers, probabilities, 0.3, ratio) for ratio in (0.5, 1.5, 3, 7)]
    assert counted == [3, 2, 1, 0]
    # Against an imbalanced truth: mode 0 should hold 0.9 of the mass, so 6/9 is 0.74 of it.
    imbalanced = np.array([0.9] + [0.0125] * 8)
    assert modes.modes_holding_share(points, centers, imbalanced, 0.3, 0.75) == 2  # modes 4 and 8
    assert modes.modes_holding_share(points, centers, imbalanced, 0.3, 0.7) == 3
    assert modes.modes_holding_share([[1.0, 1.0]], centers, probabilities, 0.3, 0.5) == 0
    with pytest.raises(ValueError, match="min_ratio=0: give a positive fraction"):
        modes.modes_holding_share(points, centers, probabilities, 0.3, 0)


def test_minority_breakdown_by_hand_and_the_chain_rule():
    centers = grid_centers(9)
    probabilities = np.where(np.arange(9) % 2, 1.0, 4.0)
    probabilities /= probabilities.sum()  # 4 minority modes at 1/24, 5 majority at 4/24 (sum 1)
    # 8 points on majority mode 0, 1 on minority mode 1, 1 on minority mode 3.
    points = np.array([centers[0]] * 8 + [centers[1], centers[3]])
    got = modes.minority_breakdown(points, centers, probabilities, std=0.3)
    assert got["minority_share"] == pytest.approx(0.2)
    assert got["true_minority_share"] == pytest.approx(4 / 24)
    between = 0.2 * np.log(0.2 / (4 / 24)) + 0.8 * np.log(0.8 / (20 / 24))
    # Within the minority: (1/2, 1/2) against (1/4 each): log 2; within the majority: (1) against 1/5: log 5.
    within = 0.2 * np.log(2.0) + 0.8 * np.log(5.0)
    assert got["kl_between_groups"] == pytest.approx(between)
    assert got["kl_within_groups"] == pytest.approx(within)
    stats = modes.mode_statistics(points, centers, probabilities, std=0.3)
    assert stats["mode_kl"] == pytest.approx(between + within)


def test_minority_breakdown_refuses_samples_with_no_point_on_a_mode():
    with pytest.raises(ValueError, match="No generated point lies on a mode"):
        modes.minority_breakdown(np.array([[1.0, 1.0]]), grid_centers(9), np.full(9, 1 / 9), std=0.3)


def test_registry_lists_and_rejects():
    from age_tf import metrics

    assert {"mode_coverage", "reconstruction_mse"} <= set(metrics.names())
    with pytest.raises(ValueError, match="Unknown metric 'nope'. Available:"):
        metrics.get("nope")


def test_histogram_kl_matches_scipy_and_skips_empty_bins():
    from scipy.stats import entropy

    q = np.array([0.5, 0.0, 0.3, 0.2])
    p = np.array([0.1, 0.4, 0.25, 0.25])
    assert modes.histogram_kl(q, p) == pytest.approx(entropy(q, p))


def test_assign_modes_without_a_radius_is_the_nearest_centre():
    centers = grid_centers(9)
    points = np.array([[0.91, 0.0], [1.2, 1.1], [7.0, -9.0]])  # beyond 3 stds of every centre
    np.testing.assert_array_equal(modes.assign_modes(points, centers, std=0.3, radius_in_stds=np.inf), [4, 8, 6])


def test_gaussian_inner_fraction_matches_the_rayleigh_law():
    from scipy.stats import rayleigh

    assert modes.gaussian_inner_fraction(1.5) == pytest.approx(rayleigh.cdf(1.5) / rayleigh.cdf(3.0))
    assert modes.gaussian_inner_fraction(1.5) == pytest.approx(0.6829, abs=1e-4)
    assert modes.gaussian_inner_fraction(2.0, 2.0) == 1.0
    with pytest.raises(ValueError, match="inner_in_stds must lie in"):
        modes.gaussian_inner_fraction(4.0)


def test_inner_fractions_by_hand():
    centers = grid_centers(9)
    probabilities = np.where(np.arange(9) % 2, 1.0, 4.0)
    probabilities /= probabilities.sum()
    # Minority mode 1 at (-2, 0): one point at its centre, three on the rim (0.6-0.9 away),
    # one off-mode; majority mode 4 at the origin: two inside 0.45, one at 0.5.
    points = np.array([[-2.0, 0.0], [-1.3, 0.0], [-2.0, 0.8], [-2.5, -0.5], [-1.0, 0.0],
                       [0.0, 0.0], [0.3, 0.3], [0.0, -0.5]])
    got = modes.inner_fractions(points, centers, probabilities, std=0.3)
    assert got["minority_inner_fraction"] == pytest.approx(1 / 4)
    assert got["majority_inner_fraction"] == pytest.approx(2 / 3)
    assert got["gaussian_inner_fraction"] == pytest.approx(modes.gaussian_inner_fraction(1.5))


def test_inner_fractions_of_true_mixture_samples_match_the_gaussian_value():
    from age_tf.data import grid_mixture

    mixture = grid_mixture(25, majority=4000, minority=2000, seed=3)
    got = modes.inner_fractions(mixture.points, mixture.centers, mixture.probabilities, mixture.std)
    # 24,000 minority and 52,000 majority points: binomial s.e. below 0.004.
    assert got["minority_inner_fraction"] == pytest.approx(got["gaussian_inner_fraction"], abs=0.015)
    assert got["majority_inner_fraction"] == pytest.approx(got["gaussian_inner_fraction"], abs=0.015)


def test_inner_fractions_of_an_empty_group_is_nan_and_wrong_shapes_are_refused():
    centers = grid_centers(9)
    probabilities = np.where(np.arange(9) % 2, 1.0, 4.0) / 24
    got = modes.inner_fractions(np.array([[0.0, 0.0]]), centers, probabilities, std=0.3)
    assert np.isnan(got["minority_inner_fraction"]) and got["majority_inner_fraction"] == 1.0
    with pytest.raises(ValueError, match=r"must be \[n, 2\]"):
        modes.inner_fractions(np.zeros((4, 3)), centers, probabilities, std=0.3)


def test_returned_home_looks_at_the_own_centre_only():
    centers = np.array([[0.0, 0.0], [2.0, 0.0]])
    recon = np.array([[0.5, 0.0],    # 0.5 from its own centre 0: home (3 * 0.3 = 0.9)
                      [1.95, 0.0],   # on mode 1, but drawn from mode 0: left
                      [2.0, 0.89],   # 0.89 from its own centre 1: home
                      [2.0, 0.91]])  # 0.91: left
    labels = np.array([0, 0, 1, 1])
    np.testing.assert_array_equal(modes.returned_home(recon, labels, centers, 0.3), [True, False, True, False])
    with pytest.raises(ValueError, match="one label each"):
        modes.returned_home(recon, labels[:3], centers, 0.3)


class _Reconstructor:
    """A model whose reconstruction moves every point by a fixed offset."""

    def __init__(self, offset):
        self.offset = np.asarray(offset, dtype=np.float32)

    def reconstruct(self, x):
        return np.asarray(x) + self.offset


def test_reconstruction_mode_accuracy_counts_points_reconstructed_onto_their_mode():
    data = grid_mixture(9, imbalanced=False, seed=0)
    x, labels = data.centers[[0, 1, 2, 3]], np.array([0, 1, 2, 4])  # the last drawn from mode 4, sitting on 3
    result = metrics.compute(["reconstruction_mode_accuracy"], _Reconstructor([0.0, 0.0]), data,
                             heldout=x, heldout_labels=labels)
    assert result == {"reconstruction_mode_accuracy": 0.75}
    # A shift of 3 (10 standard deviations) takes every reconstruction off its mode; a shift of one
    # grid spacing (2) would bring back the rare point drawn 4 standard deviations out on the other side.
    shifted = metrics.compute(["reconstruction_mode_accuracy"], _Reconstructor([3.0, 0.0]), data)
    assert shifted["reconstruction_mode_accuracy"] == 0.0
    with pytest.raises(ValueError, match="together"):
        metrics.compute(["reconstruction_mode_accuracy"], _Reconstructor([0.0, 0.0]), data, heldout=x)
