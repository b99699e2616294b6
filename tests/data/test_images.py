"""CelebA / ImageNet pipelines on tfds mock data; crop geometry by hand; missing data fails fast."""

import os
import time

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from age_tf.data import images


def test_celeba_center_crop_is_the_central_128_square_box_filtered_to_64():
    # 218x178 like CelebA: margins (218 - 128) / 2 = 45 rows, (178 - 128) / 2 = 25 columns.
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(218, 178, 3)).astype(np.uint8)
    got = images.center_crop_and_resize(image, 64, crop_size=128).numpy()
    crop = image[45:173, 25:153].astype(np.float64)
    expected = crop.reshape(64, 2, 64, 2, 3).mean(axis=(1, 3)) / 127.5 - 1.0
    assert got.shape == (64, 64, 3) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_odd_margin_leaves_the_extra_pixel_at_the_bottom_right():
    image = np.zeros((7, 6, 3), np.uint8)
    image[1:5, 1:5] = 255  # margins (7 - 4) // 2 = 1 and (6 - 4) // 2 = 1
    got = images.center_crop_and_resize(image, 4, crop_size=4).numpy()
    np.testing.assert_allclose(got, 1.0)


def test_imagenet_crop_keeps_64_73_of_the_shorter_side():
    # 146x219: shorter side 146, crop round(146 * 64 / 73) = 128, offsets (9, 45).
    image = np.zeros((146, 219, 3), np.uint8)
    image[9:137, 45:173] = 200
    got = images.center_crop_and_resize(image, 64, crop_fraction=images.IMAGENET_CROP_FRACTION).numpy()
    np.testing.assert_allclose(got, 200 / 127.5 - 1.0, atol=1e-5)
    # One pixel less on any side and the zero border would darken an edge.
    image[9:137, 45] = 0
    edge = images.center_crop_and_resize(image, 64, crop_fraction=64 / 73).numpy()
    assert edge[:, 0].mean() < got[:, 0].mean()


def test_crop_arguments_are_checked():
    with pytest.raises(ValueError, match="exactly one"):
        images.center_crop_and_resize(np.zeros((8, 8, 3), np.uint8), 4)
    with pytest.raises(ValueError, match=r"crop_fraction must be in \(0, 1\]"):
        images.center_crop_and_resize(np.zeros((8, 8, 3), np.uint8), 4, crop_fraction=1.5)


@pytest.mark.parametrize("loader", [images.celeba, images.imagenet])
def test_mock_data_gives_float_images_in_unit_range(loader, tmp_path):
    with tfds.testing.mock_data(num_examples=5):
        dataset = loader(split="train", data_dir=str(tmp_path), batch_size=2)
        batches = [b.numpy() for b in dataset]
    assert [b.shape for b in batches] == [(2, 64, 64, 3), (2, 64, 64, 3), (1, 64, 64, 3)]
    values = np.concatenate(batches)
    assert values.dtype == np.float32
    assert values.min() >= -1.0 and values.max() <= 1.0
    assert values.std() > 0.1  # random mock pixels, not a constant


def test_mock_celeba_unbatched_and_image_size(tmp_path):
    with tfds.testing.mock_data(num_examples=3):
        dataset = images.celeba(split="validation", data_dir=str(tmp_path), image_size=32)
        assert dataset.element_spec.shape == (32, 32, 3)
        assert len(list(dataset)) == 3


def test_training_batches_hold_two_minibatches_for_one_update_of_each_network(tmp_path):
    with tfds.testing.mock_data(num_examples=6):
        dataset = images.training_batches(images.celeba(data_dir=str(tmp_path)), batch_size=2, seed=0)
        first = next(iter(dataset)).numpy()
    assert first.shape == (4, 64, 64, 3)  # (d_steps + 1) * batch_size, d_steps = 1


@pytest.mark.parametrize("loader,name", [(images.celeba, "celeb_a"), (images.imagenet, "imagenet2012")])
def test_missing_data_is_a_clear_error_at_once_without_download(loader, name, tmp_path):
    start = time.monotonic()
    with pytest.raises(images.DatasetNotPreparedError) as info:
        loader(split="train", data_dir=str(tmp_path))
    assert time.monotonic() - start < 5.0
    message = str(info.value)
    assert name in message and str(tmp_path) in message
    assert f"tfds build {name} --data_dir={tmp_path}" in message
    assert not any(tmp_path.iterdir())  # nothing downloaded or prepared


def test_image_checks_name_the_problem_and_the_fix():
    good = np.zeros((2, 8, 8, 3), np.float32)
    assert images.check_images(good).shape == (2, 8, 8, 3)
    cases = [
        (np.zeros((2, 8, 8, 3), np.uint8), "got uint8.*127.5"),
        (np.zeros((2, 8, 8), np.float32), r"Grayscale \[n, H, W\]"),
        (np.zeros((2, 8, 8, 1), np.float32), r"Grayscale \[n, H, W, 1\]"),
        (np.zeros((2, 3, 8, 8), np.float32), "Channels-first"),
        (np.full((1, 2, 2, 3), 255.0, np.float32), r"\[0, 255\].*127.5"),
        (np.full((1, 2, 2, 3), 1.2, np.float32), r"must lie in \[-1, 1\]"),
    ]
    for array, pattern in cases:
        with pytest.raises(images.ImageDataError, match=pattern):
            images.check_images(array)


def test_dataset_checks_refuse_uint8_and_dicts():
    uint8 = tf.data.Dataset.from_tensor_slices(np.zeros((2, 4, 4, 3), np.uint8))
    with pytest.raises(images.ImageDataError, match="yields uint8"):
        images.training_batches(uint8, batch_size=1)
    dicts = tf.data.Dataset.from_tensor_slices({"image": np.zeros((2, 4, 4, 3), np.float32)})
    with pytest.raises(images.ImageDataError, match="must yield image tensors"):
        images.check_image_spec(dicts)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A really prepared tfds dataset (tfds' own 20-example dummy, generated, nothing downloaded)."""
    builder = tfds.testing.DummyMnist(data_dir=str(tmp_path_factory.mktemp("tfds")))
    builder.download_and_prepare()
    return builder


def _copy_of(builder, tmp_path):
    import shutil

    root = tmp_path / "tfds"
    shutil.copytree(os.path.dirname(os.path.dirname(builder.data_dir)), root)
    return tfds.testing.DummyMnist(data_dir=str(root))


def test_a_complete_prepared_split_passes_the_file_check(prepared):
    images.check_split_files(prepared, "train")
    images.check_split_files(prepared, "train[:50%]")


@pytest.mark.parametrize("damage, message", [
    (lambda shard: shard.unlink(), r"is missing \(a build or copy that stopped\)"),
    (lambda shard: shard.write_bytes(shard.read_bytes()[:-100]), "hold 2,460 bytes where its dataset_info.json records 2,560"),
], ids=["missing shard", "shard cut short"])
def test_a_half_written_split_is_refused_before_training_reads_it(prepared, tmp_path, damage, message):
    """Issue 50: a half-written tfds folder passed the "prepared" check and failed mid-training."""
    import pathlib

    builder = _copy_of(prepared, tmp_path)
    damage(pathlib.Path(str(builder.info.splits["train"].filepaths[0])))
    with pytest.raises(images.DatasetNotPreparedError, match=message):
        images.check_split_files(builder, "train")
    images.check_split_files(builder, "test")  # the other split is whole
    with pytest.raises(images.DatasetNotPreparedError, match=message):  # as the loaders open a split
        images.load_split("dummy_mnist", "train", data_dir=str(tmp_path / "tfds"))
