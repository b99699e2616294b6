"""The BiGAN MNIST table runner on a tiny configuration: the raw-pixel row, a trained row, the table."""

import json
import subprocess
import sys

import pytest
from conftest import MNIST_DIR, ROOT

pytestmark = pytest.mark.slow  # starts processes


def test_runs_scores_pixels_and_tabulates(tmp_path):
    tiny = ",".join([f"--mnist_dir={MNIST_DIR}", "--num_train=512", "--hidden_units=32", "--latent_dim=8",
                     "--batch_size=32", "--epochs=1", "--notensorboard"])
    result = subprocess.run(
        [sys.executable, "-m", "experiments.bigan_mnist.run", "--rows=AGE-ALL", "--trials=1",
         f"--mnist_dir={MNIST_DIR}", f"--extra_flags={tiny}", f"--runs_dir={tmp_path / 'runs'}",
         f"--results_dir={tmp_path / 'results'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    table = (tmp_path / "results" / "bigan_mnist.md").read_text()
    assert ("| Method | 1-NN (%) | linear probe (%) | recon. distance | random-pair distance | minutes a trial | "
            "seeds | published |") in table
    assert "| AGE-ALL |" in table and "Raw pixels (784 values, no training): 1-NN" in table
    pixels = json.loads((tmp_path / "results" / "pixels.json").read_text())
    # On the sample (6,000 training and 1,000 test digits) raw pixels already find most labels.
    assert 0.8 < pixels["knn_accuracy"] < 1 and pixels["reconstruction_distance"] == 0
    trial = json.loads((tmp_path / "results" / "bigan_mnist.json").read_text())["trials"]["AGE-ALL/0"]
    assert trial["representation_train_points"] == 512 and trial["label"] == "AGE-ALL"
