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


def _finished_run(path):
    (path / "checkpoint").mkdir(parents=True)
    (path / "checkpoint" / "ckpt-1.index").write_text("index")
    (path / "flags.txt").write_text("# Resolved flags of python -m age_tf.experiments.mog\n--epochs=1\n")
    (path / "metrics.json").write_text("{}")
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))


def test_the_original_is_never_the_copy(tmp_path):
    """Issue: `continue_run.sh SRC SRC` trained the original in place."""
    before = _finished_run(tmp_path / "src")
    for dst in ("src", "src/", "./src/../src", "src/inner"):
        result = run("src", dst, cwd=tmp_path)
        assert result.returncode == 2, dst
        assert "is SRC or inside it; the copy must go elsewhere, so that src stays as it is." in result.stderr
    assert sorted(p.relative_to(tmp_path / "src").as_posix() for p in (tmp_path / "src").rglob("*")) == before


def test_an_existing_destination_is_filled_not_nested_or_refused(tmp_path):
    """Issue: with DST already there, the copy went to DST/<src name> and then failed."""
    _finished_run(tmp_path / "src")
    (tmp_path / "empty").mkdir()
    result = subprocess.run(["bash", SCRIPT, "src", "empty", "--epochs=2"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=30, env={**os.environ, "PYTHON": "echo"})
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path / "empty")) == ["checkpoint", "flags.txt"]  # no metrics.json, no src/
    assert "--flagfile=empty/flags.txt --epochs=2 --output_dir=empty" in result.stdout
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    result = run("src", "mine", cwd=tmp_path)
    assert result.returncode == 2
    assert "DST mine already exists and is not a run directory (no flags.txt); choose a new DST." in result.stderr
    assert os.listdir(tmp_path / "mine") == ["notes.txt"]
