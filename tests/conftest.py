"""Test tiers and the MNIST data every tier reads.

``pytest`` runs the fast tier: every library module, every maths check, one
tiny training step per method and the entry points' input checks, in a few
minutes, with nothing outside the clone. Tests marked ``slow`` start processes
or train for longer; ``pytest --run_slow`` adds them (``-m slow`` alone runs
them alone). The slow tier reads the full MNIST files from ``$AGE_TF_MNIST_DIR``,
by default ``../shared/data/mnist`` beside the clone, and skips where they are
missing; the fast tier reads the sample shipped in ``tests/data/mnist_sample``.
"""

import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The first 6,000 training and 1,000 test digits of MNIST, as IDX files (tests/data/mnist_sample/README.md).
MNIST_SAMPLE_DIR = os.path.join(ROOT, "tests", "data", "mnist_sample")


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
