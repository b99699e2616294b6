"""DCGAN-style networks for Stacked MNIST, exactly Tables 8-10 of the paper.

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

# Defined in noise.py (shared with the SAGAN generator); still importable from here.
from age_tf.networks import fused_layers
from age_tf.networks.noise import NoiseInjection
from age_tf.networks.stochastic import StochasticNetwork, validate_kind

IMAGE_SHAPE = (28, 28, 3)


def _conv_stack(x, batch_norm: bool, activation):
    for filters in (64, 128, 256):
        x = keras.layers.Conv2D(filters, 5, strides=2, padding="same", use_bias=not batch_norm)(x)
        if batch_norm:
            x = fused_layers.batch_norm()(x)
        x = activation()(x)
    return x


def build_generator(
    latent_dim: int = 8, kind: str = "implicit", seed: Optional[int] = None
) -> StochasticNetwork:
    """Table 8; ``implicit`` injects a noise map after each layer but the last."""
    validate_kind(kind)
    if kind == "gaussian":
        raise ValueError(
            "A Gaussian generator is not offered for images (Appendix C argues against it); "
            "use kind='implicit' or 'deterministic'."
        )
    noisy = kind == "implicit"
    seeds = iter(range(3) if seed is None else range(seed * 10, seed * 10 + 3))

    def maybe_noise(h):
        return NoiseInjection(seed=None if seed is None else next(seeds))(h) if noisy else h

    z = keras.Input((latent_dim,))
    h = keras.layers.Dense(4 * 4 * 256, use_bias=False)(z)
    h = keras.layers.Reshape((4, 4, 256))(h)
    h = keras.layers.ReLU()(fused_layers.batch_norm()(maybe_noise(h)))
    for filters, output_padding in ((128, 0), (64, 1)):
        h = keras.layers.Conv2DTranspose(
            filters, 5, strides=2, padding="same", output_padding=output_padding, use_bias=False
        )(h)
        h = keras.layers.ReLU()(fused_layers.batch_norm()(maybe_noise(h)))
    x = keras.layers.Conv2DTranspose(3, 5, strides=2, padding="same", output_padding=1)(h)
    x = keras.layers.Activation("tanh")(x)
    body = keras.Model(z, x, name="generator_body")
    return StochasticNetwork(body, kind=kind, seed=seed, name="generator")


def build_encoder(
    latent_dim: int = 8, kind: str = "gaussian", seed: Optional[int] = None
) -> StochasticNetwork:
    """Table 9; ``gaussian`` outputs mean and log-variance (16 numbers)."""
    validate_kind(kind)
    if kind == "implicit":
        raise ValueError("Stacked MNIST uses a deterministic or Gaussian encoder (Section 5.2.2).")
    x = keras.Input(IMAGE_SHAPE)
    h = keras.layers.Flatten()(_conv_stack(x, batch_norm=True, activation=keras.layers.ReLU))
    out = keras.layers.Dense(2 * latent_dim if kind == "gaussian" else latent_dim)(h)
    body = keras.Model(x, out, name="encoder_body")
    return StochasticNetwork(body, kind=kind, seed=seed, name="encoder")


def build_discriminator(latent_dim: int = 8) -> keras.Model:
    """Table 10: D(x, z), one logit per example, shape [batch]."""
    x = keras.Input(IMAGE_SHAPE, name="x")
    z = keras.Input((latent_dim,), name="z")
    leaky = lambda: fused_layers.LeakyReLU(negative_slope=0.2)  # noqa: E731
    features = keras.layers.Flatten()(_conv_stack(x, batch_norm=False, activation=leaky))
    h = keras.layers.Concatenate()([features, z])
    h = leaky()(keras.layers.Dense(1024)(h))
    logit = keras.layers.Reshape(())(keras.layers.Dense(1)(h))
    return keras.Model([x, z], logit, name="discriminator")
