"""Training methods: the paper's name of each, and which loss each player minimises.

Every adversarial method shares ``AGE.train_step``; such a method is only the
discriminator loss and the encoder and generator losses. AGE's encoder and
generator losses weight D by the divergence's scaling factors (Theorem 1, in
``losses.age_encoder_loss`` and ``losses.age_generator_loss``); the baselines
use their own losses and ignore the divergence. The VAE (Section 4.1, Table 3)
has no discriminator and trains ``age_tf.VAE``; AGE-UGM (Appendix B) is AGE
without an encoder. ``age_tf.models.build`` turns a method's name into its model.

    >>> methods.get("fgan").label
    'f-GAN-KL'
    >>> methods.label("age", "hellinger", scale_clip=0.5)
    'AGE-H2-SC0.5'
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, Optional

from age_tf import divergences, losses


def _ignoring_divergence(loss):
    """A baseline's player loss, called as AGE's are: ``loss(logits, divergence)``."""
    return lambda logits, divergence: loss(logits)


@dataclasses.dataclass(frozen=True)
class Method:
    """One training method.

    Args:
        name: registry name (the ``--method`` value).
        label: the paper's row name; ``{divergence}`` stands for the divergence's label.
        description: one line for listings.
        discriminator_loss: ``(logits_e, logits_g) -> loss``; None without a discriminator.
        encoder_loss: ``(logits_e, divergence) -> loss``; None without a discriminator.
        generator_loss: ``(logits_g, divergence) -> loss``; None without a discriminator.
        bidirectional: whether the method trains an encoder (False: AGE-UGM).
        gaussian_networks: whether it needs a Gaussian encoder and generator (the VAE).
    """

    name: str
    label: str
    description: str
    discriminator_loss: Optional[Callable] = None
    encoder_loss: Optional[Callable] = None
    generator_loss: Optional[Callable] = None
    bidirectional: bool = True
    gaussian_networks: bool = False

    @property
    def adversarial(self) -> bool:
        """Whether a discriminator is trained (every method but the VAE)."""
        return self.discriminator_loss is not None


_AGE_LOSSES = dict(
    discriminator_loss=losses.logistic_discriminator_loss,
    encoder_loss=losses.age_encoder_loss,
    generator_loss=losses.age_generator_loss,
)

_METHODS: Dict[str, Method] = {
    m.name: m
    for m in (
        Method("age", "AGE-{divergence}", "adversarial gradient estimation (Algorithm 1)", **_AGE_LOSSES),
        Method(
            "fgan", "f-GAN-KL", "bidirectional f-GAN for KL (Table 2)",
            losses.fgan_kl_discriminator_loss,
            _ignoring_divergence(losses.fgan_kl_encoder_loss),
            _ignoring_divergence(losses.fgan_kl_generator_loss),
        ),
        Method(
            "gan", "GAN (JS)", "BiGAN minimax, the JS objective (Section 4.2)",
            losses.logistic_discriminator_loss,
            _ignoring_divergence(losses.gan_encoder_loss),
            _ignoring_divergence(losses.gan_generator_loss),
        ),
        Method(
            "logd", "logD-GAN", "non-saturating BiGAN with the log D trick",
            losses.logistic_discriminator_loss,
            _ignoring_divergence(losses.logd_encoder_loss),
            _ignoring_divergence(losses.logd_generator_loss),
        ),
        Method(
            "hinge", "Hinge", "BigBiGAN hinge loss on the joint score",
            losses.hinge_discriminator_loss,
            _ignoring_divergence(losses.hinge_encoder_loss),
            _ignoring_divergence(losses.hinge_generator_loss),
        ),
        Method("vae", "VAE", "the analytic negative ELBO, equation 8 (Section 4.1)", gaussian_networks=True),
        Method("ugm", "AGE-UGM", "unidirectional AGE: generator and D(x) only (Appendix B)",
               bidirectional=False, **_AGE_LOSSES),
    )
}


def names(**required) -> list:
    """The registered method names, or those whose attributes have the required values,
    e.g. ``names(adversarial=True, bidirectional=True)``."""
    return [name for name, m in _METHODS.items() if all(getattr(m, k) == v for k, v in required.items())]


def get(name: str) -> Method:
    key = str(name).strip().lower()
    if key not in _METHODS:
        raise ValueError(f"Unknown method {name!r}. Available: {', '.join(names())}.")
    return _METHODS[key]


def label(method: str, divergence: str = "kl", scale_clip: Optional[float] = None,
          deterministic: bool = False) -> str:
    """The paper's name of a run: AGE-KL, AGE-KL-SC0.5, AGE-ALL(d), f-GAN-KL, VAE, AGE-UGM, ...

    ``scale_clip`` is named only where the label names the divergence; ``deterministic``
    (encoder and generator both deterministic) adds "(d)" as Table 5 does.
    """
    text = get(method).label
    if "{divergence}" in text:
        text = text.format(divergence=divergences.get(divergence).label)
        text += f"-SC{scale_clip:g}" if scale_clip else ""
    return text + ("(d)" if deterministic else "")
