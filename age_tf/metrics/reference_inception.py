"""The Inception network of the reference FID code (Heusel et al., 2017), from a file the user gives.

Published FIDs, the paper's Table 6 among them, come from the original FID implementation
(TTUR), which reads the frozen TensorFlow graph ``classify_image_graph_def.pb`` (Inception of
2015-12-05). Keras' ``InceptionV3`` has other weights, other preprocessing and another resize,
so its FIDs rank models but cannot be compared with published ones. ``ReferenceInception``
loads that graph and feeds it as the reference code does:

- images as RGB values in [0, 255], NHWC, into the tensor ``ExpandDims:0``; the graph resizes
  them to 299x299 and normalises them itself;
- our generators' images in [-1, 1] are first quantised to the 256 levels of an 8-bit image
  (``round((x + 1) * 127.5)``), as the reference pipeline reads saved PNGs;
- the features are ``pool_3:0`` ([n, 1, 1, 2048]), flattened to [n, 2048].

Nothing is downloaded: the graph is a file the user supplies (``--fid_inception_graph``).
"""

from __future__ import annotations

import os

import tensorflow as tf

INPUT_TENSOR = "ExpandDims:0"  # the reference code's input: [n, H, W, 3] in [0, 255]
OUTPUT_TENSOR = "pool_3:0"  # its features: [n, 1, 1, 2048]
FEATURES = 2048
GRAPH_HINT = ("Give the frozen graph the reference FID code uses, classify_image_graph_def.pb from "
              "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz.")


class ReferenceGraphError(ValueError):
    """The file is not the reference FID graph."""


def to_reference_range(images) -> tf.Tensor:
    """Images in [-1, 1] -> float32 in [0, 255] on the 256 levels of an 8-bit image."""
    images = tf.convert_to_tensor(images, tf.float32)
    return tf.round(tf.clip_by_value((images + 1.0) * 127.5, 0.0, 255.0))


def _read_graph_def(path: str):
    if not path or not os.path.isfile(path):
        raise ReferenceGraphError(f"Reference FID graph {path!r} does not exist. {GRAPH_HINT}")
    graph_def = tf.compat.v1.GraphDef()
    try:
        with open(path, "rb") as f:
            graph_def.ParseFromString(f.read())
    except Exception as error:  # noqa: BLE001 - protobuf's DecodeError and OS errors alike
        raise ReferenceGraphError(f"{path} is not a TensorFlow GraphDef ({type(error).__name__}). {GRAPH_HINT}") from error
    names = {node.name for node in graph_def.node}
    missing = [name for name in (INPUT_TENSOR, OUTPUT_TENSOR) if name.split(":")[0] not in names]
    if missing:
        raise ReferenceGraphError(f"{path} has no tensor {' or '.join(missing)}: not the reference FID graph. {GRAPH_HINT}")
    return graph_def


class ReferenceInception:
    """The reference FID graph as a function of a batch of images in [-1, 1] -> [n, 2048]."""

    def __init__(self, path: str):
        self.path = path
        graph_def = _read_graph_def(path)

        def features(images):
            (pool,) = tf.graph_util.import_graph_def(graph_def, input_map={INPUT_TENSOR: images},
                                                     return_elements=[OUTPUT_TENSOR], name="reference_fid")
            return tf.reshape(pool, [-1, FEATURES])

        try:
            self._features = tf.compat.v1.wrap_function(features, [tf.TensorSpec([None, None, None, 3], tf.float32)])
        except (ValueError, tf.errors.OpError) as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ReferenceGraphError(f"Cannot use {path} as the reference FID graph: {first}. {GRAPH_HINT}") from error

    def __call__(self, images) -> tf.Tensor:
        """[n, 2048] features of images in [-1, 1] (any size: the graph resizes them)."""
        return self._features(to_reference_range(images))


def is_reference_graph(path: str) -> bool:
    """Whether ``path`` names a frozen graph (.pb) rather than Keras weights."""
    return str(path).endswith(".pb")
