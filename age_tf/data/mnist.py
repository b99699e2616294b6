"""MNIST from the four standard IDX files, and Stacked MNIST (Section 5.2.2).

The loader reads ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each optionally
gzipped) from a directory, checking every header. A split may be the whole of
MNIST's or a sample of it (the first n examples, as the tests ship in
``tests/data/mnist_sample``); its images and labels files must agree. A missing directory or a
missing, corrupt or truncated file raises ``MnistError`` naming the directory,
the file and what was expected. Users with internet access can pass
``fallback_to_tfds=True`` to read tensorflow-datasets' copy instead.

Stacked MNIST puts three randomly drawn digits into the three channels of a
28x28x3 image; its label is the 3-digit number (1000 modes). ``stacked_mnist``
draws the paper's sets (Appendix E.2): 128,000 training images from the MNIST
training split and 26,000 evaluation images from the test split, both fixed
by a seed; ``stacked_batches`` feeds the training images to ``AGE.fit``.
"""

from __future__ import annotations

import dataclasses
import gzip
import zlib
import os
from typing import Tuple

import numpy as np

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60_000),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10_000),
}
_IMAGE_MAGIC, _LABEL_MAGIC = 2051, 2049


class MnistError(ValueError):
    """The MNIST directory or one of its files is missing or not valid IDX."""


@dataclasses.dataclass(frozen=True)
class Split:
    images: np.ndarray  # [n, 28, 28] uint8
    labels: np.ndarray  # [n] uint8


def _find(directory: str, name: str) -> str:
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    raise MnistError(
        f"MNIST directory {directory} has no {name} (or {name}.gz). Put the four standard "
        "IDX files there (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
        "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, gzipped or not)."
    )


def _read_bytes(path: str) -> bytes:
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as error:  # zlib: a corrupt deflate stream
        raise MnistError(f"{path} cannot be read as a (gzipped) IDX file: {error}.") from None


def read_idx(path: str, magic: int, count: int, item_shape: Tuple[int, ...]) -> np.ndarray:
    """Reads one IDX file of between 1 and ``count`` items and checks its magic number,
    count, shape and length."""
    raw = _read_bytes(path)
    header_len = 4 * (2 + len(item_shape))
    if len(raw) < header_len:
        raise MnistError(f"{path} is truncated: {len(raw)} bytes, shorter than its IDX header.")
    header = np.frombuffer(raw[:header_len], dtype=">u4")
    if header[0] != magic:
        raise MnistError(f"{path} is not an IDX file of the expected kind: magic {header[0]}, expected {magic}.")
    found_shape = tuple(int(d) for d in header[2:])
    if not 0 < header[1] <= count or found_shape != item_shape:
        raise MnistError(
            f"{path} holds {int(header[1])} items of shape {found_shape}; expected 1 to {count} of {item_shape}."
        )
    expected = header_len + int(header[1]) * int(np.prod(item_shape, dtype=np.int64))
    if len(raw) != expected:
        raise MnistError(f"{path} is truncated or padded: {len(raw)} bytes, expected {expected}.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape((int(header[1]), *item_shape))


def load_mnist(directory: str, split: str = "train", fallback_to_tfds: bool = False) -> Split:
    """Images [n, 28, 28] uint8 and labels [n] of one split ('train' or 'test')."""
    if split not in FILES:
        raise ValueError(f"Unknown MNIST split {split!r}. Available: train, test.")
    directory = os.path.expanduser(directory)
    if not os.path.isdir(directory):
        if fallback_to_tfds:
            return _load_from_tfds(split)
        raise MnistError(
            f"MNIST directory {directory} does not exist; pass the directory holding the four "
            "IDX files (in this project: ../shared/data/mnist)."
        )
    images_name, labels_name, count = FILES[split]
    images_path, labels_path = _find(directory, images_name), _find(directory, labels_name)
    images = read_idx(images_path, _IMAGE_MAGIC, count, (28, 28))
    labels = read_idx(labels_path, _LABEL_MAGIC, count, ())
    if len(images) != len(labels):
        raise MnistError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels; "
            "put the images and labels of the same split there."
        )
    if labels.max() > 9:
        raise MnistError(f"{os.path.join(directory, labels_name)} has labels above 9.")
    return Split(images=images, labels=labels)


def _load_from_tfds(split: str) -> Split:  # pragma: no cover - needs the network
    import tensorflow_datasets as tfds

    data = tfds.as_numpy(tfds.load("mnist", split=split, batch_size=-1, download=True))
    return Split(images=data["image"][..., 0], labels=data["label"].astype(np.uint8))


def stack_indices(num_digits: int, num_examples: int, seed: int) -> np.ndarray:
    """[num_examples, 3] indices into a split of ``num_digits`` digits: which digit each
    channel of each stacked image holds (uniform, with replacement)."""
    return np.random.default_rng(seed).integers(0, num_digits, size=(num_examples, 3))


def stack_digits(split: Split, num_examples: int, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """Stacked MNIST: [n, 28, 28, 3] uint8 images and labels in 0..999.

    Channel c holds digit d_c, drawn uniformly with replacement from ``split``;
    the label is 100 d_0 + 10 d_1 + d_2.
    """
    index = stack_indices(len(split.labels), num_examples, seed)
    images = np.stack([split.images[index[:, c]] for c in range(3)], axis=-1)
    digits = split.labels[index].astype(np.int64)
    labels = 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2]
    return images, labels


def to_unit_range(images: np.ndarray) -> np.ndarray:
    """uint8 pixels to float32 in [-1, 1]."""
    return images.astype(np.float32) / 127.5 - 1.0


NUM_TRAIN, NUM_EVAL = 128_000, 26_000


@dataclasses.dataclass(frozen=True)
class StackedMnist:
    """Stacked MNIST images as uint8 [n, 28, 28, 3] and their modes 0..999."""

    train_images: np.ndarray
    train_labels: np.ndarray
    eval_images: np.ndarray
    eval_labels: np.ndarray

    def eval_unit_range(self) -> np.ndarray:
        """The evaluation images as float32 in [-1, 1], as the networks take them."""
        return to_unit_range(self.eval_images)


def stacked_mnist(directory: str, num_train: int = NUM_TRAIN, num_eval: int = NUM_EVAL,
                  seed: int = 0) -> StackedMnist:
    """The paper's Stacked MNIST sets (Section 5.2.2, Appendix E.2).

    The training images stack digits of the MNIST training split (drawn with
    ``seed``), the evaluation images digits of the test split (drawn with
    ``seed + 1``), so no evaluation digit was seen in training. Raises
    ``MnistError`` when ``directory`` lacks valid IDX files.
    """
    if num_train <= 0 or num_eval <= 0:
        raise ValueError(f"num_train and num_eval must be positive, got {num_train} and {num_eval}.")
    train_images, train_labels = stack_digits(load_mnist(directory, "train"), num_train, seed)
    eval_images, eval_labels = stack_digits(load_mnist(directory, "test"), num_eval, seed + 1)
    return StackedMnist(train_images, train_labels, eval_images, eval_labels)


def stacked_batches(images: np.ndarray, batch_size: int, d_steps: int, seed=None, num_replicas: int = 1):
    """``iteration_batches`` of uint8 images, converted to float32 in [-1, 1] per batch.

    The images stay uint8 in memory (128,000 stacked images: 0.3 GB rather
    than 1.2 GB as float32) and the shuffle buffer holds the whole set.
    """
    import tensorflow as tf

    from age_tf.data.pipeline import iteration_batches

    dataset = tf.data.Dataset.from_tensor_slices(np.asarray(images, np.uint8))
    batches = iteration_batches(dataset, batch_size, d_steps, seed=seed, shuffle_buffer=len(images),
                                num_replicas=num_replicas)
    return batches.map(lambda x: tf.cast(x, tf.float32) / 127.5 - 1.0)


@dataclasses.dataclass(frozen=True)
class FlatMnist:
    """Permutation-invariant MNIST (BiGAN's Table 1): each digit flattened to 784 values in [0, 1].

    The attribute names are those the ``representation`` metric reads.
    """

    train_x: np.ndarray  # [n, 784] float32
    train_labels: np.ndarray  # [n] int64
    test_x: np.ndarray  # [m, 784] float32
    test_labels: np.ndarray  # [m] int64


def flat_mnist(directory: str, num_train: int = 0) -> FlatMnist:
    """MNIST's training split (its first ``num_train`` digits; all with 0) and its test split,
    flattened and scaled by 1/255 as BiGAN's released code does (no binarisation)."""
    train, test = load_mnist(directory, "train"), load_mnist(directory, "test")
    if num_train:
        train = Split(train.images[:num_train], train.labels[:num_train])

    def flat(images):
        return (images.reshape(len(images), -1) / 255.0).astype(np.float32)

    return FlatMnist(flat(train.images), train.labels.astype(np.int64), flat(test.images), test.labels.astype(np.int64))
