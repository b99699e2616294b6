"""Whether a run directory may be resumed: a resumed run continues the same training.

A flag declared with ``run_flags.free_on_resume`` where it is defined (how long
a run trains, where and how it runs, what it evaluates) may change on a resume;
any other difference from the run's ``flags.txt`` (defaults and unset flags
included) is refused before anything is written, and so is a checkpoint without
a ``flags.txt``. ``--noresume`` removes the earlier training's files.
"""

from __future__ import annotations

import os
import stat

from absl import flags

from age_tf.experiments import checks, run_directory, run_flags, run_lock


def changed_on_resume(saved_lines, current: dict, free=frozenset(), defaults=None) -> list:
    """``(saved, now)`` line pairs of the training settings that differ between a
    run's flags.txt (``saved_lines``) and this invocation (``current``: flag name ->
    its line), lines as ``flag.serialize()`` writes them. A flag the file does not
    name (one added to the entry point after the run, or a line deleted) counts as
    its line in ``defaults`` (name -> line at the default; not compared without
    them), shown as ``no --name line``. A saved flag the entry point no longer has
    is not compared, nor any named in ``free`` (``run_flags.free_on_resume``)."""
    changes = []
    named = set()
    for line in saved_lines:
        name = run_directory.flag_name(line, current)
        named.add(name)
        if name in current and name not in free and current[name] != line:
            changes.append((line, current[name]))
    for name, line in (defaults or {}).items():
        if name in current and name not in named and name not in free and current[name] != line:
            changes.append((f"no --{name} line", current[name]))
    return changes


def would_resume(output_dir: str, resume: bool) -> bool:
    """Whether an invocation with ``--resume=resume`` continues a run in ``output_dir``: it
    holds a checkpoint, epoch-end or mid-epoch."""
    from age_tf import checkpointing

    return bool(resume) and checkpointing.has_checkpoint(os.path.join(output_dir, run_directory.CHECKPOINT_DIR))


def refuse_changed_resume(output_dir: str, module_name: str) -> bool:
    """Whether the run will resume a checkpoint of ``output_dir``; stops, before
    flags.txt is rewritten, when ``--resume`` would continue it with other training
    settings than the run had, or with no flags.txt to compare against."""
    if not would_resume(output_dir, flags.FLAGS.resume):
        return False  # nothing to resume: the run starts over and its flags.txt is replaced
    saved = run_directory.saved_flag_lines(output_dir)
    path = os.path.join(output_dir, "flags.txt")
    current = run_directory.resolved_flag_lines(module_name)
    if not any(run_directory.flag_name(line, current) in current for line in saved):
        checks.usage_error(
            f"--output_dir {output_dir} holds a checkpoint but no readable {os.path.basename(path)} saying how it "
            "was trained, so a resume could mix two trainings; pass --noresume to train from scratch there "
            "(the old checkpoints are removed) or choose another --output_dir."
        )
    free = {flag.name for flag in checks.module_flags(module_name) if run_flags.is_free_on_resume(flag)}
    defaults = run_directory.default_flag_lines(module_name)
    if defaults.get("precision") == f"--precision={run_flags.AUTO_PRECISION}":
        defaults["precision"] = f"--precision={run_flags.PRECISION_BEFORE_AUTO}"
    changes = changed_on_resume(saved, current, free, defaults)
    if changes:
        shown = lambda line: line.removeprefix("# ")  # noqa: E731  ("# --scale_clip unset")
        listed = "; ".join(f"{shown(then)} there, {shown(now)} now" for then, now in changes)
        checks.usage_error(
            f"--output_dir {output_dir} holds a checkpoint trained with other settings ({listed}); "
            f"resuming would mix the two. Rerun with that run's settings (--flagfile={path}, changing "
            "only --epochs or evaluation flags), choose another --output_dir, or pass --noresume to "
            "train from scratch there (its checkpoints are removed)."
        )
    refuse_fewer_epochs(output_dir)
    return True


def refuse_fewer_epochs(output_dir: str):
    """Stops (exit 2) before flags.txt is rewritten when ``--epochs`` is below the epochs the run's
    newest epoch-end checkpoint already finished: flags.txt and the report would then say fewer
    epochs than the checkpoint, the history and the metrics hold."""
    from age_tf import checkpointing

    epochs = getattr(flags.FLAGS, "epochs", None)
    newest = checkpointing.checkpoint_paths(os.path.join(output_dir, run_directory.CHECKPOINT_DIR))
    finished = checkpointing.checkpoint_number(newest[0]) if newest else 0
    if epochs is not None and epochs < finished:
        checks.usage_error(
            f"--output_dir {output_dir} has already trained {finished} epochs (its newest checkpoint, "
            f"{newest[0]}), more than --epochs={epochs}; pass --epochs={finished} or more to evaluate or "
            "continue that run, or --noresume to train from scratch there (its checkpoints are removed)."
        )


def refuse_foreign_directory(output_dir: str, module_name: str):
    """Stops (exit 2) before anything is removed or written when ``output_dir`` is not empty and
    is not a run directory of ``module_name``: it holds no flags.txt (a folder of the user's,
    whose views/, checkpoint/ or metrics.json a new run would replace), or its flags.txt names
    another entry point (whose run a resume would take over). Its lock file and ``*.log`` files
    do not count: a training never removes or writes a log, and the table runners open a trial's
    ``stdout.log`` before they start it."""
    entries = sorted(name for name in os.listdir(output_dir)
                     if name != run_lock.LOCK_FILE and not (name.endswith(".log") and
                                                            os.path.isfile(os.path.join(output_dir, name))))
    if not entries:
        return
    for name in ("flags.txt", *run_directory.TRAINING_FILES):
        path = os.path.join(output_dir, name)
        try:
            mode = os.stat(path).st_mode
        except OSError:  # missing, or a dangling link
            continue
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            checks.usage_error(f"{path} is a named pipe or a socket, not a file, and reading or writing it would wait "
                            "forever; remove it and rerun.")
    if not os.path.lexists(os.path.join(output_dir, "flags.txt")):
        shown = ", ".join(entries[:3]) + (f" and {len(entries) - 3} more" if len(entries) > 3 else "")
        checks.usage_error(
            f"--output_dir {output_dir} already holds files ({shown}) but no flags.txt, so no run of this "
            "program made it, and training there would replace some of them; choose a new or empty folder."
        )
    owner = run_directory.writer(output_dir)
    if owner is not None and owner != module_name:
        checks.usage_error(
            f"--output_dir {output_dir} is a run directory of python -m {owner} (its flags.txt says so); "
            f"python -m {module_name} will not resume or replace it; choose another --output_dir."
        )


def refuse_unwritable_parts(output_dir: str):
    """Stops (exit 2) before training when a folder the run writes into already exists in
    ``output_dir`` and cannot be written (a read-only ``checkpoint/`` under a writable run
    directory): found at the first save, it would cost an epoch. Probed with
    ``checks.cannot_write``, so that a read-only mount counts too."""
    for name in (*run_directory.TRAINING_DIRS, os.path.join(run_directory.CHECKPOINT_DIR, "steps")):
        path = os.path.join(output_dir, name)
        reason = checks.cannot_write(path) if os.path.isdir(path) else None
        if reason:
            checks.usage_error(f"{path} cannot be written ({reason}), and the run writes there; fix "
                               "its permissions (chmod -R u+w) or choose another --output_dir.")


def open_run_directory(module_name: str) -> str:
    """Creates ``--output_dir``, takes its lock (``run_lock``: one process at a time), refuses a
    resume with other training settings, clears
    an earlier training's files when the run starts over (--noresume, or no checkpoint
    to resume: no old checkpoint or history is left to mix with the new run's) and
    writes the resolved flags."""
    output_dir = run_directory.prepare_output_dir(flags.FLAGS.output_dir)
    refuse_foreign_directory(output_dir, module_name)
    checkpoints = os.path.join(output_dir, run_directory.CHECKPOINT_DIR)
    if os.path.lexists(checkpoints) and not os.path.isdir(checkpoints):
        checks.usage_error(f"{checkpoints} is not a directory, and the run's checkpoints go there; move it "
                        "away or choose another --output_dir.")
    refuse_unwritable_parts(output_dir)
    try:
        run_lock.acquire(output_dir)  # held until cli.run_main returns
    except run_lock.RunDirectoryBusy as error:
        checks.usage_error(str(error))
    if not refuse_changed_resume(output_dir, module_name):
        removed = run_directory.clear_training(output_dir)
        if removed:
            print(f"Starting over in {output_dir}: removed the earlier training's {', '.join(removed)}.")
    run_directory.save_resolved_flags(output_dir, module_name)
    return output_dir
