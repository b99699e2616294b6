"""Training in a run directory: it resumes after the finished epochs, and its history's
wall time continues across stretches."""

import json
import os

import keras
import numpy as np
import tensorflow as tf

from age_tf import callbacks
from age_tf.experiments import run_directory, training


def _tiny_regression(seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def _epochs_in_history(output_dir):
    with open(os.path.join(output_dir, run_directory.HISTORY_FILE)) as f:
        return [json.loads(line)["epoch"] for line in f]


def test_training_resumes_after_the_finished_epochs_and_skips_a_finished_run(tmp_path):
    output_dir = str(tmp_path)
    x = np.random.default_rng(0).normal(size=(12, 2)).astype("float32")
    batches = tf.data.Dataset.from_tensor_slices((x, x.sum(axis=1, keepdims=True))).batch(4).repeat()
    fit = dict(steps_per_epoch=3, checkpoint_every=1, tensorboard=False)

    model = _tiny_regression(0)
    state = training.resume_training(model, output_dir, resume=True)
    assert (state.initial_epoch, state.earlier_seconds) == (0, 0.0)  # nothing to resume
    state.fit(model, batches, epochs=2, guard=callbacks.StopOnNonFinite(), **fit)
    assert _epochs_in_history(output_dir) == [1, 2]
    with open(os.path.join(output_dir, run_directory.HISTORY_FILE)) as f:
        epoch_2_seconds = [json.loads(line) for line in f][1]["wall_s"]

    restored = _tiny_regression(1)  # other initial weights: the checkpoint must replace them
    resumed = training.resume_training(restored, output_dir, resume=True)
    assert (resumed.initial_epoch, resumed.earlier_seconds) == (2, epoch_2_seconds)
    np.testing.assert_array_equal(restored.get_weights()[0], model.get_weights()[0])
    resumed.fit(restored, batches, epochs=2, guard=callbacks.StopOnNonFinite(), **fit)
    assert _epochs_in_history(output_dir) == [1, 2]  # already finished: not trained again
    resumed.fit(restored, batches, epochs=3, guard=callbacks.StopOnNonFinite(), **fit)
    assert _epochs_in_history(output_dir) == [1, 2, 3]
    assert int(restored.optimizer.iterations.numpy()) == 9
    info = resumed.write_run_info(10.0, eval_seconds=0.5)  # this stretch's seconds plus the earlier ones
    assert info == {"train_seconds": round(epoch_2_seconds + 10.0, 1), "eval_seconds": 0.5, "resumed_after_epoch": 2}
    on_disk = json.loads((tmp_path / "run_info.json").read_text())
    assert (on_disk["train_seconds"], on_disk["resumed_after_epoch"]) == (info["train_seconds"], 2)

    fresh = training.resume_training(_tiny_regression(2), output_dir, resume=False)
    assert (fresh.initial_epoch, fresh.earlier_seconds) == (0, 0.0)  # --noresume starts over


class _KillAtStep(keras.callbacks.Callback):
    """Stands in for a kill: raises after the run's ``step``-th step of this stretch."""

    def __init__(self, step):
        super().__init__()
        self.step, self.seen = step, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            raise KeyboardInterrupt


def test_a_run_killed_mid_epoch_resumes_from_its_step_checkpoint(tmp_path, capsys):
    """5 steps an epoch, a checkpoint every 3 steps: killed after step 8 (epoch 2, step 3), the run
    has the epoch-end checkpoint of epoch 1 and the mid-epoch one of step 6 (epoch 2, step 1). It
    resumes from step 6, trains the 4 steps left of epoch 2, and the epoch's end removes the
    mid-epoch checkpoint."""
    from age_tf import checkpointing

    output_dir = str(tmp_path)
    x = np.random.default_rng(0).normal(size=(20, 2)).astype("float32")
    batches = tf.data.Dataset.from_tensor_slices((x, x.sum(axis=1, keepdims=True))).batch(4).repeat()
    fit = dict(steps_per_epoch=5, checkpoint_every=1, tensorboard=False, checkpoint_every_steps=3)

    model = _tiny_regression(0)
    state = training.resume_training(model, output_dir, resume=True)
    try:
        state.fit(model, batches, epochs=3, guard=callbacks.StopOnNonFinite(), extra=[_KillAtStep(8)], **fit)
    except KeyboardInterrupt:
        pass
    steps_dir = os.path.join(output_dir, run_directory.CHECKPOINT_DIR, checkpointing.STEPS_DIR)
    assert sorted(p for p in os.listdir(steps_dir) if p.endswith(".index")) == ["ckpt-6.index"]
    assert _epochs_in_history(output_dir) == [1]
    capsys.readouterr()

    restored = _tiny_regression(1)
    resumed = training.resume_training(restored, output_dir, resume=True)
    assert (resumed.initial_epoch, resumed.initial_step) == (1, 1)
    assert int(restored.optimizer.iterations.numpy()) == 6
    assert f"Resuming after epoch 1, 1 steps into epoch 2, from {steps_dir}/ckpt-6" in capsys.readouterr().out
    guard = callbacks.StopOnNonFinite()
    resumed.fit(restored, batches, epochs=3, guard=guard, **fit)
    assert int(restored.optimizer.iterations.numpy()) == 15  # 6 + the 4 left of epoch 2 + epoch 3's 5
    guard.on_epoch_begin(1)  # had epoch 2's first resumed batch diverged, it would be that epoch's batch 2
    guard.on_train_batch_end(0, {"d_loss": float("nan")})
    assert guard.diverged.endswith("in epoch 2, batch 2")
    assert _epochs_in_history(output_dir) == [1, 2, 3]
    assert not os.path.exists(steps_dir)  # superseded by the epoch-end checkpoints
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Run: ")]
    assert lines[0].startswith("Run: epoch 2 of 3, step 10 of 15 (67%), ")
    assert lines[-1].startswith("Run: epoch 3 of 3, step 15 of 15 (100%), ")


def test_a_step_checkpoint_older_than_the_newest_epoch_end_is_passed_over(tmp_path):
    from age_tf import checkpointing

    model = _tiny_regression(0)
    saver = checkpointing.TrainingCheckpoint(model, str(tmp_path))
    saver.save_within_epoch(0, 3, 3)
    os.rename(tmp_path / checkpointing.STEPS_DIR, tmp_path / "kept")  # as if removing it had failed
    saver.save(1)
    os.rename(tmp_path / "kept", tmp_path / checkpointing.STEPS_DIR)
    again = checkpointing.TrainingCheckpoint(_tiny_regression(1), str(tmp_path))
    assert again.restore_latest() == 1 and again.restored_step == 0
    assert again.restored_from == str(tmp_path / "ckpt-1")


def test_a_checkpoint_from_before_mid_epoch_checkpoints_still_restores(tmp_path):
    """Written without the ``step`` entry (as every checkpoint before 2026-12-06): it restores, at step 0."""
    from age_tf import checkpointing

    model = _tiny_regression(0)
    old = checkpointing.TrainingCheckpoint(model, str(tmp_path))
    old.epoch.assign(4)
    tf.train.CheckpointManager(old._without_step, str(tmp_path), max_to_keep=2).save(checkpoint_number=4)
    assert not any(name.startswith("step/") for name, _ in tf.train.list_variables(str(tmp_path / "ckpt-4")))
    restored = _tiny_regression(1)
    saver = checkpointing.TrainingCheckpoint(restored, str(tmp_path))
    assert saver.restore_latest() == 4 and saver.restored_step == 0 and not saver.skipped
    np.testing.assert_array_equal(restored.get_weights()[0], model.get_weights()[0])
