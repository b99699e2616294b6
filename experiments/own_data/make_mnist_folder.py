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

FLAGS = flags.FLAGS


def define_flags():
    """The flags, defined only when run as a program (so that importing this module defines none)."""
    flags.DEFINE_string("mnist_dir", "../shared/data/mnist", "Folder with MNIST's four IDX files.")
    flags.DEFINE_string("output_dir", "data/mnist_png", "Folder to create; one subfolder per digit.")
    flags.DEFINE_integer("num_images", 10_000, "How many digits to write, from the start of the training split.",
                         lower_bound=1, upper_bound=60_000)


def write_folder(images, labels, output_dir: str) -> str:
    """Writes each uint8 [28, 28] image to ``output_dir/<label>/<index>.png``, through ``output_dir.partial`` and
    one rename, so the folder appears whole or not at all."""
    import tensorflow as tf

    partial = output_dir.rstrip("/") + ".partial"
    for label in sorted(set(int(label) for label in labels)):
        os.makedirs(os.path.join(partial, str(label)), exist_ok=True)
    for index, (image, label) in enumerate(zip(images, labels)):
        png = tf.io.encode_png(image[..., None]).numpy()
        with open(os.path.join(partial, str(int(label)), f"{index:05d}.png"), "wb") as out:
            out.write(png)
    if os.path.isdir(output_dir):
        os.rmdir(output_dir)  # empty, as main checked
    os.replace(partial, output_dir)
    return output_dir


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
    count = min(FLAGS.num_images, len(split.images))
    write_folder(split.images[:count], split.labels[:count], FLAGS.output_dir)
    print(f"Wrote {count:,} PNGs of 28x28 grayscale digits to {FLAGS.output_dir}/<digit>/.")
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
