"""Bad input to every entry point: exit code 2, one clear sentence, nothing written.

Each case runs the entry point's ``main`` through ``cli.run_main`` in this
process, as ``python -m`` would (the checks run before any work), and checks the
exit code, that the message says what was wrong, that no Python traceback
reaches the user and that the run directory was not created. Two cases start a
real process: one to see what a user sees first, one that needs two CPU devices.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

MOG = "age_tf.experiments.mog"
CELEBA = "age_tf.experiments.celeba"
STACKED = "age_tf.experiments.stacked_mnist"
TABLE3 = "experiments.table3.run"
TABLE4 = "experiments.table4.run"
TABLE5 = "experiments.table5.run"
SUMMARIZE = "experiments.summarize"
TABLES = (TABLE3, TABLE4, TABLE5)


def _corrupt_file(tmp_path):
    path = tmp_path / "inception.h5"
    path.write_bytes(b"not an HDF5 file" * 64)
    return str(path)


def _a_file(tmp_path):
    path = tmp_path / "a_file"
    path.write_text("x")
    return str(path)


def _truncated_mnist(tmp_path):
    """A copy of the shipped MNIST sample whose training images stop half-way."""
    source = os.path.join(ROOT, "tests", "data", "mnist_sample")
    target = tmp_path / "mnist"
    target.mkdir()
    for name in os.listdir(source):
        data = open(os.path.join(source, name), "rb").read()
        if name.startswith("train-images"):
            data = data[: len(data) // 2]
        (target / name).write_bytes(data)
    return str(target)


# (id, program, arguments (callables get tmp_path), expected words in the message); a program
# (CELEBA, shape, dtype) is CelebA whose tfds data yields images of that shape and dtype.
CASES = [
    ("unknown method", MOG, ["--method=bigan"], "Unknown method 'bigan'. Available: age, fgan, gan, logd, hinge, vae."),
    ("unknown divergence", MOG, ["--divergence=kll"], "Unknown divergence 'kll'. Available: kl, revkl, js, hellinger, pearson, all."),
    ("scale clip above 1", MOG, ["--scale_clip=1.5"], "scale_clip must lie in (0, 1]"),
    ("scale clip zero", MOG, ["--scale_clip=0"], "scale_clip must lie in (0, 1]"),
    ("scale clip negative", MOG, ["--scale_clip=-0.5"], "scale_clip must lie in (0, 1]"),
    ("zero D learning rate", MOG, ["--d_learning_rate=0"], "--d_learning_rate must be a positive number, got 0.0"),
    ("negative E/G learning rate", MOG, ["--eg_learning_rate=-1e-4"], "--eg_learning_rate must be a positive number"),
    ("zero batch size", MOG, ["--batch_size=0"], "--batch_size must be a positive integer, got 0"),
    ("negative batch size", MOG, ["--batch_size=-64"], "--batch_size must be a positive integer, got -64"),
    ("zero D steps", MOG, ["--d_steps=0"], "--d_steps must be a positive integer"),
    ("non-square mixture", MOG, ["--num_modes=10"], "--num_modes must be a square number"),
    ("unknown encoder kind", MOG, ["--encoder_kind=normal"], "Unknown --encoder_kind 'normal'. Available: deterministic, gaussian, implicit."),
    ("unknown metric", MOG, ["--metrics=fid2"], "Unknown metrics fid2 for a mixture run. Available:"),
    ("VAE without Gaussian nets", MOG, ["--method=vae"], "--method=vae needs --encoder_kind=gaussian and --generator_kind=gaussian."),
    ("Adam beta1 of 1", MOG, ["--adam_beta1=1"], "--adam_beta1 must lie in [0, 1), got 1.0"),
    ("XLA under a strategy", MOG, ["--strategy=mirrored", "--jit_compile"], "--jit_compile cannot be combined with --strategy=mirrored"),
    ("multi-worker without TF_CONFIG", MOG, ["--strategy=multi_worker"], "needs the TF_CONFIG environment variable"),
    ("integer flag given text", MOG, ["--epochs=abc"], "flag --epochs=abc: invalid literal for int()"),
    ("unknown flag", MOG, ["--learning_rate=0.1"], "Unknown command line flag 'learning_rate'"),
    ("precision not offered", MOG, ["--precision=float16"], "flag --precision=float16: value should be one of <float32|mixed_bfloat16>"),
    ("missing flagfile", MOG, ["--flagfile=/nonexistent/mog.flags"], "Unable to open flagfile: [Errno 2] No such file or directory: '/nonexistent/mog.flags'"),
    ("stray argument", MOG, ["epochs=3"], "Unexpected arguments: epochs=3."),
    ("output dir is a file", MOG, [lambda t: f"--output_dir={_a_file(t)}"], "is a file, not a directory; choose another path."),
    ("output dir under a file", MOG, [lambda t: f"--output_dir={_a_file(t)}/run"], "cannot be created (Not a directory)"),
    ("output dir not creatable", MOG, ["--output_dir=/proc/age_tf_run"], "--output_dir /proc/age_tf_run cannot be created"),
    ("data not prepared", CELEBA, [lambda t: f"--data_dir={t / 'no_data'}"], "is not prepared: nothing at"),
    ("grayscale image data", (CELEBA, (64, 64, 1), "float32"), [],
     "must yield images [height, width, 3] or batches of them, got (64, 64, 1)."),
    ("uint8 image data", (CELEBA, (64, 64, 3), "uint8"), [],
     "yields uint8 images; the model takes floats in [-1, 1]"),
    ("image data of another size", (CELEBA, (32, 32, 3), "float32"), [],
     "yields images of shape (32, 32, 3); the networks of Table 11 take single 64x64x3 images."),
    ("Inception weights missing", CELEBA, ["--inception_weights=/nonexistent/inception.h5"], "/nonexistent/inception.h5"),
    ("Inception weights corrupt", CELEBA, [lambda t: f"--inception_weights={_corrupt_file(t)}"], "inception.h5"),
    ("unknown image dataset", CELEBA, ["--dataset=mnist"], "flag --dataset=mnist: value should be one of <celeba|imagenet>"),
    ("unknown image method", CELEBA, ["--method=bigbigan"], "Unknown method 'bigbigan'. Available: age, fgan, gan, logd, hinge, ugm."),
    ("too few view images", CELEBA, ["--num_view_images=4"], "--num_view_images must be at least 16"),
    ("AIS on more points than held out", MOG, ["--ais_examples=20000"],
     "--ais_examples must be at most the 10,000 held-out points, got 20000."),
    ("zero AIS chains", MOG, ["--ais_chains=0"], "--ais_chains must be a positive integer, got 0"),
    ("nll without Gaussian nets", MOG, ["--metrics=nll"], "--metrics=nll needs --encoder_kind=gaussian"),
    ("unknown Table 3 row", TABLE3, ["--rows=BiGAN"], "Unknown rows ['BiGAN']. Available: VAE, AGE-KL, f-GAN-KL."),
    ("unknown Table 4 row", TABLE4, ["--rows=AGE-XL"], "Unknown rows ['AGE-XL']. Available: AGE-KL"),
    ("no trials", TABLE4, ["--trials=0"], "--trials=0: give the number of seeds per row, 1 or more"),
    ("negative parallel", TABLE4, ["--parallel=-1"], "--parallel=-1: give the trials to run at once, 1 or more, or 0"),
    ("MNIST directory missing", STACKED, [lambda t: f"--mnist_dir={t / 'no_mnist'}"], "no_mnist"),
    ("MNIST file truncated", STACKED, [lambda t: f"--mnist_dir={_truncated_mnist(t)}"], "train-images"),
    ("unknown Stacked MNIST method", STACKED, ["--method=vae"], "Unknown method 'vae'."),
    ("unknown Table 5 row", TABLE5, ["--rows=AGE-XL"], "Unknown rows"),
    ("negative seed", MOG, ["--seed=-1"], "--seed must lie in [0, 1,000,000,000], got -1."),
    ("huge seed", MOG, ["--seed=1099511627776"], "--seed must lie in [0, 1,000,000,000], got 1099511627776."),
    ("negative data seed", MOG, ["--data_seed=-3"], "--data_seed must lie in [0, 1,000,000,000], got -3."),
    ("negative Stacked MNIST seed", STACKED, ["--seed=-1"], "--seed must lie in [0, 1,000,000,000]"),
    ("empty flagfile", MOG, ["--flagfile="], "--flagfile= names no file; give the path of a flagfile."),
    ("empty output dir", MOG, ["--output_dir="], "--output_dir is empty; give a path."),
    ("empty export dir", MOG, ["--export_dir="], "--export_dir is empty; give a path."),
    ("batch larger than the data", MOG, ["--num_modes=1", "--batch_size=20000"],
     "--batch_size=20000 is larger than the 10,000 points of --num_modes=1, so an epoch would have no step"),
    ("another tool's flag", TABLE4, ["--title=x"], "Unknown command line flag 'title'"),
    ("missing run to summarise", SUMMARIZE, [lambda t: f"--runs={t / 'never_ran'}"], "metrics.json does not exist; did the run"),
]


def _arguments(program, args, tmp_path, out):
    args = [a(tmp_path) if callable(a) else a for a in args]
    if program in TABLES:
        args += [f"--results_dir={out}", f"--runs_dir={out / 'runs'}"]
    elif program != SUMMARIZE and not any(a.startswith("--output_dir=") for a in args):
        args.append(f"--output_dir={out}")
    return args


@pytest.mark.parametrize("name, program, args, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_sentence_and_writes_nothing(tmp_path, monkeypatch, run_in_process,
                                                                 name, program, args, message):
    out = tmp_path / "out"
    monkeypatch.delenv("TF_CONFIG", raising=False)
    if isinstance(program, tuple):  # CelebA whose data yields other images
        import tensorflow as tf

        from age_tf.data import images

        program, shape, dtype = program
        fake = lambda *a, **k: tf.data.Dataset.from_tensor_slices(np.zeros([4, *shape], dtype))  # noqa: E731
        monkeypatch.setattr(images, "celeba", fake)
    result = run_in_process(program, _arguments(program, args, tmp_path, out))
    code, stderr = result.returncode, result.stderr
    assert code == 2, stderr[-3000:]
    assert message in stderr, stderr[-3000:]
    assert "Traceback" not in stderr
    assert not out.exists(), f"{name}: {sorted(os.listdir(out))} was written"


def test_there_are_at_least_25_cases():
    assert len(CASES) >= 25


def test_a_user_reads_the_sentence_first(tmp_path):
    """As a user runs it: the one sentence, with no TensorFlow start-up lines before it."""
    result = subprocess.run([sys.executable, "-m", MOG, "--method=bigan", f"--output_dir={tmp_path / 'out'}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == "Unknown method 'bigan'. Available: age, fgan, gan, logd, hinge, vae."
    assert not (tmp_path / "out").exists()


# Two logical CPUs under MirroredStrategy: a real 2-replica strategy, set up before TensorFlow starts.
TWO_REPLICAS = r"""
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from age_tf.experiments import cli, hardware, mog
hardware.make_strategy = lambda name: tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
sys.argv = ["mog"] + sys.argv[1:]
cli.run_main(mog.main)
"""


@pytest.mark.slow
def test_batch_not_divisible_by_the_replicas(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-c", TWO_REPLICAS, "--strategy=mirrored", "--batch_size=5",
                             f"--output_dir={out}"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "--batch_size=5 is not divisible by the 2 replicas of --strategy=mirrored; use a multiple of 2." in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()
