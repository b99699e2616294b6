"""age_tf: bidirectional generative modelling by adversarial gradient estimation.

Reference: Xinwei Shen, Tong Zhang and Kani Chen, "Bidirectional Generative
Modeling Using Adversarial Gradient Estimation".
"""
import os as _os

_os.environ.setdefault("KERAS_BACKEND", "tensorflow")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from age_tf import startup as _startup  # noqa: E402

# TensorFlow's native start-up lines (oneDNN, CUDA drivers, CPU features) are held
# back, so that they are not the first thing a user reads; shown if loading fails.
with _startup.native_stderr_held_back():
    import tensorflow as _tf  # noqa: E402, F401

    _tf.config.list_physical_devices()  # looks for GPUs now, while its messages are held back

from age_tf import data, divergences, losses, methods, metrics, models, networks  # noqa: E402
from age_tf.models import AGE, VAE  # noqa: E402

__version__ = "0.1.0"
__all__ = ["AGE", "VAE", "data", "divergences", "losses", "methods", "metrics", "models", "networks"]
