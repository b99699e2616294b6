"""The own-data README picture: a run's final samples and reconstructions side by side, upscaled 2x.

    python -m experiments.own_data.figure --run_dir=runs/folder_32_cpu --output=experiments/own_data/folder_32_cpu.png

Left: 64 samples G(z) (``views/final_samples.png``); right: 32 held-out images, each followed by its
reconstruction G(E(x)) (``views/final_reconstructions.png``).
"""

from __future__ import annotations

import os

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS
GAP = 12  # white pixels between the two grids



def define_flags():
    """The flags, defined only when run as a program (so that importing this module defines none)."""
    flags.DEFINE_string("run_dir", "runs/folder_32_cpu", "A finished run directory of the image entry point.")
    flags.DEFINE_string("output", "experiments/own_data/folder_32_cpu.png", "Where to write the PNG.")


def main(argv):
    del argv
    import tensorflow as tf

    grids = [tf.io.decode_png(tf.io.read_file(os.path.join(FLAGS.run_dir, "views", f"final_{name}.png")), 3).numpy()
             for name in ("samples", "reconstructions")]
    height = max(grid.shape[0] for grid in grids)
    padded = [np.pad(grid, ((0, height - grid.shape[0]), (0, 0), (0, 0)), constant_values=255) for grid in grids]
    canvas = np.concatenate([padded[0], np.full((height, GAP, 3), 255, np.uint8), padded[1]], axis=1)
    canvas = canvas.repeat(2, axis=0).repeat(2, axis=1)
    tf.io.write_file(FLAGS.output, tf.io.encode_png(canvas))
    print(f"Wrote {FLAGS.output} ({canvas.shape[1]}x{canvas.shape[0]}).")


if __name__ == "__main__":
    define_flags()
    app.run(main)
