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
BIGAN_MNIST = "experiments.bigan_mnist.run"
TABLES = (TABLE3, TABLE4, TABLE5, BIGAN_MNIST)


def _corrupt_file(tmp_path):
    path = tmp_path / "inception.h5"
    path.write_bytes(b"not an HDF5 file" * 64)
    return str(path)


def _a_file(tmp_path):
    path = tmp_path / "a_file"
    path.write_text("x")
    return str(path)


def _damaged_mnist(tmp_path, damage):
    """A copy of the shipped MNIST sample with ``damage(bytes) -> bytes`` done to the training images."""
    source = os.path.join(ROOT, "tests", "data", "mnist_sample")
    target = tmp_path / "mnist"
    target.mkdir()
    for name in os.listdir(source):
        data = open(os.path.join(source, name), "rb").read()
        (target / name).write_bytes(damage(data) if name.startswith("train-images") else data)
    return str(target)


def _truncated_mnist(tmp_path):
    """The training images stop half-way."""
    return _damaged_mnist(tmp_path, lambda data: data[: len(data) // 2])


def _corrupt_deflate_mnist(tmp_path):
    """The training images' deflate stream is garbled, the gzip header intact (zlib, not gzip,
    finds the damage)."""
    return _damaged_mnist(tmp_path, lambda data: data[:20] + bytes(b ^ 0xFF for b in data[20:60]) + data[60:])


def _run_with_metrics(tmp_path, text):
    run = tmp_path / "finished_run"
    run.mkdir()
    (run / "metrics.json").write_text(text)
    return str(run)


def _bom_flagfile(tmp_path):
    path = tmp_path / "bom.flags"
    path.write_bytes(b"\xef\xbb\xbf--epochs=1\n")
    return f"--flagfile={path}"


def _binary_flagfile(tmp_path):
    path = tmp_path / "binary.flags"
    path.write_bytes(bytes(range(128, 256)) * 4)
    return f"--flagfile={path}"


def _half_prepared_tfds(tmp_path):
    """What a ``tfds build`` that stopped at once leaves: the version folder, nothing in it."""
    (tmp_path / "tfds" / "celeb_a" / "2.1.0").mkdir(parents=True)
    return f"--data_dir={tmp_path / 'tfds'}"


def _damaged_dataset_info(tmp_path):
    version = tmp_path / "tfds" / "celeb_a" / "2.1.0"
    version.mkdir(parents=True)
    (version / "dataset_info.json").write_text('{"name": "celeb_a", ')
    return f"--data_dir={tmp_path / 'tfds'}"


# (id, program, arguments (callables get tmp_path), expected words in the message); a program
# (CELEBA, shape, dtype) is CelebA whose tfds data yields images of that shape and dtype.
CASES = [
    ("unknown method", MOG, ["--method=bigan"], "Unknown method 'bigan'. Available: age, fgan, gan, logd, hinge, vae."),
    ("unknown divergence", MOG, ["--divergence=kll"], "Unknown divergence 'kll'. Available: kl, revkl, js, hellinger, pearson, all."),
    ("scale clip above 1", MOG, ["--scale_clip=1.5"], "scale_clip must lie in (0, 1]"),
    ("scale clip zero", MOG, ["--scale_clip=0"], "scale_clip must lie in (0, 1]"),
    ("scale clip negative", MOG, ["--scale_clip=-0.5"], "scale_clip must lie in (0, 1]"),
    ("zero D learning rate", MOG, ["--d_learning_rate=0"], "flag --d_learning_rate=0.0: must be a positive number"),
    ("infinite D learning rate", MOG, ["--d_learning_rate=inf"], "flag --d_learning_rate=inf: must be a positive number"),
    ("NaN E/G learning rate", MOG, ["--eg_learning_rate=nan"], "flag --eg_learning_rate=nan: must be a positive number"),
    ("negative E/G learning rate", MOG, ["--eg_learning_rate=-1e-4"], "flag --eg_learning_rate=-0.0001: must be a positive number"),
    ("zero batch size", MOG, ["--batch_size=0"], "flag --batch_size=0: 0 is not a positive integer"),
    ("negative batch size", MOG, ["--batch_size=-64"], "flag --batch_size=-64: -64 is not a positive integer"),
    ("zero D steps", MOG, ["--d_steps=0"], "flag --d_steps=0: 0 is not a positive integer"),
    ("non-square mixture", MOG, ["--num_modes=10"], "--num_modes must be a square number"),
    ("unknown encoder kind", MOG, ["--encoder_kind=normal"], "Unknown --encoder_kind 'normal'. Available: deterministic, gaussian, implicit."),
    ("unknown metric", MOG, ["--metrics=fid2"], "Unknown metrics fid2 for a mixture run. Available:"),
    ("VAE without Gaussian nets", MOG, ["--method=vae"], "--method=vae needs --encoder_kind=gaussian and --generator_kind=gaussian."),
    ("VAE in bfloat16", MOG, ["--method=vae", "--precision=mixed_bfloat16"],
     "--method=vae does not train in mixed_bfloat16 yet; pass --precision=float32."),
    ("Adam beta1 of 1", MOG, ["--adam_beta1=1"], "flag --adam_beta1=1.0: must lie in [0, 1)"),
    ("XLA for a convnet on a CPU", STACKED, ["--jit_compile"],
     "--jit_compile is for GPUs: on a CPU XLA made the Stacked MNIST step 8.5x slower"),
    ("XLA for CelebA on a CPU", CELEBA, ["--jit_compile"], "--jit_compile is for GPUs"),
    ("XLA in bfloat16 on a CPU", MOG, ["--jit_compile", "--precision=mixed_bfloat16"],
     "XLA made the 25-Gaussian step 4.1x slower in mixed_bfloat16"),
    ("XLA in float32 on a CPU", MOG, ["--jit_compile", "--precision=float32"],
     "XLA made the 25-Gaussian step 1.2x slower in float32 on an AMD EPYC (0.238 s against 0.199 s)"),
    ("XLA with auto precision on a CPU", MOG, ["--jit_compile"], "--jit_compile is for GPUs: on a CPU XLA made"),
    ("XLA under a strategy", MOG, ["--strategy=mirrored", "--jit_compile"], "--jit_compile cannot be combined with --strategy=mirrored"),
    ("multi-worker without TF_CONFIG", MOG, ["--strategy=multi_worker"], "needs the TF_CONFIG environment variable"),
    ("integer flag given text", MOG, ["--epochs=abc"], "flag --epochs=abc: invalid literal for int()"),
    ("unknown flag", MOG, ["--learning_rate=0.1"], "Unknown command line flag 'learning_rate'"),
    ("precision not offered", MOG, ["--precision=float16"], "flag --precision=float16: value should be one of <auto|float32|mixed_bfloat16|mixed_float16>"),
    ("missing flagfile", MOG, ["--flagfile=/nonexistent/mog.flags"], "Unable to open flagfile: [Errno 2] No such file or directory: '/nonexistent/mog.flags'"),
    ("stray argument", MOG, ["epochs=3"], "Unexpected arguments: epochs=3."),
    ("output dir is a file", MOG, [lambda t: f"--output_dir={_a_file(t)}"], "is a file, not a directory; choose another path."),
    ("output dir under a file", MOG, [lambda t: f"--output_dir={_a_file(t)}/run"], "cannot be created (Not a directory: "),
    ("output dir not creatable", MOG, ["--output_dir=/proc/age_tf_run"], "--output_dir /proc/age_tf_run cannot be created"),
    ("data not prepared", CELEBA, [lambda t: f"--data_dir={t / 'no_data'}"], "is not prepared: nothing at"),
    ("grayscale image data", (CELEBA, (64, 64, 1), "float32"), [],
     "must yield images [height, width, 3] or batches of them, got (64, 64, 1)."),
    ("uint8 image data", (CELEBA, (64, 64, 3), "uint8"), [],
     "yields uint8 images; the model takes floats in [-1, 1]"),
    ("image data of another size", (CELEBA, (32, 32, 3), "float32"), [],
     "yields images of shape (32, 32, 3); the networks of --image_size=64 take single 64x64x3 images."),
    ("Inception weights missing", CELEBA, ["--inception_weights=/nonexistent/inception.h5"], "/nonexistent/inception.h5"),
    ("reference FID graph missing", CELEBA, ["--fid_inception_graph=/nonexistent/fid.pb"],
     "--fid_inception_graph: Reference FID graph '/nonexistent/fid.pb' does not exist."),
    ("both Inception networks", CELEBA, ["--fid_inception_graph=/x/fid.pb", "--inception_weights=/x/i.h5"],
     "Give --fid_inception_graph (comparable FIDs) or --inception_weights (Keras' InceptionV3), not both."),
    ("Inception weights corrupt", CELEBA, [lambda t: f"--inception_weights={_corrupt_file(t)}"], "inception.h5"),
    ("unknown image dataset", CELEBA, ["--dataset=mnist"], "flag --dataset=mnist: value should be one of <celeba|imagenet|folder>"),
    ("unknown image method", CELEBA, ["--method=bigbigan"], "Unknown method 'bigbigan'. Available: age, fgan, gan, logd, hinge, ugm."),
    ("too few view images", CELEBA, ["--num_view_images=4"], "--num_view_images must be at least 16"),
    ("AIS on more points than held out", MOG, ["--ais_examples=20000"],
     "--ais_examples must be at most the 10,000 held-out points, got 20000."),
    ("zero AIS chains", MOG, ["--ais_chains=0"], "flag --ais_chains=0: 0 is not a positive integer"),
    ("nll without Gaussian nets", MOG, ["--metrics=nll"], "--metrics=nll needs --encoder_kind=gaussian"),
    ("unknown Table 3 row", TABLE3, ["--rows=BiGAN"], "Unknown rows ['BiGAN']. Available: VAE, AGE-KL, f-GAN-KL."),
    ("unknown Table 4 row", TABLE4, ["--rows=AGE-XL"], "Unknown rows ['AGE-XL']. Available: AGE-KL"),
    ("no trials", TABLE4, ["--trials=0"], "--trials=0: give the number of seeds per row, 1 to 1000"),
    ("a hundred million trials", TABLE4, ["--trials=100000000", "--dry_run"],
     "--trials=100000000: give the number of seeds per row, 1 to 1000"),
    ("extra flag changing a row's divergence", TABLE4, ["--extra_flags=--divergence=js"],
     "--extra_flags=--divergence=js changes a flag that the row AGE-KL sets"),
    ("extra flag changing the method", TABLE3, ["--extra_flags=--method=gan"],
     "--extra_flags=--method=gan changes a flag that the row VAE sets"),
    ("extra flag setting the seed", TABLE4, ["--extra_flags=--seed=7"],
     "--extra_flags=--seed=7 changes a flag that the runner sets"),
    ("extra flag without dashes", TABLE4, ["--extra_flags=epochs=1"], "--extra_flags=epochs=1 is not a flag"),
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
    ("binary flagfile", MOG, [_binary_flagfile], "binary.flags is not a text file of flags"),
    ("flagfile with a byte-order mark", MOG, [_bom_flagfile],
     "bom.flags starts with a byte-order mark (as some Windows editors save UTF-8); save it as UTF-8 without one"),
    ("binary flagfile, Stacked MNIST", STACKED, [_binary_flagfile], "is not a text file of flags"),
    ("binary flagfile after a space", MOG, [lambda t: "--flagfile", lambda t: _binary_flagfile(t).split("=", 1)[1]],
     "binary.flags is not a text file of flags"),
    ("export dir is a file", MOG, [lambda t: f"--export_dir={_a_file(t)}"], "a_file is a file, not a directory"),
    ("export dir not creatable", MOG, ["--export_dir=/proc/age_tf_export"],
     "--export_dir /proc/age_tf_export cannot be created"),
    ("export dir under a file", CELEBA, [lambda t: f"--export_dir={_a_file(t)}/models"],
     "cannot be created (Not a directory"),
    ("MNIST deflate stream corrupt", STACKED, [lambda t: f"--mnist_dir={_corrupt_deflate_mnist(t)}"],
     "train-images-idx3-ubyte.gz cannot be read as a (gzipped) IDX file"),
    ("tfds folder half prepared", CELEBA, [_half_prepared_tfds], "was not fully prepared"),
    ("tfds dataset_info.json damaged", CELEBA, [_damaged_dataset_info], "its dataset_info.json is damaged"),
    ("damaged run to summarise", SUMMARIZE, [lambda t: "--runs=" + _run_with_metrics(t, '{"modes_covered": 2')],
     "metrics.json is not valid JSON"),
    ("run to summarise holding a list", SUMMARIZE, [lambda t: "--runs=" + _run_with_metrics(t, "[1, 2]")],
     "metrics.json holds a JSON list, not an object"),
    # Sizes no machine here holds are refused before anything is built (issue 50: they ran out of
    # memory at model build or evaluation, reported as a file error).
    ("layers beyond memory", MOG, ["--hidden_units=20000000"], "--hidden_units=20000000 needs at least"),
    ("evaluation beyond memory", MOG, ["--num_eval_samples=10000000000"], "--num_eval_samples=10000000000 needs at least"),
    ("batch beyond memory", MOG, ["--batch_size=5200000000", "--steps_per_epoch=3"], "--batch_size=5200000000 needs"),
    ("training set beyond memory", STACKED, ["--num_train_examples=100000000"],
     "--num_train_examples=100000000 needs at least"),
    # Issue 50: a 4,000-character --output_dir passed the writability check and failed at the first save.
    ("output_dir too long", MOG, [lambda t: f"--output_dir={t / '/'.join(['a' * 200] * 20)}"],
     "bytes long, and the files written below it need"),
    ("output_dir folder name too long", MOG, [lambda t: f"--output_dir={t / ('b' * 300)}"],
     "has a folder name of 300 bytes"),
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


def test_an_output_dir_that_is_not_utf8_is_refused_before_it_is_created(tmp_path, run_in_process):
    out = os.path.join(os.fsdecode(bytes(tmp_path)), os.fsdecode(b"run\xff"))  # as argv holds it
    result = run_in_process(MOG, [f"--output_dir={out}"])
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.strip().endswith("run\\xff is not valid UTF-8; use a value in UTF-8 characters.")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("config, message", [
    ("{bad", "TF_CONFIG is not valid JSON"),
    ("[1, 2]", 'TF_CONFIG needs "cluster"'),
    ('{"cluster": {}}', 'TF_CONFIG needs "cluster"'),
    ('{"cluster": {"worker": "localhost:1"}}', 'TF_CONFIG needs "cluster"'),
    ('{"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}', 'TF_CONFIG needs "cluster"'),
    ('{"cluster": {"worker": ["localhost:1"]}}', 'TF_CONFIG needs "task"'),
    ('{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 1}}', 'TF_CONFIG needs "task"'),
    ('{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "chief", "index": 0}}', 'TF_CONFIG needs "task"'),
], ids=["not json", "a list", "empty cluster", "addresses not a list", "no workers", "no task", "index past the cluster",
        "type not in the cluster"])
def test_a_malformed_tf_config_is_refused(tmp_path, monkeypatch, run_in_process, config, message):
    monkeypatch.setenv("TF_CONFIG", config)
    result = run_in_process(MOG, ["--strategy=multi_worker", f"--output_dir={tmp_path / 'out'}"])
    assert result.returncode == 2 and message in result.stderr, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


@pytest.mark.parametrize("content, message", [
    ('{"trials": {"AGE-KL/0": {"seed": 0, "modes', "is not valid JSON"),
    ("[]", "holds a JSON list, not an object"),
    ('{"trials": [1, 2]}', "has no trials in the form this runner writes"),
    ('{"trials": {"AGE-KL/0": 3}}', "has no trials in the form this runner writes"),
    (b"\xff\xfe\x00garbage", "is not valid JSON"),
    # Issue 50: the right shape with the wrong types crashed the renderer after it had rewritten the file.
    ('{"trials": {"AGE-KL/0": {"seed": 0, "modes_covered": "many"}}}',
     "holds 'many' at trials.AGE-KL/0.modes_covered, where this runner writes a number"),
    ('{"trials": {}, "wall_seconds": [1]}', "holds [1] at wall_seconds, where this runner writes a number"),
    ('{"trials": {"AGE-KL/0": {"seed": 0, "machine": 7}}}', "holds 7 at trials.AGE-KL/0.machine, where this runner "
     "writes text"),
], ids=["truncated", "a list", "trials a list", "a trial not a record", "binary", "a metric as text",
        "a wall time as a list", "a machine as a number"])
def test_a_damaged_results_file_is_named_and_left_alone(tmp_path, run_in_process, content, message):
    results = tmp_path / "results"
    results.mkdir()
    path = results / "table4.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = run_in_process(TABLE4, [f"--results_dir={results}", f"--runs_dir={tmp_path / 'runs'}", "--dry_run"])
    assert result.returncode == 2, result.stderr[-3000:]
    assert f"{path} {message}" in result.stderr and "move it away and rerun" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(os.listdir(results)) == ["table4.json"] and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("args, message", [
    (["--rows="], "--rows is empty; name one or more of: AGE-KL"),
    (["--extra_flags=--dry_run"], "--extra_flags=--dry_run would make every trial stop before training"),
    (["--extra_flags=--epochs=1,--helpfull"], "--extra_flags=--helpfull would make every trial stop"),
], ids=["no rows", "a trial dry run", "a trial's help"])
def test_a_table_run_that_could_record_nothing_is_refused(tmp_path, run_in_process, args, message):
    """Issue 50: an empty --rows wrote an empty table; --extra_flags=--dry_run ran trials that exited 0
    without metrics, then reported a disk error."""
    result = run_in_process(TABLE4, [f"--results_dir={tmp_path / 'results'}", f"--runs_dir={tmp_path / 'runs'}",
                                     *args])
    assert result.returncode == 2 and message in result.stderr, result.stderr[-2000:]
    assert os.listdir(tmp_path) == []


def test_a_runs_dir_that_is_a_file_is_refused_as_bad_input(tmp_path, run_in_process):
    """Issue 50: it was reported as a disk error."""
    (tmp_path / "runs").write_text("not a folder")
    result = run_in_process(TABLE4, [f"--results_dir={tmp_path / 'results'}", f"--runs_dir={tmp_path / 'runs'}",
                                     "--trials=1", "--rows=AGE-KL"])
    assert result.returncode == 2 and f"--runs_dir {tmp_path / 'runs'} is a file, not a directory" in result.stderr
    assert not (tmp_path / "results").exists()


def test_a_damaged_trial_metrics_file_is_named(tmp_path, run_in_process):
    trial = tmp_path / "runs" / "age_kl_s0"
    trial.mkdir(parents=True)
    (trial / "metrics.json").write_text('{"modes_covered": 2')
    result = run_in_process(TABLE4, [f"--results_dir={tmp_path / 'results'}", f"--runs_dir={tmp_path / 'runs'}",
                                     "--rows=AGE-KL", "--trials=1", "--dry_run"])
    assert result.returncode == 2 and f"{trial / 'metrics.json'} is not valid JSON" in result.stderr
    assert "remove it and rerun" in result.stderr and not (tmp_path / "results").exists()


@pytest.mark.parametrize("table", TABLES)
def test_a_dry_run_of_a_table_writes_nothing(tmp_path, run_in_process, table):
    result = run_in_process(table, [f"--results_dir={tmp_path / 'results'}", f"--runs_dir={tmp_path / 'runs'}",
                                    "--dry_run", "--trials=2"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "would run" in result.stdout and os.listdir(tmp_path) == []


def test_an_evaluator_task_outside_the_cluster_is_a_valid_tf_config(tmp_path, monkeypatch, run_in_process):
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "evaluator", "index": 0}}')
    result = run_in_process(MOG, ["--strategy=multi_worker", "--dry_run", f"--output_dir={tmp_path / 'out'}"])
    assert result.returncode == 0, result.stderr[-3000:]


def test_extra_flags_may_set_what_only_the_rows_left_out_set(tmp_path, run_in_process):
    """Table 3: only the AGE-KL row sets --divergence; with the VAE row alone it may be passed on."""
    args = [f"--results_dir={tmp_path / 'results'}", f"--runs_dir={tmp_path / 'runs'}", "--dry_run",
            "--extra_flags=--divergence=js,--epochs=1"]
    assert run_in_process(TABLE3, [*args, "--rows=VAE"]).returncode == 0
    refused = run_in_process(TABLE3, [*args, "--rows=VAE,AGE-KL"])
    assert refused.returncode == 2 and "changes a flag that the row AGE-KL sets" in refused.stderr
