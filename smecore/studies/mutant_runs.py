"""Run a computation with a named wrong equation in place of the true one.

A chapter shows that a claim can fail by computing the claim's number once more
with a mutant (:mod:`smecore.mutants`) and showing that it leaves the band.
"""

from __future__ import annotations

from .. import mutants

__all__ = ["under_mutant"]


def under_mutant(key, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` computed with the mutant ``key`` active, then the previous state back.

    Whatever mutant was active before (for instance in a power run) is
    replaced during the call and restored afterwards, also on error.

    Parameters
    ----------
    key : str
        A registered mutant, ``"<result>:<name>"``; ``""`` computes with the
        true equations.
    fn : callable

    Returns
    -------
    The value of ``fn(*args, **kwargs)``.

    Raises
    ------
    ValueError
        If ``key`` is not registered.

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> from smecore.sme import momentum_sme
    >>> sde = under_mutant("M1:no-noise", momentum_sme, GaussianQuadratic([1.0]), 0.01, damping=1.0)
    >>> sde.noise_dim, mutants.active() is None
    (0, True)
    """
    if not callable(fn):
        raise TypeError("fn must be callable")
    previous = mutants.active()
    mutants.activate(key)
    try:
        return fn(*args, **kwargs)
    finally:
        mutants.activate(None if previous is None else previous.key)
