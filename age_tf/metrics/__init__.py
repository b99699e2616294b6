"""Evaluation metrics, one registry: ``compute(names, model, dataset)``."""
from age_tf.metrics import likelihood, modes
from age_tf.metrics.registry import compute, get, names, register_metric

__all__ = ["compute", "get", "likelihood", "modes", "names", "register_metric"]
