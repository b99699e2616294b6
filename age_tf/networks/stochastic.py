"""Encoders and generators as conditional samplers: x ~ p(x | inputs).

The paper writes both transformations as E(x, eps) and G(z, eps) (Section 2.1)
and discusses three choices for the noise eps (Appendix C):

- ``deterministic``: no noise; p(.|inputs) is a point mass (BiGAN, Section 5.2.1).
- ``gaussian``: the network outputs a mean and a log-variance and the sample is
  mean + exp(log_var / 2) * eps, a reparameterised draw from a TFP
  ``tfd.Normal`` (the VAE encoder; Section 5.1).
- ``implicit``: eps is fed into the network (here: concatenated to the input,
  or injected inside the body by noise layers), so p(.|inputs) is implicit.
"""

from __future__ import annotations

from typing import Optional

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from age_tf import random as age_random

tfd = tfp.distributions

KINDS = ("deterministic", "gaussian", "implicit")


def validate_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(
            f"Unknown encoder/generator kind {kind!r}. Available: {', '.join(KINDS)}."
        )
    return kind


@keras.saving.register_keras_serializable(package="age_tf")
class StochasticNetwork(keras.Model):
    """A conditional sampler built around a body network.

    Args:
        body: a Keras model. For ``gaussian`` it outputs 2 * output_dim
            values (mean, then log-variance); for ``implicit`` with
            ``noise_dim > 0`` its input is the conditioning input concatenated
            with ``noise_dim`` standard normal values.
        kind: one of ``deterministic``, ``gaussian``, ``implicit``.
        noise_dim: size of the input noise for ``implicit`` (0 when the body
            injects its own noise, e.g. per-layer noise maps).
        seed: integer seed of this network's noise.

    Example:
        >>> body = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4)])
        >>> enc = StochasticNetwork(body, kind="gaussian")
        >>> enc(tf.zeros([3, 2])).shape
        TensorShape([3, 2])

    Reference: Shen, Zhang and Chen, Section 2.1 and Appendix C.
    """

    def __init__(
        self,
        body: keras.Model,
        kind: str = "deterministic",
        noise_dim: int = 0,
        seed: Optional[int] = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.body = body
        self.kind = validate_kind(kind)
        self.noise_dim = int(noise_dim)
        if self.noise_dim < 0:
            raise ValueError(f"noise_dim must be >= 0, got {noise_dim}.")
        if self.noise_dim and self.kind != "implicit":
            raise ValueError(
                f"noise_dim={noise_dim} only applies to kind='implicit', not {kind!r}."
            )
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        if body.built:
            self.built = True

    def _body_input(self, inputs):
        if self.noise_dim:
            batch = tf.shape(inputs)[0]
            noise = age_random.normal((batch, self.noise_dim), self.seed_generator, inputs.dtype)
            inputs = tf.concat([inputs, noise], axis=-1)
        return inputs

    def _gaussian_params(self, inputs, training):
        params = self.body(self._body_input(inputs), training=training)
        loc, log_var = tf.split(params, 2, axis=-1)
        return loc, log_var

    def distribution(self, inputs, training=False) -> tfd.Distribution:
        """p(.|inputs) as a TFP distribution (``gaussian`` kind only)."""
        if self.kind != "gaussian":
            raise ValueError(
                f"distribution() needs kind='gaussian'; this network is {self.kind!r}, "
                "whose conditional has no density."
            )
        loc, log_var = self._gaussian_params(inputs, training)
        return tfd.Independent(
            tfd.Normal(loc=loc, scale=tf.exp(0.5 * log_var)), reinterpreted_batch_ndims=1
        )

    def mean(self, inputs, training=False):
        """The conditional mean for ``gaussian``; the output itself otherwise.

        For ``implicit`` this is one sample, not the mean (which has no closed
        form).
        """
        if self.kind == "gaussian":
            return self._gaussian_params(inputs, training)[0]
        return self(inputs, training=training)

    def call(self, inputs, training=False):
        if self.kind != "gaussian":
            return self.body(self._body_input(inputs), training=training)
        loc, log_var = self._gaussian_params(inputs, training)
        # Reparameterised draw from tfd.Normal(loc, exp(log_var / 2)); the noise
        # comes from keras.random so that one SeedGenerator drives every draw.
        eps = age_random.normal(tf.shape(loc), self.seed_generator, dtype=loc.dtype)
        return loc + tf.exp(0.5 * log_var) * eps

    def get_config(self):
        config = super().get_config()
        config.update(
            body=keras.saving.serialize_keras_object(self.body),
            kind=self.kind,
            noise_dim=self.noise_dim,
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["body"] = keras.saving.deserialize_keras_object(config["body"])
        return cls(**config)
