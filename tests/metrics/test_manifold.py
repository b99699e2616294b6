"""Precision/recall and density/coverage: hand-built sets whose answer is known, and the prdc package."""

import numpy as np
import pytest

from age_tf import metrics
from age_tf.metrics import manifold


def _all(real, generated, k_pr=3, k_dc=5, **kwargs):
    return manifold.manifold_metrics(real, generated, k_pr, k_dc, **kwargs)


def test_identical_sets_score_one_everywhere():
    points = np.random.default_rng(0).normal(size=(300, 4))
    assert _all(points, points) == {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0}


def test_disjoint_sets_score_zero_everywhere():
    rng = np.random.default_rng(1)
    assert _all(rng.normal(size=(200, 2)), 100.0 + rng.normal(size=(200, 2))) == {
        "precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_a_dropped_mode_halves_recall_and_coverage_and_keeps_precision():
    """Real: two far clusters of 200. Generated: a copy of the first only. Every generated point
    sits on a real one (precision 1); each real ball of the first cluster holds its own copy and its
    k - 1 nearer neighbours' (density 1); the second cluster is reached by nothing (recall and
    coverage 1/2)."""
    rng = np.random.default_rng(2)
    first, second = rng.normal(size=(200, 3)), 50.0 + rng.normal(size=(200, 3))
    scores = _all(np.concatenate([first, second]), first.copy())
    assert scores == pytest.approx({"precision": 1.0, "recall": 0.5, "density": 1.0, "coverage": 0.5}, abs=1e-12)


def test_hand_computed_on_a_line():
    """Real 0, 1, 3, 7 and generated 0.5, 20 with k = 1: real radii 1, 1, 2, 4 and generated radii
    19.5, 19.5. 0.5 lies in the balls of 0 and 1, 20 in none: precision 1/2, density 2 / (1 x 2) = 1.
    Every real point lies within 19.5 of 0.5: recall 1 (one outlier inflates it, as Naeem et al.
    point out). The balls of 0 and 1 hold a generated point, those of 3 and 7 do not: coverage 1/2."""
    scores = _all([0.0, 1.0, 3.0, 7.0], [0.5, 20.0], k_pr=1, k_dc=1)
    assert scores == {"precision": 0.5, "recall": 1.0, "density": 1.0, "coverage": 0.5}


def test_kth_neighbour_distances_by_hand():
    np.testing.assert_allclose(manifold.kth_neighbour_distances([0.0, 1.0, 3.0, 7.0], 1), [1, 1, 2, 4])
    np.testing.assert_allclose(manifold.kth_neighbour_distances([0.0, 1.0, 3.0, 7.0], 2), [3, 2, 3, 6])


@pytest.mark.parametrize("k", [3, 5])
def test_agrees_with_the_prdc_package(k):
    """Naeem et al.'s reference code (PyPI prdc, a test-only dependency) on shifted, rescaled Gaussians."""
    prdc = pytest.importorskip("prdc")
    rng = np.random.default_rng(3)
    real = rng.normal(size=(700, 16))
    generated = 0.3 + 1.2 * rng.normal(size=(500, 16))
    expected = prdc.compute_prdc(real_features=real, fake_features=generated, nearest_k=k)
    scores = _all(real, generated, k_pr=k, k_dc=k, block_rows=97)  # blocks that do not divide the sets
    assert scores == pytest.approx({name: float(value) for name, value in expected.items()}, abs=1e-12)


def test_blocks_do_not_change_the_answer():
    rng = np.random.default_rng(4)
    real, generated = rng.normal(size=(250, 5)), rng.normal(size=(180, 5)) * 1.5
    assert _all(real, generated, block_rows=1) == _all(real, generated, block_rows=10_000)


@pytest.mark.parametrize("real, generated, k, message", [
    (np.zeros((3, 2)), np.zeros((3, 2)), 3, "k must lie in [1, 2] for 3 points, got 3"),
    (np.zeros((5, 2)), np.zeros((5, 3)), 1, "real and generated features differ in width: 2 against 3"),
    (np.full((5, 2), np.nan), np.zeros((5, 2)), 1, "real must be a finite [n, d] array of features"),
])
def test_bad_input_is_named(real, generated, k, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        _all(real, generated, k_pr=k, k_dc=k)


class _Replay:
    """A 'model' whose samples are given points."""

    def __init__(self, points):
        self.points = np.asarray(points)

    def generate(self, num):
        return self.points[:num]


def test_registered_for_the_mixtures():
    from age_tf.data import grid_mixture

    data = grid_mixture(9, imbalanced=False, majority=200, seed=0)
    heldout = grid_mixture(9, imbalanced=False, majority=200, seed=1).points
    # Samples from the first mode only: precise, but they reach a ninth of the real points.
    one_mode = data.points[data.labels == 0]
    scores = metrics.compute(["prdc"], _Replay(one_mode), data, num_samples=200, heldout=heldout)
    assert scores["precision"] > 0.9 and scores["coverage"] < 0.2 and scores["recall"] < 0.2
    assert set(scores) == {"precision", "recall", "density", "coverage"}
    assert metrics.meaning("coverage", ["prdc"]).startswith("share of real points")
    # Without heldout points the real ones are drawn from the dataset itself.
    itself = metrics.compute(["prdc"], _Replay(data.points[np.random.default_rng(0).permutation(1800)]), data,
                             num_samples=1800)
    assert itself == {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0}


def test_a_diverged_generator_scores_nan_rather_than_stopping_the_evaluation():
    scores = metrics.compute(["prdc"], _Replay(np.full((50, 2), np.nan)), None, num_samples=50,
                             heldout=np.random.default_rng(0).normal(size=(50, 2)))
    assert set(scores) == {"precision", "recall", "density", "coverage"} and all(np.isnan(list(scores.values())))
