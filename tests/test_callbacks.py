import json

import keras
import numpy as np
import tensorflow as tf

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
    # A dataset, not the array: fit refuses an array holding NaN before training, but
    # a dataset is not read in advance, so the guard is what catches it.
    batches = tf.data.Dataset.from_tensor_slices(x).batch(32)
    guard = callbacks.StopOnNonFinite()
    saver = checkpointing.TrainingCheckpoint(model, str(tmp_path))
    saver.save(0)
    model.fit(
        batches, epochs=3, shuffle=False, verbose=0,
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


class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_run_progress_line_counts_steps_time_and_time_left():
    from age_tf import callbacks

    clock, lines = _Clock(), []
    progress = callbacks.RunProgress(total_steps=40, steps_per_epoch=10, every_seconds=60, write=lines.append,
                                     clock=clock)
    progress.on_train_begin()
    for _ in range(10):
        clock.now += 3.0
        progress.on_train_batch_end(0)
    progress.on_epoch_end(0)
    # 10 of 40 steps in 30 s: 30 steps left at 3 s each.
    assert lines == ["Run: epoch 1 of 4, step 10 of 40 (25%), 30s elapsed, about 1m30s left"]
    for _ in range(25):  # a long stretch within epoch 2-3: a line once a minute
        clock.now += 3.0
        progress.on_train_batch_end(0)
    assert lines[1:] == ["Run: epoch 3 of 4, step 30 of 40 (75%), 1m30s elapsed, about 30s left"]


def test_run_progress_counts_a_resumed_runs_earlier_stretch():
    from age_tf import callbacks

    clock, lines = _Clock(), []
    progress = callbacks.RunProgress(total_steps=8160, steps_per_epoch=272, initial_steps=272 * 29,
                                     earlier_seconds=3 * 3600 + 60, every_seconds=0, write=lines.append,
                                     clock=clock)  # every_seconds=0: epoch ends only
    progress.on_train_begin()
    progress.on_epoch_end(28)  # nothing trained yet in this stretch: no pace to extrapolate
    for _ in range(272):
        clock.now += 0.5
        progress.on_train_batch_end(0)
    progress.on_epoch_end(29)
    assert lines == ["Run: epoch 29 of 30, step 7,888 of 8,160 (97%), 3h01m elapsed, time left not known yet",
                     "Run: epoch 30 of 30, step 8,160 of 8,160 (100%), 3h03m elapsed, about 0s left"]


def test_duration_text():
    from age_tf.callbacks import duration_text

    assert [duration_text(s) for s in (0, 59.4, 60, 725, 3600, 10_921)] == ["0s", "59s", "1m00s", "12m05s",
                                                                            "1h00m", "3h02m"]


def test_run_progress_keeps_its_clock_across_the_two_fits_of_a_mid_epoch_resume():
    from age_tf import callbacks

    clock, lines = _Clock(), []
    progress = callbacks.RunProgress(total_steps=20, steps_per_epoch=10, initial_steps=6, every_seconds=0,
                                     write=lines.append, clock=clock)
    progress.on_train_begin()  # the shortened epoch 1: 4 steps
    for _ in range(4):
        clock.now += 2.0
        progress.on_train_batch_end(0)
    progress.on_epoch_end(0)
    progress.on_train_begin()  # epoch 2, a second fit: the elapsed time and the pace carry on
    clock.now += 2.0
    progress.on_train_batch_end(0)
    progress.on_epoch_end(1)
    assert lines == ["Run: epoch 1 of 2, step 10 of 20 (50%), 8s elapsed, about 20s left",
                     "Run: epoch 2 of 2, step 11 of 20 (55%), 10s elapsed, about 18s left"]


def test_after_a_mid_epoch_resume_the_guard_numbers_batches_from_the_epoch_start():
    guard = callbacks.StopOnNonFinite()
    guard.set_model(make())
    guard.resumed_within(2, 40)  # the rest of epoch 3, from its 41st step
    guard.on_epoch_begin(2)
    guard.on_train_batch_end(0, {"d_loss": 0.7})
    assert guard.diverged is None
    guard.on_train_batch_end(4, {"d_loss": np.nan})
    assert guard.diverged == "The discriminator loss became NaN or infinite in epoch 3, batch 45"
    later = callbacks.StopOnNonFinite()
    later.set_model(make())
    later.resumed_within(2, 40)
    later.on_epoch_begin(3)  # the epochs after it count from 1 again
    later.on_train_batch_end(4, {"g_loss": np.inf})
    assert later.diverged.endswith("in epoch 4, batch 5")


def test_history_wall_time_continues_from_the_earlier_stretches(tmp_path):
    path = tmp_path / "history.jsonl"
    logger = callbacks.JsonLinesLogger(str(path), earlier_seconds=500.0)
    logger.on_epoch_end(4, {"g_loss": 1.5})
    record = json.loads(path.read_text())
    assert record["epoch"] == 5 and record["g_loss"] == 1.5
    assert 500.0 <= record["wall_s"] < 560.0
