"""Writes MNIST digits out as a folder of PNG files, one subfolder per class: a stand-in for your own images.

    python -m experiments.own_data.make_mnist_folder --output_dir=data/mnist_png --num_images=10000

The first ``--num_images`` digits of MNIST's training split go to
``<output_dir>/<digit>/<index>.png`` as 28x28 grayscale PNGs, exactly as they are
in the IDX files. The image entry point then reads the folder like any other:
it converts the grayscale to RGB, resizes to 32x32 and uses the subfolders as
labels for the encoder's metrics. The folder must not exist yet (or be empty),
so that it holds these images and nothing else.
"""

from __future__ import annotations

import os
import sys

from absl import app, flags

flags.DEFINE_string("mnist_dir", "../shared/data/mnist", "Folder with MNIST's four IDX files.")
flags.DEFINE_string("output_dir", "data/mnist_png", "Folder to create; one subfolder per digit.")
flags.DEFINE_integer("num_images", 10_000, "How many digits to write, from the start of the training split.",
                     lower_bound=1, upper_bound=60_000)
FLAGS = flags.FLAGS


def main(argv):
    del argv
    from age_tf.data import mnist

    try:
        split = mnist.load_mnist(FLAGS.mnist_dir, "train")
    except mnist.MnistError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if os.path.exists(FLAGS.output_dir) and (not os.path.isdir(FLAGS.output_dir) or os.listdir(FLAGS.output_dir)):
        print(f"error: {FLAGS.output_dir} already exists and is not an empty folder; choose a new --output_dir.",
              file=sys.stderr)
        return 2
    import tensorflow as tf

    partial = FLAGS.output_dir.rstrip("/") + ".partial"
    for digit in range(10):
        os.makedirs(os.path.join(partial, str(digit)), exist_ok=True)
    for index in range(FLAGS.num_images):
        png = tf.io.encode_png(split.images[index][..., None]).numpy()
        with open(os.path.join(partial, str(int(split.labels[index])), f"{index:05d}.png"), "wb") as out:
            out.write(png)
    if os.path.isdir(FLAGS.output_dir):
        os.rmdir(FLAGS.output_dir)
    os.replace(partial, FLAGS.output_dir)  # the folder appears whole or not at all
    print(f"Wrote {FLAGS.num_images:,} PNGs of 28x28 grayscale digits to {FLAGS.output_dir}/<digit>/.")
    return 0


if __name__ == "__main__":
    app.run(main)
