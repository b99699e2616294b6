"""f-divergences and the scaling factors of adversarial gradient estimation.

Theorem 1 of the paper gives the gradients of D_f(p_e, p_g) as the gradients of
the log density ratio D = log(p_e / p_g), each weighted by a scaling factor:

    s_phi(x, z)   = f''(r) r              (encoder, equation 7)
    s_theta(x, z) = f~''(1/r) / r         (generator, equation 7)

with r = exp(D) and f~(r) = r f(1/r). Since f~''(1/r) = r^3 f''(r), the two
factors are related by s_theta = r s_phi (Section 3.2). Every divergence below
writes both factors in closed form as functions of log r so that they can be
evaluated without overflow for |log r| up to the float32 exponent range
(Table 1 of the paper lists them for KL, reverse KL, 2JS and H^2).

Scaling clipping (Section 3.2, Appendix D) clips r into [r0, 1/r0] before the
factors are computed. AGE-ALL sets both factors to 1.

Example:

    >>> from age_tf import divergences
    >>> kl = divergences.get("kl", scale_clip=0.5)
    >>> kl.generator_scale(tf.constant([0.0, 3.0]))  # r clipped to 2: s = r
    <tf.Tensor: ... numpy=array([1., 2.], dtype=float32)>
"""

from __future__ import annotations

import math
from typing import Callable, Dict, Optional

import tensorflow as tf

__all__ = ["Divergence", "get", "names", "validate_scale_clip"]


def _saturating_exp(log_value: tf.Tensor) -> tf.Tensor:
    """exp() that saturates at the largest finite value of the dtype.

    A scale of +inf would turn a zero gradient into NaN (inf * 0), so scales
    whose logarithm exceeds the dtype's range are held at its largest finite
    value instead. This only matters for r far outside any sensible range
    (e.g. the Pearson generator scale 2 r^2 at log r > 44 in float32).
    """
    log_value = tf.convert_to_tensor(log_value)
    max_log = math.log(log_value.dtype.max) - 1e-3
    return tf.exp(tf.minimum(log_value, tf.constant(max_log, dtype=log_value.dtype)))


def validate_scale_clip(scale_clip: Optional[float]) -> Optional[float]:
    """Returns scale_clip as a float, or raises ValueError if outside (0, 1]."""
    if scale_clip is None:
        return None
    try:
        value = float(scale_clip)
    except (TypeError, ValueError):
        raise ValueError(
            f"scale_clip must be a number r0 in (0, 1] or None, got {scale_clip!r}."
        ) from None
    if not (0.0 < value <= 1.0) or math.isnan(value):
        raise ValueError(
            f"scale_clip must lie in (0, 1] (r is clipped into [r0, 1/r0]); got "
            f"{scale_clip!r}. Use None for no clipping and 1.0 for constant scales."
        )
    return value


class Divergence:
    """One f-divergence: f, f'' and the AGE scaling factors (Table 1, eq. 7).

    Args:
        name: registry name.
        label: the paper's name, as in AGE-KL or AGE-H2.
        f: f(r), tensor in, tensor out.
        f_second: f''(r).
        log_encoder_scale: log s_phi as a function of log r.
        log_generator_scale: log s_theta as a function of log r.
        scale_clip: r0 in (0, 1]; r is clipped into [r0, 1/r0] before the
            scales are computed (Section 3.2). None disables clipping.
        description: one line for listings.

    Reference: Shen, Zhang and Chen, "Bidirectional Generative Modeling Using
    Adversarial Gradient Estimation", Table 1, Theorem 1 and Section 3.2.
    """

    def __init__(
        self,
        name: str,
        label: str,
        f: Callable[[tf.Tensor], tf.Tensor],
        f_second: Callable[[tf.Tensor], tf.Tensor],
        log_encoder_scale: Callable[[tf.Tensor], tf.Tensor],
        log_generator_scale: Callable[[tf.Tensor], tf.Tensor],
        scale_clip: Optional[float] = None,
        description: str = "",
    ):
        self.name = name
        self.label = label
        self._f = f
        self._f_second = f_second
        self._log_encoder_scale = log_encoder_scale
        self._log_generator_scale = log_generator_scale
        self.scale_clip = validate_scale_clip(scale_clip)
        self.description = description

    def __repr__(self) -> str:
        return f"Divergence({self.name!r}, scale_clip={self.scale_clip})"

    def f(self, r) -> tf.Tensor:
        """The generator function f(r) of D_f = E_{p_g}[f(r)] (equation 2)."""
        return self._f(tf.convert_to_tensor(r))

    def f_second(self, r) -> tf.Tensor:
        """The second derivative f''(r)."""
        return self._f_second(tf.convert_to_tensor(r))

    def clip_log_ratio(self, log_r) -> tf.Tensor:
        """log r clipped into [log r0, -log r0]; unchanged without clipping."""
        log_r = tf.convert_to_tensor(log_r)
        if self.scale_clip is None:
            return log_r
        bound = tf.constant(-math.log(self.scale_clip), dtype=log_r.dtype)
        return tf.clip_by_value(log_r, -bound, bound)

    def clipped_mask(self, log_r) -> tf.Tensor:
        """Boolean mask of the entries whose ratio r was clipped."""
        log_r = tf.convert_to_tensor(log_r)
        if self.scale_clip is None:
            return tf.zeros_like(log_r, dtype=tf.bool)
        return tf.not_equal(self.clip_log_ratio(log_r), log_r)

    def encoder_scale(self, log_r) -> tf.Tensor:
        """s_phi = f''(r) r, from log r, after scaling clipping (equation 7)."""
        return _saturating_exp(self._log_encoder_scale(self.clip_log_ratio(log_r)))

    def generator_scale(self, log_r) -> tf.Tensor:
        """s_theta = f~''(1/r) / r = r^2 f''(r), from log r, after clipping."""
        return _saturating_exp(self._log_generator_scale(self.clip_log_ratio(log_r)))


_LOG_2 = math.log(2.0)


def _kl(scale_clip):
    # f = r log r, f'' = 1/r: s_phi = 1, s_theta = r.
    return Divergence(
        "kl",
        "KL",
        f=lambda r: tf.math.xlogy(r, r),
        f_second=lambda r: 1.0 / r,
        log_encoder_scale=tf.zeros_like,
        log_generator_scale=tf.identity,
        scale_clip=scale_clip,
        description="Kullback-Leibler KL(p_e || p_g), f(r) = r log r",
    )


def _revkl(scale_clip):
    # f = -log r, f'' = 1/r^2: s_phi = 1/r, s_theta = 1.
    return Divergence(
        "revkl",
        "RevKL",
        f=lambda r: -tf.math.log(r),
        f_second=lambda r: 1.0 / tf.square(r),
        log_encoder_scale=tf.negative,
        log_generator_scale=tf.zeros_like,
        scale_clip=scale_clip,
        description="reverse KL, KL(p_g || p_e), f(r) = -log r",
    )


def _js(scale_clip):
    # 2JS: f = -(r+1) log((1+r)/2) + r log r, f'' = 1/(r(1+r)):
    # s_phi = 1/(1+r) = sigmoid(-log r), s_theta = r/(1+r) = sigmoid(log r).
    return Divergence(
        "js",
        "JS",
        f=lambda r: -(r + 1.0) * tf.math.log((1.0 + r) / 2.0) + tf.math.xlogy(r, r),
        f_second=lambda r: 1.0 / (r * (1.0 + r)),
        log_encoder_scale=lambda t: tf.math.log_sigmoid(-t),
        log_generator_scale=tf.math.log_sigmoid,
        scale_clip=scale_clip,
        description="twice the Jensen-Shannon divergence (2JS)",
    )


def _hellinger(scale_clip):
    # f = (sqrt r - 1)^2, f'' = r^{-3/2}/2: s_phi = r^{-1/2}/2, s_theta = r^{1/2}/2.
    return Divergence(
        "hellinger",
        "H2",
        f=lambda r: tf.square(tf.sqrt(r) - 1.0),
        f_second=lambda r: 0.5 * tf.pow(r, -1.5),
        log_encoder_scale=lambda t: -0.5 * t - _LOG_2,
        log_generator_scale=lambda t: 0.5 * t - _LOG_2,
        scale_clip=scale_clip,
        description="squared Hellinger distance, f(r) = (sqrt(r) - 1)^2",
    )


def _pearson(scale_clip):
    # Not in the paper. f = (r-1)^2, f'' = 2: s_phi = 2r, s_theta = 2r^2.
    return Divergence(
        "pearson",
        "Pearson",
        f=lambda r: tf.square(r - 1.0),
        f_second=lambda r: 2.0 * tf.ones_like(r),
        log_encoder_scale=lambda t: t + _LOG_2,
        log_generator_scale=lambda t: 2.0 * t + _LOG_2,
        scale_clip=scale_clip,
        description="Pearson chi-squared, f(r) = (r - 1)^2 (not in the paper)",
    )


def _all(scale_clip):
    # AGE-ALL (Section 3.2): s_phi = s_theta = 1 whatever r is. No single f has
    # these scales (they would need s_theta = r s_phi); f here is the shared
    # second-order model (r-1)^2/2 of every f-divergence normalised to f''(1)=1,
    # which AGE-ALL locally minimises. Clipping changes nothing.
    return Divergence(
        "all",
        "ALL",
        f=lambda r: 0.5 * tf.square(r - 1.0),
        f_second=tf.ones_like,
        log_encoder_scale=tf.zeros_like,
        log_generator_scale=tf.zeros_like,
        scale_clip=scale_clip,
        description="AGE-ALL: both scales 1 (locally every f-divergence at once)",
    )


_REGISTRY: Dict[str, Callable[[Optional[float]], Divergence]] = {
    "kl": _kl,
    "revkl": _revkl,
    "js": _js,
    "hellinger": _hellinger,
    "pearson": _pearson,
    "all": _all,
}


def names() -> list:
    """The registered divergence names, in the paper's order."""
    return list(_REGISTRY)


def get(name: str, scale_clip: Optional[float] = None) -> Divergence:
    """Returns the divergence registered under ``name``.

    Args:
        name: one of ``names()``.
        scale_clip: r0 in (0, 1] for scaling clipping, or None.

    Raises:
        ValueError: for an unknown name or a scale_clip outside (0, 1].
    """
    if isinstance(name, Divergence):
        return name
    key = str(name).strip().lower()
    if key not in _REGISTRY:
        raise ValueError(
            f"Unknown divergence {name!r}. Available: {', '.join(names())}."
        )
    return _REGISTRY[key](scale_clip)
