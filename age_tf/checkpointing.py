"""Checkpoints that let a run continue exactly where it stopped.

A checkpoint holds the three networks, the three optimizers' state, the state
of every random-number generator of the model (prior samples and the
encoder's and generator's noise), the number of finished epochs and, for a
checkpoint written within an epoch (``<directory>/steps``, every N steps for long
epochs), the steps finished into the next one. It is
written by ``tf.train.CheckpointManager``, which writes the data files first and
then replaces the small ``checkpoint`` index atomically, so a run killed during
a write leaves the previous checkpoint readable.
"""

from __future__ import annotations

import os
import re
import shutil
from typing import Optional

import keras
import tensorflow as tf


def seed_states(model) -> dict:
    """Every SeedGenerator state reachable from the model, by a stable name.

    The networks' own generators (the encoder's and generator's input noise)
    and those of their layers (the per-layer noise maps of implicit
    generators, Appendix C), so that a resumed run draws the same noise.
    """
    states = {}
    if getattr(model, "seed_generator", None) is not None:
        states["model"] = model.seed_generator.state
    for part in ("encoder", "generator", "discriminator"):
        network = getattr(model, part, None)
        if network is None:
            continue
        generator = getattr(network, "seed_generator", None)
        if generator is not None:
            states[part] = generator.state
        # Numbered in layer order: Keras' layer names change from build to build.
        layers = network._flatten_layers(include_self=False, recursive=True)
        noisy = [layer for layer in layers if isinstance(getattr(layer, "seed_generator", None),
                                                          keras.random.SeedGenerator)]
        for index, layer in enumerate(noisy):
            states[f"{part}__layer{index}"] = layer.seed_generator.state
    return states


class CheckpointError(ValueError):
    """The checkpoint directory holds checkpoints, and none of them can be read."""


STEPS_DIR = "steps"  # under a run's checkpoint directory: the newest mid-epoch checkpoint


def checkpoint_paths(directory: str) -> list:
    """The checkpoints in ``directory`` (``.../ckpt-N``, from their ``.index`` files), newest
    first. Read from the files, not from the ``checkpoint`` state file, so that a damaged
    state file hides no checkpoint."""
    if not os.path.isdir(directory):
        return []
    numbered = []
    for name in os.listdir(directory):
        stem, _, number = name[: -len(".index")].rpartition("-")
        if name.endswith(".index") and stem == "ckpt" and number.isdigit():
            numbered.append((int(number), os.path.join(directory, f"ckpt-{number}")))
    return [path for _, path in sorted(numbered, reverse=True)]


def checkpoint_number(path: str) -> int:
    """N of a checkpoint ``.../ckpt-N``: for an epoch-end one, the epochs it finished."""
    return int(os.path.basename(path).rpartition("-")[2])


def has_checkpoint(directory: str) -> bool:
    """Whether ``directory`` holds a checkpoint to resume: an epoch-end one or a mid-epoch one
    (``<directory>/steps``)."""
    return bool(checkpoint_paths(directory) or checkpoint_paths(os.path.join(directory, STEPS_DIR)))


def unfinished_paths(directory: str) -> list:
    """What an interrupted save leaves in ``directory``: TensorFlow's ``ckpt-N_temp``
    shards (merged into ``ckpt-N`` when a save completes) and ``checkpoint.tmp...``
    state files (renamed over ``checkpoint``). No checkpoint reads them."""
    if not os.path.isdir(directory):
        return []
    return sorted(os.path.join(directory, name) for name in os.listdir(directory)
                  if re.fullmatch(r"ckpt-\d+_temp", name) or name.startswith("checkpoint.tmp"))


def remove_unfinished(directory: str) -> list:
    """Removes ``unfinished_paths(directory)`` (e.g. after a save failed on a full disk);
    returns them."""
    found = unfinished_paths(directory)
    for path in found:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    return found


class TrainingCheckpoint:
    """Saves and restores everything needed to continue a run.

    Args:
        model: a compiled ``age_tf.AGE`` (its three optimizers, two for AGE-UGM)
            or ``age_tf.VAE`` (its one optimizer).
        directory: where the checkpoints go.
        max_to_keep: how many recent checkpoints to keep.
    """

    def __init__(self, model, directory: str, max_to_keep: int = 2):
        self.model = model
        self.directory = directory
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="finished_epochs")
        # Steps finished into the next epoch: 0 in the checkpoints written at an epoch's end.
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="steps_into_epoch")
        players = ("d_optimizer", "e_optimizer", "g_optimizer")
        names = players if hasattr(model, "d_optimizer") else ("optimizer",)
        # AGE-UGM has no encoder and so no e_optimizer.
        optimizers = {name: getattr(model, name) for name in names if getattr(model, name) is not None}
        tracked = dict(model=model, **optimizers, epoch=self.epoch,
                       **{f"seed_{k}": v for k, v in seed_states(model).items()})
        self.checkpoint = tf.train.Checkpoint(step=self.step, **tracked)
        # Checkpoints written before mid-epoch ones existed have no ``step``: they restore through this.
        self._without_step = tf.train.Checkpoint(**tracked)
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep=max_to_keep)
        self.steps_directory = os.path.join(directory, STEPS_DIR)
        self._steps_manager = None  # made on the first mid-epoch save
        self.restored_step = 0

    @property
    def latest(self) -> Optional[str]:
        return self.manager.latest_checkpoint

    def remove_unfinished(self) -> list:
        """Removes what interrupted saves left among the epoch-end and the mid-epoch checkpoints
        (``remove_unfinished`` on both directories); returns the paths removed."""
        return remove_unfinished(self.directory) + remove_unfinished(self.steps_directory)

    def save(self, finished_epochs: int) -> str:
        """A checkpoint at the end of epoch ``finished_epochs``; the mid-epoch ones before it,
        now older, are removed."""
        self.epoch.assign(finished_epochs)
        self.step.assign(0)
        path = self.manager.save(checkpoint_number=finished_epochs)
        if os.path.isdir(self.steps_directory):
            shutil.rmtree(self.steps_directory)
            self._steps_manager = None
        return path

    def save_within_epoch(self, finished_epochs: int, steps_into_epoch: int, finished_steps: int) -> str:
        """A checkpoint ``steps_into_epoch`` steps after epoch ``finished_epochs`` ended, in
        ``<directory>/steps`` (numbered by ``finished_steps``, the run's steps so far; the
        newest is kept), for epochs too long to lose."""
        if self._steps_manager is None:
            self._steps_manager = tf.train.CheckpointManager(self.checkpoint, self.steps_directory, max_to_keep=1)
        self.epoch.assign(finished_epochs)
        self.step.assign(steps_into_epoch)
        return self._steps_manager.save(checkpoint_number=finished_steps)

    def restore_latest(self) -> int:
        """Restores the newest readable checkpoint; returns its finished epochs (0 if none),
        with ``restored_step`` the steps it had finished into the next epoch (0 unless a
        mid-epoch checkpoint, ``save_within_epoch``, is newer than every epoch-end one).

        A damaged one (truncated or empty files, a missing data file) is passed over
        for the next older one; ``skipped`` then lists ``(path, reason)`` of those
        passed over and ``restored_from`` names the one restored. Raises
        ``CheckpointError`` naming the newest when checkpoints exist and none can be
        read: the run does not start over silently.
        """
        self.skipped, self.restored_from, self.restored_step = [], None, 0
        epoch_ends = checkpoint_paths(self.directory)
        newest_end = checkpoint_number(epoch_ends[0]) if epoch_ends else 0
        for path in checkpoint_paths(self.steps_directory):
            if self._restore(path) and int(self.epoch.numpy()) >= newest_end:
                self.restored_step = int(self.step.numpy())
                return int(self.epoch.numpy())
        for path in epoch_ends:
            if self._restore(path):
                return int(self.epoch.numpy())
        if self.skipped:
            path, reason = self.skipped[0]
            raise CheckpointError(
                f"No checkpoint in {self.directory} can be read (the newest, {path}: {reason}); remove "
                "the directory or train from scratch (--noresume)."
            )
        return 0

    def _restore(self, path: str) -> bool:
        """Restores ``path``; False, noted in ``skipped``, when it cannot be read. One written
        before checkpoints held ``step`` restores with ``step`` 0 (it was written at an epoch's end)."""
        try:
            names = [name for name, _ in tf.train.list_variables(path)]
            if any(name.startswith("step/") for name in names):
                self.checkpoint.restore(path).assert_existing_objects_matched()
            else:
                self.step.assign(0)
                self._without_step.restore(path).assert_existing_objects_matched()
        except (tf.errors.OpError, ValueError, IndexError, AssertionError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            self.skipped.append((path, reason))
            return False
        self.restored_from = path
        return True


class CheckpointEveryEpochs(keras.callbacks.Callback):
    """Writes a TrainingCheckpoint every ``every`` epochs and after the last one, and with
    ``every_steps`` also every that many steps within an epoch (``save_within_epoch``;
    ``initial_steps``: the run's steps before this stretch), unless ``guard.diverged``
    says the weights are no longer finite."""

    def __init__(self, training_checkpoint: TrainingCheckpoint, every: int, last_epoch: int, guard=None,
                 every_steps: int = 0, steps_per_epoch: int = 0, initial_steps: int = 0):
        super().__init__()
        self.training_checkpoint = training_checkpoint
        self.every = max(int(every), 1)
        self.last_epoch = last_epoch
        self.guard = guard  # e.g. callbacks.StopOnNonFinite: never save diverged weights
        self.every_steps = int(every_steps) if steps_per_epoch else 0
        self.steps_per_epoch = int(steps_per_epoch)
        self.done = int(initial_steps)

    def on_train_batch_end(self, batch, logs=None):
        self.done += 1
        if not self.every_steps or self.done % self.every_steps or not self.done % self.steps_per_epoch:
            return  # an epoch's end is saved (or not) by on_epoch_end
        if self.guard is not None and self.guard.diverged:
            return
        self.training_checkpoint.save_within_epoch(self.done // self.steps_per_epoch,
                                                   self.done % self.steps_per_epoch, self.done)

    def on_epoch_end(self, epoch, logs=None):
        if self.guard is not None and self.guard.diverged:
            return
        finished = epoch + 1
        if finished % self.every == 0 or finished == self.last_epoch:
            self.training_checkpoint.save(finished)
