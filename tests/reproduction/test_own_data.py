"""The own-data example: MNIST written out as a folder of PNGs, read back, and the 32x32 CPU flagfile trained
briefly on it."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import MNIST_DIR, ROOT

from age_tf.data import folder, mnist
from experiments.own_data import make_mnist_folder


def test_the_written_folder_reads_back_as_the_same_digits_and_labels(tmp_path):
    split = mnist.load_mnist(MNIST_DIR, "train")
    make_mnist_folder.write_folder(split.images[:40], split.labels[:40], str(tmp_path / "digits"))
    assert not os.path.exists(tmp_path / "digits.partial")
    assert sorted(os.listdir(tmp_path / "digits")) == sorted({str(label) for label in split.labels[:40]})
    images = folder.load_image_folder(str(tmp_path / "digits"), image_size=32, validation_share=0.25)
    assert images.class_names == tuple(sorted({str(label) for label in split.labels[:40]}))
    # Each digit came back grey (three equal channels), under its own label, with its brightness: area
    # resizing 28 -> 32 keeps an image's mean to within a grey level.
    pixels = np.concatenate([images.train, images.validation]).astype(np.float64)
    assert (pixels[..., 0] == pixels[..., 2]).all()
    labels = np.array(images.class_names)[np.concatenate([images.train_labels, images.validation_labels])]
    measured = sorted(zip(labels.astype(int), pixels[..., 0].mean(axis=(1, 2))))
    expected = sorted(zip(split.labels[:40].astype(int), split.images[:40].mean(axis=(1, 2))))
    assert [label for label, _ in measured] == [label for label, _ in expected]
    np.testing.assert_allclose([m for _, m in measured], [m for _, m in expected], atol=1.0)


@pytest.mark.slow  # starts two processes and trains
def test_the_32x32_flagfile_trains_on_the_written_folder(tmp_path):
    digits = tmp_path / "digits"
    made = subprocess.run([sys.executable, "-m", "experiments.own_data.make_mnist_folder", f"--mnist_dir={MNIST_DIR}",
                           f"--output_dir={digits}", "--num_images=600"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert made.returncode == 0, made.stderr[-2000:]
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "age_tf.experiments.celeba", "--flagfile=experiments/own_data/folder_32_cpu.flags",
         f"--data_dir={digits}", "--epochs=2", "--steps_per_epoch=10", "--views_every=1", f"--output_dir={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["generator_steps"] == 20
    assert (metrics["representation_train_points"], metrics["representation_test_points"]) == (540, 60)
    assert 0.1 <= metrics["knn_accuracy"] <= 1 and metrics["reconstruction_distance"] > 0
    assert {"epoch_0002_samples.png", "final_reconstructions.png"} <= set(os.listdir(out / "views"))
