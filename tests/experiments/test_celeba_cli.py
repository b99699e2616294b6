"""The CelebA/ImageNet entry point, run as a user runs it (its ``main`` through ``cli.run_main``,
in this process), on tfds mock data."""

import json
import os

import pytest

CELEBA = "age_tf.experiments.celeba"
TINY = ["--ch=2", "--latent_dim=8", "--mlp_units=16", "--encoder_backbone=small", "--batch_size=4",
        "--num_view_images=16", "--notensorboard"]


@pytest.fixture
def run_cli(run_in_process):
    return lambda *args: run_in_process(CELEBA, list(args))


@pytest.fixture
def run_mocked(run_in_process):
    """The entry point inside tfds.testing.mock_data: random CelebA/ImageNet examples."""
    import tensorflow_datasets as tfds

    def run(*args):
        with tfds.testing.mock_data(num_examples=24):
            return run_in_process(CELEBA, list(args))

    return run


@pytest.mark.slow  # SAGAN and its views: 20 s
def test_age_all_smoke_run_writes_views_metrics_and_a_checkpoint(tmp_path, run_mocked):
    out = tmp_path / "run"
    result = run_mocked(*TINY, "--epochs=2", "--steps_per_epoch=2", f"--output_dir={out}",
                        f"--data_dir={tmp_path / 'data'}")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["generator_steps"] == 4 and metrics["seed"] == 0
    views = sorted(os.listdir(out / "views"))
    for tag in ("epoch_0001", "epoch_0002", "final"):
        for view in ("samples", "reconstructions", "interpolations", "neighbours"):
            assert f"{tag}_{view}.png" in views
    assert [json.loads(l)["epoch"] for l in (out / "history.jsonl").read_text().splitlines()] == [1, 2]
    assert any(name.startswith("ckpt-2") for name in os.listdir(out / "checkpoint"))
    assert "--divergence=all" in (out / "flags.txt").read_text()


@pytest.mark.slow  # SAGAN: 10 s
def test_unidirectional_ugm_on_imagenet_trains_the_generator_only(tmp_path, run_mocked):
    out = tmp_path / "ugm"
    result = run_mocked(*TINY, "--dataset=imagenet", "--method=ugm", "--epochs=1", "--steps_per_epoch=1",
                        f"--output_dir={out}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((out / "metrics.json").read_text())["generator_steps"] == 1
    assert sorted(os.listdir(out / "views")) == ["epoch_0001_samples.png", "final_samples.png"]


def test_celeba_at_32x32_trains_the_dcgan_networks(tmp_path, run_mocked):
    out = tmp_path / "run"
    result = run_mocked("--image_size=32", "--ch=4", "--latent_dim=8", "--batch_size=4", "--num_view_images=16",
                        "--notensorboard", "--views_every=0", "--epochs=1", "--steps_per_epoch=2",
                        f"--output_dir={out}", f"--data_dir={tmp_path / 'data'}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((out / "metrics.json").read_text())["generator_steps"] == 2
    assert "--image_size=32" in (out / "flags.txt").read_text()


def test_missing_data_stops_at_once_with_how_to_prepare_it(tmp_path, run_cli):
    result = run_cli(f"--data_dir={tmp_path / 'empty'}", f"--output_dir={tmp_path / 'out'}")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "is not prepared" in result.stderr and "tfds build celeb_a" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--method=bigbigan"], "Unknown method 'bigbigan'. Available: age, fgan, gan, logd, hinge, ugm."),
        (["--divergence=js2"], "Unknown divergence 'js2'"),
        (["--scale_clip=0"], "scale_clip must lie in (0, 1]"),
        (["--eg_learning_rate=0"], "flag --eg_learning_rate=0.0: must be a positive number"),
        (["--num_view_images=4"], "--num_view_images must be at least 16"),
        (["--image_size=32", "--method=ugm"], "--method=ugm trains D(x) alone, which only the 64x64 networks offer"),
        (["--image_size=48"], "--image_size"),
        (["--validation_share=1"], "--validation_share must lie strictly between 0 and 1, got 1.0."),
        (["--inception_weights=/nonexistent/inception.h5"], "/nonexistent/inception.h5"),
    ],
)
def test_bad_flags_exit_2_before_anything_is_written(tmp_path, run_cli, args, message):
    result = run_cli(*args, f"--output_dir={tmp_path / 'out'}")
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_validation_split_too_small_for_the_views_stops_before_anything_is_written(tmp_path, run_in_process):
    """Issue 50: found only at the end of epoch 1, before the checkpoint, so every rerun failed again."""
    import tensorflow_datasets as tfds

    out = tmp_path / "run"
    with tfds.testing.mock_data(num_examples=10):
        result = run_in_process(CELEBA, [*TINY, "--epochs=1", "--steps_per_epoch=1", f"--output_dir={out}",
                                         f"--data_dir={tmp_path / 'data'}"])
    assert result.returncode == 2, result.stderr[-2000:]
    assert "--validation_split=validation holds 10 images; the views need at least 16" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()
