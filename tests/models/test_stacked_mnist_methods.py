"""One training step of every Table 5 / Table 7 method on the Stacked MNIST networks."""

import keras
import numpy as np
import pytest

import age_tf
from age_tf.networks import stacked_mnist

# (label, method, divergence, scale_clip, encoder kind, generator kind), as reproduce_table5's rows.
METHODS = [
    ("AGE-ALL", "age", "all", None, "gaussian", "implicit"),
    ("AGE-ALL(d)", "age", "all", None, "deterministic", "deterministic"),
    ("AGE-KL-SC0.5", "age", "kl", 0.5, "gaussian", "implicit"),
    ("f-GAN-KL", "fgan", "kl", None, "gaussian", "implicit"),
    ("GAN (JS)", "gan", "kl", None, "gaussian", "implicit"),
    ("logD-GAN", "logd", "kl", None, "gaussian", "implicit"),
    ("Hinge", "hinge", "kl", None, "gaussian", "implicit"),
]


@pytest.mark.parametrize("label, method, divergence, scale_clip, encoder_kind, generator_kind", METHODS,
                         ids=[m[0] for m in METHODS])
def test_one_step_moves_every_network_and_keeps_losses_finite(label, method, divergence, scale_clip,
                                                               encoder_kind, generator_kind):
    keras.utils.set_random_seed(0)
    model = age_tf.AGE(
        stacked_mnist.build_encoder(kind=encoder_kind, seed=1),
        stacked_mnist.build_generator(kind=generator_kind, seed=2),
        stacked_mnist.build_discriminator(),
        divergence=divergence, scale_clip=scale_clip, d_steps=1, seed=0, method=method,
    )
    adam = lambda: keras.optimizers.Adam(1e-4, beta_1=0.0)  # noqa: E731
    model.compile(d_optimizer=adam(), e_optimizer=adam(), g_optimizer=adam())
    x = np.random.default_rng(0).uniform(-1, 1, (8, 28, 28, 3)).astype("float32")  # 2 minibatches of 4
    before = {name: [w.numpy().copy() for w in net.trainable_weights]
              for name, net in (("E", model.encoder), ("G", model.generator), ("D", model.discriminator))}
    logs = model.train_step(x)  # eager: no tracing cost for a single step
    for key in ("d_loss", "e_loss", "g_loss"):
        assert np.isfinite(float(logs[key])), (label, key)
    for name, net in (("E", model.encoder), ("G", model.generator), ("D", model.discriminator)):
        moved = [not np.array_equal(a, b.numpy()) for a, b in zip(before[name], net.trainable_weights)]
        assert any(moved), f"{label}: {name} did not move"
    assert model.g_optimizer.iterations.numpy() == 1 and model.d_optimizer.iterations.numpy() == 1
    assert model.generate(2).shape == (2, 28, 28, 3) and model.reconstruct(x[:2]).shape == (2, 28, 28, 3)
