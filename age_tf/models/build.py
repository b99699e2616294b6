"""Every method of ``age_tf.methods`` reached the same way: its model, then its optimizers."""

from __future__ import annotations

from typing import Optional

import keras

from age_tf import methods, optimizers
from age_tf.models.age import AGE
from age_tf.models.vae import VAE


def build(method: str, encoder, generator, discriminator=None, *, divergence: str = "kl",
          scale_clip: Optional[float] = None, d_steps: int = 1, seed: Optional[int] = None,
          prior: str = "normal") -> keras.Model:
    """The model that trains ``method``: ``VAE`` for the VAE, ``AGE`` for every adversarial method.

    A unidirectional method (AGE-UGM, Appendix B) drops ``encoder``; its
    ``discriminator`` must take x alone. A method without a discriminator
    ignores ``discriminator``, ``divergence``, ``scale_clip`` and ``d_steps``, and
    refuses a ``prior`` other than ``"normal"`` (the VAE's KL term is against N(0, I)).

    Example:
        >>> model = build("fgan", mlp.build_encoder(), mlp.build_generator(), mlp.build_discriminator())
    """
    found = methods.get(method)
    if not found.adversarial:
        if prior != "normal":
            raise ValueError(f"The VAE's prior is N(0, I) (its KL term is in closed form); got prior={prior!r}.")
        return VAE(encoder, generator, seed=seed)
    return AGE(encoder if found.bidirectional else None, generator, discriminator, divergence=divergence,
               scale_clip=scale_clip, d_steps=d_steps, seed=seed, method=found.name, prior=prior)


def compile_with_adam(model: keras.Model, d_learning_rate: float, eg_learning_rate: float,
                      beta_1: float = 0.0, beta_2: float = 0.999, jit_compile: bool = False) -> keras.Model:
    """Compiles ``model`` with one Adam per player: ``d_learning_rate`` for D,
    ``eg_learning_rate`` for E and G (one Adam over both for the VAE, none for the
    encoder of AGE-UGM). beta_1 = 0 is the paper's choice (Appendix E). The Adam is
    ``age_tf.optimizers.Adam``: Keras' arithmetic, one fused op a variable."""

    def adam(learning_rate):
        return optimizers.Adam(learning_rate, beta_1=beta_1, beta_2=beta_2)

    if isinstance(model, VAE):
        model.compile(optimizer=adam(eg_learning_rate), jit_compile=jit_compile)
    else:
        model.compile(d_optimizer=adam(d_learning_rate),
                      e_optimizer=None if model.unidirectional else adam(eg_learning_rate),
                      g_optimizer=adam(eg_learning_rate), jit_compile=jit_compile)
    return model
