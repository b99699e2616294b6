"""Adam as one fused kernel a variable: ``keras.optimizers.Adam``'s arithmetic at a tenth of its ops.

Keras 3's Adam updates each variable with about ten element-wise TensorFlow ops (the two moments,
the square root, the division, the assignments), and AGE updates every variable of D ``d_steps``
times an iteration: on a CPU the optimizer took about a third of the 25-Gaussian step
(``benchmarks/README.md``, Where the time goes). ``Adam`` here gives each dense update to
TensorFlow's ``ResourceApplyAdam``, one op with the same formula (Kingma and Ba, Algorithm 1,
with Keras' placement of epsilon):

    m <- beta_1 m + (1 - beta_1) g,   v <- beta_2 v + (1 - beta_2) g^2,
    w <- w - lr sqrt(1 - beta_2^t) / (1 - beta_1^t) m / (sqrt(v) + epsilon).

Its slots are Keras Adam's (``_momentums``, ``_velocities``), so checkpoints of either load into
the other. AMSGrad and sparse (IndexedSlices) gradients take Keras' own update.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="age_tf")
class Adam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` whose dense updates are one ``ResourceApplyAdam`` op each."""

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        handle = lambda var: (var.value if isinstance(var, keras.Variable) else var).handle  # noqa: E731
        tf.raw_ops.ResourceApplyAdam(
            var=handle(variable), m=handle(m), v=handle(v),
            beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype), use_locking=False,
        )
