import json
import math
import os
import subprocess
import sys

import pytest

from experiments import summarize, tables

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_mean_and_standard_error_by_hand():
    mean, se = tables.mean_and_stderr([1.0, 2.0, 3.0, 6.0])
    assert mean == 3.0 and math.isclose(se, math.sqrt((4 + 1 + 0 + 9) / 3 / 4))


def test_markdown_row_and_header_by_hand():
    assert tables.markdown_row(["AGE-KL", 0, "0.05 (0.01)"]) == "| AGE-KL | 0 | 0.05 (0.01) |"
    assert tables.markdown_header(["Method", "KL", "seeds"]) == ["| Method | KL | seeds |", "|---|---|---|"]


@pytest.mark.slow  # starts a process
def test_table_from_run_directories(tmp_path):
    runs = []
    for seed, modes in ((0, 25), (1, 24)):
        run = tmp_path / f"s{seed}"
        run.mkdir()
        (run / "metrics.json").write_text(json.dumps({"seed": seed, "modes_covered": modes, "mode_kl": 0.03 + seed / 100}))
        (run / "run_info.json").write_text(json.dumps({"train_seconds": 60.0 * (seed + 1)}))
        runs.append(str(run))
    out = tmp_path / "results.md"
    result = subprocess.run(
        [sys.executable, "-m", "experiments.summarize", f"--runs={','.join(runs)}",
         "--columns=modes_covered,mode_kl", "--command=echo hi", f"--output={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    text = out.read_text()
    assert "| 0 | 25 | 0.03 |" in text and "| 1 | 24 | 0.04 |" in text
    assert "| mean (s.e.) | 24.5 (0.5) | 0.035 (0.005) |" in text
    assert "echo hi" in text and "Machine:" in text
    assert "total training wall time 3.0 minutes" in text  # from run_info.json


@pytest.mark.slow  # starts a process
def test_missing_run_is_a_clear_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "experiments.summarize", f"--runs={tmp_path / 'nope'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2 and "metrics.json does not exist; did the run" in result.stderr


def test_rows_labelled_by_run_have_no_mean_and_name_the_recorded_machine():
    rows = [
        {"run": "dense_init_torch_s0", "mode_kl": 0.059, "train_seconds": 60.0, "machine": "2 CPU cores (X)"},
        {"run": "reuse_minibatch_s0", "mode_kl": 0.041, "train_seconds": 120.0, "machine": "2 CPU cores (X)"},
    ]
    text = summarize.render(rows, ["mode_kl"], "Probes", "sh probes.sh", row_label="run")
    assert "| run | mode_kl |" in text
    assert "| dense_init_torch_s0 | 0.059 |" in text and "| reuse_minibatch_s0 | 0.041 |" in text
    assert "mean (s.e.)" not in text  # a mean over different settings means nothing
    assert "Machine: 2 CPU cores (X)." in text and "total training wall time 3.0 minutes" in text
