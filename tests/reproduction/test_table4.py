"""The Table 4 runner on a tiny configuration: runs, tabulates, resumes."""

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from experiments.table4 import breakdown, comparisons

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = "--extra_flags=--epochs=1,--steps_per_epoch=2,--num_modes=9,--batch_size=20,--num_eval_samples=300"


def run(tmp_path, *args):
    return subprocess.run(
        [sys.executable, "-m", "experiments.table4.run", "--rows=AGE-KL,Hinge",
         "--trials=1", "--parallel=1", TINY, f"--runs_dir={tmp_path / 'runs'}",
         f"--results_dir={tmp_path / 'results'}", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )


@pytest.mark.slow  # starts a process
def test_runs_tabulates_and_resumes(tmp_path):
    earlier_log = tmp_path / "runs" / "age_kl_s0" / "stdout.log"  # as a stopped invocation leaves it
    earlier_log.parent.mkdir(parents=True)
    earlier_log.write_text("log of an earlier stretch\n")
    first = run(tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    log = earlier_log.read_text()
    assert log.startswith("log of an earlier stretch\n=== ") and "--seed=0" in log and "Metrics:" in log
    table = (tmp_path / "results" / "table4.md").read_text()
    assert "| AGE-KL |" in table and "| Hinge |" in table and "Machine of this invocation:" in table
    assert re.search(r"The trials ran on \d+ CPU cores .*, (no GPU|\d+ GPU\(s\)) \(2\)\. ", table)
    assert "| 0 | 24.9 (0.36) / 0.0284 (0.0035) |" in table and "| 0 | 20.9 (0.92) / 0.1929 (0.0366) |" in table
    assert "PacGAN's released rule" in table and "![Generated samples](table4_samples.png)" in table
    assert "## Against the issue's bar" in table and "| Hinge | seed 0 |" in table
    assert re.search(r"## Every trial\n(.*\n)+\| AGE-KL \| \d+ / [0-9.]+ \| [0-9.]+-[0-9.]+ \|\n", table)
    assert re.search(r"recorded before\), 1 side by side with \d+ CPU thread\(s\) each\. ", table)
    recorded = json.loads((tmp_path / "results" / "table4.json").read_text())["trials"]
    assert set(recorded) == {"AGE-KL/0", "Hinge/0"}
    assert (tmp_path / "results" / "table4_samples.png").exists()
    breakdown_text = (tmp_path / "results" / "table4_breakdown.md").read_text()
    # 9 modes, 4 of them minority (500 of 52,000 points each): true share 2,000 / 52,000.
    assert "| Method | KL (these points) | minority share (true 0.0385) |" in breakdown_text
    assert re.search(r"\| AGE-KL \| [0-9.e-]+ \| [0-9.e-]+ \| [0-9.e-]+ \| [0-9.e-]+ \| 0 \|", breakdown_text)
    # Per trial: the split of that seed's kept points, as minority_breakdown gives it.
    from age_tf.data import grid_mixture
    from age_tf.metrics import modes

    mixture = grid_mixture(9, imbalanced=True)
    with np.load(tmp_path / "results" / "table4_samples" / "hinge_s0.npz") as saved:
        split = modes.minority_breakdown(saved["samples"], mixture.centers, mixture.probabilities, mixture.std)
    cells = [split["kl_between_groups"] + split["kl_within_groups"], split["minority_share"],
             split["kl_between_groups"], split["kl_within_groups"]]
    assert "| Hinge | 0 | " + " | ".join(f"{c:.4g}" for c in cells) + " |" in breakdown_text
    assert "## How the reading depends on the assignment rule" in breakdown_text
    assert re.search(r"\| Hinge \| 0 \| 0\.\d{4} \| 0\.\d{4} \| \d\.\d{4} \| 0\.\d{4} \|",
                     (tmp_path / "results" / "table4_prdc.md").read_text())
    again = run(tmp_path, "--dry_run")
    assert "2 trials recorded, 0 to run" in again.stdout

    # A record written before trials carried their machine and times is completed
    # from the run directory by the next invocation, which trains nothing.
    json_path = tmp_path / "results" / "table4.json"
    older = json.loads(json_path.read_text())
    older["trials"]["AGE-KL/0"] = {k: v for k, v in recorded["AGE-KL/0"].items()
                                   if k not in ("machine", "train_seconds", "eval_seconds")}
    json_path.write_text(json.dumps(older))
    (tmp_path / "results" / "table4_discussion.md").write_text("## Against the paper\nHand-written.\n")
    completed = run(tmp_path)
    assert completed.returncode == 0 and "2 trials recorded, 0 to run" in completed.stdout
    assert json.loads(json_path.read_text())["trials"]["AGE-KL/0"] == recorded["AGE-KL/0"]
    # That rerun ran nothing: the table keeps the wall time of the invocation that ran
    # the trials and now ends with the discussion.
    rewritten = (tmp_path / "results" / "table4.md").read_text()
    wall = re.search(r"Wall time of this invocation: [0-9.]+ minutes for 2 trial\(s\) run", table)
    assert wall and wall.group(0) in rewritten
    assert rewritten.endswith("\n## Against the paper\nHand-written.\n")

    # A fresh clone has the results directory but no runs/: it resumes from the
    # JSON and redraws the figure from the points kept beside the table.
    shutil.rmtree(tmp_path / "runs")
    (tmp_path / "results" / "table4_samples.png").unlink()
    kept = np.load(tmp_path / "results" / "table4_samples" / "age_kl_s0.npz")
    assert kept["samples"].shape == (5000, 2) and int(kept["num_modes"]) == 9 and bool(kept["imbalanced"])
    assert "2 trials recorded, 0 to run" in run(tmp_path, "--dry_run").stdout

    breakdown.samples_figure(str(tmp_path / "results"), recorded)
    assert (tmp_path / "results" / "table4_samples.png").exists()
    assert breakdown.breakdown_table(str(tmp_path / "results"), recorded) == breakdown_text


@pytest.mark.slow  # starts a process
def test_unknown_row_is_refused(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "experiments.table4.run", "--rows=AGE-XL"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2 and "Unknown rows ['AGE-XL']. Available: AGE-KL" in result.stderr


def test_trials_run_seed_by_seed_across_the_rows(tmp_path):
    result = run(tmp_path, "--trials=2", "--dry_run")
    assert result.returncode == 0, result.stderr[-2000:]
    order = [line.split()[-1] for line in result.stdout.splitlines() if line.startswith("would run")]
    assert order == ["AGE-KL/0", "Hinge/0", "AGE-KL/1", "Hinge/1"]


def test_the_figure_marks_the_mixture_the_trial_trained_on(tmp_path):

    (tmp_path / "flags.txt").write_text("# Resolved flags\n--num_modes=9\n--imbalanced\n--seed=0\n")
    assert breakdown.trial_mixture(str(tmp_path)) == (9, True)
    (tmp_path / "flags.txt").write_text("--num_modes=25\n--noimbalanced\n")
    assert breakdown.trial_mixture(str(tmp_path)) == (25, False)
    (tmp_path / "flags.txt").write_text("--epochs=3\n")
    with pytest.raises(FileNotFoundError, match="names no --num_modes: not a mog run directory"):
        breakdown.trial_mixture(str(tmp_path))


def test_the_bar_is_judged_from_the_recorded_means():

    recorded = {
        "AGE-KL/0": {"seed": 0, "modes_covered": 25, "mode_kl": 0.02},
        "AGE-KL/1": {"seed": 1, "modes_covered": 24, "mode_kl": 0.04},
        "AGE-RevKL/0": {"seed": 0, "modes_covered": 22, "mode_kl": 0.3},
        "AGE-RevKL/1": {"seed": 1, "modes_covered": 24, "mode_kl": 0.1},
        "Hinge/0": {"seed": 0, "modes_covered": 25, "mode_kl": 0.15},
    }
    text = comparisons.bar_section(recorded)
    # AGE-KL: modes 24.5, s.e. 0.5; KL 0.03, s.e. 0.01.
    assert ("AGE-KL over seeds 0, 1: modes 24.5 (0.5), at least 24.5: holds; KL 0.03 (0.01), at most "
            "0.05: holds.") in text
    # Against AGE-RevKL (modes 23 (1), KL 0.2 (0.1)): +1.5 with s.e. sqrt(0.5^2 + 1^2) = 1.1;
    # -0.17 with s.e. sqrt(0.01^2 + 0.1^2) = 0.1; both within two standard errors.
    assert ("| AGE-RevKL | seeds 0, 1 | +1.5 (1.1) | yes (within 2 s.e.) | -0.17 (0.1) | "
            "yes (within 2 s.e.) |") in text
    # One Hinge seed has no standard error: the difference's is AGE-KL's alone.
    assert "| Hinge | seed 0 | -0.5 (0.5) | no (within 2 s.e.) | -0.12 (0.01) | yes |" in text
    assert "| logD-GAN |" not in text
    assert ("| 1 | AGE-KL | 0.03 | AGE-KL | 0.0284 |\n| 2 | Hinge | 0.15 | Hinge | 0.1929 |\n"
            "| 3 | AGE-RevKL | 0.2 | AGE-RevKL | 0.2498 |") in text
    # Pairwise, by rank: Hinge - AGE-KL = 0.12 with s.e. 0.01 (Hinge's one seed adds none), beyond two;
    # AGE-RevKL - AGE-KL = 0.17 (sqrt(0.01^2 + 0.1^2) = 0.1) and - Hinge = 0.05 (0.1), within.
    assert ("| minus: | AGE-KL | Hinge |\n|---|---|---|\n| Hinge | **+0.12 (0.01)** |  |\n"
            "| AGE-RevKL | +0.17 (0.1) | +0.05 (0.1) |") in text
    assert comparisons.ordering_cell(0.0, 0.0) == "no (equal)"
    assert comparisons.seeds_text([2, 0, 1]) == "seeds 0-2"


def test_every_trial_is_listed_by_seed():

    recorded = {
        "Hinge/1": {"seed": 1, "modes_covered": 25, "mode_kl": 0.15},
        "AGE-KL/0": {"seed": 0, "modes_covered": 24, "mode_kl": 0.0523},
        "AGE-KL/2": {"seed": 2, "modes_covered": 25, "mode_kl": 0.0318},
    }
    text = comparisons.trials_section(recorded)
    assert ("| Method | seed 0 | seed 1 | seed 2 | KL range |\n|---|---|---|---|---|\n"
            "| AGE-KL | 24 / 0.052 | - | 25 / 0.032 | 0.032-0.052 |\n"
            "| Hinge | - | 25 / 0.150 | - | 0.150-0.150 |\n") in text
    assert "| logD-GAN |" not in text


def test_the_assignment_rule_table_by_hand(capsys):
    from age_tf.data import grid_mixture

    mixture = grid_mixture(9, imbalanced=True)  # minority mode 1 at (-2, 0), majority mode 4 at the origin
    p1, p4 = 500 / 52_000, 10_000 / 52_000
    # One point at mode 1's centre and one on its rim (0.8 away), two at mode 4's
    # centre, one 0.95 from mode 4: off-mode under every disc, mode 4's by nearest centre.
    points = np.array([[-2.0, 0.0], [-2.0, 0.8], [0.0, 0.0], [0.0, 0.0], [-0.95, 0.0]])
    lines = breakdown.rule_section([("AGE-KL", 0, points, mixture),
                                           ("Hinge", 0, np.array([[1.0, 1.0]]), mixture)])

    def kl(q):
        return sum(qi * np.log(qi / pi) for qi, pi in zip(q, (p1, p4)))

    inside_small_discs = kl([1 / 3, 2 / 3])  # the rim point is beyond 1.5 and 2 s.d.
    cells = [inside_small_discs, inside_small_discs, kl([1 / 2, 1 / 2]), kl([2 / 5, 3 / 5]), 1 / 2, 1.0]
    assert "| AGE-KL | " + " | ".join(f"{c:.4g}" for c in cells) + " | 0 |" in lines
    assert lines[-3].startswith("| Method | KL, 1.5 s.d. | KL, 2 s.d. | KL, 3 s.d. (the table's) | KL, nearest centre |")
    # Hinge's only point is on no disc: no histogram, left out with a reason.
    assert not any(line.startswith("| Hinge |") for line in lines)
    assert "Hinge seed 0 left out of the assignment-rule table" in capsys.readouterr().err


def test_the_stricter_mode_counts_by_hand():
    from age_tf.data import grid_mixture

    mixture = grid_mixture(9, imbalanced=True)  # minority modes 1, 3, 5, 7 (p 500 / 52,000); majority 10,000 / 52,000
    p_minority, p_majority = 500 / 52_000, 10_000 / 52_000
    centers = mixture.centers
    # Seed 0: 96 points on mode 4, 3 on mode 0 and 1 on minority mode 1 (shares 0.96, 0.03, 0.01).
    seed0 = np.array([centers[4]] * 96 + [centers[0]] * 3 + [centers[1]])
    # Seed 1: mode 0 alone.
    seed1 = np.array([centers[0]] * 10)
    lines = breakdown.coverage_section([("AGE-KL", 0, seed0, mixture), ("AGE-KL", 1, seed1, mixture)])
    # Seed 0 by ratio to the truth: mode 4 0.96 / p_majority = 5.0, mode 0 0.03 / p_majority = 0.156,
    # mode 1 0.01 / p_minority = 1.04: 3 modes with any point, 3 at >= 0.1, 2 at >= 0.25 and at >= 0.5.
    assert 0.03 / p_majority == pytest.approx(0.156) and 0.01 / p_minority == pytest.approx(1.04)
    # Seed 1: one mode at every threshold. Means 2, 2, 1.5, 1.5 with standard errors 1, 1, 0.5, 0.5.
    assert "| AGE-KL | 2 (1) | 2 (1) | 1.5 (0.5) | 1.5 (0.5) | - | 24.9 | 0, 1 |" in lines
    assert lines[-2].startswith("|---") and "modes holding >= 0.25 of their share" in lines[-3]
    # A rival with mode 0 alone at both seeds: 1 (0) at 0.5 of the share; AGE-KL's lead 1.5 - 1 = 0.5,
    # s.e. sqrt(0.5^2 + 0^2) = 0.5, within two.
    lines = breakdown.coverage_section([("AGE-KL", 0, seed0, mixture), ("AGE-KL", 1, seed1, mixture),
                                               ("Hinge", 0, seed1, mixture), ("Hinge", 1, seed1, mixture)])
    assert "| Hinge | 1 (0) | 1 (0) | 1 (0) | 1 (0) | +0.5 (0.5) | 20.9 | 0, 1 |" in lines
    assert "AGE-KL minus it at >= 0.5" in lines[-4]


def test_pairwise_kl_differences_by_hand():

    lines = comparisons.pairwise_kl_lines({"AGE-KL": (0.03, 0.01), "Hinge": (0.15, 0.02), "AGE-RevKL": (0.2, 0.1)})
    # Hinge - AGE-KL = 0.12, s.e. sqrt(0.01^2 + 0.02^2) = 0.0224: beyond two, in bold.
    # AGE-RevKL - AGE-KL = 0.17, s.e. sqrt(0.01^2 + 0.1^2) = 0.1005; - Hinge = 0.05, s.e. 0.102: within.
    assert lines[-4:] == ["| minus: | AGE-KL | Hinge |", "|---|---|---|", "| Hinge | **+0.12 (0.022)** |  |",
                          "| AGE-RevKL | +0.17 (0.1) | +0.05 (0.1) |"]
    assert comparisons.pairwise_kl_lines({"AGE-KL": (0.03, 0.01)}) == []
    # Exactly two standard errors is not beyond them.
    assert comparisons.difference_cell((0.3, 0.0), (0.1, 0.1)) == "+0.2 (0.1)"
    assert comparisons.difference((0.3, float("nan")), (0.1, 0.3)) == (pytest.approx(0.2), 0.3)
    assert comparisons.difference((0.1 + 0.2, 0.0), (0.3, 0.0)) == (0.0, 0.0)  # 0.1 + 0.2 - 0.3 is 5.6e-17


def test_precision_recall_density_coverage_of_kept_samples(tmp_path, monkeypatch):
    """Two rows of kept samples on the 9-Gaussian grid: one the held-out draw itself (1 everywhere),
    one that lost every minority mode: its points are real ones (precision 1), and coverage and
    recall keep the majority's share plus the few minority points whose balls reach a majority mode."""
    from age_tf.data.mog import heldout_draw
    from experiments.table4 import prdc

    monkeypatch.setattr(prdc, "REAL_POINTS", 1000)  # the table uses 5,000; fewer keep the test fast
    real, labels = heldout_draw(9, True, 0, prdc.REAL_POINTS)
    samples_dir = tmp_path / "table4_samples"
    samples_dir.mkdir()
    majority_only = real[labels % 2 == 0]
    for name, samples in (("age_kl_s0", real), ("hinge_s0", majority_only)):
        np.savez(samples_dir / f"{name}.npz", samples=samples, num_modes=9, imbalanced=True)
    recorded = {"AGE-KL/0": {"seed": 0, "modes_covered": 9, "mode_kl": 0.01},
                "Hinge/0": {"seed": 0, "modes_covered": 5, "mode_kl": 0.2}}
    text = open(prdc.write_prdc_table(str(tmp_path), recorded, "python -m experiments.table4.prdc")).read()
    assert "| AGE-KL | 9 | 0.01 | 1 | 1 | 1 | 1 | 0 |" in text
    share = float(np.mean(labels % 2 == 0))
    found = prdc.trial_scores(breakdown.kept_trials(str(tmp_path), recorded))
    hinge = dict(found["Hinge"])[0]
    assert hinge["precision"] == 1.0
    for key in ("coverage", "recall"):
        assert share <= hinge[key] < share + (1 - share) / 2, key
    assert found[prdc.REAL_ROW][0][1]["coverage"] > 0.9  # another draw of the mixture reaches it
    assert "Command: `python -m experiments.table4.prdc`" in text
