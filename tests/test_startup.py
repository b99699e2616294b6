"""TensorFlow's native start-up lines are held back, and shown when the block fails."""

import os
import sys

import pytest

from age_tf import startup


def test_native_writes_are_held_back_and_shown_on_failure(capfd):
    with startup.native_stderr_held_back():
        os.write(2, b"native chatter\n")
    assert "native chatter" not in capfd.readouterr().err
    with pytest.raises(RuntimeError):
        with startup.native_stderr_held_back():
            os.write(2, b"why it failed\n")
            raise RuntimeError("import failed")
    assert "why it failed" in capfd.readouterr().err
    sys.stderr.write("after\n")
    assert capfd.readouterr().err == "after\n"  # standard error is back where it was
