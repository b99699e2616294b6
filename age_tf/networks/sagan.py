"""SAGAN generator and joint discriminator for 64x64 images (Appendix E.3).

Generator (Table 11a, Figure 8a; batch norm, spectral norm):
z in R^k -> Linear 4x4x16ch -> ResBlock up 16ch->16ch (8x8) -> 16ch->8ch (16x16)
-> 8ch->4ch (32x32) -> Non-Local block -> ResBlock up 4ch->2ch (64x64) -> BN, ReLU,
3x3 conv 2ch->3, tanh. A ResBlock up is BN, ReLU, 2x nearest-neighbour upsampling,
3x3 conv, BN, ReLU, 3x3 conv, plus an upsampled 1x1-conv shortcut. The implicit
generator (Appendix C) adds a single-channel noise map, with zero-initialised
per-pixel and per-channel scales, after the linear layer and after every 3x3
convolution of the ResBlocks: every layer but the final image.

Discriminator (Figure 7): D_x is the SAGAN discriminator of Table 11b (a 1x1
conv 3->ch, so that the first ResBlock down maps ch->2ch as the table writes;
ResBlock down ch->2ch (32x32) -> Non-Local block -> 2ch->4ch -> 4ch->8ch ->
8ch->16ch (4x4) -> ResBlock 16ch->16ch -> ReLU, global average pooling = f_x ->
Linear 1 = s_x). D_z maps z to features f_z and a score s_z; D_xz maps
concat(f_x, f_z) to s_xz; D(x, z) = (s_x + s_z + s_xz) / 3, one logit per
example. Spectral norm on every convolution and linear layer, no batch norm.

D_z and D_xz are not specified in the paper. They follow the authors' code: a
spectrally normalized linear layer with ReLU, then three residual blocks
(linear, ReLU, linear, skip, ReLU), then a linear score; f_z is the output of
the blocks. Their width ``feature_units`` defaults to 16ch, the width of f_x,
which is the authors' ``--dis_fc_size`` for both datasets (512 for CelebA at
ch=32, 1024 for ImageNet at ch=64).

Both Non-Local blocks sit at 32x32, where Table 11 places them (after the third
ResBlock up of G and the first ResBlock down of D); the table's "(64x64)" names
the image size, as in the authors' code.

Other choices: global *average* pooling as Table 11 says (the authors' code
sums, which scales s_x by 16); orthogonal initialisation of every spectrally
normalized layer (SAGAN, BigGAN and the authors' code); the project's batch norm
(momentum 0.9, synchronized across replicas) in G, where the authors' final BN
uses PyTorch momentum 1e-4.

Reference: Shen, Zhang and Chen, Appendix C, Appendix E.3, Table 11 and
Figures 7-8; Zhang, Goodfellow, Metaxas and Odena, "Self-Attention Generative
Adversarial Networks" (2019).
"""

from __future__ import annotations

import itertools
from typing import Optional

import keras
import tensorflow as tf

from age_tf.networks import fused_layers
from age_tf.networks.noise import NoiseInjection
from age_tf.networks.spectral_norm import SpectralNorm
from age_tf.networks.stochastic import StochasticNetwork, validate_kind

IMAGE_SHAPE = (64, 64, 3)

# Appendix E.3 and Table 11: k and ch per dataset, and the encoder's MLP width.
PRESETS = {
    "celeba": dict(latent_dim=100, ch=32, mlp_units=1024),
    "imagenet": dict(latent_dim=140, ch=64, mlp_units=2048),
}

_MLP_RESIDUAL_BLOCKS = 3


def preset(name: str) -> dict:
    """The settings of one dataset, e.g. ``preset("celeba")["ch"] == 32``."""
    key = str(name).strip().lower()
    if key not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}. Available: {', '.join(PRESETS)}.")
    return dict(PRESETS[key])


def _sn_conv(filters: int, kernel_size: int, name: str, use_bias: bool = True) -> SpectralNorm:
    conv = keras.layers.Conv2D(
        filters, kernel_size, padding="same", use_bias=use_bias,
        kernel_initializer="orthogonal", name=f"{name}_conv",
    )
    return SpectralNorm(conv, name=name)


def _sn_dense(units: int, name: str) -> SpectralNorm:
    dense = keras.layers.Dense(units, kernel_initializer="orthogonal", name=f"{name}_dense")
    return SpectralNorm(dense, name=name)


@keras.saving.register_keras_serializable(package="age_tf")
class SelfAttention(keras.layers.Layer):
    """SAGAN's Non-Local block: x + gamma * attention(x), gamma starting at zero.

    Queries, keys and values are spectrally normalized 1x1 convolutions with
    C/8, C/8 and C/2 channels (at least 1, for the tiny widths of tests); keys
    and values are 2x2 max-pooled, as in SAGAN. Attention runs over the
    positions of one example only.

    Example:
        >>> SelfAttention()(tf.zeros([2, 8, 8, 16])).shape
        TensorShape([2, 8, 8, 16])

    Reference: Zhang et al., "Self-Attention Generative Adversarial Networks"
    (2019), Section 3; Shen, Zhang and Chen, Table 11.
    """

    def build(self, input_shape):
        channels = int(input_shape[-1])
        key_channels, value_channels = max(channels // 8, 1), max(channels // 2, 1)
        self.query = _sn_conv(key_channels, 1, "query", use_bias=False)
        self.key = _sn_conv(key_channels, 1, "key", use_bias=False)
        self.value = _sn_conv(value_channels, 1, "value", use_bias=False)
        self.out = _sn_conv(channels, 1, "out", use_bias=False)
        for layer in (self.query, self.key, self.value):
            layer.build(input_shape)
        self.out.build((*input_shape[:-1], value_channels))
        # Zero: the block starts as the identity and learns how much to attend.
        self.gamma = self.add_weight(shape=(), initializer="zeros", name="gamma")

    def call(self, inputs, training=False):
        shape = tf.shape(inputs)
        batch = shape[0]

        def flat(t):
            return tf.reshape(t, [batch, -1, t.shape[-1]])

        def pooled(t):
            return tf.nn.max_pool2d(t, 2, 2, "VALID")

        query = flat(self.query(inputs, training=training))
        key = flat(pooled(self.key(inputs, training=training)))
        value = flat(pooled(self.value(inputs, training=training)))
        logits = tf.matmul(query, key, transpose_b=True)  # [batch, positions, positions / 4]
        # Softmax in float32: float16 logits can overflow under mixed precision.
        attention = tf.cast(tf.nn.softmax(tf.cast(logits, tf.float32)), value.dtype)
        attended = tf.reshape(
            tf.matmul(attention, value), [batch, shape[1], shape[2], value.shape[-1]]
        )
        attended = self.out(attended, training=training)
        return inputs + tf.cast(self.gamma, inputs.dtype) * attended

    def compute_output_shape(self, input_shape):
        return input_shape


# -- Generator (Table 11a, Figure 8a) -------------------------------------------------


def _resblock_up(h, filters: int, name: str, add_noise):
    shortcut = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_up_shortcut")(h)
    shortcut = _sn_conv(filters, 1, f"{name}_shortcut")(shortcut)
    h = fused_layers.batch_norm(name=f"{name}_bn1")(h)
    h = keras.layers.ReLU(name=f"{name}_relu1")(h)
    h = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_up")(h)
    h = add_noise(_sn_conv(filters, 3, f"{name}_conv1")(h), f"{name}_noise1")
    h = fused_layers.batch_norm(name=f"{name}_bn2")(h)
    h = keras.layers.ReLU(name=f"{name}_relu2")(h)
    h = add_noise(_sn_conv(filters, 3, f"{name}_conv2")(h), f"{name}_noise2")
    return keras.layers.Add(name=f"{name}_add")([h, shortcut])


def build_generator(
    latent_dim: int = 100, ch: int = 32, kind: str = "implicit", seed: Optional[int] = None
) -> StochasticNetwork:
    """G(z, eps) of Table 11a, 64x64x3 in [-1, 1].

    Args:
        latent_dim: k, the size of z (100 for CelebA, 140 for ImageNet).
        ch: base width (32 for CelebA, 64 for ImageNet).
        kind: ``implicit`` (per-layer noise maps, Appendix C) or
            ``deterministic``; ``gaussian`` is refused (Appendix C).
        seed: integer seed of the noise maps (map i uses seed * 100 + i).

    Example:
        >>> gen = build_generator(latent_dim=8, ch=2)
        >>> gen(tf.zeros([2, 8])).shape
        TensorShape([2, 64, 64, 3])
    """
    validate_kind(kind)
    if kind == "gaussian":
        raise ValueError(
            "A Gaussian generator is not offered for images (Appendix C argues against it); "
            "use kind='implicit' or 'deterministic'."
        )
    noise_index = itertools.count()

    def add_noise(h, name):
        if kind != "implicit":
            return h
        layer_seed = None if seed is None else seed * 100 + next(noise_index)
        return NoiseInjection(seed=layer_seed, name=name)(h)

    z = keras.Input((latent_dim,), name="z")
    h = _sn_dense(4 * 4 * 16 * ch, "linear")(z)
    h = keras.layers.Reshape((4, 4, 16 * ch), name="reshape")(h)
    h = add_noise(h, "linear_noise")
    h = _resblock_up(h, 16 * ch, "block1", add_noise)
    h = _resblock_up(h, 8 * ch, "block2", add_noise)
    h = _resblock_up(h, 4 * ch, "block3", add_noise)
    h = SelfAttention(name="attention")(h)
    h = _resblock_up(h, 2 * ch, "block4", add_noise)
    h = fused_layers.batch_norm(name="out_bn")(h)
    h = keras.layers.ReLU(name="out_relu")(h)
    x = _sn_conv(3, 3, "to_rgb")(h)
    x = keras.layers.Activation("tanh", name="tanh")(x)
    body = keras.Model(z, x, name="generator_body")
    return StochasticNetwork(body, kind=kind, seed=seed, name="generator")


# -- Discriminator (Figure 7, Table 11b, Figure 8b) -----------------------------------


def _resblock_down(h, filters: int, name: str, downsample: bool = True):
    shortcut = h
    if downsample or h.shape[-1] != filters:
        shortcut = _sn_conv(filters, 1, f"{name}_shortcut")(shortcut)
    if downsample:
        shortcut = keras.layers.AveragePooling2D(2, name=f"{name}_pool_shortcut")(shortcut)
    h = keras.layers.ReLU(name=f"{name}_relu1")(h)
    h = _sn_conv(filters, 3, f"{name}_conv1")(h)
    h = keras.layers.ReLU(name=f"{name}_relu2")(h)
    h = _sn_conv(filters, 3, f"{name}_conv2")(h)
    if downsample:
        h = keras.layers.AveragePooling2D(2, name=f"{name}_pool")(h)
    return keras.layers.Add(name=f"{name}_add")([h, shortcut])


def _image_module(x, ch: int):
    """D_x: (f_x, s_x) of Table 11b."""
    h = _sn_conv(ch, 1, "dx_from_rgb")(x)
    h = _resblock_down(h, 2 * ch, "dx_block1")
    h = SelfAttention(name="dx_attention")(h)
    h = _resblock_down(h, 4 * ch, "dx_block2")
    h = _resblock_down(h, 8 * ch, "dx_block3")
    h = _resblock_down(h, 16 * ch, "dx_block4")
    h = _resblock_down(h, 16 * ch, "dx_block5", downsample=False)
    h = keras.layers.ReLU(name="dx_relu")(h)
    features = keras.layers.GlobalAveragePooling2D(name="dx_features")(h)
    return features, _sn_dense(1, "dx_score")(features)


def _mlp_module(h, units: int, name: str):
    """D_z or D_xz: (features, score) from a residual MLP."""
    h = keras.layers.ReLU(name=f"{name}_relu_in")(_sn_dense(units, f"{name}_in")(h))
    for i in range(_MLP_RESIDUAL_BLOCKS):
        r = keras.layers.ReLU(name=f"{name}_res{i}_relu")(_sn_dense(units, f"{name}_res{i}_a")(h))
        r = _sn_dense(units, f"{name}_res{i}_b")(r)
        h = keras.layers.ReLU(name=f"{name}_res{i}_out")(keras.layers.Add(name=f"{name}_res{i}_add")([h, r]))
    return h, _sn_dense(1, f"{name}_score")(h)


def build_discriminator(
    latent_dim: int = 100, ch: int = 32, joint: bool = True, feature_units: Optional[int] = None
) -> keras.Model:
    """D(x, z) of Figure 7 (inputs ``[x, z]``), or D(x) alone (input ``x``).

    Args:
        latent_dim: k, the size of z.
        ch: base width of D_x.
        joint: True for the bidirectional D(x, z) = (s_x + s_z + s_xz) / 3;
            False for D(x) = s_x, the discriminator of AGE-UGM (Appendix B).
        feature_units: width of D_z and D_xz; None means 16 * ch.

    Returns:
        A Keras model whose output has shape [batch] (rank 1, also for a batch
        of one): one logit, an estimate of log p_e / p_g, per example.

    Example:
        >>> d = build_discriminator(latent_dim=8, ch=2)
        >>> d([tf.zeros([3, 64, 64, 3]), tf.zeros([3, 8])]).shape
        TensorShape([3])
    """
    x = keras.Input(IMAGE_SHAPE, name="x")
    features_x, score_x = _image_module(x, ch)
    if not joint:
        logit = keras.layers.Reshape((), name="logit")(score_x)
        return keras.Model(x, logit, name="discriminator")
    units = int(feature_units or 16 * ch)
    z = keras.Input((latent_dim,), name="z")
    features_z, score_z = _mlp_module(z, units, "dz")
    joint_features = keras.layers.Concatenate(name="dxz_concat")([features_x, features_z])
    _, score_xz = _mlp_module(joint_features, units, "dxz")
    # Every score is [batch, 1]; averaging before the reshape keeps it per example
    # (the authors' code adds a squeezed [batch] score to [batch, 1] scores).
    score = keras.layers.Average(name="average")([score_x, score_z, score_xz])
    logit = keras.layers.Reshape((), name="logit")(score)
    return keras.Model([x, z], logit, name="discriminator")
