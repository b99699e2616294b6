"""One real train_step of the AGE model for every encoder/generator kind."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from trained_variables import moved, snapshot

import age_tf
from age_tf.networks import KINDS, mlp


def make_model(kind="deterministic", divergence="kl", d_steps=1, seed=0, hidden=16, jit_compile=False, **kwargs):
    keras.utils.set_random_seed(seed)
    model = age_tf.AGE(
        mlp.build_encoder(hidden_units=hidden, kind=kind, seed=seed + 1),
        mlp.build_generator(hidden_units=hidden, kind=kind, seed=seed + 2),
        mlp.build_discriminator(hidden_units=hidden),
        divergence=divergence,
        d_steps=d_steps,
        seed=seed,
        **kwargs,
    )
    model.compile(
        d_optimizer=keras.optimizers.Adam(1e-3),
        e_optimizer=keras.optimizers.Adam(1e-3),
        g_optimizer=keras.optimizers.Adam(1e-3),
        jit_compile=jit_compile,
    )
    return model


X = age_tf.data.grid_mixture(9, seed=0).points[:96]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("jit_compile", [False, pytest.param(True, marks=pytest.mark.slow)])  # XLA compiles for seconds
def test_train_step_updates_all_players_and_reports_metrics(kind, jit_compile):
    d_steps = 2 if kind == "deterministic" else 1  # each further D step lengthens the trace by a second
    model = make_model(kind, d_steps=d_steps, jit_compile=jit_compile)
    before = {n: snapshot(getattr(model, n)) for n in ("encoder", "generator", "discriminator")}
    history = model.fit(X, batch_size=96, epochs=1, verbose=0, shuffle=False)
    for name in before:
        assert moved(before[name], getattr(model, name)), name
    assert model.d_optimizer.iterations.numpy() == d_steps  # d_steps per train_step
    assert model.e_optimizer.iterations.numpy() == 1
    assert set(history.history) == {
        "d_loss", "d_acc_e", "d_acc_g", "e_loss", "g_loss", "log_r_e", "log_r_g", "clipped_fraction"
    }
    assert all(np.isfinite(v[0]) for v in history.history.values())


def test_discriminator_step_moves_only_d_and_eg_step_moves_only_e_and_g():
    model = make_model()
    x = tf.constant(X[:32])
    e, g, d = snapshot(model.encoder), snapshot(model.generator), snapshot(model.discriminator)
    model.discriminator_step(x)
    assert moved(d, model.discriminator)
    assert not moved(e, model.encoder) and not moved(g, model.generator)
    d = snapshot(model.discriminator)
    model.encoder_generator_step(x)
    assert not moved(d, model.discriminator)
    assert moved(e, model.encoder) and moved(g, model.generator)


def test_untrained_discriminator_loss_is_near_2_log_2():
    model = make_model()
    model.discriminator_step(tf.constant(X[:64]))
    assert model.d_loss_tracker.result().numpy() == pytest.approx(2 * np.log(2), abs=0.3)


def test_clipped_fraction_counts_clipped_ratios():
    model = make_model(divergence="kl", scale_clip=1.0)
    model.encoder_generator_step(tf.constant(X[:32]))
    # With r0 = 1 every ratio but exactly 1 is clipped.
    assert model.clipped_tracker.result().numpy() == pytest.approx(1.0)


def test_batch_too_small_for_d_steps_is_a_clear_error():
    model = make_model(d_steps=5)
    with pytest.raises(ValueError, match="A batch of 4 examples does not split into 5 discriminator minibatches"):
        model.train_step(tf.constant(X[:4]))


def test_a_batch_that_does_not_split_evenly_is_refused_not_trimmed():
    model = make_model(d_steps=5)
    with pytest.raises(ValueError, match="give a multiple of 6 examples"):
        model.train_step(tf.constant(X[:62]))
    with pytest.raises(ValueError, match=r"batch_size=100 does not split into d_steps \+ 1 = 6 equal minibatches; "
                                         "use a multiple of 6, e.g. 96 or 102."):
        model.fit(X, batch_size=100, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"batch_size=32 \(Keras default\) does not split"):
        model.fit(X, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="holds 2, fewer than the 6 minibatches of a step; use 60 examples"):
        model.fit(X[:62], batch_size=60, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="batch_size=4 does not split into d_steps \\+ 1 = 6 equal minibatches; "
                                         "use a multiple of 6, e.g. 6 or 12."):
        model.fit(X, batch_size=4, epochs=1, verbose=0)
    assert model.e_optimizer.iterations.numpy() == 0  # refused before any step


def test_the_batch_check_counts_the_rows_left_after_validation_split():
    model = make_model(d_steps=1)  # 63 rows, 5% held out: Keras trains on floor(59.85) = 59 rows
    with pytest.warns(UserWarning, match="holds 59 examples; 1 of them do not fit"):
        model.fit(X[:63], batch_size=60, validation_split=0.05, epochs=1, verbose=0)


def test_a_last_batch_with_a_remainder_says_how_many_examples_it_leaves_out():
    model = make_model(d_steps=1)  # 90 examples in batches of 48: the last holds 42 = 2 x 21, all used
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X[:90], batch_size=48, epochs=1, verbose=0)
    with pytest.warns(UserWarning, match="The last batch of each epoch holds 43 examples; 1 of them do not fit"):
        model.fit(X[:91], batch_size=48, epochs=1, verbose=0)


@pytest.mark.parametrize("encoder_latent, generator_latent, discriminator_latent, listed", [
    (2, 3, 3, "the generator takes z of size 3, the encoder outputs z of size 2, the discriminator takes z of size 3"),
    (2, 2, 4, "the generator takes z of size 2, the encoder outputs z of size 2, the discriminator takes z of size 4"),
])
def test_networks_that_disagree_on_the_latent_size_are_refused(encoder_latent, generator_latent,
                                                               discriminator_latent, listed):
    with pytest.raises(ValueError) as caught:
        age_tf.AGE(mlp.build_encoder(latent_dim=encoder_latent, hidden_units=8),
                   mlp.build_generator(latent_dim=generator_latent, hidden_units=8),
                   mlp.build_discriminator(latent_dim=discriminator_latent, hidden_units=8))
    assert str(caught.value) == (f"The networks disagree on the latent size: {listed}; build them with the same "
                                 "latent_dim.")


def test_a_gaussian_encoder_counts_its_mean_not_its_two_halves():
    model = age_tf.AGE(mlp.build_encoder(latent_dim=3, hidden_units=8, kind="gaussian"),
                       mlp.build_generator(latent_dim=3, hidden_units=8), mlp.build_discriminator(latent_dim=3, hidden_units=8))
    assert model.latent_dim == 3


def test_bad_d_steps_rejected():
    with pytest.raises(ValueError, match="d_steps must be a positive integer"):
        make_model(d_steps=0)


@pytest.mark.slow  # two trainings of 6 s
def test_same_seed_same_training():
    a, b = make_model(seed=3), make_model(seed=3)
    a.fit(X, batch_size=48, epochs=1, verbose=0, shuffle=False)
    b.fit(X, batch_size=48, epochs=1, verbose=0, shuffle=False)
    for va, vb in zip(a.weights, b.weights):
        np.testing.assert_array_equal(va.numpy(), vb.numpy())


def test_convenience_methods_shapes():
    model = make_model("gaussian")
    assert model.encode(X[:5]).shape == (5, 2)
    assert model.encode(X[:5], mean=True).shape == (5, 2)
    assert model.generate(7).shape == (7, 2)
    assert model.reconstruct(X[:3]).shape == (3, 2)
    assert model(X[:3]).shape == (3, 2)
    np.testing.assert_array_equal(model.encode(X[:5], mean=True), model.encode(X[:5], mean=True))


def test_config_round_trip():
    model = make_model("gaussian", divergence="hellinger", scale_clip=0.5, d_steps=3)
    clone = age_tf.AGE.from_config(model.get_config())
    assert (clone.divergence.name, clone.scale_clip, clone.d_steps, clone.latent_dim) == (
        "hellinger", 0.5, 3, 2,
    )
    assert clone.encoder.kind == "gaussian"
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]


@pytest.mark.parametrize("method", [
    # A method changes only the losses: age and one baseline in the fast tier, every one in the slow.
    name if name in ("age", "hinge") else pytest.param(name, marks=pytest.mark.slow)
    for name in age_tf.methods.names(adversarial=True, bidirectional=True)
])
def test_keras_file_round_trip_keeps_outputs_and_optimizer_state(tmp_path, method):
    model = make_model("gaussian", method=method)
    model.fit(X, batch_size=48, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, age_tf.AGE) and loaded.method.name == method
    x = X[:5]
    np.testing.assert_array_equal(loaded.encode(x, mean=True), model.encode(x, mean=True))
    np.testing.assert_array_equal(loaded.generator.mean(x), model.generator.mean(x))
    for opt in ("d_optimizer", "e_optimizer", "g_optimizer"):
        for a, b in zip(getattr(model, opt).variables, getattr(loaded, opt).variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_uniform_prior_draws_uniform_codes_and_survives_the_config():
    from scipy import stats

    model = make_model(prior="uniform")
    z = np.asarray(model.sample_prior(20_000)).ravel()
    assert z.min() >= -1.0 and z.max() <= 1.0
    assert stats.kstest(z, stats.uniform(loc=-1, scale=2).cdf).pvalue > 1e-3
    assert age_tf.AGE.from_config(model.get_config()).prior == "uniform"
    normal = np.asarray(make_model().sample_prior(20_000)).ravel()
    assert stats.kstest(normal, stats.norm.cdf).pvalue > 1e-3
    with pytest.raises(ValueError, match="Unknown prior 'laplace'"):
        make_model(prior="laplace")
    model.fit(X, batch_size=48, epochs=1, verbose=0)  # trains from uniform draws


@pytest.mark.parametrize("x, message", [
    (np.array([[0.0, 1.0], [np.nan, 2.0]] * 48, np.float32), "holds 48 NaN or infinite values"),
    (np.arange(192).reshape(96, 2), "is int64; the networks take floats"),
    (np.zeros((0, 2), np.float32), "holds no examples"),
])
def test_fit_refuses_data_no_model_can_train_on(x, message):
    """Issue: NaN data trained silently to NaN weights (the guard then blamed the losses), integer data gave a
    cryptic TypeError and empty data a raw TensorFlow error."""
    with pytest.raises(ValueError, match=message):
        make_model().fit(x, batch_size=48, epochs=1, verbose=0)
