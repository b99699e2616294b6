"""The VAE baseline: the analytic negative ELBO (equation 8) optimised directly.

With a Gaussian encoder and a Gaussian generator, KL(p_e(x,z) || p_g(x,z)) equals
L_VAE up to a constant (Section 4.1), so a VAE optimises AGE-KL's objective in
closed form; Table 3 compares the two.
"""

from __future__ import annotations

from typing import Optional

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from age_tf import random as age_random
from age_tf.models.shared import ScalarLogsModel, deserialize_networks, serialize_networks, unpack_x

_NETWORKS = ("encoder", "generator")  # what get_config serializes

tfd = tfp.distributions


@keras.saving.register_keras_serializable(package="age_tf")
class VAE(ScalarLogsModel):
    """Gaussian encoder and generator trained on L_VAE (equation 8).

    Args:
        encoder: ``StochasticNetwork`` of kind ``gaussian`` (x -> z).
        generator: ``StochasticNetwork`` of kind ``gaussian`` (z -> x).
        latent_dim: size of z; read from the generator's input if omitted.
        seed: integer seed of the prior samples used by ``generate``.

    Reference: Kingma and Welling (2014); Shen, Zhang and Chen, Section 4.1.
    """

    def __init__(self, encoder, generator, latent_dim: Optional[int] = None, seed=None, **kwargs):
        super().__init__(**kwargs)
        for name, net in (("encoder", encoder), ("generator", generator)):
            if getattr(net, "kind", None) != "gaussian":
                raise ValueError(f"VAE needs a Gaussian {name} (kind='gaussian'), got {getattr(net, 'kind', net)!r}.")
        self.encoder = encoder
        self.generator = generator
        self.latent_dim = int(latent_dim or generator.body.inputs[0].shape[-1])
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="negative_elbo")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_nll")
        if encoder.built and generator.built:
            self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker, self.kl_tracker, self.reconstruction_tracker]

    def negative_elbo_terms(self, x, training=False):
        """(KL(p_e(z|x) || N(0, I)), -log p_g(x|z) at one reparameterised z), per example."""
        posterior = self.encoder.distribution(x, training=training)
        loc = posterior.distribution.loc
        scale = posterior.distribution.scale
        eps = age_random.normal(tf.shape(loc), self.seed_generator, dtype=loc.dtype)
        z = loc + scale * eps
        # Analytic KL to the standard normal prior (equation 8's second term).
        kl = 0.5 * tf.reduce_sum(tf.square(loc) + tf.square(scale) - 1.0 - 2.0 * tf.math.log(scale), axis=-1)
        reconstruction = -self.generator.distribution(z, training=training).log_prob(x)
        return kl, reconstruction

    def train_step(self, data):
        x = unpack_x(data)
        variables = self.encoder.trainable_variables + self.generator.trainable_variables
        with tf.GradientTape() as tape:
            # Both networks descend L_VAE = E[KL - log p_g(x|z)].
            kl, reconstruction = self.negative_elbo_terms(x, training=True)
            loss = tf.reduce_mean(kl + reconstruction)
            scaled = loss / tf.distribute.get_strategy().num_replicas_in_sync
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        self.loss_tracker.update_state(loss)
        self.kl_tracker.update_state(kl)
        self.reconstruction_tracker.update_state(reconstruction)
        return self.step_logs()

    def test_step(self, data):
        kl, reconstruction = self.negative_elbo_terms(unpack_x(data))
        self.loss_tracker.update_state(kl + reconstruction)
        self.kl_tracker.update_state(kl)
        self.reconstruction_tracker.update_state(reconstruction)
        return self.step_logs()

    def encode(self, x, mean=False):
        x = tf.convert_to_tensor(x, tf.float32)
        return self.encoder.mean(x) if mean else self.encoder(x, training=False)

    def generate(self, n=None, z=None):
        if z is None:
            z = keras.random.normal((n, self.latent_dim), seed=self.seed_generator)
        return self.generator(tf.convert_to_tensor(z, tf.float32), training=False)

    def reconstruct(self, x):
        return self.generate(z=self.encode(x))

    def call(self, x, training=False):
        return self.generator(self.encoder(x, training=training), training=training)

    def get_config(self):
        config = super().get_config()
        config.update(
            **serialize_networks(self, _NETWORKS),
            latent_dim=self.latent_dim,
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**deserialize_networks(config, _NETWORKS))
