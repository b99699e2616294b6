"""Writes two interleaved half-moons as an [8000, 2] float32 .npy, in units far from the unit square: a
stand-in for your own array of vectors.

    python -m experiments.own_data.make_moons --output=data/moons.npy

Each moon holds 4,000 points with Gaussian noise of 0.05; x is then scaled by 300 and shifted by 1,000,
y scaled by 40, so the mixtures' entry point has to standardise them (it does, per column).
"""

from __future__ import annotations

import os

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS


def define_flags():
    """The flags, defined only when run as a program (so that importing this module defines none)."""
    flags.DEFINE_string("output", "data/moons.npy", "The .npy file to write.")
    flags.DEFINE_integer("seed", 0, "Seed of the draw.")


def moons(seed: int = 0, per_moon: int = 4000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0.0, np.pi, per_moon)
    upper = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    lower = np.stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)], axis=1)
    points = np.concatenate([upper, lower]) + rng.normal(0.0, 0.05, (2 * per_moon, 2))
    return (points * [300.0, 40.0] + [1000.0, 0.0]).astype(np.float32)


def main(argv):
    del argv
    os.makedirs(os.path.dirname(FLAGS.output) or ".", exist_ok=True)
    np.save(FLAGS.output, moons(FLAGS.seed))
    print(f"Wrote {FLAGS.output}: 8,000 points in 2 columns.")


if __name__ == "__main__":
    define_flags()
    app.run(main)
