"""CelebA and ImageNet at 64x64 from tensorflow-datasets (Section 5.3, Appendix E.3).

Every pipeline yields float32 images of shape [64, 64, 3] in [-1, 1]:

- CelebA (tfds ``celeb_a``, 218x178 aligned faces): the central 128x128 crop,
  resized to 64x64, as Appendix E.3 says.
- ImageNet (tfds ``imagenet2012``, full resolution, any size): the central
  square of side ``64/73 * min(height, width)``, resized to 64x64. Appendix
  E.3's "center crops of 73x73 ... resizing to 64x64" cannot be meant in
  pixels of full-resolution images (73x73 of a 500x375 photo is a tiny patch);
  it reads as "scale the shorter side to 73, keep the central 64x64", the
  usual 0.875 evaluation crop, which this is up to the order of resampling.
  For an already downsampled copy pass ``name="imagenet_resized/64x64"`` and
  ``crop_fraction=1.0``.

Nothing is downloaded unless asked (``download=True``): a split that is not
prepared in ``data_dir`` raises ``DatasetNotPreparedError`` at once, saying
how to prepare it. Resizing
uses area averaging, so the 2x downsampling of CelebA is an exact 2x2 box
filter. Autotuning is off (``fixed_resources_options``): see BUILD_NOTES.md,
"tf.data autotuning stalls".
"""

from __future__ import annotations

import os
from typing import Optional

import numpy as np
import tensorflow as tf

from age_tf.data.pipeline import fixed_resources_options, iteration_batches

CELEBA_CROP = 128  # pixels, Appendix E.3
IMAGENET_CROP_FRACTION = 64 / 73  # Appendix E.3's 73 -> 64, see the module docstring
_PARALLEL_CALLS = 2  # fixed: autotuning is off


class DatasetNotPreparedError(ValueError):
    """The tensorflow-datasets split is not prepared in the data directory."""


class ImageDataError(ValueError):
    """Images are not float [..., H, W, 3] in [-1, 1]."""


_PREPARE = {
    "celeb_a": (
        "On a machine with internet access run `tfds build celeb_a --data_dir={root}` "
        "(about 1.4 GB from Google Drive), then copy the celeb_a/ folder it writes into {root} here."
    ),
    "imagenet2012": (
        "Register at https://image-net.org/download-images, put ILSVRC2012_img_train.tar and "
        "ILSVRC2012_img_val.tar in {root}/downloads/manual/, then run "
        "`tfds build imagenet2012 --data_dir={root}` (no internet needed for this step)."
    ),
}


def _prepare_hint(name: str, root: str) -> str:
    base = name.split("/")[0]
    generic = "Prepare it with `tfds build {name} --data_dir={root}` on a machine with internet access."
    return _PREPARE.get(base, generic).format(name=name, root=root)


def load_split(
    name: str,
    split: str,
    data_dir: Optional[str] = None,
    shuffle_seed: Optional[int] = None,
    download: bool = False,
):
    """The tfds dataset of one split (dicts of features).

    Without ``download`` a split that is not prepared raises
    ``DatasetNotPreparedError`` naming the directory searched and how to
    prepare the data, with no network access. The check is tfds' own, made
    when the split is opened, so ``tfds.testing.mock_data`` (which patches the
    builder) still works. ``download=True`` runs tfds' download_and_prepare
    first (needs internet, and for ImageNet the manual tar files).
    """
    import tensorflow_datasets as tfds  # imported here: ~1 s, and only image runs need it

    from google.protobuf import json_format

    if data_dir is not None:
        data_dir = os.path.expanduser(data_dir)
    shown_dir = data_dir or "the tfds default data_dir"
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise
    except (json_format.Error, ValueError) as error:  # a damaged dataset_info.json
        reason = (str(error).strip().splitlines() or [type(error).__name__])[-1]
        raise DatasetNotPreparedError(
            f"tensorflow-datasets dataset {name!r} in {shown_dir} cannot be read because its "
            f"dataset_info.json is damaged ({reason}); remove "
            f"{os.path.join(data_dir or '~/tensorflow_datasets', name)} and prepare it again. "
            f"{_prepare_hint(name, data_dir or '~/tensorflow_datasets')}"
        ) from None
    if download:
        builder.download_and_prepare()
    elif os.path.isdir(str(builder.data_dir)):
        check_split_files(builder, split, _prepare_hint(name, _data_root(builder, data_dir)))
    read_config = tfds.ReadConfig(
        shuffle_seed=shuffle_seed,
        interleave_cycle_length=4,
        options=fixed_resources_options(),
    )
    try:
        return builder.as_dataset(
            split=split, shuffle_files=shuffle_seed is not None, read_config=read_config
        )
    except KeyError as error:  # a version folder with no prepared splits: a build that stopped
        raise DatasetNotPreparedError(
            f"tensorflow-datasets dataset {name!r} in {builder.data_dir} was not fully prepared (it lists "
            f"no split {split!r}, as after a build that stopped early); remove that folder and prepare it "
            f"again. {_prepare_hint(name, _data_root(builder, data_dir))}"
        ) from error
    except AssertionError as error:  # tfds' "could not find data in <dir>"
        root = _data_root(builder, data_dir)
        raise DatasetNotPreparedError(
            f"tensorflow-datasets dataset {name!r} (split {split!r}) is not prepared: nothing at "
            f"{builder.data_dir} (data_dir={data_dir or 'the tfds default, ' + root}). "
            f"Nothing was downloaded. {_prepare_hint(name, root)}"
        ) from error


TFRECORD_FRAMING = 16  # bytes a TFRecord file adds to each record: a length, its CRC and the data's CRC


def check_split_files(builder, split: str, hint: str = "") -> None:
    """Raises ``DatasetNotPreparedError`` when a shard file of ``split`` that the prepared dataset's
    ``dataset_info.json`` lists is missing, or when its TFRecord shards do not hold the bytes recorded
    there (a build or a copy that stopped: found now, not when training reaches the shard). Record
    contents damaged at the same length are found only when read. A split the info does not list
    is left to tfds to refuse."""
    try:
        info = builder.info.splits[split.split("[")[0]]
        paths = [str(path) for path in info.filepaths]
    except Exception:  # noqa: BLE001 - unknown split, or info without files (mock data): tfds decides
        return
    for path in paths:
        if not os.path.isfile(path):
            raise DatasetNotPreparedError(
                f"{path}, a shard of split {split!r} that {builder.data_dir}/dataset_info.json lists, is missing "
                f"(a build or copy that stopped); remove {builder.data_dir} and prepare it again. {hint}".rstrip())
    if paths and all(".tfrecord" in os.path.basename(path) for path in paths):
        expected = int(info.num_bytes) + TFRECORD_FRAMING * int(info.num_examples)
        found = sum(os.path.getsize(path) for path in paths)
        if found != expected:
            raise DatasetNotPreparedError(
                f"The shards of split {split!r} in {builder.data_dir} hold {found:,} bytes where its "
                f"dataset_info.json records {expected:,} (a shard cut short or replaced); remove "
                f"{builder.data_dir} and prepare it again. {hint}".rstrip())


def _data_root(builder, data_dir) -> str:
    """The data directory tfds searched: ``data_dir``, or its default."""
    return data_dir or str(getattr(builder, "_data_dir_root", "~/tensorflow_datasets"))


def center_crop_and_resize(
    image,
    image_size: int = 64,
    crop_size: Optional[int] = None,
    crop_fraction: Optional[float] = None,
):
    """uint8 [H, W, 3] -> float32 [image_size, image_size, 3] in [-1, 1].

    Keeps the central ``crop_size`` x ``crop_size`` square (in pixels), or the
    central square of side ``crop_fraction * min(H, W)``, then resizes it with
    area averaging (a box filter when shrinking by an integer factor). An odd
    margin leaves the extra pixel at the bottom/right, as
    ``tf.image.crop_to_bounding_box`` with offset margin // 2.
    """
    if (crop_size is None) == (crop_fraction is None):
        raise ValueError("Give exactly one of crop_size (pixels) and crop_fraction.")
    image = tf.convert_to_tensor(image)
    shape = tf.shape(image)
    height, width = shape[0], shape[1]
    if crop_size is not None:
        side = tf.constant(int(crop_size), tf.int32)
        tf.debugging.assert_less_equal(
            side, tf.minimum(height, width),
            message=f"Image smaller than the {crop_size}x{crop_size} centre crop.",
        )
    else:
        if not 0.0 < crop_fraction <= 1.0:
            raise ValueError(f"crop_fraction must be in (0, 1], got {crop_fraction}.")
        shorter = tf.cast(tf.minimum(height, width), tf.float32)
        side = tf.maximum(1, tf.cast(tf.round(crop_fraction * shorter), tf.int32))
    top = (height - side) // 2
    left = (width - side) // 2
    crop = image[top : top + side, left : left + side, :]
    resized = tf.image.resize(tf.cast(crop, tf.float32), (image_size, image_size), method="area")
    resized = tf.ensure_shape(resized, (image_size, image_size, 3))
    return resized / 127.5 - 1.0


def _images(name, split, data_dir, image_size, batch_size, shuffle_seed, download, **crop):
    dataset = load_split(name, split, data_dir=data_dir, shuffle_seed=shuffle_seed, download=download)
    dataset = dataset.map(
        lambda example: center_crop_and_resize(example["image"], image_size, **crop),
        num_parallel_calls=_PARALLEL_CALLS,
        deterministic=True,
    )
    if batch_size is not None:
        dataset = dataset.batch(int(batch_size)).prefetch(2)
    return dataset.with_options(fixed_resources_options())


def celeba(
    split: str = "train",
    data_dir: Optional[str] = None,
    image_size: int = 64,
    batch_size: Optional[int] = None,
    shuffle_seed: Optional[int] = None,
    download: bool = False,
) -> tf.data.Dataset:
    """CelebA images, central 128x128 crop resized to ``image_size`` (Appendix E.3).

    One pass over ``split`` ('train', 'validation' or 'test'): single images
    [image_size, image_size, 3] float32 in [-1, 1], or batches of
    ``batch_size`` (the last one may be smaller) for evaluation. For training
    feed the unbatched dataset to ``training_batches``. ``shuffle_seed``
    shuffles the order of the tfds files (None: fixed order). ``download``
    lets tfds fetch and prepare the data (internet access needed).
    """
    return _images("celeb_a", split, data_dir, image_size, batch_size, shuffle_seed, download,
                   crop_size=CELEBA_CROP)


def imagenet(
    split: str = "train",
    data_dir: Optional[str] = None,
    image_size: int = 64,
    batch_size: Optional[int] = None,
    shuffle_seed: Optional[int] = None,
    download: bool = False,
    name: str = "imagenet2012",
    crop_fraction: float = IMAGENET_CROP_FRACTION,
) -> tf.data.Dataset:
    """ImageNet images, central square of side 64/73 of the shorter side, resized (Appendix E.3).

    Same elements and arguments as ``celeba``; see the module docstring for
    why the crop is a fraction. Labels are dropped (the model is unsupervised).
    """
    return _images(name, split, data_dir, image_size, batch_size, shuffle_seed, download,
                   crop_fraction=crop_fraction)


def check_images(images, name: str = "images", check_range: bool = True) -> np.ndarray:
    """Returns ``images`` as a float32 array [n, H, W, 3], or raises ImageDataError.

    The networks of Section 5.3 take RGB images in [-1, 1] (the generator ends
    in tanh); uint8 pixels, grayscale, or channels-first arrays are refused
    with the fix spelled out.
    """
    array = np.asarray(images)
    if array.ndim != 4 or array.shape[-1] != 3:
        hint = ""
        if array.ndim == 3 and array.shape[-1] == 3:
            hint = " One image? Add the batch axis: x[None]."
        elif array.ndim == 3:
            hint = " Grayscale [n, H, W]? Repeat it into RGB: np.repeat(x[..., None], 3, axis=-1)."
        elif array.ndim == 4 and array.shape[-1] == 1:
            hint = " Grayscale [n, H, W, 1]? Repeat it into RGB: np.repeat(x, 3, axis=-1)."
        elif array.ndim == 4 and array.shape[1] == 3:
            hint = " Channels-first? Transpose: x.transpose(0, 2, 3, 1)."
        raise ImageDataError(f"{name} must have shape [n, height, width, 3], got {array.shape}.{hint}")
    if not np.issubdtype(array.dtype, np.floating):
        raise ImageDataError(
            f"{name} must be floating point in [-1, 1], got {array.dtype}. Convert uint8 pixels "
            "with x.astype('float32') / 127.5 - 1."
        )
    array = array.astype(np.float32, copy=False)
    if check_range and array.size:
        low, high = float(array.min()), float(array.max())
        if low < -1.0 - 1e-3 or high > 1.0 + 1e-3:
            hint = " Pixels in [0, 255]? Use x / 127.5 - 1." if high > 1.5 else ""
            hint = " Pixels in [0, 1]? Use 2 * x - 1." if not hint and low >= 0.0 else hint
            raise ImageDataError(f"{name} must lie in [-1, 1], found values in [{low:.4g}, {high:.4g}].{hint}")
    return array


def check_image_spec(dataset: tf.data.Dataset, name: str = "dataset") -> tf.TensorSpec:
    """Checks that a dataset's elements are float images [H, W, 3] (or batches of them)."""
    spec = dataset.element_spec
    if not isinstance(spec, tf.TensorSpec):
        raise ImageDataError(
            f"{name} must yield image tensors, got elements {spec}. Map it to the image first, "
            "e.g. dataset.map(lambda example: example['image'])."
        )
    if spec.shape.rank not in (3, 4) or spec.shape[-1] != 3:
        raise ImageDataError(f"{name} must yield images [height, width, 3] or batches of them, got {spec.shape}.")
    if not spec.dtype.is_floating:
        raise ImageDataError(
            f"{name} yields {spec.dtype.name} images; the model takes floats in [-1, 1]. "
            "Use age_tf.data.images.celeba/imagenet, or map x -> tf.cast(x, tf.float32) / 127.5 - 1."
        )
    return spec


def training_batches(
    images,
    batch_size: int,
    d_steps: int = 1,
    seed: Optional[int] = None,
    shuffle_buffer: int = 4096,
    num_replicas: int = 1,
) -> tf.data.Dataset:
    """Endless shuffled batches of (d_steps + 1) * batch_size images for ``AGE.fit``.

    Appendix E.3 updates every network once per minibatch, so ``d_steps=1``:
    each element holds one minibatch for the discriminator and one for the
    encoder and generator. Use ``steps_per_epoch = examples // batch_size``
    (``images.cardinality()`` holds the example count of a tfds split).
    ``images`` is an unbatched dataset (``celeba(...)``) or an array. The
    shuffle buffer holds ``shuffle_buffer`` decoded images (4096 at 64x64:
    200 MB); the file order is shuffled too when the dataset was built with a
    ``shuffle_seed``.
    """
    if isinstance(images, tf.data.Dataset):
        spec = check_image_spec(images, "images")
        if spec.shape.rank != 3:
            raise ImageDataError(
                f"training_batches takes single images [height, width, 3], got elements {spec.shape}; "
                "build the dataset with batch_size=None."
            )
    else:
        images = check_images(images)
    return iteration_batches(
        images, batch_size, d_steps, seed=seed, shuffle_buffer=shuffle_buffer, num_replicas=num_replicas
    )
