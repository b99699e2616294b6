"""The metric registry hands each metric the options it declares, and no other."""

import numpy as np
import pytest

from age_tf import metrics
from age_tf.data import grid_mixture


class OnTheCentres:
    """A 'model' whose samples are the mode centres in turn and whose reconstruction is x + 0.1."""

    def __init__(self, centers):
        self.centers = np.asarray(centers, np.float32)
        self.asked = []

    def generate(self, n):
        self.asked.append(n)
        return self.centers[np.arange(n) % len(self.centers)]

    def reconstruct(self, x):
        return np.asarray(x) + 0.1


def test_each_metric_gets_only_its_own_options():
    data = grid_mixture(9, seed=0)
    model = OnTheCentres(data.centers)
    heldout = data.points[:50]
    results = metrics.compute(["mode_coverage", "reconstruction_mse"], model, data, num_samples=90,
                              heldout=heldout)
    assert model.asked == [90]  # mode_coverage took num_samples; reconstruction_mse did not need it
    assert results["modes_covered"] == 9 and results["off_mode_fraction"] == 0.0
    assert results["reconstruction_mse"] == pytest.approx(2 * 0.1 ** 2, rel=1e-5)  # two coordinates
    assert metrics.options("mode_coverage") == {"num_samples": 10_000}
    assert set(metrics.options("nll")) == {"heldout", "ais_steps", "ais_chains", "ais_examples", "ais_step_size"}


def test_an_option_no_metric_takes_is_refused_before_any_metric_runs():
    data = grid_mixture(9, seed=0)
    model = OnTheCentres(data.centers)
    with pytest.raises(ValueError, match=r"No metric takes the option\(s\) num_sample\. Options of "
                                         r"mode_coverage: num_samples\."):
        metrics.compute(["mode_coverage"], model, data, num_sample=90)
    assert model.asked == []
    with pytest.raises(ValueError, match="Unknown metric 'mode_coverge'"):
        metrics.compute(["mode_coverage", "mode_coverge"], model, data)
    assert model.asked == []
