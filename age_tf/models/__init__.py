"""keras.Model subclasses: the bidirectional AGE trainer (and its baselines)."""
from age_tf.models.age import AGE

__all__ = ["AGE"]
