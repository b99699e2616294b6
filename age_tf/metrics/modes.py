"""Mode coverage of a grid mixture (Section 5.2, Table 4).

A generated point belongs to the nearest mode centre when it lies within
3 standard deviations of it, and is off-mode otherwise (on the "bridges"
between modes). ``modes_covered`` counts modes that received at least one
point; ``mode_kl`` is KL(q || p) between the histogram q of the on-mode points
and the true mode probabilities p, the reverse KL the paper reports because the
forward one is infinite once a mode is missing. ``minority_breakdown`` splits
that KL, by the chain rule, into the part from the wrong total mass on the
minority modes and the part from the spread within each group of modes.
``inner_fractions`` says whether a group's points sit like a Gaussian mode's
or mostly on the rim of its disc, where the bridges between modes cross it.
``modes_holding_share`` counts the modes that keep a given part of their mass.
``reconstruction_mode_accuracy`` asks the same of the encoder: the share of
held-out points whose reconstruction G(E(x)) lands back on the mode the point
was drawn from.
"""

from __future__ import annotations

import math
from typing import Dict

import numpy as np

from age_tf.metrics.registry import register_metric


def assign_modes(points, centers, std, radius_in_stds: float = 3.0) -> np.ndarray:
    """Index of the nearest centre for each point, or -1 when it is off-mode.

    ``radius_in_stds=math.inf`` assigns every point to its nearest centre, as a
    classifier of the modes would.
    """
    points = np.asarray(points, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    sq_dist = ((points[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    nearest = sq_dist.argmin(axis=1)
    within = sq_dist[np.arange(len(points)), nearest] <= (radius_in_stds * std) ** 2
    return np.where(within, nearest, -1)


def returned_home(reconstructions, labels, centers, std, radius_in_stds: float = 3.0) -> np.ndarray:
    """True where a reconstruction lies within ``radius_in_stds`` standard deviations
    of the centre of the mode ``labels`` says its input was drawn from.

    Unlike ``assign_modes`` this looks at one centre only, the point's own: a
    reconstruction on a neighbouring mode, or on a bridge, has left home.
    """
    reconstructions = np.asarray(reconstructions, dtype=np.float64)
    labels = np.asarray(labels)
    if reconstructions.ndim != 2 or labels.shape != reconstructions.shape[:1]:
        raise ValueError(f"reconstructions must be [n, d] with one label each, got {reconstructions.shape} "
                         f"and labels {labels.shape}.")
    home = np.asarray(centers, dtype=np.float64)[labels]
    return ((reconstructions - home) ** 2).sum(-1) <= (radius_in_stds * std) ** 2


def mode_counts(points, centers, num_modes: int, std, radius_in_stds: float = 3.0) -> np.ndarray:
    """Number of points assigned to each mode (off-mode points are not counted)."""
    modes = assign_modes(points, centers, std, radius_in_stds)
    return np.bincount(modes[modes >= 0], minlength=num_modes).astype(np.float64)


def histogram_kl(q, p) -> float:
    """KL(q || p) of two histograms, over the bins where q > 0."""
    seen = q > 0
    return float(np.sum(q[seen] * np.log(q[seen] / p[seen])))


def mode_statistics(points, centers, probabilities, std, radius_in_stds=3.0) -> Dict[str, float]:
    """modes_covered, mode_kl and off_mode_fraction of a set of samples."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    counts = mode_counts(points, centers, len(probabilities), std, radius_in_stds)
    return {
        "modes_covered": int((counts > 0).sum()),
        "mode_kl": histogram_kl(counts / counts.sum(), probabilities) if counts.sum() else float("inf"),
        "off_mode_fraction": float(1.0 - counts.sum() / max(len(points), 1)),
    }


def modes_holding_share(points, centers, probabilities, std, min_ratio: float, radius_in_stds=3.0) -> int:
    """Modes whose share of the on-mode points is at least ``min_ratio`` times their
    true probability: q_i >= min_ratio * p_i.

    ``modes_covered`` counts a mode with one point however much it should hold;
    this stricter count says how many modes keep a fair part of their mass (a mode
    seeking generator can leave a mode a handful of points, which is covered but
    almost dropped). The paper counts modes "using pre-trained classifiers"
    (Section 5.2) and states no threshold.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if min_ratio <= 0:
        raise ValueError(f"min_ratio={min_ratio}: give a positive fraction of the true probability "
                         "(modes_covered counts modes with any point).")
    counts = mode_counts(points, centers, len(probabilities), std, radius_in_stds)
    if not counts.sum():
        return 0
    return int((counts / counts.sum() >= min_ratio * probabilities).sum())


def minority_breakdown(points, centers, probabilities, std, radius_in_stds=3.0) -> Dict[str, float]:
    """Where ``mode_kl`` comes from on an imbalanced mixture.

    With the modes split into the minority (probability below the largest) and
    the majority group, the chain rule of KL gives exactly
    ``mode_kl = kl_between_groups + kl_within_groups``, where
    ``kl_between_groups`` = KL of the two-group histogram (the minority share q_m
    of the on-mode points against the true share p_m) and ``kl_within_groups`` =
    sum over groups g of q_g KL(q(.|g) || p(.|g)). A collapse onto the majority
    modes shows as ``minority_share`` below ``true_minority_share``; mass spread
    onto the minority modes, above it.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    minority = probabilities < probabilities.max()
    counts = mode_counts(points, centers, len(probabilities), std, radius_in_stds)
    if counts.sum() == 0:
        raise ValueError("No generated point lies on a mode: the KL and its breakdown are undefined.")
    q = counts / counts.sum()
    between = histogram_kl(np.array([q[minority].sum(), q[~minority].sum()]),
                  np.array([probabilities[minority].sum(), probabilities[~minority].sum()]))
    within = 0.0
    for group in (minority, ~minority):
        q_group = q[group].sum()
        if q_group > 0:
            within += q_group * histogram_kl(q[group] / q_group, probabilities[group] / probabilities[group].sum())
    return {
        "minority_share": float(q[minority].sum()),
        "true_minority_share": float(probabilities[minority].sum()),
        "kl_between_groups": between,
        "kl_within_groups": within,
    }


def gaussian_inner_fraction(inner_in_stds: float, radius_in_stds: float = 3.0) -> float:
    """Of the points of a 2-D isotropic Gaussian mode lying within ``radius_in_stds``
    standard deviations of its centre, the fraction within ``inner_in_stds``.

    The distance to the centre in standard deviations is Rayleigh distributed,
    P(R <= a) = 1 - exp(-a^2 / 2), so the fraction is P(R <= a) / P(R <= b).
    """
    if not 0 < inner_in_stds <= radius_in_stds:
        raise ValueError(f"inner_in_stds must lie in (0, radius_in_stds={radius_in_stds}], got {inner_in_stds}.")
    return -math.expm1(-inner_in_stds ** 2 / 2) / -math.expm1(-radius_in_stds ** 2 / 2)


def inner_fractions(points, centers, probabilities, std, inner_in_stds=1.5, radius_in_stds=3.0) -> Dict[str, float]:
    """How the on-mode points of each group of modes sit within their discs.

    ``minority_inner_fraction`` (``majority_...``) is the fraction of the points
    assigned to a minority (majority) mode that lie within ``inner_in_stds``
    standard deviations of its centre; NaN when the group received no point.
    ``gaussian_inner_fraction`` is that fraction for a true mode of the mixture
    (``gaussian_inner_fraction()``, about 0.68 for 1.5 of 3 standard deviations).
    A group well below it holds mostly points on the rim of its discs. On a grid
    the paths between neighbouring modes cross the discs of the modes between
    them, so such rim points are most likely traffic between modes, counted by
    the 3-standard-deviation rule as mass on the mode.
    """
    points = np.asarray(points, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or centers.shape[-1] != 2:
        raise ValueError("inner_fractions compares with a 2-D Gaussian mode: points and centers must be [n, 2], "
                         f"got points {points.shape} and centers {centers.shape}.")
    probabilities = np.asarray(probabilities, dtype=np.float64)
    minority = probabilities < probabilities.max()
    assigned = assign_modes(points, centers, std, radius_in_stds)
    on = assigned >= 0
    distance = np.sqrt(((points[on] - centers[assigned[on]]) ** 2).sum(-1))
    inner = distance <= inner_in_stds * std
    in_minority = minority[assigned[on]]

    def fraction(group):
        return float(inner[group].mean()) if group.any() else float("nan")

    return {
        "minority_inner_fraction": fraction(in_minority),
        "majority_inner_fraction": fraction(~in_minority),
        "gaussian_inner_fraction": gaussian_inner_fraction(inner_in_stds, radius_in_stds),
    }


@register_metric("mode_coverage", meanings={
    "modes_covered": "modes with a generated point within 3 standard deviations of their centre",
    "mode_kl": "KL(generated mode histogram || true mode probabilities); 0 when every mode has its share",
    "off_mode_fraction": "share of generated points on no mode (the bridges between modes)",
})
def mode_coverage(model, dataset, num_samples: int = 10_000) -> Dict[str, float]:
    """Mode statistics of ``num_samples`` points generated by ``model``."""
    samples = np.asarray(model.generate(num_samples))
    return mode_statistics(samples, dataset.centers, dataset.probabilities, dataset.std)


@register_metric("reconstruction_mse", meanings={
    "reconstruction_mse": "mean of ||G(E(x)) - x||^2 over held-out points x",
})
def reconstruction_mse(model, dataset, heldout=None) -> Dict[str, float]:
    """Mean squared error ||G(E(x)) - x||^2 (summed over coordinates) on held-out x."""
    x = dataset.points if heldout is None else heldout
    x = np.asarray(x, dtype=np.float32)
    recon = np.asarray(model.reconstruct(x))
    return {"reconstruction_mse": float(np.mean(np.sum((recon - x) ** 2, axis=-1)))}


@register_metric("reconstruction_mode_accuracy", meanings={
    "reconstruction_mode_accuracy": "share of held-out points x whose reconstruction G(E(x)) lies within "
                                    "3 standard deviations of the centre of x's own mode; 1 when E and G invert "
                                    "each other mode by mode",
})
def reconstruction_mode_accuracy(model, dataset, heldout=None, heldout_labels=None) -> Dict[str, float]:
    """Share of held-out points reconstructed onto their own mode (``returned_home``).

    ``heldout`` and ``heldout_labels`` (the mode each point was drawn from) come
    together; without them the training points and their labels are used.
    """
    if (heldout is None) != (heldout_labels is None):
        raise ValueError("reconstruction_mode_accuracy needs heldout and heldout_labels together: "
                         "the labels say which mode each held-out point was drawn from.")
    x, labels = (dataset.points, dataset.labels) if heldout is None else (heldout, heldout_labels)
    recon = np.asarray(model.reconstruct(np.asarray(x, dtype=np.float32)))
    home = returned_home(recon, labels, dataset.centers, dataset.std)
    return {"reconstruction_mode_accuracy": float(home.mean())}
