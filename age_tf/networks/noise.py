"""Per-layer Gaussian noise maps of implicit image generators (Appendix C).

"We generate some single-channel feature maps consisting of uncorrelated
Gaussian noises, one for each layer of the generator network except the final
output image [...]. Each noise feature map is broadcasted to all channels using
learned per-pixel scaling factors and then added to the output of the
corresponding convolution." Each layer then draws from a conditional Gaussian
given the previous layers, so the image given z has an implicit distribution.

The scales are learned per pixel and per channel, as in the authors' code
(StyleGAN scales per channel only), and start at zero so that an untrained
implicit generator equals its deterministic counterpart.
"""

from __future__ import annotations

from typing import Optional

import keras
import tensorflow as tf

from age_tf import random as age_random


@keras.saving.register_keras_serializable(package="age_tf")
class NoiseInjection(keras.layers.Layer):
    """Adds w * n with n ~ N(0, 1) one map per example, w learned per pixel and channel.

    Args:
        seed: integer seed of the noise maps.

    Example:
        >>> layer = NoiseInjection(seed=0)
        >>> layer(tf.zeros([2, 4, 4, 8])).shape
        TensorShape([2, 4, 4, 8])

    Reference: Shen, Zhang and Chen, Appendix C ("Details of the implicit generator").
    """

    def __init__(self, seed: Optional[int] = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.scale = self.add_weight(
            shape=tuple(input_shape[1:]), initializer="zeros", name="scale"
        )

    def call(self, inputs):
        shape = tf.concat([tf.shape(inputs)[:-1], [1]], axis=0)
        noise = age_random.normal(shape, self.seed_generator, dtype=inputs.dtype)
        return inputs + tf.cast(self.scale, inputs.dtype) * noise

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
