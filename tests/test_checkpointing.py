import os

import keras
import numpy as np
import pytest

import age_tf
from age_tf import checkpointing
from age_tf.networks import mlp

X = age_tf.data.grid_mixture(9, seed=0).points[:64]


def make():
    keras.utils.set_random_seed(0)
    model = age_tf.AGE(
        mlp.build_encoder(hidden_units=8, kind="gaussian", seed=1),
        mlp.build_generator(hidden_units=8, kind="implicit", seed=2),
        mlp.build_discriminator(hidden_units=8), d_steps=1, seed=0,
    )
    model.compile()
    return model


def test_restore_brings_back_weights_optimizers_and_random_state(tmp_path):
    model = make()
    model.fit(X, batch_size=32, epochs=1, verbose=0)
    saver = checkpointing.TrainingCheckpoint(model, str(tmp_path))
    saver.save(finished_epochs=1)

    fresh = make()
    assert checkpointing.TrainingCheckpoint(fresh, str(tmp_path)).restore_latest() == 1
    for a, b in zip(model.weights, fresh.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for opt in ("d_optimizer", "e_optimizer", "g_optimizer"):
        for a, b in zip(getattr(model, opt).variables, getattr(fresh, opt).variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    # Same random state: the next noisy outputs agree draw for draw.
    np.testing.assert_array_equal(model.generate(4), fresh.generate(4))
    np.testing.assert_array_equal(model.encode(X[:4]), fresh.encode(X[:4]))


def test_no_checkpoint_means_epoch_zero(tmp_path):
    assert checkpointing.TrainingCheckpoint(make(), str(tmp_path / "none")).restore_latest() == 0


def test_per_layer_noise_of_an_implicit_image_generator_resumes_draw_for_draw(tmp_path):
    from age_tf.networks import stacked_mnist

    def make_images():
        keras.utils.set_random_seed(0)
        model = age_tf.AGE(
            stacked_mnist.build_encoder(kind="gaussian", seed=1),
            stacked_mnist.build_generator(kind="implicit", seed=2),
            stacked_mnist.build_discriminator(), d_steps=1, seed=0,
        )
        model.compile()
        return model

    model = make_images()
    for layer in model.generator.body.layers:  # non-zero noise scales, so the noise shows
        if isinstance(layer, stacked_mnist.NoiseInjection):
            layer.scale.assign(np.ones(layer.scale.shape, "float32"))
    model.generate(2)  # advance every noise generator
    saver = checkpointing.TrainingCheckpoint(model, str(tmp_path))
    assert {"generator__layer0", "generator__layer2"} <= set(checkpointing.seed_states(model))
    saver.save(finished_epochs=1)

    fresh = make_images()
    checkpointing.TrainingCheckpoint(fresh, str(tmp_path)).restore_latest()
    z = np.zeros((2, 8), "float32")
    np.testing.assert_array_equal(model.generate(z=z), fresh.generate(z=z))


def _two_checkpoints(tmp_path):
    """A model trained one step at a time with a checkpoint after epochs 1 and 2."""
    model = make()
    saver = checkpointing.TrainingCheckpoint(model, str(tmp_path))
    for epoch in (1, 2):
        model.fit(X, batch_size=32, epochs=1, verbose=0)
        saver.save(finished_epochs=epoch)
    return tmp_path


def _data_file(directory, number):
    return next(p for p in directory.iterdir() if p.name.startswith(f"ckpt-{number}.data"))


@pytest.mark.parametrize("damage", [
    "truncated data",  # the fast tier's case; the others alike in the slow tier
    *(pytest.param(d, marks=pytest.mark.slow) for d in ("empty data", "empty index", "missing data")),
])
def test_a_damaged_newest_checkpoint_is_passed_over_for_the_older_one(tmp_path, damage):
    directory = _two_checkpoints(tmp_path)
    data, index = _data_file(directory, 2), directory / "ckpt-2.index"
    if damage == "truncated data":
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    elif damage == "empty data":
        data.write_bytes(b"")
    elif damage == "empty index":
        index.write_bytes(b"")
    else:
        data.unlink()
    saver = checkpointing.TrainingCheckpoint(make(), str(directory))
    assert saver.restore_latest() == 1
    assert saver.restored_from == str(directory / "ckpt-1")
    assert [path for path, _ in saver.skipped] == [str(directory / "ckpt-2")]


def test_a_garbage_state_file_hides_no_checkpoint(tmp_path):
    directory = _two_checkpoints(tmp_path)
    (directory / "checkpoint").write_text("garbage, not a CheckpointState\n")
    saver = checkpointing.TrainingCheckpoint(make(), str(directory))
    assert saver.restore_latest() == 2 and saver.skipped == []
    assert checkpointing.checkpoint_paths(str(directory)) == [str(directory / "ckpt-2"), str(directory / "ckpt-1")]


def test_no_readable_checkpoint_is_an_error_naming_the_newest(tmp_path):
    directory = _two_checkpoints(tmp_path)
    for number in (1, 2):
        (directory / f"ckpt-{number}.index").write_bytes(b"")
    with pytest.raises(checkpointing.CheckpointError, match=f"No checkpoint in {directory} can be read "
                                                             f"\\(the newest, {directory}/ckpt-2: "):
        checkpointing.TrainingCheckpoint(make(), str(directory)).restore_latest()


def test_what_an_interrupted_save_leaves_is_found_and_removed(tmp_path):
    (tmp_path / "ckpt-3_temp").mkdir()
    (tmp_path / "ckpt-3_temp" / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"half")
    (tmp_path / "checkpoint.tmp5f3e").write_text("model_checkpoint_path")
    for kept in ("ckpt-2.index", "ckpt-2.data-00000-of-00001", "checkpoint", "ckpt-20_templates.txt"):
        (tmp_path / kept).write_text("x")
    expected = [str(tmp_path / "checkpoint.tmp5f3e"), str(tmp_path / "ckpt-3_temp")]
    assert checkpointing.unfinished_paths(str(tmp_path)) == expected
    assert checkpointing.remove_unfinished(str(tmp_path)) == expected
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "ckpt-2.data-00000-of-00001", "ckpt-2.index",
                                            "ckpt-20_templates.txt"]
    assert checkpointing.unfinished_paths(str(tmp_path / "missing")) == []


def test_a_training_checkpoint_removes_unfinished_saves_of_both_its_directories(tmp_path):
    saver = checkpointing.TrainingCheckpoint(make(), str(tmp_path))
    (tmp_path / "ckpt-3_temp").mkdir()
    os.makedirs(saver.steps_directory)
    (tmp_path / "steps" / "checkpoint.tmp1a").write_text("model_checkpoint_path")
    (tmp_path / "steps" / "ckpt-40.index").write_text("x")
    assert saver.remove_unfinished() == [str(tmp_path / "ckpt-3_temp"), str(tmp_path / "steps" / "checkpoint.tmp1a")]
    assert sorted(os.listdir(tmp_path)) == ["steps"] and os.listdir(tmp_path / "steps") == ["ckpt-40.index"]
