"""Which flags a resumed run may change: declared where each flag is defined."""

import json
import os
import re

import pytest
from absl import flags

from age_tf.experiments import resume, run_flags, training
from conftest import MOG_TINY


def test_changed_on_resume_lists_training_settings_only():
    saved = ["--divergence=revkl", "--imbalanced", "--epochs=30", "--d_learning_rate=0.0001",
             "--notensorboard", "--seed=3"]
    current = {"divergence": "--divergence=kl", "imbalanced": "--noimbalanced", "epochs": "--epochs=45",
               "d_learning_rate": "--d_learning_rate=0.0001", "tensorboard": "--tensorboard",
               "seed": "--seed=3", "dense_init": "--dense_init=glorot"}
    # --epochs and --tensorboard may change; --dense_init is not in the saved file (a flag added later).
    assert resume.changed_on_resume(saved, current, free={"epochs", "tensorboard"}) == [
        ("--divergence=revkl", "--divergence=kl"), ("--imbalanced", "--noimbalanced")]
    assert resume.changed_on_resume(saved, {"divergence": "--divergence=revkl", "seed": "--seed=3"}, free=set()) == []



def test_a_flag_missing_from_flags_txt_counts_as_its_default():
    """A flag added to the entry point after the run (or a deleted line) took its default then."""
    saved = ["--divergence=kl", "--seed=3"]
    defaults = {"divergence": "--divergence=kl", "seed": "--seed=0", "scale_clip": "# --scale_clip unset",
                "epochs": "--epochs=30"}
    current = {"divergence": "--divergence=kl", "seed": "--seed=3", "scale_clip": "# --scale_clip unset",
               "epochs": "--epochs=45"}
    assert resume.changed_on_resume(saved, current, {"epochs"}, defaults) == []
    current["scale_clip"] = "--scale_clip=0.5"
    assert resume.changed_on_resume(saved, current, {"epochs"}, defaults) == [
        ("no --scale_clip line", "--scale_clip=0.5")]


def test_a_flag_declared_free_on_resume_says_so_and_others_do_not():
    values = flags.FlagValues()
    free = flags.DEFINE_integer("probe_epochs", 3, "Epochs.", flag_values=values)
    values[free.name].free_on_resume = True  # what run_flags.free_on_resume does to FLAGS
    flags.DEFINE_string("probe_divergence", "kl", "Divergence.", flag_values=values)
    assert run_flags.is_free_on_resume(values["probe_epochs"])
    assert not run_flags.is_free_on_resume(values["probe_divergence"])


MOG = "age_tf.experiments.mog"
TINY = MOG_TINY


def _ckpt_indexes(out):
    return sorted(p for p in os.listdir(out / "checkpoint") if p.endswith(".index"))


def test_noresume_leaves_no_old_checkpoint_for_a_later_resume(one_epoch_mog_run, run_in_process, monkeypatch):
    """The reported case: a KL run, then --noresume with JS killed before its first checkpoint, then a
    plain rerun with JS: it must train JS from scratch, not resume the KL weights."""
    out = one_epoch_mog_run
    assert _ckpt_indexes(out) == ["ckpt-1.index"]

    def killed(*args, **kwargs):
        raise RuntimeError("killed")  # as a kill before the first checkpoint would leave the directory

    monkeypatch.setattr(training.Training, "fit", killed)
    with pytest.raises(RuntimeError, match="killed"):
        run_in_process(MOG, [*TINY, "--noresume", "--divergence=js", "--epochs=2", f"--output_dir={out}"])
    assert not (out / "checkpoint").exists() and not (out / "history.jsonl").exists()
    assert not (out / "metrics.json").exists()
    monkeypatch.undo()

    rerun = run_in_process(MOG, [*TINY, "--divergence=js", "--epochs=2", f"--output_dir={out}"])
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "Resuming" not in rerun.stdout
    assert json.loads((out / "metrics.json").read_text())["encoder_generator_steps"] == 6  # 2 epochs of 3
    assert [json.loads(l)["epoch"] for l in (out / "history.jsonl").read_text().splitlines()] == [1, 2]


def test_setting_an_unset_flag_on_resume_is_refused(one_epoch_mog_run, run_in_process):
    out = one_epoch_mog_run
    assert "# --scale_clip unset" in (out / "flags.txt").read_text().splitlines()
    flags_file = (out / "flags.txt").read_text()
    result = run_in_process(MOG, [*TINY, "--epochs=2", "--scale_clip=0.5", f"--output_dir={out}"])
    assert result.returncode == 2
    assert "--scale_clip unset there, --scale_clip=0.5 now" in result.stderr
    assert (out / "flags.txt").read_text() == flags_file and _ckpt_indexes(out) == ["ckpt-1.index"]


def test_a_checkpoint_without_flags_is_not_resumed(one_epoch_mog_run, run_in_process):
    out = one_epoch_mog_run
    (out / "flags.txt").unlink()
    for resume in ("--resume", "--noresume"):  # without flags.txt it is no run directory: nothing is removed
        result = run_in_process(MOG, [*TINY, "--epochs=2", "--divergence=js", resume, f"--output_dir={out}"])
        assert result.returncode == 2 and "already holds files (checkpoint, history.jsonl, metrics.json and" \
            in result.stderr and "but no flags.txt" in result.stderr
        assert _ckpt_indexes(out) == ["ckpt-1.index"] and not (out / "flags.txt").exists()

    for damaged in (bytes(range(128, 256)), b"--bogus_flag=3\n", b"# a comment\n"):
        (out / "flags.txt").write_bytes(damaged)
        result = run_in_process(MOG, [*TINY, "--epochs=2", "--divergence=js", f"--output_dir={out}"])
        assert result.returncode == 2 and "holds a checkpoint but no readable flags.txt" in result.stderr, damaged
        assert "Traceback" not in result.stderr and (out / "flags.txt").read_bytes() == damaged


def test_a_flags_file_cut_down_to_one_line_still_guards_the_rest(one_epoch_mog_run, run_in_process):
    out = one_epoch_mog_run
    (out / "flags.txt").write_text("--num_modes=9\n")
    result = run_in_process(MOG, [*TINY, "--epochs=2", "--divergence=js", f"--output_dir={out}"])
    assert result.returncode == 2 and "no --divergence line there, --divergence=js now" in result.stderr


@pytest.mark.slow  # two or three tiny trainings in this process
def test_a_run_without_a_checkpoint_starts_over_clean(tmp_path, run_in_process):
    """A directory whose run died before its first checkpoint: the rerun starts over and its
    history holds only its own epochs."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "flags.txt").write_text("# Resolved flags of python -m age_tf.experiments.mog\n--epochs=2\n")
    (out / "history.jsonl").write_text('{"epoch": 1, "wall_s": 5.0}\n{"epoch": 2, "wall_s": 9.0}\n')
    result = run_in_process(MOG, [*TINY, "--epochs=1", f"--output_dir={out}"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "removed the earlier training's history.jsonl" in result.stdout
    assert [json.loads(l)["epoch"] for l in (out / "history.jsonl").read_text().splitlines()] == [1]


def test_a_file_where_the_checkpoints_go_is_refused_before_training(tmp_path, run_in_process):
    out = tmp_path / "run"
    out.mkdir()
    (out / "flags.txt").write_text("# Resolved flags of python -m age_tf.experiments.mog\n")
    (out / "checkpoint").write_text("not a directory")
    result = run_in_process(MOG, [*TINY, "--epochs=1", f"--output_dir={out}"])
    assert result.returncode == 2 and "checkpoint is not a directory" in result.stderr
    assert sorted(os.listdir(out)) == ["checkpoint", "flags.txt"]


@pytest.mark.slow  # two or three tiny trainings in this process
def test_ctrl_c_stops_with_one_line_and_the_run_resumes(one_epoch_mog_run, run_in_process, monkeypatch):
    out = one_epoch_mog_run

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training.Training, "fit", interrupted)
    result = run_in_process(MOG, [*TINY, "--epochs=2", f"--output_dir={out}"])
    assert result.returncode == 130 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (f"Interrupted. The newest checkpoint in {out} is kept; rerun the same "
                                     "command to resume from it.")
    monkeypatch.undo()
    resumed = run_in_process(MOG, [*TINY, "--epochs=2", f"--output_dir={out}"])
    assert resumed.returncode == 0 and "Resuming after epoch 1" in resumed.stdout


def test_a_full_disk_while_saving_a_checkpoint_exits_4(tmp_path, run_in_process, monkeypatch):
    import tensorflow as tf

    def disk_full(*args, **kwargs):
        raise tf.errors.ResourceExhaustedError(None, None, "ckpt-1_temp/part-00000: No space left on device")

    monkeypatch.setattr(training.Training, "fit", disk_full)
    result = run_in_process(MOG, [*TINY, "--epochs=1", f"--output_dir={tmp_path / 'run'}"])
    assert result.returncode == 4 and "Traceback" not in result.stderr
    assert "Stopped by a file error: ckpt-1_temp/part-00000: No space left on device. Free some space" in result.stderr


@pytest.mark.slow  # two or three tiny trainings in this process
def test_a_damaged_checkpoint_is_passed_over_and_none_readable_stops(tmp_path, run_in_process):
    out = tmp_path / "run"
    assert run_in_process(MOG, [*TINY, "--epochs=2", f"--output_dir={out}"]).returncode == 0
    (out / "checkpoint" / "ckpt-2.index").write_bytes(b"")
    resumed = run_in_process(MOG, [*TINY, "--epochs=3", f"--output_dir={out}"])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"Checkpoint {out / 'checkpoint' / 'ckpt-2'} cannot be read" in resumed.stdout
    assert f"Resuming after epoch 1 from {out / 'checkpoint' / 'ckpt-1'}" in resumed.stdout
    assert json.loads((out / "metrics.json").read_text())["encoder_generator_steps"] == 9
    for name in os.listdir(out / "checkpoint"):
        if name.endswith(".index"):
            (out / "checkpoint" / name).write_bytes(b"")
    stopped = run_in_process(MOG, [*TINY, "--epochs=4", f"--output_dir={out}"])
    assert stopped.returncode == 2 and "Traceback" not in stopped.stderr
    assert f"No checkpoint in {out / 'checkpoint'} can be read" in stopped.stderr


@pytest.mark.slow  # two tiny trainings in this process
def test_a_save_that_fails_on_a_full_disk_leaves_nothing_for_the_rerun_to_repeat(one_epoch_mog_run, run_in_process,
                                                                                monkeypatch):
    """The failed save leaves ckpt-2_temp and epoch 2's history line; the rerun trains epoch 2
    again from ckpt-1, and its history holds every epoch once, its checkpoints no leftover."""
    import tensorflow as tf

    from age_tf import checkpointing

    out = one_epoch_mog_run
    save = checkpointing.TrainingCheckpoint.save

    def disk_full_at_epoch_2(self, finished_epochs):
        if finished_epochs == 2:
            (out / "checkpoint" / "ckpt-2_temp").mkdir()
            (out / "checkpoint" / "ckpt-2_temp" / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"x")
            raise tf.errors.ResourceExhaustedError(None, None, "ckpt-2_temp/part-00000: No space left on device")
        return save(self, finished_epochs)

    monkeypatch.setattr(checkpointing.TrainingCheckpoint, "save", disk_full_at_epoch_2)
    full = run_in_process(MOG, [*TINY, "--epochs=3", f"--output_dir={out}"])
    assert full.returncode == 4 and "No space left on device" in full.stderr
    # Leftovers that no later save of this run would overwrite: only the resume removes them.
    (out / "checkpoint" / "ckpt-7_temp").mkdir()
    (out / "checkpoint" / "checkpoint.tmp0123abcd").write_text("model_checkpoint_path")
    history = out / "history.jsonl"
    assert [json.loads(line)["epoch"] for line in history.read_text().splitlines()] == [1, 2]
    monkeypatch.undo()
    again = run_in_process(MOG, [*TINY, "--epochs=3", f"--output_dir={out}"])
    assert again.returncode == 0 and "Resuming after epoch 1" in again.stdout, again.stderr[-2000:]
    assert [json.loads(line)["epoch"] for line in history.read_text().splitlines()] == [1, 2, 3]
    assert not [n for n in os.listdir(out / "checkpoint") if "_temp" in n or ".tmp" in n]
    assert json.loads((out / "metrics.json").read_text())["encoder_generator_steps"] == 9


def test_a_run_stopped_in_its_first_epoch_resumes_from_its_mid_epoch_checkpoint(tmp_path, run_in_process,
                                                                               monkeypatch):
    """Stopped (Ctrl-C) after 5 of its first epoch's 6 steps with a checkpoint every 2: the rerun
    resumes from step 4 (the whole run directory is kept, not started over) and ends with the
    steps of an uninterrupted run."""
    from age_tf import callbacks

    out = tmp_path / "run"
    args = ["--num_modes=9", "--batch_size=20", "--d_steps=1", "--steps_per_epoch=6", "--num_eval_samples=300",
            "--notensorboard", "--checkpoint_every_steps=2", "--epochs=1", f"--output_dir={out}"]
    original = callbacks.RunProgress.on_train_batch_end

    def stop_after_five(self, batch, logs=None):
        original(self, batch, logs)
        if self.done == 5:
            raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(callbacks.RunProgress, "on_train_batch_end", stop_after_five)
        assert run_in_process(MOG, args).returncode == 130
    assert sorted(p.name for p in (out / "checkpoint" / "steps").iterdir() if p.suffix == ".index") == ["ckpt-4.index"]
    resumed = run_in_process(MOG, args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resuming after epoch 0, 4 steps into epoch 1, from " in resumed.stdout
    assert json.loads((out / "metrics.json").read_text())["encoder_generator_steps"] == 6
    # Issue: the report said "resumed_after_epoch 0 (0: trained from scratch)" after this resume.
    info = json.loads((out / "run_info.json").read_text())
    assert (info["resumed_after_epoch"], info["resumed_steps_into_epoch"]) == (0, 4)
    assert re.search(r"resumed_steps_into_epoch +4 ", resumed.stdout), resumed.stdout
    assert not (out / "checkpoint" / "steps").exists() and _ckpt_indexes(out) == ["ckpt-1.index"]


@pytest.mark.parametrize("content", ["a folder of mine", None])
def test_a_folder_that_no_run_made_keeps_its_files(tmp_path, run_in_process, content):
    """Issue: --output_dir at a user's folder removed its views/, checkpoint/ and metrics.json."""
    out = tmp_path / "mine"
    (out / "views").mkdir(parents=True)
    (out / "views" / "holiday.png").write_bytes(b"png")
    (out / "checkpoint").mkdir()
    (out / "metrics.json").write_text(content or "{}")
    for resume in ("--resume", "--noresume"):
        result = run_in_process(MOG, [*TINY, "--epochs=1", resume, f"--output_dir={out}"])
        assert result.returncode == 2, result.stderr[-2000:]
        assert "already holds files (checkpoint, metrics.json, views) but no flags.txt" in result.stderr
        assert sorted(os.listdir(out)) == ["checkpoint", "metrics.json", "views"]
        assert (out / "views" / "holiday.png").read_bytes() == b"png"


def test_another_entry_points_run_is_not_taken_over(tmp_path, run_in_process):
    """Issue: a mog command whose shared flags agreed with a Stacked MNIST run overwrote its flags.txt."""
    out = tmp_path / "theirs"
    out.mkdir()
    flags_txt = "# Resolved flags of python -m age_tf.experiments.stacked_mnist\n--seed=0\n"
    (out / "flags.txt").write_text(flags_txt)
    (out / "history.jsonl").write_text("")
    result = run_in_process(MOG, [*TINY, "--epochs=1", f"--output_dir={out}"])
    assert result.returncode == 2, result.stderr[-2000:]
    assert ("is a run directory of python -m age_tf.experiments.stacked_mnist (its flags.txt says so); "
            "python -m age_tf.experiments.mog will not resume or replace it") in result.stderr
    assert (out / "flags.txt").read_text() == flags_txt and (out / "history.jsonl").exists()


def test_a_full_disk_at_the_samples_exits_4_naming_them_and_leaves_no_partial_file(tmp_path, run_in_process,
                                                                                  monkeypatch):
    import errno

    import numpy as np

    def disk_full(file, array, *args, **kwargs):
        file.write(b"\x93NUMPY")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", disk_full)
    out = tmp_path / "run"
    result = run_in_process(MOG, [*TINY, "--epochs=1", f"--output_dir={out}"])
    assert result.returncode == 4, result.stderr[-2000:]
    assert f"{out / 'samples.npy'}: No space left on device" in result.stderr
    assert not (out / "samples.npy").exists() and not [name for name in os.listdir(out) if name.startswith(".tmp")]


def test_a_folder_holding_only_a_log_is_a_new_run(tmp_path, run_in_process):
    """The table runners open a trial's stdout.log before starting it: that folder is not a user's."""
    out = tmp_path / "trial"
    out.mkdir()
    (out / "stdout.log").write_text("=== the runner's command\n")
    result = run_in_process(MOG, [*TINY, "--epochs=1", f"--output_dir={out}"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert (out / "stdout.log").read_text() == "=== the runner's command\n"


@pytest.mark.parametrize("name", ["flags.txt", "history.jsonl"])
def test_a_named_pipe_in_the_run_directory_is_refused_instead_of_waiting_forever(tmp_path, run_in_process, name):
    out = tmp_path / "run"
    out.mkdir()
    if name != "flags.txt":
        (out / "flags.txt").write_text("# Resolved flags of python -m age_tf.experiments.mog\n")
    os.mkfifo(out / name)
    result = run_in_process(MOG, [*TINY, "--epochs=1", f"--output_dir={out}"])
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"{out / name} is a named pipe or a socket, not a file" in result.stderr


def test_a_resume_with_fewer_epochs_than_the_run_trained_is_refused(tmp_path, run_in_process):
    """Issue: --epochs=2 on a run that trained 3 was accepted; flags.txt and the heading then said 2
    while the checkpoint, history and metrics held 3."""
    out = tmp_path / "run"
    assert run_in_process(MOG, [*TINY, "--epochs=3", f"--output_dir={out}"]).returncode == 0
    flags_file, metrics = (out / "flags.txt").read_text(), (out / "metrics.json").read_text()
    result = run_in_process(MOG, [*TINY, "--epochs=2", f"--output_dir={out}"])
    assert result.returncode == 2
    assert "has already trained 3 epochs" in result.stderr and "pass --epochs=3 or more" in result.stderr
    assert "Traceback" not in result.stderr
    assert (out / "flags.txt").read_text() == flags_file and (out / "metrics.json").read_text() == metrics
    again = run_in_process(MOG, [*TINY, "--epochs=3", f"--output_dir={out}"])  # the same epochs re-evaluates
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads((out / "run_info.json").read_text())["resumed_after_epoch"] == 3
