import numpy as np
import pytest

from age_tf.data import grid_centers
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


def test_registry_lists_and_rejects():
    from age_tf import metrics

    assert {"mode_coverage", "reconstruction_mse"} <= set(metrics.names())
    with pytest.raises(ValueError, match="Unknown metric 'nope'. Available:"):
        metrics.get("nope")
