"""Every ```python block of the README runs as written (in a scratch directory)."""

import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # starts processes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def python_blocks():
    with open(os.path.join(ROOT, "README.md")) as f:
        return re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)


def test_readme_has_python_snippets():
    assert len(python_blocks()) >= 1


def test_readme_python_snippets_run(tmp_path):
    for i, block in enumerate(python_blocks()):
        script = tmp_path / f"snippet{i}.py"
        script.write_text(block)
        result = subprocess.run(
            [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, f"snippet {i} failed:\n{result.stderr[-3000:]}"
        # Running it again resumes from the checkpoint it wrote instead of starting over.
        again = subprocess.run(
            [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600
        )
        assert again.returncode == 0, f"snippet {i} failed on rerun:\n{again.stderr[-3000:]}"
