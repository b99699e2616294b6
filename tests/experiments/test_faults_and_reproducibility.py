"""Disk-full and permission errors while writing results, and same-seed reproducibility."""

import json
import subprocess
import sys

import pytest
import tensorflow as tf

from conftest import MOG_TINY, ROOT

pytestmark = pytest.mark.slow  # starts processes

TINY = MOG_TINY

# The run's files cannot be written: every write_json raises EACCES, as on a
# directory whose permissions changed under a running job.
READ_ONLY_RESULTS = r"""
import sys
from age_tf import files
from age_tf.experiments import cli, mog

def refuse(path, payload):
    raise PermissionError(13, "Permission denied", path)

files.write_json = refuse
sys.argv = ["mog"] + sys.argv[1:]
cli.run_main(mog.main)
"""


def run_cli(*args, program=("-m", "age_tf.experiments.mog")):
    return subprocess.run([sys.executable, *program, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_disk_full_mid_run_is_reported_and_the_rerun_resumes(tmp_path):
    out = tmp_path / "run"
    first = run_cli(*TINY, "--epochs=1", f"--output_dir={out}")
    assert first.returncode == 0, first.stderr[-2000:]
    # A real ENOSPC: the history log now writes into /dev/full.
    history = out / "history.jsonl"
    history.unlink()
    history.symlink_to("/dev/full")
    full = run_cli(*TINY, "--epochs=3", f"--output_dir={out}")
    assert full.returncode == 4, full.stderr[-2000:]
    assert f"Stopped by a file error at {history}: No space left on device." in full.stderr
    assert "Traceback" not in full.stderr
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(out / "checkpoint")))
    assert reader.get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE") >= 1  # the last checkpoint is readable
    # Space is back: the same command finishes with every step.
    history.unlink()
    again = run_cli(*TINY, "--epochs=3", f"--output_dir={out}")
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads((out / "metrics.json").read_text())["encoder_generator_steps"] == 9


def test_permission_error_on_the_results_is_reported_in_one_sentence(tmp_path):
    out = tmp_path / "run"
    result = run_cli(*TINY, "--epochs=1", f"--output_dir={out}", program=("-c", READ_ONLY_RESULTS))
    assert result.returncode == 4, result.stderr[-2000:]
    assert f"Stopped by a file error at {out / 'metrics.json'}: Permission denied." in result.stderr
    assert "Traceback" not in result.stderr


def test_same_seed_gives_identical_metrics_and_another_seed_does_not(tmp_path):
    def metrics(name, seed):
        out = tmp_path / name
        result = run_cli(*TINY, "--epochs=2", f"--seed={seed}", f"--output_dir={out}")
        assert result.returncode == 0, result.stderr[-2000:]
        return (out / "metrics.json").read_bytes()

    first, second, other = metrics("a", 7), metrics("b", 7), metrics("c", 8)
    assert first == second
    assert first != other
    assert json.loads(first)["seed"] == 7 and json.loads(first)["data_seed"] == 0
