"""Evaluation metrics, one registry: ``compute(names, model, dataset)``."""
from age_tf.metrics import inception, likelihood, modes, stacked_mnist
from age_tf.metrics.registry import compute, get, names, register_metric

__all__ = ["compute", "get", "inception", "likelihood", "modes", "names", "register_metric", "stacked_mnist"]
