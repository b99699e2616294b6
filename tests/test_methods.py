import keras
import numpy as np
import pytest
import tensorflow as tf

import age_tf
from age_tf import divergences, losses, methods, models
from age_tf.networks import mlp

E = tf.constant([0.3, -0.2])
G = tf.constant([-0.5, 0.4])


def test_registry():
    assert methods.names() == ["age", "fgan", "gan", "logd", "hinge", "vae", "ugm"]
    assert methods.names(adversarial=True, bidirectional=True) == ["age", "fgan", "gan", "logd", "hinge"]
    assert methods.names(bidirectional=False) == ["ugm"]
    assert methods.names(adversarial=False) == ["vae"]
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


def test_labels_are_the_papers_row_names():
    assert methods.label("age", "hellinger") == "AGE-H2"
    assert methods.label("age", "revkl") == "AGE-RevKL"
    assert methods.label("age", "kl", 0.5) == "AGE-KL-SC0.5"
    assert methods.label("age", "all", deterministic=True) == "AGE-ALL(d)"
    assert methods.label("gan", "kl") == "GAN (JS)"
    assert methods.label("fgan", "js", 0.5) == "f-GAN-KL"
    assert methods.label("vae") == "VAE"
    assert methods.label("ugm", "all") == "AGE-UGM"


def test_build_reaches_every_method_the_same_way():
    gaussian = dict(kind="gaussian", hidden_units=8)
    vae = models.build("vae", mlp.build_encoder(**gaussian), mlp.build_generator(**gaussian), seed=0)
    assert isinstance(vae, age_tf.VAE)
    models.compile_with_adam(vae, 1e-3, 1e-3)
    assert vae.optimizer.learning_rate.numpy() == pytest.approx(1e-3)
    fgan = models.build("fgan", mlp.build_encoder(hidden_units=8), mlp.build_generator(hidden_units=8),
                        mlp.build_discriminator(hidden_units=8), d_steps=2)
    assert (fgan.method.name, fgan.d_steps) == ("fgan", 2)
    with pytest.raises(ValueError, match="unidirectional"):
        age_tf.AGE(mlp.build_encoder(hidden_units=8), mlp.build_generator(hidden_units=8),
                   mlp.build_discriminator(hidden_units=8), method="ugm")
    with pytest.raises(ValueError, match="trains no discriminator"):
        age_tf.AGE(mlp.build_encoder(hidden_units=8), mlp.build_generator(hidden_units=8),
                   mlp.build_discriminator(hidden_units=8), method="vae")


@pytest.mark.parametrize("name", methods.names(adversarial=True, bidirectional=True))
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
