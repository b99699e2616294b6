"""SavedModel export with named serving signatures.

    age_tf.export.export_saved_model(model, "exports/mog", version=1)

writes ``exports/mog/1/`` (the versioned layout TensorFlow Serving expects) with
four signatures, batch-polymorphic and float32:

- ``encode``:       x [B, ...]        -> {"z": sample of p_e(z|x), "z_mean": its mean}
- ``generate``:     z [B, k]          -> {"x": sample of p_g(x|z)}
- ``reconstruct``:  x [B, ...]        -> {"x": G(E(x))}
- ``discriminate``: x [B, ...], z [B, k] -> {"logit": D(x, z), an estimate of log p_e/p_g}

``z_mean`` is the Gaussian encoder's mean; for deterministic encoders it equals
``z``, and for implicit ones it is another sample (no closed-form mean exists).

A unidirectional model (AGE-UGM, ``encoder=None``) has no encoder: it is
exported with ``generate`` and ``discriminate`` (x [B, ...] -> {"logit": D(x)})
only, and a log line says so.
"""

from __future__ import annotations

import logging
import os
from typing import Optional

import keras
import tensorflow as tf


def data_shape(model) -> tuple:
    """Shape of one data example, read from the discriminator's x input."""
    return tuple(model.discriminator.inputs[0].shape[1:])


def export_saved_model(model, export_dir: str, version: Optional[int] = None) -> str:
    """Writes ``export_dir/<version>`` and returns that path.

    ``version`` defaults to one more than the largest existing numeric version;
    one given must be a non-negative integer (2.0 counts as 2; 1.5, "v2" or True
    raise ValueError rather than being truncated to another version). An existing
    version directory is never overwritten. The SavedModel is written to
    ``<version>.partial`` and renamed: a leftover ``.partial`` of an interrupted
    export is removed first, so nothing of it mixes into the new one.
    """
    import shutil

    export_dir = os.path.abspath(export_dir)
    if version is None:
        existing = [int(d) for d in os.listdir(export_dir) if d.isdigit()] if os.path.isdir(export_dir) else []
        version = max(existing, default=0) + 1
    number = version.item() if hasattr(version, "item") else version  # a NumPy integer
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        raise ValueError(f"version must be a non-negative integer, got {version!r}.")
    path = os.path.join(export_dir, str(number))
    if os.path.exists(path):
        raise ValueError(f"{path} already exists; choose another version (existing exports are kept).")

    x_spec = tf.TensorSpec((None, *data_shape(model)), tf.float32, name="x")
    z_spec = tf.TensorSpec((None, model.latent_dim), tf.float32, name="z")

    def encode(x):
        return {
            "z": tf.cast(model.encoder(x, training=False), tf.float32),
            "z_mean": tf.cast(model.encode(x, mean=True), tf.float32),
        }

    def generate(z):
        return {"x": tf.cast(model.generator(z, training=False), tf.float32)}

    def reconstruct(x):
        return {"x": tf.cast(model.generator(model.encoder(x, training=False), training=False), tf.float32)}

    def discriminate(x, z):
        return {"logit": tf.cast(model.discriminator([x, z], training=False), tf.float32)}

    def discriminate_x(x):
        return {"logit": tf.cast(model.discriminator(x, training=False), tf.float32)}

    archive = keras.export.ExportArchive()
    archive.track(model)
    if getattr(model, "encoder", None) is None:
        logging.getLogger(__name__).warning(
            "%s has no encoder (AGE-UGM): exporting the generate and discriminate signatures only, "
            "without encode and reconstruct.", model.name,
        )
        archive.add_endpoint("generate", generate, input_signature=[z_spec])
        archive.add_endpoint("discriminate", discriminate_x, input_signature=[x_spec])
    else:
        archive.add_endpoint("encode", encode, input_signature=[x_spec])
        archive.add_endpoint("generate", generate, input_signature=[z_spec])
        archive.add_endpoint("reconstruct", reconstruct, input_signature=[x_spec])
        archive.add_endpoint("discriminate", discriminate, input_signature=[x_spec, z_spec])
    os.makedirs(export_dir, exist_ok=True)
    tmp = path + ".partial"
    if os.path.isdir(tmp) and not os.path.islink(tmp):
        shutil.rmtree(tmp)  # what an interrupted export of this version left
    elif os.path.lexists(tmp):
        os.remove(tmp)
    archive.write_out(tmp, verbose=False)
    os.replace(tmp, path)  # a crash mid-write never leaves a half version behind
    return path
