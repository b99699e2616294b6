"""Mode metrics of Stacked MNIST (Section 5.2.2, Table 5), from classifier outputs.

A mode classifier labels each of the three channels with a digit; the image's
mode is the 3-digit number. Over generated samples:

- ``modes_covered``: how many of the 1000 modes occur at least once;
- ``mode_kl``: KL(q || uniform) of the generated mode histogram q (the reverse
  KL the paper reports, finite when modes are missing);
- ``recon_accuracy``: share of evaluation images whose reconstruction G(E(x))
  falls in the same mode as x.
"""

from __future__ import annotations

from typing import Dict

import numpy as np

NUM_MODES = 1000


def modes_from_digits(digits) -> np.ndarray:
    """[n, 3] per-channel digits -> [n] modes 100 d0 + 10 d1 + d2."""
    digits = np.asarray(digits, dtype=np.int64)
    if digits.ndim != 2 or digits.shape[1] != 3:
        raise ValueError(f"digits must have shape [n, 3], got {digits.shape}.")
    if digits.min(initial=0) < 0 or digits.max(initial=0) > 9:
        raise ValueError("digits must lie in 0..9.")
    return 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2]


def mode_coverage(modes, num_modes: int = NUM_MODES) -> Dict[str, float]:
    """modes_covered and mode_kl = KL(q || uniform over num_modes)."""
    counts = np.bincount(np.asarray(modes, dtype=np.int64), minlength=num_modes).astype(np.float64)
    q = counts / counts.sum()
    seen = q > 0
    return {
        "modes_covered": int(seen.sum()),
        "mode_kl": float(np.sum(q[seen] * np.log(q[seen] * num_modes))),
    }


def reconstruction_accuracy(true_modes, reconstructed_modes) -> float:
    true_modes = np.asarray(true_modes)
    reconstructed_modes = np.asarray(reconstructed_modes)
    if true_modes.shape != reconstructed_modes.shape:
        raise ValueError(f"Shapes differ: {true_modes.shape} vs {reconstructed_modes.shape}.")
    return float(np.mean(true_modes == reconstructed_modes))
