"""Network builders per dataset, and the conditional samplers they share."""
from age_tf.networks import mlp
from age_tf.networks.stochastic import KINDS, StochasticNetwork

__all__ = ["KINDS", "StochasticNetwork", "mlp"]
