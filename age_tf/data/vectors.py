"""Your own vectors: an [N, d] array of numbers from a ``.npy`` or ``.csv`` file.

The rows are points, the columns coordinates. A seeded permutation holds out
``validation_share`` of the rows for the metrics that need no modes
(reconstruction distance, precision and recall, density and coverage); then
every column is standardised with the training rows' mean and standard
deviation, so the networks of Appendix E.1 see data of the mixtures' scale
whatever the units. ``to_data_units`` maps generated points back. A column that
is constant in the training rows is only centred (its scale is taken as 1).

A CSV holds numbers only, comma-separated, one row per line: no header, no text
columns. Anything else is refused with ``VectorDataError``, one sentence naming
the file and how to fix it.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Tuple

import numpy as np

EXTENSIONS = (".npy", ".csv")


class VectorDataError(ValueError):
    """The file cannot give an [N, d] array of finite numbers; the message says why."""


@dataclasses.dataclass(frozen=True)
class Vectors:
    """Standardised training and held-out points (float32), and the training rows' per-column scale."""

    source: str
    points: np.ndarray  # [n_train, d], standardised
    heldout: np.ndarray  # [n_heldout, d], standardised with the training rows' mean and std
    mean: np.ndarray  # [d] float64
    std: np.ndarray  # [d] float64, 1 where a column is constant

    @property
    def dim(self) -> int:
        return int(self.points.shape[1])

    def to_data_units(self, standardised) -> np.ndarray:
        """Standardised points (e.g. G(z)) in the file's own units."""
        return (np.asarray(standardised, np.float64) * self.std + self.mean).astype(np.float32)


def _read_csv(path: str) -> np.ndarray:
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = [(number, line.strip()) for number, line in enumerate(handle, 1) if line.strip()]
    rows = []
    for number, line in lines:
        try:
            rows.append([float(cell) for cell in line.split(",")])
        except ValueError:
            what = "a header row" if number == lines[0][0] else "text in a column"
            raise VectorDataError(
                f"{path} line {number} is not all numbers ({what}: {line[:60]!r}); the CSV must hold numbers "
                "only, comma-separated, with no header row and no text columns."
            ) from None
    widths = {len(row) for row in rows}
    if len(widths) > 1:
        raise VectorDataError(f"{path} has rows of {sorted(widths)} columns; every row must have as many.")
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), -1 if rows else 0)


def read_array(path: str) -> np.ndarray:
    """The file's numbers as float64 [N, d], checked (module docstring)."""
    path = os.path.expanduser(path)
    if not os.path.isfile(path):
        raise VectorDataError(f"The data file {path} is {'not a file' if os.path.exists(path) else 'missing'}; "
                              "give a .npy or .csv file of an [N, d] array.")
    extension = os.path.splitext(path)[1].lower()
    if extension not in EXTENSIONS:
        raise VectorDataError(f"The data file {path} is neither .npy nor .csv; save the array with np.save or as a "
                              "CSV of numbers.")
    if extension == ".csv":
        array = _read_csv(path)
    else:
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise VectorDataError(f"{path} is not a readable .npy array ({error}); write it with np.save.") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
        kind = getattr(array, "dtype", type(array))
        raise VectorDataError(f"{path} holds {kind}, not numbers; save a float array of shape [N, d].")
    if array.ndim != 2:
        hint = " One coordinate a point? Save x[:, None]." if array.ndim == 1 else ""
        raise VectorDataError(f"{path} holds an array of shape {array.shape}; it must be [N, d], one point a row.{hint}")
    if len(array) < 2 or array.shape[1] < 1:
        raise VectorDataError(f"{path} holds {array.shape[0]} row{'s' * (array.shape[0] != 1)} of "
                              f"{array.shape[1]} columns; training needs many points, and some are held out.")
    array = array.astype(np.float64)
    bad = ~np.isfinite(array)
    if bad.any():
        row, column = map(int, np.argwhere(bad)[0])
        raise VectorDataError(
            f"{path} holds {int(bad.sum())} NaN or infinite values (the first at row {row}, column {column}); "
            "remove or fill those rows."
        )
    return array


def array_shape(path: str) -> Tuple[int, int]:
    """[N, d] of the file, read from the .npy header alone where it can be."""
    if path.lower().endswith(".npy"):
        shape = np.load(os.path.expanduser(path), mmap_mode="r", allow_pickle=False).shape
        if len(shape) == 2:
            return int(shape[0]), int(shape[1])
    return tuple(read_array(path).shape)


def load_vectors(path: str, validation_share: float = 0.1, seed: int = 0) -> Vectors:
    """Reads, checks, splits and standardises the file (module docstring)."""
    if not 0.0 < validation_share < 1.0:
        raise ValueError(f"validation_share must lie in (0, 1), got {validation_share}.")
    array = read_array(path)
    order = np.random.default_rng(seed).permutation(len(array))
    held = min(max(1, int(round(validation_share * len(array)))), len(array) - 1)
    train, heldout = array[order[held:]], array[order[:held]]
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return Vectors(
        source=os.path.expanduser(path),
        points=((train - mean) / std).astype(np.float32),
        heldout=((heldout - mean) / std).astype(np.float32),
        mean=mean, std=std,
    )
