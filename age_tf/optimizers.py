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


@keras.saving.register_keras_serializable(package="age_tf")
class LossScale(keras.optimizers.LossScaleOptimizer):
    """Keras' dynamic loss scaling for float16 (``mixed_float16`` on GPUs without bfloat16),
    counting the steps it skips.

    The player's loss is multiplied by ``dynamic_scale`` before its gradients are taken
    (``scale_loss``); ``apply`` divides them back, applies them when every one is finite and
    doubles the scale after ``dynamic_growth_steps`` such steps, and otherwise skips the update,
    halves the scale and adds one to ``skipped_steps``. A skipped step is float16 overflow, not a
    diverged run: the losses the NaN guard reads stay finite. The scale, its growth counter and
    ``skipped_steps`` are optimizer variables, so a ``TrainingCheckpoint`` saves and restores them.
    """

    def build(self, var_list):
        super().build(var_list)
        self.skipped_steps = self.add_variable(shape=(), dtype="int64", initializer="zeros",
                                               name="skipped_steps")

    def _stateful_handle_non_finite_grads(self):
        super()._stateful_handle_non_finite_grads()
        self.skipped_steps.assign_add(1)


def with_loss_scaling(optimizer, policy_name: str):
    """``optimizer`` wrapped in ``LossScale`` under the ``mixed_float16`` policy (unless it
    already scales its loss), else as it is; None stays None."""
    if optimizer is None or policy_name != "mixed_float16" or isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return LossScale(optimizer)
