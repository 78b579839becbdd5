"""Verdicts: a measured number, the band it must fall in, and PASS or FAIL.

Chapters end each argument with a verdict cell. :class:`Verdicts` prints one
rounded line per check (what nbval compares) and keeps a machine-readable
record (result id, quantity, value, uncertainty, band, method, seed), which
the reproduction report collects. When the environment variable
``SMECORE_REPORT_DIR`` is set, :meth:`Verdicts.save` writes the records there
as ``<chapter>.json``.
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


def _fmt(value, digits):
    if value is None:
        return "-"
    if isinstance(value, float) and (math.isinf(value) or math.isnan(value)):
        return str(value)
    return f"{value:.{digits}g}"


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

    def line(self, digits: int = 3) -> str:
        band = f"[{_fmt(self.low, digits)}, {_fmt(self.high, digits)}]"
        unc = f" +/- {_fmt(self.uncertainty, 2)}" if self.uncertainty is not None else ""
        status = "PASS" if self.passed else "FAIL"
        tag = self.method if self.kind is None else f"{self.method}; {self.kind}"
        return (f"{status}  {self.result:<3} {self.quantity}: {self.shown_value(digits)}{unc}"
                f"  band {band}  ({tag})")

    def shown_value(self, digits: int = 3) -> str:
        """The value as printed; errors at rounding level print as '< 1e-12'.

        Their digits depend on the BLAS build and the order of floating-point
        operations, so printing them would make stored outputs machine-specific.
        """
        if self.low == 0 and 0 <= self.value < ROUNDING_FLOOR:
            return f"< {ROUNDING_FLOOR:g}"
        return _fmt(self.value, digits)


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
    PASS  S2  closed form vs engine, relative error: < 1e-12  band [0, 1e-10]  (exact; consistency)
    True
    >>> v.all_passed
    True
    """

    chapter: str
    seed: int | None = None
    records: list = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def check(self, result, quantity, value, low=None, high=None, *, method, uncertainty=None,
              digits=3, kind=None) -> bool:
        """Check ``low <= value <= high`` (either bound may be None), print and record it.

        ``kind`` is one of ``KINDS``; every chapter verdict declares it.
        """
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if kind is not None and kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if low is None and high is None:
            raise ValueError("a verdict needs a band: give low, high or both")
        value = float(value)
        ok = math.isfinite(value) and (low is None or value >= low) and (high is None or value <= high)
        v = Verdict(result, quantity, value, None if low is None else float(low),
                    None if high is None else float(high), method,
                    None if uncertainty is None else float(uncertainty), bool(ok), kind)
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
