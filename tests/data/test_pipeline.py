"""Arrays no model can train on are refused in one sentence, by iteration_batches and by AGE.fit."""

import numpy as np
import pytest

from age_tf.data import pipeline


@pytest.mark.parametrize("array, message", [
    (np.zeros((0, 2), np.float32), r"holds no examples \(shape \(0, 2\)\)"),
    (np.arange(8).reshape(4, 2), "is int64; the networks take floats: pass x.astype"),
    (np.zeros((4, 3, 3, 3), np.uint8), r"uint8 pixels: x.astype\('float32'\) / 127.5 - 1"),
    (np.array([[0.0, 1.0], [2.0, np.nan], [np.inf, 0.0]]), r"holds 2 NaN or infinite values \(the first at index \(1, 1\)\)"),
])
def test_bad_arrays_are_refused(array, message):
    with pytest.raises(ValueError, match=message):
        pipeline.check_training_array(array, "x")
    with pytest.raises(ValueError, match=message):
        pipeline.iteration_batches(array, batch_size=1, d_steps=1)

