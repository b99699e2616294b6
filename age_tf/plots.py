"""Figures written by the experiments (matplotlib, no display needed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from age_tf import files  # noqa: E402


def mixture_panels(path, real, real_labels, samples, reconstructions, latents, title="", centers=None, home=None):
    """Real data, samples, reconstructions and latent codes side by side (Fig. 9).

    Reconstructions and latent codes are coloured by the mode of the real point
    they came from, so a mode that collapses onto another shows as mixed colour.
    Points are small and faint, so that where the mass lies shows as dense
    clusters and the thin bridges between them stay light; ``centers`` [K, 2]
    marks the true mode centres on the data and sample panels. ``home`` [N] (bool,
    ``age_tf.metrics.modes.returned_home``) says which reconstructions landed on
    their own mode: those that left are drawn on top as black crosses, and the
    panel's title gives the share that went home.
    """
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.3))
    lim = np.abs(real).max() + 1.0
    panels = [
        ("real data", real, real_labels),
        ("generated G(z)", samples, None),
        ("reconstruction G(E(x))", reconstructions, real_labels),
        ("latent code E(x)", latents, real_labels),
    ]
    for ax, (name, points, colours) in zip(axes, panels):
        points = np.asarray(points).reshape(len(points), -1)
        if points.shape[1] == 1:  # a one-number code (--latent_dim=1): drawn along the x axis
            points = np.concatenate([points, np.zeros_like(points)], axis=1)
        ax.scatter(
            points[:, 0], points[:, 1], s=3, alpha=0.35, linewidths=0,
            c=colours if colours is not None else "tab:blue",
            cmap="tab20" if colours is not None else None,
        )
        if centers is not None and name in ("real data", "generated G(z)"):
            ax.scatter(*np.asarray(centers).T, marker="+", s=25, c="red", linewidths=0.7)
        if home is not None and name.startswith("reconstruction"):
            home = np.asarray(home, dtype=bool)
            left = points[~home]
            ax.scatter(left[:, 0], left[:, 1], s=6, marker="x", c="black", linewidths=0.5,
                       label="left its mode")
            name = f"{name}: {home.mean():.0%} home"
        ax.set_title(name)
        ax.set_aspect("equal")
        if name != "latent code E(x)":
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path, dpi=90)


def mixture_samples_grid(path, panels, columns=4, limit=6.0, centers=None, minority=None):
    """One scatter panel of generated points per (title, points) pair (Figure 9).

    ``centers`` [K, 2] marks the true mode centres, ``minority`` [K] (booleans)
    the minority ones apart, so that a dropped minority mode shows as a bare mark.
    """
    rows = (len(panels) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 4 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (title, points) in zip(axes.ravel(), panels):
        points = np.asarray(points)
        ax.axis("on")
        ax.scatter(points[:, 0], points[:, 1], s=1, alpha=0.4)
        if centers is not None:
            centers = np.asarray(centers)
            small = np.zeros(len(centers), bool) if minority is None else np.asarray(minority, bool)
            ax.scatter(centers[~small, 0], centers[~small, 1], marker="+", s=40, c="black", linewidths=1)
            ax.scatter(centers[small, 0], centers[small, 1], marker="x", s=40, c="red", linewidths=1)
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit, limit)
        ax.set_aspect("equal")
        ax.set_title(title)
    if centers is not None:
        fig.suptitle("+ majority mode centre, x minority mode centre" if minority is not None
                     else "+ mode centre")
    fig.tight_layout()
    return _save(fig, path, dpi=80, bbox_inches="tight")


def _save(fig, path, **options):
    """Saves ``fig`` as a PNG at ``path``, written whole (``files.written_whole``), and closes it."""
    try:
        with files.written_whole(str(path), ".png") as tmp:
            fig.savefig(tmp, format="png", **options)
    finally:
        plt.close(fig)
    return path
