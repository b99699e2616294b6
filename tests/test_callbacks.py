import keras
import numpy as np

import age_tf
from age_tf import callbacks, checkpointing
from age_tf.networks import mlp


def make():
    keras.utils.set_random_seed(0)
    model = age_tf.AGE(
        mlp.build_encoder(hidden_units=8), mlp.build_generator(hidden_units=8),
        mlp.build_discriminator(hidden_units=8), d_steps=1, seed=0,
    )
    model.compile()
    return model


def test_non_finite_loss_stops_training_and_no_checkpoint_is_written_after_it(tmp_path):
    model = make()
    x = age_tf.data.grid_mixture(9, seed=0).points[:160].copy()
    x[100] = np.nan  # inside the fourth batch of 32 (minibatches of 16)
    guard = callbacks.StopOnNonFinite()
    saver = checkpointing.TrainingCheckpoint(model, str(tmp_path))
    saver.save(0)
    model.fit(
        x, batch_size=32, epochs=3, shuffle=False, verbose=0,
        callbacks=[guard, checkpointing.CheckpointEveryEpochs(saver, 1, 3, guard=guard)],
    )
    assert guard.diverged.startswith("The discriminator, encoder, generator losses became NaN")
    assert "epoch 1, batch 4" in guard.diverged
    assert model.e_optimizer.iterations.numpy() == 4  # stopped right there
    assert saver.latest.endswith("ckpt-0")


def test_finite_training_leaves_the_guard_silent():
    model = make()
    guard = callbacks.StopOnNonFinite()
    model.fit(age_tf.data.grid_mixture(9, seed=0).points[:64], batch_size=32, epochs=1,
              verbose=0, callbacks=[guard])
    assert guard.diverged is None


def test_periodic_evaluation_adds_metrics_to_the_logs():
    model = make()
    data = age_tf.data.grid_mixture(9, seed=0)
    history = model.fit(data.points[:64], batch_size=32, epochs=2, verbose=0,
                        callbacks=[callbacks.PeriodicEvaluation(["mode_coverage"], data, every=2, num_samples=200)])
    assert "eval_modes_covered" in history.history
    assert 0 <= history.history["eval_modes_covered"][-1] <= 9


def test_the_guard_reads_a_loss_given_as_one_value_a_replica():
    """MultiWorkerMirroredStrategy hands callbacks arrays (``ScalarLogsModel`` turns them back
    into scalars for the model's own logs; a user's callback order may differ)."""
    guard = callbacks.StopOnNonFinite()
    guard.set_model(make())
    guard.on_train_batch_end(0, {"d_loss": np.array([0.7]), "e_loss": np.array([0.1, 0.2])})
    assert guard.diverged is None
    guard.on_train_batch_end(1, {"d_loss": np.array([0.7]), "g_loss": np.array([0.1, np.inf])})
    assert guard.diverged == "The generator loss became NaN or infinite in epoch 1, batch 2"
