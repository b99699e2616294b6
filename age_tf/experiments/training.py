"""Training in a run directory: restoring its newest checkpoint, the callbacks every
run gets (NaN guard, JSON-lines history, TensorBoard, checkpoints), its wall time
across resumed stretches, and loading a finished run back."""

from __future__ import annotations

import dataclasses
import os
import sys

import keras
from absl import flags

from age_tf.experiments import checks, hardware, run_directory
from age_tf.experiments.run_directory import CHECKPOINT_DIR, HISTORY_FILE, TENSORBOARD_DIR


def fit_verbosity() -> int:
    """A progress bar on a terminal, one line per epoch in a log file."""
    return 1 if sys.stdout.isatty() else 2


def training_callbacks(output_dir: str, guard, saver, epochs: int, checkpoint_every: int,
                       tensorboard: bool = True, extra=(), earlier_seconds: float = 0.0,
                       steps_per_epoch: int = 0, initial_steps: int = 0, checkpoint_every_steps: int = 0) -> list:
    """The NaN guard, ``extra`` (evaluation first: loggers record its values), the
    JSON-lines history, TensorBoard scalars, the whole-run progress line (with
    ``steps_per_epoch``) and the resumable checkpoints (every ``checkpoint_every``
    epochs, and every ``checkpoint_every_steps`` steps within an epoch)."""
    from age_tf import callbacks, checkpointing

    history = callbacks.JsonLinesLogger(os.path.join(output_dir, HISTORY_FILE), earlier_seconds)
    found = [guard, *extra, history]
    if tensorboard:
        found.append(keras.callbacks.TensorBoard(log_dir=os.path.join(output_dir, TENSORBOARD_DIR),
                                                 write_graph=False))
    if steps_per_epoch:
        found.append(callbacks.RunProgress(epochs * steps_per_epoch, steps_per_epoch, initial_steps, earlier_seconds))
    found.append(checkpointing.CheckpointEveryEpochs(saver, checkpoint_every, epochs, guard=guard,
                                                     every_steps=checkpoint_every_steps,
                                                     steps_per_epoch=steps_per_epoch, initial_steps=initial_steps))
    return found


def restore_training(model, output_dir: str, resume: bool):
    """(TrainingCheckpoint in output_dir/checkpoint, finished epochs restored from it).

    ``earlier_train_seconds(output_dir, epochs)`` is the training time those epochs took;
    ``resume_training`` gives all three to an entry point."""
    from age_tf import checkpointing

    saver = checkpointing.TrainingCheckpoint(model, os.path.join(output_dir, CHECKPOINT_DIR))
    if not resume:
        return saver, 0
    try:
        initial_epoch = saver.restore_latest()
    except checkpointing.CheckpointError as error:
        checks.usage_error(str(error))
    for path, reason in saver.skipped:
        print(f"Checkpoint {path} cannot be read ({reason}); passing over it.")
    if initial_epoch or saver.restored_step:
        within = f", {saver.restored_step} steps into epoch {initial_epoch + 1}," if saver.restored_step else ""
        print(f"Resuming after epoch {initial_epoch}{within} from {saver.restored_from}")
    return saver, initial_epoch


@dataclasses.dataclass(frozen=True)
class Training:
    """Where a run directory's training stands: its checkpoint ``saver``, the epochs
    already finished (``initial_epoch``; 0 for a fresh run or ``--noresume``), the steps
    finished into the next one (``initial_step``: a mid-epoch checkpoint) and the
    training seconds the finished epochs took (``earlier_seconds``, which a resumed run
    adds to its own; the steps of an unfinished epoch are not in the history, so their
    time is not counted)."""

    output_dir: str
    saver: object
    initial_epoch: int
    earlier_seconds: float
    initial_step: int = 0

    def fit(self, model, batches, *, epochs: int, steps_per_epoch: int, guard, checkpoint_every: int,
            tensorboard: bool, extra=(), checkpoint_every_steps: int = 0) -> None:
        """Trains epochs ``initial_epoch + 1 .. epochs`` with ``training_callbacks``;
        nothing when the run already finished them. After a mid-epoch checkpoint the rest
        of that epoch is trained first, as one shorter Keras epoch (its history line
        averages those steps only)."""
        if self.initial_epoch >= epochs:
            return
        callbacks = training_callbacks(self.output_dir, guard, self.saver, epochs, checkpoint_every, tensorboard,
                                       extra, self.earlier_seconds, steps_per_epoch,
                                       self.initial_epoch * steps_per_epoch + self.initial_step,
                                       checkpoint_every_steps)
        first = self.initial_epoch
        if 0 < self.initial_step < steps_per_epoch:
            guard.resumed_within(first, self.initial_step)
            self._fit(model, batches, first, first + 1, steps_per_epoch - self.initial_step, callbacks)
            first += 1
            if guard.diverged or model.stop_training or first >= epochs:
                return
        self._fit(model, batches, first, epochs, steps_per_epoch, callbacks)

    @staticmethod
    def _fit(model, batches, initial_epoch, epochs, steps_per_epoch, callbacks):
        model.fit(
            batches,
            initial_epoch=initial_epoch,
            shuffle=False,  # the dataset shuffles itself (Keras warns that it ignores shuffle=True)
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            verbose=fit_verbosity(),
            callbacks=callbacks,
        )

    def write_run_info(self, train_seconds: float, **seconds) -> dict:
        """``write_run_info`` for this run: this invocation's ``train_seconds`` plus the
        earlier stretches', and the epoch it resumed after. Returns what an entry point
        reports beside its metrics: ``train_seconds`` (every stretch), each of
        ``seconds`` as recorded, ``resumed_after_epoch`` and, after a mid-epoch
        checkpoint, ``resumed_steps_into_epoch``."""
        info = run_directory.write_run_info(self.output_dir, train_seconds, self.initial_epoch, self.earlier_seconds,
                                            self.initial_step, **seconds)
        resumed = {"resumed_after_epoch": self.initial_epoch}
        if self.initial_step:
            resumed["resumed_steps_into_epoch"] = self.initial_step
        return {"train_seconds": info["train_seconds"], **{name: info[name] for name in seconds}, **resumed}


def resume_training(model, output_dir: str, resume: bool) -> Training:
    """Restores the newest checkpoint of ``output_dir`` into ``model`` when ``resume``
    (``restore_training``), reads the time its epochs took from the history and drops
    from it the epochs after the checkpoint, which this run trains again
    (``run_directory.drop_history_after``); half-written checkpoints of the stretch
    before are removed (``TrainingCheckpoint.remove_unfinished``)."""
    saver, initial_epoch = restore_training(model, output_dir, resume)
    saver.remove_unfinished()
    run_directory.drop_history_after(os.path.join(output_dir, HISTORY_FILE), initial_epoch)
    return Training(output_dir, saver, initial_epoch, run_directory.earlier_train_seconds(output_dir, initial_epoch),
                    saver.restored_step)


def load_run(run_dir: str, module_name: str, build_model, num_threads: int = 0):
    """(model, finished epochs) of a run directory that ``python -m module_name`` wrote.

    Parses ``run_dir/flags.txt`` into FLAGS (which then describe that run; the
    module must be imported so that its flags are defined), sets the CPU threads,
    builds the model with ``build_model(seed)`` as the run did and restores its
    newest checkpoint; for scripts that examine a trained run.
    """
    flagfile = os.path.join(run_dir, "flags.txt")
    if not os.path.isfile(flagfile):
        raise FileNotFoundError(
            f"{flagfile} does not exist: give a run directory written by "
            f"python -m {module_name} --output_dir=..."
        )
    flags.FLAGS([sys.argv[0] if sys.argv else module_name, f"--flagfile={flagfile}"])
    hardware.set_threads(num_threads)
    model = build_model(flags.FLAGS.seed)
    _, epoch = restore_training(model, run_dir, True)
    if not epoch:
        raise FileNotFoundError(
            f"No checkpoint in {run_dir}/checkpoint: the run saved none yet (see --checkpoint_every)."
        )
    return model, epoch
