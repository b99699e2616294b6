"""Frechet distance and kernel distance from feature activations.

Both take two activation matrices [n, d] from any feature network (InceptionV3
for FID/KID, the Stacked MNIST mode classifier for its Frechet distance), so
the maths is tested without a network at all.

- Frechet distance (Heusel et al., 2017):
  ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^{1/2}).
- Kernel distance (KID, Binkowski et al., 2018): the unbiased MMD^2 with the
  polynomial kernel k(a, b) = (a.b / d + 1)^3, averaged over subsets; its standard deviation
  over the subsets (``kernel_distance_subsets``) is what KID is reported with.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg


def statistics(activations) -> tuple:
    """Mean and covariance (unbiased) of [n, d] activations, in float64."""
    activations = np.asarray(activations, dtype=np.float64)
    if activations.ndim != 2 or len(activations) < 2:
        raise ValueError(f"activations must be [n >= 2, d], got shape {activations.shape}.")
    return activations.mean(axis=0), np.cov(activations, rowvar=False)


def frechet_distance(mu_a, sigma_a, mu_b, sigma_b, eps: float = 1e-6) -> float:
    """Frechet distance between N(mu_a, sigma_a) and N(mu_b, sigma_b)."""
    mu_a, mu_b = np.atleast_1d(mu_a), np.atleast_1d(mu_b)
    sigma_a, sigma_b = np.atleast_2d(sigma_a), np.atleast_2d(sigma_b)
    if mu_a.shape != mu_b.shape or sigma_a.shape != sigma_b.shape:
        raise ValueError(
            f"Statistics differ in shape: means {mu_a.shape} vs {mu_b.shape}, "
            f"covariances {sigma_a.shape} vs {sigma_b.shape}."
        )
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)  # handled just below
        covmean = linalg.sqrtm(sigma_a @ sigma_b)
    if not np.isfinite(covmean).all():
        # Singular product: regularise both covariances, as in the reference FID code.
        offset = np.eye(len(sigma_a)) * eps
        covmean = linalg.sqrtm((sigma_a + offset) @ (sigma_b + offset))
    covmean = np.real(covmean)
    diff = mu_a - mu_b
    return float(diff @ diff + np.trace(sigma_a) + np.trace(sigma_b) - 2.0 * np.trace(covmean))


def frechet_distance_from_activations(a, b) -> float:
    """Frechet distance between the Gaussians fitted to two activation sets."""
    return frechet_distance(*statistics(a), *statistics(b))


def kernel_distance_subsets(a, b, num_subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> np.ndarray:
    """[num_subsets] unbiased polynomial-kernel MMD^2 values, each on ``subset_size`` rows of
    ``a`` and of ``b`` drawn without replacement (all rows where there are fewer)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    d = a.shape[1]
    m = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(num_subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        k_xx = (x @ x.T / d + 1) ** 3
        k_yy = (y @ y.T / d + 1) ** 3
        k_xy = (x @ y.T / d + 1) ** 3
        values.append(
            (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
            + (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
            - 2 * k_xy.mean()
        )
    return np.asarray(values)


def kernel_distance_from_activations(a, b, num_subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> float:
    """KID: unbiased polynomial-kernel MMD^2, averaged over random subsets."""
    return float(np.mean(kernel_distance_subsets(a, b, num_subsets, subset_size, seed)))
