"""Test functions recorded along simulated paths, and the statistics they yield.

An *observable* is a callable ``g(x)`` mapping states ``(n_paths, d)`` to
``(n_paths,)`` or ``(n_paths, k)``. Simulators evaluate each observable at
the requested record steps and reduce it at once to per-block statistics, so
memory is bounded by the chunk, not by paths x steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .montecarlo import BlockStats, MCEstimate

__all__ = ["identity", "normalize_observables", "record_steps", "evaluate_observable",
           "StatsRecorder", "Statistics"]


def identity(x):
    """The observable g(x) = x (module-level so that it pickles)."""
    return x


def normalize_observables(observables) -> dict:
    """Return a dict name -> callable; ``None`` means ``{"x": identity}``.

    A single callable is named ``"g"``.

    Examples
    --------
    >>> sorted(normalize_observables(None))
    ['x']
    """
    if observables is None:
        return {"x": identity}
    if callable(observables):
        return {"g": observables}
    if isinstance(observables, dict) and observables:
        for name, g in observables.items():
            if not isinstance(name, str) or not callable(g):
                raise TypeError("observables must map names (str) to callables g(x)")
        return dict(observables)
    raise TypeError("observables must be None, a callable, or a non-empty dict of name -> callable")


def record_steps(record, n_steps) -> np.ndarray:
    """Validated, sorted, unique record steps in [0, n_steps]; ``None`` means every step."""
    if record is None:
        return np.arange(n_steps + 1)
    steps = np.unique(np.asarray(record))
    if steps.size == 0 or not np.issubdtype(steps.dtype, np.integer):
        raise TypeError("record must be a non-empty sequence of integer steps")
    if steps[0] < 0 or steps[-1] > n_steps:
        raise ValueError(f"record steps must lie in [0, {n_steps}], got {steps[0]}..{steps[-1]}")
    return steps.astype(int)


def evaluate_observable(name, g, x) -> np.ndarray:
    """``g(x)`` as a float array of one value (or row) per path, or an error naming ``name``.

    Examples
    --------
    >>> evaluate_observable("x", identity, np.ones((2, 1))).shape
    (2, 1)
    >>> evaluate_observable("label", lambda x: ["a"] * len(x), np.ones((2, 1)))
    Traceback (most recent call last):
    ...
    TypeError: observable 'label' must return numbers, got ['a', 'a']
    """
    raw = g(x)
    try:
        values = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        shown = repr(raw)
        shown = shown if len(shown) < 80 else shown[:77] + "..."
        raise TypeError(f"observable {name!r} must return numbers, got {shown}") from None
    if values.shape[:1] != x.shape[:1]:
        raise ValueError(
            f"observable {name!r} must return one value (or row) per path, "
            f"got shape {values.shape} for {x.shape[0]} paths"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError(f"observable {name!r} returned non-finite values")
    return values


class StatsRecorder:
    """Collects per-block statistics of observables at record steps."""

    def __init__(self, observables: dict, sizes):
        self.observables = observables
        self.sizes = sizes
        self._stats = {name: [] for name in observables}

    def record(self, x):
        for name, g in self.observables.items():
            values = evaluate_observable(name, g, x)
            self._stats[name].append(BlockStats.from_values(values, self.sizes))

    def result(self) -> dict:
        return {name: BlockStats.stack(s, axis=1) for name, s in self._stats.items()}


@dataclass(frozen=True)
class Statistics:
    """Monte Carlo statistics of observables at recorded steps or times.

    Attributes
    ----------
    times : ndarray, shape (n_rec,)
        Continuous times of the records (t = k * time_step for an algorithm).
    steps : ndarray or None
        Iteration counts of the records (algorithms only).
    estimates : dict of str to MCEstimate
        For each observable, mean and stderr of shape ``(n_rec, *value_shape)``.
    """

    times: np.ndarray
    steps: np.ndarray | None
    estimates: dict

    def __getitem__(self, name) -> MCEstimate:
        try:
            return self.estimates[name]
        except (KeyError, TypeError):
            raise KeyError(f"no observable named {name!r} was recorded; recorded: "
                           f"{', '.join(map(repr, self.estimates))}") from None

    @property
    def n_paths(self) -> int:
        return next(iter(self.estimates.values())).n_paths
