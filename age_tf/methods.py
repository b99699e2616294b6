"""Training methods: which loss each player minimises, given D's logits.

Every method shares ``AGE.train_step``; a method is only the discriminator
loss and the encoder and generator losses. AGE's encoder and generator losses
weight D by the divergence's scaling factors (Theorem 1); the baselines use
their own losses and ignore the divergence.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict

from age_tf import losses


@dataclasses.dataclass(frozen=True)
class Method:
    """discriminator_loss(logits_e, logits_g); encoder_loss(logits_e, divergence);
    generator_loss(logits_g, divergence)."""

    name: str
    discriminator_loss: Callable
    encoder_loss: Callable
    generator_loss: Callable
    uses_divergence: bool
    description: str


_METHODS: Dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "age",
            losses.logistic_discriminator_loss,
            lambda le, div: losses.age_encoder_loss(le, div.encoder_scale(le)),
            lambda lg, div: losses.age_generator_loss(lg, div.generator_scale(lg)),
            True,
            "adversarial gradient estimation (Algorithm 1)",
        ),
        Method(
            "fgan",
            losses.fgan_kl_discriminator_loss,
            lambda le, div: losses.fgan_kl_encoder_loss(le),
            lambda lg, div: losses.fgan_kl_generator_loss(lg),
            False,
            "bidirectional f-GAN for KL (Table 2)",
        ),
        Method(
            "gan",
            losses.logistic_discriminator_loss,
            lambda le, div: losses.gan_encoder_loss(le),
            lambda lg, div: losses.gan_generator_loss(lg),
            False,
            "BiGAN minimax, the JS objective (Section 4.2)",
        ),
        Method(
            "logd",
            losses.logistic_discriminator_loss,
            lambda le, div: losses.logd_encoder_loss(le),
            lambda lg, div: losses.logd_generator_loss(lg),
            False,
            "non-saturating BiGAN with the log D trick",
        ),
        Method(
            "hinge",
            losses.hinge_discriminator_loss,
            lambda le, div: losses.hinge_encoder_loss(le),
            lambda lg, div: losses.hinge_generator_loss(lg),
            False,
            "BigBiGAN hinge loss on the joint score",
        ),
    )
}


def names() -> list:
    return list(_METHODS)


def get(name: str) -> Method:
    key = str(name).strip().lower()
    if key not in _METHODS:
        raise ValueError(f"Unknown method {name!r}. Available: {', '.join(names())}.")
    return _METHODS[key]
