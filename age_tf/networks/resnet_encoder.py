"""ResNet50 encoder for 64x64 images (Appendix E.3).

"The encoder architecture is the ResNet50 followed by a 4-layer MLP (size 1024
for CelebA and 2048 for ImageNet) with skip connections after ResNet's global
average pooling layer." The MLP follows the authors' code: linear, BN, ReLU, a
residual block (linear, BN, ReLU, linear, BN, skip, ReLU), and a linear output
of 2k numbers (mean and log-variance) for a Gaussian encoder or k for a
deterministic one. Inputs are images in [-1, 1]; the ResNet is trained from
scratch (``weights=None``), so ImageNet's ``preprocess_input`` does not apply.

Batch norm: the MLP uses the project's synchronized batch norm (statistics over
the global batch under tf.distribute), but the batch norm layers inside
``keras.applications.ResNet50`` are Keras's ordinary, per-replica ones (and
keep Keras's momentum 0.99); with a small per-replica batch they see fewer
examples than the global batch.

``backbone="small"``, two strided convolutions, exists only to make tests and
smoke runs fast; no result in the paper uses it.

Reference: Shen, Zhang and Chen, Appendix E.3; He, Zhang, Ren and Sun, "Deep
Residual Learning for Image Recognition" (2016).
"""

from __future__ import annotations

from typing import Optional

import keras

from age_tf.networks import fused_layers
from age_tf.networks.stochastic import StochasticNetwork, validate_kind

BACKBONES = ("resnet50", "small")


def _backbone(name: str, image_shape) -> keras.Model:
    """Image -> pooled features."""
    if name == "resnet50":
        return keras.applications.ResNet50(
            include_top=False, weights=None, input_shape=image_shape, pooling="avg"
        )
    if name == "small":
        x = keras.Input(image_shape)
        h = x
        for filters in (16, 32):
            h = keras.layers.Conv2D(filters, 3, strides=2, padding="same", use_bias=False)(h)
            h = keras.layers.ReLU()(fused_layers.batch_norm()(h))
        return keras.Model(x, keras.layers.GlobalAveragePooling2D()(h), name="small_backbone")
    raise ValueError(f"Unknown backbone {name!r}. Available: {', '.join(BACKBONES)}.")


def _dense_bn(h, units: int, relu: bool = True):
    h = fused_layers.batch_norm()(keras.layers.Dense(units, use_bias=False)(h))
    return keras.layers.ReLU()(h) if relu else h


def _residual_mlp(h, units: int, output_dim: int):
    """Four linear layers, the middle two a residual block."""
    h = _dense_bn(h, units)
    residual = _dense_bn(_dense_bn(h, units), units, relu=False)
    h = keras.layers.ReLU()(keras.layers.Add()([h, residual]))
    return keras.layers.Dense(output_dim)(h)


def build_encoder(
    latent_dim: int = 100,
    mlp_units: int = 1024,
    kind: str = "gaussian",
    seed: Optional[int] = None,
    image_size: int = 64,
    backbone: str = "resnet50",
) -> StochasticNetwork:
    """E(x, eps): ResNet50, global average pooling, a residual MLP (Appendix E.3).

    Args:
        latent_dim: k (100 for CelebA, 140 for ImageNet).
        mlp_units: width of the MLP (1024 for CelebA, 2048 for ImageNet).
        kind: ``gaussian`` (outputs mean and log-variance, the paper's choice)
            or ``deterministic``.
        seed: integer seed of the Gaussian encoder's noise.
        image_size: height and width of the input images.
        backbone: ``resnet50``, or ``small`` for fast tests only.

    Example:
        >>> enc = build_encoder(latent_dim=8, mlp_units=16, backbone="small")
        >>> enc(tf.zeros([2, 64, 64, 3])).shape
        TensorShape([2, 8])
    """
    validate_kind(kind)
    if kind == "implicit":
        raise ValueError(
            "The image encoder is Gaussian (the paper's choice) or deterministic; "
            "use kind='gaussian' or kind='deterministic'."
        )
    image_shape = (image_size, image_size, 3)
    x = keras.Input(image_shape, name="x")
    features = _backbone(backbone, image_shape)(x)
    out = _residual_mlp(features, mlp_units, 2 * latent_dim if kind == "gaussian" else latent_dim)
    body = keras.Model(x, out, name="encoder_body")
    return StochasticNetwork(body, kind=kind, seed=seed, name="encoder")
