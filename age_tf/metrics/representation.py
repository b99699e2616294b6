"""What the code E(x) is worth as a representation, on labelled data.

A bidirectional model is chosen over a GAN for its encoder, so these measure
it as BiGAN (Donahue, Kraehenbuehl and Darrell, ICLR 2017, Table 1) and its
released code do, on the code E(x) itself:

- ``nearest_neighbour_accuracy``: each test code takes the label of its
  Euclidean nearest neighbour among the training codes (1-NN);
- ``linear_probe_accuracy``: multinomial logistic regression on the codes,
  fitted on the training codes with an L2 penalty chosen on a held-out part of
  them, scored on the test codes;
- ``reconstruction_distances``: the mean distance ||x - G(E(x))|| beside the
  mean distance ||x - x'|| between random pairs of data points, the scale that
  says whether a reconstruction is close.

Labels may be [n] or [n, c]: c labels per example (Stacked MNIST's three
digits), each scored on its own, with their mean. Every number is a
deterministic function of the model and the points given: the code is the
encoder's mean (``model.encode(x, mean=True)``), and the held-out part and the
random pairs are drawn from a fixed seed.
"""

from __future__ import annotations

from typing import Dict, Sequence

import numpy as np

from age_tf.metrics.registry import register_metric
from age_tf.metrics.stacked_mnist import in_batches

BLOCK_ROWS = 256
# L2 penalties tried by the linear probe, on the mean log-loss (sklearn's C = 1 / (penalty * n)).
PROBE_PENALTIES = (1e-6, 1e-4, 1e-2)
PROBE_VALIDATION_FRACTION = 0.1


def _as_codes(codes, name: str) -> np.ndarray:
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or not np.isfinite(codes).all():
        raise ValueError(f"{name} must be a finite [n, d] array of codes, got shape {codes.shape}"
                         + ("" if codes.ndim != 2 else " with non-finite values") + ".")
    return codes


def _as_labels(labels, n: int, name: str) -> np.ndarray:
    """Labels as an [n, c] integer array (c = 1 for one label an example)."""
    labels = np.asarray(labels)
    if labels.ndim == 1:
        labels = labels[:, None]
    if labels.ndim != 2 or len(labels) != n:
        raise ValueError(f"{name} must give one label (or one row of labels) per example: {n} examples, "
                         f"labels of shape {np.shape(labels)}.")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{name} must be integer class labels, got dtype {labels.dtype}.")
    return labels


def _per_column(scores: Sequence[float], prefix: str) -> Dict[str, float]:
    """{prefix: mean} and, for several labels an example, {prefix_<i>: score of column i}."""
    result = {prefix: float(np.mean(scores))}
    if len(scores) > 1:
        result.update({f"{prefix}_{i}": float(s) for i, s in enumerate(scores)})
    return result


def nearest_neighbours(train_codes, test_codes, block_rows: int = BLOCK_ROWS) -> np.ndarray:
    """[n_test] index of each test code's Euclidean nearest training code (the first on ties)."""
    train = _as_codes(train_codes, "train_codes")
    test = _as_codes(test_codes, "test_codes")
    if train.shape[1] != test.shape[1]:
        raise ValueError(f"Train and test codes differ in size: {train.shape[1]} and {test.shape[1]}.")
    train_sq = (train * train).sum(axis=1)
    nearest = np.empty(len(test), dtype=np.int64)
    for start in range(0, len(test), block_rows):
        block = test[start:start + block_rows]
        # ||a - b||^2 up to ||a||^2, which is the same for every b of one row; in place, as the
        # [block_rows, n_train] products are the memory this costs.
        distances = block @ train.T
        distances *= -2.0
        distances += train_sq[None, :]
        nearest[start:start + len(block)] = distances.argmin(axis=1)
    return nearest


def nearest_neighbour_accuracy(train_codes, train_labels, test_codes, test_labels) -> Dict[str, float]:
    """1-NN accuracy of the test codes among the training codes (BiGAN's Table 1 measure).

    Returns ``knn_accuracy``, the share of test examples whose nearest training
    code carries the same label (for [n, c] labels, the mean over the c columns,
    with ``knn_accuracy_<i>`` each).
    """
    nearest = nearest_neighbours(train_codes, test_codes)
    train_labels = _as_labels(train_labels, len(np.asarray(train_codes)), "train_labels")
    test_labels = _as_labels(test_labels, len(nearest), "test_labels")
    agree = train_labels[nearest] == test_labels
    return _per_column(list(agree.mean(axis=0)), "knn_accuracy")


def _softmax_loss_and_gradient(flat, features, onehot, penalty):
    """Mean multinomial log-loss plus penalty / 2 * ||W||^2 (bias unpenalised), and its gradient."""
    d, k = features.shape[1], onehot.shape[1]
    weights, bias = flat[:d * k].reshape(d, k), flat[d * k:]
    logits = features @ weights + bias
    logits -= logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(logits).sum(axis=1, keepdims=True))
    log_probs = logits - log_norm
    n = len(features)
    loss = -(onehot * log_probs).sum() / n + 0.5 * penalty * (weights * weights).sum()
    residual = (np.exp(log_probs) - onehot) / n
    gradient = np.concatenate([(features.T @ residual + penalty * weights).ravel(), residual.sum(axis=0)])
    return loss, gradient


class LogisticProbe:
    """Multinomial logistic regression with an L2 penalty on the weights, fitted by L-BFGS.

    Minimises mean_i -log softmax(W^T x_i + b)[y_i] + penalty / 2 * ||W||^2 on
    standardised features (the training features' mean and standard deviation).
    This is scikit-learn's ``LogisticRegression(C=1 / (penalty * n))`` on the same
    standardised features, which the tests check.
    """

    def __init__(self, penalty: float, max_iterations: int = 300):
        if penalty < 0:
            raise ValueError(f"penalty must be non-negative, got {penalty}.")
        self.penalty = float(penalty)
        self.max_iterations = int(max_iterations)

    def fit(self, features, labels):
        from scipy import optimize

        features = _as_codes(features, "features")
        labels = np.asarray(labels)
        self.classes_ = np.unique(labels)
        self.mean_ = features.mean(axis=0)
        self.scale_ = features.std(axis=0)
        self.scale_[self.scale_ == 0] = 1.0
        standard = (features - self.mean_) / self.scale_
        onehot = (labels[:, None] == self.classes_[None, :]).astype(np.float64)
        d, k = standard.shape[1], len(self.classes_)
        solution = optimize.minimize(
            _softmax_loss_and_gradient, np.zeros(d * k + k), args=(standard, onehot, self.penalty),
            jac=True, method="L-BFGS-B",
            options={"maxiter": self.max_iterations, "gtol": 1e-8, "ftol": 1e-12},
        )
        self.coef_, self.intercept_ = solution.x[:d * k].reshape(d, k), solution.x[d * k:]
        return self

    def decision_function(self, features):
        standard = (_as_codes(features, "features") - self.mean_) / self.scale_
        return standard @ self.coef_ + self.intercept_

    def predict_proba(self, features):
        logits = self.decision_function(features)
        logits -= logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def predict(self, features):
        return self.classes_[self.decision_function(features).argmax(axis=1)]


def _probe_one_label(train, labels, test, test_labels, penalties, validation_fraction, seed):
    """(test accuracy, chosen penalty) of one column of labels."""
    order = np.random.default_rng(seed).permutation(len(train))
    held = max(1, int(round(validation_fraction * len(train))))
    fit_rows, val_rows = order[held:], order[:held]
    scores = [float((LogisticProbe(p).fit(train[fit_rows], labels[fit_rows]).predict(train[val_rows])
                     == labels[val_rows]).mean()) for p in penalties]
    chosen = penalties[int(np.argmax(scores))]  # the first (smallest) penalty on ties
    accuracy = float((LogisticProbe(chosen).fit(train, labels).predict(test) == test_labels).mean())
    return accuracy, chosen


def linear_probe_accuracy(train_codes, train_labels, test_codes, test_labels,
                          penalties: Sequence[float] = PROBE_PENALTIES,
                          validation_fraction: float = PROBE_VALIDATION_FRACTION, seed: int = 0) -> Dict[str, float]:
    """Test accuracy of a linear classifier on the codes (``LogisticProbe``).

    The penalty is chosen among ``penalties`` by accuracy on a held-out
    ``validation_fraction`` of the training codes (drawn with ``seed``), then the
    probe is refitted on all of them. Returns ``probe_accuracy`` and
    ``probe_penalty`` (for [n, c] labels, the mean accuracy over the columns, and
    ``probe_accuracy_<i>``, ``probe_penalty_<i>`` each).
    """
    train = _as_codes(train_codes, "train_codes")
    test = _as_codes(test_codes, "test_codes")
    train_labels = _as_labels(train_labels, len(train), "train_labels")
    test_labels = _as_labels(test_labels, len(test), "test_labels")
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must lie in (0, 1), got {validation_fraction}.")
    if not penalties:
        raise ValueError("penalties must name at least one L2 penalty to try.")
    columns = [_probe_one_label(train, train_labels[:, c], test, test_labels[:, c], tuple(penalties),
                                validation_fraction, seed) for c in range(train_labels.shape[1])]
    result = _per_column([accuracy for accuracy, _ in columns], "probe_accuracy")
    if len(columns) == 1:
        result["probe_penalty"] = columns[0][1]
    else:
        result.update({f"probe_penalty_{c}": penalty for c, (_, penalty) in enumerate(columns)})
    return result


def reconstruction_distances(x, reconstructions, seed: int = 0) -> Dict[str, float]:
    """Mean Euclidean distance of each x from its reconstruction, and of random pairs.

    ``random_pair_distance`` pairs each x with x[perm] for a permutation drawn
    with ``seed`` (a point may meet itself, as in a random draw); a reconstruction
    distance well below it means G(E(x)) is closer to x than another data point
    typically is. Points are flattened, so images compare pixel by pixel.
    """
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    reconstructions = np.asarray(reconstructions, dtype=np.float64).reshape(len(reconstructions), -1)
    if x.shape != reconstructions.shape:
        raise ValueError(f"x and its reconstructions differ in shape: {x.shape} and {reconstructions.shape}.")
    partner = x[np.random.default_rng(seed).permutation(len(x))]
    return {
        "reconstruction_distance": float(np.linalg.norm(x - reconstructions, axis=1).mean()),
        "random_pair_distance": float(np.linalg.norm(x - partner, axis=1).mean()),
    }


def mean_reconstructions(model, x, batch_size: int = 2048) -> np.ndarray:
    """G(E(x)) through the means: the encoder's mean code, then the generator's mean (``mean``) where
    it has one, so that a Gaussian generator's noise does not add to the reconstruction distance."""
    generator_mean = getattr(getattr(model, "generator", None), "mean", None)

    def reconstruct(batch):
        z = model.encode(batch, mean=True)
        return generator_mean(z, training=False) if generator_mean else model.generate(z=z)

    return in_batches(reconstruct, np.asarray(x, dtype=np.float32), batch_size)


def codes(model, x, batch_size: int = 2048) -> np.ndarray:
    """E(x) as float64, the encoder's mean for a Gaussian encoder (so a fixed model gives fixed codes)."""
    x = np.asarray(x, dtype=np.float32)
    codes_ = in_batches(lambda batch: model.encode(batch, mean=True), x, batch_size)
    return codes_.reshape(len(x), -1).astype(np.float64)


MEANINGS = {
    "knn_accuracy": "share of test points whose nearest training code E(x) (Euclidean) has their label "
                    "(BiGAN's Table 1 measure)",
    "probe_accuracy": "test accuracy of multinomial logistic regression on the codes E(x), its L2 penalty "
                      "chosen on a held-out tenth of train",
    "probe_penalty": "the linear probe's chosen L2 penalty on the mean log-loss",
    "reconstruction_distance": "mean ||x - G(E(x))|| over the test points (the encoder's and generator's means)",
    "random_pair_distance": "mean ||x - x'|| over random pairs of test points: the scale of the line above",
    "representation_train_points": "training points whose codes the 1-NN and the probe searched and fitted",
    "representation_test_points": "test points the encoder metrics scored",
}


@register_metric("representation", meanings=MEANINGS)
def representation_metric(model, dataset=None, train_x=None, train_labels=None, test_x=None, test_labels=None,
                          max_train_points: int = 0, batch_size: int = 2048, seed: int = 0) -> Dict[str, float]:
    """1-NN and linear-probe accuracy of E(x), and the reconstruction distance, on labelled data.

    The points are ``train_x``, ``train_labels``, ``test_x`` and ``test_labels``,
    or by default ``dataset``'s attributes of those names (e.g.
    ``age_tf.data.mnist.labelled_splits``). ``max_train_points`` > 0 keeps the
    first that many training points (the whole of them with 0).
    """
    given = (train_x, train_labels, test_x, test_labels)
    if all(a is None for a in given):
        names = ("train_x", "train_labels", "test_x", "test_labels")
        if not all(hasattr(dataset, name) for name in names):
            raise ValueError("The representation metric needs labelled points: train_x, train_labels, test_x and "
                             "test_labels, given or as attributes of the dataset.")
        given = tuple(getattr(dataset, name) for name in names)
    if any(a is None for a in given):
        raise ValueError("The representation metric needs all four of train_x, train_labels, test_x and test_labels.")
    train_x, train_labels, test_x, test_labels = given
    if max_train_points:
        train_x, train_labels = train_x[:max_train_points], train_labels[:max_train_points]
    train_codes, test_codes = codes(model, train_x, batch_size), codes(model, test_x, batch_size)
    reconstructions = mean_reconstructions(model, test_x, batch_size)
    results = nearest_neighbour_accuracy(train_codes, train_labels, test_codes, test_labels)
    results.update(linear_probe_accuracy(train_codes, train_labels, test_codes, test_labels, seed=seed))
    results.update(reconstruction_distances(test_x, reconstructions, seed=seed))
    results["representation_train_points"] = len(train_codes)
    results["representation_test_points"] = len(test_codes)
    return results


@register_metric("reconstruction_distance", meanings={
    key: MEANINGS[key].replace("test points", "held-out points") for key in
    ("reconstruction_distance", "random_pair_distance")})
def reconstruction_distance_metric(model, dataset=None, heldout=None, batch_size: int = 2048,
                                   seed: int = 0) -> Dict[str, float]:
    """The representation metric's reconstruction distance, for data without labels: ``heldout``
    (else ``dataset.points``) against G(E(x)) through the means, beside random pairs of it."""
    x = np.asarray(dataset.points if heldout is None else heldout, dtype=np.float32)
    return reconstruction_distances(x, mean_reconstructions(model, x, batch_size), seed=seed)
