"""The Tables 5/7 runner on a tiny configuration: runs, tabulates, resumes."""

import json
import subprocess
import sys

import pytest
from conftest import MNIST_DIR, ROOT

pytestmark = pytest.mark.slow  # starts processes


def run(tmp_path, classifier_dir, *args):
    tiny = ",".join([
        "--epochs=1", "--steps_per_epoch=2", "--num_train_examples=256", "--batch_size=8", "--num_eval_samples=64",
        "--views_every=0", "--notensorboard", f"--mnist_dir={MNIST_DIR}", f"--classifier_dir={classifier_dir}",
        "--classifier_min_accuracy=0.9",
    ])
    return subprocess.run(
        [sys.executable, "-m", "experiments.table5.run", "--rows=AGE-ALL(d),AGE-KL-SC0.5",
         "--trials=1", "--parallel=1", "--flagfile_path=experiments/table5/stacked_mnist_age_all_cpu.flags",
         f"--extra_flags={tiny}", f"--runs_dir={tmp_path / 'runs'}", f"--results_dir={tmp_path / 'results'}",
         *args],
        cwd=ROOT, capture_output=True, text=True, timeout=400,
    )


def test_runs_tabulates_and_resumes(tmp_path, classifier_dir):
    first = run(tmp_path, classifier_dir)
    assert first.returncode == 0, first.stderr[-2000:]
    table = (tmp_path / "results" / "table5.md").read_text()
    assert "| AGE-ALL(d) |" in table and "| AGE-KL-SC0.5 |" in table and "Machine of this invocation:" in table
    assert ("| Method | Modes | KL | Recon. (%) | classifier FD | minutes a trial | seeds | "
            "paper: Modes / KL / Recon. (%) |") in table
    assert "971.7 (20.1) / 0.42 (0.10) / 81.7 (1.8)" in table  # the paper's AGE-ALL(d) row
    assert "python -m experiments.table5.run --rows=AGE-ALL(d),AGE-KL-SC0.5" in table
    recorded = json.loads((tmp_path / "results" / "table5.json").read_text())
    assert set(recorded["trials"]) == {"AGE-ALL(d)/0", "AGE-KL-SC0.5/0"}
    assert recorded["trials"]["AGE-ALL(d)/0"]["label"] == "AGE-ALL(d)"
    assert recorded["trials"]["AGE-KL-SC0.5/0"]["label"] == "AGE-KL-SC0.5"
    assert recorded["machine"] and recorded["wall_seconds"] > 0
    for trial in recorded["trials"].values():  # wall times from each run's run_info.json
        assert trial["train_seconds"] > 0 and trial["eval_seconds"] > 0
    again = run(tmp_path, classifier_dir, "--dry_run")
    assert "2 trials recorded, 0 to run" in again.stdout


def test_unknown_row_is_refused(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "experiments.table5.run", "--rows=AGE-XL",
         f"--results_dir={tmp_path / 'results'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "Unknown rows ['AGE-XL']. Available: AGE-ALL(d), AGE-ALL, f-GAN-KL" in result.stderr
    assert not (tmp_path / "results").exists()
