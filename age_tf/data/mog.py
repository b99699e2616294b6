"""Mixtures of Gaussians on a grid (Section 5, Appendix E.1).

9 or 25 components whose means lie on a square grid with spacing 2, each with
standard deviation 0.3. In the imbalanced version the odd-indexed components
(4 of 9, 12 of 25) hold 500 points and the others 10,000.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np


@dataclasses.dataclass(frozen=True)
class GridMixture:
    """Samples of a grid mixture, with what the metrics need to know of it."""

    points: np.ndarray  # [n, 2] float32
    labels: np.ndarray  # [n] int32, index of the component
    centers: np.ndarray  # [num_modes, 2] float32
    probabilities: np.ndarray  # [num_modes] float64, the true mode probabilities
    std: float

    def distribution(self):
        """The mixture p_r itself, as a TFP distribution over [..., 2] points (float32).

        Its ``log_prob`` is the data term of the exact log-ratio
        ``age_tf.metrics.likelihood.joint_log_ratio`` (Section 5.1).
        """
        import tensorflow_probability as tfp

        tfd = tfp.distributions
        return tfd.MixtureSameFamily(
            tfd.Categorical(probs=self.probabilities.astype(np.float32)),
            tfd.MultivariateNormalDiag(
                loc=self.centers.astype(np.float32),
                scale_diag=np.full(self.centers.shape, self.std, dtype=np.float32),
            ),
        )


def grid_centers(num_modes: int, spacing: float = 2.0) -> np.ndarray:
    """Grid means, row by row, centred on the origin."""
    side = int(round(math.sqrt(num_modes)))
    if side * side != num_modes:
        raise ValueError(f"num_modes must be a square number (9, 25, ...), got {num_modes}.")
    offsets = (np.arange(side) - (side - 1) / 2.0) * spacing
    return np.array([[a, b] for a in offsets for b in offsets], dtype=np.float32)


def points_per_mode(num_modes: int = 25, imbalanced: bool = True, majority: int = 10_000,
                minority: int = 500) -> np.ndarray:
    """Points per mode of Appendix E.1's grid: ``majority`` each, or, when ``imbalanced``,
    ``minority`` for every other mode (odd indices)."""
    counts = np.full(num_modes, majority, dtype=np.int64)
    if imbalanced:
        counts[1::2] = minority
    return counts


def grid_mixture(
    num_modes: int = 25,
    imbalanced: bool = True,
    std: float = 0.3,
    spacing: float = 2.0,
    majority: int = 10_000,
    minority: int = 500,
    seed: int = 0,
) -> GridMixture:
    """Draws the dataset of Appendix E.1 with a fixed seed."""
    centers = grid_centers(num_modes, spacing)
    counts = points_per_mode(num_modes, imbalanced, majority, minority)
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(num_modes, dtype=np.int32), counts)
    points = centers[labels] + std * rng.standard_normal((len(labels), 2))
    return GridMixture(
        points=points.astype(np.float32),
        labels=labels,
        centers=centers,
        probabilities=counts / counts.sum(),
        std=std,
    )


def heldout_draw(num_modes: int = 25, imbalanced: bool = True, data_seed: int = 0, num: int = 10_000) -> tuple:
    """(points, labels): a fresh draw of the training mixture of ``data_seed`` (seed
    ``data_seed + 1``), subsampled uniformly to ``num`` points in random order: the held-out
    points the mixtures entry point evaluates against."""
    fresh = grid_mixture(num_modes, imbalanced, seed=data_seed + 1)
    index = np.random.default_rng(data_seed + 1).choice(len(fresh.points), num, replace=False)
    return fresh.points[index], fresh.labels[index]
