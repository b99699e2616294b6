"""Floating-point operation counts of the networks and of one AGE iteration.

Counted from the layer shapes, not measured: only the multiply-adds of dense
and convolution layers (two FLOPs each), which dominate every network of the
paper; bias additions, activations, batch norm and the optimizer's updates are
left out (under 2% for the networks of Appendix E).

- Dense: 2 * inputs * units per example.
- Conv2D: 2 * H_out * W_out * k_h * k_w * C_in * C_out per example.
- Conv2DTranspose: 2 * H_in * W_in * k_h * k_w * C_in * C_out per example
  (each input pixel is scattered through the whole kernel).

A backward pass that computes the gradients with respect to both the weights
and the inputs costs twice the forward pass (two products of the same size per
layer); one that computes only the input gradients costs as much as the
forward pass. With n examples per minibatch, one iteration of Algorithm 1 is

- each of the d_steps discriminator steps: E and G forward on n examples,
  D forward and backward (weights and inputs) on 2n pairs:
  n (F_E + F_G) + 3 * 2n F_D;
- the encoder/generator step: E and G forward and backward, D forward and
  backward to its inputs only (its weights are fixed):
  3 n (F_E + F_G) + 2 * 2n F_D.
"""

from __future__ import annotations

import math

import keras


def _leaf_layers(model):
    """Every layer nested in ``model`` (functional, sequential or subclassed)."""
    return [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if not list(layer._flatten_layers(include_self=False, recursive=False))
    ]


def _spatial(shape):
    return math.prod(int(d) for d in shape[1:-1])


def layer_flops(layer) -> int:
    """Forward FLOPs per example of one dense or convolution layer (else 0)."""
    if isinstance(layer, keras.layers.Dense):
        fan_in, units = layer.kernel.shape
        return 2 * int(fan_in) * int(units)
    if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
        k_h, k_w = layer.kernel_size
        if isinstance(layer, keras.layers.Conv2DTranspose):
            # kernel [k_h, k_w, C_out, C_in]; every input pixel meets the whole kernel.
            positions = _spatial(layer.input.shape)
        else:
            # kernel [k_h, k_w, C_in / groups, C_out]; every output pixel does.
            positions = _spatial(layer.output.shape)
        return 2 * positions * k_h * k_w * int(layer.kernel.shape[2]) * int(layer.kernel.shape[3])
    return 0


def forward_flops(model) -> int:
    """Forward FLOPs per example of a built Keras model."""
    if not model.built:
        raise ValueError(f"Build {model.name!r} (call it once) before counting its FLOPs.")
    return sum(layer_flops(layer) for layer in _leaf_layers(model))


def age_iteration_flops(encoder, generator, discriminator, batch_size: int, d_steps: int) -> int:
    """FLOPs of one iteration of Algorithm 1 (d_steps D steps and one E/G step)."""
    f_e, f_g, f_d = forward_flops(encoder), forward_flops(generator), forward_flops(discriminator)
    n = int(batch_size)
    d_step = n * (f_e + f_g) + 3 * 2 * n * f_d
    eg_step = 3 * n * (f_e + f_g) + 2 * 2 * n * f_d
    return int(d_steps) * d_step + eg_step
