"""benchmarks/speed.py on its smallest run: the report's numbers agree with each other.

Not a timing test (the brief keeps speed targets out of unit tests): it checks that the harness
runs and that what it reports is arithmetic on what it measured.
"""

import json
import math
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # starts processes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_speed_harness_reports_consistent_numbers(tmp_path):
    output = tmp_path / "speed.json"
    result = subprocess.run(
        [sys.executable, "benchmarks/speed.py", "--configs=mog25", "--precisions=float32", "--jit=off",
         "--iterations=2", "--warmup=1", "--no_eval", f"--output={output}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(output.read_text())
    assert report["command"].startswith("python benchmarks/speed.py --configs=mog25")
    by_kind = {r["kind"]: r for r in report["results"]}
    assert set(by_kind) == {"ceiling", "train"}, report["results"]
    ceiling, train = by_kind["ceiling"], by_kind["train"]
    assert ceiling["precision"] == "float32" and ceiling["gflops"] > 0
    assert (train["config"], train["iterations"], train["jit"]) == ("mog25", 2, False)
    assert train["min_s"] <= train["median_s"] <= train["max_s"]
    # One iteration: 5 D steps on 500 + 500 pairs and one E/G step (Algorithm 1), batch 500.
    assert math.isclose(train["examples_per_s"], 500 * 6 / train["median_s"], rel_tol=1e-6)
    assert math.isclose(train["gflops"], train["gflop"] / train["median_s"], rel_tol=1e-6)
    assert train["onednn"] == ceiling["onednn"]  # the share is taken against the same kernels
    assert "mog25" in result.stdout and str(output) in result.stdout
