"""The DCGAN family of Stacked MNIST (Tables 8-10), at 28x28 or 32x32 and any width.

With ``image_size=28`` and ``ch=64`` these are exactly Tables 8-10 of the paper
(``age_tf.networks.stacked_mnist`` is that preset). ``image_size=32`` doubles
4 -> 8 -> 16 -> 32 instead of 4 -> 7 -> 14 -> 28: the networks for your own
images at 32x32, where a CPU trains them in minutes (the SAGAN networks of
Table 11 are the 64x64 choice). ``ch`` scales every layer: the convolutions
have ``ch``, ``2 ch`` and ``4 ch`` filters and the discriminator's joint layer
``16 ch`` units (Table 10: 1024 at ch = 64).

Generator (batch norm): z -> FC 4x4x(4ch) -> ConvT 5x5/2 (2ch) -> ConvT 5x5/2
(ch) -> ConvT 5x5/2 3, tanh. The implicit generator adds one single-channel
Gaussian noise map to the output of each layer but the last, scaled by learned
per-channel, per-pixel factors initialised to zero (Appendix C).

Encoder (batch norm): Conv 5x5/2 (ch) -> (2ch) -> (4ch) -> FC latent_dim
(deterministic) or 2 latent_dim (Gaussian: mean and log-variance).

Discriminator (no batch norm): the same convolutions with LeakyReLU 0.2,
flatten, concatenate z, FC 16ch LeakyReLU, FC 1; one logit per example.
"""

from __future__ import annotations

from typing import Optional

import keras

from age_tf.networks import fused_layers
from age_tf.networks.noise import NoiseInjection
from age_tf.networks.stochastic import StochasticNetwork, validate_kind

IMAGE_SIZES = (28, 32)
# Output padding of the three transposed convolutions: 4 -> 7 -> 14 -> 28 needs 0, 1, 1 with
# "same" padding; 4 -> 8 -> 16 -> 32 is plain doubling.
_OUTPUT_PADDING = {28: (0, 1, 1), 32: (None, None, None)}


def _check(image_size: int, ch: int):
    if image_size not in IMAGE_SIZES:
        raise ValueError(f"The DCGAN networks take {' or '.join(map(str, IMAGE_SIZES))}x images, got {image_size}.")
    if ch < 1:
        raise ValueError(f"ch must be positive, got {ch}.")


def _conv_stack(x, ch: int, batch_norm: bool, activation):
    for filters in (ch, 2 * ch, 4 * ch):
        x = keras.layers.Conv2D(filters, 5, strides=2, padding="same", use_bias=not batch_norm)(x)
        if batch_norm:
            x = fused_layers.batch_norm()(x)
        x = activation()(x)
    return x


def build_generator(latent_dim: int = 8, kind: str = "implicit", seed: Optional[int] = None,
                    image_size: int = 28, ch: int = 64) -> StochasticNetwork:
    """Table 8 at ``image_size``; ``implicit`` injects a noise map after each layer but the last."""
    validate_kind(kind)
    _check(image_size, ch)
    if kind == "gaussian":
        raise ValueError(
            "A Gaussian generator is not offered for images (Appendix C argues against it); "
            "use kind='implicit' or 'deterministic'."
        )
    noisy = kind == "implicit"
    seeds = iter(range(3) if seed is None else range(seed * 10, seed * 10 + 3))

    def maybe_noise(h):
        return NoiseInjection(seed=None if seed is None else next(seeds))(h) if noisy else h

    padding = _OUTPUT_PADDING[image_size]
    z = keras.Input((latent_dim,))
    h = keras.layers.Dense(4 * 4 * 4 * ch, use_bias=False)(z)
    h = keras.layers.Reshape((4, 4, 4 * ch))(h)
    h = keras.layers.ReLU()(fused_layers.batch_norm()(maybe_noise(h)))
    for filters, output_padding in ((2 * ch, padding[0]), (ch, padding[1])):
        h = keras.layers.Conv2DTranspose(
            filters, 5, strides=2, padding="same", output_padding=output_padding, use_bias=False
        )(h)
        h = keras.layers.ReLU()(fused_layers.batch_norm()(maybe_noise(h)))
    x = keras.layers.Conv2DTranspose(3, 5, strides=2, padding="same", output_padding=padding[2])(h)
    x = keras.layers.Activation("tanh")(x)
    body = keras.Model(z, x, name="generator_body")
    return StochasticNetwork(body, kind=kind, seed=seed, name="generator")


def build_encoder(latent_dim: int = 8, kind: str = "gaussian", seed: Optional[int] = None,
                  image_size: int = 28, ch: int = 64) -> StochasticNetwork:
    """Table 9 at ``image_size``; ``gaussian`` outputs mean and log-variance (2 latent_dim numbers)."""
    validate_kind(kind)
    _check(image_size, ch)
    if kind == "implicit":
        raise ValueError("The DCGAN networks take a deterministic or Gaussian encoder (Section 5.2.2).")
    x = keras.Input((image_size, image_size, 3))
    h = keras.layers.Flatten()(_conv_stack(x, ch, batch_norm=True, activation=keras.layers.ReLU))
    out = keras.layers.Dense(2 * latent_dim if kind == "gaussian" else latent_dim)(h)
    body = keras.Model(x, out, name="encoder_body")
    return StochasticNetwork(body, kind=kind, seed=seed, name="encoder")


def build_discriminator(latent_dim: int = 8, image_size: int = 28, ch: int = 64) -> keras.Model:
    """Table 10 at ``image_size``: D(x, z), one logit per example, shape [batch]."""
    _check(image_size, ch)
    x = keras.Input((image_size, image_size, 3), name="x")
    z = keras.Input((latent_dim,), name="z")
    leaky = lambda: fused_layers.LeakyReLU(negative_slope=0.2)  # noqa: E731
    features = keras.layers.Flatten()(_conv_stack(x, ch, batch_norm=False, activation=leaky))
    h = keras.layers.Concatenate()([features, z])
    h = leaky()(keras.layers.Dense(16 * ch)(h))
    logit = keras.layers.Reshape(())(keras.layers.Dense(1)(h))
    return keras.Model([x, z], logit, name="discriminator")
