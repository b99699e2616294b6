"""Fully connected networks of BiGAN's permutation-invariant MNIST setting.

Donahue, Kraehenbuehl and Darrell (ICLR 2017), Table 1, as their released code
(github jeffdonahue/bigan, ``train_mnist.sh``) builds it; not in the AGE paper:

- encoder: 784 -> FC 1024, LeakyReLU(0.2) -> FC 1024, batch norm, LeakyReLU(0.2)
  -> FC latent_dim. Under the uniform prior the code is tanh(a), in the prior's
  support [-1, 1] (the released code's 2 sigmoid(a) - 1 is tanh(a / 2), the same
  up to the scale of the last layer); under the normal prior it is linear.
- generator: z -> FC 1024, batch norm, ReLU -> FC 1024 of [h1, z] (z enters
  again), batch norm, ReLU -> FC 784, sigmoid (pixels in [0, 1]).
- joint discriminator: x -> FC 1024, LeakyReLU(0.2) -> FC 1024 of [h1, z],
  LeakyReLU(0.2) -> one logit.

Departures: the released code's discriminator normalises its second layer by
batch statistics; here D has no batch norm, since AGE reads D(x, z) as a
function of one example (its input gradients are Theorem 1's), as the AGE
paper's discriminators have none (Table 10). The released code's batch norm has
no learned scale or shift and its layers no biases; here both are Keras'
defaults. The Gaussian kind (the VAE's) outputs a mean, squashed as above, and
a log-variance: linear for the encoder, within ``PIXEL_LOG_VAR_RANGE`` for the
generator.
"""

from __future__ import annotations

from typing import Optional

import keras

from age_tf.networks import fused_layers
from age_tf.networks.stochastic import StochasticNetwork, validate_kind

DATA_DIM = 28 * 28
HIDDEN_UNITS = 1024
LATENT_DIM = 50
PRIORS = ("uniform", "normal")
_SLOPE = 0.2


def _check(kind: str, prior: str):
    validate_kind(kind)
    if kind == "implicit":
        raise ValueError("The MNIST networks are deterministic or gaussian, not implicit.")
    if prior not in PRIORS:
        raise ValueError(f"Unknown prior {prior!r}. Available: {', '.join(PRIORS)}.")


# The Gaussian generator's log-variance lies in this range (std 0.03 to 1): pixels at exactly 0 or
# 1 otherwise drive it to -inf, and the VAE's loss with it (NaN in its first epoch on MNIST).
PIXEL_LOG_VAR_RANGE = (-7.0, 0.0)


def _head(h, units: int, kind: str, squash, name: str, log_var_range=None):
    """The output layer: ``squash`` of a linear layer, and for ``gaussian`` a log-variance beside it,
    linear or, with ``log_var_range`` (low, high), low + (high - low) sigmoid(a)."""
    mean = keras.layers.Dense(units, name=f"{name}_mean")(h)
    if squash is not None:
        mean = squash(mean)
    if kind != "gaussian":
        return mean
    log_var = keras.layers.Dense(units, name=f"{name}_log_var")(h)
    if log_var_range is not None:
        low, high = log_var_range
        log_var = keras.layers.Rescaling(high - low, offset=low)(keras.layers.Activation("sigmoid")(log_var))
    return keras.layers.Concatenate()([mean, log_var])


def build_encoder(latent_dim: int = LATENT_DIM, kind: str = "deterministic", prior: str = "uniform",
                  hidden_units: int = HIDDEN_UNITS, seed: Optional[int] = None) -> StochasticNetwork:
    """E(x): 784 -> 1024 -> 1024 (batch norm) -> latent_dim (module docstring)."""
    _check(kind, prior)
    x = keras.Input((DATA_DIM,))
    h = keras.layers.LeakyReLU(_SLOPE)(keras.layers.Dense(hidden_units)(x))
    h = keras.layers.Dense(hidden_units, use_bias=False)(h)
    h = keras.layers.LeakyReLU(_SLOPE)(fused_layers.batch_norm()(h))
    squash = keras.layers.Activation("tanh") if prior == "uniform" else None
    body = keras.Model(x, _head(h, latent_dim, kind, squash, "code"), name="encoder_body")
    return StochasticNetwork(body, kind=kind, seed=seed, name="encoder")


def build_generator(latent_dim: int = LATENT_DIM, kind: str = "deterministic", hidden_units: int = HIDDEN_UNITS,
                    seed: Optional[int] = None) -> StochasticNetwork:
    """G(z): z -> 1024 (batch norm) -> 1024 of [h1, z] (batch norm) -> 784 sigmoid."""
    _check(kind, "normal")
    z = keras.Input((latent_dim,))
    h = keras.layers.Dense(hidden_units, use_bias=False)(z)
    h = keras.layers.ReLU()(fused_layers.batch_norm()(h))
    h = keras.layers.Dense(hidden_units, use_bias=False)(keras.layers.Concatenate()([h, z]))
    h = keras.layers.ReLU()(fused_layers.batch_norm()(h))
    pixels = _head(h, DATA_DIM, kind, keras.layers.Activation("sigmoid"), "pixels", PIXEL_LOG_VAR_RANGE)
    return StochasticNetwork(keras.Model(z, pixels, name="generator_body"), kind=kind, seed=seed, name="generator")


def build_discriminator(latent_dim: int = LATENT_DIM, hidden_units: int = HIDDEN_UNITS) -> keras.Model:
    """D(x, z): x -> 1024 -> 1024 of [h1, z] -> one logit, shape [batch]."""
    x = keras.Input((DATA_DIM,), name="x")
    z = keras.Input((latent_dim,), name="z")
    h = fused_layers.LeakyReLU(negative_slope=_SLOPE)(keras.layers.Dense(hidden_units)(x))
    h = keras.layers.Dense(hidden_units)(keras.layers.Concatenate()([h, z]))
    h = fused_layers.LeakyReLU(negative_slope=_SLOPE)(h)
    logit = keras.layers.Reshape(())(keras.layers.Dense(1)(h))
    return keras.Model([x, z], logit, name="discriminator")
