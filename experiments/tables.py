"""Markdown tables of results: mean (standard error) cells, rows and headers."""

from __future__ import annotations

import math


def mean_and_stderr(values):
    """(mean, standard error of the mean); the error is NaN for fewer than two values."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, float("nan")
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def markdown_row(cells) -> str:
    """One line of a Markdown table: ``| a | b | c |``."""
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def markdown_header(headers) -> list:
    """A Markdown table's header line and its ``|---|`` rule."""
    return [markdown_row(headers), "|---" * len(headers) + "|"]
