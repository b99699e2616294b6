"""A run directory's files: run_info.json, the history's wall times, atomic JSON, saved flags,
and training that resumes from its checkpoints."""

import json
import os

import keras
import numpy as np
import tensorflow as tf

from age_tf import callbacks
from age_tf.experiments import run_directory


def test_run_info_records_the_onednn_choice(tmp_path, monkeypatch):
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    info = run_directory.write_run_info(str(tmp_path), 12.34, 0, eval_seconds=5.06)
    on_disk = json.loads((tmp_path / "run_info.json").read_text())
    assert on_disk == info
    assert info["TF_ENABLE_ONEDNN_OPTS"] == "0"
    assert (info["train_seconds"], info["eval_seconds"], info["resumed_after_epoch"]) == (12.3, 5.1, 0)


def test_run_info_of_a_resumed_run_adds_the_earlier_stretches(tmp_path):
    info = run_directory.write_run_info(str(tmp_path), 100.04, 11, 1726.46, eval_seconds=0.8)
    assert (info["train_seconds"], info["earlier_train_seconds"], info["resumed_after_epoch"]) == (1826.5, 1726.5, 11)


def test_recorded_wall_seconds_takes_the_last_record_of_the_restored_epoch(tmp_path):
    history = tmp_path / "history.jsonl"
    # Two stretches: killed after logging epoch 3 but before its checkpoint, resumed
    # after epoch 2 (a cumulative 250 s), then a torn line from a second kill.
    lines = [{"epoch": 1, "wall_s": 100.0}, {"epoch": 2, "wall_s": 200.0}, {"epoch": 3, "wall_s": 300.0},
             {"epoch": 3, "wall_s": 250.0}, {"epoch": 4, "wall_s": 350.5}]
    history.write_text("\n".join(json.dumps(l) for l in lines) + '\n{"epoch": 5, "wa')
    assert run_directory.recorded_wall_seconds(str(history), 3) == 250.0
    assert run_directory.recorded_wall_seconds(str(history), 4) == 350.5
    assert run_directory.recorded_wall_seconds(str(history), 0) == 0.0
    assert run_directory.recorded_wall_seconds(str(history), 9) == 0.0  # no record: nothing to add
    assert run_directory.recorded_wall_seconds(str(tmp_path / "missing.jsonl"), 2) == 0.0
    assert run_directory.earlier_train_seconds(str(tmp_path), 2) == 200.0


def test_history_wall_time_continues_from_the_earlier_stretches(tmp_path):
    path = tmp_path / "history.jsonl"
    logger = run_directory.JsonLinesLogger(str(path), earlier_seconds=500.0)
    logger.on_epoch_end(4, {"g_loss": 1.5})
    record = json.loads(path.read_text())
    assert record["epoch"] == 5 and record["g_loss"] == 1.5
    assert 500.0 <= record["wall_s"] < 560.0


def test_write_json_files_follow_the_umask_like_any_other_file(tmp_path):
    run_directory.write_json(str(tmp_path / "metrics.json"), {"modes_covered": 25})
    (tmp_path / "plain.txt").write_text("x")
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"modes_covered": 25}
    mode = os.stat(tmp_path / "metrics.json").st_mode & 0o777
    assert mode == os.stat(tmp_path / "plain.txt").st_mode & 0o777 != 0o600
    assert set(os.listdir(tmp_path)) == {"metrics.json", "plain.txt"}  # no temporary file left


def test_saved_flag_reads_values_and_booleans_of_a_runs_flags_file(tmp_path):
    assert run_directory.saved_flag(str(tmp_path), "epochs") is None  # no flags.txt
    (tmp_path / "flags.txt").write_text(
        "# Resolved flags of python -m age_tf.experiments.mog\n--epochs=30\n--imbalanced\n--notensorboard\n"
        "--output_dir=runs/a=b\n"
    )
    assert run_directory.saved_flag(str(tmp_path), "epochs") == "30"
    assert run_directory.saved_flag(str(tmp_path), "imbalanced") == "true"
    assert run_directory.saved_flag(str(tmp_path), "tensorboard") == "false"
    assert run_directory.saved_flag(str(tmp_path), "output_dir") == "runs/a=b"
    assert run_directory.saved_flag(str(tmp_path), "epoch") is None  # a prefix of another flag is not it
    assert run_directory.saved_flag(str(tmp_path), "seed") is None


def test_changed_on_resume_lists_training_settings_only():
    saved = ["--divergence=revkl", "--imbalanced", "--epochs=30", "--d_learning_rate=0.0001",
             "--notensorboard", "--seed=3"]
    current = {"divergence": "--divergence=kl", "imbalanced": "--noimbalanced", "epochs": "--epochs=45",
               "d_learning_rate": "--d_learning_rate=0.0001", "tensorboard": "--tensorboard",
               "seed": "--seed=3", "dense_init": "--dense_init=glorot"}
    # --epochs and --tensorboard may change; --dense_init is not in the saved file (a flag added later).
    assert run_directory.changed_on_resume(saved, current) == [
        ("--divergence=revkl", "--divergence=kl"), ("--imbalanced", "--noimbalanced")]
    assert run_directory.changed_on_resume(saved, {"divergence": "--divergence=revkl", "seed": "--seed=3"}) == []


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
    training = run_directory.resume_training(model, output_dir, resume=True)
    assert (training.initial_epoch, training.earlier_seconds) == (0, 0.0)  # nothing to resume
    training.fit(model, batches, epochs=2, guard=callbacks.StopOnNonFinite(), **fit)
    assert _epochs_in_history(output_dir) == [1, 2]
    with open(os.path.join(output_dir, run_directory.HISTORY_FILE)) as f:
        epoch_2_seconds = [json.loads(line) for line in f][1]["wall_s"]

    restored = _tiny_regression(1)  # other initial weights: the checkpoint must replace them
    resumed = run_directory.resume_training(restored, output_dir, resume=True)
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

    fresh = run_directory.resume_training(_tiny_regression(2), output_dir, resume=False)
    assert (fresh.initial_epoch, fresh.earlier_seconds) == (0, 0.0)  # --noresume starts over
