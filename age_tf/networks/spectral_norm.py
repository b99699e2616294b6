"""Spectral normalization (Miyato et al., 2018) that leaves the kernel variable alone.

SAGAN, and with it the paper's image networks (Appendix E.3), divides the kernel
of every convolution and linear layer of G and D by its largest singular value
sigma(W), estimated by one power iteration per training call.

``keras.layers.SpectralNormalization`` is not used: it overwrites the layer's
trainable kernel with W / sigma on every training-mode call. AGE calls the
generator in training mode during the discriminator's step and the
discriminator during the generator's step, so one player's forward pass would
move another player's weights; and no gradient flows through sigma. Here the
layer runs on W / sigma(W) computed in the forward pass (a keras.StatelessScope
maps the kernel to it), so gradients pass through sigma as in Miyato et al.
(u and v held constant) and in the authors' ``torch.nn.utils.spectral_norm``,
and a forward pass only ever updates the non-trainable power-iteration vector.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="age_tf")
class SpectralNorm(keras.layers.Wrapper):
    """Runs ``layer`` with its kernel divided by the kernel's spectral norm.

    The kernel is viewed as a matrix [prod(kernel.shape[:-1]), units]. In
    training mode each call advances the power iteration and stores the new
    estimate of the top singular vector ``u`` (of size ``units``); in
    inference mode ``u`` is read only.

    Args:
        layer: a Keras layer with a ``kernel`` (``Dense``, ``Conv2D``, ...).
        power_iterations: power-iteration steps per call (SAGAN uses 1).

    Example:
        >>> dense = SpectralNorm(keras.layers.Dense(8))
        >>> dense(tf.zeros([2, 4]), training=True).shape
        TensorShape([2, 8])

    Reference: Miyato, Kataoka, Koyama and Yoshida, "Spectral Normalization for
    Generative Adversarial Networks" (2018), Algorithm 1; Zhang et al., SAGAN
    (2019); Shen, Zhang and Chen, Appendix E.3.
    """

    def __init__(self, layer, power_iterations: int = 1, **kwargs):
        # Without autocast the power iteration reads the kernel in float32 under
        # mixed precision; the wrapped layer still computes in its own dtype.
        kwargs["autocast"] = False
        super().__init__(layer, **kwargs)
        if int(power_iterations) != power_iterations or power_iterations < 1:
            raise ValueError(
                f"power_iterations must be a positive integer, got {power_iterations!r}."
            )
        self.power_iterations = int(power_iterations)

    def build(self, input_shape):
        super().build(input_shape)
        if not hasattr(self.layer, "kernel"):
            raise ValueError(
                f"SpectralNorm wraps layers with a kernel (Dense, Conv2D, ...); "
                f"{type(self.layer).__name__} has none."
            )
        self.u = self.add_weight(
            shape=(1, self.layer.kernel.shape[-1]),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
            trainable=False,
            name="sn_u",
        )

    def _sigma_and_u(self):
        """One power-iteration step from the stored u: (sigma(W), new u)."""
        matrix = tf.reshape(self._kernel_float32(), [-1, self.layer.kernel.shape[-1]])
        u = tf.cast(self.u.value, tf.float32)
        for _ in range(self.power_iterations):
            v = tf.math.l2_normalize(tf.matmul(u, matrix, transpose_b=True))
            u = tf.math.l2_normalize(tf.matmul(v, matrix))
        # u and v are held constant, as in Miyato et al. and torch's spectral_norm;
        # the gradient of W / sigma(W) still includes sigma's dependence on W.
        u, v = tf.stop_gradient(u), tf.stop_gradient(v)
        return tf.reduce_sum(tf.matmul(v, matrix) * u), u

    def _kernel_float32(self):
        return tf.cast(self.layer.kernel.value, tf.float32)

    def normalized_kernel(self):
        """W / sigma(W) as the layer would use it in inference mode."""
        sigma, _ = self._sigma_and_u()
        return self._kernel_float32() / sigma

    def call(self, inputs, training=False):
        sigma, u = self._sigma_and_u()
        if training:
            self.u.assign(u)
        kernel = self.layer.kernel
        # The other weights keep the values they have here (an enclosing
        # StatelessScope may map them too).
        mapping = [(w, w.value) for w in self.layer.weights if w is not kernel]
        mapping.append((kernel, self._kernel_float32() / sigma))
        with keras.StatelessScope(state_mapping=mapping):
            return self.layer(inputs)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.pop("autocast", None)
        return {**config, "power_iterations": self.power_iterations}
