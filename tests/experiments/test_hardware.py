"""The oneDNN relaunch: same process, same arguments, the user's own choice kept; the thread split."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RELAUNCH = ("from age_tf.experiments import hardware; "
            "hardware.relaunch_with_onednn('probe'); print('not relaunched')")


def _run(tmp_path, onednn=None):
    (tmp_path / "probe.py").write_text(
        "import os, sys\nprint(os.environ['TF_ENABLE_ONEDNN_OPTS'], sys.argv[1:], os.getpid())\n")
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), ROOT])
    if onednn is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = onednn
    code = f"import os; print('pid', os.getpid(), flush=True); {RELAUNCH}"
    result = subprocess.run([sys.executable, "-c", code, "--epochs=3", "x y"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.splitlines()


@pytest.mark.slow  # starts processes
def test_relaunch_turns_onednn_on_in_the_same_process_with_the_same_arguments(tmp_path):
    before, after = _run(tmp_path)
    assert after.startswith("1 ['--epochs=3', 'x y'] ")
    assert before.split()[1] == after.split()[-1]  # execve keeps the pid


@pytest.mark.slow  # starts processes
def test_a_variable_the_user_set_is_kept(tmp_path):
    for choice in ("0", "1"):
        assert _run(tmp_path, choice)[-1] == "not relaunched"


@pytest.mark.parametrize("units, num_threads, small_ops, expected", [
    ("amx_bf16", 0, True, (1, 2)),      # AMX: one thread an op, two ops at once (the 2 cores)
    ("avx512_bf16", 0, True, None),     # Zen 4: the split measured slower, TensorFlow's default stays
    (None, 0, True, None),
    ("amx_bf16", 0, False, None),
    ("avx512_bf16", 3, True, (3, 3)),   # the user's --num_threads wins everywhere
])
def test_the_small_ops_split_is_for_amx_only(monkeypatch, units, num_threads, small_ops, expected):
    import tensorflow as tf

    from age_tf.experiments import hardware

    calls = {}
    monkeypatch.setattr(hardware, "bf16_units", lambda cpuinfo=None: units)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(tf.config.threading, "set_intra_op_parallelism_threads", lambda n: calls.update(intra=n))
    monkeypatch.setattr(tf.config.threading, "set_inter_op_parallelism_threads", lambda n: calls.update(inter=n))
    hardware.set_threads(num_threads, small_ops=small_ops)
    assert ((calls["intra"], calls["inter"]) if calls else None) == expected


@pytest.mark.parametrize("units", ["avx512_bf16", None])
def test_the_machine_description_names_the_bfloat16_units(monkeypatch, units):
    from age_tf.experiments import hardware

    monkeypatch.setattr(hardware, "bf16_units", lambda cpuinfo=None: units)
    cpu = hardware.machine_description().split(" CPU cores (", 1)[1].split("), ", 1)[0]
    assert cpu.endswith(", avx512_bf16") if units else "bf16" not in cpu
