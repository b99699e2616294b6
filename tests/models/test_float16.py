"""AGE in mixed_float16: each player's loss scaled by its own optimizer, overflowing steps skipped
and counted (not a diverged run), the scales checkpointed and restored."""

import keras
import numpy as np
import pytest

import age_tf
from age_tf import callbacks, checkpointing, optimizers
from age_tf.networks import mlp

X = age_tf.data.grid_mixture(9, seed=0).points[:96]


@pytest.fixture
def float16_policy():
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def _model():
    keras.utils.set_random_seed(0)
    model = age_tf.AGE(
        mlp.build_encoder(hidden_units=8, kind="deterministic", seed=1),
        mlp.build_generator(hidden_units=8, kind="deterministic", seed=2),
        mlp.build_discriminator(hidden_units=8), d_steps=2, seed=0,
    )
    model.compile()
    return model


def test_each_player_scales_its_own_loss_and_trains(float16_policy):
    model = _model()
    for optimizer in (model.d_optimizer, model.e_optimizer, model.g_optimizer):
        assert isinstance(optimizer, optimizers.LossScale) and isinstance(optimizer.inner_optimizer, optimizers.Adam)
    assert model.generator.compute_dtype == "float16"
    history = model.fit(X, batch_size=48, epochs=2, verbose=0)
    logs = {key: values[-1] for key, values in history.history.items()}
    assert all(np.isfinite(logs[key]) for key in ("d_loss", "e_loss", "g_loss"))
    assert {logs["skipped_d"], logs["skipped_e"], logs["skipped_g"]} == {0.0}
    # 96 points, batches of 48, 2 D steps and 1 E/G step a batch (d_steps + 1 = 3 minibatches of 16).
    assert int(model.d_optimizer.iterations.numpy()) == 8 and int(model.g_optimizer.iterations.numpy()) == 4


def test_an_overflowing_step_is_skipped_and_counted_not_reported_as_divergence(float16_policy):
    model = _model()
    model.fit(X, batch_size=48, epochs=1, verbose=0)
    before = [w.numpy() for w in model.discriminator.weights]
    model.d_optimizer.dynamic_scale.assign(3e38)  # the scaled D loss overflows float32: inf gradients
    guard = callbacks.StopOnNonFinite()
    history = model.fit(X[:48], batch_size=48, epochs=1, verbose=0, callbacks=[guard])
    assert guard.diverged is None and np.isfinite(history.history["d_loss"][-1])
    assert history.history["skipped_d"][-1] == 2.0  # both D steps of the one batch
    assert float(model.d_optimizer.dynamic_scale.numpy()) == pytest.approx(3e38 / 4)
    for old, new in zip(before, model.discriminator.weights):
        np.testing.assert_array_equal(old, new.numpy())  # D was not moved
    assert history.history["skipped_g"][-1] == 0.0


def test_the_loss_scales_are_checkpointed_and_restored(float16_policy, tmp_path):
    model = _model()  # compile() built the optimizers' variables: no training is needed to save them
    model.g_optimizer.dynamic_scale.assign(1024.0)
    model.e_optimizer.dynamic_scale.assign(64.0)
    model.d_optimizer.skipped_steps.assign(5)
    checkpointing.TrainingCheckpoint(model, str(tmp_path)).save(1)
    fresh = _model()
    assert float(fresh.g_optimizer.dynamic_scale.numpy()) != 1024.0
    assert checkpointing.TrainingCheckpoint(fresh, str(tmp_path)).restore_latest() == 1
    assert float(fresh.g_optimizer.dynamic_scale.numpy()) == 1024.0
    assert float(fresh.e_optimizer.dynamic_scale.numpy()) == 64.0
    assert int(fresh.d_optimizer.skipped_steps.numpy()) == 5


def test_e_and_g_gradients_carry_their_own_players_scale(float16_policy):
    """One backward pass serves E and G: with E's scale 4 and G's 1024 their gradients are 4 and
    1024 times those at scale 1."""
    model = _model()
    x = X[:16]
    state = model.seed_generator.state.numpy()

    def gradients(e_scale, g_scale):
        model.seed_generator.state.assign(state)
        model.e_optimizer.dynamic_scale.assign(e_scale)
        model.g_optimizer.dynamic_scale.assign(g_scale)
        out = model.encoder_generator_gradients(x)
        return [np.asarray(g, np.float64) for g in out["encoder"]], [np.asarray(g, np.float64) for g in out["generator"]]

    e1, g1 = gradients(1.0, 1.0)
    e4, g1024 = gradients(4.0, 1024.0)
    assert any(np.abs(g).max() > 0 for g in e1) and any(np.abs(g).max() > 0 for g in g1)
    # Not exactly: at scale 1 the smallest float16 intermediates lose digits that scaling keeps.
    norm = lambda grads: np.sqrt(sum(float((g ** 2).sum()) for g in grads))  # noqa: E731
    assert norm(e4) / norm(e1) == pytest.approx(4.0, rel=0.01)
    assert norm(g1024) / norm(g1) == pytest.approx(1024.0, rel=0.01)
