"""Files written whole: into a temporary file beside the target, then renamed onto it.

A rename within one directory is atomic on POSIX file systems, so a reader sees
the old file or the new one, and a kill or a full disk mid-write leaves the old
file or none, never a truncated one beside complete ones. Every file the library
and its entry points write (figures, image grids, results tables, a run's flags
and JSON, the mode classifier's and the Inception statistics' caches) goes
through ``written_whole``. Apart from it: a SavedModel version, a directory, has
its own ``.partial`` (``age_tf.export``); TensorFlow writes checkpoints through
its own temporary names; logs that grow line by line (``history.jsonl``) are
appended, and their readers skip a torn last line.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile


def _umask() -> int:
    """The process's umask (reading it means setting it; done at import, before any thread starts)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()


def with_filename(error: OSError, path: str) -> OSError:
    """The same error, naming ``path`` (errors of ``write()`` on an open file name none)."""
    return type(error)(error.errno, error.strerror or str(error), path)


@contextlib.contextmanager
def written_whole(path: str, suffix: str = ""):
    """Yields a temporary path beside ``path`` to write; renames it onto ``path`` when the block
    ends without an error, and removes it otherwise.

    ``suffix`` is the temporary name's ending, for writers that choose the format by it
    (``fig.savefig``, Keras' ``.weights.h5``). The file gets the permissions of a file created
    plainly (the umask's; ``mkstemp`` alone would give 0600), and an ``OSError`` names ``path``.
    """
    directory = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        handle, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=suffix)
        os.close(handle)
        os.chmod(tmp, 0o666 & ~_UMASK)
        yield tmp
        os.replace(tmp, path)
    except OSError as error:
        raise with_filename(error, path) from error
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)


def write(path: str, write_to, suffix: str = "", binary: bool = False) -> str:
    """``write_to(f)`` with ``f`` open on a temporary file beside ``path`` (for bytes when
    ``binary``: ``np.save``, a PNG), then renamed onto ``path`` (``written_whole``)."""
    with written_whole(path, suffix) as tmp:
        with open(tmp, "wb" if binary else "w", encoding=None if binary else "utf-8") as f:
            write_to(f)
    return path


def write_json(path: str, payload) -> str:
    """``payload`` as indented JSON with sorted keys, written whole."""

    def dump(f):
        json.dump(payload, f, indent=2, sort_keys=True)
        f.write("\n")

    return write(path, dump, ".json")
