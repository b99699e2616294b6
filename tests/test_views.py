"""PNG views (Figures 2-5, 13-15): sizes, tile contents, interpolation ends, latent neighbours."""

import warnings

import keras
import numpy as np
import pytest
from PIL import Image

import age_tf
from age_tf import callbacks, views

LATENT = 4


def tiny_image_model(seed=0):
    """AGE on 64x64x3 with a few hundred parameters per network (64 -> 4x4 -> z and back)."""
    keras.utils.set_random_seed(seed)
    x = keras.Input((64, 64, 3))
    encoder = keras.Model(x, keras.layers.Dense(LATENT)(keras.layers.Flatten()(keras.layers.AveragePooling2D(16)(x))))
    z = keras.Input((LATENT,))
    h = keras.layers.Reshape((4, 4, 3))(keras.layers.Dense(48, activation="tanh")(z))
    generator = keras.Model(z, keras.layers.UpSampling2D(16)(h))
    dx, dz = keras.Input((64, 64, 3)), keras.Input((LATENT,))
    fx = keras.layers.Flatten()(keras.layers.AveragePooling2D(16)(dx))
    joint = keras.layers.Concatenate()([fx, dz])
    discriminator = keras.Model([dx, dz], keras.layers.Reshape(())(keras.layers.Dense(1)(joint)))
    model = age_tf.AGE(encoder, generator, discriminator, d_steps=1, seed=seed)
    model.compile(d_optimizer=keras.optimizers.Adam(1e-2), e_optimizer=keras.optimizers.Adam(1e-2),
                  g_optimizer=keras.optimizers.Adam(1e-2))
    return model


def images(n, h=64, w=64, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, h, w, 3)).astype(np.float32)


def read(path):
    return np.asarray(Image.open(path).convert("RGB"))


def cell(canvas, index, columns, h, w, padding=2):
    top = padding + (index // columns) * (h + padding)
    left = padding + (index % columns) * (w + padding)
    return canvas[top : top + h, left : left + w]


def test_sample_grid_size_and_tiles(tmp_path):
    x = images(10, 8, 6)
    canvas = read(views.sample_grid(str(tmp_path / "s.png"), x, columns=4))
    assert canvas.shape == (3 * 8 + 4 * 2, 4 * 6 + 5 * 2, 3)  # 3 rows, 4 columns
    np.testing.assert_array_equal(cell(canvas, 5, 4, 8, 6), views.to_uint8(x[5]))
    assert (cell(canvas, 11, 4, 8, 6) == 255).all()  # empty last cells stay white
    assert views.to_uint8(np.array([-1.0, 0.0, 1.0])).tolist() == [0, 128, 255]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "invalid value encountered in cast"
        assert views.to_uint8(np.array([np.nan, -np.inf, np.inf, 2.0])).tolist() == [0, 0, 255, 255]


def test_reconstruction_grid_alternates_real_and_reconstructed_columns(tmp_path):
    real, recon = images(3, 8, 8, seed=1), images(3, 8, 8, seed=2)
    canvas = read(views.reconstruction_grid(str(tmp_path / "r.png"), real, recon, columns=4))
    assert canvas.shape == (2 * 8 + 3 * 2, 4 * 8 + 5 * 2, 3)
    for index, expected in [(0, real[0]), (1, recon[0]), (2, real[1]), (3, recon[1]), (4, real[2]), (5, recon[2])]:
        np.testing.assert_array_equal(cell(canvas, index, 4, 8, 8), views.to_uint8(expected))
    with pytest.raises(ValueError, match="columns must be even"):
        views.reconstruction_grid(str(tmp_path / "odd.png"), real, recon, columns=3)


def test_interpolation_ends_are_the_decoded_encoder_means_and_the_middle_is_linear(tmp_path):
    model = tiny_image_model()
    x_a, x_b = images(2, seed=3), images(2, seed=4)
    got = views.interpolations(model, x_a, x_b, steps=5)
    assert got.shape == (2, 5, 64, 64, 3)
    z_a, z_b = model.encode(x_a, mean=True), model.encode(x_b, mean=True)
    np.testing.assert_allclose(got[:, 0], model.generate(z=z_a), atol=1e-6)
    np.testing.assert_allclose(got[:, -1], model.generate(z=z_b), atol=1e-6)
    np.testing.assert_allclose(got[:, 2], model.generate(z=(z_a + z_b) / 2), atol=1e-6)
    assert np.abs(got[:, 0] - got[:, -1]).max() > 1e-3  # the two ends differ

    canvas = read(views.interpolation_grid(str(tmp_path / "i.png"), model, x_a, x_b, steps=5))
    assert canvas.shape == (2 * 64 + 3 * 2, 7 * 64 + 8 * 2, 3)  # real, 5 steps, real
    np.testing.assert_array_equal(cell(canvas, 7, 7, 64, 64), views.to_uint8(x_a[1]))
    np.testing.assert_array_equal(cell(canvas, 13, 7, 64, 64), views.to_uint8(x_b[1]))
    np.testing.assert_array_equal(cell(canvas, 1, 7, 64, 64), views.to_uint8(got[0, 0]))


def test_nearest_neighbours_in_latent_space(tmp_path):
    model = tiny_image_model()
    pool = images(6, seed=5)
    index, distance = views.nearest_neighbours(model, pool[[4, 1]], pool, k=3)
    assert index[:, 0].tolist() == [4, 1]  # a query in the pool is its own nearest neighbour
    np.testing.assert_allclose(distance[:, 0], 0.0, atol=1e-6)
    z = np.asarray(model.encode(pool, mean=True), np.float64)
    brute = np.linalg.norm(z[[4, 1]][:, None] - z[None], axis=-1)
    np.testing.assert_array_equal(index, np.argsort(brute, axis=1)[:, :3])
    np.testing.assert_allclose(distance, np.sort(brute, axis=1)[:, :3], rtol=1e-6, atol=1e-6)

    canvas = read(views.nearest_neighbours_grid(str(tmp_path / "n.png"), model, pool[[4, 1]], pool, k=3))
    assert canvas.shape == (2 * 64 + 3 * 2, 4 * 64 + 5 * 2, 3)
    assert canvas[0, 0].tolist() == list(views.QUERY_FRAME)  # the query's red frame
    np.testing.assert_array_equal(cell(canvas, 4, 4, 64, 64), views.to_uint8(pool[1]))
    np.testing.assert_array_equal(cell(canvas, 5, 4, 64, 64), views.to_uint8(pool[1]))  # itself first


def test_write_all_views_is_deterministic_and_needs_enough_images(tmp_path):
    model = tiny_image_model()
    val = images(12, seed=6)
    options = dict(num_samples=8, columns=4, num_reconstructions=4, interpolation_pairs=2,
                   interpolation_steps=3, num_queries=2, k=3)
    first = views.write_all_views(model, val, str(tmp_path / "a"), **options)
    second = views.write_all_views(model, val, str(tmp_path / "b"), **options)
    assert set(first) == set(views.VIEWS)
    assert first["samples"] == str(tmp_path / "a" / "views" / "final_samples.png")
    for view in views.VIEWS:
        np.testing.assert_array_equal(read(first[view]), read(second[view]))
    assert read(first["samples"]).shape == (2 * 64 + 3 * 2, 4 * 64 + 5 * 2, 3)
    with pytest.raises(ValueError, match="needs? at least 5"):
        views.write_all_views(model, val[:4], str(tmp_path / "c"), **options)


def test_image_views_callback_writes_every_view_each_epoch_with_fixed_inputs(tmp_path):
    model = tiny_image_model()
    train, val = images(8, seed=7), images(10, seed=8)
    callback = callbacks.ImageViews(val, str(tmp_path), every=1, num_samples=4, seed=0, columns=4,
                                    num_reconstructions=4, interpolation_pairs=2, interpolation_steps=3,
                                    num_queries=2, k=2)
    model.fit(train, batch_size=4, epochs=2, verbose=0, callbacks=[callback])
    written = sorted(p.name for p in (tmp_path / "views").iterdir())
    assert written == sorted(f"epoch_{e:04d}_{v}.png" for e in (1, 2) for v in views.VIEWS)
    one, two = (read(tmp_path / "views" / f"epoch_{e:04d}_interpolations.png") for e in (1, 2))
    # Same real images at both ends of each row, epoch after epoch; the decodings moved with training.
    np.testing.assert_array_equal(cell(one, 0, 5, 64, 64), cell(two, 0, 5, 64, 64))
    np.testing.assert_array_equal(cell(one, 0, 5, 64, 64), views.to_uint8(val[0]))
    assert not np.array_equal(cell(one, 1, 5, 64, 64), cell(two, 1, 5, 64, 64))


def test_image_views_keeps_the_first_images_of_a_dataset(tmp_path):
    import tensorflow as tf

    val = images(7, 8, 8, seed=9)
    callback = callbacks.ImageViews(tf.data.Dataset.from_tensor_slices(val).batch(3), str(tmp_path), num_images=5)
    np.testing.assert_array_equal(callback.images, val[:5])
    with pytest.raises(age_tf.data.images.ImageDataError, match="yields uint8"):
        callbacks.ImageViews(tf.data.Dataset.from_tensor_slices((val * 100).astype(np.uint8)), str(tmp_path))


def test_a_model_without_encoder_gets_samples_only(tmp_path):
    class Unidirectional:  # AGE-UGM: generate only, encode would raise
        latent_dim = LATENT
        unidirectional = True

        def generate(self, n=None, z=None):
            return np.tanh(np.repeat(np.asarray(z)[:, None, None, :3], 8, axis=1).repeat(8, axis=2))

    written = views.write_all_views(Unidirectional(), None, str(tmp_path), num_samples=3, columns=3)
    assert list(written) == ["samples"]
    assert read(written["samples"]).shape == (8 + 2 * 2, 3 * 8 + 4 * 2, 3)
