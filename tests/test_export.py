"""SavedModel export: reloaded in a fresh process, the signatures match the live model."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import age_tf
from age_tf import export
from age_tf.networks import mlp

RELOAD = """
import sys, numpy as np, tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
data = np.load(sys.argv[2])
out = {}
for name in ("encode", "generate", "reconstruct", "discriminate"):
    fn = loaded.signatures[name]
    args = {"encode": dict(x=data["x"]), "generate": dict(z=data["z"]),
            "reconstruct": dict(x=data["x"]), "discriminate": dict(x=data["x"], z=data["z"])}[name]
    for key, value in fn(**{k: tf.constant(v) for k, v in args.items()}).items():
        out[f"{name}/{key}"] = value.numpy()
np.savez(sys.argv[3], **out)
"""


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    model = age_tf.AGE(
        mlp.build_encoder(hidden_units=8, kind="gaussian", seed=1),
        mlp.build_generator(hidden_units=8, seed=2),
        mlp.build_discriminator(hidden_units=8), d_steps=1, seed=0,
    )
    model.compile()
    model.fit(age_tf.data.grid_mixture(9, seed=0).points[:64], batch_size=32, epochs=1, verbose=0)
    return model


@pytest.mark.slow  # starts a process
def test_reloaded_signatures_equal_the_live_model(trained, tmp_path):
    path = export.export_saved_model(trained, str(tmp_path / "export"))
    assert path.endswith(os.path.join("export", "1")) and os.path.isfile(os.path.join(path, "saved_model.pb"))
    x = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    z = np.random.default_rng(1).normal(size=(5, 2)).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=x, z=z)
    subprocess.run(
        [sys.executable, "-c", RELOAD, path, str(tmp_path / "in.npz"), str(tmp_path / "out.npz")],
        check=True, timeout=120,
    )
    out = np.load(tmp_path / "out.npz")
    np.testing.assert_allclose(out["encode/z_mean"], trained.encode(x, mean=True), rtol=1e-6)
    np.testing.assert_allclose(out["generate/x"], trained.generate(z=z), rtol=1e-6)
    np.testing.assert_allclose(out["discriminate/logit"], trained.discriminator([x, z]), rtol=1e-6)
    assert out["discriminate/logit"].shape == (5,)
    # Stochastic outputs: the sample lies around the mean, with the learned spread.
    assert out["encode/z"].shape == (5, 2) and not np.allclose(out["encode/z"], out["encode/z_mean"])
    assert out["reconstruct/x"].shape == (5, 2)


def test_versions_increment_and_are_never_overwritten(trained, tmp_path):
    first = export.export_saved_model(trained, str(tmp_path))
    second = export.export_saved_model(trained, str(tmp_path))
    assert (os.path.basename(first), os.path.basename(second)) == ("1", "2")
    with pytest.raises(ValueError, match="already exists"):
        export.export_saved_model(trained, str(tmp_path), version=1)


@pytest.mark.parametrize("version", [1.5, "2", True, -1])
def test_a_version_that_is_not_a_non_negative_integer_is_refused_not_truncated(trained, tmp_path, version):
    """Issue 50: version=1.5 was written as 1."""
    with pytest.raises(ValueError, match=r"version must be a non-negative integer, got"):
        export.export_saved_model(trained, str(tmp_path), version=version)
    assert os.listdir(tmp_path) == []


def test_a_whole_float_or_numpy_version_counts_as_that_integer(trained, tmp_path):
    assert os.path.basename(export.export_saved_model(trained, str(tmp_path), version=2.0)) == "2"
    assert os.path.basename(export.export_saved_model(trained, str(tmp_path), version=np.int64(3))) == "3"


def test_a_leftover_partial_export_is_replaced_not_written_into(trained, tmp_path):
    """Issue 50: an interrupted export's <version>.partial was written into, keeping its stray files."""
    stale = tmp_path / "1.partial"
    (stale / "variables").mkdir(parents=True)
    (stale / "stray.txt").write_text("from the interrupted export")
    path = export.export_saved_model(trained, str(tmp_path), version=1)
    assert "stray.txt" not in os.listdir(path) and "saved_model.pb" in os.listdir(path)
    assert sorted(os.listdir(tmp_path)) == ["1"]
