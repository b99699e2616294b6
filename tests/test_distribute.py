"""One training step under MirroredStrategy equals the single-device step.

Runs in a subprocess because the two logical CPU devices must be configured
before TensorFlow initialises.
"""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # starts processes

SCRIPT = r"""
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras, numpy as np, age_tf
from age_tf.networks import mlp

method, d_steps = sys.argv[1], 2

def build():
    keras.utils.set_random_seed(0)
    model = age_tf.AGE(
        mlp.build_encoder(hidden_units=16, kind="gaussian", seed=1),
        mlp.build_generator(hidden_units=16, kind="implicit", noise_dim=2, seed=2),
        mlp.build_discriminator(hidden_units=16), d_steps=d_steps, seed=3, method=method,
    )
    model.compile(d_optimizer=keras.optimizers.SGD(0.1), e_optimizer=keras.optimizers.SGD(0.1),
                  g_optimizer=keras.optimizers.SGD(0.1), jit_compile=False)
    return model

x = age_tf.data.grid_mixture(9, seed=0).points[:96]  # 3 minibatches of 32
single = build()
single.fit(x, batch_size=96, epochs=1, shuffle=False, verbose=0)

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    mirrored = build()
x_mirrored = age_tf.data.interleave_for_replicas(tf.constant(x), d_steps, 2).numpy()
mirrored.fit(x_mirrored, batch_size=96, epochs=1, shuffle=False, verbose=0)

worst = max(float(np.max(np.abs(a.numpy() - b.numpy()))) for a, b in zip(single.weights, mirrored.weights))
moved = max(float(np.max(np.abs(a.numpy() - b.numpy()))) for a, b in zip(single.weights, build().weights))
print(f"max weight difference {worst:.3g}; largest update {moved:.3g}")
assert moved > 1e-3, "the step did not train"
assert worst < 1e-5, worst
"""


@pytest.mark.parametrize("method", ["age", "hinge"])
def test_mirrored_step_equals_single_device_step(method):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, method], capture_output=True, text=True, timeout=300,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "max weight difference" in result.stdout
