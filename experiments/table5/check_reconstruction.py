"""Reconstruction accuracy of a trained Stacked MNIST run, four ways (BUILD_NOTES.md, Stacked MNIST).

Restores the newest checkpoint of RUN_DIR and, on the first 1,024 evaluation images, prints the
mode accuracy and per-channel digit accuracy of: the real images, G(E(x)) with inference-mode
batch norm, with batch statistics, and from the encoder's mean. A check that a low
``recon_accuracy`` is the model's and not the metric's.

    python experiments/table5/check_reconstruction.py runs/table5_cpu/age_all_s0
"""
import sys, numpy as np
from absl import flags
from age_tf.experiments import stacked_mnist as sm
FLAGS = flags.FLAGS
run = sys.argv[1]
model, epoch = sm.load_run(run)
print("restored epoch", epoch)
from age_tf.data import mnist
from age_tf.metrics import mode_classifier, stacked_mnist as smm
data = mnist.stacked_mnist(FLAGS.mnist_dir, 1000, 2000, seed=FLAGS.data_seed)
clf = mode_classifier.load_or_train(FLAGS.mnist_dir, FLAGS.classifier_dir, seed=0).with_features()
x = data.eval_unit_range()[:1024]; true = data.eval_labels[:1024]
def acc(recon, name):
    d, _ = smm.classify_channels(clf, np.asarray(recon))
    td = smm.digits_from_modes(true)
    print(name, "mode acc", np.mean(smm.modes_from_digits(d) == true), "per-channel", np.mean(d == td, 0))
acc(x, "real images")
acc(model.reconstruct(x), "reconstruct (inference BN)")
z = model.encoder(x, training=True); acc(model.generator(z, training=True), "train-mode BN")
zm = model.encode(x, mean=True); acc(model.generate(z=zm), "encoder mean")
print("z stats", np.mean(zm, 0), np.std(zm, 0))
