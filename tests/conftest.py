"""Test tiers and the MNIST data every tier reads.

``pytest`` runs the fast tier: every library module, every maths check, one
tiny training step per method and the entry points' input checks, in a few
minutes, with nothing outside the clone. Tests marked ``slow`` start processes
or train for longer; ``pytest --run_slow`` adds them (``pytest --run_slow -m slow``
runs them alone). The slow tier reads the full MNIST files from ``$AGE_TF_MNIST_DIR``,
by default ``../shared/data/mnist`` beside the clone, and skips where they are
missing; the fast tier reads the sample shipped in ``tests/data/mnist_sample``.
"""

import os
import subprocess
import sys

import pytest

# Under pytest-xdist each worker is a process with TensorFlow's thread pools: by default each pool
# takes every core, and two workers on two cores then fight over them. Each worker takes its share
# instead (set before TensorFlow is imported; a value the user exported is kept).
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    _SHARE = str(max(1, (os.cpu_count() or 1) // _WORKERS))
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", _SHARE)
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", _SHARE)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The first 6,000 training and 1,000 test digits of MNIST, as IDX files (tests/data/mnist_sample/README.md).
MNIST_SAMPLE_DIR = os.path.join(ROOT, "tests", "data", "mnist_sample")
MNIST_DIR = MNIST_SAMPLE_DIR  # what the entry-point tests pass as --mnist_dir


def full_mnist_dir() -> str:
    """The four full MNIST IDX files: $AGE_TF_MNIST_DIR, else ../shared/data/mnist beside the clone."""
    return os.path.abspath(os.environ.get("AGE_TF_MNIST_DIR") or os.path.join(ROOT, "..", "shared", "data", "mnist"))


def pytest_addoption(parser):
    parser.addoption("--run_slow", action="store_true", default=False,
                     help="Also run the tests marked slow (processes, longer training).")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: starts processes or trains for more than a few seconds; "
                                       "skipped unless --run_slow is given")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run_slow"):
        return
    skip = pytest.mark.skip(reason="slow: pass --run_slow to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def mnist_sample_dir() -> str:
    return MNIST_SAMPLE_DIR


@pytest.fixture(scope="session")
def mnist_dir() -> str:
    """The full MNIST files, for slow tests; skips when they are not there."""
    directory = full_mnist_dir()
    if not os.path.isdir(directory):
        pytest.skip(f"the full MNIST files are not in {directory}; set AGE_TF_MNIST_DIR")
    return directory


@pytest.fixture(scope="session")
def classifier_dir(tmp_path_factory):
    """A Stacked MNIST mode classifier trained on a small budget (about 10 s; accuracy >= 0.9, so runs
    given it need --classifier_min_accuracy=0.9), shared by every entry-point test of the session."""
    from age_tf.metrics import mode_classifier

    directory = str(tmp_path_factory.mktemp("classifier"))
    mode_classifier.load_or_train(MNIST_DIR, directory, epochs=1, batch_size=64, num_train_examples=6000,
                                  min_accuracy=0.9, log=lambda line: None)
    return directory


def loaded_run_line(module: str, run_dir, flag: str, num_samples: int) -> str:
    """Restores ``run_dir`` with ``age_tf.experiments.<module>.load_run`` in a fresh process (FLAGS are
    global) and returns its line 'finished epochs, FLAGS.<flag>, shape of num_samples generations'."""
    code = (f"import numpy as np; from age_tf.experiments import {module} as entry; "
            f"model, epoch = entry.load_run({str(run_dir)!r}); "
            f"print(epoch, entry.FLAGS.{flag}, np.asarray(model.generate({num_samples})).shape)")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    return loaded.stdout.splitlines()[-1]


ENTRY_POINTS = ("age_tf.experiments.mog", "age_tf.experiments.stacked_mnist", "age_tf.experiments.celeba",
                "age_tf.experiments.mnist", "experiments.table3.run", "experiments.table4.run",
                "experiments.table5.run", "experiments.bigan_mnist.run", "experiments.summarize")
# Modules whose functions define flags on an entry point's behalf.
_FLAG_HELPERS = ("age_tf.experiments.run_flags", "experiments.trials")


def _forget_entry_points():
    """Removes every imported entry point and the flags it defined: absl's FLAGS are
    global, and two entry points define flags of the same names."""
    from absl import flags

    defined = flags.FLAGS.flags_by_module_dict()
    for name in (*ENTRY_POINTS, *_FLAG_HELPERS):
        for flag in list(defined.get(name, [])):  # deleting a flag shortens this list
            if flag.name in flags.FLAGS:
                delattr(flags.FLAGS, flag.name)
    for name in ENTRY_POINTS:
        sys.modules.pop(name, None)


def load_entry_point(module_name: str):
    """``module_name`` imported afresh in this process, with only its own flags defined."""
    import importlib

    _forget_entry_points()
    module = importlib.import_module(module_name)
    if module_name == "experiments.summarize":
        module.define_flags()  # it defines its flags only when run
    return module


def _log_to_current_stderr():
    """Points absl's handler and the stream handlers of TensorFlow's and the root logger at this test's
    stderr. A handler
    made during an earlier test holds that test's captured stream, closed since; a warning logged
    through it (TensorFlow's count of tf.function retracings is global to the process) would print
    "--- Logging error ---" and a traceback into the next run's stderr."""
    import logging

    from absl import logging as absl_logging

    handlers = [absl_logging.get_absl_handler().python_handler]  # absl.app puts it on the root logger
    for logger in (logging.getLogger("tensorflow"), logging.getLogger()):
        handlers += [h for h in logger.handlers if type(h) is logging.StreamHandler]
    for handler in handlers:
        handler.setStream(sys.stderr)


@pytest.fixture
def run_in_process(capsys, monkeypatch):
    """Runs an entry point's ``main`` in this process as ``python -m module_name *args`` would,
    through ``cli.run_main``, and returns a ``subprocess.CompletedProcess`` of it. The entry
    point's checks, and a tiny training run, need no process of their own."""
    import keras
    from absl import flags

    from age_tf.experiments import cli

    def run(module_name, args):
        module = load_entry_point(module_name)
        flags.FLAGS.unparse_flags()
        monkeypatch.setattr(sys, "argv", [module_name, *args])
        _log_to_current_stderr()
        capsys.readouterr()
        try:
            cli.run_main(module.main)
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        captured = capsys.readouterr()
        return subprocess.CompletedProcess([module_name, *args], code, captured.out, captured.err)

    yield run
    _forget_entry_points()
    keras.mixed_precision.set_global_policy("float32")  # an entry point sets its --precision


# A mixture run of a few seconds: 9 modes, 3 steps an epoch of one D step each, no TensorBoard.
MOG_TINY = ["--num_modes=9", "--batch_size=20", "--d_steps=1", "--steps_per_epoch=3", "--num_eval_samples=300",
            "--notensorboard"]


@pytest.fixture
def one_epoch_mog_run(tmp_path, tmp_path_factory, run_in_process):
    """``tmp_path / "run"`` holding a finished ``MOG_TINY`` run of one epoch. It is trained once per test
    process and copied for each test, as ``experiments/continue_run.sh`` moves a run: a run directory is
    whole in itself, and its --output_dir may change on resume."""
    import shutil

    template = tmp_path_factory.getbasetemp() / "one_epoch_mog_run"
    if not (template / "metrics.json").exists():
        shutil.rmtree(template, ignore_errors=True)
        trained = run_in_process("age_tf.experiments.mog", [*MOG_TINY, "--epochs=1", f"--output_dir={template}"])
        assert trained.returncode == 0, trained.stderr[-2000:]
    out = tmp_path / "run"
    shutil.copytree(template, out)
    return out
