"""Entropy of the imbalanced 9-Gaussian mixture of Table 3 (experiments/table3/results/table3.md, BUILD_NOTES.md).

-E log p_g(x) on draws from the data is at least the data's entropy for every model p_g, so this is
the floor of Table 3's NLL column on our data (and on the authors': their utils.py draws the same
mixture, std 0.3, grid spacing 2, 10,000 or 500 points a mode). Monte Carlo on 200,000 draws, seed 0.

    python experiments/table3/mixture_entropy.py
"""
import numpy as np

from age_tf.data import grid_mixture

mixture = grid_mixture(9, imbalanced=True, seed=0)
counts = np.bincount(mixture.labels, minlength=9)
weights = counts / counts.sum()
rng = np.random.default_rng(0)
labels = rng.choice(9, 200_000, p=weights)
x = mixture.centers[labels] + mixture.std * rng.standard_normal((len(labels), 2))
log_p = mixture.distribution().log_prob(x.astype(np.float32)).numpy().astype(np.float64)
print(f"mode sizes {counts.tolist()}; entropy {-log_p.mean():.4f} nats per point "
      f"(standard error {log_p.std() / np.sqrt(len(log_p)):.4f})")
