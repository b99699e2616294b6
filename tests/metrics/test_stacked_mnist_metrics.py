import numpy as np
import pytest

from age_tf.metrics import stacked_mnist as sm


def test_modes_from_digits():
    assert sm.modes_from_digits([[1, 2, 3], [0, 0, 7], [9, 9, 9]]).tolist() == [123, 7, 999]
    with pytest.raises(ValueError, match=r"shape \[n, 3\]"):
        sm.modes_from_digits([[1, 2]])
    with pytest.raises(ValueError, match="0..9"):
        sm.modes_from_digits([[1, 2, 10]])


def test_mode_coverage_by_hand():
    # Two modes, 3:1 -> KL(q || U_1000) = 0.75 log(750) + 0.25 log(250).
    stats = sm.mode_coverage([5] * 3 + [42])
    assert stats["modes_covered"] == 2
    assert stats["mode_kl"] == pytest.approx(0.75 * np.log(750) + 0.25 * np.log(250))


def test_uniform_histogram_has_zero_kl_and_full_coverage():
    assert sm.mode_coverage(np.repeat(np.arange(1000), 26)) == {"modes_covered": 1000, "mode_kl": pytest.approx(0.0, abs=1e-12)}


def test_reconstruction_accuracy():
    assert sm.reconstruction_accuracy([1, 2, 3, 4], [1, 2, 0, 4]) == 0.75
    with pytest.raises(ValueError, match="Shapes differ"):
        sm.reconstruction_accuracy([1, 2], [1])
