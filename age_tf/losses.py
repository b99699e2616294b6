"""Pure loss functions of discriminator logits, named <method>_<player>_loss.

``logits_e`` are D(x, E(x)) on pairs from the encoder joint p_e (label 1),
``logits_g`` are D(G(z), z) on pairs from the generator joint p_g (label 0).
Each function returns the mean over the batch; the model divides by the number
of replicas under a distribution strategy.
"""

from __future__ import annotations

import tensorflow as tf


def logistic_discriminator_loss(logits_e, logits_g):
    """Logistic regression of p_e (label 1) against p_g (label 0), Algorithm 1.

    E_pe[log(1 + exp(-D))] + E_pg[log(1 + exp(D))]; its minimiser is
    D = log(p_e / p_g) (Section 3.1).
    """
    return tf.reduce_mean(tf.math.softplus(-logits_e)) + tf.reduce_mean(
        tf.math.softplus(logits_g)
    )


def age_encoder_loss(logits_e, divergence):
    """E_pe[s_phi * D(x, E(x))] with s_phi = f''(r) r held constant (Theorem 1, Alg. 1 l.9).

    D approximates log r, so ``divergence.encoder_scale(D)`` is s_phi (equation 7);
    held constant, the loss's gradient with respect to the encoder is
    E[s_phi dD/dz dE/dphi], the gradient of D_f(p_e, p_g).
    """
    scale = tf.stop_gradient(divergence.encoder_scale(logits_e))
    return tf.reduce_mean(scale * logits_e)


def age_generator_loss(logits_g, divergence):
    """-E_pg[s_theta * D(G(z), z)] with s_theta = f~''(1/r) / r held constant (Theorem 1, Alg. 1 l.8).

    Its gradient with respect to the generator is -E[s_theta dD/dx dG/dtheta].
    """
    scale = tf.stop_gradient(divergence.generator_scale(logits_g))
    return -tf.reduce_mean(scale * logits_g)


# Baselines (Sections 3.3, 4.2 and 5.2). Their encoder and generator losses use
# D's dependence on x and z only, like AGE's: the model differentiates them with
# D's weights fixed.


def fgan_kl_discriminator_loss(logits_e, logits_g):
    """Bidirectional f-GAN for KL, Table 2: -E_pe[D] + E_pg[exp(D - 1)]."""
    return -tf.reduce_mean(logits_e) + tf.reduce_mean(tf.exp(logits_g - 1.0))


def fgan_kl_encoder_loss(logits_e):
    """f-GAN-KL encoder, Table 2: E_pe[D]."""
    return tf.reduce_mean(logits_e)


def fgan_kl_generator_loss(logits_g):
    """f-GAN-KL generator, Table 2: -E_pg[exp(D - 1)]."""
    return -tf.reduce_mean(tf.exp(logits_g - 1.0))


def gan_encoder_loss(logits_e):
    """BiGAN minimax (JS, Section 4.2): the encoder maximises D's loss on p_e,
    i.e. minimises -E_pe[log(1 + exp(-D))]."""
    return -tf.reduce_mean(tf.math.softplus(-logits_e))


def gan_generator_loss(logits_g):
    """BiGAN minimax generator: -E_pg[log(1 + exp(D))]."""
    return -tf.reduce_mean(tf.math.softplus(logits_g))


def logd_encoder_loss(logits_e):
    """Non-saturating BiGAN ("log D" trick): E wants its pairs labelled 0,
    E_pe[log(1 + exp(D))] = -E_pe[log(1 - sigmoid(D))]."""
    return tf.reduce_mean(tf.math.softplus(logits_e))


def logd_generator_loss(logits_g):
    """Non-saturating BiGAN generator: E_pg[log(1 + exp(-D))] = -E_pg[log sigmoid(D)]."""
    return tf.reduce_mean(tf.math.softplus(-logits_g))


def hinge_discriminator_loss(logits_e, logits_g):
    """BigBiGAN hinge loss on the joint score: E_pe[relu(1 - D)] + E_pg[relu(1 + D)]."""
    return tf.reduce_mean(tf.nn.relu(1.0 - logits_e)) + tf.reduce_mean(tf.nn.relu(1.0 + logits_g))


def hinge_encoder_loss(logits_e):
    """BigBiGAN encoder: E_pe[D]."""
    return tf.reduce_mean(logits_e)


def hinge_generator_loss(logits_g):
    """BigBiGAN generator: -E_pg[D]."""
    return -tf.reduce_mean(logits_g)
