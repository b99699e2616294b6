"""Errors met during a run, each reported in its own class (issue 50): a permission error while
saving a checkpoint is a file error (exit 4) naming the file, a read-only folder of the run is
refused before training (exit 2), and running out of memory is said as such (exit 5), not as a
full disk. The failures are injected where the real ones arise: tests run as root, who may
write anywhere, and on machines whose memory differs."""

import os

import pytest
import tensorflow as tf

MOG = "age_tf.experiments.mog"
TINY = ["--num_modes=9", "--batch_size=20", "--d_steps=1", "--steps_per_epoch=3", "--num_eval_samples=300",
        "--notensorboard"]


def test_a_permission_error_while_saving_a_checkpoint_is_a_file_error_naming_it(tmp_path, run_in_process,
                                                                                monkeypatch):
    from age_tf import checkpointing

    out = tmp_path / "run"
    shard = out / "checkpoint" / "ckpt-1_temp" / "part-00000-of-00001.data-00000-of-00001.tempstate1"

    def denied(self, finished_epochs):
        raise tf.errors.PermissionDeniedError(None, None, f"{shard}; Permission denied")

    monkeypatch.setattr(checkpointing.TrainingCheckpoint, "save", denied)
    result = run_in_process(MOG, [*TINY, "--epochs=1", f"--output_dir={out}"])
    assert result.returncode == 4, result.stderr[-2000:]
    assert f"Stopped by a file error: {shard}; Permission denied. Fix the permissions" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_read_only_checkpoint_folder_is_refused_before_training(tmp_path, run_in_process, monkeypatch):
    import tempfile

    out = tmp_path / "run"
    assert run_in_process(MOG, [*TINY, "--epochs=1", f"--output_dir={out}"]).returncode == 0
    flags_file = (out / "flags.txt").read_text()
    real = tempfile.mkdtemp

    def read_only_checkpoints(*args, dir=None, **kwargs):
        if dir == str(out / "checkpoint"):
            raise PermissionError(13, "Permission denied", dir)
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkdtemp", read_only_checkpoints)
    result = run_in_process(MOG, [*TINY, "--epochs=2", f"--output_dir={out}"])
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"{out / 'checkpoint'} cannot be written (Permission denied), and the run writes there" in result.stderr
    assert (out / "flags.txt").read_text() == flags_file
    assert sorted(n for n in os.listdir(out / "checkpoint") if n.endswith(".index")) == ["ckpt-1.index"]


@pytest.mark.parametrize("error", [
    tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape[1000000000,500] and type float"),
    MemoryError(),
], ids=["tensorflow", "numpy"])
def test_running_out_of_memory_is_said_as_such(tmp_path, run_in_process, monkeypatch, error):
    import age_tf

    def out_of_memory(*args, **kwargs):
        raise error

    monkeypatch.setattr(age_tf.data, "iteration_batches", out_of_memory)  # read as the run starts
    result = run_in_process(MOG, [*TINY, "--epochs=1", f"--output_dir={tmp_path / 'run'}"])
    assert result.returncode == 5, result.stderr[-2000:]
    assert "Stopped: out of memory" in result.stderr and "Lower the sizes" in result.stderr
    assert "file error" not in result.stderr and "Free some space" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_full_disk_during_a_checkpoint_save_is_still_a_file_error(tmp_path, run_in_process, monkeypatch):
    from age_tf import checkpointing

    def disk_full(self, finished_epochs):
        raise tf.errors.ResourceExhaustedError(None, None, f"{tmp_path}/ckpt-1_temp; No space left on device")

    monkeypatch.setattr(checkpointing.TrainingCheckpoint, "save", disk_full)
    result = run_in_process(MOG, [*TINY, "--epochs=1", f"--output_dir={tmp_path / 'run'}"])
    assert result.returncode == 4 and "No space left on device. Free some space" in result.stderr


def test_damaged_data_met_during_training_is_named_with_exit_2(tmp_path, run_in_process, monkeypatch):
    """Issue 50: a damaged record read mid-training (a tfds copy with a bad shard) ended in a raw
    traceback and exit 1. Here the training batches come from a real TFRecord file with a torn
    record, so TensorFlow's own DataLossError reaches the entry point from inside fit."""
    import age_tf

    shard = tmp_path / "celeb_a-train.tfrecord-00000-of-00001"
    real = age_tf.data.iteration_batches

    def damaged(*args, **kwargs):
        spec = real(*args, **kwargs).element_spec  # the batches the run expects, read from a torn file
        with tf.io.TFRecordWriter(str(shard)) as writer:
            writer.write(tf.io.serialize_tensor(tf.zeros(spec.shape, spec.dtype)).numpy())
        shard.write_bytes(shard.read_bytes()[:-7])  # the record's end is lost
        return tf.data.TFRecordDataset(str(shard)).map(
            lambda record: tf.ensure_shape(tf.io.parse_tensor(record, spec.dtype), spec.shape)).repeat()

    monkeypatch.setattr(age_tf.data, "iteration_batches", damaged)
    result = run_in_process(MOG, [*TINY, "--epochs=1", f"--output_dir={tmp_path / 'run'}"])
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Stopped by damaged or missing data: truncated record at 0" in result.stderr
    assert "Traceback" not in result.stderr
