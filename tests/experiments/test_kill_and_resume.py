"""SIGKILL at random moments never leaves an unreadable checkpoint, and reruns finish the job."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import tensorflow as tf

pytestmark = pytest.mark.slow  # starts processes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EPOCHS, STEPS = 60, 4  # long enough that three kills land before the end on a fast machine


def command(out):
    return [sys.executable, "-m", "age_tf.experiments.mog", "--num_modes=9", "--batch_size=20",
            "--d_steps=1", f"--epochs={EPOCHS}", f"--steps_per_epoch={STEPS}", "--checkpoint_every=1",
            "--num_eval_samples=300", "--notensorboard", f"--output_dir={out}"]


def test_killed_runs_resume_from_a_readable_checkpoint_and_end_at_the_same_step(tmp_path):
    out = tmp_path / "run"
    rng = random.Random(0)
    for attempt in range(3):
        before = tf.train.latest_checkpoint(str(out / "checkpoint"))
        process = subprocess.Popen(command(out), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Wait (however slow the machine) until this run has written a checkpoint of its own,
        # then kill it at a random moment of the next epochs: mid-step or mid-write.
        deadline = time.time() + 240
        while tf.train.latest_checkpoint(str(out / "checkpoint")) in (None, before):
            assert process.poll() is None and time.time() < deadline, "the run ended or stalled"
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
        latest = tf.train.latest_checkpoint(str(out / "checkpoint"))
        if latest is not None:
            reader = tf.train.load_checkpoint(latest)  # raises if the files are corrupt
            assert reader.get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE") >= 1
    finished = subprocess.run(command(out), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["encoder_generator_steps"] == EPOCHS * STEPS
    info = json.loads((out / "run_info.json").read_text())
    assert info["resumed_after_epoch"] > 0  # the kills did interrupt a run with checkpoints
