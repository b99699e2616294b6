"""FID/KID plumbing: weights file round trip, streaming, cache, errors; maths against scipy.

InceptionV3 at 299x299 is slow on CPU: one random network is built per module
and every forward pass sees at most four images in batches of two.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import linalg

from age_tf import metrics
from age_tf.metrics import frechet, inception, manifold


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A randomly initialised InceptionV3 and the file its weights were saved to."""
    keras.utils.set_random_seed(0)
    network = inception.build_inception()
    path = str(tmp_path_factory.mktemp("inception") / "random.weights.h5")
    network.save_weights(path)
    return network, path


def real_images(n=4, size=16, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, 3)).astype(np.float32)


@pytest.mark.slow  # builds InceptionV3
def test_random_weights_load_back_and_activations_stream_in_batches(weights):
    network, path = weights
    loaded = inception.load_inception(path)
    x = real_images(3)
    acts = inception.activations(x, loaded, batch_size=2)
    assert acts.shape == (3, 2048) and acts.dtype == np.float32
    direct = network(tf.image.resize(x[2:], (299, 299)), training=False).numpy()
    np.testing.assert_allclose(acts[2:], direct, rtol=1e-4, atol=1e-5)


def test_batches_never_exceed_batch_size_and_stop_at_num_examples():
    x = real_images(5)
    sizes = lambda source, n=None: [len(b) for b in inception.image_batches(source, 2, n)]  # noqa: E731
    assert sizes(x) == [2, 2, 1]
    assert sizes(tf.data.Dataset.from_tensor_slices(x)) == [2, 2, 1]
    assert sizes(tf.data.Dataset.from_tensor_slices(x).batch(5), 3) == [2, 1]
    assert sizes(iter([x[:3], x[3:]]), 4) == [2, 1, 1]  # an iterable of batches is re-cut


def test_missing_corrupt_and_foreign_weights_files_are_named(tmp_path):
    with pytest.raises(inception.InceptionWeightsError, match="nothere.weights.h5.*does not exist"):
        inception.load_inception(str(tmp_path / "nothere.weights.h5"))
    corrupt = tmp_path / "corrupt.weights.h5"
    corrupt.write_bytes(b"not an hdf5 file")
    with pytest.raises(inception.InceptionWeightsError, match=f"Cannot load InceptionV3 weights from {corrupt}"):
        inception.load_inception(str(corrupt))
    foreign = str(tmp_path / "dense.weights.h5")
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)]).save_weights(foreign)
    with pytest.raises(inception.InceptionWeightsError, match="dense.weights.h5"):
        inception.load_inception(foreign)


def test_reference_statistics_are_cached_and_the_cache_key_is_checked(weights, tmp_path, monkeypatch):
    network, path = weights
    cache = str(tmp_path / "stats.npz")
    calls = []
    original = inception.activations
    monkeypatch.setattr(inception, "activations", lambda *a, **k: calls.append(1) or original(*a, **k))
    x = real_images(4)
    first = inception.reference_statistics(x, path, cache, num_examples=4, batch_size=2,
                                           dataset_id="noise", network=network)
    assert len(calls) == 1
    with np.load(cache) as saved:
        assert str(saved["weights_sha256"]) == inception.weights_sha256(path)
        assert int(saved["num_examples"]) == 4 and str(saved["dataset_id"]) == "noise"
        assert saved["kid_activations"].shape == (4, 2048)
    monkeypatch.setattr(inception, "load_inception", lambda p: pytest.fail("cache hit must not load the network"))
    second = inception.reference_statistics(x, path, cache, num_examples=4, batch_size=2, dataset_id="noise")
    assert len(calls) == 1  # not recomputed
    np.testing.assert_array_equal(second.mu, first.mu)
    np.testing.assert_array_equal(second.sigma, first.sigma)

    with pytest.raises(inception.StaleCacheError, match=r"num_examples 4 \(cache\) vs 3 \(now\)"):
        inception.reference_statistics(x, path, cache, num_examples=3, dataset_id="noise")
    with pytest.raises(inception.StaleCacheError, match="dataset_id 'noise' .* vs 'celeb_a'"):
        inception.reference_statistics(x, path, cache, num_examples=4, dataset_id="celeb_a")
    other = tmp_path / "other.weights.h5"
    other.write_bytes(b"different network")
    with pytest.raises(inception.StaleCacheError, match="weights_sha256"):
        inception.reference_statistics(x, str(other), cache, num_examples=4, dataset_id="noise")
    assert len(calls) == 1


def test_fid_and_kid_from_activations_match_scipy_and_a_direct_mmd():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(50, 6)).astype(np.float32).astype(np.float64)  # stored as float32 exactly
    fake = rng.normal(loc=0.3, scale=1.2, size=(50, 6)) @ rng.normal(size=(6, 6))
    reference = inception.ReferenceStatistics.from_activations(
        real, kid_examples=50, num_examples=50, weights_sha256="", image_shape=(64, 64, 3))
    mu_r, s_r = real.mean(0), np.cov(real, rowvar=False)
    mu_f, s_f = fake.mean(0), np.cov(fake, rowvar=False)
    expected = np.sum((mu_r - mu_f) ** 2) + np.trace(s_r + s_f - 2 * linalg.sqrtm(s_r @ s_f).real)
    assert inception.fid_from_activations(reference, fake) == pytest.approx(expected, rel=1e-6)

    # One subset of all 50 rows: the unbiased MMD^2 of the full sets, whatever their order.
    k = lambda a, b: (a @ b.T / 6 + 1) ** 3  # noqa: E731
    n = 50
    mmd = ((k(real, real).sum() - np.trace(k(real, real))) / (n * (n - 1))
           + (k(fake, fake).sum() - np.trace(k(fake, fake))) / (n * (n - 1)) - 2 * k(real, fake).mean())
    got = inception.kid_from_activations(reference, fake, num_subsets=1, subset_size=n)
    assert got == pytest.approx(mmd, rel=1e-6)


class TinyModel:
    """Stands in for AGE: latent_dim, generator and generate(z=...) are all FID needs."""

    latent_dim = 3

    def __init__(self):
        keras.utils.set_random_seed(1)
        self.generator = keras.Sequential(
            [keras.Input((3,)), keras.layers.Dense(16 * 16 * 3, activation="tanh"), keras.layers.Reshape((16, 16, 3))])
        self.generate_calls = 0

    def generate(self, n=None, z=None):
        self.generate_calls += 1
        return self.generator(z)


def test_registered_fid_and_kid_embed_the_samples_once_and_use_their_statistics(weights, tmp_path, monkeypatch):
    # A 2048x2048 sqrtm takes ~20 s on this CPU, so the Frechet maths (tested
    # above and in test_frechet.py) is replaced by a spy on its inputs.
    network, path = weights
    monkeypatch.setattr(inception, "_networks", {inception.weights_sha256(path): network})
    monkeypatch.setattr(inception, "_last_generated", {})
    seen = []
    monkeypatch.setattr(frechet, "frechet_distance", lambda *stats: seen.append(stats) or 12.5)
    model = TinyModel()
    real = real_images(4)
    options = dict(inception_weights=path, inception_cache=str(tmp_path / "ref.npz"), num_samples=4,
                   inception_batch_size=2, kid_subsets=2, kid_subset_size=3, dataset_id="noise")
    results = metrics.compute(["fid", "kid"], model, tf.data.Dataset.from_tensor_slices(real), **options)
    assert model.generate_calls == 2  # 4 samples in batches of 2, shared by both metrics
    assert results["fid_keras"] == 12.5 and "fid" not in results  # Keras' InceptionV3: not comparable

    samples = np.concatenate(list(inception.generated_batches(model, 4, 2, seed=0)))
    fake = inception.activations(samples, network, 2).astype(np.float64)
    real_acts = inception.activations(real, network, 2).astype(np.float64)
    (mu_r, s_r, mu_f, s_f), = seen
    np.testing.assert_allclose(mu_r, real_acts.mean(0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(s_r, np.cov(real_acts, rowvar=False), rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(mu_f, fake.mean(0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(s_f, np.cov(fake, rowvar=False), rtol=1e-4, atol=1e-9)
    reference = inception.ReferenceStatistics.load(str(tmp_path / "ref.npz"))
    assert results["kid_keras"] == pytest.approx(inception.kid_from_activations(reference, fake, 2, 3, 0), rel=1e-5)
    # KID's standard deviation over its two subsets, each an unbiased MMD^2 of 3 rows of each side.
    subsets = inception.kid_subsets_from_activations(reference, fake, 2, 3, 0)
    assert results["kid_keras_std"] == pytest.approx(abs(subsets[0] - subsets[1]) / 2, rel=1e-5)
    assert results["kid_keras"] == pytest.approx(subsets.mean(), rel=1e-5)

    # Precision/recall and density/coverage on the same activations (k = 1: four points each).
    prdc = metrics.compute(["inception_prdc"], model, tf.data.Dataset.from_tensor_slices(real), **options,
                           precision_recall_k=1, density_coverage_k=1)
    assert model.generate_calls == 4  # the two calls above and the test's own two: embedded once for all three
    assert prdc == pytest.approx(manifold.manifold_metrics(real_acts, fake, 1, 1), abs=1e-6)


def test_fid_without_weights_says_which_option_is_missing():
    with pytest.raises(inception.InceptionWeightsError, match="inception_weights=<path"):
        metrics.compute(["fid"], TinyModel(), real_images(2))
