"""Fully connected networks for low-dimensional data (Appendix E.1).

The mixture-of-Gaussians experiments use a generator with two and an encoder
with three fully connected layers of 500 units (batch norm, ReLU), and a joint
discriminator made of three modules, on x, on z and on their concatenated
features, each two layers of 400 units with LeakyReLU, whose three scores are
averaged.

``dense_init`` picks how every Dense layer starts: ``"glorot"`` (Keras'
default: Glorot-uniform weights, zero biases) or ``"torch"`` (PyTorch's
``nn.Linear`` default, which the authors' code uses: weights and biases both
uniform in +-1/sqrt(fan_in)). On 2-D inputs the two differ most in the first
layer: Glorot's weights are about 6 times smaller there and its zero biases put
every unit's kink at the origin.
"""

from __future__ import annotations

import math
from typing import Optional

import keras

from age_tf.networks import fused_layers
from age_tf.networks.stochastic import StochasticNetwork, validate_kind

DENSE_INITS = ("glorot", "torch")


def dense(units: int, fan_in: int, dense_init: str = "glorot", **kwargs) -> keras.layers.Dense:
    """A Dense layer initialised as ``dense_init`` says (module docstring)."""
    if dense_init not in DENSE_INITS:
        raise ValueError(f"Unknown dense_init {dense_init!r}. Available: {', '.join(DENSE_INITS)}.")
    if dense_init == "torch":
        bound = 1.0 / math.sqrt(fan_in)
        # VarianceScaling(1/3, fan_in, uniform) is uniform in +-sqrt(3 * (1/3) / fan_in).
        kwargs.setdefault("kernel_initializer", keras.initializers.VarianceScaling(
            1.0 / 3.0, mode="fan_in", distribution="uniform"))
        if kwargs.get("use_bias", True):
            kwargs.setdefault("bias_initializer", keras.initializers.RandomUniform(-bound, bound))
    return keras.layers.Dense(units, **kwargs)


def mlp_body(
    input_dim: int,
    output_dim: int,
    hidden_units: int,
    num_hidden_layers: int,
    batch_norm: bool = True,
    name: Optional[str] = None,
    dense_init: str = "glorot",
) -> keras.Model:
    """Dense -> [BatchNorm] -> ReLU, num_hidden_layers times, then a linear output."""
    inputs = keras.Input((input_dim,))
    h, fan_in = inputs, input_dim
    for _ in range(num_hidden_layers):
        h = dense(hidden_units, fan_in, dense_init, use_bias=not batch_norm)(h)
        fan_in = hidden_units
        if batch_norm:
            h = fused_layers.batch_norm()(h)
        h = keras.layers.ReLU()(h)
    outputs = dense(output_dim, fan_in, dense_init)(h)
    return keras.Model(inputs, outputs, name=name)


def _conditional_sampler(
    input_dim, output_dim, hidden_units, num_hidden_layers, kind, noise_dim, seed, name, dense_init
):
    validate_kind(kind)
    if kind == "implicit" and noise_dim <= 0:
        raise ValueError("kind='implicit' needs noise_dim > 0 for an MLP.")
    noise_dim = noise_dim if kind == "implicit" else 0
    body = mlp_body(
        input_dim + noise_dim,
        2 * output_dim if kind == "gaussian" else output_dim,
        hidden_units,
        num_hidden_layers,
        name=f"{name}_body",
        dense_init=dense_init,
    )
    return StochasticNetwork(body, kind=kind, noise_dim=noise_dim, seed=seed, name=name)


def build_encoder(
    data_dim: int = 2,
    latent_dim: int = 2,
    hidden_units: int = 500,
    num_hidden_layers: int = 3,
    kind: str = "deterministic",
    noise_dim: int = 2,
    seed: Optional[int] = None,
    dense_init: str = "glorot",
) -> StochasticNetwork:
    """E(x, eps): three layers of 500 (Appendix E.1)."""
    return _conditional_sampler(
        data_dim, latent_dim, hidden_units, num_hidden_layers, kind, noise_dim, seed, "encoder", dense_init
    )


def build_generator(
    latent_dim: int = 2,
    data_dim: int = 2,
    hidden_units: int = 500,
    num_hidden_layers: int = 2,
    kind: str = "deterministic",
    noise_dim: int = 2,
    seed: Optional[int] = None,
    dense_init: str = "glorot",
) -> StochasticNetwork:
    """G(z, eps): two layers of 500 (Appendix E.1)."""
    return _conditional_sampler(
        latent_dim, data_dim, hidden_units, num_hidden_layers, kind, noise_dim, seed, "generator", dense_init
    )


def _feature_module(h, hidden_units, name, dense_init, negative_slope):
    for i in range(2):
        h = dense(hidden_units, h.shape[-1], dense_init, name=f"{name}_dense{i}")(h)
        h = fused_layers.LeakyReLU(negative_slope=negative_slope)(h)
    score = dense(1, hidden_units, dense_init, name=f"{name}_score")(h)
    return h, score


def build_discriminator(
    data_dim: int = 2,
    latent_dim: int = 2,
    hidden_units: int = 400,
    dense_init: str = "glorot",
    negative_slope: float = 0.2,
) -> keras.Model:
    """D(x, z) = (s_x + s_z + s_xz) / 3, one logit per example, shape [batch].

    ``negative_slope`` is the LeakyReLU slope (the paper gives none; the authors'
    code has PyTorch's default 0.01).
    """
    x = keras.Input((data_dim,), name="x")
    z = keras.Input((latent_dim,), name="z")
    features_x, score_x = _feature_module(x, hidden_units, "dx", dense_init, negative_slope)
    features_z, score_z = _feature_module(z, hidden_units, "dz", dense_init, negative_slope)
    joint = keras.layers.Concatenate()([features_x, features_z])
    _, score_xz = _feature_module(joint, hidden_units, "dxz", dense_init, negative_slope)
    score = keras.layers.Average()([score_x, score_z, score_xz])
    logit = keras.layers.Reshape(())(score)
    return keras.Model([x, z], logit, name="discriminator")
