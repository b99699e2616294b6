"""One registry of evaluation metrics, each returning a flat {name: float}.

A metric is ``fn(model, dataset, *, its own options) -> {name: float}``: its
options are its keyword parameters, with their defaults. ``compute`` hands each
metric the options it declares and no others, and refuses an option that no
registered metric declares (a misspelt one would otherwise be ignored).
"""

from __future__ import annotations

import inspect
from typing import Callable, Dict, Optional

_METRICS: Dict[str, Callable[..., Dict[str, float]]] = {}
_MEANINGS: Dict[str, Dict[str, str]] = {}  # metric -> {result key: what its number means}


def register_metric(name: str, meanings: Optional[Dict[str, str]] = None):
    """Decorator: registers fn(model, dataset, **its options) -> {name: float};
    ``meanings`` says in a few words what each returned number means."""

    def decorate(fn):
        if name in _METRICS:
            raise ValueError(f"Metric {name!r} is registered twice.")
        _METRICS[name] = fn
        _MEANINGS[name] = dict(meanings or {})
        return fn

    return decorate


def meaning(key: str, metric_names) -> str:
    """What the result ``key`` of one of the metrics ``metric_names`` means; "" when
    none of them says."""
    for name in metric_names:
        if key in _MEANINGS.get(name, {}):
            return _MEANINGS[name][key]
    return ""


def names() -> list:
    return sorted(_METRICS)


def get(name: str):
    if name not in _METRICS:
        raise ValueError(f"Unknown metric {name!r}. Available: {', '.join(names())}.")
    return _METRICS[name]


def options(name: str) -> Dict[str, object]:
    """The options metric ``name`` takes, with their defaults."""
    parameters = list(inspect.signature(get(name)).parameters.values())[2:]  # after model, dataset
    return {p.name: p.default for p in parameters}


def compute(metric_names, model, dataset, **given) -> Dict[str, float]:
    """Runs the named metrics, each with the options of ``given`` it declares, and
    merges their dicts (later names win on clashes)."""
    metric_names = list(metric_names)
    for name in metric_names:
        get(name)  # an unknown name fails before any metric runs
    declared = {name: options(name) for name in names()}
    unknown = sorted(set(given) - set().union(*declared.values()))
    if unknown:
        raise ValueError(
            f"No metric takes the option(s) {', '.join(unknown)}. Options of "
            + "; ".join(f"{n}: {', '.join(declared[n]) or 'none'}" for n in metric_names) + "."
        )
    results: Dict[str, float] = {}
    for name in metric_names:
        own = {key: value for key, value in given.items() if key in declared[name]}
        results.update(get(name)(model, dataset, **own))
    return results
