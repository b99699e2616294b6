"""The Stacked MNIST entry point, run as a user runs it (its ``main`` through ``cli.run_main``,
in this process), on the MNIST sample shipped with the tests."""

import json
import os
import sys

import numpy as np
import pytest
from conftest import MNIST_DIR

STACKED = "age_tf.experiments.stacked_mnist"
TINY = ["--num_train_examples=256", "--batch_size=8", "--steps_per_epoch=2", "--num_eval_samples=64",
        f"--mnist_dir={MNIST_DIR}", "--classifier_min_accuracy=0.9"]


@pytest.fixture
def run_cli(run_in_process):
    return lambda *args: run_in_process(STACKED, list(args))


def test_smoke_run_writes_metrics_views_checkpoint_and_resumes(tmp_path, classifier_dir, run_cli):
    out = tmp_path / "run"
    args = [*TINY, f"--classifier_dir={classifier_dir}", f"--output_dir={out}", "--eval_every=2"]
    first = run_cli(*args, "--epochs=2")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Training the mode classifier" not in first.stdout  # loaded from the cache
    metrics = json.loads((out / "metrics.json").read_text())
    assert 1 <= metrics["modes_covered"] <= 64 and metrics["mode_kl"] >= 0
    assert 0 <= metrics["recon_accuracy"] <= 1 and metrics["classifier_frechet_distance"] > 0
    assert metrics["encoder_generator_steps"] == 4 and metrics["label"] == "AGE-ALL"
    assert metrics["classifier_test_accuracy"] > 0.9 and metrics["num_eval_samples"] == 64
    # The encoder metrics, one digit a channel, on the 256 training and 64 evaluation images.
    assert (metrics["representation_train_points"], metrics["representation_test_points"]) == (256, 64)
    assert all(0 <= metrics[f"{name}_{c}"] <= 1 for name in ("knn_accuracy", "probe_accuracy") for c in range(3))
    assert metrics["knn_accuracy"] == pytest.approx(np.mean([metrics[f"knn_accuracy_{c}"] for c in range(3)]))
    views = set(os.listdir(out / "views"))
    for tag in ("epoch_0001", "epoch_0002", "final"):
        assert {f"{tag}_samples.png", f"{tag}_reconstructions.png"} <= views
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == [1, 2] and "eval_modes_covered" in history[1]
    assert any(name.startswith("ckpt-2") for name in os.listdir(out / "checkpoint"))
    assert "--divergence=all" in (out / "flags.txt").read_text()
    assert f"Metrics: {out / 'metrics.json'}" in first.stdout

    second = run_cli(*args, "--epochs=3", "--notensorboard")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Resuming after epoch 2" in second.stdout
    assert json.loads((out / "metrics.json").read_text())["encoder_generator_steps"] == 6
    info = json.loads((out / "run_info.json").read_text())
    assert info["resumed_after_epoch"] == 2 and info["train_seconds"] > 0 and "eval_seconds" in info
    history = [json.loads(line)["epoch"] for line in (out / "history.jsonl").read_text().splitlines()]
    assert history == [1, 2, 3] and "epoch_0003_samples.png" in os.listdir(out / "views")

    # load_run rebuilds the trained model from the directory, as experiments/table5/check_reconstruction.py does.
    entry = sys.modules[STACKED]
    model, epoch = entry.load_run(str(out))
    assert (epoch, entry.FLAGS.num_train_examples, np.asarray(model.generate(2)).shape) == (3, 256, (2, 28, 28, 3))


def test_deterministic_hinge_run_with_mixed_bfloat16(tmp_path, classifier_dir, run_cli):
    out = tmp_path / "hinge"
    result = run_cli(*TINY, f"--classifier_dir={classifier_dir}", f"--output_dir={out}", "--epochs=1",
                     "--method=hinge", "--encoder_kind=deterministic", "--generator_kind=deterministic",
                     "--precision=mixed_bfloat16", "--views_every=0", "--notensorboard")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["label"] == "Hinge(d)" and metrics["encoder_generator_steps"] == 2
    assert sorted(os.listdir(out / "views"))[0].startswith("final_")  # views_every=0: only at the end


def test_diverging_run_exits_3_naming_the_players(tmp_path, classifier_dir, run_cli, monkeypatch):
    from age_tf.data import mnist

    real = mnist.stacked_batches
    monkeypatch.setattr(mnist, "stacked_batches", lambda *a, **k: real(*a, **k).map(lambda x: x * float("nan")))
    out = tmp_path / "nan"
    result = run_cli(*TINY, f"--classifier_dir={classifier_dir}", f"--output_dir={out}", "--epochs=2",
                     "--notensorboard")
    assert result.returncode == 3, result.stderr[-2000:]
    assert "Training stopped: The discriminator" in result.stderr and "epoch 1, batch 1" in result.stderr
    assert "no checkpoint was written" in result.stderr and "Traceback" not in result.stderr
    assert not (out / "metrics.json").exists()


def test_dry_run_prints_resolved_flags_and_writes_nothing(tmp_path, run_cli):
    result = run_cli("--flagfile=experiments/table5/stacked_mnist_age_all_cpu.flags", "--dry_run",
                     f"--output_dir={tmp_path / 'never'}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--epochs=5" in result.stdout and "--steps_per_epoch=1000" in result.stdout
    assert not (tmp_path / "never").exists()


def test_the_paper_flagfile_has_the_paper_settings(run_cli):
    result = run_cli("--flagfile=experiments/table5/stacked_mnist_age_all.flags", "--dry_run")
    assert result.returncode == 0, result.stderr[-2000:]
    for flag in ("--epochs=50", "--batch_size=64", "--d_steps=1", "--d_learning_rate=0.0001",
                 "--eg_learning_rate=0.0001", "--adam_beta1=0.0", "--num_train_examples=128000",
                 "--num_eval_samples=26000", "--encoder_kind=gaussian", "--generator_kind=implicit"):
        assert flag in result.stdout.splitlines(), flag


@pytest.mark.parametrize(
    "args, message",
    [
        (["--method=bigan"], "Unknown method 'bigan'. Available: age, fgan, gan, logd, hinge."),
        (["--divergence=kll"], "Unknown divergence 'kll'. Available: kl, revkl, js, hellinger, pearson, all."),
        (["--scale_clip=2"], "scale_clip must lie in (0, 1]"),
        (["--batch_size=0"], "flag --batch_size=0: 0 is not a positive integer"),
        (["--num_eval_samples=8"], "--num_eval_samples must be at least 16"),
        (["--mnist_dir=/nonexistent/mnist"], "--mnist_dir: MNIST directory /nonexistent/mnist does not exist"),
    ],
)
def test_bad_flags_exit_2_before_anything_is_written(tmp_path, run_cli, args, message):
    result = run_cli(*args, f"--output_dir={tmp_path / 'out'}", f"--classifier_dir={tmp_path / 'cls'}")
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "cls").exists()


def test_corrupt_mnist_file_exits_2_with_the_loaders_message(tmp_path, run_cli):
    broken = tmp_path / "mnist"
    broken.mkdir()
    for name in os.listdir(MNIST_DIR):
        if name.endswith(".gz"):
            (broken / name).write_bytes((open(os.path.join(MNIST_DIR, name), "rb").read()))
    (broken / "train-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    result = run_cli(f"--mnist_dir={broken}", f"--output_dir={tmp_path / 'out'}")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "cannot be read as a (gzipped) IDX file" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_classifier_below_the_bar_stops_before_the_run_directory_is_written(tmp_path, run_cli, monkeypatch):
    """Issue 50: a cached classifier below --classifier_min_accuracy exited 1 (no documented code)
    after writing flags.txt."""
    from age_tf.metrics import mode_classifier

    def short(*args, **kwargs):
        raise mode_classifier.ClassifierAccuracyError(
            "The cached mode classifier in X reaches 95.37% MNIST test accuracy, below the required 99.0%, and "
            "retraining it with the same seed and 3 epochs would reach the same",
            "require less or train longer (epochs=...).", 0.9537)

    monkeypatch.setattr(mode_classifier, "load_or_train", short)
    out = tmp_path / "out"
    result = run_cli(*TINY, "--classifier_min_accuracy=0.99", f"--classifier_dir={tmp_path / 'cls'}",
                     f"--output_dir={out}")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "reaches 95.37% MNIST test accuracy, below the required 99.0%" in result.stderr
    assert "pass --classifier_min_accuracy=0.953 or lower to use it" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists() and "epochs=..." not in result.stderr
