"""The mixture figures: files written, one panel per set of points, centres marked."""

import matplotlib.image
import numpy as np

from age_tf import plots
from age_tf.data import grid_mixture


def test_mixture_panels_writes_a_four_panel_png(tmp_path):
    data = grid_mixture(9, seed=0)
    x, labels = data.points[:300], data.labels[:300]
    path = plots.mixture_panels(str(tmp_path / "mog.png"), x, labels, x + 0.05, x, x[:, ::-1], title="AGE-KL")
    image = matplotlib.image.imread(path)
    assert path.endswith("mog.png") and image.shape[1] > 3 * image.shape[0]  # four square panels in a row


def test_mixture_samples_grid_lays_panels_in_rows(tmp_path):
    data = grid_mixture(25, imbalanced=True, seed=0)
    panels = [(f"row {i}", data.points[:200] * (1 + i / 10)) for i in range(5)]
    minority = data.probabilities < data.probabilities.max()
    path = plots.mixture_samples_grid(str(tmp_path / "grid.png"), panels, columns=4, centers=data.centers,
                                      minority=minority)
    image = matplotlib.image.imread(path)
    assert 0.35 < image.shape[0] / image.shape[1] < 0.65  # two rows of four square panels
    assert np.asarray(image).std() > 0  # something was drawn


def test_mixture_panels_mark_reconstructions_that_left_their_mode(tmp_path):
    data = grid_mixture(9, seed=0)
    x, labels = data.points[:300], data.labels[:300]
    home = np.arange(300) % 4 > 0
    plain = matplotlib.image.imread(plots.mixture_panels(str(tmp_path / "a.png"), x, labels, x, x, x))
    marked = matplotlib.image.imread(plots.mixture_panels(str(tmp_path / "b.png"), x, labels, x, x, x, home=home))
    assert plain.shape == marked.shape
    third = slice(plain.shape[1] // 2, 3 * plain.shape[1] // 4)  # the reconstruction panel
    assert not np.array_equal(plain[:, third], marked[:, third])
    first = slice(0, plain.shape[1] // 4)
    np.testing.assert_array_equal(plain[:, first], marked[:, first])  # the other panels are unchanged
