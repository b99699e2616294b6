"""AGE-UGM (Appendix B): the AGE model without an encoder, D on x alone.

Theorem 2: grad_theta D_f(p_r, p_theta) = -E[s(G(z)) grad_x D(G(z))^T grad_theta G(z)]
with D = log(p_r / p_theta) and s = f~''(1/r) / r, the divergence's generator
scale. ``test_generator_gradient_is_theorem_2_on_a_linear_model`` checks the
update against that formula by hand; ``test_generator_gradient_is_the_gradient_of_the_divergence``
checks it against the true gradient of D_f between two Gaussians.
"""

import logging
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from trained_variables import moved, snapshot

import age_tf
from age_tf import checkpointing, export
from age_tf.networks import mlp, sagan

X = age_tf.data.grid_mixture(9, seed=0).points[:96]


def x_discriminator(data_dim=2, hidden=16):
    return keras.Sequential([
        keras.Input((data_dim,), name="x"),
        keras.layers.Dense(hidden),
        keras.layers.LeakyReLU(negative_slope=0.2),
        keras.layers.Dense(1),
        keras.layers.Reshape(()),
    ], name="discriminator")


def make_ugm(divergence="all", method="age", d_steps=1, jit_compile=False, seed=0):
    keras.utils.set_random_seed(seed)
    model = age_tf.AGE(
        None, mlp.build_generator(hidden_units=16, seed=seed + 1), x_discriminator(),
        divergence=divergence, method=method, d_steps=d_steps, seed=seed,
    )
    model.compile(
        d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3),
        jit_compile=jit_compile,
    )
    return model


@pytest.mark.parametrize("jit_compile", [False, pytest.param(True, marks=pytest.mark.slow)])  # XLA compiles for seconds
def test_fit_updates_generator_and_discriminator_only(jit_compile):
    model = make_ugm(d_steps=2, jit_compile=jit_compile)
    assert model.unidirectional and model.e_optimizer is None
    g, d = snapshot(model.generator), snapshot(model.discriminator)
    history = model.fit(X, batch_size=96, epochs=1, verbose=0, shuffle=False)
    assert moved(g, model.generator) and moved(d, model.discriminator)
    assert model.d_optimizer.iterations.numpy() == 2 and model.g_optimizer.iterations.numpy() == 1
    assert set(history.history) == {
        "d_loss", "d_acc_e", "d_acc_g", "g_loss", "log_r_e", "log_r_g", "clipped_fraction"
    }
    assert all(np.isfinite(v[0]) for v in history.history.values())


def test_one_ugm_step_on_64x64_images_moves_only_g_and_d():
    keras.utils.set_random_seed(0)
    model = age_tf.AGE(
        None, sagan.build_generator(8, ch=2, seed=1), sagan.build_discriminator(8, ch=2, joint=False),
        divergence="all", d_steps=1, seed=0,
    )
    model.compile()
    x = tf.random.uniform([4, 64, 64, 3], -1, 1, seed=2)
    g = snapshot(model.generator)
    model.discriminator_step(x[:2])
    assert not moved(g, model.generator)
    d = snapshot(model.discriminator)
    logs = model.train_step(x)
    assert moved(g, model.generator) and moved(d, model.discriminator)
    assert all(np.isfinite(float(v)) for v in logs.values()) and "e_loss" not in logs


@pytest.mark.parametrize("method", ["gan", "hinge"])
def test_baseline_methods_run_unidirectionally(method):
    model = make_ugm(method=method)
    g = snapshot(model.generator)
    logs = model.train_step(tf.constant(X[:64]))
    assert moved(g, model.generator) and all(np.isfinite(float(v)) for v in logs.values())


# -- Theorem 2 ------------------------------------------------------------------------

# s = f~''(1/r) / r = r^2 f''(r) per divergence, written out from Table 1.
GENERATOR_SCALES = {
    "kl": lambda r: r,
    "revkl": lambda r: np.ones_like(r),
    "js": lambda r: r / (1 + r),
    "hellinger": lambda r: np.sqrt(r) / 2,
    "pearson": lambda r: 2 * r**2,
    "all": lambda r: np.ones_like(r),
}


def linear_generator(a, b):
    gen = keras.Sequential([keras.Input((1,), dtype="float64"), keras.layers.Dense(1, dtype="float64")])
    gen.layers[0].kernel.assign([[a]])
    gen.layers[0].bias.assign([b])
    return gen


@keras.saving.register_keras_serializable(package="age_tf_tests")
class Quadratic(keras.layers.Layer):
    """D(x) = c0 + c1 x + c2 x^2 with fixed coefficients: one logit per example."""

    def __init__(self, coefficients, **kwargs):
        super().__init__(dtype="float64", **kwargs)
        self.coefficients = [float(c) for c in coefficients]

    def call(self, x):
        c0, c1, c2 = self.coefficients
        return c0 + c1 * x[:, 0] + c2 * x[:, 0] ** 2

    def get_config(self):
        return {**super().get_config(), "coefficients": self.coefficients}


def fixed_discriminator(coefficients):
    x = keras.Input((1,), dtype="float64")
    return keras.Model(x, Quadratic(coefficients)(x))


def ugm_generator_gradient(model, n, seed=0):
    """The model's generator update and the prior draws it used."""
    state = model.seed_generator.state.numpy().copy()
    x = tf.random.stateless_normal([n, 1], seed=[seed, 1], dtype=tf.float64)
    out = model.encoder_generator_gradients(x)
    assert out["encoder"] == [] and out["e_loss"] is None
    model.seed_generator.state.assign(state)
    z = model.sample_prior(n, dtype="float64").numpy()[:, 0]
    return np.array([float(g.numpy().ravel()[0]) for g in out["generator"]]), z


@pytest.mark.parametrize("divergence", list(GENERATOR_SCALES))
def test_generator_gradient_is_theorem_2_on_a_linear_model(divergence):
    # G(z) = a z + b, D(x) = w x + c: the update is -mean(s_i w [z_i, 1]).
    a, b, w, c = 0.7, -0.2, 0.9, 0.3
    model = age_tf.AGE(None, linear_generator(a, b), fixed_discriminator([c, w, 0.0]),
                       divergence=divergence, seed=0)
    grads, z = ugm_generator_gradient(model, 64)
    log_r = w * (a * z + b) + c
    s = GENERATOR_SCALES[divergence](np.exp(log_r))
    np.testing.assert_allclose(grads, [-np.mean(s * w * z), -np.mean(s * w)], rtol=1e-10)


# p_r = N(M, S^2) and p_theta = N(b, a^2) for G(z) = a z + b, z ~ N(0, 1).
M, S, A, B = 0.5, 1.0, 1.2, 0.2


def gaussian_divergence(name, a, b):
    """D_f(p_r, p_theta) = E_{p_theta}[f(p_r / p_theta)] in closed form."""
    if name == "kl":  # KL(p_r || p_theta)
        return math.log(a / S) + (S**2 + (M - b) ** 2) / (2 * a**2) - 0.5
    if name == "revkl":  # KL(p_theta || p_r)
        return math.log(S / a) + (a**2 + (b - M) ** 2) / (2 * S**2) - 0.5
    if name == "hellinger":  # 2 - 2 * Bhattacharyya coefficient
        var = S**2 + a**2
        return 2 - 2 * math.sqrt(2 * S * a / var) * math.exp(-((M - b) ** 2) / (4 * var))
    raise KeyError(name)


@pytest.mark.parametrize("divergence, reference", [
    ("kl", "kl"), ("revkl", "revkl"), ("hellinger", "hellinger"),
    ("all", "revkl"),  # s = 1, as for reverse KL
])
def test_generator_gradient_is_the_gradient_of_the_divergence(divergence, reference):
    # D = log N(x; M, S) - log N(x; b, a) exactly, the solution of the logistic regression.
    coefficients = [
        math.log(A / S) - M**2 / (2 * S**2) + B**2 / (2 * A**2),
        M / S**2 - B / A**2,
        -1 / (2 * S**2) + 1 / (2 * A**2),
    ]
    model = age_tf.AGE(None, linear_generator(A, B), fixed_discriminator(coefficients),
                       divergence=divergence, seed=1)
    grads, _ = ugm_generator_gradient(model, 500_000)
    h = 1e-5
    expected = [
        (gaussian_divergence(reference, A + h, B) - gaussian_divergence(reference, A - h, B)) / (2 * h),
        (gaussian_divergence(reference, A, B + h) - gaussian_divergence(reference, A, B - h)) / (2 * h),
    ]
    # 500k draws: the relative Monte Carlo error was 0.05-0.3% over three seeds.
    assert np.linalg.norm(grads - expected) / np.linalg.norm(expected) < 0.02, (grads, expected)


# -- Keras plumbing ------------------------------------------------------------------


def test_encoder_only_features_are_clear_errors():
    model = make_ugm()
    for call in (lambda: model.encode(X[:2]), lambda: model.reconstruct(X[:2]), lambda: model(X[:2])):
        with pytest.raises(ValueError, match="unidirectional \\(AGE-UGM, encoder=None"):
            call()
    with pytest.raises(ValueError, match="takes no e_optimizer"):
        model.compile(e_optimizer=keras.optimizers.Adam())
    assert model.generate(3).shape == (3, 2)


def test_discriminator_inputs_must_match_the_mode():
    gen = mlp.build_generator(hidden_units=8)
    with pytest.raises(ValueError, match="takes x alone, but this one takes 2 inputs"):
        age_tf.AGE(None, gen, mlp.build_discriminator(hidden_units=8))
    with pytest.raises(ValueError, match="takes \\[x, z\\], but this one takes 1 input"):
        age_tf.AGE(mlp.build_encoder(hidden_units=8), gen, x_discriminator())


def test_config_and_keras_file_round_trip(tmp_path):
    model = make_ugm(divergence="kl")
    clone = age_tf.AGE.from_config(model.get_config())
    assert clone.encoder is None and clone.divergence.name == "kl"
    model.fit(X, batch_size=48, epochs=1, verbose=0)
    model.save(tmp_path / "ugm.keras")
    loaded = keras.models.load_model(tmp_path / "ugm.keras")
    assert loaded.unidirectional and loaded.e_optimizer is None
    z = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    np.testing.assert_array_equal(loaded.generate(z=z), model.generate(z=z))
    np.testing.assert_array_equal(loaded.discriminator(X[:5]), model.discriminator(X[:5]))
    for opt in ("d_optimizer", "g_optimizer"):
        for a, b in zip(getattr(model, opt).variables, getattr(loaded, opt).variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_checkpoint_restores_a_ugm(tmp_path):
    model = make_ugm()
    model.fit(X, batch_size=48, epochs=1, verbose=0)
    checkpointing.TrainingCheckpoint(model, str(tmp_path)).save(finished_epochs=1)
    fresh = make_ugm()
    assert checkpointing.TrainingCheckpoint(fresh, str(tmp_path)).restore_latest() == 1
    for a, b in zip(model.weights + model.g_optimizer.variables, fresh.weights + fresh.g_optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_export_skips_encoder_signatures(tmp_path, caplog):
    model = make_ugm()
    with caplog.at_level(logging.WARNING, logger="age_tf.export"):
        path = export.export_saved_model(model, str(tmp_path))
    assert "has no encoder (AGE-UGM)" in caplog.text
    loaded = tf.saved_model.load(path)
    assert {"generate", "discriminate"} <= set(loaded.signatures)
    assert not {"encode", "reconstruct"} & set(loaded.signatures)
    x = X[:4].astype(np.float32)
    logits = loaded.signatures["discriminate"](x=tf.constant(x))["logit"]
    np.testing.assert_allclose(logits, model.discriminator(x), rtol=1e-6)
