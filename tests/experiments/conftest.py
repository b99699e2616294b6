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
