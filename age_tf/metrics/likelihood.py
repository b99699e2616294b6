"""Likelihood-based metrics of Section 5.1 and Table 3.

For a Gaussian encoder p_e(z|x) and a Gaussian generator p_g(x|z):

- ``negative_elbo``: L_VAE = -E_x[E_{z~p_e(z|x)} log p_g(x|z) - KL(p_e(z|x) || p_z)]
  (equation 8), the KL term in closed form, the first by Monte Carlo;
- ``cycle_consistency``: -E_x E_{z~p_e(z|x)} log p_g(x|z), the negation of
  equation 5;
- ``ais_negative_log_likelihood``: -E_x log p_g(x) with
  p_g(x) = E_{z~p_z} p_g(x|z), by annealed importance sampling (Neal, 2001) with
  HMC transitions from the prior to the posterior (tfp.mcmc);
- ``importance_sampled_log_likelihood``: log p_g(x) by importance sampling with
  the encoder p_e(z|x) as proposal, a check on AIS for the same models (exact
  when p_e(z|x) is the posterior; BUILD_NOTES, Table 3);
- ``joint_log_ratio``: log(p_e(x, z) / p_g(x, z)) when the data density is known,
  the discriminator's target (diagnostics of AGE's D, experiments/table3/results/table3.md).

Each is a pure function of the networks and the data; the registered metrics
wrap them for ``age_tf.metrics.compute``.
"""

from __future__ import annotations

from typing import Dict

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from age_tf.metrics.registry import register_metric

tfd = tfp.distributions


def _prior(latent_dim, dtype):
    """p_z = N(0, I), shaped like the encoder's Independent(Normal) posterior."""
    return tfd.Independent(
        tfd.Normal(tf.zeros([latent_dim], dtype), tf.ones([latent_dim], dtype)),
        reinterpreted_batch_ndims=1,
    )


def conditional_log_prob(generator, x, z):
    """log p_g(x_b|z_sb) for x [B, ...] and S draws z [S, B, k] per example: [S, B]."""
    num_draws, batch = z.shape[0], x.shape[0]
    flat_z = tf.reshape(z, [num_draws * batch, z.shape[-1]])
    flat_x = tf.tile(x, [num_draws] + [1] * (len(x.shape) - 1))  # draw-major, as flat_z
    return tf.reshape(generator.distribution(flat_z, training=False).log_prob(flat_x), [num_draws, batch])


def joint_log_ratio(encoder, generator, data_log_prob, x, z, training=False):
    """log(p_e(x, z) / p_g(x, z)) in closed form: [B] for pairs x [B, ...], z [B, k].

    log p_r(x) + log p_e(z|x) - log p_z(z) - log p_g(x|z), for a Gaussian encoder
    and generator and a data density ``data_log_prob`` known in closed form (a
    synthetic mixture: ``GridMixture.distribution().log_prob``). It is the
    discriminator that logistic regression should find (Section 2.2), and its
    mean over p_e is KL(p_e, p_g), equation 8's objective minus the data's
    entropy (Section 5.1).
    """
    x, z = tf.convert_to_tensor(x, tf.float32), tf.convert_to_tensor(z, tf.float32)
    prior = _prior(z.shape[-1], z.dtype)
    return (data_log_prob(x) + encoder.distribution(x, training=training).log_prob(z)
            - prior.log_prob(z) - generator.distribution(z, training=training).log_prob(x))


def reconstruction_log_prob_samples(encoder, generator, x, num_samples, seed=0):
    """log p_g(x|z) for ``num_samples`` seeded draws z ~ p_e(z|x): [S, B], and the posterior."""
    posterior = encoder.distribution(x, training=False)
    z = posterior.sample(num_samples, seed=tf.constant([seed, 0]))  # [S, B, k]
    return conditional_log_prob(generator, x, z), posterior


def negative_elbo(encoder, generator, x, num_samples: int = 10, seed: int = 0) -> float:
    """L_VAE of equation 8, averaged over the examples x."""
    x = tf.convert_to_tensor(x, tf.float32)
    log_px_z, posterior = reconstruction_log_prob_samples(encoder, generator, x, num_samples, seed)
    kl = posterior.kl_divergence(_prior(posterior.event_shape[-1], x.dtype))
    return float(tf.reduce_mean(kl) - tf.reduce_mean(log_px_z))


def cycle_consistency(encoder, generator, x, num_samples: int = 10, seed: int = 0) -> float:
    """-E_x E_{z~p_e(z|x)} log p_g(x|z) (equation 5, negated)."""
    x = tf.convert_to_tensor(x, tf.float32)
    log_px_z, _ = reconstruction_log_prob_samples(encoder, generator, x, num_samples, seed)
    return float(-tf.reduce_mean(log_px_z))


def ais_log_likelihood(
    generator,
    x,
    latent_dim: int,
    num_steps: int = 1000,
    num_chains: int = 30,
    step_size: float = 0.2,
    num_leapfrog_steps: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """log p_g(x) per example by AIS from the prior p_z to p_g(z|x).

    The intermediate targets are log p_z(z) + beta_t log p_g(x|z) with
    beta_t linear in t; each transition is one HMC step. The estimate is
    log mean_c exp(w_c) over the chains' log weights w_c. The defaults are the
    paper's 1000 intermediate distributions and 30 chains (Section 5.1); the
    HMC step size is fixed, so scale it to the posterior's spread for other
    models (on the test's linear-Gaussian model, 0.2 gives 0.02 nats mean error,
    0.05 gives 0.1).
    """
    x = tf.convert_to_tensor(x, tf.float32)
    batch = x.shape[0]
    prior = _prior(latent_dim, x.dtype)

    def log_likelihood(z):  # z [C, B, k]: the C chains are the draws -> log p_g(x|z) [C, B]
        return conditional_log_prob(generator, x, z)

    def make_kernel(target_log_prob_fn):
        return tfp.mcmc.HamiltonianMonteCarlo(
            target_log_prob_fn=target_log_prob_fn,
            step_size=step_size,
            num_leapfrog_steps=num_leapfrog_steps,
        )

    @tf.function
    def run():
        init = prior.sample([num_chains, batch], seed=tf.constant([seed, 1]))
        _, log_weights, _ = tfp.mcmc.sample_annealed_importance_chain(
            num_steps=num_steps,
            proposal_log_prob_fn=prior.log_prob,
            target_log_prob_fn=lambda z: prior.log_prob(z) + log_likelihood(z),
            current_state=init,
            make_kernel_fn=make_kernel,
            seed=tf.constant([seed, 2]),
        )
        return tf.reduce_logsumexp(log_weights, axis=0) - tf.math.log(float(num_chains))

    return run().numpy()


def importance_sampled_log_likelihood(
    encoder,
    generator,
    x,
    num_samples: int = 1000,
    proposal_scale: float = 1.0,
    chunk: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """log p_g(x) per example: log mean_s p_z(z_s) p_g(x|z_s) / q(z_s|x), z_s ~ q(z|x).

    The proposal q is the encoder's Gaussian p_e(z|x) with its standard
    deviations multiplied by ``proposal_scale`` (above 1 for heavier tails).
    p_g(x) = E_q[p_z p_g(x|z) / q], so the mean of the weights is unbiased for
    p_g(x) and its log is a lower bound in expectation that tightens as
    ``num_samples`` grows; every weight equals p_g(x) when q is the exact
    posterior p_g(z|x). Draws are taken ``chunk`` at a time to bound memory.
    """
    if num_samples <= 0 or chunk <= 0 or proposal_scale <= 0:
        raise ValueError(
            "num_samples, chunk and proposal_scale must be positive, got "
            f"{num_samples}, {chunk} and {proposal_scale}."
        )
    x = tf.convert_to_tensor(x, tf.float32)
    posterior = encoder.distribution(x, training=False).distribution  # Normal, batch [B, k]
    proposal = tfd.Independent(
        tfd.Normal(posterior.loc, posterior.scale * proposal_scale), reinterpreted_batch_ndims=1
    )
    prior = _prior(posterior.loc.shape[-1], x.dtype)
    log_weights = []
    for start in range(0, num_samples, chunk):
        size = min(chunk, num_samples - start)
        z = proposal.sample(size, seed=tf.constant([seed, start]))  # [S, B, k]
        log_weights.append(prior.log_prob(z) + conditional_log_prob(generator, x, z) - proposal.log_prob(z))
    log_weights = tf.concat(log_weights, axis=0)
    return (tf.reduce_logsumexp(log_weights, axis=0) - tf.math.log(float(num_samples))).numpy()


@register_metric("objective", meanings={"objective": "L_VAE (equation 8) on held-out points; KL(p_e, p_g) up to a constant"})
def objective_metric(model, dataset, heldout=None, mc_samples: int = 10) -> Dict[str, float]:
    """L_VAE (eq. 8) on held-out points, ``mc_samples`` draws of z per point."""
    x = dataset.points if heldout is None else heldout
    return {"objective": negative_elbo(model.encoder, model.generator, x, mc_samples)}


@register_metric("cycle_consistency", meanings={"cycle_consistency": "-E log p_g(x|z), z ~ p_e(z|x) (equation 5 negated)"})
def cycle_consistency_metric(model, dataset, heldout=None, mc_samples: int = 10):
    """-E log p_g(x|z), z ~ p_e(z|x) (eq. 5 negated), ``mc_samples`` draws per point."""
    x = dataset.points if heldout is None else heldout
    return {"cycle_consistency": cycle_consistency(model.encoder, model.generator, x, mc_samples)}


@register_metric("nll", meanings={"nll": "-E log p_g(x) on held-out points, by annealed importance sampling"})
def nll_metric(model, dataset, heldout=None, ais_steps=1000, ais_chains=30, ais_examples=100,
               ais_step_size=0.2):
    """-E log p_g(x) by AIS on the first ``ais_examples`` held-out points.

    Cost grows as examples x chains x steps x 5 leapfrog steps of the generator:
    the paper's 10,000 examples take hours on a CPU with the Appendix E.1
    generator, so the default is 100 (about a minute on 2 cores).
    """
    x = (dataset.points if heldout is None else heldout)[:ais_examples]
    log_px = ais_log_likelihood(
        model.generator, x, model.latent_dim, num_steps=ais_steps, num_chains=ais_chains,
        step_size=ais_step_size,
    )
    return {"nll": float(-np.mean(log_px))}


@register_metric("nll_is", meanings={"nll_is": "-E log p_g(x) by importance sampling with the encoder as proposal"})
def importance_sampled_nll_metric(model, dataset, heldout=None, ais_examples=100, is_samples=1000):
    """-E log p_g(x) by importance sampling (encoder proposal, ``is_samples`` draws a point).

    On the same first ``ais_examples`` held-out points as ``nll``, so the two
    estimates of one quantity sit side by side; needs a Gaussian encoder.
    """
    x = (dataset.points if heldout is None else heldout)[:ais_examples]
    log_px = importance_sampled_log_likelihood(model.encoder, model.generator, x, num_samples=is_samples)
    return {"nll_is": float(-np.mean(log_px))}
