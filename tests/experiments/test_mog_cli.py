"""The mixture-of-Gaussians entry point, run as a user runs it: its ``main`` through
``cli.run_main`` in this process (tiny runs), and once as a real process (slow)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import load_entry_point, loaded_run_line

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOG = "age_tf.experiments.mog"


@pytest.fixture
def run_cli(run_in_process):
    return lambda *args: run_in_process(MOG, list(args))


def test_short_run_writes_metrics_figure_flags_and_checkpoint(tmp_path, run_cli, recwarn):
    out = tmp_path / "run"
    result = run_cli(
        "--num_modes=9", "--batch_size=50", "--d_steps=2", "--epochs=2", "--steps_per_epoch=3",
        "--num_eval_samples=500", "--eval_every=1", f"--output_dir={out}",
        f"--export_dir={tmp_path / 'export'}", "--checkpoint_every_steps=2",
        "--metrics=mode_coverage,reconstruction_mse,prdc",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Run: epoch 1 of 2, step 3 of 6 (50%), " in result.stdout  # the whole-run progress line
    assert "Run: epoch 2 of 2, step 6 of 6 (100%), " in result.stdout
    assert not (out / "checkpoint" / "steps").exists()  # the mid-epoch checkpoints (steps 2 and 4) were superseded
    metrics = json.loads((out / "metrics.json").read_text())
    assert all(0 <= metrics[key] <= 1 for key in ("precision", "recall", "coverage")) and metrics["density"] >= 0
    assert 0 <= metrics["modes_covered"] <= 9 and metrics["mode_kl"] >= 0
    assert metrics["encoder_generator_steps"] == 6
    info = json.loads((out / "run_info.json").read_text())
    assert info["train_seconds"] > 0 and info["eval_seconds"] > 0  # Table runners add the two
    assert (out / "mog.png").stat().st_size > 10_000
    assert "--num_modes=9" in (out / "flags.txt").read_text()
    history = [json.loads(l) for l in (out / "history.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == [1, 2] and "eval_modes_covered" in history[-1]
    assert any(name.startswith("ckpt-1") for name in os.listdir(out / "checkpoint"))
    assert f"Metrics: {out / 'metrics.json'}" in result.stdout
    assert not [w for w in recwarn if "shuffle" in str(w.message)]  # Keras's about shuffle=True on a dataset
    assert (tmp_path / "export" / "1" / "saved_model.pb").exists()
    tensorboard = out / "tensorboard"
    assert (tensorboard / "mixture_epoch0002.png").exists()
    assert any(tensorboard.joinpath("train").iterdir()) and any(tensorboard.joinpath("images").iterdir())

    # load_run rebuilds the trained model from the directory, as the diagnostic scripts use it.
    mog = sys.modules[MOG]
    model, epoch = mog.load_run(str(out))
    assert (epoch, mog.FLAGS.num_modes, np.asarray(model.generate(3)).shape) == (2, 9, (3, 2))


def test_load_run_names_a_directory_without_flags(tmp_path):
    with pytest.raises(FileNotFoundError, match="flags.txt does not exist: give a run directory written by"):
        load_entry_point(MOG).load_run(str(tmp_path))


def test_dry_run_prints_resolved_flags_and_writes_nothing(tmp_path, run_cli):
    result = run_cli("--dry_run", f"--output_dir={tmp_path / 'never'}")
    assert result.returncode == 0
    assert "--divergence=kl" in result.stdout and "--epochs=" in result.stdout
    assert not (tmp_path / "never").exists()
    # --precision=auto is resolved, said with its reason, and printed (and saved by a run) as what it chose.
    from age_tf.experiments import hardware

    chosen = "mixed_bfloat16" if hardware.bf16_units() else "float32"
    assert f"--precision=auto: training in {chosen} (" in result.stdout
    assert f"--precision={chosen}" in result.stdout.splitlines()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--divergence=kll"], "Unknown divergence 'kll'. Available: kl, revkl, js, hellinger, pearson, all."),
        (["--scale_clip=1.5"], "scale_clip must lie in (0, 1]"),
        (["--batch_size=0"], "flag --batch_size=0: 0 is not a positive integer"),
        (["--method=bigan"], "Unknown method 'bigan'. Available: age, fgan, gan, logd, hinge, vae."),
        (["--num_modes=10"], "--num_modes must be a square number"),
        (["--metrics=mode_coverage,fid"], "Unknown metrics fid for a mixture run. Available: mode_coverage,"),
    ],
)
def test_bad_flags_exit_2_with_one_clear_sentence(tmp_path, run_cli, args, message):
    result = run_cli(*args, f"--output_dir={tmp_path / 'out'}")
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_output_dir_that_is_a_file_is_refused(tmp_path, run_cli):
    target = tmp_path / "file"
    target.write_text("x")
    result = run_cli(f"--output_dir={target}", "--epochs=1")
    assert result.returncode == 2 and "is a file, not a directory" in result.stderr


# Its parts stand in the fast tier apart: a rerun resuming (test_resume's mid-epoch and fewer-epochs
# tests), changed flags refused (test_resume), the wall time carried over (test_run_directory).
@pytest.mark.slow  # three runs, two of them training
def test_rerun_into_the_same_directory_resumes_to_the_same_step_count(tmp_path, run_cli):
    common = ["--num_modes=9", "--batch_size=20", "--d_steps=1", "--steps_per_epoch=3",
              "--num_eval_samples=300", f"--output_dir={tmp_path / 'run'}"]
    first = run_cli(*common, "--epochs=2")
    assert first.returncode == 0, first.stderr[-2000:]
    flags_file = (tmp_path / "run" / "flags.txt").read_text()
    other = run_cli(*common, "--epochs=3", "--divergence=revkl")  # would mix two objectives
    assert other.returncode == 2 and "Traceback" not in other.stderr
    assert "--divergence=kl there, --divergence=revkl now" in other.stderr
    assert (tmp_path / "run" / "flags.txt").read_text() == flags_file  # nothing rewritten
    second = run_cli(*common, "--epochs=3")
    assert second.returncode == 0, second.stderr[-2000:]
    assert "Resuming after epoch 2" in second.stdout
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["encoder_generator_steps"] == 9
    info = json.loads((tmp_path / "run" / "run_info.json").read_text())
    assert info["resumed_after_epoch"] == 2
    history = [json.loads(l) for l in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    # The times cover both stretches: the second one starts from the first's epoch-2 time.
    assert info["earlier_train_seconds"] == round(history[1]["wall_s"], 1) > 0
    assert history[2]["wall_s"] > history[1]["wall_s"]
    assert info["train_seconds"] > info["earlier_train_seconds"]



def test_diverging_run_names_the_player_and_the_last_good_checkpoint(tmp_path, run_cli, monkeypatch):
    import age_tf

    out = tmp_path / "run"
    common = ["--num_modes=9", "--batch_size=20", "--d_steps=1", "--steps_per_epoch=3",
              "--num_eval_samples=300", "--notensorboard", f"--output_dir={out}"]
    assert run_cli(*common, "--epochs=1").returncode == 0
    real = age_tf.data.grid_mixture

    def poisoned(*args, **kwargs):
        data = real(*args, **kwargs)
        # Finite (the entry point refuses NaN data before training) but near float32's
        # largest value, so the first minibatch's losses overflow.
        data.points[::2] = 3e38
        return data

    monkeypatch.setattr(age_tf.data, "grid_mixture", poisoned)
    result = run_cli(*common, "--epochs=3")
    assert result.returncode == 3, result.stderr[-2000:]
    assert "Training stopped: The discriminator, encoder, generator losses became NaN or infinite in epoch 2, batch 1" in result.stderr
    assert "the last good checkpoint is" in result.stderr and "ckpt-1" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p for p in os.listdir(out / "checkpoint") if p.endswith(".index")) == ["ckpt-1.index"]


def test_vae_method_with_likelihood_metrics(tmp_path, run_cli):
    out = tmp_path / "vae"
    result = run_cli(
        "--method=vae", "--encoder_kind=gaussian", "--generator_kind=gaussian", "--num_modes=9",
        "--batch_size=50", "--epochs=1", "--steps_per_epoch=3", "--num_eval_samples=300",
        "--metrics=mode_coverage,objective,cycle_consistency,nll_is", "--ais_examples=20", "--is_samples=50",
        "--notensorboard", f"--output_dir={out}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"objective", "cycle_consistency", "nll_is", "modes_covered"} <= set(metrics)
    assert np.isfinite(metrics["nll_is"])
    assert metrics["encoder_generator_steps"] == 3
    assert np.isfinite(metrics["objective"]) and metrics["objective"] > metrics["cycle_consistency"] - 10


@pytest.mark.parametrize("metric", ["objective", "nll_is"])
def test_likelihood_metrics_need_gaussian_networks(tmp_path, run_cli, metric):
    result = run_cli(f"--metrics={metric}", f"--output_dir={tmp_path / 'out'}")
    assert result.returncode == 2
    assert f"--metrics={metric} needs --encoder_kind=gaussian and --generator_kind=gaussian." in result.stderr


def test_mixed_bfloat16_run_trains_and_reports_finite_metrics(tmp_path, run_cli):
    out = tmp_path / "bf16"
    result = run_cli(
        "--precision=mixed_bfloat16", "--num_modes=9", "--batch_size=50", "--d_steps=2", "--epochs=1",
        "--steps_per_epoch=3", "--num_eval_samples=500", "--notensorboard", f"--output_dir={out}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["encoder_generator_steps"] == 3 and np.isfinite(metrics["mode_kl"])
    assert "--precision=mixed_bfloat16" in (out / "flags.txt").read_text()


@pytest.mark.slow  # two float16 runs and exports on a CPU: 35 s (the logic is in tests/models/test_float16.py)
def test_mixed_float16_run_logs_skipped_steps_and_resumes_its_loss_scales(tmp_path, run_cli):
    """float16 with loss scaling (for GPUs without bfloat16), exercised on the CPU: the run trains,
    logs each player's skipped steps, and a resume restores the scales it reached."""
    out = tmp_path / "fp16"
    args = ["--precision=mixed_float16", "--num_modes=9", "--batch_size=50", "--d_steps=2", "--steps_per_epoch=3",
            "--num_eval_samples=500", "--notensorboard", f"--output_dir={out}", f"--export_dir={tmp_path / 'export'}"]
    first = run_cli(*args, "--epochs=1")
    assert first.returncode == 0, first.stderr[-3000:]
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert {"skipped_d", "skipped_e", "skipped_g"} <= set(history[-1])
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(out / "checkpoint" / "ckpt-1"))
    scales = {name: reader.get_tensor(name) for name, _ in tf.train.list_variables(str(out / "checkpoint" / "ckpt-1"))
              if "dynamic_scale" in name}
    assert len(scales) == 3  # one per player
    second = run_cli(*args, "--epochs=2")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Resuming after epoch 1" in second.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["encoder_generator_steps"] == 6 and np.isfinite(metrics["mode_kl"])
    assert (tmp_path / "export" / "2" / "saved_model.pb").exists()


def test_every_mixture_metric_is_registered():
    from age_tf import metrics

    assert sorted(set(load_entry_point(MOG).MIXTURE_METRICS) - set(metrics.names())) == []


@pytest.mark.slow
def test_a_real_process_records_its_command_and_loads_back(tmp_path):
    """As a user runs it: ``python -m``; run_info.json holds the command as retyped, and
    load_run rebuilds the model in a fresh process."""
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", MOG, "--num_modes=9", "--batch_size=20", "--d_steps=1", "--epochs=1",
         "--steps_per_epoch=2", "--num_eval_samples=300", "--notensorboard", f"--output_dir={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    info = json.loads((out / "run_info.json").read_text())
    assert info["command"].startswith("python -m age_tf.experiments.mog --num_modes=9 ")  # as retyped
    assert loaded_run_line("mog", out, "num_modes", 3) == "1 9 (3, 2)"


@pytest.mark.parametrize("args, message", [
    (["--d_negative_slope=nan"], "--d_negative_slope must be a finite number of at least 0, got nan."),
    (["--metrics=prdc", "--num_eval_samples=4"], "--num_eval_samples=4 is too few for precision, recall"),
])
def test_values_found_late_before_are_refused_up_front(tmp_path, run_in_process, args, message):
    result = run_in_process(MOG, [*args, f"--output_dir={tmp_path / 'out'}"])
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr and not (tmp_path / "out").exists()


def test_a_one_number_code_is_drawn(tmp_path, run_in_process):
    """Issue: --latent_dim=1 trained, then the figure raised IndexError, and every rerun did the same."""
    out = tmp_path / "run"
    result = run_in_process(MOG, ["--num_modes=9", "--latent_dim=1", "--hidden_units=16", "--d_hidden_units=16",
                                  "--batch_size=50", "--d_steps=1", "--epochs=1", "--steps_per_epoch=3",
                                  "--num_eval_samples=200", "--notensorboard", f"--output_dir={out}"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert os.path.getsize(out / "mog.png") > 0
