"""age_tf.files: every file written whole, or the old one left as it was."""

import errno
import json
import os

import numpy as np
import pytest

from age_tf import files, plots, views


def test_json_files_follow_the_umask_like_any_other_file(tmp_path):
    files.write_json(str(tmp_path / "metrics.json"), {"modes_covered": 25})
    (tmp_path / "plain.txt").write_text("x")
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"modes_covered": 25}
    mode = os.stat(tmp_path / "metrics.json").st_mode & 0o777
    assert mode == os.stat(tmp_path / "plain.txt").st_mode & 0o777 != 0o600
    assert set(os.listdir(tmp_path)) == {"metrics.json", "plain.txt"}  # no temporary file left


def test_a_failed_write_keeps_the_old_file_whole_and_names_the_path(tmp_path):
    """Issue: samples.npy, mog.png and flags.txt were written in place, so a kill or a full disk left a
    0-byte file beside a complete metrics.json."""
    path = tmp_path / "samples.npy"
    files.write(str(path), lambda f: np.save(f, np.arange(3.0)), ".npy", binary=True)
    np.testing.assert_array_equal(np.load(path), [0.0, 1.0, 2.0])

    def disk_full(f):
        f.write(b"\x93NUMPY half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError) as raised:
        files.write(str(path), disk_full, ".npy", binary=True)
    assert raised.value.filename == str(path)
    np.testing.assert_array_equal(np.load(path), [0.0, 1.0, 2.0])
    assert sorted(os.listdir(tmp_path)) == ["samples.npy"]


def test_a_writer_that_takes_a_path_gets_one_with_the_suffix_it_needs(tmp_path):
    """Keras chooses the weights format by the name's ending; the file lands only once written."""
    path = tmp_path / "classifier.weights.h5"
    with files.written_whole(str(path), ".weights.h5") as tmp:
        assert tmp.endswith(".weights.h5") and os.path.dirname(tmp) == str(tmp_path)
        assert not path.exists()
        with open(tmp, "wb") as f:
            f.write(b"weights")
    assert path.read_bytes() == b"weights" and os.listdir(tmp_path) == ["classifier.weights.h5"]
    with pytest.raises(RuntimeError, match="killed"):
        with files.written_whole(str(path), ".weights.h5") as tmp:
            open(tmp, "wb").write(b"half")
            raise RuntimeError("killed")
    assert path.read_bytes() == b"weights" and os.listdir(tmp_path) == ["classifier.weights.h5"]


@pytest.mark.parametrize("draw", ["figure", "image grid"])
def test_figures_and_image_grids_that_fail_mid_write_leave_the_old_file(tmp_path, monkeypatch, draw):
    """The library's own pictures (mog.png, the views' grids) go through the same rename."""
    path = str(tmp_path / "picture.png")
    points = np.random.default_rng(0).normal(size=(50, 2))
    images = np.zeros((4, 8, 8, 3), np.float32)

    def render():
        if draw == "figure":
            return plots.mixture_panels(path, points, np.zeros(50, int), points, points, points)
        return views.sample_grid(path, images, columns=2)

    assert render() == path
    before = open(path, "rb").read()
    assert before.startswith(b"\x89PNG")

    def disk_full_at_the_rename(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full_at_the_rename)  # the last moment of the write
    with pytest.raises(OSError) as raised:
        render()
    assert raised.value.filename == path
    assert open(path, "rb").read() == before and os.listdir(tmp_path) == ["picture.png"]
