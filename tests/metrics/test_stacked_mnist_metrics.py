import numpy as np
import pytest

from age_tf.metrics import stacked_mnist as sm


def test_digits_from_modes_inverts_modes_from_digits():
    assert sm.digits_from_modes([123, 7, 999]).tolist() == [[1, 2, 3], [0, 0, 7], [9, 9, 9]]
    modes = np.arange(1000)
    assert (sm.modes_from_digits(sm.digits_from_modes(modes)) == modes).all()


def test_modes_from_digits():
    assert sm.modes_from_digits([[1, 2, 3], [0, 0, 7], [9, 9, 9]]).tolist() == [123, 7, 999]
    with pytest.raises(ValueError, match=r"shape \[n, 3\]"):
        sm.modes_from_digits([[1, 2]])
    with pytest.raises(ValueError, match="0..9"):
        sm.modes_from_digits([[1, 2, 10]])


def test_mode_coverage_by_hand():
    # Two modes, 3:1 -> KL(q || U_1000) = 0.75 log(750) + 0.25 log(250).
    stats = sm.mode_coverage([5] * 3 + [42])
    assert stats["modes_covered"] == 2
    assert stats["mode_kl"] == pytest.approx(0.75 * np.log(750) + 0.25 * np.log(250))


def test_uniform_histogram_has_zero_kl_and_full_coverage():
    assert sm.mode_coverage(np.repeat(np.arange(1000), 26)) == {"modes_covered": 1000, "mode_kl": pytest.approx(0.0, abs=1e-12)}


def test_reconstruction_accuracy():
    assert sm.reconstruction_accuracy([1, 2, 3, 4], [1, 2, 0, 4]) == 0.75
    with pytest.raises(ValueError, match="Shapes differ"):
        sm.reconstruction_accuracy([1, 2], [1])


class _DigitFromMeanPixel:
    """A fake classifier: digit = round(4.5 * (mean pixel + 1)), features = [mean, mean^2]."""

    def __call__(self, x, training=False):
        mean = np.asarray(x).reshape(len(x), -1).mean(axis=1)
        digits = np.clip(np.round(4.5 * (mean + 1)), 0, 9).astype(int)
        return np.eye(10)[digits], np.stack([mean, mean**2], axis=1)


def _image(digits):
    """A stacked image whose channel c has mean pixel digit_c / 4.5 - 1."""
    return np.stack([np.full((28, 28), d / 4.5 - 1, np.float32) for d in digits], axis=-1)


def test_classify_channels_reads_each_channel_in_order():
    images = np.stack([_image([1, 2, 3]), _image([9, 0, 7])])
    digits, features = sm.classify_channels(_DigitFromMeanPixel(), images, batch_size=1)
    assert digits.tolist() == [[1, 2, 3], [9, 0, 7]]
    assert features.shape == (2, 6)
    assert features[0, 2] == pytest.approx(2 / 4.5 - 1, rel=1e-5)  # channel 1's mean (float32)
    with pytest.raises(ValueError, match=r"\[n, 28, 28, 3\]"):
        sm.classify_channels(_DigitFromMeanPixel(), np.zeros((2, 28, 28, 1)))


class _FixedModel:
    """generate() cycles through given images; reconstruct() maps x to a fixed image."""

    def __init__(self, samples, reconstruction):
        self.samples, self.reconstruction, self.used = samples, reconstruction, 0

    def generate(self, n):
        out = self.samples[self.used : self.used + n]
        self.used += n
        return out

    def reconstruct(self, x):
        return np.repeat(self.reconstruction[None], len(x), axis=0)


def test_evaluate_by_hand():
    samples = np.stack([_image([1, 2, 3])] * 3 + [_image([4, 5, 6])])
    eval_images = np.stack([_image([1, 2, 3]), _image([7, 7, 7])])
    model = _FixedModel(samples, reconstruction=_image([1, 2, 3]))
    results = sm.evaluate(model, _DigitFromMeanPixel(), eval_images, [123, 777], num_samples=4, batch_size=3)
    assert results["modes_covered"] == 2
    assert results["mode_kl"] == pytest.approx(0.75 * np.log(750) + 0.25 * np.log(250))
    assert results["recon_accuracy"] == 0.5
    assert np.isfinite(results["classifier_frechet_distance"])


class _CountingClassifier(_DigitFromMeanPixel):
    def __init__(self):
        self.seen = 0

    def __call__(self, x, training=False):
        self.seen += len(x)
        return super().__call__(x, training)


def test_evaluation_images_are_classified_once_while_classifier_and_images_stay():
    samples = np.stack([_image([1, 2, 3])] * 3 + [_image([4, 5, 6])])
    eval_images = np.stack([_image([1, 2, 3]), _image([7, 7, 7])])
    classifier = _CountingClassifier()
    first = sm.evaluate(_FixedModel(samples, _image([1, 2, 3])), classifier, eval_images, [123, 777], num_samples=4)
    assert classifier.seen == 3 * (4 + 2 + 2)  # channels of samples, reconstructions, evaluation images
    again = sm.evaluate(_FixedModel(samples, _image([1, 2, 3])), classifier, eval_images.copy(), [123, 777],
                        num_samples=4)
    assert classifier.seen == 3 * (8 + 2 + 2 + 2)  # the same images' features came from the cache
    assert again == first
    changed = eval_images.copy()
    changed[1] = _image([7, 7, 6])
    sm.evaluate(_FixedModel(samples, _image([1, 2, 3])), classifier, changed, [123, 776], num_samples=4)
    assert classifier.seen == 3 * (12 + 2 + 2 + 2 + 2 + 2)  # other images: classified again
    other = _CountingClassifier()
    sm.evaluate(_FixedModel(samples, _image([1, 2, 3])), other, changed, [123, 776], num_samples=4)
    assert other.seen == 3 * (4 + 2 + 2)  # another classifier: classified again


def test_a_keras_classifier_is_keyed_by_its_weights():
    from age_tf.networks import mnist_classifier

    classifier = mnist_classifier.build_classifier(0)
    images = np.random.default_rng(0).uniform(-1, 1, (3, 28, 28, 3)).astype(np.float32)
    cache = sm.RealFeatureCache()
    first = cache.features(mnist_classifier.with_features(classifier), images, 8)
    assert cache.features(mnist_classifier.with_features(classifier), images, 8) is first  # a new wrapper, same weights
    classifier.layers[-1].kernel.assign(classifier.layers[-1].kernel * 2.0)
    assert cache.features(mnist_classifier.with_features(classifier), images, 8) is not first


def test_registered_metric_by_hand_with_options_and_with_a_dataset():
    from age_tf import metrics
    from age_tf.data.mnist import StackedMnist

    samples = np.stack([_image([1, 2, 3])] * 3 + [_image([4, 5, 6])])
    eval_images = np.stack([_image([1, 2, 3]), _image([7, 7, 7])])
    expected_kl = 0.75 * np.log(750) + 0.25 * np.log(250)
    model = _FixedModel(samples, reconstruction=_image([1, 2, 3]))
    results = metrics.compute(["stacked_mnist"], model, None, classifier=_DigitFromMeanPixel(),
                              eval_images=eval_images, eval_modes=[123, 777], num_samples=4)
    assert results["modes_covered"] == 2 and results["mode_kl"] == pytest.approx(expected_kl)
    assert results["recon_accuracy"] == 0.5 and np.isfinite(results["classifier_frechet_distance"])
    # The evaluation set of a StackedMnist (uint8) is used when no eval_images are given.
    as_uint8 = np.round((eval_images + 1) * 127.5).astype(np.uint8)
    data = StackedMnist(as_uint8[:0], np.zeros(0, int), as_uint8, np.array([123, 777]))
    model = _FixedModel(samples, reconstruction=_image([7, 7, 7]))
    results = metrics.compute(["stacked_mnist"], model, data, classifier=_DigitFromMeanPixel(), num_samples=4)
    assert results["modes_covered"] == 2 and results["recon_accuracy"] == 0.5


def test_registered_metric_wraps_a_keras_classifier_and_needs_one():
    from age_tf import metrics
    from age_tf.networks import mnist_classifier

    rng = np.random.default_rng(0)
    samples = rng.uniform(-1, 1, (6, 28, 28, 3)).astype(np.float32)
    model = _FixedModel(samples, reconstruction=samples[0])
    results = metrics.compute(["stacked_mnist"], model, None, classifier=mnist_classifier.build_classifier(0),
                              eval_images=samples[:3], eval_modes=[0, 1, 2], num_samples=6)
    assert 1 <= results["modes_covered"] <= 6
    with pytest.raises(ValueError, match="needs classifier="):
        metrics.compute(["stacked_mnist"], model, None, eval_images=samples, eval_modes=[0] * 6)
    with pytest.raises(ValueError, match="needs eval_images and eval_modes"):
        metrics.compute(["stacked_mnist"], model, None, classifier=_DigitFromMeanPixel())


def test_evaluate_reports_precision_recall_density_coverage_on_the_classifier_features():
    """Eight evaluation images of eight distinct digit triples; samples that repeat the first four,
    twice each. On the classifier's features, with k = 1, every sample lies in the ball of the real
    point it copies and in no other (precision 1, density 8 / (1 x 8) = 1), and only the first four
    real balls hold a sample (coverage 1/2). Each sample's nearest other sample is its twin, so its
    ball has radius 0 and holds no real point strictly inside (recall 0)."""
    triples = [[d, d, d] for d in range(8)]
    eval_images = np.stack([_image(t) for t in triples])
    samples = np.stack([_image(t) for t in triples[:4]] * 2)
    model = _FixedModel(samples, reconstruction=_image([0, 0, 0]))
    results = sm.evaluate(model, _DigitFromMeanPixel(), eval_images, [111 * d for d in range(8)], num_samples=8,
                          precision_recall_k=1, density_coverage_k=1)
    assert results["precision"] == 1.0 and results["coverage"] == 0.5
    assert results["density"] == 1.0 and results["recall"] == 0.0
    # Too few points for k: not reported rather than an error.
    few = sm.evaluate(_FixedModel(samples, _image([0, 0, 0])), _DigitFromMeanPixel(), eval_images[:2], [0, 111],
                      num_samples=4)
    assert "precision" not in few and "mode_kl" in few
