"""Network builders per dataset, and the conditional samplers they share."""
# Importing every module registers its custom layers, so that saved models load
# after a plain `import age_tf`.
from age_tf.networks import dcgan, fused_layers, mlp, noise, resnet_encoder, sagan, spectral_norm, stacked_mnist
from age_tf.networks.stochastic import KINDS, StochasticNetwork

__all__ = [
    "KINDS", "StochasticNetwork", "dcgan", "fused_layers", "mlp", "noise", "resnet_encoder", "sagan", "spectral_norm",
    "stacked_mnist",
]
