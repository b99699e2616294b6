"""Encoder metrics against scikit-learn and hand-computed values."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from age_tf import metrics
from age_tf.metrics import representation


def _blobs(n, seed, d=5, classes=4, spread=1.5):
    """Overlapping Gaussian classes, so that neither classifier is perfect."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(size=(classes, d)) * spread
    labels = rng.integers(0, classes, size=n)
    return centres[labels] + rng.normal(size=(n, d)), labels


def test_nearest_neighbour_accuracy_matches_sklearn():
    train_x, train_y = _blobs(700, seed=0)
    test_x, test_y = _blobs(300, seed=1)
    expected = KNeighborsClassifier(n_neighbors=1).fit(train_x, train_y).score(test_x, test_y)
    result = representation.nearest_neighbour_accuracy(train_x, train_y, test_x, test_y)
    assert 0.5 < expected < 0.99  # a test that can tell a wrong neighbour
    assert result == {"knn_accuracy": pytest.approx(expected, abs=1e-12)}


def test_nearest_neighbours_by_hand_and_across_blocks():
    train = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    test = np.array([[1.0, 1.0], [9.0, -1.0], [2.0, 7.0], [6.0, 5.0]])
    np.testing.assert_array_equal(representation.nearest_neighbours(train, test), [0, 1, 2, 1])
    np.testing.assert_array_equal(representation.nearest_neighbours(train, test, block_rows=1), [0, 1, 2, 1])


def test_several_labels_an_example_are_scored_column_by_column():
    train = np.array([[0.0], [1.0], [2.0]])
    train_labels = np.array([[0, 5], [1, 6], [2, 7]])
    test = np.array([[0.1], [1.1], [1.9]])
    test_labels = np.array([[0, 5], [1, 0], [0, 7]])  # column 0: 2 of 3 right; column 1: 2 of 3 right
    result = representation.nearest_neighbour_accuracy(train, train_labels, test, test_labels)
    assert result == pytest.approx({"knn_accuracy": 2 / 3, "knn_accuracy_0": 2 / 3, "knn_accuracy_1": 2 / 3})


@pytest.mark.parametrize("penalty", [1e-4, 1e-2])
def test_logistic_probe_is_sklearns_logistic_regression(penalty):
    x, y = _blobs(600, seed=2)
    probe = representation.LogisticProbe(penalty).fit(x, y)
    scaler = StandardScaler().fit(x)
    reference = LogisticRegression(C=1.0 / (penalty * len(x)), tol=1e-10, max_iter=10_000).fit(scaler.transform(x), y)
    test_x, _ = _blobs(200, seed=3)
    np.testing.assert_allclose(probe.predict_proba(test_x), reference.predict_proba(scaler.transform(test_x)),
                               atol=2e-5)
    np.testing.assert_array_equal(probe.predict(test_x), reference.predict(scaler.transform(test_x)))


def test_linear_probe_chooses_its_penalty_on_held_out_training_points():
    train_x, train_y = _blobs(800, seed=4, d=20, spread=0.6)
    test_x, test_y = _blobs(400, seed=5, d=20, spread=0.6)
    penalties = (1e-5, 1.0, 100.0)
    result = representation.linear_probe_accuracy(train_x, train_y, test_x, test_y, penalties=penalties)
    # The same choice by hand: fit on 90% of the shuffled training points, score on the other 10%.
    order = np.random.default_rng(0).permutation(800)
    fit_rows, val_rows = order[80:], order[:80]
    scores = [(representation.LogisticProbe(p).fit(train_x[fit_rows], train_y[fit_rows]).predict(train_x[val_rows])
               == train_y[val_rows]).mean() for p in penalties]
    chosen = penalties[int(np.argmax(scores))]
    expected = (representation.LogisticProbe(chosen).fit(train_x, train_y).predict(test_x) == test_y).mean()
    assert result == {"probe_accuracy": pytest.approx(expected), "probe_penalty": chosen}
    assert chosen != 100.0  # a penalty that flattens every weight to 0 predicts one class
    assert result["probe_accuracy"] > 0.5


def test_reconstruction_distances_by_hand():
    x = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    reconstructions = x + np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    result = representation.reconstruction_distances(x, reconstructions, seed=0)
    partner = x[np.random.default_rng(0).permutation(3)]
    assert result["reconstruction_distance"] == pytest.approx(1.0)  # (1 + 2 + 0) / 3
    assert result["random_pair_distance"] == pytest.approx(np.linalg.norm(x - partner, axis=1).mean())
    with pytest.raises(ValueError, match="differ in shape"):
        representation.reconstruction_distances(x, reconstructions[:2])


class _LinearCodes:
    """A model whose code is a fixed projection of x and whose generator inverts it exactly."""

    def __init__(self, d):
        self.matrix = np.linalg.qr(np.random.default_rng(7).normal(size=(d, d)))[0]

    def encode(self, x, mean=False):
        return np.asarray(x) @ self.matrix

    def generate(self, n=None, z=None):
        return np.asarray(z) @ self.matrix.T


def test_registered_metric_on_an_orthogonal_code_equals_the_metrics_on_raw_points():
    train_x, train_y = _blobs(500, seed=8)
    test_x, test_y = _blobs(200, seed=9)
    result = metrics.compute(["representation"], _LinearCodes(5), None, train_x=train_x, train_labels=train_y,
                             test_x=test_x, test_labels=test_y)
    # Rotations keep Euclidean distances, so 1-NN finds the same neighbours as on x.
    assert result["knn_accuracy"] == pytest.approx(
        representation.nearest_neighbour_accuracy(train_x, train_y, test_x, test_y)["knn_accuracy"])
    assert result["reconstruction_distance"] == pytest.approx(0.0, abs=1e-5)
    assert result["random_pair_distance"] > 1.0
    assert (result["representation_train_points"], result["representation_test_points"]) == (500, 200)
    with pytest.raises(ValueError, match="labelled points"):
        metrics.compute(["representation"], _LinearCodes(5), None)


def test_bad_codes_and_labels_are_refused_in_one_sentence():
    with pytest.raises(ValueError, match="finite"):
        representation.nearest_neighbours(np.array([[np.nan]]), np.array([[0.0]]))
    with pytest.raises(ValueError, match="one label"):
        representation.nearest_neighbour_accuracy(np.zeros((3, 2)), np.zeros(2, int), np.zeros((1, 2)), np.zeros(1, int))
    with pytest.raises(ValueError, match="integer class labels"):
        representation.linear_probe_accuracy(np.zeros((3, 2)), np.zeros(3), np.zeros((1, 2)), np.zeros(1))
