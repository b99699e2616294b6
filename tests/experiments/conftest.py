"""Shared by the entry-point tests."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MNIST_DIR = os.path.abspath(os.path.join(ROOT, "..", "shared", "data", "mnist"))  # the original IDX files


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
                "experiments.table3.run", "experiments.table4.run", "experiments.table5.run",
                "experiments.summarize")
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


@pytest.fixture
def run_in_process(capsys, monkeypatch):
    """Runs an entry point's ``main`` in this process as ``python -m module_name *args`` would,
    through ``cli.run_main``; returns (exit code, standard error). Tests of bad input call
    it: the checks run before any work, so no process needs to start."""
    from absl import flags

    from age_tf.experiments import cli

    def run(module_name, args):
        module = load_entry_point(module_name)
        flags.FLAGS.unparse_flags()
        monkeypatch.setattr(sys, "argv", [module_name, *args])
        capsys.readouterr()
        try:
            cli.run_main(module.main)
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        return code, capsys.readouterr().err

    yield run
    _forget_entry_points()
