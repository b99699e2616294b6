"""Appendix E.3 encoder: ResNet50 (or a tiny test backbone), then a residual 4-layer MLP."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import age_tf
from age_tf.networks import resnet_encoder, sagan

LATENT = 8


def dense_units(encoder):
    return [l.units for l in encoder.body.layers if isinstance(l, keras.layers.Dense)]


@pytest.mark.parametrize("kind, outputs", [("gaussian", 2 * LATENT), ("deterministic", LATENT)])
def test_small_backbone_shapes(kind, outputs):
    enc = resnet_encoder.build_encoder(LATENT, mlp_units=16, kind=kind, backbone="small", seed=0)
    assert dense_units(enc) == [16, 16, 16, outputs]  # four layers, the middle two a residual block
    assert any(isinstance(l, keras.layers.Add) for l in enc.body.layers)
    z = enc(tf.random.uniform([3, 64, 64, 3], -1, 1, seed=1), training=True)
    assert z.shape == (3, LATENT)
    assert enc.mean(tf.zeros([2, 64, 64, 3])).shape == (2, LATENT)


def test_resnet50_backbone():
    enc = resnet_encoder.build_encoder(LATENT, mlp_units=16, seed=0)
    backbone = enc.body.get_layer("resnet50")
    assert backbone.output.shape == (None, 2048) and backbone.count_params() > 2e7
    assert enc.body.output.shape[-1] == 2 * LATENT
    assert enc(tf.zeros([2, 64, 64, 3])).shape == (2, LATENT)


def test_unsupported_settings_are_refused():
    with pytest.raises(ValueError, match="Gaussian .* or deterministic"):
        resnet_encoder.build_encoder(kind="implicit")
    with pytest.raises(ValueError, match="Unknown backbone 'resnet18'. Available: resnet50, small"):
        resnet_encoder.build_encoder(backbone="resnet18")


@pytest.mark.slow  # builds ResNet-50
def test_one_age_all_step_with_the_resnet50_encoder():
    # About 13 s on 2 CPU cores, most of it building the networks.
    keras.utils.set_random_seed(0)
    model = age_tf.AGE(
        resnet_encoder.build_encoder(LATENT, mlp_units=16, seed=1),
        sagan.build_generator(LATENT, ch=2, seed=2),
        sagan.build_discriminator(LATENT, ch=2, feature_units=8),
        divergence="all", d_steps=1, seed=0,
    )
    model.compile()
    before = [v.numpy().copy() for v in model.encoder.trainable_variables]
    logs = model.train_step(tf.random.uniform([4, 64, 64, 3], -1, 1, seed=3))
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert any(not np.allclose(b, v.numpy()) for b, v in zip(before, model.encoder.trainable_variables))
