"""Weak errors of SGD against its SMEs on a user's own problem (chapter "Your own problem").

:func:`coupled_weak_errors` sweeps learning rates with the coupled estimator
(:func:`smecore.solvers.coupled_sgd_sme`) on a problem with Gaussian gradient
noise, e.g. the Gaussian-noise version of a finite sum
(``FunctionObjective(..., noise="gaussian")``) with the same mean and
covariance; :func:`plain_weak_error` compares SGD on the problem itself (a
finite sum) with its SME by independent Monte Carlo runs;
:func:`scheme_spread` measures the spread of SGD's iterate under the sampling
schemes of :mod:`smecore.problems.sampling` against the SME's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import finite_array, positive_float, positive_int, steps_in_horizon
from ..algorithms.methods import SGD
from ..algorithms.simulate import run
from ..estimation.streams import as_seed_sequence
from ..estimation.weak import OrderFit, fit_order
from ..sme.equations import sgd_sme
from ..solvers.coupled import coupled_sgd_sme
from ..solvers.sde_solve import solve_sde

__all__ = ["WeakErrorSweep", "coupled_weak_errors", "plain_weak_error", "scheme_spread"]


@dataclass(frozen=True)
class WeakErrorSweep:
    """Weak errors ``|E g(x_N) - E g(X_T)|`` over learning rates, with a fitted order.

    Attributes
    ----------
    lrs : ndarray
        Learning rates.
    errors, stderr : ndarray
        The signed errors E g(x_N) - E g(X_T) and their standard errors.
    fit : OrderFit
        Order fitted to ``|errors|`` (with the standard errors).
    """

    lrs: np.ndarray
    errors: np.ndarray
    stderr: np.ndarray
    fit: OrderFit


#: Paths of SGD alone per coupled pair when there is nothing to couple (noise-free SME).
UNCOUPLED_FACTOR = 16


def _lrs(lrs, T):
    lrs = finite_array(lrs, "lrs", ndim=1)
    if lrs.size < 2 or np.any(lrs <= 0):
        raise ValueError("lrs must hold at least two positive learning rates")
    T = positive_float(T, "T")
    return lrs, T, [steps_in_horizon(T, lr) for lr in lrs]


def coupled_weak_errors(problem, lrs, T, x0, observable, *, order, n_paths, rng=None,
                        substeps=4, scheme="weak2", progress=None) -> WeakErrorSweep:
    """Weak errors at time T of SGD against its SME of ``order``, by the coupled estimator.

    For each learning rate, :func:`~smecore.solvers.coupled_sgd_sme` drives
    SGD and the SME (solved by ``scheme`` with ``substeps`` solver steps per
    SGD step) with shared normals; the per-path difference gives the error
    with a standard error that shrinks with the learning rate. Each learning
    rate gets an independent stream (spawned from ``rng``). If the SME has no
    noise (the ``no-noise`` mutant), there is nothing to couple: E g(x_N)
    comes from ``UNCOUPLED_FACTOR * n_paths`` (16 n) SGD runs, which cost
    less than the coupled pairs, and the ODE from one solve.

    Parameters
    ----------
    problem : StochasticObjective
        With Gaussian gradient noise.
    lrs : array_like
        Learning rates; ``T`` must be a multiple of each.
    T : float
    x0 : array_like, shape (d,)
    observable : callable
        g(x), (n, d) -> (n,).
    order : {1, 2}
    n_paths : int
    rng : seed-like, optional
    substeps : int, default 4
    scheme : {"weak2", "euler"}
    progress : bool, optional
        See :func:`smecore.estimation.monte_carlo`.

    Returns
    -------
    WeakErrorSweep

    Examples
    --------
    >>> import numpy as np
    >>> from smecore.problems import GaussianQuadratic
    >>> sweep = coupled_weak_errors(GaussianQuadratic([1.0]), [0.2, 0.1], 1.0, [1.0],
    ...                             lambda x: x[:, 0] ** 2, order=1, n_paths=2000, rng=0)
    >>> sweep.errors.shape, bool(sweep.fit.order > 0)
    ((2,), True)
    """
    lrs, T, steps = _lrs(lrs, T)
    n_paths = positive_int(n_paths, "n_paths")
    seeds = as_seed_sequence(rng).spawn(len(lrs))
    errors, stderr = np.empty(len(lrs)), np.empty(len(lrs))
    for i, (lr, n) in enumerate(zip(lrs, steps)):
        sde = sgd_sme(problem, lr, order)
        if sde.noise:
            stats = coupled_sgd_sme(problem, lr, n, x0, order=order, substeps=substeps, scheme=scheme,
                                    n_paths=n_paths, rng=seeds[i], record=[n],
                                    observables={"g": observable}, progress=progress)
            est = stats["diff:g"]
            errors[i], stderr[i] = float(est.mean[-1]), float(est.stderr[-1])
        else:
            sgd = run(SGD(lr), problem, x0, n, n_paths=UNCOUPLED_FACTOR * n_paths, rng=seeds[i], record=[n],
                      observables={"g": observable}, progress=progress)["g"]
            ode = solve_sde(sde, x0, T, n_steps=n * substeps, scheme=scheme, n_paths=1, rng=0,
                            record=[n * substeps], observables={"g": observable})["g"]
            errors[i] = float(sgd.mean[-1]) - float(ode.mean[-1])
            stderr[i] = float(sgd.stderr[-1])
    fit = fit_order(lrs, np.abs(errors), stderr)
    return WeakErrorSweep(lrs, errors, stderr, fit)


def plain_weak_error(problem, lr, T, x0, observable, *, order, n_paths, rng=None, substeps=4,
                     scheme="weak2", progress=None):
    """E g(x_N) - E g(X_T) from independent runs of SGD on ``problem`` and of its SME.

    Works for any problem (a finite sum included); the standard error does
    not shrink with the learning rate, so only large errors are resolved.

    Returns
    -------
    tuple of float
        (error, stderr).

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> e, se = plain_weak_error(GaussianQuadratic([1.0]), 0.25, 1.0, [1.0], lambda x: x[:, 0],
    ...                          order=1, n_paths=4000, rng=0)
    >>> bool(se > 0)
    True
    """
    lr = positive_float(lr, "lr")
    T = positive_float(T, "T")
    n = steps_in_horizon(T, lr)
    a, b = as_seed_sequence(rng).spawn(2)
    sgd = run(SGD(lr), problem, x0, n, n_paths=n_paths, rng=a, record=[n],
              observables={"g": observable}, progress=progress)["g"]
    sme = solve_sde(sgd_sme(problem, lr, order), x0, T, n_steps=n * substeps, scheme=scheme,
                    n_paths=n_paths, rng=b, record=[n * substeps], observables={"g": observable},
                    progress=progress)["g"]
    return (float(sgd.mean[-1]) - float(sme.mean[-1]),
            float(np.hypot(sgd.stderr[-1], sme.stderr[-1])))


def scheme_spread(problem, lr, T, x0, *, schemes, n_paths, rng=None, order=1, substeps=4,
                  progress=None) -> dict:
    """Spread of SGD's iterate at time T under each sampling scheme, and of the SME's.

    The spread is the total variance ``tr Cov(x_N) = E|x_N - c|^2 - |E(x_N - c)|^2``,
    centred at c, the gradient-flow solution at T (so the two terms do not
    cancel and the standard error, by the delta method, stays small). SGD
    runs on ``problem.with_sampling(scheme)``; the SME of ``order`` (with the
    with-replacement covariance) is solved by the weak order-2 scheme.

    Returns
    -------
    dict
        ``{name: (spread, stderr)}`` for each scheme and ``"sme"``.

    Examples
    --------
    >>> from smecore.problems import LinearRegression
    >>> p = LinearRegression([[1.0], [2.0], [3.0], [4.0]], [1.0, 1.0, 2.0, 4.0])
    >>> out = scheme_spread(p, 0.05, 1.0, [0.0], schemes=["reshuffling"], n_paths=1000, rng=0)
    >>> sorted(out)
    ['reshuffling', 'sme']
    """
    lr = positive_float(lr, "lr")
    T = positive_float(T, "T")
    n = steps_in_horizon(T, lr)
    flow = sgd_sme(problem, lr, 1, noise=False, correction=0.0)
    centre = solve_sde(flow, x0, T, n_steps=n * substeps, scheme="weak2", n_paths=1, rng=0,
                       record=[n * substeps])["x"].mean[-1]
    obs = {"dx": _Shift(centre), "r2": _Squared(centre)}
    seeds = as_seed_sequence(rng).spawn(len(schemes) + 1)
    out = {}
    for seed, scheme in zip(seeds, schemes):
        stats = run(SGD(lr), problem.with_sampling(scheme), x0, n, n_paths=n_paths, rng=seed,
                    record=[n], observables=obs, progress=progress)
        out[scheme] = _spread(stats)
    stats = solve_sde(sgd_sme(problem, lr, order), x0, T, n_steps=n * substeps, scheme="weak2",
                      n_paths=n_paths, rng=seeds[-1], record=[n * substeps], observables=obs,
                      progress=progress)
    out["sme"] = _spread(stats)
    return out


class _Shift:
    """x -> x - c (a class, so that it pickles)."""

    def __init__(self, c):
        self.c = np.asarray(c, dtype=float)

    def __call__(self, x):
        return x - self.c


class _Squared(_Shift):
    """x -> ``|x - c|^2``."""

    def __call__(self, x):
        return np.sum((x - self.c) ** 2, axis=-1)


def _spread(stats):
    k, h = stats["dx"], stats["r2"]
    mk, sk = np.asarray(k.mean[-1]), np.asarray(k.stderr[-1])
    spread = float(h.mean[-1]) - float(mk @ mk)
    return spread, float(np.sqrt(float(h.stderr[-1]) ** 2 + np.sum((2 * mk * sk) ** 2)))
