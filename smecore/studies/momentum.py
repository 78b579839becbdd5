"""Weak-error sweeps of heavy-ball momentum against its SME (momentum chapter).

:func:`exact_momentum_weak_errors` uses exact moments (affine problems);
:func:`mc_momentum_weak_errors` uses Monte Carlo for any observable, with the
SME solved by a weak order-2 scheme (:func:`sme_expectation`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import finite_array, positive_float, positive_int, steps_in_horizon
from ..algorithms.methods import MomentumSGD, Nesterov
from ..algorithms.simulate import run
from ..estimation.montecarlo import MCEstimate
from ..estimation.streams import as_seed_sequence
from ..estimation.weak import settling_step, weak_error
from ..moments.recursions import momentum_moments, nesterov_moments
from ..moments.sde_moments import sde_moments
from ..sme.equations import OnPosition, momentum_sme, nesterov_sme
from ..solvers.sde_solve import solve_sde

__all__ = ["exact_momentum_weak_errors", "MCWeakErrors", "mc_momentum_weak_errors", "sme_expectation",
           "position_cov_error", "exact_nesterov_weak_errors", "DescentTimes", "descent_times",
           "constant_momentum_weak_errors", "mc_nesterov_weak_errors"]


def _step_sizes(step_sizes, damping):
    h = finite_array(step_sizes, "step_sizes", ndim=1)
    if h.size == 0 or np.any(h <= 0):
        raise ValueError("step_sizes must be a non-empty array of positive numbers")
    damping = positive_float(damping, "damping")
    if np.any(damping * h > 1):
        raise ValueError(
            f"damping * step must be <= 1 for every step (momentum 1 - damping * step >= 0); "
            f"largest step allowed {1 / damping:g}"
        )
    return h, damping


def exact_momentum_weak_errors(problem, step_sizes, damping, x0, T) -> dict:
    """Weak errors of heavy ball against its SME from exact moments (affine gradients).

    For each h, heavy ball with lr = h^2 and mu = 1 - damping h runs
    N = T / h steps (:func:`smecore.moments.momentum_moments`), and its SME
    (:func:`smecore.sme.momentum_sme` with the same damping) is evaluated at
    t = k h (``sde.times_of(k)``, :func:`smecore.moments.sde_moments`). The weak
    error is the paper's max over 0 <= k <= N of ``|E g(x_k) - E g(X_{kh})|``.

    Besides g = x and g = f it records the error of the position covariance,
    max_k max_ij ``|Cov(x_k)_ij - Cov(X_{kh})_ij|``. The covariance is O(h) (noise
    of variance h Sigma per unit time) and the SME gets it right to O(h^2):
    this is the error that sees the noise term. The SME without noise, or with
    noise of the wrong size, leaves an O(h) covariance error (order 1, not 2),
    while the errors for g = x and g = f are order 1 with or without noise.

    Parameters
    ----------
    problem : StochasticObjective
        With ``problem.affine``.
    step_sizes : array_like
        h values, > 0, each dividing T.
    damping : float
        lambda > 0, with damping * h <= 1.
    x0 : array_like, shape (d,)
        Start (V_0 = 0 for both).
    T : float
        Horizon.

    Returns
    -------
    dict
        ``"x"``: errors for g(x) = x_i (maximised over coordinates i too);
        ``"f"``: errors for g = f; ``"cov"``: errors of the position
        covariance (max over entries). Arrays of shape (len(step_sizes),).

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> err = exact_momentum_weak_errors(GaussianQuadratic([1.0]), [0.2, 0.1], 1.0, [1.0], 2.0)
    >>> [round(float(r), 2) for r in err["x"][0] / err["x"]]   # halving h halves the error
    [1.0, 2.0]
    """
    h_all, damping = _step_sizes(step_sizes, damping)
    T = positive_float(T, "T")
    out = {key: np.empty(h_all.size) for key in ("x", "f", "cov")}
    for i, h in enumerate(h_all):
        lr = float(h) ** 2
        alg = momentum_moments(problem, lr, 1.0 - damping * h, x0, steps_in_horizon(T, h))
        sde = momentum_sme(problem, lr, damping=damping)
        sme = sde_moments(sde, x0, sde.times_of(alg.steps))
        out["x"][i] = weak_error(alg.position_mean, sme.position_mean).value
        out["f"][i] = weak_error(alg.expect_value(problem), sme.expect_value(problem)).value
        out["cov"][i] = position_cov_error(alg, sme)
    return out


def position_cov_error(a, b) -> float:
    """max over records and entries of ``|Cov(x)_a - Cov(x)_b|`` for two Moments of equal length.

    Examples
    --------
    >>> from smecore.moments import sgd_moments
    >>> from smecore.problems import GaussianQuadratic
    >>> m = sgd_moments(GaussianQuadratic([1.0]), 0.1, [1.0], 3)
    >>> position_cov_error(m, m)
    0.0
    """
    d = a.dim_x
    if b.dim_x != d or a.cov.shape[0] != b.cov.shape[0]:
        raise ValueError("a and b must record the same number of times of the same dimension")
    return float(np.max(np.abs(a.cov[:, :d, :d] - b.cov[:, :d, :d])))


def sme_expectation(problem, step, damping, x0, T, observable, *, n_paths, substeps=4,
                    rng=None) -> MCEstimate:
    """Monte Carlo E g(X_T) for the heavy-ball SME with lr = step^2, by the weak order-2 scheme.

    The SME dX = V dt, dV = -(damping V + grad f) dt + step^{1/2} Sigma^{1/2} dW
    is solved with :func:`smecore.solvers.solve_sde` (``scheme="weak2"``) at
    the solver step ``step / substeps``.

    Parameters
    ----------
    problem : StochasticObjective
    step : float
        h = sqrt(lr).
    damping : float
    x0 : array_like, shape (d,)
    T : float
        A multiple of ``step``.
    observable : callable
        g(x) on positions of shape (n, d), returning (n,).
    n_paths : int
    substeps : int, default 4
    rng : seed-like, optional

    Returns
    -------
    MCEstimate
        Scalar mean and standard error of g(X_T).
    """
    step, damping = _step_sizes([step], damping)
    step = float(step[0])
    n_alg = steps_in_horizon(positive_float(T, "T"), step)
    n = n_alg * positive_int(substeps, "substeps")
    sde = momentum_sme(problem, step**2, damping=damping)
    # T is the horizon of the algorithm, N = T / step steps: the SME time of step N.
    T = float(sde.times_of(n_alg))
    stats = solve_sde(sde, x0, T, n_steps=n, scheme="weak2", n_paths=n_paths, rng=rng, record=[n],
                      observables={"g": OnPosition(observable, sde.position_dim)})
    est = stats["g"]
    return MCEstimate(np.asarray(est.mean[-1]).reshape(()), np.asarray(est.stderr[-1]).reshape(()),
                      est.n_paths)


@dataclass(frozen=True)
class MCWeakErrors:
    """Monte Carlo weak errors at time T of heavy ball against its SME.

    Attributes
    ----------
    step_sizes : ndarray, shape (n,)
        h = sqrt(lr).
    algorithm : list of MCEstimate
        E g(x_N) of heavy ball, N = T / h.
    sme : list of MCEstimate
        E g(X_T) of the SME.
    errors, stderr : ndarray, shape (n,)
        ``|difference|`` and its standard error (independent runs).
    """

    step_sizes: np.ndarray
    algorithm: list
    sme: list
    errors: np.ndarray
    stderr: np.ndarray


def mc_momentum_weak_errors(problem, step_sizes, damping, x0, T, observable, *, n_paths,
                            substeps=4, rng=None) -> MCWeakErrors:
    """Weak errors ``|E g(x_N) - E g(X_T)|``, N = T / h, by independent Monte Carlo runs.

    Heavy ball (:class:`smecore.algorithms.MomentumSGD` with lr = h^2,
    mu = 1 - damping h) and its SME (:func:`sme_expectation`, weak order-2
    solver at step h / ``substeps``) use independent random streams spawned
    from ``rng``, so the standard error of the difference is the root sum of
    squares of the two.

    Parameters
    ----------
    problem : StochasticObjective
        Any problem with ``noise_factor`` (the SME needs Sigma^{1/2}).
    step_sizes : array_like
        h values dividing T.
    damping : float
    x0 : array_like, shape (d,)
    T : float
    observable : callable
        g(x) on positions (n, d) -> (n,); must be picklable for process pools.
    n_paths : int
    substeps : int, default 4
    rng : seed-like, optional

    Returns
    -------
    MCWeakErrors

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> res = mc_momentum_weak_errors(GaussianQuadratic([1.0]), [0.2], 1.0, [1.0], 1.0,
    ...                               lambda x: x[:, 0], n_paths=2000, rng=0)
    >>> res.errors.shape, bool(res.stderr[0] > 0)
    ((1,), True)
    """
    h_all, damping = _step_sizes(step_sizes, damping)
    T = positive_float(T, "T")
    streams = as_seed_sequence(rng).spawn(2 * h_all.size)
    algorithm, sme = [], []
    for i, h in enumerate(h_all):
        h = float(h)
        N = steps_in_horizon(T, h)
        stats = run(MomentumSGD.from_damping(h**2, damping), problem, x0, N, n_paths=n_paths,
                    rng=streams[2 * i], record=[N], observables={"g": observable})
        est = stats["g"]
        algorithm.append(MCEstimate(np.asarray(est.mean[-1]).reshape(()),
                                    np.asarray(est.stderr[-1]).reshape(()), est.n_paths))
        sme.append(sme_expectation(problem, h, damping, x0, T, observable, n_paths=n_paths,
                                   substeps=substeps, rng=streams[2 * i + 1]))
    errors = np.array([abs(float(a.mean - b.mean)) for a, b in zip(algorithm, sme)])
    stderr = np.array([float(np.hypot(a.stderr, b.stderr)) for a, b in zip(algorithm, sme)])
    return MCWeakErrors(h_all, algorithm, sme, errors, stderr)


def exact_nesterov_weak_errors(problem, lrs, x0, T, *, shift=0) -> dict:
    """Weak errors of stochastic Nesterov (SNAG) against its SME from exact moments.

    For each learning rate, SNAG (:func:`smecore.moments.nesterov_moments`,
    mu_k = k/(k+3)) runs N = T / sqrt(lr) steps, and its SME
    (:func:`smecore.sme.nesterov_sme`) is evaluated by
    :func:`smecore.moments.sde_moments` at t = (k + ``shift``) sqrt(lr). The
    weak error is max over 0 <= k <= N of ``|E g(x_k) - E g(X_t)|``.

    Parameters
    ----------
    problem : StochasticObjective
        With ``problem.affine`` (Gaussian quadratic, regression, multiplicative
        noise, ...).
    lrs : array_like
        Learning rates eta > 0, with T / sqrt(eta) an integer.
    x0 : array_like, shape (d,)
    T : float
        Horizon.
    shift : int, default 0
        Compare x_k with the SME at step k + shift (1: the paper's labelling).

    Returns
    -------
    dict
        ``"x"`` (g(x) = x_i, max over i), ``"f"`` (g = f), ``"cov"`` (position
        covariance, max over entries), arrays of shape (len(lrs),).

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> err = exact_nesterov_weak_errors(GaussianQuadratic([1.0]), [1 / 16, 1 / 64], [1.0], 2.0)
    >>> [round(float(r), 1) for r in err["x"][0] / err["x"]]   # halving sqrt(lr) halves it
    [1.0, 2.0]
    """
    lrs = finite_array(lrs, "lrs", ndim=1)
    if lrs.size == 0 or np.any(lrs <= 0):
        raise ValueError("lrs must be a non-empty array of positive learning rates")
    T = positive_float(T, "T")
    shift = positive_int(shift, "shift", allow_zero=True)
    out = {key: np.empty(lrs.size) for key in ("x", "f", "cov")}
    for i, lr in enumerate(lrs):
        h = float(np.sqrt(lr))
        snag = nesterov_moments(problem, float(lr), x0, steps_in_horizon(T, h))
        sde = nesterov_sme(problem, float(lr))
        sme = sde_moments(sde, x0, sde.times_of(snag.steps + shift))
        out["x"][i] = weak_error(snag.position_mean, sme.position_mean).value
        out["f"][i] = weak_error(snag.expect_value(problem), sme.expect_value(problem)).value
        out["cov"][i] = position_cov_error(snag, sme)
    return out


@dataclass(frozen=True)
class DescentTimes:
    """Descent times of heavy ball over a grid of momenta (exact moments).

    Attributes
    ----------
    momenta : ndarray, shape (n,)
    descent : ndarray, shape (n,)
        Step after which the mean part 1/2 sum_i lam_i (E x_i)^2 of the loss
        stays below ``tol`` times its start value.
    reach : dict
        target -> steps after which E f(x_k) stays below the target (inf if never).
    best : float
        The momentum of the fastest descent on the grid.
    """

    momenta: np.ndarray
    descent: np.ndarray
    reach: dict
    best: float


def descent_times(problem, lr, momenta, x0, n_steps, *, tol=1e-3, targets=()) -> DescentTimes:
    """Descent times of heavy ball on a quadratic with diagonal Hessian, for each momentum.

    Runs :func:`smecore.moments.momentum_moments` for each mu and measures,
    with :func:`smecore.estimation.settling_step`, when the mean part of the
    loss settles below ``tol`` times its start value, and when E f settles
    below each target (momentum chapter, critical damping: result M3).

    Parameters
    ----------
    problem : StochasticObjective
        An affine problem with diagonal Hessian (``problem.affine``).
    lr : float
    momenta : array_like
        mu values in [0, 1).
    x0 : array_like, shape (d,)
    n_steps : int
    tol : float, default 1e-3
    targets : sequence of float

    Returns
    -------
    DescentTimes

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> res = descent_times(GaussianQuadratic([1.0, 0.01], batch_size=100), 0.1, [0.0, 0.9],
    ...                     [1.0, 10.0], 3000)
    >>> bool(res.descent[1] < res.descent[0]), res.best
    (True, 0.9)
    """
    momenta = finite_array(momenta, "momenta", ndim=1)
    tol = positive_float(tol, "tol")
    hess = np.diagonal(problem.affine.hessian).copy()
    descent, reach = [], {float(eps): [] for eps in targets}
    for mu in momenta:
        mom = momentum_moments(problem, lr, float(mu), x0, n_steps)
        mean_part = 0.5 * (mom.position_mean**2) @ hess
        descent.append(settling_step(mom.steps, mean_part, tol * mean_part[0]))
        for eps in reach:
            reach[eps].append(settling_step(mom.steps, mom.expect_value(problem), eps))
    descent = np.array(descent)
    return DescentTimes(momenta, descent, {k: np.array(v) for k, v in reach.items()},
                        float(momenta[int(np.argmin(descent))]))


def constant_momentum_weak_errors(problem, lrs, damping, x0, T) -> dict:
    """Nesterov and heavy ball with constant mu = 1 - damping sqrt(lr) against their common SME.

    For each learning rate: Nesterov with constant momentum
    (:func:`smecore.moments.nesterov_moments`), heavy ball
    (:func:`smecore.moments.momentum_moments`), both N = T / sqrt(lr) steps, and
    the heavy-ball SME (:func:`smecore.sme.momentum_sme`, read at
    ``sde.times_of(k)``), all by exact moments (Nesterov chapter, constant momentum).

    Parameters
    ----------
    problem : StochasticObjective
        With ``problem.affine``.
    lrs : array_like
        Learning rates, with T / sqrt(lr) an integer.
    damping : float
        gamma > 0 with damping sqrt(lr) <= 1.
    x0 : array_like, shape (d,)
    T : float

    Returns
    -------
    dict
        Weak errors of E f: ``"nesterov-msgd"``, ``"nesterov-sme"``,
        ``"msgd-sme"``; and ``"nesterov-sme-cov"``, the error of the position
        covariance of Nesterov against the SME. Arrays of shape (len(lrs),).

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> err = constant_momentum_weak_errors(GaussianQuadratic([1.0]), [1 / 64, 1 / 256], 1.0,
    ...                                     [1.0], 2.0)
    >>> bool(err["nesterov-sme"][1] < err["nesterov-sme"][0])
    True
    """
    lrs = finite_array(lrs, "lrs", ndim=1)
    if lrs.size == 0 or np.any(lrs <= 0):
        raise ValueError("lrs must be a non-empty array of positive learning rates")
    _step_sizes(np.sqrt(lrs), damping)
    T = positive_float(T, "T")
    keys = ("nesterov-msgd", "nesterov-sme", "msgd-sme", "nesterov-sme-cov")
    out = {key: np.empty(lrs.size) for key in keys}
    for i, lr in enumerate(lrs):
        lr = float(lr)
        h = np.sqrt(lr)
        mu = 1.0 - damping * h
        n = steps_in_horizon(T, h)
        nag = nesterov_moments(problem, lr, x0, n, momentum=mu)
        msgd = momentum_moments(problem, lr, mu, x0, n)
        sde = momentum_sme(problem, lr, momentum=mu)
        sme = sde_moments(sde, x0, sde.times_of(nag.steps))
        f_n, f_m, f_s = (m.expect_value(problem) for m in (nag, msgd, sme))
        out["nesterov-msgd"][i] = weak_error(f_n, f_m).value
        out["nesterov-sme"][i] = weak_error(f_n, f_s).value
        out["msgd-sme"][i] = weak_error(f_m, f_s).value
        out["nesterov-sme-cov"][i] = position_cov_error(nag, sme)
    return out


def _final_estimate(stats):
    est = stats["g"]
    return MCEstimate(np.asarray(est.mean[-1]).reshape(()), np.asarray(est.stderr[-1]).reshape(()),
                      est.n_paths)


def mc_nesterov_weak_errors(problem, lrs, x0, T, observable, *, n_paths, substeps=4,
                            rng=None) -> MCWeakErrors:
    """Weak errors ``|E g(x_N) - E g(X_T)|`` of SNAG against its SME by independent Monte Carlo runs.

    SNAG (:class:`smecore.algorithms.Nesterov`, mu_k = k/(k+3)) runs
    N = T / sqrt(lr) steps; its SME (:func:`smecore.sme.nesterov_sme`) is solved
    by :func:`smecore.solvers.solve_sde` (weak order-2 scheme with the exact r/t
    friction kernels) with N * ``substeps`` steps up to ``sde.times_of(N)``.
    The two use independent streams spawned from ``rng``; for any problem with
    ``noise_factor`` (non-quadratic f, state-dependent noise).

    Parameters
    ----------
    problem : StochasticObjective
    lrs : array_like
        Learning rates, with T / sqrt(lr) an integer.
    x0 : array_like, shape (d,)
    T : float
    observable : callable
        g(x) on positions (n, d) -> (n,); picklable.
    n_paths : int
    substeps : int, default 4
    rng : seed-like, optional

    Returns
    -------
    MCWeakErrors
        With ``step_sizes`` = sqrt(lrs).

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> res = mc_nesterov_weak_errors(GaussianQuadratic([1.0]), [1 / 16], [1.0], 1.0,
    ...                               lambda x: x[:, 0], n_paths=1000, rng=0)
    >>> res.errors.shape, bool(res.stderr[0] > 0)
    ((1,), True)
    """
    lrs = finite_array(lrs, "lrs", ndim=1)
    if lrs.size == 0 or np.any(lrs <= 0):
        raise ValueError("lrs must be a non-empty array of positive learning rates")
    T = positive_float(T, "T")
    substeps = positive_int(substeps, "substeps")
    streams = as_seed_sequence(rng).spawn(2 * lrs.size)
    algorithm, sme = [], []
    for i, lr in enumerate(lrs):
        lr = float(lr)
        N = steps_in_horizon(T, np.sqrt(lr))
        algorithm.append(_final_estimate(run(
            Nesterov(lr), problem, x0, N, n_paths=n_paths, rng=streams[2 * i], record=[N],
            observables={"g": observable})))
        sde = nesterov_sme(problem, lr)
        n = N * substeps
        sme.append(_final_estimate(solve_sde(
            sde, x0, float(sde.times_of(N)), n_steps=n, scheme="weak2", n_paths=n_paths,
            rng=streams[2 * i + 1], record=[n],
            observables={"g": OnPosition(observable, sde.position_dim)})))
    errors = np.array([abs(float(a.mean - b.mean)) for a, b in zip(algorithm, sme)])
    stderr = np.array([float(np.hypot(a.stderr, b.stderr)) for a, b in zip(algorithm, sme)])
    return MCWeakErrors(np.sqrt(lrs), algorithm, sme, errors, stderr)
