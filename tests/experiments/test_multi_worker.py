"""Two worker processes on 127.0.0.1 train the mixture experiment together."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import tensorflow as tf
import pytest

pytestmark = pytest.mark.slow  # starts processes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_end_with_the_same_weights(tmp_path):
    workers = [f"127.0.0.1:{p}" for p in free_ports(2)]
    processes = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}))
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "age_tf.experiments.mog", "--strategy=multi_worker",
             "--num_modes=9", "--batch_size=20", "--d_steps=1", "--epochs=1", "--steps_per_epoch=3",
             "--num_eval_samples=300", "--notensorboard", f"--output_dir={tmp_path / f'worker{index}'}"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        ))
    outputs = [p.communicate(timeout=300)[0] for p in processes]
    for p, out in zip(processes, outputs):
        assert p.returncode == 0, out[-3000:]
    readers = [tf.train.load_checkpoint(str(tmp_path / f"worker{i}" / "checkpoint")) for i in range(2)]
    # Weights, optimizer slots, random states: every saved tensor must agree.
    names = [n for n in readers[0].get_variable_to_shape_map() if n != "_CHECKPOINTABLE_OBJECT_GRAPH"]
    assert len(names) > 50
    for name in names:
        np.testing.assert_array_equal(readers[0].get_tensor(name), readers[1].get_tensor(name), err_msg=name)
    steps = [json.loads((tmp_path / f"worker{i}" / "metrics.json").read_text())["encoder_generator_steps"] for i in range(2)]
    assert steps == [3, 3]


def test_one_worker_trains_with_the_nan_guard_history_and_tensorboard(tmp_path):
    """One worker: Keras would hand back each loss as a one-element vector there, which
    TensorBoard's scalar summaries refuse (ValueError, exit 1) and the NaN guard could not
    read: the run must finish, with finite losses in its history."""
    (port,) = free_ports(1)
    env = dict(os.environ, TF_CONFIG=json.dumps(
        {"cluster": {"worker": [f"127.0.0.1:{port}"]}, "task": {"type": "worker", "index": 0}}))
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "age_tf.experiments.mog", "--strategy=multi_worker", "--num_modes=9",
         "--batch_size=20", "--d_steps=1", "--epochs=1", "--steps_per_epoch=3", "--num_eval_samples=300",
         f"--output_dir={out}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((out / "history.jsonl").read_text().splitlines()[-1])
    assert all(np.isfinite(record[k]) for k in ("d_loss", "e_loss", "g_loss"))
    assert os.listdir(out / "tensorboard")
