"""Mode metrics of Stacked MNIST (Section 5.2.2, Table 5), from classifier outputs.

A mode classifier labels each of the three channels with a digit; the image's
mode is the 3-digit number. Over generated samples:

- ``modes_covered``: how many of the 1000 modes occur at least once;
- ``mode_kl``: KL(q || uniform) of the generated mode histogram q (the reverse
  KL the paper reports, finite when modes are missing);
- ``recon_accuracy``: share of evaluation images whose reconstruction G(E(x))
  falls in the same mode as x.

Registered as the metric ``stacked_mnist``: ``age_tf.metrics.compute(
["stacked_mnist"], model, data, classifier=...)`` with the classifier of
``age_tf.metrics.mode_classifier.load_or_train`` and the evaluation set of
``age_tf.data.mnist.stacked_mnist`` (or ``eval_images``/``eval_modes``).
"""

from __future__ import annotations

import hashlib
from typing import Dict

import numpy as np

from age_tf.metrics import manifold
from age_tf.metrics.modes import histogram_kl
from age_tf.metrics.registry import register_metric

NUM_MODES = 1000
PRDC_SAMPLES = 10_000  # Naeem et al. (2020) use 10,000 real and 10,000 generated


def modes_from_digits(digits) -> np.ndarray:
    """[n, 3] per-channel digits -> [n] modes 100 d0 + 10 d1 + d2."""
    digits = np.asarray(digits, dtype=np.int64)
    if digits.ndim != 2 or digits.shape[1] != 3:
        raise ValueError(f"digits must have shape [n, 3], got {digits.shape}.")
    if digits.min(initial=0) < 0 or digits.max(initial=0) > 9:
        raise ValueError("digits must lie in 0..9.")
    return 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2]


def digits_from_modes(modes) -> np.ndarray:
    """[n] modes 100 d0 + 10 d1 + d2 -> [n, 3] per-channel digits (inverse of modes_from_digits)."""
    modes = np.asarray(modes, dtype=np.int64)
    return np.stack([modes // 100, modes // 10 % 10, modes % 10], axis=1)


def mode_coverage(modes, num_modes: int = NUM_MODES) -> Dict[str, float]:
    """modes_covered and mode_kl = KL(q || uniform over num_modes)."""
    counts = np.bincount(np.asarray(modes, dtype=np.int64), minlength=num_modes).astype(np.float64)
    return {
        "modes_covered": int((counts > 0).sum()),
        "mode_kl": histogram_kl(counts / counts.sum(), np.full(num_modes, 1.0 / num_modes)),
    }


def reconstruction_accuracy(true_modes, reconstructed_modes) -> float:
    true_modes = np.asarray(true_modes)
    reconstructed_modes = np.asarray(reconstructed_modes)
    if true_modes.shape != reconstructed_modes.shape:
        raise ValueError(f"Shapes differ: {true_modes.shape} vs {reconstructed_modes.shape}.")
    return float(np.mean(true_modes == reconstructed_modes))


def classify_channels(classifier, images, batch_size: int = 2048):
    """Digits [n, 3] and per-channel features [n, 3 * d] of stacked images in [-1, 1].

    ``classifier`` maps [m, 28, 28, 1] to (logits [m, 10], features [m, d])
    (``age_tf.networks.mnist_classifier.with_features``). The three channels
    of a batch go through the network as one batch of 3 m digits.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[1:] != (28, 28, 3):
        raise ValueError(f"Stacked MNIST images must be [n, 28, 28, 3], got {images.shape}.")
    digits, features = [], []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        m = len(batch)
        channels = np.transpose(batch, (3, 0, 1, 2))[..., None].reshape(3 * m, 28, 28, 1)
        logits, feats = classifier(channels, training=False)
        digits.append(np.argmax(np.asarray(logits), axis=-1).reshape(3, m).T)
        feats = np.asarray(feats).reshape(3, m, -1)
        features.append(np.concatenate(list(feats), axis=-1))
    return np.concatenate(digits), np.concatenate(features)


def in_batches(fn, inputs, batch_size):
    """fn applied to ``inputs`` batch_size rows at a time, the outputs concatenated as numpy."""
    return np.concatenate(
        [np.asarray(fn(inputs[i : i + batch_size])) for i in range(0, len(inputs), batch_size)]
    )


def _digest(arrays) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(str((array.dtype, array.shape)).encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


class RealFeatureCache:
    """The classifier features of the evaluation images, computed once per classifier and image set.

    They are the same at every periodic evaluation of a run, and classifying them is a third of
    ``evaluate``'s classifier work. The key is the images' content and the classifier's weights
    (a Keras model: the features model ``_with_features`` builds anew each time shares them), or
    the classifier object itself when it has no weights. One entry: a new set replaces the old.
    """

    def __init__(self):
        self._key, self._features, self._classifier = None, None, None

    def features(self, classifier, eval_images, batch_size: int) -> np.ndarray:
        weights = getattr(classifier, "weights", None)
        owner = _digest(np.asarray(w) for w in weights) if weights else id(classifier)
        key = (owner, _digest([eval_images]))
        if key != self._key:
            _, features = classify_channels(classifier, eval_images, batch_size)
            # The classifier is kept so that an id used as the key cannot be reused meanwhile.
            self._key, self._features, self._classifier = key, features, classifier
        return self._features


REAL_FEATURES = RealFeatureCache()


def evaluate(model, classifier, eval_images, eval_modes, num_samples: int = 26_000,
             batch_size: int = 2048, prdc_samples: int = PRDC_SAMPLES,
             precision_recall_k: int = manifold.PRECISION_RECALL_K,
             density_coverage_k: int = manifold.DENSITY_COVERAGE_K) -> Dict[str, float]:
    """Table 5's metrics plus a classifier-feature Frechet distance.

    ``num_samples`` generated images give ``modes_covered`` and ``mode_kl``;
    the evaluation images ``eval_images`` (with their true modes) give
    ``recon_accuracy`` through G(E(x)). ``classifier_frechet_distance`` compares
    the classifier's penultimate features (three channels concatenated) of the
    generated and the evaluation images: a Frechet distance on MNIST features,
    not Inception FID. The evaluation images' features are classified once and
    reused while the classifier and the images stay the same (``RealFeatureCache``).
    ``precision``, ``recall``, ``density`` and ``coverage`` (``age_tf.metrics.manifold``) compare
    the first ``prdc_samples`` of each on those same features (not computed with 0, or when either
    set has no more points than the larger k).
    """
    from age_tf.metrics import frechet

    samples = np.concatenate([
        np.asarray(model.generate(min(batch_size, num_samples - start)))
        for start in range(0, num_samples, batch_size)
    ])
    sample_digits, sample_features = classify_channels(classifier, samples, batch_size)
    eval_images = np.asarray(eval_images, dtype=np.float32)
    recon = in_batches(model.reconstruct, eval_images, batch_size)
    recon_digits, _ = classify_channels(classifier, recon, batch_size)
    real_features = REAL_FEATURES.features(classifier, eval_images, batch_size)
    results = mode_coverage(modes_from_digits(sample_digits))
    results["recon_accuracy"] = reconstruction_accuracy(eval_modes, modes_from_digits(recon_digits))
    results["classifier_frechet_distance"] = frechet.frechet_distance_from_activations(
        sample_features, real_features
    )
    enough = max(precision_recall_k, density_coverage_k) < min(prdc_samples, len(real_features), len(sample_features))
    if enough:
        results.update(manifold.scores_or_nan(real_features[:prdc_samples], sample_features[:prdc_samples],
                                              precision_recall_k, density_coverage_k))
    return results


def _with_features(classifier):
    """A Keras classifier with one output gets its features layer as a second output."""
    outputs = getattr(classifier, "outputs", None)
    if outputs is not None and len(outputs) == 1:
        from age_tf.networks import mnist_classifier

        return mnist_classifier.with_features(classifier)
    return classifier


@register_metric("stacked_mnist", meanings={
    "modes_covered": "of the 1000 digit triples, those the mode classifier finds among the samples",
    "mode_kl": "KL(generated mode histogram || uniform over 1000 modes)",
    "recon_accuracy": "share of evaluation images whose reconstruction G(E(x)) has the same three digits",
    "classifier_frechet_distance": "Frechet distance of samples and evaluation images on the classifier's features",
    **{name: f"{meaning}, on the classifier's features" for name, meaning in manifold.MEANINGS.items()},
})
def stacked_mnist_metric(model, dataset=None, classifier=None, eval_images=None, eval_modes=None,
                         num_samples: int = 26_000, batch_size: int = 2048, prdc_samples: int = PRDC_SAMPLES,
                         precision_recall_k: int = manifold.PRECISION_RECALL_K,
                         density_coverage_k: int = manifold.DENSITY_COVERAGE_K) -> Dict[str, float]:
    """Table 5's metrics (``evaluate``) of ``model``.

    Options: ``classifier``, the mode classifier (a Keras model from
    ``mnist_classifier.build_classifier``, a ``mode_classifier.ModeClassifier``,
    or any callable returning (logits, features)); ``eval_images`` [n, 28, 28, 3]
    in [-1, 1] and ``eval_modes`` [n], by default ``dataset``'s evaluation set
    (``age_tf.data.mnist.StackedMnist``); ``num_samples`` generated images; ``prdc_samples`` and the
    two k of precision/recall and density/coverage (``evaluate``).
    """
    if classifier is None:
        raise ValueError(
            "The stacked_mnist metric needs classifier=... (the mode classifier of "
            "age_tf.metrics.mode_classifier.load_or_train)."
        )
    classifier = getattr(classifier, "model", classifier)  # a ModeClassifier
    if eval_images is None:
        if not hasattr(dataset, "eval_images"):
            raise ValueError(
                "The stacked_mnist metric needs eval_images and eval_modes, or a dataset with an "
                "evaluation set (age_tf.data.mnist.stacked_mnist)."
            )
        eval_images, eval_modes = dataset.eval_unit_range(), dataset.eval_labels
    if eval_modes is None or len(eval_modes) != len(eval_images):
        raise ValueError("eval_modes must give one mode per evaluation image.")
    return evaluate(model, _with_features(classifier), eval_images, eval_modes, num_samples, batch_size,
                    prdc_samples, precision_recall_k, density_coverage_k)
