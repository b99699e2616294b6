"""One process at a time in a run directory (``age_tf.experiments.run_lock``): a second writer is refused
naming the holder, whatever its flags; a lock left by a killed process is taken over."""

import os
import subprocess
import sys
import textwrap

import pytest

from age_tf.experiments import run_lock
from conftest import MOG_TINY

MOG = "age_tf.experiments.mog"
TINY = [*MOG_TINY, "--hidden_units=16", "--d_hidden_units=16", "--epochs=1"]

# A light process that takes the lock as run_lock does (flock on .lock), says so, and holds it until killed.
HOLDER = textwrap.dedent("""
    import fcntl, os, sys, time
    handle = open(os.path.join(sys.argv[1], ".lock"), "a+")
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    handle.seek(0); handle.truncate()
    handle.write(f"process {os.getpid()} on testhost, started now: python -m age_tf.experiments.mog\\n")
    handle.flush()
    print("holding", flush=True)
    time.sleep(600)
""")


@pytest.fixture
def held(tmp_path):
    """A run directory whose lock a live process holds: (directory, that process)."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(run_dir)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "holding"
    yield run_dir, process
    process.kill()
    process.wait()


@pytest.mark.parametrize("extra", [[], ["--noresume"], ["--divergence=js", "--seed=3"]])
def test_a_second_writer_exits_2_naming_the_holder_and_touches_nothing(held, run_in_process, extra):
    run_dir, process = held
    before = sorted(os.listdir(run_dir))
    result = run_in_process(MOG, [*TINY, *extra, f"--output_dir={run_dir}"])
    assert result.returncode == 2, result.stderr[-2000:]
    assert (f"is in use by another run (process {process.pid} on testhost, started now: python -m "
            "age_tf.experiments.mog); two processes in one run directory would mix their trainings") in result.stderr
    assert sorted(os.listdir(run_dir)) == before == [".lock"]


def test_the_lock_of_a_killed_run_is_stale_and_taken_over(held, run_in_process):
    run_dir, process = held
    process.kill()  # SIGKILL: the kernel drops its flock; its .lock file stays behind
    process.wait()
    assert f"process {process.pid}" in run_lock.holder(str(run_dir))
    result = run_in_process(MOG, [*TINY, f"--output_dir={run_dir}"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert (run_dir / "metrics.json").exists()
    assert f"process {os.getpid()} on " in run_lock.holder(str(run_dir))  # the last holder was this run


def test_a_lock_held_here_blocks_other_processes_until_released(tmp_path):
    probe = ("import fcntl, sys\nf = open(sys.argv[1] + '/.lock', 'a+')\n"
             "try:\n    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)\n    print('free')\n"
             "except BlockingIOError:\n    print('busy')\n")
    run_lock.acquire(str(tmp_path))
    run_lock.acquire(str(tmp_path))  # again in the holder: a no-op
    try:
        probed = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True)
        assert probed.stdout.strip() == "busy"
    finally:
        run_lock.release_all()
    probed = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True)
    assert probed.stdout.strip() == "free"
