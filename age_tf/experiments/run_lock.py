"""One process at a time in a run directory: an advisory lock on ``<run dir>/.lock``.

The training entry points take it when they open their run directory
(``resume.open_run_directory``), before they compare, clear or write anything
there, and hold it until ``cli.run_main`` returns. A second process that asks
for it (another training, a ``--noresume`` rerun, whatever its flags) stops
with exit 2 and one sentence naming the holder, which the holder wrote into the
file. The lock is ``fcntl.flock``'s: the kernel drops it when its process ends,
however it ends (SIGKILL included), so a lock file left behind by a killed run
is stale by construction and the next run takes it over. Reading a run
(``load_run``, the table runners' ``--dry_run``) takes no lock.
"""

from __future__ import annotations

import datetime
import fcntl
import os
import socket
import sys

LOCK_FILE = ".lock"
_held = {}  # run directory -> open file holding its lock, for this process


def holder(run_dir: str) -> str:
    """What the lock file says about the process that took it last ('' when none)."""
    try:
        with open(os.path.join(run_dir, LOCK_FILE), encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return ""


def acquire(run_dir: str):
    """Takes the run directory's lock for this process, or raises ``RunDirectoryBusy`` naming the holder.

    Taking it again in the process that holds it is a no-op.
    """
    run_dir = os.path.abspath(run_dir)
    if run_dir in _held:
        return
    path = os.path.join(run_dir, LOCK_FILE)
    handle = open(path, "a+", encoding="utf-8")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise RunDirectoryBusy(run_dir, holder(run_dir)) from None
    except OSError:  # a file system without flock (some network mounts): run unlocked rather than not at all
        handle.close()
        return
    handle.seek(0)
    handle.truncate()
    started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    handle.write(f"process {os.getpid()} on {socket.gethostname()}, started {started}: "
                 f"{' '.join([os.path.basename(sys.executable), *sys.argv])}\n")
    handle.flush()
    _held[run_dir] = handle


def release_all():
    """Drops every lock this process holds (``cli.run_main`` calls it when the entry point returns)."""
    for handle in _held.values():
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        finally:
            handle.close()
    _held.clear()


class RunDirectoryBusy(RuntimeError):
    """Another live process holds the run directory."""

    def __init__(self, run_dir: str, who: str):
        self.run_dir = run_dir
        super().__init__(
            f"--output_dir {run_dir} is in use by another run ({who or 'its lock file names no process'}); "
            "two processes in one run directory would mix their trainings, so wait for it to finish or choose "
            "another --output_dir."
        )
