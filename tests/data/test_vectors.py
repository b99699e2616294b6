"""Your own [N, d] array: the split, the standardisation (hand-computed) and every refusal."""

import numpy as np
import pytest

from age_tf.data import vectors


def test_columns_are_standardised_by_the_training_rows_and_mapped_back(tmp_path):
    rows = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0], [7.0, 5.0], [100.0, 5.0]])
    np.save(tmp_path / "x.npy", rows)
    data = vectors.load_vectors(str(tmp_path / "x.npy"), validation_share=0.2, seed=0)
    order = np.random.default_rng(0).permutation(5)
    held, train = rows[order[:1]], rows[order[1:]]
    np.testing.assert_allclose(data.mean, train.mean(axis=0))
    np.testing.assert_allclose(data.std, [train[:, 0].std(), 1.0])  # a constant column is only centred
    np.testing.assert_allclose(data.heldout, (held - data.mean) / data.std, rtol=1e-6)
    np.testing.assert_allclose(data.points.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(data.to_data_units(data.points), train, atol=1e-4)
    assert data.dim == 2 and data.points.dtype == np.float32


def test_a_csv_of_numbers_and_an_integer_npy_read_as_floats(tmp_path):
    (tmp_path / "x.csv").write_text("1,2.5\n\n3,-4e1\n")
    np.testing.assert_array_equal(vectors.read_array(str(tmp_path / "x.csv")), [[1.0, 2.5], [3.0, -40.0]])
    np.save(tmp_path / "ints.npy", np.arange(6).reshape(3, 2))
    assert vectors.read_array(str(tmp_path / "ints.npy")).dtype == np.float64
    assert vectors.array_shape(str(tmp_path / "ints.npy")) == (3, 2)
    assert vectors.array_shape(str(tmp_path / "x.csv")) == (2, 2)


@pytest.mark.parametrize("name, content, message", [
    ("nan.npy", np.array([[0.0, 1.0], [np.nan, 2.0], [3.0, np.inf]]),
     r"holds 2 NaN or infinite values \(the first at row 1, column 0\)"),
    ("flat.npy", np.arange(5.0), r"shape \(5,\); it must be \[N, d\], one point a row. One coordinate a point"),
    ("cube.npy", np.zeros((2, 2, 2)), r"shape \(2, 2, 2\)"),
    ("one.npy", np.zeros((1, 3)), "holds 1 row of 3 columns"),
    ("words.npy", np.array([["a", "b"], ["c", "d"]]), "not numbers"),
    ("header.csv", "x,y\n1,2\n3,4\n", r"line 1 is not all numbers \(a header row: 'x,y'\)"),
    ("text.csv", "1,2\n3,red\n", r"line 2 is not all numbers \(text in a column: '3,red'\)"),
    ("ragged.csv", "1,2\n3\n", r"rows of \[1, 2\] columns"),
    ("points.txt", "1,2\n", "neither .npy nor .csv"),
    ("broken.npy", b"\x93NUMPY garbage", "not a readable .npy array"),
])
def test_bad_arrays_are_refused_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    if isinstance(content, np.ndarray):
        np.save(path, content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(vectors.VectorDataError, match=message) as raised:
        vectors.load_vectors(str(path))
    assert str(raised.value).startswith(str(path)) or str(path) in str(raised.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(vectors.VectorDataError, match="is missing"):
        vectors.read_array(str(tmp_path / "gone.npy"))
