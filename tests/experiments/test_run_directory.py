"""A run directory's files: run_info.json, the history's wall times, atomic JSON and saved flags."""

import json
import os

import pytest

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


def test_a_resume_drops_the_history_of_the_epochs_it_trains_again(tmp_path):
    path = tmp_path / "history.jsonl"
    lines = ['{"epoch": 1, "wall_s": 1.0}', '{"epoch": 2, "wall_s": 2.0}', '{"epoch": 3, "wall_s": 3.0}',
             '{"epoch": 3, "wall_s": 3.5}', '{"epo']  # epoch 3 twice, then a torn line
    path.write_text("\n".join(lines))
    assert run_directory.drop_history_after(str(path), 2) == 3
    assert path.read_text() == '{"epoch": 1, "wall_s": 1.0}\n{"epoch": 2, "wall_s": 2.0}\n'
    assert run_directory.drop_history_after(str(path), 2) == 0  # nothing more to drop: left as it is
    assert run_directory.drop_history_after(str(path), 0) == 2 and path.read_text() == ""
    assert run_directory.drop_history_after(str(tmp_path / "missing.jsonl"), 1) == 0


def test_flags_txt_names_its_entry_point_on_the_first_line(tmp_path):
    (tmp_path / "flags.txt").write_text("# Resolved flags of python -m age_tf.experiments.celeba\n--seed=0\n")
    assert run_directory.writer(str(tmp_path)) == "age_tf.experiments.celeba"
    (tmp_path / "flags.txt").write_bytes(b"\xff\xfe binary")
    assert run_directory.writer(str(tmp_path)) is None
    assert run_directory.writer(str(tmp_path / "nowhere")) is None


def test_history_lines_that_are_not_utf8_are_skipped_like_torn_ones(tmp_path):
    """Issue: undecodable bytes in history.jsonl made every resume, and the runners' --dry_run, crash."""
    path = tmp_path / "history.jsonl"
    path.write_bytes(b'{"epoch": 1, "wall_s": 10.0}\n\xff\xfe{"epoch": 2}\n{"epoch": 2, "wall_s": 20.0}\n{"epo')
    assert [record["epoch"] for _, record in run_directory.history_records(str(path))] == [1, 2]
    assert run_directory.recorded_wall_seconds(str(path), 2) == 20.0
    assert run_directory.drop_history_after(str(path), 1) == 3
    assert path.read_bytes() == b'{"epoch": 1, "wall_s": 10.0}\n'
