"""The Table 3 runner on a tiny configuration: VAE, AGE-KL and f-GAN-KL run, tabulate, resume."""

import json
import math
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # starts processes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ("--extra_flags=--epochs=1,--steps_per_epoch=2,--batch_size=20,--d_steps=2,--num_eval_samples=300,"
        "--mc_samples=2,--ais_steps=4,--ais_chains=2,--ais_examples=5")


def run(tmp_path, *args):
    return subprocess.run(
        [sys.executable, "-m", "experiments.table3.run", "--trials=1", "--parallel=1",
         "--flagfile_path=experiments/table3/mog9_table3_cpu.flags", TINY, f"--runs_dir={tmp_path / 'runs'}",
         f"--results_dir={tmp_path / 'results'}", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )


def test_runs_the_three_rows_tabulates_and_resumes(tmp_path):
    first = run(tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    table = (tmp_path / "results" / "table3.md").read_text()
    for label in ("VAE", "AGE-KL", "f-GAN-KL"):
        assert f"| {label} |" in table
    assert "2.739 (0.02)" in table and "Machine of this invocation:" in table
    recorded = json.loads((tmp_path / "results" / "table3.json").read_text())["trials"]
    assert set(recorded) == {"VAE/0", "AGE-KL/0", "f-GAN-KL/0"}
    for key, metrics in recorded.items():
        assert all(math.isfinite(metrics[k]) for k in ("objective", "cycle_consistency", "nll")), key
        # L_VAE = CC + KL(p_e(z|x) || p_z) with the same draws of z, and the KL is >= 0.
        assert metrics["objective"] >= metrics["cycle_consistency"], key
        assert metrics["modes_covered"] <= 9
    # The flagfile nests the paper's: 9 Gaussians, 30 D steps unless overridden, the CPU flagfile's run.
    flags_txt = (tmp_path / "runs" / "age_kl_s0" / "flags.txt").read_text()
    assert "--num_modes=9" in flags_txt and "--ais_examples=5" in flags_txt
    again = run(tmp_path, "--dry_run")
    assert "3 trials recorded, 0 to run" in again.stdout
