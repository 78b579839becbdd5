"""Verdicts: a measured number, the band it must fall in, and PASS or FAIL.

Chapters end each argument with a verdict cell. :class:`Verdicts` prints one
rounded line per check (what nbval compares) and keeps a machine-readable
record (result id, quantity, value, uncertainty, band, method, seed), which
the reproduction report collects. When the environment variable
``SMECORE_REPORT_DIR`` is set, :meth:`Verdicts.save` writes the records there
as ``<chapter>.json``.

How values are printed
----------------------
A checked cell is compared by nbval with a fresh run on another machine, whose CPU, BLAS
kernels and thread count change the last bits of every floating-point result. So a verdict
line shows a value only to the digits it has on *any* IEEE-754 machine
(:meth:`Verdict.shown_value` owns the rule):

* ``resolution`` (absolute precision, stated by the caller of :meth:`Verdicts.check`): digits
  below the decade of ``resolution`` are not printed, and a value with ````|value|`` <
  resolution`` prints as the bound ``< resolution`` (e.g. ``< 1e-10``). Give it for anything
  dominated by rounding or cancellation: solver or grid errors, differences of nearly equal
  numbers, relative errors of identities (``resolution=1e-10`` for a relative error whose
  band is ``[0, 1e-8]``).
* ``uncertainty`` (a Monte Carlo standard error, say) sets the resolution when none is given:
  the value is printed to the decade of its standard error (``1.01 +/- 0.094``), never as a
  bound, and with at least one significant digit.
* A band ``[0, tol]`` with ``tol <= 1e-6`` (``ROUNDING_TOLERANCE``) checks an identity to
  rounding: without an explicit ``resolution`` it gets ``resolution = tol``, so a passing
  value prints as a bound (``< 1e-12`` when it is below ``ROUNDING_FLOOR``).
* Neither: exact values print with ``digits`` (default 3) significant digits; an error measure
  checked against a band starting at 0 that lies below ``ROUNDING_FLOOR`` prints as
  ``< 1e-12``.

``digits`` is always an upper limit. Monte Carlo checks print z-scores
(:meth:`Verdicts.within_stderr`), whose digits do not depend on the machine.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field

__all__ = ["METHODS", "KINDS", "ROUNDING_FLOOR", "Verdict", "Verdicts"]


METHODS = ("exact", "backward", "monte carlo", "closed form", "ode")


#: What a verdict tests. ``claim``: a statement of the paper, of a cited work or of the book;
#: ``consistency``: two implementations or an identity agree; ``numerics``: the accuracy of a
#: solver, grid or quadrature. Only claim verdicts count as reproducing a result.
KINDS = ("claim", "consistency", "numerics")


#: Error measures below this (with a band starting at 0) are printed as "< 1e-12".
ROUNDING_FLOOR = 1e-12
#: A band [0, tol] with tol at most this checks an identity to rounding error; without an
#: explicit ``resolution`` a passing value prints as a bound ("< 1e-12" or "< tol").
ROUNDING_TOLERANCE = 1e-6


def _fmt(value, digits, resolution=None):
    """``value`` with at most ``digits`` significant digits, none below the decade of ``resolution``."""
    if value is None:
        return "-"
    if isinstance(value, float) and (math.isinf(value) or math.isnan(value)):
        return str(value)
    if resolution is not None and value != 0:
        # significant digits down to (and including) the decade of the resolution
        known = math.floor(math.log10(abs(value))) - math.floor(math.log10(resolution)) + 1
        digits = max(1, min(digits, known))
    return f"{value:.{digits}g}"


def _bound(resolution):
    return f"< {resolution:.2g}"


@dataclass
class Verdict:
    """One checked number."""

    result: str
    quantity: str
    value: float
    low: float | None
    high: float | None
    method: str
    uncertainty: float | None = None
    passed: bool = False
    kind: str | None = None
    resolution: float | None = None

    def line(self, digits: int = 3) -> str:
        band = f"[{_fmt(self.low, digits)}, {_fmt(self.high, digits)}]"
        unc = f" +/- {_fmt(self.uncertainty, 2)}" if self.uncertainty is not None else ""
        status = "PASS" if self.passed else "FAIL"
        tag = self.method if self.kind is None else f"{self.method}; {self.kind}"
        return (f"{status}  {self.result:<3} {self.quantity}: {self.shown_value(digits)}{unc}"
                f"  band {band}  ({tag})")

    def shown_value(self, digits: int = 3) -> str:
        """The value as printed: only the digits it has on any IEEE-754 machine.

        With a ``resolution``, digits below its decade are dropped and ````|value|`` <
        resolution`` prints as ``'< resolution'``; with only an ``uncertainty``, the value is
        printed to the decade of the uncertainty; otherwise with ``digits`` significant
        digits, and an error measure below ``ROUNDING_FLOOR`` (band starting at 0) as
        ``'< 1e-12'``. Digits that depend on the BLAS build and the order of floating-point
        operations would make stored outputs machine-specific. See the module docstring.

        Examples
        --------
        >>> Verdict("S2", "grid error / weak error", 5.7e-6, 0, 0.01, "backward",
        ...         resolution=1e-5).shown_value()
        '< 1e-05'
        >>> Verdict("S2", "grid error / weak error", 5.09e-5, 0, 0.01, "backward",
        ...         resolution=1e-5).shown_value()
        '5e-05'
        >>> Verdict("S1", "order", 1.0123, 0.8, 1.2, "monte carlo", uncertainty=0.094).shown_value()
        '1.01'
        >>> Verdict("S1", "order", 0.968, 0.7, 1.3, "monte carlo", uncertainty=0.28).shown_value()
        '1'
        >>> Verdict("L5", "relative error", 3e-11, 0, 1e-8, "exact", resolution=1e-10).shown_value()
        '< 1e-10'
        >>> Verdict("L5", "relative error", 3e-13, 0, 1e-8, "exact").shown_value()
        '< 1e-12'
        """
        value = self.value
        if not math.isfinite(value):
            return str(value)
        if self.resolution is not None:
            if abs(value) < self.resolution:
                return _bound(self.resolution)
            return _fmt(value, digits, self.resolution)
        if self.uncertainty is not None and math.isfinite(self.uncertainty) and self.uncertainty > 0:
            return _fmt(value, digits, self.uncertainty)
        if self.low == 0 and 0 <= value < ROUNDING_FLOOR:
            return _bound(ROUNDING_FLOOR)
        return _fmt(value, digits)


@dataclass
class Verdicts:
    """Collects and prints the verdicts of one chapter.

    Parameters
    ----------
    chapter : str
        Chapter name (the notebook's file stem).
    seed : int or None
        The chapter's seed, recorded with every verdict.

    Examples
    --------
    >>> v = Verdicts("demo", seed=1)
    >>> v.check("S1", "fitted order", 1.0004, 0.9, 1.1, method="exact", kind="claim")
    PASS  S1  fitted order: 1  band [0.9, 1.1]  (exact; claim)
    True
    >>> v.check("S2", "closed form vs engine, relative error", 3.1e-16, 0, 1e-10, method="exact",
    ...         kind="consistency")
    PASS  S2  closed form vs engine, relative error: < 1e-10  band [0, 1e-10]  (exact; consistency)
    True
    >>> v.all_passed
    True
    """

    chapter: str
    seed: int | None = None
    records: list = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def check(self, result, quantity, value, low=None, high=None, *, method, uncertainty=None,
              digits=3, kind=None, resolution=None) -> bool:
        """Check ``low <= value <= high`` (either bound may be None), print and record it.

        ``kind`` is one of ``KINDS``; every chapter verdict declares it. ``resolution``
        is the absolute precision the value has on any machine (rounding, cancellation,
        solver tolerance): the printed value drops the digits below it, and a value smaller
        than it prints as ``< resolution``. ``uncertainty`` (a standard error) sets the
        printed precision when no ``resolution`` is given; ``digits`` caps the significant
        digits. The check itself always uses the exact value. See the module docstring.
        """
        if resolution is not None:
            try:
                resolution = float(resolution)
            except (TypeError, ValueError):
                raise TypeError(f"resolution must be a positive number, got {resolution!r}") from None
            if not (math.isfinite(resolution) and resolution > 0):
                raise ValueError(f"resolution must be a positive finite number, got {resolution!r}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if kind is not None and kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if low is None and high is None:
            raise ValueError("a verdict needs a band: give low, high or both")
        if (resolution is None and uncertainty is None and low == 0 and high is not None
                and 0 < high <= ROUNDING_TOLERANCE):
            # A band [0, tol] with tol at rounding level checks an identity: its value is
            # rounding noise, so only a bound is machine-independent (values well below tol
            # print as "< 1e-12" through ROUNDING_FLOOR, the others as "< tol").
            resolution = high
        value = float(value)
        ok = math.isfinite(value) and (low is None or value >= low) and (high is None or value <= high)
        v = Verdict(result, quantity, value, None if low is None else float(low),
                    None if high is None else float(high), method,
                    None if uncertainty is None else float(uncertainty), bool(ok), kind,
                    resolution)
        self.records.append(v)
        print(v.line(digits))
        return v.passed

    def within_stderr(self, result, quantity, estimate, expected, stderr, *, n_se=4.0, digits=3,
                      kind=None):
        """Monte Carlo check: ``|estimate - expected| <= n_se * stderr``, printed as a z-score."""
        z = abs(float(estimate) - float(expected)) / float(stderr) if stderr > 0 else math.inf
        return self.check(result, f"{quantity} |z|", z, 0.0, n_se, method="monte carlo",
                          digits=digits, kind=kind)

    @property
    def all_passed(self) -> bool:
        return all(v.passed for v in self.records)

    def summary(self) -> str:
        n_pass = sum(v.passed for v in self.records)
        return f"{n_pass} of {len(self.records)} verdicts PASS"

    def save(self, directory=None):
        """Write the records as JSON to ``directory`` or ``$SMECORE_REPORT_DIR`` (if set)."""
        directory = directory or os.environ.get("SMECORE_REPORT_DIR")
        if not directory:
            return None
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, f"{self.chapter}.json")
        payload = {
            "chapter": self.chapter,
            "seed": self.seed,
            "wall_time": time.perf_counter() - self.started,
            "verdicts": [asdict(v) for v in self.records],
        }
        with open(path, "w") as fh:
            json.dump(payload, fh, indent=1)
        return path
