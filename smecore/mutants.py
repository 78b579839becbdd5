"""Mutants: named wrong equations that a claim verdict must reject.

A reproduction is only as strong as the wrong answers it would reject. Each result
of the book (S1, S2, M1, N1, ...) has mutants: the equation with the noise removed,
with the wrong drift correction, the wrong friction, the wrong time scale, and so on.
A mutant is registered by the module that owns the equation it corrupts, as a set
of keyword arguments forced on one constructor::

    register(Mutant("S2", "no-correction", "sgd_sme", {"correction": 0.0},
                    "order-2 SME without the (eta/4) grad ``|grad f|^2`` correction"))

and that constructor asks :func:`overrides` for the active mutant's keywords
before it builds the equation. Nothing is overridden unless a mutant is active, so
ordinary use is unaffected.

A chapter takes a ``mutant`` parameter (``""`` by default) and calls
:func:`activate` with it; ``python -m smecore reproduce --quick --mutants`` reruns
each chapter once per mutant of its results and records whether a claim verdict of
that result FAILed (the mutant is *killed*) or all passed (it *survived*).

This module imports nothing from smecore, so every layer may register mutants.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Mutant", "register", "registered", "get", "activate", "active", "overrides"]


@dataclass(frozen=True)
class Mutant:
    """A named wrong alternative to one equation of the book.

    Parameters
    ----------
    result : str
        The result id whose claim verdicts must reject it ("S2", "M1", ...).
    name : str
        A short name ("no-noise", "correction-1/2", "friction-r2").
    target : str
        The constructor whose keyword arguments it overrides ("sgd_sme").
    overrides : mapping
        The keyword arguments forced on ``target``.
    description : str
        What the wrong equation is, in words and symbols.
    """

    result: str
    name: str
    target: str
    overrides: Mapping = field(default_factory=dict)
    description: str = ""

    @property
    def key(self) -> str:
        """The mutant's identifier, ``"<result>:<name>"``."""
        return f"{self.result}:{self.name}"

    def __post_init__(self):
        for attr in ("result", "name", "target", "description"):
            if not isinstance(getattr(self, attr), str):
                raise TypeError(f"Mutant.{attr} must be a string")
        if not self.result or not self.name or not self.target:
            raise ValueError("a mutant needs a result id, a name and a target")
        if ":" in self.result or ":" in self.name:
            raise ValueError("result and name must not contain ':'")
        object.__setattr__(self, "overrides", types.MappingProxyType(dict(self.overrides)))


_REGISTRY: dict[str, Mutant] = {}
_ACTIVE: list[Mutant | None] = [None]


def register(mutant: Mutant) -> Mutant:
    """Add ``mutant`` to the registry (idempotent for an identical mutant).

    Raises
    ------
    TypeError
        If ``mutant`` is not a :class:`Mutant`.
    ValueError
        If another mutant with the same key is registered.
    """
    if not isinstance(mutant, Mutant):
        raise TypeError(f"mutant must be a Mutant, got {type(mutant).__name__}")
    old = _REGISTRY.get(mutant.key)
    if old is not None and old != mutant:
        raise ValueError(f"a different mutant {mutant.key!r} is already registered")
    _REGISTRY[mutant.key] = mutant
    return mutant


def registered(result: str | None = None) -> list[Mutant]:
    """The registered mutants, of one result id or of all, sorted by key.

    Examples
    --------
    >>> import smecore
    >>> [m.name for m in registered("S1")][:1] != []
    True
    """
    return sorted((m for m in _REGISTRY.values() if result is None or m.result == result),
                  key=lambda m: m.key)


def get(key: str) -> Mutant:
    """The mutant with identifier ``"<result>:<name>"``.

    Raises
    ------
    ValueError
        If no such mutant is registered; the message lists the known ones.
    """
    if not isinstance(key, str):
        raise TypeError(f"mutant must be a string '<result>:<name>', got {type(key).__name__}")
    try:
        return _REGISTRY[key]
    except KeyError:
        raise ValueError(f"mutant {key!r} is not registered; known mutants: "
                         f"{', '.join(sorted(_REGISTRY)) or 'none'}") from None


def activate(key: str | None) -> Mutant | None:
    """Make the mutant ``key`` active (``None`` or ``""``: the true equations).

    Returns the active mutant. Used by a chapter's second cell,
    ``smecore.mutants.activate(mutant)``, with ``mutant`` a papermill parameter.

    Examples
    --------
    >>> import smecore
    >>> activate("") is None
    True
    """
    _ACTIVE[0] = None if key in (None, "") else get(key)
    return _ACTIVE[0]


def active() -> Mutant | None:
    """The active mutant, or None."""
    return _ACTIVE[0]


def overrides(target: str) -> dict:
    """The keyword arguments the active mutant forces on ``target`` (empty if none)."""
    mutant = _ACTIVE[0]
    if mutant is None or mutant.target != target:
        return {}
    return dict(mutant.overrides)
