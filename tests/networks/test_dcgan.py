"""The DCGAN family at 32x32 and other widths (the 28x28 preset is test_stacked_mnist's Tables 8-10)."""

import keras
import pytest
import tensorflow as tf

from age_tf.networks import dcgan, stacked_mnist


def _shapes(network, kinds):
    layers = network.body.layers if hasattr(network, "body") else network.layers
    return [tuple(layer.output.shape[1:]) for layer in layers if isinstance(layer, kinds)]


def test_32x32_doubles_4_8_16_32_with_the_width_scaled():
    generator = dcgan.build_generator(16, kind="implicit", seed=0, image_size=32, ch=16)
    assert _shapes(generator, (keras.layers.Reshape, keras.layers.Conv2DTranspose)) == [
        (4, 4, 64), (8, 8, 32), (16, 16, 16), (32, 32, 3)]
    assert generator(tf.random.normal([2, 16])).shape == (2, 32, 32, 3)
    encoder = dcgan.build_encoder(16, kind="gaussian", seed=1, image_size=32, ch=16)
    assert _shapes(encoder, keras.layers.Conv2D) == [(16, 16, 16), (8, 8, 32), (4, 4, 64)]
    assert encoder.body.output.shape[-1] == 32
    discriminator = dcgan.build_discriminator(16, image_size=32, ch=16)
    assert [layer.units for layer in discriminator.layers if isinstance(layer, keras.layers.Dense)] == [256, 1]
    assert discriminator([tf.zeros([3, 32, 32, 3]), tf.zeros([3, 16])]).shape == (3,)


def test_the_28x28_ch64_member_is_the_stacked_mnist_preset():
    for build, preset in ((dcgan.build_generator, stacked_mnist.build_generator),
                          (dcgan.build_encoder, stacked_mnist.build_encoder)):
        ours = build(8, seed=0, image_size=28, ch=64)
        assert ours.body.count_params() == preset(8, seed=0).body.count_params()
    assert (dcgan.build_discriminator(8, image_size=28, ch=64).count_params()
            == stacked_mnist.build_discriminator(8).count_params())


@pytest.mark.parametrize("size, ch, match", [(64, 64, "28 or 32"), (32, 0, "ch must be positive")])
def test_bad_sizes_are_refused(size, ch, match):
    with pytest.raises(ValueError, match=match):
        dcgan.build_discriminator(8, image_size=size, ch=ch)
