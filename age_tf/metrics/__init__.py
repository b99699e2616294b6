"""Evaluation metrics, one registry: ``compute(names, model, dataset, **options)``; each
metric receives the options it declares (``options(name)``)."""
from age_tf.metrics import inception, likelihood, manifold, modes, representation, stacked_mnist
from age_tf.metrics.registry import compute, get, meaning, names, options, register_metric

__all__ = ["compute", "get", "inception", "meaning", "likelihood", "manifold", "modes", "names", "options", "register_metric", "representation",
           "stacked_mnist"]
