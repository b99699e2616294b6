"""The bidirectional generative model trained by adversarial gradient estimation."""

from __future__ import annotations

import math
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from age_tf import divergences, methods, optimizers
from age_tf import random as age_random
from age_tf.models.shared import ScalarLogsModel, deserialize_networks, serialize_networks, unpack_x


def _scaled(optimizer, loss):
    """``loss`` times ``optimizer``'s loss scale (a LossScale under mixed_float16; the identity
    for other optimizers, and before ``compile``, as the gradient checks call the model)."""
    return loss if optimizer is None else optimizer.scale_loss(loss)


def _loss_dtype(t):
    """Losses and scales are computed in float32 (or wider) under mixed precision."""
    if t.dtype in (tf.float16, tf.bfloat16):
        return tf.cast(t, tf.float32)
    return t


_NETWORKS = ("encoder", "generator", "discriminator")
PRIORS = ("normal", "uniform")


@keras.saving.register_keras_serializable(package="age_tf")
class AGE(ScalarLogsModel):
    """Encoder, generator and joint discriminator trained by AGE (Algorithm 1).

    Each ``train_step`` receives one batch of real data and splits it into
    ``d_steps + 1`` equal minibatches: the discriminator takes one logistic
    regression step on each of the first ``d_steps`` (pairs from
    p_e(x, z) = p_r(x) p_e(z|x) labelled 1, pairs from p_g(x, z) =
    p_z(z) p_g(x|z) labelled 0), then the encoder and the generator take one
    step on the last with Theorem 1's gradients, the divergence's scaling
    factors s_phi and s_theta entering as constants. Use
    ``age_tf.data.iteration_batches`` to batch a dataset accordingly, or pass
    ``batch_size=(d_steps + 1) * n`` to ``fit``; a batch that does not divide
    evenly is refused (``fit``).

    Unidirectional AGE (AGE-UGM, Appendix B): with ``encoder=None`` the model
    learns p_g(x) alone. D(x) learns log(p_r(x) / p_g(x)) by the same logistic
    regression (real x labelled 1, generated x labelled 0) and the generator
    takes the same step, which with ``method="age"`` is Theorem 2's gradient:
    -E[s(G(z)) grad_x D^T grad_theta G] with s = f~''(1/r) / r, the
    divergence's ``generator_scale`` (s = 1 for ``divergence="all"``). Only
    the networks and D's inputs differ: the discriminator takes x alone (e.g.
    ``sagan.build_discriminator(joint=False)``), there is no encoder step and
    no ``e_optimizer``, and ``encode``/``reconstruct``/``call`` raise. The
    other methods give the usual unidirectional GAN baselines. In the logs,
    the "_e" side (``d_acc_e``, ``log_r_e``) is then real data.

    Args:
        encoder: Keras model x -> z (a sample of p_e(z|x)), or None for AGE-UGM.
        generator: Keras model z -> x (a sample of p_g(x|z)).
        discriminator: Keras model [x, z] -> logits of shape [batch]; x ->
            logits of shape [batch] when ``encoder`` is None.
        divergence: a name from ``age_tf.divergences.names()``.
        method: ``age`` (default), ``ugm`` (with ``encoder=None``) or a baseline from
            ``age_tf.methods.names(adversarial=True)``
            (``fgan``, ``gan``, ``logd``, ``hinge``); only the losses differ.
        scale_clip: r0 in (0, 1] for scaling clipping (Section 3.2), or None.
        d_steps: discriminator updates per encoder/generator update.
        latent_dim: size of z; read from the generator's input if omitted.
        seed: integer seed of the prior samples.
        prior: p_z, ``"normal"`` (N(0, I), the paper's) or ``"uniform"`` (uniform on
            [-1, 1]^latent_dim, BiGAN's). Theorem 1 needs samples of p_z only, never
            its density, so either trains by the same steps.

    Example:
        >>> from age_tf.networks import mlp
        >>> model = AGE(mlp.build_encoder(), mlp.build_generator(),
        ...             mlp.build_discriminator(), divergence="kl", d_steps=5)
        >>> model.compile(d_optimizer=keras.optimizers.Adam(1e-4),
        ...               e_optimizer=keras.optimizers.Adam(5e-5),
        ...               g_optimizer=keras.optimizers.Adam(5e-5))
        >>> model.fit(age_tf.data.iteration_batches(x, 500, d_steps=5), ...)

        AGE-UGM on 64x64 images, AGE-ALL:

        >>> from age_tf.networks import sagan
        >>> ugm = AGE(None, sagan.build_generator(), sagan.build_discriminator(joint=False),
        ...           divergence="all")
        >>> ugm.compile(d_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.0),
        ...             g_optimizer=keras.optimizers.Adam(5e-5, beta_1=0.0))

    Reference: Shen, Zhang and Chen, "Bidirectional Generative Modeling Using
    Adversarial Gradient Estimation", Theorem 1, Algorithm 1 and Appendix B.
    """

    def __init__(
        self,
        encoder: Optional[keras.Model],
        generator: keras.Model,
        discriminator: keras.Model,
        divergence: str = "kl",
        scale_clip: Optional[float] = None,
        d_steps: int = 1,
        latent_dim: Optional[int] = None,
        seed: Optional[int] = None,
        method: str = "age",
        prior: str = "normal",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if prior not in PRIORS:
            raise ValueError(f"Unknown prior {prior!r}. Available: {', '.join(PRIORS)}.")
        self.prior = prior
        if int(d_steps) != d_steps or d_steps < 1:
            raise ValueError(f"d_steps must be a positive integer, got {d_steps!r}.")
        self.encoder = encoder
        self.generator = generator
        self.discriminator = discriminator
        self.divergence_name = divergence
        self.scale_clip = scale_clip
        self.divergence = divergences.get(divergence, scale_clip=scale_clip)
        self.method_name = method
        self.method = methods.get(method)
        if not self.method.adversarial:
            raise ValueError(
                f"Method {method!r} trains no discriminator, so it is not an AGE model; build it with "
                f"age_tf.models.build({method!r}, encoder, generator)."
            )
        if not self.method.bidirectional and encoder is not None:
            raise ValueError(f"Method {method!r} is unidirectional (Appendix B): pass encoder=None.")
        self.d_steps = int(d_steps)
        self.latent_dim = int(latent_dim or self._infer_latent_dim(generator))
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

        mean = keras.metrics.Mean
        self.d_loss_tracker = mean(name="d_loss")
        self.d_acc_e_tracker = mean(name="d_acc_e")
        self.d_acc_g_tracker = mean(name="d_acc_g")
        self.e_loss_tracker = mean(name="e_loss")
        self.g_loss_tracker = mean(name="g_loss")
        self.log_r_e_tracker = mean(name="log_r_e")
        self.log_r_g_tracker = mean(name="log_r_g")
        self.clipped_tracker = mean(name="clipped_fraction")
        self._check_discriminator_inputs()
        self._check_latent_sizes()
        if all(net.built for net in self._networks()):
            self.built = True

    @property
    def unidirectional(self) -> bool:
        """True for AGE-UGM (no encoder; D sees x alone), Appendix B."""
        return self.encoder is None

    def _networks(self):
        return [net for net in (self.encoder, self.generator, self.discriminator) if net is not None]

    def _check_discriminator_inputs(self):
        inputs = getattr(self.discriminator, "inputs", None)
        if not inputs:  # a subclassed discriminator: nothing to read
            return
        if self.unidirectional and len(inputs) != 1:
            raise ValueError(
                f"Without an encoder (AGE-UGM) the discriminator takes x alone, but this one takes "
                f"{len(inputs)} inputs; build it with e.g. sagan.build_discriminator(joint=False)."
            )
        if not self.unidirectional and len(inputs) != 2:
            raise ValueError(
                f"With an encoder the discriminator takes [x, z], but this one takes {len(inputs)} "
                "input(s); pass encoder=None for unidirectional AGE (AGE-UGM) or build a joint D."
            )

    @staticmethod
    def _encoder_latent_dim(encoder):
        """The size of z the encoder outputs, when its layers say (None otherwise)."""
        body = getattr(encoder, "body", encoder)
        try:
            size = body.outputs[0].shape[-1]
        except (AttributeError, IndexError, TypeError, ValueError):
            return None
        if size is None:
            return None
        return int(size) // 2 if getattr(encoder, "kind", None) == "gaussian" else int(size)

    def _check_latent_sizes(self):
        """The encoder's z, the generator's z and the discriminator's z input agree, or a
        ValueError says which sizes differ (instead of a concat error inside fit)."""
        sizes = {"the generator takes": self.latent_dim}
        if not self.unidirectional:
            sizes["the encoder outputs"] = self._encoder_latent_dim(self.encoder)
            inputs = getattr(self.discriminator, "inputs", None) or []
            if len(inputs) == 2 and inputs[1].shape[-1] is not None:
                sizes["the discriminator takes"] = int(inputs[1].shape[-1])
        known = {k: v for k, v in sizes.items() if v is not None}
        if len(set(known.values())) > 1:
            listed = ", ".join(f"{k} z of size {v}" for k, v in known.items())
            raise ValueError(f"The networks disagree on the latent size: {listed}; build them with the "
                             "same latent_dim.")

    def _require_encoder(self, what):
        if self.unidirectional:
            raise ValueError(
                f"{what} needs an encoder, and this model is unidirectional (AGE-UGM, encoder=None, "
                "Appendix B): it only generates. Train a bidirectional AGE to encode or reconstruct."
            )

    @staticmethod
    def _infer_latent_dim(generator):
        body = getattr(generator, "body", generator)
        try:
            shape = body.inputs[0].shape
        except (AttributeError, IndexError, TypeError, ValueError):
            raise ValueError(
                "Cannot read the latent size from the generator; pass latent_dim=..."
            ) from None
        noise = getattr(generator, "noise_dim", 0)
        return int(shape[-1]) - noise

    # -- Keras plumbing -------------------------------------------------------

    def compile(self, d_optimizer=None, e_optimizer=None, g_optimizer=None, **kwargs):
        """Sets one optimizer per player (defaults: Adam 1e-4 for D, 5e-5 for E, G).

        AGE-UGM has no encoder and takes no ``e_optimizer`` (it stays None). Under the
        ``mixed_float16`` policy each is wrapped in ``optimizers.LossScale`` (dynamic loss
        scaling, one scale per player; skipped steps are logged as ``skipped_d``, ``_e``, ``_g``).
        """
        super().compile(**kwargs)
        if self.unidirectional and e_optimizer is not None:
            raise ValueError(
                "This model has no encoder (AGE-UGM, encoder=None), so it takes no e_optimizer; "
                "pass only d_optimizer and g_optimizer."
            )
        # Under mixed_float16 each player's optimizer scales its own loss (optimizers.LossScale).
        policy = self.dtype_policy.name
        self.d_optimizer = optimizers.with_loss_scaling(d_optimizer or optimizers.Adam(1e-4), policy)
        self.e_optimizer = None if self.unidirectional else optimizers.with_loss_scaling(
            e_optimizer or optimizers.Adam(5e-5), policy)
        self.g_optimizer = optimizers.with_loss_scaling(g_optimizer or optimizers.Adam(5e-5), policy)
        # Build the optimizer slots now (under the strategy scope, if any):
        # creating variables inside a compiled train_step fails under XLA.
        for optimizer, network in (
            (self.d_optimizer, self.discriminator),
            (self.e_optimizer, self.encoder),
            (self.g_optimizer, self.generator),
        ):
            if network is not None and network.built and not optimizer.built:
                optimizer.build(network.trainable_variables)

    def get_compile_config(self):
        """The three optimizers, so that keras.models.load_model restores them."""
        serialize = keras.saving.serialize_keras_object
        return {
            "d_optimizer": serialize(self.d_optimizer),
            "e_optimizer": serialize(self.e_optimizer),
            "g_optimizer": serialize(self.g_optimizer),
            "jit_compile": self.jit_compile,
        }

    def compile_from_config(self, config):
        deserialize = keras.saving.deserialize_keras_object
        self.compile(
            d_optimizer=deserialize(config["d_optimizer"]),
            e_optimizer=deserialize(config["e_optimizer"]),
            g_optimizer=deserialize(config["g_optimizer"]),
            jit_compile=config.get("jit_compile", False),
        )

    @property
    def metrics(self):
        trackers = [
            self.d_loss_tracker,
            self.d_acc_e_tracker,
            self.d_acc_g_tracker,
            self.e_loss_tracker,
            self.g_loss_tracker,
            self.log_r_e_tracker,
            self.log_r_g_tracker,
            self.clipped_tracker,
        ]
        if self.unidirectional:
            trackers.remove(self.e_loss_tracker)
        return trackers

    def get_config(self):
        config = super().get_config()
        config.update(
            **serialize_networks(self, _NETWORKS),
            divergence=self.divergence_name,
            scale_clip=self.scale_clip,
            d_steps=self.d_steps,
            latent_dim=self.latent_dim,
            seed=self.seed,
            method=self.method_name,
            prior=self.prior,
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**deserialize_networks(config, _NETWORKS))

    # -- Sampling -------------------------------------------------------------

    def sample_prior(self, n, dtype="float32"):
        """z ~ p_z: N(0, I), or uniform on [-1, 1]^d as erf(n / sqrt(2)) of a normal draw n
        (2 Phi(n) - 1, uniform by the probability integral transform)."""
        if self.prior == "normal":
            return age_random.normal((n, self.latent_dim), self.seed_generator, dtype=dtype)
        z = age_random.normal((n, self.latent_dim), self.seed_generator, dtype="float32")
        return tf.cast(tf.math.erf(z / math.sqrt(2.0)), dtype)

    def encode(self, x, mean=False):
        """z ~ p_e(z|x) in inference mode; the mean of a Gaussian encoder if asked."""
        self._require_encoder("encode()")
        x = tf.cast(x, self.compute_dtype)  # a float32 tensor too, e.g. a SavedModel's input under mixed_bfloat16
        if mean and hasattr(self.encoder, "mean"):
            return self.encoder.mean(x, training=False)
        return self.encoder(x, training=False)

    def generate(self, n=None, z=None):
        """x ~ p_g(x|z) for n prior draws z (or for the given z)."""
        if z is None:
            if n is None:
                raise ValueError("generate() needs n or z.")
            z = self.sample_prior(n, dtype=self.compute_dtype)
        return self.generator(tf.cast(z, self.compute_dtype), training=False)

    def reconstruct(self, x):
        """G(E(x)): encode then generate, in inference mode."""
        self._require_encoder("reconstruct()")
        return self.generate(z=self.encode(x))

    def call(self, x, training=False):
        """Reconstruction G(E(x)), so that the model is callable like any Keras model."""
        self._require_encoder("Calling the model (reconstruction G(E(x)))")
        return self.generator(self.encoder(x, training=training), training=training)

    # -- Training (Algorithm 1) -----------------------------------------------

    def fit(self, x=None, y=None, batch_size=None, *args, **kwargs):
        """``keras.Model.fit``, refusing a batch that does not split into ``d_steps + 1``
        equal minibatches (Algorithm 1) instead of dropping its remainder silently.

        For arrays, ``batch_size`` (Keras' 32 when not given) must be a multiple of
        ``d_steps + 1``, and the last, shorter batch loses what does not divide (a
        warning says how many examples); a last batch smaller than ``d_steps + 1`` is
        refused. Datasets are checked batch by batch where their shape is static (a
        model first fitted on arrays has traced its step for any batch size, and then
        trims an uneven batch of a later dataset instead).
        """
        if isinstance(x, (np.ndarray, list)):
            from age_tf.data.pipeline import check_training_array

            check_training_array(x)
        self._check_array_batches(x, batch_size, kwargs.get("validation_split") or 0.0)
        return super().fit(x, y, batch_size, *args, **kwargs)

    def _check_array_batches(self, x, batch_size, validation_split=0.0):
        shape = getattr(x, "shape", None)
        if shape is None or not len(shape) or shape[0] is None or isinstance(x, tf.data.Dataset):
            return
        # Keras trains on the first floor(n * (1 - validation_split)) rows.
        n = int(math.floor(int(shape[0]) * (1.0 - validation_split)))
        parts, size = self.d_steps + 1, batch_size or 32
        if size % parts:
            below = size - size % parts
            suggested = f"{below} or {below + parts}" if below else f"{parts} or {2 * parts}"
            raise ValueError(
                f"batch_size={size}{'' if batch_size else ' (Keras default)'} does not split into "
                f"d_steps + 1 = {parts} equal minibatches; use a multiple of {parts}, e.g. {suggested}."
            )
        last = n % size
        if last and last < parts:
            raise ValueError(
                f"The last batch of {n} examples in batches of {size} holds {last}, fewer than the "
                f"{parts} minibatches of a step; use {n - last} examples or another batch_size."
            )
        if last % parts:
            import warnings

            warnings.warn(
                f"The last batch of each epoch holds {last} examples; {last % parts} of them do not fit "
                f"its {parts} equal minibatches and are left out.", stacklevel=3)

    def _minibatches(self, x):
        """Splits one batch into d_steps + 1 equal minibatches."""
        parts = self.d_steps + 1
        static = x.shape[0]
        if static is not None:
            size = static // parts
            if size == 0 or static % parts:
                raise ValueError(
                    f"A batch of {static} examples does not split into {self.d_steps} discriminator "
                    f"minibatches plus one encoder/generator minibatch of equal size; give a multiple "
                    f"of {parts} examples (e.g. age_tf.data.iteration_batches(x, batch_size, d_steps))."
                )
        else:
            size = tf.shape(x)[0] // parts
        return [x[i * size : (i + 1) * size] for i in range(parts)]

    def _replica_scale(self):
        # Per-replica means are summed across replicas by the optimizer.
        return 1.0 / tf.distribute.get_strategy().num_replicas_in_sync

    def _encoder_sample(self, x, training):
        """z ~ p_e(z|x); None for AGE-UGM, whose D sees x alone."""
        return None if self.unidirectional else self.encoder(x, training=training)

    def _discriminator_logits(self, x, z_e, x_g, z_g, training):
        """D on the p_e pairs and the p_g pairs (AGE-UGM: on real and generated x),
        in one batched call."""
        n = tf.shape(x)[0]
        # Under mixed precision E and G return their compute dtype; D casts its inputs.
        x_both = tf.concat([x, tf.cast(x_g, x.dtype)], axis=0)
        if self.unidirectional:
            logits = self.discriminator(x_both, training=training)
        else:
            z_both = tf.concat([tf.cast(z_e, z_g.dtype), z_g], axis=0)
            logits = self.discriminator([x_both, z_both], training=training)
        return logits[:n], logits[n:]

    def discriminator_step(self, x):
        """One logistic-regression step of D (Algorithm 1, lines 3-6)."""
        n = tf.shape(x)[0]
        z_g = self.sample_prior(n, dtype=x.dtype)
        # E and G only sample here: no tape, so no gradient work is spent on them.
        z_e = self._encoder_sample(x, training=True)
        x_g = self.generator(z_g, training=True)
        self._discriminator_update(x, z_e, x_g, z_g)

    def _discriminator_update(self, x, z_e, x_g, z_g):
        """D's logistic-regression step on the p_e pairs (x, z_e) and the p_g pairs (x_g, z_g)
        already drawn (Algorithm 1, lines 5-6), with its trackers."""
        variables = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            # D learns log(p_e / p_g) by logistic regression (AGE), or its method's loss.
            logits_e, logits_g = self._discriminator_logits(x, z_e, x_g, z_g, training=True)
            loss = self.method.discriminator_loss(_loss_dtype(logits_e), _loss_dtype(logits_g))
            scaled = _scaled(getattr(self, "d_optimizer", None), loss * tf.cast(self._replica_scale(), loss.dtype))
        self.d_optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        self.d_loss_tracker.update_state(loss)
        self.d_acc_e_tracker.update_state(tf.cast(logits_e > 0, tf.float32))
        self.d_acc_g_tracker.update_state(tf.cast(logits_g < 0, tf.float32))

    def encoder_generator_gradients(self, x):
        """Theorem 1's gradients for E and G on one minibatch, without applying them.

        Returns a dict with ``encoder`` and ``generator`` (lists of gradients
        aligned with each network's ``trainable_variables``, multiplied by each
        optimizer's loss scale under mixed_float16), the two losses and
        the logits on both sides. For AGE-UGM (Theorem 2) ``encoder`` is empty
        and ``e_loss`` is None.
        """
        n = tf.shape(x)[0]
        z_g = self.sample_prior(n, dtype=x.dtype)
        e_vars = [] if self.unidirectional else self.encoder.trainable_variables
        g_vars = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            # E and G move along s * grad D; D's weights stay fixed in this step.
            z_e = self._encoder_sample(x, training=True)
            x_g = self.generator(z_g, training=True)
            logits_e, logits_g = self._discriminator_logits(x, z_e, x_g, z_g, training=True)
            logits_e, logits_g = _loss_dtype(logits_e), _loss_dtype(logits_g)
            g_loss = self.method.generator_loss(logits_g, self.divergence)
            e_loss = None if self.unidirectional else self.method.encoder_loss(logits_e, self.divergence)
            # e_loss does not depend on G nor g_loss on E: one backward pass serves both, each
            # loss scaled by its own optimizer (the identity unless it is a LossScale).
            replicas = tf.cast(self._replica_scale(), g_loss.dtype)
            total = _scaled(getattr(self, "g_optimizer", None), g_loss * replicas)
            if e_loss is not None:
                total += _scaled(getattr(self, "e_optimizer", None), e_loss * replicas)
        grads = tape.gradient(total, e_vars + g_vars)
        return {
            "encoder": grads[: len(e_vars)],
            "generator": grads[len(e_vars) :],
            "e_loss": e_loss,
            "g_loss": g_loss,
            "logits_e": logits_e,
            "logits_g": logits_g,
        }

    def encoder_generator_step(self, x):
        """One step of E and G along Theorem 1's gradients (Algorithm 1, lines 7-10);
        of G alone along Theorem 2's for AGE-UGM."""
        out = self.encoder_generator_gradients(x)
        if not self.unidirectional:
            self.e_optimizer.apply_gradients(zip(out["encoder"], self.encoder.trainable_variables))
            self.e_loss_tracker.update_state(out["e_loss"])
        self.g_optimizer.apply_gradients(zip(out["generator"], self.generator.trainable_variables))

        logits_e, logits_g = out["logits_e"], out["logits_g"]
        self.g_loss_tracker.update_state(out["g_loss"])
        self.log_r_e_tracker.update_state(logits_e)
        self.log_r_g_tracker.update_state(logits_g)
        clipped = tf.concat(
            [self.divergence.clipped_mask(logits_e), self.divergence.clipped_mask(logits_g)], 0
        )
        self.clipped_tracker.update_state(tf.cast(clipped, tf.float32))

    def extra_logs(self) -> dict:
        """``skipped_d``, ``skipped_e``, ``skipped_g``: the steps each player's LossScale
        skipped so far (mixed_float16 only)."""
        players = (("skipped_d", self.d_optimizer), ("skipped_e", self.e_optimizer), ("skipped_g", self.g_optimizer))
        return {key: tf.cast(optimizer.skipped_steps, tf.float32) for key, optimizer in players
                if isinstance(optimizer, optimizers.LossScale) and optimizer.built}

    def train_step(self, data):
        x = unpack_x(data)
        minibatches = self._minibatches(x)
        for x_d in minibatches[:-1]:
            self.discriminator_step(x_d)
        self.encoder_generator_step(minibatches[-1])
        return self.step_logs()

    def test_step(self, data):
        """Discriminator statistics on held-out data, without updates."""
        x = unpack_x(data)
        n = tf.shape(x)[0]
        z_g = self.sample_prior(n, dtype=x.dtype)
        z_e = self._encoder_sample(x, training=False)
        x_g = self.generator(z_g, training=False)
        logits_e, logits_g = self._discriminator_logits(x, z_e, x_g, z_g, training=False)
        self.d_loss_tracker.update_state(self.method.discriminator_loss(logits_e, logits_g))
        self.d_acc_e_tracker.update_state(tf.cast(logits_e > 0, tf.float32))
        self.d_acc_g_tracker.update_state(tf.cast(logits_g < 0, tf.float32))
        self.log_r_e_tracker.update_state(logits_e)
        self.log_r_g_tracker.update_state(logits_g)
        return self.step_logs()
