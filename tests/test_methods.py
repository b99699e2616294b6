import keras
import numpy as np
import pytest
import tensorflow as tf

import age_tf
from age_tf import divergences, losses, methods
from age_tf.networks import mlp

E = tf.constant([0.3, -0.2])
G = tf.constant([-0.5, 0.4])


def test_registry():
    assert methods.names() == ["age", "fgan", "gan", "logd", "hinge"]
    with pytest.raises(ValueError, match="Unknown method 'bigan'. Available: age, fgan"):
        methods.get("bigan")


def test_age_method_uses_the_divergence_scales():
    kl = divergences.get("kl")
    m = methods.get("age")
    assert m.encoder_loss(E, kl).numpy() == pytest.approx(np.mean(E))
    assert m.generator_loss(G, kl).numpy() == pytest.approx(-np.mean(np.exp(G) * G))


@pytest.mark.parametrize("name, d_fn, e_fn, g_fn", [
    ("fgan", losses.fgan_kl_discriminator_loss, losses.fgan_kl_encoder_loss, losses.fgan_kl_generator_loss),
    ("gan", losses.logistic_discriminator_loss, losses.gan_encoder_loss, losses.gan_generator_loss),
    ("logd", losses.logistic_discriminator_loss, losses.logd_encoder_loss, losses.logd_generator_loss),
    ("hinge", losses.hinge_discriminator_loss, losses.hinge_encoder_loss, losses.hinge_generator_loss),
])
def test_baselines_are_their_loss_functions(name, d_fn, e_fn, g_fn):
    m, kl = methods.get(name), divergences.get("kl")
    assert m.discriminator_loss(E, G).numpy() == d_fn(E, G).numpy()
    assert m.encoder_loss(E, kl).numpy() == e_fn(E).numpy()
    assert m.generator_loss(G, kl).numpy() == g_fn(G).numpy()


@pytest.mark.parametrize("name", methods.names())
def test_one_training_step_of_every_method(name):
    keras.utils.set_random_seed(0)
    model = age_tf.AGE(
        mlp.build_encoder(hidden_units=8), mlp.build_generator(hidden_units=8),
        mlp.build_discriminator(hidden_units=8), d_steps=1, method=name, seed=0,
    )
    model.compile()
    x = age_tf.data.grid_mixture(9, seed=0).points[:64]
    nets = (model.encoder, model.generator, model.discriminator)
    before = [[v.numpy().copy() for v in net.trainable_variables] for net in nets]
    logs = model.train_step(tf.constant(x))
    assert all(np.isfinite(float(v)) for v in logs.values())
    for net, old in zip(nets, before):
        assert any(not np.allclose(b, v.numpy()) for b, v in zip(old, net.trainable_variables)), net.name
    assert age_tf.AGE.from_config(model.get_config()).method.name == name
