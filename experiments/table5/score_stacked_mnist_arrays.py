"""Table 5's metrics for images made by another implementation (BUILD_NOTES.md, Stacked MNIST).

Scores arrays written by any code (e.g. the authors' PyTorch train_age run on the same Stacked
MNIST draw) with this project's cached mode classifier. ARRAYS_NPZ holds ``samples`` (generated
images) and ``recon`` (the reconstructions G(E(x)) of the first len(recon) evaluation images of
age_tf.data.mnist.stacked_mnist(seed=0)), both uint8 [n, 28, 28, 3] as
experiments/table5/authors_stacked_mnist.py writes them.

    python experiments/table5/score_stacked_mnist_arrays.py ARRAYS_NPZ
"""
import sys

import numpy as np

from age_tf.data import mnist
from age_tf.metrics import mode_classifier
from age_tf.metrics import stacked_mnist as smm

arrays = np.load(sys.argv[1])
samples, recon = (mnist.to_unit_range(arrays[key]) for key in ("samples", "recon"))
data = mnist.stacked_mnist("../shared/data/mnist", seed=0)
classifier = mode_classifier.load_or_train("../shared/data/mnist", "runs/mnist_classifier", seed=0).with_features()
sample_digits, _ = smm.classify_channels(classifier, samples)
recon_digits, _ = smm.classify_channels(classifier, recon)
true = data.eval_labels[: len(recon)]
result = smm.mode_coverage(smm.modes_from_digits(sample_digits))
result["recon_accuracy"] = smm.reconstruction_accuracy(true, smm.modes_from_digits(recon_digits))
true_digits = smm.digits_from_modes(true)
result["recon_per_channel"] = np.mean(recon_digits == true_digits, 0).round(4).tolist()
print(f"{len(samples)} samples, {len(recon)} reconstructions: {result}")
