"""A folder of images: what Keras' loader is asked for (conversion, centre crop, area resize, labels), the
split, and every refusal, on PNG and JPEG files written into a temp dir."""

import os

import numpy as np
import pytest
import tensorflow as tf

from age_tf.data import folder


def write_png(path, pixels):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tf.io.write_file(str(path), tf.io.encode_png(np.asarray(pixels)))
    return str(path)


def constant(height, width, channels, value, dtype=np.uint8):
    return np.full((height, width, channels), value, dtype)


def test_grayscale_rgba_16_bit_and_jpeg_become_8_bit_rgb_in_class_order(tmp_path):
    write_png(tmp_path / "cats" / "gray.png", constant(6, 6, 1, 100))
    rgba = np.concatenate([constant(6, 6, 3, 200), constant(6, 6, 1, 0)], axis=-1)  # transparent: alpha dropped
    write_png(tmp_path / "cats" / "rgba.png", rgba)
    write_png(tmp_path / "dogs" / "deep" / "nested" / "sixteen.png", constant(6, 6, 3, 32767, np.uint16))
    tf.io.write_file(str(tmp_path / "dogs" / "photo.jpg"), tf.io.encode_jpeg(constant(6, 6, 3, 50), quality=100))
    images = folder.load_image_folder(str(tmp_path), image_size=4, validation_share=0.25)
    assert images.class_names == ("cats", "dogs") and images.labelled
    pixels = np.concatenate([images.train, images.validation])
    labels = np.concatenate([images.train_labels, images.validation_labels])
    means = sorted(zip(labels.tolist(), pixels.reshape(4, -1).mean(axis=1).round().tolist()))
    assert means == [(0, 100.0), (0, 200.0), (1, 50.0), (1, 127.0)]  # 16-bit 32767 -> 8-bit 127
    assert pixels.dtype == np.uint8 and pixels.shape == (4, 4, 4, 3)
    assert (len(images.train), len(images.validation)) == (3, 1)


def test_the_central_square_is_kept_and_shrunk_by_area_averaging(tmp_path):
    wide = np.zeros((4, 8, 3), np.uint8)
    wide[:, 2:6] = 200  # the central 4x4 square; the margins are black
    wide[:2, 2:4] = 40  # its top-left quarter
    write_png(tmp_path / "wide.png", wide)
    write_png(tmp_path / "other.png", constant(4, 4, 3, 0))
    images = folder.load_image_folder(str(tmp_path), image_size=2, validation_share=0.5)
    assert not images.labelled and images.train_labels is None
    shrunk = [x for x in (*images.train, *images.validation) if x.max() > 0][0]
    np.testing.assert_array_equal(shrunk[..., 0], [[40, 200], [200, 200]])
    assert images.images("train").min() >= -1.0 and images.images("train").max() <= 1.0


def test_the_split_is_seeded_disjoint_and_one_folder_of_classes_is_unlabelled(tmp_path):
    for index in range(20):
        write_png(tmp_path / "only_class" / f"{index:02d}.png", constant(3, 3, 3, index * 10))
    first = folder.load_image_folder(str(tmp_path), image_size=3, validation_share=0.2, seed=1)
    again = folder.load_image_folder(str(tmp_path), image_size=3, validation_share=0.2, seed=1)
    assert not first.labelled and (len(first.train), len(first.validation)) == (16, 4)
    np.testing.assert_array_equal(first.validation, again.validation)
    held = set(first.validation[:, 0, 0, 0].tolist())
    assert held.isdisjoint(first.train[:, 0, 0, 0].tolist())
    batch = next(iter(first.training_dataset().batch(16)))
    np.testing.assert_allclose(batch.numpy(), first.images("train"))


def test_bad_folders_are_refused_with_one_sentence_naming_what_is_wrong(tmp_path):
    with pytest.raises(folder.FolderError, match="is missing"):
        folder.load_image_folder(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(folder.FolderError, match="is empty"):
        folder.load_image_folder(str(tmp_path / "empty"))
    (tmp_path / "notes" / "sub").mkdir(parents=True)
    (tmp_path / "notes" / "sub" / "readme.txt").write_text("no pictures")
    with pytest.raises(folder.FolderError, match=r"holds no PNG or JPEG images \(1 other file, e.g. .*readme.txt\)"):
        folder.load_image_folder(str(tmp_path / "notes"))
    write_png(tmp_path / "one" / "a.png", constant(5, 5, 3, 1))
    with pytest.raises(folder.FolderError, match="holds a single image"):
        folder.load_image_folder(str(tmp_path / "one"))


@pytest.mark.parametrize("damage", [b"not an image at all", "truncated"])
def test_a_damaged_file_in_the_middle_is_named(tmp_path, damage):
    good = None
    for index in range(6):
        good = write_png(tmp_path / f"{index}.png", constant(5, 5, 3, index))
    content = open(good, "rb").read()[:40] if damage == "truncated" else damage
    (tmp_path / "3.png").write_bytes(content)
    with pytest.raises(folder.FolderError) as raised:
        folder.load_image_folder(str(tmp_path))
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / '3.png'} is not a readable image (") and "\n" not in message
    assert "remove or replace that file" in message
