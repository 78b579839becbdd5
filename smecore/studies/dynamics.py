"""The claim computations of the dynamics chapter (results D1, A1 and D2).

Each function compares the discrete algorithm, computed exactly (moment
recursions, backward recursion) or by Monte Carlo, against the formula or
equation a claim is about, through the constructors that the mutants of these
results corrupt (see :mod:`smecore.mutants`):

* D1 (Li, Tai & E 2019, the Ornstein-Uhlenbeck example): :func:`phase_split_errors`
  and :func:`sgd_level_check` test SGD's phases and stationary level
  (:func:`smecore.moments.sgd_quadratic_phases`, :func:`smecore.moments.sgd_quadratic_level`).
* A1 (Li, Tai & E, ICML 2017): :func:`expansion_backward_errors` and
  :func:`expansion_variance_mc` test X_t = X0_t + sqrt(eta) X1_t
  (:func:`smecore.sme.asymptotic_expansion`); :func:`csgd_check` tests the cSGD
  feedback law (:class:`smecore.algorithms.CSGDSchedule`) against the optimum of
  the discrete algorithm.
* D2 (the book's linear scaling rule): :func:`scaling_family` and
  :func:`scaling_level_check` (:func:`smecore.algorithms.scaled_batch_size`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import DivergenceError, finite_array, positive_float, positive_int, state_vector
from ..algorithms.methods import SGD
from ..algorithms.scaling import scaled_batch_size
from ..algorithms.schedules import ConstantSchedule, CSGDSchedule, ScheduledSGD
from ..algorithms.simulate import run
from ..estimation.streams import as_seed_sequence
from ..estimation.weak import fit_order
from ..moments.backward import sgd_expectations
from ..moments.recursions import sgd_moments
from ..moments.scheduled import csgd_discrete_optimum, scheduled_sgd_moments
from ..moments.sde_moments import sde_moments
from ..moments.stationary import (sde_stationary_moments, sgd_quadratic_level, sgd_quadratic_phases,
                                  sgd_stationary_moments)
from ..problems.quadratic import GaussianQuadratic
from ..sme.equations import sgd_sme
from ..sme.expansion import asymptotic_expansion

__all__ = ["phase_split_errors", "LevelCheck", "sgd_level_check", "scaling_level_check",
           "ExpansionErrors", "expansion_backward_errors", "expansion_variance_mc", "CSGDCheck",
           "csgd_check", "ScalingFamily", "scaling_family"]


def _max_rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.abs(b)))


def _lrs(lrs):
    lrs = finite_array(lrs, "lrs", ndim=1)
    if lrs.size == 0 or np.any(lrs <= 0):
        raise ValueError("lrs must be a non-empty 1-d array of positive learning rates")
    return lrs


# --------------------------------------------------------------------------- D1
def phase_split_errors(eigenvalues, lr, x0, n_steps):
    """Largest relative errors of the closed-form phases against SGD's exact moments.

    Runs the exact moment recursion of SGD (:func:`smecore.moments.sgd_moments`) on
    the Gaussian quadratic with Hessian diag(eigenvalues) and compares
    D_k = f(E x_k) and F_k = E f(x_k) - D_k with :func:`smecore.moments.sgd_quadratic_phases`
    for k = 1 .. n_steps.

    Parameters
    ----------
    eigenvalues : array_like, shape (d,)
    lr : float
    x0 : array_like, shape (d,)
    n_steps : int

    Returns
    -------
    (float, float)
        max_k ``|D_exact / D_formula - 1|`` and max_k ``|F_exact / F_formula - 1|``.

    Examples
    --------
    >>> d_err, f_err = phase_split_errors([1.0, 0.1], 0.1, [1.0, 3.0], 50)
    >>> bool(d_err < 1e-12 and f_err < 1e-12)
    True
    """
    problem = GaussianQuadratic(eigenvalues)
    n_steps = positive_int(n_steps, "n_steps")
    exact = sgd_moments(problem, lr, x0, n_steps)
    D, F = sgd_quadratic_phases(eigenvalues, lr, x0, exact.steps)
    D_ex = problem.value(exact.position_mean)
    F_ex = exact.expect_value(problem) - D_ex
    return _max_rel(D_ex[1:], D[1:]), _max_rel(F_ex[1:], F[1:])


@dataclass(frozen=True)
class LevelCheck:
    """SGD's stationary loss on a one-direction quadratic: prediction, exact value, Monte Carlo.

    Attributes
    ----------
    lrs, batch_sizes : ndarray
        The learning rates and the batch sizes SGD ran with.
    predicted : ndarray
        The level the claim predicts.
    exact : ndarray
        The level of SGD's exact moment recursion, run until its transient is below 1e-16.
    mc_mean, mc_stderr : ndarray
        Monte Carlo estimate of E f(x_n) (transient below 1e-6) and its standard error.
    """

    lrs: np.ndarray
    batch_sizes: np.ndarray
    predicted: np.ndarray
    exact: np.ndarray
    mc_mean: np.ndarray
    mc_stderr: np.ndarray

    @property
    def rel_error(self) -> float:
        """max ``|exact / predicted - 1|`` over the learning rates."""
        return _max_rel(self.exact, self.predicted)

    @property
    def z(self) -> np.ndarray:
        """``|Monte Carlo - predicted|`` / standard error, per learning rate."""
        return np.abs(self.mc_mean - self.predicted) / self.mc_stderr


def _levels(eigenvalue, lrs, batches, predicted, n_paths, rng):
    lam = positive_float(eigenvalue, "eigenvalue")
    n_paths = positive_int(n_paths, "n_paths")
    streams = as_seed_sequence(rng).spawn(lrs.size)
    exact, mc_mean, mc_se = [], [], []
    for eta, B, stream in zip(lrs, batches, streams):
        if eta * lam >= 2:
            raise DivergenceError(f"SGD has no stationary law at lr * lambda = {eta * lam:g} >= 2")
        problem = GaussianQuadratic([lam], batch_size=int(B))
        q = (1 - eta * lam) ** 2
        n_exact = 1 if q == 0 else int(np.ceil(np.log(1e-16) / np.log(q)))
        m = sgd_moments(problem, eta, [0.0], n_exact, record=[n_exact])
        exact.append(float(m.expect_value(problem)[-1]))
        n_mc = 1 if q == 0 else int(np.ceil(np.log(1e-6) / np.log(q)))
        est = run(SGD(eta), problem, [0.0], n_mc, n_paths=n_paths, rng=stream, record=[n_mc],
                  observables={"f": problem.value})["f"]
        mc_mean.append(float(est.mean[-1]))
        mc_se.append(float(est.stderr[-1]))
    return LevelCheck(lrs, np.asarray(batches), np.asarray(predicted, dtype=float), np.array(exact),
                      np.array(mc_mean), np.array(mc_se))


def sgd_level_check(lrs, *, eigenvalue=1.0, n_paths, rng=None) -> LevelCheck:
    """D1: SGD's stationary loss against the formula lr lam^2 / (2 (2 - lr lam)).

    On the Gaussian quadratic f = lam x^2 / 2 (noise variance lam^2), SGD from
    x0 = 0 with batch size 1 at each learning rate, exactly (moment recursion)
    and by Monte Carlo, against :func:`smecore.moments.sgd_quadratic_level`.

    Parameters
    ----------
    lrs : array_like
        Learning rates with lr lam < 2.
    eigenvalue : float
        lam > 0.
    n_paths : int
        Monte Carlo paths per learning rate.
    rng : seed-like
        Independent streams are spawned per learning rate.

    Returns
    -------
    LevelCheck

    Raises
    ------
    DivergenceError
        If lr lam >= 2.

    Examples
    --------
    >>> c = sgd_level_check([0.5, 1.5], n_paths=2000, rng=1)
    >>> bool(c.rel_error < 1e-10), bool(c.z.max() < 4)
    (True, True)
    """
    lrs = _lrs(lrs)
    lam = positive_float(eigenvalue, "eigenvalue")
    predicted = [sgd_quadratic_level([lam], eta) for eta in lrs]
    return _levels(lam, lrs, np.ones(lrs.size, dtype=int), predicted, n_paths, rng)


def scaling_level_check(lrs, rho, *, eigenvalue=1.0, n_paths, rng=None) -> LevelCheck:
    """D2: at fixed rho = lr / B, SGD's level is the SME's at rho times 1 / (1 - lr lam / 2).

    For each learning rate SGD runs with the batch size of the linear scaling
    rule (:func:`smecore.algorithms.scaled_batch_size`); the prediction is
    computed from rho alone: the stationary loss of the order-1 SME at learning
    rate rho (:func:`smecore.moments.sde_stationary_moments`) times
    2 / (2 - lr lam).

    Parameters
    ----------
    lrs : array_like
        Learning rates, each >= rho, with lr lam < 2.
    rho : float
    eigenvalue : float
    n_paths : int
    rng : seed-like

    Returns
    -------
    LevelCheck

    Examples
    --------
    >>> c = scaling_level_check([0.1, 0.4], 0.05, n_paths=2000, rng=1)
    >>> c.batch_sizes.tolist(), bool(c.rel_error < 1e-10)
    ([2, 8], True)
    """
    lrs = _lrs(lrs)
    lam = positive_float(eigenvalue, "eigenvalue")
    rho = positive_float(rho, "rho")
    batches = np.array([scaled_batch_size(eta, rho) for eta in lrs])
    one = GaussianQuadratic([lam])
    sme_level = sde_stationary_moments(one, rho).expect_value(one)
    predicted = sme_level * 2 / (2 - lrs * lam)
    return _levels(lam, lrs, batches, predicted, n_paths, rng)


# --------------------------------------------------------------------------- A1
@dataclass(frozen=True)
class ExpansionErrors:
    """Errors of the expansion against SGD's exact (backward) mean and variance.

    Attributes
    ----------
    lrs : ndarray
    mean_err, var_err : ndarray
        max_k ``|E x_k - X0_{k lr}|`` and max_k ``|Var x_k - lr P_{k lr}|`` per learning rate.
    fit_mean, fit_var : OrderFit
        Fitted orders over ``lrs[fit_from:]``.
    runs : dict
        lr -> dict(times, mean, var, expansion) for plotting.
    """

    lrs: np.ndarray
    mean_err: np.ndarray
    var_err: np.ndarray
    fit_mean: object
    fit_var: object
    runs: dict


def expansion_backward_errors(problem, x0, T, lrs, *, n_grid, domain, fit_from=0) -> ExpansionErrors:
    """A1: SGD's mean and variance (backward recursion) against X0_t and lr P_t.

    For a one-dimensional finite sum, :func:`smecore.moments.sgd_expectations`
    gives E x_k and E x_k^2 without sampling error; the expansion
    (:func:`smecore.sme.asymptotic_expansion`) predicts E x_k = X0 + O(lr) and
    Var x_k = lr P + O(lr^2).

    Parameters
    ----------
    problem : finite-sum objective in one dimension
    x0 : float
    T : float
        Horizon; each lr must divide it.
    lrs : array_like
    n_grid : int
        Chebyshev nodes of the backward recursion.
    domain : (float, float)
    fit_from : int
        The fits use ``lrs[fit_from:]``.

    Returns
    -------
    ExpansionErrors

    Examples
    --------
    >>> from smecore.problems import DoubleWell
    >>> e = expansion_backward_errors(DoubleWell(), 0.5, 1.0, [0.02, 0.01], n_grid=128,
    ...                               domain=(-1.6, 1.6))
    >>> bool(0.8 < e.fit_mean.order < 1.2), bool(1.8 < e.fit_var.order < 2.2)
    (True, True)
    """
    lrs = _lrs(lrs)
    T = positive_float(T, "T")
    runs, mean_err, var_err = {}, [], []
    for eta in lrs:
        n_steps = int(round(T / eta))
        mean = sgd_expectations(problem, eta, lambda x: x[:, 0], n_steps, n_grid=n_grid,
                                domain=domain).at(x0)
        second = sgd_expectations(problem, eta, lambda x: x[:, 0] ** 2, n_steps, n_grid=n_grid,
                                  domain=domain).at(x0)
        times = np.arange(n_steps + 1) * eta
        e = asymptotic_expansion(problem, [x0], times)
        var = second - mean**2
        runs[float(eta)] = dict(times=times, mean=mean, var=var, expansion=e)
        mean_err.append(np.max(np.abs(mean - e.mean()[:, 0])))
        var_err.append(np.max(np.abs(var - e.variance(eta)[:, 0])))
    mean_err, var_err = np.array(mean_err), np.array(var_err)
    part = slice(int(fit_from), None)
    return ExpansionErrors(lrs, mean_err, var_err, fit_order(lrs[part], mean_err[part]),
                           fit_order(lrs[part], var_err[part]), runs)


def expansion_variance_mc(problem, x0, T, lr, *, n_paths, rng=None):
    """A1 by Monte Carlo: E ``|x_N - X0_T|^2`` / lr against Tr P_T (N = T / lr).

    E ``|x_N - X0_T|^2`` = Tr Cov x_N + ``|E x_N - X0_T|^2`` = lr Tr P_T + O(lr^2) by the
    expansion, so at small lr the Monte Carlo estimate divided by lr must match
    Tr P_T within its standard error.

    Parameters
    ----------
    problem : StochasticObjective
    x0 : array_like, shape (d,)
    T, lr : float
    n_paths : int
    rng : seed-like

    Returns
    -------
    (float, float, float)
        The estimate of E ``|x_N - X0_T|^2`` / lr, its standard error, and Tr P_T.

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> est, se, P = expansion_variance_mc(GaussianQuadratic([1.0]), [1.0], 2.0, 0.01,
    ...                                    n_paths=4000, rng=0)
    >>> bool(abs(est - P) < 4 * se + 0.01)
    True
    """
    T, lr = positive_float(T, "T"), positive_float(lr, "lr")
    x0 = state_vector(x0, problem.dim)
    n = int(round(T / lr))
    e = asymptotic_expansion(problem, x0, [0.0, n * lr])
    center = e.center[-1]
    est = run(SGD(lr), problem, x0, n, n_paths=n_paths, rng=rng, record=[n],
              observables={"d2": lambda x: np.sum((x - center) ** 2, axis=-1) / lr})["d2"]
    return float(est.mean[-1]), float(est.stderr[-1]), float(np.trace(e.cov1[-1]))


@dataclass(frozen=True)
class CSGDCheck:
    """cSGD on the quadratic a (x - b)^2 / 2 with noise variance a^2: final second moments.

    Attributes
    ----------
    m_csgd, m_const : float
        Exact final m = E x_N^2 of SGD under the cSGD schedule and at the constant rate.
    m_opt : float
        The final m of the schedule that is optimal for the discrete algorithm.
    mc_mean, mc_stderr : float
        Monte Carlo estimate of E x_N^2 under the cSGD schedule.
    schedule : CSGDSchedule
    """

    m_csgd: float
    m_const: float
    m_opt: float
    mc_mean: float
    mc_stderr: float
    schedule: object

    @property
    def excess(self) -> float:
        """m_csgd / m_opt - 1 (>= 0; O(lr^2) for the right feedback law)."""
        return self.m_csgd / self.m_opt - 1


def csgd_check(a, lr, m0, T, *, n_paths, rng=None) -> CSGDCheck:
    """A1: SGD under the cSGD schedule against the optimum of the discrete algorithm.

    The problem is the Gaussian quadratic a x^2 / 2 (noise variance Sigma = a^2),
    started at x0 = sqrt(m0). The discrete optimum
    (:func:`smecore.moments.csgd_discrete_optimum`) minimises the exact
    recursion m_{k+1} = (1 - lr u a)^2 m_k + lr^2 u^2 Sigma step by step and
    does not use the SME; the claim is that the SME's feedback law reaches it up
    to a relative O((lr a)^2).

    Parameters
    ----------
    a, lr, m0, T : float
    n_paths : int
        Monte Carlo paths of SGD under the cSGD schedule.
    rng : seed-like

    Returns
    -------
    CSGDCheck

    Examples
    --------
    >>> c = csgd_check(1.0, 0.1, 1.0, 20.0, n_paths=2000, rng=0)
    >>> bool(0 <= c.excess < 0.01)
    True
    """
    a, lr, m0, T = (positive_float(v, n) for v, n in ((a, "a"), (lr, "lr"), (m0, "m0"), (T, "T")))
    n = int(round(T / lr))
    quad = GaussianQuadratic([a])
    x0 = [float(np.sqrt(m0))]
    schedule = CSGDSchedule(a, a * a, lr, m0)
    m_csgd = float(scheduled_sgd_moments(quad, lr, schedule, x0, n, record=[n]).second[-1, 0, 0])
    m_const = float(scheduled_sgd_moments(quad, lr, ConstantSchedule(), x0, n, record=[n]).second[-1, 0, 0])
    m_opt = float(csgd_discrete_optimum(a, a * a, lr, m0, n)[0][-1])
    est = run(ScheduledSGD(lr, schedule), quad, x0, n, n_paths=n_paths, rng=rng, record=[n],
              observables={"x2": lambda x: x[:, 0] ** 2})["x2"]
    return CSGDCheck(m_csgd, m_const, m_opt, float(est.mean[-1]), float(est.stderr[-1]), schedule)


# --------------------------------------------------------------------------- D2
@dataclass(frozen=True)
class ScalingFamily:
    """SGD along a family lr / B = rho against the order-1 SME at rho (exact moments).

    Attributes
    ----------
    rho : float
    lrs, batches : ndarray
        Learning rates and the batch sizes of the rule.
    ref_times, reference : ndarray
        Times and excess loss E f(X_t) - f* of the SME at rho.
    ref_level : float
        The SME's stationary excess loss.
    runs : dict
        lr -> dict(times, excess) (exact excess loss of SGD).
    gaps : ndarray
        max_t ``|E f(x_k) - f* |`` / (E f(X_t) - f*) - 1 per learning rate (inf if SGD diverges).
    level_gaps : ndarray
        Relative gap of SGD's stationary excess loss to the SME's (inf if none exists).
    """

    rho: float
    lrs: np.ndarray
    batches: np.ndarray
    ref_times: np.ndarray
    reference: np.ndarray
    ref_level: float
    runs: dict
    gaps: np.ndarray
    level_gaps: np.ndarray

    def fits(self, n_fit):
        """Fitted orders (whole-run gap, level gap) in lr over the first ``n_fit`` learning rates."""
        part = slice(0, positive_int(n_fit, "n_fit"))
        return fit_order(self.lrs[part], self.gaps[part]), fit_order(self.lrs[part], self.level_gaps[part])


def scaling_family(problem, rho, multiples, T, x0) -> ScalingFamily:
    """D2: SGD with lr = m rho and batch size B(lr) of the rule, against the SME at rho.

    Parameters
    ----------
    problem : StochasticObjective
        With an affine gradient (exact moments) and batch size 1.
    rho : float
    multiples : sequence of int
        lr = multiple * rho; each divides T / rho.
    T : float
    x0 : array_like, shape (d,)

    Returns
    -------
    ScalingFamily
        Where SGD at (lr, B) diverges, its gaps are inf (reported, not hidden:
        a wrong scaling rule can make SGD unstable).

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> fam = scaling_family(GaussianQuadratic([1.0, 0.5]), 0.01, [1, 2, 4], 2.0, [1.0, 1.0])
    >>> fam.batches.tolist(), bool(fam.gaps[0] < fam.gaps[2] < 0.1)
    ([1, 2, 4], True)
    """
    rho, T = positive_float(rho, "rho"), positive_float(T, "T")
    multiples = [positive_int(int(m), "multiples") for m in multiples]
    x0 = state_vector(x0, problem.dim)
    ref_stationary = sde_stationary_moments(problem, rho)
    f_star = float(problem.value(ref_stationary.mean))  # the stationary mean is the minimiser
    ref_times = np.arange(int(round(T / rho)) + 1) * rho
    reference = sde_moments(sgd_sme(problem, rho, 1), x0, ref_times).expect_value(problem) - f_star
    ref_level = ref_stationary.expect_value(problem) - f_star
    lrs = rho * np.array(multiples, dtype=float)
    batches = np.array([scaled_batch_size(eta, rho) for eta in lrs])
    runs, gaps, level_gaps = {}, [], []
    for mult, eta, B in zip(multiples, lrs, batches):
        problem_B = problem.with_batch_size(int(B))
        n_steps = int(round(T / eta))
        try:
            excess = sgd_moments(problem_B, eta, x0, n_steps).expect_value(problem) - f_star
            level = sgd_stationary_moments(problem_B, eta).expect_value(problem) - f_star
        except DivergenceError:
            runs[float(eta)] = dict(times=np.arange(n_steps + 1) * eta, excess=None)
            gaps.append(np.inf)
            level_gaps.append(np.inf)
            continue
        ref = reference[::mult][: n_steps + 1]
        runs[float(eta)] = dict(times=np.arange(n_steps + 1) * eta, excess=excess)
        gaps.append(float(np.max(np.abs(excess - ref) / ref)))
        level_gaps.append(abs(level / ref_level - 1))
    return ScalingFamily(rho, lrs, batches, ref_times, reference, ref_level, runs, np.array(gaps),
                         np.array(level_gaps))

