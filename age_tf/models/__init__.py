"""keras.Model subclasses: the bidirectional AGE trainer (shared by the adversarial
baselines and AGE-UGM) and the VAE baseline; ``build`` and ``compile_with_adam`` reach
every method of ``age_tf.methods`` the same way."""
from age_tf.models.age import AGE
from age_tf.models.build import build, compile_with_adam
from age_tf.models.vae import VAE

__all__ = ["AGE", "VAE", "build", "compile_with_adam"]
