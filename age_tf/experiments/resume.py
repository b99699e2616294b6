"""Whether a run directory may be resumed: a resumed run continues the same training.

A flag declared with ``run_flags.free_on_resume`` where it is defined (how long
a run trains, where and how it runs, what it evaluates) may change on a resume;
any other difference from the run's ``flags.txt`` is refused before anything is
written.
"""

from __future__ import annotations

import os

from absl import flags

from age_tf.experiments import cli, run_directory, run_flags


def changed_on_resume(saved_lines, current: dict, free=frozenset()) -> list:
    """``(saved, now)`` line pairs of the training settings that differ between a
    run's flags.txt (``saved_lines``) and this invocation (``current``: flag name ->
    its line), lines as ``flag.serialize()`` writes them. A flag absent from either
    side (added to the entry point after the run) is not compared, nor any named in
    ``free`` (those declared with ``run_flags.free_on_resume``)."""
    changes = []
    for line in saved_lines:
        name = run_directory.flag_name(line, current)
        if name in current and name not in free and current[name] != line:
            changes.append((line, current[name]))
    return changes


def refuse_changed_resume(output_dir: str, module_name: str) -> None:
    """Stops, before flags.txt is rewritten, when ``--resume`` would continue a run
    directory's checkpoint with other training settings than the run had."""
    import tensorflow as tf

    if not flags.FLAGS.resume or tf.train.latest_checkpoint(os.path.join(output_dir, "checkpoint")) is None:
        return  # nothing to resume: the run starts over and its flags.txt is replaced
    saved = run_directory.saved_flag_lines(output_dir)
    path = os.path.join(output_dir, "flags.txt")
    free = {flag.name for flag in cli.module_flags(module_name) if run_flags.is_free_on_resume(flag)}
    changes = changed_on_resume(saved, run_directory.resolved_flag_lines(module_name), free)
    if changes:
        listed = "; ".join(f"{then} there, {now} now" for then, now in changes)
        cli.usage_error(
            f"--output_dir {output_dir} holds a checkpoint trained with other settings ({listed}); "
            f"resuming would mix the two. Rerun with that run's settings (--flagfile={path}, changing "
            "only --epochs or evaluation flags), choose another --output_dir, or pass --noresume to "
            "train from scratch there (its checkpoints are replaced)."
        )


def open_run_directory(module_name: str) -> str:
    """Creates ``--output_dir``, refuses a resume with other training settings and
    writes the resolved flags: the last checks before anything is written."""
    output_dir = run_directory.prepare_output_dir(flags.FLAGS.output_dir)
    refuse_changed_resume(output_dir, module_name)
    run_directory.save_resolved_flags(output_dir, module_name)
    return output_dir
