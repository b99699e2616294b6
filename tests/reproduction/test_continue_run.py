"""experiments/continue_run.sh refuses what it cannot continue, before copying anything."""

import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "experiments", "continue_run.sh")


def run(*args, cwd):
    return subprocess.run(["bash", SCRIPT, *args], cwd=cwd, capture_output=True, text=True, timeout=30)


def test_without_source_and_destination_it_prints_its_usage(tmp_path):
    for args in ((), ("only_src",)):
        result = run(*args, cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr.startswith("Usage: ") and "SRC DST" in result.stderr
    assert os.listdir(tmp_path) == []


def test_a_source_without_a_checkpoint_is_refused(tmp_path):
    result = run(str(tmp_path / "never_ran"), str(tmp_path / "copy"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == f"No checkpoint in {tmp_path / 'never_ran'}: run the command that makes it first."
    assert os.listdir(tmp_path) == []
