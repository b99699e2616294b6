"""age_tf: bidirectional generative modelling by adversarial gradient estimation.

Reference: Xinwei Shen, Tong Zhang and Kani Chen, "Bidirectional Generative
Modeling Using Adversarial Gradient Estimation".
"""
import os as _os

_os.environ.setdefault("KERAS_BACKEND", "tensorflow")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from age_tf import data, divergences, losses, methods, metrics, networks  # noqa: E402
from age_tf.models import AGE, VAE  # noqa: E402

__version__ = "0.1.0"
__all__ = ["AGE", "VAE", "data", "divergences", "losses", "methods", "metrics", "networks"]
