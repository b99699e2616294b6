"""Precision/recall (Kynkaanniemi et al., 2019) and density/coverage (Naeem et al., 2020).

The paper's claim (Section 5.2) is that AGE with KL covers the modes without losing sample
quality. These four numbers split the two: precision and density ask whether generated points
lie where real ones do (quality), recall and coverage whether the real points are reached by
generated ones (coverage of modes). All four estimate each set's support by k-nearest-neighbour
balls in a feature space: the 2-D points themselves on the mixtures, the mode classifier's
penultimate features on Stacked MNIST, Inception pool features on images.

With real features X_1..X_N, generated Y_1..Y_M, r_i the distance from X_i to its k-th nearest
other real point and s_j that from Y_j to its k-th nearest other generated point:

- precision = (1/M) sum_j 1[exists i: |Y_j - X_i| < r_i]   (k = 3, Kynkaanniemi et al.)
- recall    = (1/N) sum_i 1[exists j: |X_i - Y_j| < s_j]   (k = 3)
- density   = (1/(k M)) sum_j sum_i 1[|Y_j - X_i| < r_i]   (k = 5, Naeem et al.)
- coverage  = (1/N) sum_i 1[exists j: |X_i - Y_j| < r_i]   (k = 5)

Balls are open (distance strictly below the radius), as in the reference ``prdc`` package:
two identical sets then give precision, recall and coverage 1 and density exactly 1. Density is
not bounded by 1: above 1, generated points crowd where real ones are dense. Distances are
Euclidean, in float64, computed a block of rows at a time, so 50,000 x 2,048 features need no
50,000^2 matrix.
"""

from __future__ import annotations

from typing import Dict

import numpy as np

from age_tf.metrics.registry import register_metric

PRECISION_RECALL_K = 3  # Kynkaanniemi et al. (2019), Section 3
DENSITY_COVERAGE_K = 5  # Naeem et al. (2020), Section 4
BLOCK_ROWS = 1024


def _as_features(features, name: str) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    if features.ndim == 1:
        features = features[:, None]
    if features.ndim != 2 or not np.isfinite(features).all():
        raise ValueError(f"{name} must be a finite [n, d] array of features, got shape {features.shape}.")
    return features


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances [len(a), len(b)]."""
    squared = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * (a @ b.T)
    return np.sqrt(np.maximum(squared, 0.0))


def _blocks(n: int, block_rows: int):
    for start in range(0, n, block_rows):
        yield slice(start, min(start + block_rows, n))


def kth_neighbour_distances(features, k: int, block_rows: int = BLOCK_ROWS) -> np.ndarray:
    """[n] distance from each point to its k-th nearest other point of ``features``."""
    features = _as_features(features, "features")
    if not 1 <= k < len(features):
        raise ValueError(f"k must lie in [1, {len(features) - 1}] for {len(features)} points, got {k}.")
    radii = np.empty(len(features))
    for rows in _blocks(len(features), block_rows):
        distances = _distances(features[rows], features)
        distances[np.arange(rows.stop - rows.start), np.arange(rows.start, rows.stop)] = -1.0  # itself first
        radii[rows] = np.partition(distances, k, axis=1)[:, k]
    return radii


class ManifoldReference:
    """The real features with their k-NN radii, computed once and scored against any number of
    generated sets (``score``)."""

    def __init__(self, real, precision_recall_k: int = PRECISION_RECALL_K,
                 density_coverage_k: int = DENSITY_COVERAGE_K, block_rows: int = BLOCK_ROWS):
        self.real = _as_features(real, "real")
        self.precision_recall_k, self.density_coverage_k = precision_recall_k, density_coverage_k
        self.block_rows = block_rows
        self.radii_pr = kth_neighbour_distances(self.real, precision_recall_k, block_rows)
        self.radii_dc = kth_neighbour_distances(self.real, density_coverage_k, block_rows)

    def score(self, generated) -> Dict[str, float]:
        """precision, recall, density and coverage of ``generated`` against the real features."""
        real = self.real
        generated = _as_features(generated, "generated")
        if real.shape[1] != generated.shape[1]:
            raise ValueError(f"real and generated features differ in width: {real.shape[1]} against "
                             f"{generated.shape[1]}.")
        generated_pr = kth_neighbour_distances(generated, self.precision_recall_k, self.block_rows)
        in_real_pr = np.zeros(len(generated), dtype=bool)  # Y_j in some real ball (precision)
        balls_holding = np.zeros(len(generated))  # number of real balls holding Y_j (density)
        recalled = np.zeros(len(real), dtype=bool)  # X_i in some generated ball (recall)
        covered = np.zeros(len(real), dtype=bool)  # X_i's ball holds some Y_j (coverage)
        for rows in _blocks(len(real), self.block_rows):
            distances = _distances(real[rows], generated)  # [block, M]
            in_real_pr |= (distances < self.radii_pr[rows, None]).any(axis=0)
            inside_dc = distances < self.radii_dc[rows, None]
            balls_holding += inside_dc.sum(axis=0)
            covered[rows] = inside_dc.any(axis=1)
            recalled[rows] = (distances < generated_pr[None, :]).any(axis=1)
        return {
            "precision": float(in_real_pr.mean()),
            "recall": float(recalled.mean()),
            "density": float(balls_holding.mean() / self.density_coverage_k),
            "coverage": float(covered.mean()),
        }


def manifold_metrics(real, generated, precision_recall_k: int = PRECISION_RECALL_K,
                     density_coverage_k: int = DENSITY_COVERAGE_K, block_rows: int = BLOCK_ROWS) -> Dict[str, float]:
    """precision, recall, density and coverage of ``generated`` against ``real`` features."""
    return ManifoldReference(real, precision_recall_k, density_coverage_k, block_rows).score(generated)


def scores_or_nan(real, generated, precision_recall_k: int = PRECISION_RECALL_K,
                  density_coverage_k: int = DENSITY_COVERAGE_K) -> Dict[str, float]:
    """``manifold_metrics``, or NaN for all four when a generated feature is not finite (a
    diverged generator), so that an evaluation reports it rather than stopping."""
    if not np.isfinite(np.asarray(generated, dtype=np.float64)).all():
        return {key: float("nan") for key in ("precision", "recall", "density", "coverage")}
    return manifold_metrics(real, generated, precision_recall_k, density_coverage_k)


MEANINGS = {
    "precision": "share of generated points inside the real points' k-NN balls (sample quality; k=3)",
    "recall": "share of real points inside the generated points' k-NN balls (mode coverage; k=3)",
    "density": "real k-NN balls holding a generated point, per point, over k; 1 when the two agree (k=5)",
    "coverage": "share of real points whose k-NN ball holds a generated point (mode coverage; k=5)",
}


@register_metric("prdc", meanings=MEANINGS)
def prdc_metric(model, dataset, num_samples: int = 10_000, heldout=None,
                precision_recall_k: int = PRECISION_RECALL_K, density_coverage_k: int = DENSITY_COVERAGE_K,
                seed: int = 0) -> Dict[str, float]:
    """Precision/recall and density/coverage on the data space itself (the mixtures: 2-D points).

    ``num_samples`` generated points against as many real ones, drawn without replacement with
    ``seed`` from ``heldout`` (a fresh draw of the data, as the mixtures entry point passes), else
    from ``dataset.points``; all of them where there are fewer.
    """
    source = np.asarray(dataset.points if heldout is None else heldout)
    real = source[np.sort(np.random.default_rng(seed).choice(len(source), min(num_samples, len(source)),
                                                             replace=False))]
    generated = np.asarray(model.generate(num_samples))
    return scores_or_nan(real, generated, precision_recall_k, density_coverage_k)
