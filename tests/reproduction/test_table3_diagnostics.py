"""The diagnostic scripts behind experiments/table3/results/table3.md, run as the results file says, on a tiny run.

Each script is a command a reader reruns to check a number in a results file; these tests keep the
commands working and check what their output must satisfy (a closed form where there is one).
"""

import math
import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # starts processes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NUMBER = r"(-?[0-9.]+(?:e[-+]?[0-9]+)?|nan|inf)"


def run_script(name, *args, timeout=600):
    result = subprocess.run([sys.executable, os.path.join("experiments", "table3", name), *map(str, args)], cwd=ROOT,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def numbers_after(label, text):
    return [float(v) for v in re.findall(re.escape(label) + r"\s*" + NUMBER, text)]


@pytest.fixture(scope="module")
def gaussian_run(tmp_path_factory):
    """Table 3's Gaussian encoder and generator, trained for 2 steps: enough to restore."""
    out = tmp_path_factory.mktemp("scripts") / "run"
    result = subprocess.run(
        [sys.executable, "-m", "age_tf.experiments.mog", "--flagfile=experiments/table3/mog9_table3.flags",
         "--epochs=1", "--steps_per_epoch=2", "--d_steps=1", "--batch_size=50", "--metrics=mode_coverage",
         "--num_eval_samples=300", "--checkpoint_every=1", "--notensorboard", f"--output_dir={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_mixture_entropy_matches_the_well_separated_closed_form():
    # Modes 2 apart with std 0.3 barely overlap, so the entropy is that of the weights (5 modes of
    # 10,000 points, 4 of 500) plus a 2-D Gaussian's, log(2 pi e 0.3^2).
    weights = [10_000] * 5 + [500] * 4
    total = sum(weights)
    closed_form = -sum(w / total * math.log(w / total) for w in weights) + math.log(2 * math.pi * math.e * 0.09)
    output = run_script("mixture_entropy.py")
    (entropy,), (stderr,) = numbers_after("entropy", output), numbers_after("standard error", output)
    assert abs(entropy - closed_form) < 4 * stderr, (entropy, closed_form, stderr)


def test_encoder_spread_reports_a_non_negative_kl(gaussian_run):
    output = run_script("encoder_spread.py", gaussian_run, 200)
    assert "(epoch 1, 200 held-out points)" in output
    (kl,) = numbers_after("KL(p_e(z|x) || p_z)", output)
    assert kl >= 0


def test_objective_tail_splits_the_cycle_consistency_mean(gaussian_run):
    output = run_script("objective_tail.py", gaussian_run)
    assert "first 2000 held-out points: objective" in output and "first 10000 held-out points" in output
    (without_worst,) = numbers_after("CC without the worst 1%:", output)
    (share,), (mean,) = numbers_after("the worst 1% carry", output), numbers_after("of the mean", output)
    # mean = 0.99 * (mean of the best 99%) + share, up to the tie at the 99th percentile.
    assert math.isclose(mean, 0.99 * without_worst + share, rel_tol=1e-2, abs_tol=2e-3)


def test_discriminator_probe_compares_d_with_the_closed_form_ratio(gaussian_run):
    output = run_script("discriminator_probe.py", gaussian_run, "--steps=2", "--report_every=1", "--num_threads=1")
    steps = [line for line in output.splitlines() if line.startswith("step")]
    assert len(steps) == 3  # before training and after each of the 2 steps
    for cosine in numbers_after("cos grad_z on p_e", output) + numbers_after("cos grad_x on p_g", output):
        assert -1.0 <= cosine <= 1.0


def test_oracle_age_trains_with_the_exact_ratio():
    output = run_script("oracle_age.py", "--epochs=1", "--steps_per_epoch=2", "--batch_size=50", "--num_threads=1")
    (objective,) = numbers_after("epoch 1: objective", output)
    assert math.isfinite(objective)


def test_check_ais_importance_sampling_with_two_proposals(gaussian_run):
    output = run_script("check_ais.py", gaussian_run, 2, 500, "none")
    nlls = numbers_after("NLL", output)
    assert len(nlls) == 2 and all(math.isfinite(v) for v in nlls)
