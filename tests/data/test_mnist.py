"""The IDX reader on the real files and on corrupt ones, and the stacking."""

import gzip
import os

import numpy as np
import pytest

from age_tf.data import mnist

MNIST_SAMPLE_DIR = os.path.join(os.path.dirname(__file__), "mnist_sample")  # the first 6,000 / 1,000 digits


def write_idx(path, magic, items, shape, payload=None, gz=False):
    header = np.array([magic, items, *shape], dtype=">u4").tobytes()
    body = payload if payload is not None else bytes(items * int(np.prod(shape, dtype=np.int64)))
    opener = gzip.open if gz else open
    with opener(path, "wb") as f:
        f.write(header + body)


def fake_dir(tmp_path, n_train=60_000, labels_payload=None):
    write_idx(tmp_path / "train-images-idx3-ubyte", 2051, n_train, (28, 28))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", 2049, n_train, (), labels_payload, gz=True)
    return tmp_path


def test_the_shipped_sample_loads_as_the_first_digits_of_each_split():
    train = mnist.load_mnist(MNIST_SAMPLE_DIR, "train")
    test = mnist.load_mnist(MNIST_SAMPLE_DIR, "test")
    assert train.images.shape == (6_000, 28, 28) and test.labels.shape == (1_000,)
    assert test.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # MNIST's first test labels
    assert train.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # and first training labels


@pytest.mark.slow
def test_real_files_load_with_expected_counts(mnist_dir):
    train = mnist.load_mnist(mnist_dir, "train")
    test = mnist.load_mnist(mnist_dir, "test")
    assert train.images.shape == (60_000, 28, 28) and test.images.shape == (10_000, 28, 28)
    assert np.bincount(test.labels).tolist()[:3] == [980, 1135, 1032]  # the known test counts
    assert 30 < train.images.mean() < 36  # the README's mean pixel 33.33


def test_plain_and_gzipped_files_both_read(tmp_path):
    split = mnist.load_mnist(str(fake_dir(tmp_path)), "train")
    assert split.images.shape == (60_000, 28, 28) and split.labels.shape == (60_000,)


def test_missing_directory_names_it():
    with pytest.raises(mnist.MnistError, match="MNIST directory /nonexistent does not exist"):
        mnist.load_mnist("/nonexistent")


def test_missing_file_names_directory_and_file(tmp_path):
    with pytest.raises(mnist.MnistError, match=f"{tmp_path} has no t10k-images-idx3-ubyte"):
        mnist.load_mnist(str(tmp_path), "test")


def test_truncated_file_is_reported(tmp_path):
    fake_dir(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(mnist.MnistError, match="truncated or padded: 1000 bytes, expected 47040016"):
        mnist.load_mnist(str(tmp_path), "train")


def test_wrong_magic_and_wrong_count_are_reported(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", 2049, 60_000, (28, 28))
    write_idx(tmp_path / "train-labels-idx1-ubyte", 2049, 60_000, ())
    with pytest.raises(mnist.MnistError, match="magic 2049, expected 2051"):
        mnist.load_mnist(str(tmp_path), "train")
    write_idx(tmp_path / "train-images-idx3-ubyte", 2051, 60_001, (28, 28), payload=b"")  # the header is read first
    with pytest.raises(mnist.MnistError, match="holds 60001 items of shape \\(28, 28\\); expected 1 to 60000"):
        mnist.load_mnist(str(tmp_path), "train")
    write_idx(tmp_path / "train-images-idx3-ubyte", 2051, 5, (28, 28))
    with pytest.raises(mnist.MnistError, match="holds 5 images but .* holds 60000 labels"):
        mnist.load_mnist(str(tmp_path), "train")


def test_corrupt_gzip_is_reported(tmp_path):
    fake_dir(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(mnist.MnistError, match="cannot be read as a \\(gzipped\\) IDX file"):
        mnist.load_mnist(str(tmp_path), "train")


def test_stacking_by_hand():
    split = mnist.Split(
        images=np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28),
        labels=np.array([7, 2, 5], np.uint8),
    )
    images, labels = mnist.stack_digits(split, 200, seed=0)
    assert images.shape == (200, 28, 28, 3) and images.dtype == np.uint8
    # Each channel is one of the source digits, and the label spells the three digits.
    for image, label in zip(images[:20], labels[:20]):
        digits = [int(d) for d in f"{label:03d}"]
        for c, d in enumerate(digits):
            source = int(np.where(split.labels == d)[0][0])
            np.testing.assert_array_equal(image[..., c], split.images[source])
    again, _ = mnist.stack_digits(split, 200, seed=0)
    np.testing.assert_array_equal(images, again)


def test_stacked_labels_cover_1000_modes_uniformly():
    _, labels = mnist.stack_digits(mnist.load_mnist(MNIST_SAMPLE_DIR, "test"), 26_000, seed=1)
    counts = np.bincount(labels, minlength=1000)
    assert (counts > 0).sum() == 1000 and counts.mean() == 26


def marked_dir(tmp_path):
    """IDX files whose image i has pixel (0, 0) = its label and (0, 1) = 1 (train) or 2 (test)."""
    for split, marker in (("train", 1), ("test", 2)):
        images_name, labels_name, count = mnist.FILES[split]
        labels = (np.arange(count) * 7 % 10).astype(np.uint8)
        images = np.zeros((count, 28, 28), np.uint8)
        images[:, 0, 0], images[:, 0, 1] = labels, marker
        write_idx(tmp_path / images_name, 2051, count, (28, 28), images.tobytes())
        write_idx(tmp_path / labels_name, 2049, count, (), labels.tobytes())
    return str(tmp_path)


def test_stacked_sets_shapes_labels_and_splits(tmp_path):
    data = mnist.stacked_mnist(marked_dir(tmp_path), num_train=500, num_eval=300, seed=4)
    assert data.train_images.shape == (500, 28, 28, 3) and data.train_images.dtype == np.uint8
    assert data.eval_images.shape == (300, 28, 28, 3) and data.eval_labels.shape == (300,)
    for images, labels, marker in ((data.train_images, data.train_labels, 1), (data.eval_images, data.eval_labels, 2)):
        digits = images[:, 0, 0, :].astype(np.int64)  # channel c's digit, read off its marker pixel
        np.testing.assert_array_equal(labels, 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2])
        assert (images[:, 0, 1, :] == marker).all()  # training digits from train, evaluation from test
    assert data.eval_unit_range().dtype == np.float32 and data.eval_unit_range().min() == -1.0


def test_stacked_sets_are_fixed_by_the_seed_and_the_draws_differ(tmp_path):
    directory = marked_dir(tmp_path)
    a = mnist.stacked_mnist(directory, num_train=400, num_eval=400, seed=0)
    b = mnist.stacked_mnist(directory, num_train=400, num_eval=400, seed=0)
    c = mnist.stacked_mnist(directory, num_train=400, num_eval=400, seed=1)
    np.testing.assert_array_equal(a.train_labels, b.train_labels)
    np.testing.assert_array_equal(a.eval_images, b.eval_images)
    assert not np.array_equal(a.train_labels, c.train_labels)
    assert not np.array_equal(a.train_labels, a.eval_labels)  # not the same draw on another split


@pytest.mark.slow
def test_paper_sized_sets_from_the_real_files(mnist_dir):
    data = mnist.stacked_mnist(mnist_dir)
    assert len(data.train_labels) == 128_000 and len(data.eval_labels) == 26_000
    assert (np.bincount(data.train_labels, minlength=1000) > 0).sum() == 1000


def test_stacked_batches_feed_d_steps_plus_one_minibatches_in_unit_range():
    images = np.random.default_rng(0).integers(0, 256, (40, 28, 28, 3), dtype=np.uint8)
    batch = next(iter(mnist.stacked_batches(images, batch_size=4, d_steps=2, seed=0)))
    assert batch.shape == (12, 28, 28, 3) and batch.dtype.name == "float32"
    assert -1.0 <= float(batch.numpy().min()) and float(batch.numpy().max()) <= 1.0
    values = {tuple(np.round(x.ravel()[:5], 4)) for x in mnist.to_unit_range(images)}
    assert all(tuple(np.round(x.ravel()[:5], 4)) in values for x in batch.numpy())
