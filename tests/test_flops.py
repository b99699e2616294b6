"""FLOP counts from layer shapes, against hand computations."""

import keras
import pytest

from age_tf import flops
from age_tf.networks import mlp, stacked_mnist


def test_dense_stack_counts_two_flops_per_multiply_add():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5), keras.layers.ReLU(), keras.layers.Dense(2)])
    assert flops.forward_flops(model) == 2 * (3 * 5 + 5 * 2)


def test_conv_counts_output_positions_and_transposed_conv_input_positions():
    x = keras.Input((8, 8, 2))
    h = keras.layers.Conv2D(4, 3, strides=2, padding="same")(x)          # 4x4 outputs
    y = keras.layers.Conv2DTranspose(6, 5, strides=2, padding="same")(h)  # from 4x4 inputs
    model = keras.Model(x, y)
    assert flops.forward_flops(model) == 2 * 16 * 9 * 2 * 4 + 2 * 16 * 25 * 4 * 6


def test_nested_stochastic_network_is_counted_through_its_body():
    # Appendix E.1 encoder: 2 -> 500 -> 500 -> 500 -> 2 (Gaussian head: 4 outputs).
    assert flops.forward_flops(mlp.build_encoder(kind="gaussian")) == 2 * (2 * 500 + 2 * 500 * 500 + 500 * 4)


def test_iteration_formula_matches_the_issue_counts():
    # 9 Gaussians, batch 800, 30 D steps: the issue's "about 275 GFLOP".
    e, g, d = mlp.build_encoder(kind="gaussian"), mlp.build_generator(kind="gaussian"), mlp.build_discriminator()
    f_e, f_g, f_d = 1_006_000, 506_000, 1_605_600
    assert [flops.forward_flops(m) for m in (e, g, d)] == [f_e, f_g, f_d]
    expected = 30 * (800 * (f_e + f_g) + 6 * 800 * f_d) + 3 * 800 * (f_e + f_g) + 4 * 800 * f_d
    assert flops.age_iteration_flops(e, g, d, 800, 30) == expected
    assert expected / 1e9 == pytest.approx(276.3, abs=0.1)


def test_stacked_mnist_generator_by_hand():
    # FC 8 -> 4096, ConvT 5x5 from 4x4x256 to 128, from 7x7x128 to 64, from 14x14x64 to 3.
    expected = 2 * (8 * 4096 + 16 * 25 * 256 * 128 + 49 * 25 * 128 * 64 + 196 * 25 * 64 * 3)
    assert flops.forward_flops(stacked_mnist.build_generator()) == expected


def test_unbuilt_model_is_refused_with_a_hint():
    with pytest.raises(ValueError, match="Build"):
        flops.forward_flops(keras.Sequential([keras.layers.Dense(2)]))
