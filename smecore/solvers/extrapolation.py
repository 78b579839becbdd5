"""Talay-Tubaro extrapolation: two step sizes combined to cancel the leading weak error.

For a scheme of weak order p whose error has an expansion
E g(X^h_T) - E g(X_T) = C h^p + O(h^{p+1}) (Talay & Tubaro 1990 prove it for the
Euler scheme, p = 1, for smooth g and coefficients),

    (2^p E g(X^{h/2}_T) - E g(X^h_T)) / (2^p - 1)

has weak error O(h^{p+1}): for Euler, ``2 E_{h/2} - E_h`` is of weak order 2.
:func:`talay_tubaro` runs :func:`smecore.solvers.solve_sde` at ``n_steps`` and
``2 n_steps`` on independent streams (children of ``rng``) and combines the
estimates; the standard error is that of the combination,
sqrt(4^p se_fine^2 + se_coarse^2) / (2^p - 1).

References
----------
D. Talay and L. Tubaro, Expansion of the global error for numerical schemes
solving stochastic differential equations, Stochastic Anal. Appl. 8(4), 1990.
"""

from __future__ import annotations

import numpy as np

from .._validation import one_of, positive_int
from ..estimation.montecarlo import MCEstimate
from ..estimation.observables import Statistics, record_steps
from ..estimation.streams import as_seed_sequence
from .sde_solve import solve_sde

__all__ = ["talay_tubaro"]

_ORDERS = {"euler": 1, "weak2": 2}


def talay_tubaro(sde, x0, T, *, n_steps, n_paths, scheme="euler", rng=None, record=None,
                 observables=None, **solve_kwargs) -> Statistics:
    """Richardson (Talay-Tubaro) extrapolation of Monte Carlo SDE statistics.

    Parameters
    ----------
    sde, x0, T, n_paths, observables
        As in :func:`smecore.solvers.solve_sde`.
    n_steps : int
        Steps of the coarse run (step h = T / n_steps); the fine run takes 2 n_steps.
    scheme : {"euler", "weak2"}
        The weak order p (1 or 2) the combination assumes.
    rng : seed-like, optional
        Split by ``SeedSequence.spawn(2)`` into the coarse and the fine run.
    record : sequence of int, optional
        Coarse step indices (default every coarse step); the fine run records 2 k.
    **solve_kwargs
        Passed on to :func:`~smecore.solvers.solve_sde` (``increments``, ``t0``,
        ``backend``, ``chunk_size``, ``executor``, ...).

    Returns
    -------
    Statistics
        Times of the coarse grid; per observable the extrapolated mean and its
        standard error (``n_paths`` counts the paths of one run).

    Raises
    ------
    TypeError, ValueError
        For bad arguments (as :func:`~smecore.solvers.solve_sde`, and ``scheme``
        other than ``"euler"`` or ``"weak2"``).

    Examples
    --------
    Ornstein-Uhlenbeck dX = -X dt + dW from 1 with 4 Euler steps: E X_1 = exp(-1).

    >>> from smecore.sme.polynomial import PolynomialDiagonalSDE
    >>> ou = PolynomialDiagonalSDE([0.0, -1.0], dim=1, scale=1.0)
    >>> st = talay_tubaro(ou, [1.0], 1.0, n_steps=4, n_paths=50_000, rng=0, record=[4],
    ...                   backend="numba")
    >>> bool(abs(st["x"].mean[-1, 0] - np.exp(-1)) < 4 * st["x"].stderr[-1, 0] + 0.01)
    True
    """
    one_of(scheme, "scheme", tuple(_ORDERS))
    n_steps = positive_int(n_steps, "n_steps")
    steps = record_steps(record, n_steps)
    coarse_rng, fine_rng = as_seed_sequence(rng).spawn(2)
    common = dict(n_paths=n_paths, scheme=scheme, observables=observables, **solve_kwargs)
    coarse = solve_sde(sde, x0, T, n_steps=n_steps, rng=coarse_rng, record=steps, **common)
    fine = solve_sde(sde, x0, T, n_steps=2 * n_steps, rng=fine_rng, record=2 * steps, **common)
    w = 2.0 ** _ORDERS[scheme]
    estimates = {}
    for name, c in coarse.estimates.items():
        f = fine[name]
        mean = (w * f.mean - c.mean) / (w - 1.0)
        stderr = np.sqrt(w * w * f.stderr**2 + c.stderr**2) / (w - 1.0)
        estimates[name] = MCEstimate(mean, stderr, c.n_paths)
    return Statistics(coarse.times, coarse.steps, estimates)
