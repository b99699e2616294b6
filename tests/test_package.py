"""The package as a user imports it: every module loads, and none but the four entry points
defines a flag when imported (absl flags are global: a library that defined them would clash)."""

import importlib
import pkgutil

import pytest
from absl import flags

import age_tf

ENTRY_POINTS = {"age_tf.experiments.mog", "age_tf.experiments.stacked_mnist", "age_tf.experiments.mnist",
                "age_tf.experiments.celeba"}


def library_modules():
    found = [m.name for m in pkgutil.walk_packages(age_tf.__path__, prefix="age_tf.")]
    return sorted(set(found) - ENTRY_POINTS)


def test_every_library_module_imports_and_defines_no_flag():
    names = library_modules()
    assert {"age_tf.methods", "age_tf.metrics.registry", "age_tf.experiments.resume", "age_tf.plots"} <= set(names)
    for name in names:
        importlib.import_module(name)
    defined = flags.FLAGS.flags_by_module_dict()
    assert [name for name in names if defined.get(name)] == []


def test_the_public_names():
    assert age_tf.AGE is age_tf.models.AGE and age_tf.VAE is age_tf.models.VAE
    assert callable(age_tf.models.build) and callable(age_tf.metrics.compute)


@pytest.mark.parametrize("module", sorted(ENTRY_POINTS))
def test_every_entry_point_answers_help_with_exit_0(run_in_process, module):
    """absl exits 1 after --help; the entry points exit 0. (Run as ``python -m``, the help opens
    with the module's docstring; in this process it is pytest's.)"""
    result = run_in_process(module, ["--help"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"{module}:\n" in result.stdout and "--output_dir" in result.stdout
