"""keras.Model subclasses: the bidirectional AGE trainer (shared by the adversarial
baselines) and the VAE baseline."""
from age_tf.models.age import AGE
from age_tf.models.vae import VAE

__all__ = ["AGE", "VAE"]
