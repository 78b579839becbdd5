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

With ``coupled=True`` both runs follow the *same* Brownian path: on counter-based
streams (:mod:`smecore.solvers.kernels`) the coarse step k regenerates the Gaussian
increments of the fine steps 2k and 2k + 1 and uses their normalised sum, so nothing
is stored. Each path then gives one value of the combination
``(2^p g(X^{h/2}) - g(X^h)) / (2^p - 1)``, and the standard error is that of these
per-path values: about that of one run, where independent runs give
sqrt(4^p + 1) / (2^p - 1) times it (2.2 for Euler, 1.4 for weak order 2). The
difference ``g(X^{h/2}) - g(X^h)``, whose mean is the leading solver error, is resolved
far better still: the two solutions differ by O(h^{1/2}) in mean square, not O(1). Each
run keeps its law, so every estimate is unbiased.

References
----------
D. Talay and L. Tubaro, Expansion of the global error for numerical schemes
solving stochastic differential equations, Stochastic Anal. Appl. 8(4), 1990.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_finite_state, one_of, positive_float, positive_int
from ..estimation.counter import counter_key
from ..estimation.montecarlo import BlockStats, MCEstimate, counter_monte_carlo
from ..estimation.observables import (
    Statistics,
    evaluate_observable,
    normalize_observables,
    record_steps,
)
from ..estimation.streams import DEFAULT_BLOCK_SIZE, as_seed_sequence
from .kernels import counter_step
from .sde_solve import _check_sde, _check_t0, _initial_state, solve_sde

__all__ = ["talay_tubaro"]

_ORDERS = {"euler": 1, "weak2": 2}


def talay_tubaro(sde, x0, T, *, n_steps, n_paths, scheme="euler", rng=None, record=None,
                 observables=None, coupled=False, **solve_kwargs) -> Statistics:
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
    coupled : bool, default False
        Run both step sizes on one Brownian path per path (counter-based Gaussian
        streams, numpy reference of ``smecore.solvers.kernels``; a
        :class:`~smecore.sme.DiagonalNoiseSDE` is required). The result then also has
        ``"coarse:<name>"``, ``"fine:<name>"`` and ``"diff:<name>"`` (fine minus coarse,
        per path) estimates.
    **solve_kwargs
        Passed on to :func:`~smecore.solvers.solve_sde` (``increments``, ``t0``,
        ``backend``, ``chunk_size``, ``executor``, ...); with ``coupled=True`` only
        ``t0``, ``block_size``, ``chunk_size`` and ``executor`` apply.

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
    if coupled:
        return _coupled_talay_tubaro(sde, x0, T, n_steps, n_paths, scheme, rng, steps,
                                     observables, **solve_kwargs)
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


class _CoupledPairChunk:
    """Paths [p_start, p_start + sum(sizes)) at steps h and h/2 on one counter key."""

    def __init__(self, sde, x0, t0, h, scheme, steps, observables, key, weight):
        self.sde, self.x0, self.t0, self.h, self.scheme = sde, x0, t0, h, scheme
        self.steps, self.observables, self.key, self.weight = steps, observables, key, weight

    def _record(self, stats, x_coarse, x_fine, sizes):
        w = self.weight
        for name, g in self.observables.items():
            c = evaluate_observable(name, g, x_coarse)
            f = evaluate_observable(name, g, x_fine)
            for label, values in ((name, (w * f - c) / (w - 1.0)), (f"coarse:{name}", c),
                                  (f"fine:{name}", f), (f"diff:{name}", f - c)):
                stats[label].append(BlockStats.from_values(values, sizes))

    def __call__(self, p_start, sizes):
        sizes = list(sizes)
        n = int(sum(sizes))
        p = np.arange(p_start, p_start + n)
        stats = {label: [] for name in self.observables
                 for label in (name, f"coarse:{name}", f"fine:{name}", f"diff:{name}")}
        x_coarse = np.empty((n, self.x0.size))
        x_coarse[:] = self.x0
        x_fine = x_coarse.copy()
        h, half, k = self.h, 0.5 * self.h, 0
        for target in self.steps:
            while k < target:
                with np.errstate(over="ignore", invalid="ignore"):
                    x_coarse = counter_step(self.sde, x_coarse, self.t0 + k * h, h, self.key, p, k,
                                            scheme=self.scheme, coarsen=2)
                    for r in (0, 1):
                        kf = 2 * k + r
                        x_fine = counter_step(self.sde, x_fine, self.t0 + kf * half, half,
                                              self.key, p, kf, scheme=self.scheme)
                k += 1
                check_finite_state(x_coarse, k, "SDE solve (coarse)")
                check_finite_state(x_fine, 2 * k, "SDE solve (fine)")
            self._record(stats, x_coarse, x_fine, sizes)
        return {label: BlockStats.stack(v, axis=1) for label, v in stats.items()}


def _coupled_talay_tubaro(sde, x0, T, n_steps, n_paths, scheme, rng, steps, observables, *,
                          t0=0.0, block_size=DEFAULT_BLOCK_SIZE, chunk_size=None, executor=None,
                          increments="gaussian", backend=None):
    sde = _check_sde(sde)
    if getattr(sde, "noise_type", "general") != "diagonal":
        raise ValueError("coupled=True needs a DiagonalNoiseSDE (counter-based streams); "
                         "use coupled=False for other SDEs")
    if increments != "gaussian":
        raise ValueError(f"coupled=True needs increments='gaussian', got {increments!r}: the "
                         "normalised sum of two discrete increments has another law, which "
                         "changes the leading weak-error constant of the coarse run")
    if scheme == "weak2" and sde.scale is None:
        raise ValueError("scheme='weak2' on counter streams needs additive noise (a constant scale)")
    x0 = _initial_state(sde, x0)
    T = positive_float(T, "T")
    t0 = _check_t0(t0)
    observables = normalize_observables(observables)
    h = T / n_steps
    chunk = _CoupledPairChunk(sde, x0, t0, h, scheme, steps, observables, counter_key(rng),
                              2.0 ** _ORDERS[scheme])
    estimates = counter_monte_carlo(chunk, n_paths, block_size=block_size,
                                    chunk_size=chunk_size, executor=executor)
    return Statistics(t0 + steps * h, steps, estimates)
