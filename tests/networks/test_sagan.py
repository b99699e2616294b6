"""Table 11 and Figures 7-8 at reduced width: shapes, spectral norm, noise, one logit per example."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import age_tf
from age_tf.networks import resnet_encoder, sagan
from age_tf.networks.noise import NoiseInjection
from age_tf.networks.spectral_norm import SpectralNorm

LATENT, CH = 8, 2


def all_layers(model):
    return list(model._flatten_layers(include_self=False, recursive=True))


def images(n, seed=0):
    return tf.random.uniform([n, 64, 64, 3], -1.0, 1.0, seed=seed)


def test_generator_table11_shapes_and_range():
    gen = sagan.build_generator(LATENT, CH, kind="deterministic")
    blocks = [gen.body.get_layer(n).output.shape[1:] for n in
              ("reshape", "block1_add", "block2_add", "block3_add", "attention", "block4_add", "tanh")]
    assert blocks == [(4, 4, 32), (8, 8, 32), (16, 16, 16), (32, 32, 8), (32, 32, 8), (64, 64, 4), (64, 64, 3)]
    x = gen(tf.random.normal([2, LATENT], seed=1), training=True)
    assert x.shape == (2, 64, 64, 3) and float(tf.reduce_max(tf.abs(x))) <= 1.0


def test_every_kernel_of_g_and_d_is_spectrally_normalized():
    nets = (sagan.build_generator(LATENT, CH), sagan.build_discriminator(LATENT, CH, feature_units=8))
    for net in nets:
        layers = all_layers(net)
        wrapped = {id(l.layer) for l in layers if isinstance(l, SpectralNorm)}
        kernels = [l for l in layers if isinstance(l, (keras.layers.Conv2D, keras.layers.Dense))]
        assert kernels and all(id(l) in wrapped for l in kernels), net.name
    # Including the attention block's 1x1 convolutions.
    attention = nets[1].get_layer("dx_attention")
    assert all(isinstance(getattr(attention, n), SpectralNorm) for n in ("query", "key", "value", "out"))


def test_discriminator_kernels_reach_spectral_norm_one_in_training():
    keras.utils.set_random_seed(0)
    d = sagan.build_discriminator(LATENT, CH, feature_units=8)
    inputs = [images(2), tf.random.normal([2, LATENT], seed=1)]
    for _ in range(15):
        d(inputs, training=True)
    for layer in all_layers(d):
        if isinstance(layer, SpectralNorm):
            matrix = layer.normalized_kernel().numpy().reshape(-1, layer.layer.kernel.shape[-1])
            assert np.linalg.svd(matrix, compute_uv=False)[0] == pytest.approx(1.0, abs=0.02), layer.name


def test_implicit_generator_noise_starts_silent_and_acts_once_scaled():
    gen = sagan.build_generator(LATENT, CH, kind="implicit", seed=0)
    noise = [l for l in gen.body.layers if isinstance(l, NoiseInjection)]
    # Appendix C: every layer but the image, i.e. the linear layer and each 3x3 conv of the blocks.
    assert [l.scale.shape for l in noise] == [
        (4, 4, 32), (8, 8, 32), (8, 8, 32), (16, 16, 16), (16, 16, 16),
        (32, 32, 8), (32, 32, 8), (64, 64, 4), (64, 64, 4),
    ]
    assert len({l.seed for l in noise}) == len(noise)
    z = tf.random.normal([2, LATENT], seed=1)
    # Zero scales: no noise yet. (In training mode the power iteration of spectral
    # norm also moves sigma a little between calls.)
    np.testing.assert_array_equal(gen(z), gen(z))
    np.testing.assert_allclose(gen(z, training=True), gen(z, training=True), atol=1e-4)
    for layer in noise:
        layer.scale.assign(tf.fill(layer.scale.shape, 0.5))
    assert np.max(np.abs(gen(z, training=True) - gen(z, training=True))) > 0.05

    deterministic = sagan.build_generator(LATENT, CH, kind="deterministic")
    assert not any(isinstance(l, NoiseInjection) for l in deterministic.body.layers)
    np.testing.assert_array_equal(deterministic(z), deterministic(z))
    np.testing.assert_allclose(deterministic(z, training=True), deterministic(z, training=True), atol=1e-4)


def test_gaussian_generator_is_refused():
    with pytest.raises(ValueError, match="Gaussian generator is not offered"):
        sagan.build_generator(kind="gaussian")


@pytest.mark.parametrize("batch", [1, 3])
def test_joint_discriminator_gives_one_logit_per_example(batch):
    # The authors' code adds a [B] score to [B, 1] scores and gets [B, B].
    d = sagan.build_discriminator(LATENT, CH, feature_units=8)
    logits = d([images(batch), tf.random.normal([batch, LATENT], seed=2)])
    assert logits.shape == (batch,)
    x_only = sagan.build_discriminator(LATENT, CH, joint=False)
    assert len(x_only.inputs) == 1 and x_only(images(batch)).shape == (batch,)


def test_each_logit_depends_only_on_its_own_example():
    keras.utils.set_random_seed(0)
    d = sagan.build_discriminator(LATENT, CH, feature_units=8)
    d.get_layer("dx_attention").gamma.assign(1.0)  # let attention act
    x, z = images(3, seed=3), tf.random.normal([3, LATENT], seed=4)
    batched = d([x, z]).numpy()
    alone = [d([x[i : i + 1], z[i : i + 1]]).numpy()[0] for i in range(3)]
    np.testing.assert_allclose(batched, alone, rtol=1e-4, atol=1e-5)
    changed = d([tf.concat([x[:1], -x[1:2], x[2:]], 0), z]).numpy()
    np.testing.assert_allclose(changed[[0, 2]], batched[[0, 2]], rtol=1e-4, atol=1e-5)
    assert abs(changed[1] - batched[1]) > 1e-6


def test_discriminator_modules_and_widths():
    d = sagan.build_discriminator(LATENT, CH)
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in all_layers(d))
    assert d.get_layer("dx_features").output.shape[-1] == 16 * CH
    dz_width = {l.layer.units for l in all_layers(d) if isinstance(l, keras.layers.Wrapper)
                and l.name.startswith("dz_") and l.name != "dz_score"}
    assert dz_width == {16 * CH}  # feature_units defaults to the width of f_x
    assert d.get_layer("dxz_concat").output.shape[-1] == 32 * CH
    narrow = sagan.build_discriminator(LATENT, CH, feature_units=5)
    assert narrow.get_layer("dxz_concat").output.shape[-1] == 16 * CH + 5


def test_presets():
    assert sagan.PRESETS["celeba"] == dict(latent_dim=100, ch=32, mlp_units=1024)
    assert sagan.PRESETS["imagenet"] == dict(latent_dim=140, ch=64, mlp_units=2048)
    assert sagan.preset("CelebA")["ch"] == 32
    with pytest.raises(ValueError, match="Unknown preset 'lsun'. Available: celeba, imagenet"):
        sagan.preset("lsun")


def test_keras_file_round_trip_keeps_outputs(tmp_path):
    keras.utils.set_random_seed(0)
    gen = sagan.build_generator(LATENT, CH, kind="implicit", seed=0)
    d = sagan.build_discriminator(LATENT, CH, feature_units=8)
    d.get_layer("dx_attention").gamma.assign(0.5)
    z, x = tf.random.normal([2, LATENT], seed=5), images(2, seed=6)
    for net, inputs in ((gen, z), (d, [x, z])):
        path = str(tmp_path / f"{net.name}.keras")
        net.save(path)
        loaded = keras.models.load_model(path)
        np.testing.assert_allclose(loaded(inputs), net(inputs), rtol=1e-5, atol=1e-6)


def tiny_model(method):
    keras.utils.set_random_seed(0)
    model = age_tf.AGE(
        resnet_encoder.build_encoder(LATENT, mlp_units=16, backbone="small", seed=1),
        sagan.build_generator(LATENT, CH, seed=2),
        sagan.build_discriminator(LATENT, CH, feature_units=8),
        divergence="all", method=method, d_steps=1, seed=0,
    )
    model.compile()
    return model


@pytest.mark.parametrize("method", ["age", "hinge"])
def test_one_training_step_on_64x64_images(method):
    model = tiny_model(method)
    nets = (model.encoder, model.generator, model.discriminator)
    before = [[v.numpy().copy() for v in net.trainable_variables] for net in nets]
    logs = model.train_step(images(4, seed=7))  # d_steps=1: two minibatches of 2
    assert all(np.isfinite(float(v)) for v in logs.values())
    for net, old in zip(nets, before):
        assert any(not np.allclose(b, v.numpy()) for b, v in zip(old, net.trainable_variables)), net.name
