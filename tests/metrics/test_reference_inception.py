"""The reference FID graph loader, on a small graph with the reference code's tensor names
(the real classify_image_graph_def.pb cannot be downloaded here)."""

import numpy as np
import pytest
import tensorflow as tf

from age_tf import metrics
from age_tf.metrics import inception, reference_inception

WEIGHTS = np.random.default_rng(0).normal(size=(3, 2048)).astype(np.float32)


def _tiny_reference_graph(path):
    """ExpandDims -> resize to 8x8 -> (x - 128) / 128 -> mean over pixels -> 1x1 conv -> pool_3,
    as the reference graph takes [n, H, W, 3] in [0, 255] and gives [n, 1, 1, 2048]."""
    with tf.Graph().as_default() as graph:
        x = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name="ExpandDims")
        resized = tf.compat.v1.image.resize_bilinear(x, [8, 8])
        pooled = tf.reduce_mean((resized - 128.0) / 128.0, axis=[1, 2], keepdims=True)
        tf.identity(tf.nn.conv2d(pooled, tf.constant(WEIGHTS.reshape(1, 1, 3, 2048)), 1, "VALID"), name="pool_3")
    path.write_bytes(graph.as_graph_def().SerializeToString())
    return str(path)


def _expected(images):
    """By hand: the 8-bit levels of the images, normalised, averaged over pixels, times WEIGHTS."""
    levels = np.clip(np.round((images.astype(np.float64) + 1) * 127.5), 0, 255)
    return ((levels - 128) / 128).mean(axis=(1, 2)) @ WEIGHTS


def test_to_reference_range_quantises_to_8_bit_levels():
    got = reference_inception.to_reference_range(np.array([-1.0, -1.5, 1.0, 2.0, 0.0, 0.5]))
    np.testing.assert_array_equal(got.numpy(), [0, 0, 255, 255, 128, 191])  # 127.5 and 191.25 rounded


def test_the_loader_feeds_the_graph_as_the_reference_code_does(tmp_path):
    network = reference_inception.ReferenceInception(_tiny_reference_graph(tmp_path / "fid.pb"))
    images = np.random.default_rng(1).uniform(-1, 1, (3, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(network(images).numpy(), _expected(images), rtol=1e-4, atol=1e-4)
    assert network(images[:1]).shape == (1, 2048)
    assert network(np.zeros((2, 32, 32, 3), np.float32)).shape == (2, 2048)  # the graph resizes


def test_activations_stream_through_the_reference_graph(tmp_path):
    network = inception.load_feature_network(_tiny_reference_graph(tmp_path / "fid.pb"))
    assert isinstance(network, reference_inception.ReferenceInception) and inception.comparable(network.path)
    images = np.random.default_rng(2).uniform(-1, 1, (5, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(inception.activations(images, network, batch_size=2), _expected(images),
                               rtol=1e-4, atol=1e-4)


def test_a_wrong_file_is_named_in_one_sentence(tmp_path):
    with pytest.raises(inception.InceptionWeightsError, match="does not exist.*classify_image_graph_def.pb"):
        inception.load_feature_network(str(tmp_path / "missing.pb"))
    other = tmp_path / "other.pb"
    with tf.Graph().as_default() as graph:
        tf.identity(tf.constant(1.0), name="logits")
    other.write_bytes(graph.as_graph_def().SerializeToString())
    with pytest.raises(inception.InceptionWeightsError, match="has no tensor ExpandDims:0 or pool_3:0"):
        inception.load_feature_network(str(other))
    garbage = tmp_path / "garbage.pb"
    garbage.write_bytes(b"\xff" * 64)
    with pytest.raises(inception.InceptionWeightsError, match="not a TensorFlow GraphDef|has no tensor"):
        inception.load_feature_network(str(garbage))


class _TinyModel:
    """latent_dim, generator and generate(z=...): what the registered FID reads of a model."""

    latent_dim = 3

    def __init__(self):
        import keras

        keras.utils.set_random_seed(1)
        self.generator = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8 * 8 * 3, activation="tanh"),
                                           keras.layers.Reshape((8, 8, 3))])

    def generate(self, n=None, z=None):
        return self.generator(z)


def test_registered_fid_and_kid_on_the_reference_graph_are_named_fid_and_kid(tmp_path, monkeypatch):
    # A 2048x2048 sqrtm takes ~20 s here: the Frechet maths (tests/metrics/test_frechet.py) is
    # replaced by a spy on its inputs, the statistics of the by-hand features.
    monkeypatch.setattr(inception, "_networks", {})
    monkeypatch.setattr(inception, "_last_generated", {})
    seen = []
    monkeypatch.setattr(inception.frechet, "frechet_distance", lambda *stats: seen.append(stats) or 7.0)
    path = _tiny_reference_graph(tmp_path / "fid.pb")
    real = np.random.default_rng(3).uniform(-1, 1, (6, 8, 8, 3)).astype(np.float32)
    model = _TinyModel()
    results = metrics.compute(["fid", "kid"], model, real, inception_weights=path, num_samples=6,
                              inception_batch_size=3, kid_subsets=2, kid_subset_size=3)
    assert set(results) == {"fid", "kid", "kid_std"} and results["fid"] == 7.0 and results["kid_std"] >= 0
    generated = np.concatenate(list(inception.generated_batches(model, 6, 3, seed=0)))
    (mu_real, _, mu_generated, _), = seen
    np.testing.assert_allclose(mu_real, _expected(real).mean(axis=0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(mu_generated, _expected(generated).mean(axis=0), rtol=1e-4, atol=1e-4)
