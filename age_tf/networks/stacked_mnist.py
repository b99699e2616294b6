"""DCGAN-style networks for Stacked MNIST, exactly Tables 8-10 of the paper
(the 28x28, ch = 64 preset of ``age_tf.networks.dcgan``).

Generator (Table 8, batch norm): z in R^8 -> FC 4x4x256 -> ConvT 5x5/2 7x7x128 ->
ConvT 5x5/2 14x14x64 -> ConvT 5x5/2 28x28x3, tanh. The implicit generator adds
one single-channel Gaussian noise map to the output of each layer but the last,
scaled by learned per-channel, per-pixel factors initialised to zero
(Appendix C).

Encoder (Table 9, batch norm): 28x28x3 -> Conv 5x5/2 14x14x64 -> 7x7x128 ->
4x4x256 -> FC 8 (deterministic) or 16 (Gaussian: mean and log-variance).

Discriminator (Table 10, no batch norm): the same convolutions with LeakyReLU,
flatten, concatenate z, FC 1024 LeakyReLU, FC 1; one logit per example.
"""

from __future__ import annotations

from typing import Optional

import keras

from age_tf.networks import dcgan
# Defined in noise.py (shared with the SAGAN generator); still importable from here.
from age_tf.networks.noise import NoiseInjection  # noqa: F401
from age_tf.networks.stochastic import StochasticNetwork

IMAGE_SHAPE = (28, 28, 3)


def build_generator(
    latent_dim: int = 8, kind: str = "implicit", seed: Optional[int] = None
) -> StochasticNetwork:
    """Table 8; ``implicit`` injects a noise map after each layer but the last."""
    return dcgan.build_generator(latent_dim, kind=kind, seed=seed, image_size=28, ch=64)


def build_encoder(
    latent_dim: int = 8, kind: str = "gaussian", seed: Optional[int] = None
) -> StochasticNetwork:
    """Table 9; ``gaussian`` outputs mean and log-variance (16 numbers)."""
    return dcgan.build_encoder(latent_dim, kind=kind, seed=seed, image_size=28, ch=64)


def build_discriminator(latent_dim: int = 8) -> keras.Model:
    """Table 10: D(x, z), one logit per example, shape [batch]."""
    return dcgan.build_discriminator(latent_dim, image_size=28, ch=64)
