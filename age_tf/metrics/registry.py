"""One registry of evaluation metrics, each returning a flat {name: float}."""

from __future__ import annotations

from typing import Callable, Dict

_METRICS: Dict[str, Callable[..., Dict[str, float]]] = {}


def register_metric(name: str):
    """Decorator: registers fn(model, dataset, **options) -> {name: float}."""

    def decorate(fn):
        if name in _METRICS:
            raise ValueError(f"Metric {name!r} is registered twice.")
        _METRICS[name] = fn
        return fn

    return decorate


def names() -> list:
    return sorted(_METRICS)


def get(name: str):
    if name not in _METRICS:
        raise ValueError(f"Unknown metric {name!r}. Available: {', '.join(names())}.")
    return _METRICS[name]


def compute(metric_names, model, dataset, **options) -> Dict[str, float]:
    """Runs the named metrics and merges their dicts (later names win on clashes)."""
    results: Dict[str, float] = {}
    for name in metric_names:
        results.update(get(name)(model, dataset, **options))
    return results
