import numpy as np

from age_tf.networks import mnist_classifier


def test_logits_and_features_shapes_and_shared_weights():
    classifier = mnist_classifier.build_classifier(seed=0)
    both = mnist_classifier.with_features(classifier)
    x = np.random.default_rng(0).uniform(-1, 1, (5, 28, 28, 1)).astype("float32")
    logits, features = both(x, training=False)
    assert logits.shape == (5, 10) and features.shape == (5, 128)
    np.testing.assert_allclose(np.asarray(logits), np.asarray(classifier(x, training=False)), rtol=1e-6)


def test_seeded_weights_are_reproducible():
    a = mnist_classifier.build_classifier(seed=3).get_weights()
    b = mnist_classifier.build_classifier(seed=3).get_weights()
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
