"""Quiet start-up: TensorFlow's native log lines held back while it loads."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile


@contextlib.contextmanager
def native_stderr_held_back():
    """Sends what native code writes to standard error (file descriptor 2) to a
    temporary file while the block runs; writes it out after all if the block
    raises, so that a failed import still explains itself."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no standard error to redirect
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            sys.stderr.flush()
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode(errors="replace"))
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
