"""Keras' ``BatchNormalization`` and ``LeakyReLU``, computed with TensorFlow's fused kernels.

Same weights, same arithmetic, fewer TensorFlow ops. On a CPU every op has a fixed cost, and an
element-wise op over a batch of activations costs about as much as a small matrix product; the
25-Gaussian and Stacked MNIST steps spend a large share of their time in them
(``benchmarks/README.md``, Where the time goes).

- ``LeakyReLU`` takes its gradient from its output instead of its input. For a slope >= 0 the
  output has the input's sign, so the gradient is the same to the bit, and the input (the layer
  below's pre-activation) then has no other reader: TensorFlow's graph optimizer folds the
  activation into the matrix product or convolution before it (one oneDNN kernel, no separate
  ``LeakyRelu`` op). Its second derivative is not available (TensorFlow does not record a
  custom gradient's own gradient here); nothing in age_tf takes one, and a gradient penalty on D
  would need ``keras.layers.LeakyReLU``.
- ``BatchNormalization`` normalises a training batch with one ``FusedBatchNormV3`` op (and its
  gradient with one ``FusedBatchNormGradV3``) instead of Keras' casts, moments and element-wise
  arithmetic. The moving statistics follow Keras' rule: momentum, the biased batch variance. Feature
  maps of bfloat16 or float16 go in as they are (oneDNN computes the statistics in float32);
  vectors go in as float32 (the fused kernel is slow on bfloat16 vectors). Inference, masks,
  renormalisation, other axes and statistics synchronised across several replicas take Keras' own
  code.

Both are drop-in subclasses: a checkpoint of Keras' layers restores into them and back.
``batch_norm()`` is the batch norm every network of age_tf uses.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _tensorflow_backend() -> bool:
    return keras.backend.backend() == "tensorflow"


@keras.saving.register_keras_serializable(package="age_tf")
class LeakyReLU(keras.layers.LeakyReLU):
    """``keras.layers.LeakyReLU`` whose gradient reads the output (module docstring)."""

    def call(self, inputs):
        slope = float(self.negative_slope)
        if slope < 0 or not _tensorflow_backend():
            return super().call(inputs)

        @tf.custom_gradient
        def leaky_relu(x):
            y = tf.nn.leaky_relu(x, alpha=slope)

            def gradient(dy):
                # y > 0 exactly where x > 0 (slope >= 0), so this is LeakyReluGrad(dy, x).
                return tf.raw_ops.LeakyReluGrad(gradients=dy, features=y, alpha=slope)

            return y, gradient

        return leaky_relu(inputs)


@keras.saving.register_keras_serializable(package="age_tf")
class BatchNormalization(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` whose training step is one fused kernel (module docstring)."""

    def _fused(self, inputs, training, mask) -> bool:
        rank = len(inputs.shape)
        return (
            bool(training) and self.trainable and mask is None and not self.renorm
            and rank in (2, 4) and self.axis in (-1, rank - 1)
            and inputs.shape[-1] is not None and _tensorflow_backend()
            and tf.distribute.get_strategy().num_replicas_in_sync == 1
        )

    def call(self, inputs, training=None, mask=None):
        if not self._fused(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        channels = inputs.shape[-1]
        vector = len(inputs.shape) == 2
        # A reshape, not [:, None, None, :]: its gradient is a reshape too, not a StridedSliceGrad copy.
        x = tf.reshape(tf.cast(inputs, tf.float32), [-1, 1, 1, channels]) if vector else inputs
        scale = tf.cast(self.gamma, tf.float32) if self.scale else tf.ones([channels])
        offset = tf.cast(self.beta, tf.float32) if self.center else tf.zeros([channels])
        empty = tf.zeros([0])
        y, mean, variance, _, _, _ = tf.raw_ops.FusedBatchNormV3(
            x=x, scale=scale, offset=offset, mean=empty, variance=empty, epsilon=self.epsilon,
            exponential_avg_factor=1.0, data_format="NHWC", is_training=True,
        )
        # The kernel reports the unbiased variance n/(n-1) s^2; Keras averages the biased s^2.
        n = tf.cast(tf.size(x, out_type=tf.int64) // channels, tf.float32)
        variance = variance * (tf.maximum(n - 1.0, 0.0) / n)
        momentum = tf.cast(self.momentum, tf.float32)
        self.moving_mean.assign(self.moving_mean * momentum + tf.stop_gradient(mean) * (1.0 - momentum))
        self.moving_variance.assign(
            self.moving_variance * momentum + tf.stop_gradient(variance) * (1.0 - momentum))
        if vector:
            y = tf.reshape(y, [-1, channels])
        return tf.cast(y, self.compute_dtype)


def batch_norm(**kwargs) -> BatchNormalization:
    """The networks' batch norm: PyTorch's ``BatchNorm`` defaults, as the paper's code (its momentum
    0.1 is 0.9 here; epsilon 1e-5), with batch statistics over the global batch under
    tf.distribute (``synchronized``). ``kwargs`` (e.g. ``name``) go to the layer."""
    return BatchNormalization(momentum=0.9, epsilon=1e-5, synchronized=True, **kwargs)
