"""Your own data from the command line, run as a user runs it: a folder of PNGs through the image entry
point (``--dataset=folder``) and an array through the mixtures entry point (``--data``), with every refusal."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

CELEBA, MOG = "age_tf.experiments.celeba", "age_tf.experiments.mog"
TINY_IMAGES = ["--dataset=folder", "--image_size=32", "--ch=4", "--latent_dim=4", "--batch_size=8",
               "--num_view_images=16", "--validation_share=0.4", "--views_every=0", "--notensorboard"]
TINY_VECTORS = ["--latent_dim=2", "--hidden_units=16", "--d_hidden_units=16", "--batch_size=50", "--d_steps=1",
                "--epochs=1", "--steps_per_epoch=3", "--num_eval_samples=200", "--notensorboard"]


def write_png(path, pixels):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tf.io.write_file(str(path), tf.io.encode_png(np.asarray(pixels, np.uint8)))


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """40 small images in two class folders, of mixed sizes and channels (grayscale among them)."""
    root = tmp_path_factory.mktemp("folder") / "shapes"
    rng = np.random.default_rng(0)
    for index in range(40):
        label = index % 2
        size = (12, 16) if index % 3 else (20, 20)
        pixels = rng.integers(0, 60, (*size, 1 if index % 5 == 0 else 3)) + 150 * label
        write_png(root / f"class_{label}" / f"{index:02d}.png", pixels)
    return root


def image_run(run_in_process, *args):
    return run_in_process(CELEBA, [*TINY_IMAGES, *args])


def test_a_folder_of_classes_trains_and_reports_the_encoder_metrics(tmp_path, digits, run_in_process):
    out = tmp_path / "run"
    result = image_run(run_in_process, f"--data_dir={digits}", "--epochs=1", "--steps_per_epoch=2",
                       f"--output_dir={out}")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["generator_steps"] == 2
    assert (metrics["representation_train_points"], metrics["representation_test_points"]) == (24, 16)
    assert 0.0 <= metrics["knn_accuracy"] <= 1.0 and metrics["random_pair_distance"] > 0
    assert f"on {digits} (24 training and 16 held-out 32x32 images, 2 classes)" in result.stdout
    assert "linear probe" not in result.stderr
    assert {"final_samples.png", "final_reconstructions.png"} <= set(os.listdir(out / "views"))


@pytest.mark.parametrize("layout, message", [
    ("empty", "is empty; put PNG or JPEG images in it"),
    ("text_only", "holds no PNG or JPEG images (1 other file"),
    ("corrupt", "/class_1/07.png is not a readable image ("),
    ("single", "holds a single image"),
    ("below_a_batch", "fewer than one batch of 8; add images or pass a smaller --batch_size"),
    ("few_held_out", "the views need at least 16"),
])
def test_bad_folders_exit_2_with_one_sentence_before_anything_is_written(tmp_path, digits, run_in_process,
                                                                         layout, message):
    root = tmp_path / layout
    root.mkdir()
    if layout == "text_only":
        (root / "notes.txt").write_text("no images here")
    elif layout == "corrupt":
        for index in range(12):
            write_png(root / f"class_{index % 2}" / f"{index:02d}.png", np.zeros((8, 8, 3)))
        (root / "class_1" / "07.png").write_bytes(b"\x89PNG but cut short")
    elif layout == "single":
        write_png(root / "only.png", np.zeros((8, 8, 3)))
    elif layout in ("below_a_batch", "few_held_out"):
        for index in (range(10) if layout == "below_a_batch" else range(30)):
            write_png(root / f"{index:02d}.png", np.zeros((8, 8, 3)))
    out = tmp_path / "out"
    result = image_run(run_in_process, f"--data_dir={root}", f"--output_dir={out}",
                       *(["--validation_share=0.1"] if layout == "few_held_out" else []))
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_a_folder_run_needs_its_folder_and_an_array_run_its_file(tmp_path, run_in_process):
    result = image_run(run_in_process, f"--output_dir={tmp_path / 'out'}")
    assert result.returncode == 2 and "--dataset=folder needs --data_dir" in result.stderr
    result = run_in_process(MOG, ["--data=", f"--output_dir={tmp_path / 'out'}"])
    assert result.returncode == 2 and "--data is empty; give a path." in result.stderr
    assert not (tmp_path / "out").exists()


def test_the_cpu_flagfile_is_the_32x32_dcgan_setting(run_in_process):
    result = run_in_process(CELEBA, ["--flagfile=experiments/own_data/folder_32_cpu.flags", "--dry_run"])
    assert result.returncode == 0, result.stderr[-2000:]
    for flag in ("--dataset=folder", "--image_size=32", "--method=age", "--divergence=all"):
        assert flag in result.stdout.splitlines(), flag


def test_the_vectors_flagfile_is_the_demo_networks_on_an_array(tmp_path, run_in_process):
    from experiments.own_data import make_moons

    np.save(tmp_path / "moons.npy", make_moons.moons())
    result = run_in_process(MOG, ["--flagfile=experiments/own_data/vectors_cpu.flags",
                                  f"--data={tmp_path / 'moons.npy'}", "--dry_run"])
    assert result.returncode == 0, result.stderr[-2000:]
    for flag in ("--hidden_units=128", "--d_steps=2", "--precision=float32", "--epochs=100"):
        assert flag in result.stdout.splitlines(), flag


def test_a_2d_array_trains_and_draws_the_four_panels(tmp_path, run_in_process):
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.normal([0, 0], 1, (300, 2)), rng.normal([50, 5], [5, 0.2], (300, 2))])
    np.save(tmp_path / "points.npy", points.astype(np.float32))
    out = tmp_path / "run"
    result = run_in_process(MOG, [f"--data={tmp_path / 'points.npy'}", *TINY_VECTORS, f"--output_dir={out}"])
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"reconstruction_distance", "random_pair_distance", "precision", "recall", "density", "coverage",
            "reconstruction_mse"} <= set(metrics)
    assert "modes_covered" not in metrics
    assert "540 training and 60 held-out rows of 2 columns, each standardised" in result.stdout
    assert os.path.getsize(out / "mog.png") > 0
    samples = np.load(out / "samples.npy")
    assert samples.shape == (5000, 2) and samples[:, 0].std() > 5  # back in the file's units


def test_a_csv_of_more_columns_trains_without_the_planar_figure(tmp_path, run_in_process):
    rows = np.random.default_rng(1).normal(size=(200, 3))
    np.savetxt(tmp_path / "points.csv", rows, delimiter=",")
    out = tmp_path / "run"
    result = run_in_process(MOG, [f"--data={tmp_path / 'points.csv'}", *TINY_VECTORS, "--batch_size=20",
                                  f"--output_dir={out}"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (out / "mog.png").exists() and np.load(out / "samples.npy").shape == (5000, 3)


@pytest.mark.parametrize("content, args, message", [
    (np.array([[0.0, 1.0], [np.nan, 2.0]] * 60), [], "NaN or infinite values (the first at row 1, column 0)"),
    (np.zeros(100), [], "it must be [N, d], one point a row"),
    (np.zeros((1, 2)), [], "holds 1 row of 2 columns"),
    ("x,y\n" + "1,2\n" * 100, [], "line 1 is not all numbers (a header row: 'x,y')"),
    ("1,2\n" * 100 + "3,red\n", [], "line 101 is not all numbers (text in a column: '3,red')"),
    (np.zeros((60, 2)), ["--steps_per_epoch=0", "--batch_size=100"], "--batch_size=100 is larger than the 54 training rows"),
    (np.zeros((30, 2)), [], "holds out 3 of the 30 rows of"),
    (np.zeros((100, 2)), ["--metrics=mode_coverage"], "need the mixture's modes or density"),
])
def test_bad_arrays_exit_2_naming_the_file_before_anything_is_written(tmp_path, run_in_process, content, args,
                                                                       message):
    path = tmp_path / ("data.csv" if isinstance(content, str) else "data.npy")
    if isinstance(content, str):
        path.write_text(content)
    else:
        np.save(path, content)
    out = tmp_path / "out"
    result = run_in_process(MOG, [f"--data={path}", *TINY_VECTORS, *args, f"--output_dir={out}"])
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()

