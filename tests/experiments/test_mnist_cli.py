"""The permutation-invariant MNIST entry point (BiGAN's setting), run as a user runs it, on the
MNIST sample shipped with the tests."""

import json
import os

import pytest
from conftest import MNIST_DIR

MNIST = "age_tf.experiments.mnist"
TINY = [f"--mnist_dir={MNIST_DIR}", "--num_train=512", "--hidden_units=32", "--latent_dim=8", "--batch_size=32",
        "--epochs=1"]


@pytest.fixture
def run_cli(run_in_process):
    return lambda *args: run_in_process(MNIST, list(args))


@pytest.mark.parametrize("row", [
    ["--method=age", "--divergence=kl"],
    pytest.param(["--method=vae", "--prior=normal", "--encoder_kind=gaussian", "--generator_kind=gaussian"],
                 marks=pytest.mark.slow),  # another short training; the fast tier keeps AGE's
])
def test_a_short_run_reports_the_encoder_metrics(tmp_path, run_cli, row):
    out = tmp_path / "run"
    result = run_cli(*TINY, *row, f"--output_dir={out}")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.1 <= metrics["knn_accuracy"] <= 1 and 0.1 <= metrics["probe_accuracy"] <= 1
    assert metrics["random_pair_distance"] > 5  # MNIST digits in [0, 1] differ by about 10
    assert (metrics["representation_train_points"], metrics["representation_test_points"]) == (512, 1000)
    assert metrics["encoder_generator_steps"] == 512 // (32 * (2 if "--method=age" in row else 1))
    assert "knn_accuracy" in result.stdout and "BiGAN's Table 1 measure" in result.stdout
    assert os.path.getsize(out / "samples.png") > 0


def test_the_cpu_flagfile_is_bigans_setting_but_its_length(run_cli):
    result = run_cli("--flagfile=experiments/bigan_mnist/mnist_cpu.flags", "--dry_run")
    assert result.returncode == 0, result.stderr[-2000:]
    for flag in ("--prior=uniform", "--latent_dim=50", "--hidden_units=1024", "--batch_size=128",
                 "--d_learning_rate=0.0002", "--eg_learning_rate=0.0002", "--adam_beta1=0.5", "--d_steps=1"):
        assert flag in result.stdout.splitlines(), flag


@pytest.mark.parametrize("args, message", [
    (["--method=vae", "--encoder_kind=gaussian", "--generator_kind=gaussian"],
     "--method=vae has the prior N(0, I) (its KL term is in closed form); pass --prior=normal."),
    (["--method=vae", "--prior=normal"], "--method=vae needs --encoder_kind=gaussian and --generator_kind=gaussian."),
    (["--prior=laplace"], "--prior"),
    (["--method=bigan"], "Unknown method 'bigan'."),
    (["--mnist_dir=/nonexistent/mnist"], "--mnist_dir: MNIST directory /nonexistent/mnist does not exist"),
    (["--num_train=100"], "fewer than one iteration's 2 minibatches of --batch_size=128"),
])
def test_bad_input_exits_2_before_anything_is_written(tmp_path, run_cli, args, message):
    result = run_cli(f"--mnist_dir={MNIST_DIR}", *args, f"--output_dir={tmp_path / 'out'}")
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
