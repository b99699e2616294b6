"""Plumbing shared by the experiment entry points: run directories and logs."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

import keras
from absl import app, flags


def usage_error(message: str):
    """Stops the program with exit code 2 and one sentence, before any work."""
    raise app.UsageError(message, exitcode=2)


def prepare_output_dir(path: str) -> str:
    """Creates the run directory, or stops with a clear message if it cannot."""
    path = os.path.abspath(os.path.expanduser(path))
    if os.path.exists(path) and not os.path.isdir(path):
        usage_error(f"--output_dir {path} is a file, not a directory; choose another path.")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        usage_error(f"--output_dir {path} cannot be created ({error.strerror}).")
    if not os.access(path, os.W_OK):
        usage_error(f"--output_dir {path} is not writable; choose another path.")
    return path


def write_json(path: str, payload) -> str:
    """Writes JSON atomically: a reader never sees a half-written file."""
    directory = os.path.dirname(path) or "."
    handle, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(handle, "w") as f:
            json.dump(payload, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def _module_flags(module_name: str):
    # Run as `python -m`, the module's flags are registered under __main__.
    module = sys.modules.get(module_name) or sys.modules["__main__"]
    found = flags.FLAGS.get_key_flags_for_module(module)
    return found or flags.FLAGS.get_key_flags_for_module(sys.argv[0])


def save_resolved_flags(output_dir: str, module_name: str) -> str:
    """Writes the resolved flags of this module as a reusable flagfile."""
    path = os.path.join(output_dir, "flags.txt")
    lines = [f"# Resolved flags of python -m {module_name}"]
    for flag in _module_flags(module_name):
        if flag.value is not None:
            lines.append(flag.serialize())
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def resolved_flags(module_name: str) -> dict:
    return {f.name: f.value for f in _module_flags(module_name)}


class JsonLinesLogger(keras.callbacks.Callback):
    """Appends one JSON line of logs per epoch (with wall time) to a file."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self._start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        record = {"epoch": epoch + 1, "wall_s": round(time.time() - self._start, 2)}
        record.update({k: float(v) for k, v in (logs or {}).items()})
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
