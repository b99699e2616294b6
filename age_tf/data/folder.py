"""Your own images: a folder of PNG or JPEG files, read by Keras' ``image_dataset_from_directory``.

The folder may be flat or nested to any depth. When its top level holds only
subfolders, two or more of them, each subfolder is a class (Keras' inferred
labels) and the encoder's representation metrics use them; otherwise the images
are unlabelled. Keras decodes every file (PNG, JPEG, and also GIF and BMP),
converts it to 8-bit RGB (grayscale is repeated into three channels, an alpha
channel is dropped, 16-bit samples are scaled to 8 bits), keeps the central
square (``crop_to_aspect_ratio``) and resizes it to ``image_size`` with area
averaging, as the CelebA pipeline does (Appendix E.3).

The whole folder is decoded once, when it is loaded, into uint8 arrays. That
pass is also the check: a file that does not decode is named at once, before a
run writes anything. A seeded permutation then holds out ``validation_share``
of the images for the views and the metrics; the same folder and seed give the
same split on every machine.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Optional, Tuple

import numpy as np
import tensorflow as tf

from age_tf.data.images import ImageDataError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp")  # what Keras' loader reads


class FolderError(ImageDataError):
    """The folder cannot give training images; the message says what to change."""


@dataclasses.dataclass(frozen=True)
class ImageFolder:
    """A folder's images, decoded, centre-cropped and resized, split into train and validation.

    ``train`` and ``validation`` are uint8 [n, size, size, 3]; ``images(split)``
    gives them as float32 in [-1, 1], the range of the networks. Labels (int32
    [n]) and ``class_names`` are None for an unlabelled folder.
       """

    root: str
    train: np.ndarray
    validation: np.ndarray
    train_labels: Optional[np.ndarray]
    validation_labels: Optional[np.ndarray]
    class_names: Optional[Tuple[str, ...]]

    @property
    def image_size(self) -> int:
        return int(self.train.shape[1])

    @property
    def labelled(self) -> bool:
        return self.class_names is not None

    def images(self, split: str = "train", limit: Optional[int] = None) -> np.ndarray:
        """The ``split`` ('train' or 'validation') as float32 in [-1, 1], the first ``limit`` of them."""
        pixels = {"train": self.train, "validation": self.validation}[split][:limit]
        return pixels.astype(np.float32) / 127.5 - 1.0

    def training_dataset(self) -> tf.data.Dataset:
        """Single training images, float32 in [-1, 1], converted as they are drawn (the array stays uint8)."""
        return tf.data.Dataset.from_tensor_slices(self.train).map(
            lambda x: tf.cast(x, tf.float32) / 127.5 - 1.0)


def _top_level(root: str):
    entries = [e for e in os.listdir(root) if not e.startswith(".")]
    folders = sorted(e for e in entries if os.path.isdir(os.path.join(root, e)))
    images = [e for e in entries if e.lower().endswith(IMAGE_EXTENSIONS) and os.path.isfile(os.path.join(root, e))]
    return entries, folders, images


def _count_files(root: str) -> Tuple[int, Optional[str]]:
    """How many files lie anywhere under ``root``, and one of them."""
    count, example = 0, None
    for dirpath, _, files in os.walk(root):
        for name in files:
            count += 1
            example = example or os.path.join(dirpath, name)
    return count, example


def _decode_all(dataset, paths, labelled: bool):
    """Every image as uint8 in file order; a file that does not decode raises FolderError naming it."""
    pixels, labels = [], []
    iterator = iter(dataset)
    for path in paths:
        try:
            element = next(iterator)
        except tf.errors.InvalidArgumentError as error:
            first_line = (str(error).strip().splitlines() or [""])[0]
            reason = re.split(r"Iterator::[\w:]+: ", first_line)[-1].strip() or "it does not decode"
            raise FolderError(
                f"{path} is not a readable image ({reason}); remove or replace that file and run again."
            ) from None
        image, label = element if labelled else (element, None)
        pixels.append(np.clip(np.round(image.numpy()), 0, 255).astype(np.uint8))
        labels.append(label)
    return np.stack(pixels), (np.asarray(labels, np.int32) if labelled else None)


def load_image_folder(root: str, image_size: int = 32, validation_share: float = 0.1,
                      seed: int = 0) -> ImageFolder:
    """Decodes every image under ``root`` and holds out ``validation_share`` of them (module docstring).

    Raises ``FolderError`` with one sentence when the folder is missing, empty,
    holds no images or holds a file that does not decode, or when it holds
    fewer than two images (nothing to hold out).
    """
    import keras

    if not 0.0 < validation_share < 1.0:
        raise ValueError(f"validation_share must lie in (0, 1), got {validation_share}.")
    root = os.path.expanduser(root)
    if not os.path.isdir(root):
        what = "a file" if os.path.exists(root) else "missing"
        raise FolderError(f"The image folder {root} is {what}; give a folder of PNG or JPEG images.")
    entries, folders, top_images = _top_level(root)
    if not entries:
        raise FolderError(f"The image folder {root} is empty; put PNG or JPEG images in it (or in one "
                          "subfolder per class).")
    labelled = len(folders) >= 2 and not top_images
    dataset = keras.utils.image_dataset_from_directory(
        root, labels="inferred" if labelled else None, label_mode="int" if labelled else None,
        color_mode="rgb", batch_size=None, image_size=(image_size, image_size), shuffle=False,
        interpolation="area", crop_to_aspect_ratio=True, verbose=False,
    ) if _has_images(root) else None
    if dataset is None:
        count, example = _count_files(root)
        raise FolderError(
            f"The image folder {root} holds no PNG or JPEG images ({count} other file{'s' * (count != 1)}, "
            f"e.g. {example}); the names must end in {', '.join(IMAGE_EXTENSIONS)}."
        )
    paths = list(dataset.file_paths)
    pixels, labels = _decode_all(dataset, paths, labelled)
    if len(pixels) < 2:
        raise FolderError(f"The image folder {root} holds a single image ({paths[0]}); training needs many, "
                          "and some are held out for validation.")
    order = np.random.default_rng(seed).permutation(len(pixels))
    held = max(1, int(round(validation_share * len(pixels))))
    held = min(held, len(pixels) - 1)
    validation, train = order[:held], order[held:]
    return ImageFolder(
        root=root, train=pixels[train], validation=pixels[validation],
        train_labels=None if labels is None else labels[train],
        validation_labels=None if labels is None else labels[validation],
        class_names=tuple(folders) if labelled else None,
    )


def _has_images(root: str) -> bool:
    for _, _, files in os.walk(root):
        if any(name.lower().endswith(IMAGE_EXTENSIONS) for name in files):
            return True
    return False
