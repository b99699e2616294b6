"""Training in a run directory: it resumes after the finished epochs, and its history's
wall time continues across stretches."""

import json
import os

import keras
import numpy as np
import tensorflow as tf

from age_tf import callbacks
from age_tf.experiments import run_directory, training


def test_history_wall_time_continues_from_the_earlier_stretches(tmp_path):
    path = tmp_path / "history.jsonl"
    logger = training.JsonLinesLogger(str(path), earlier_seconds=500.0)
    logger.on_epoch_end(4, {"g_loss": 1.5})
    record = json.loads(path.read_text())
    assert record["epoch"] == 5 and record["g_loss"] == 1.5
    assert 500.0 <= record["wall_s"] < 560.0


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
