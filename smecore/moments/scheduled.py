"""Exact moments of scheduled SGD and of its SME, and the cSGD optimum.

* :func:`scheduled_sgd_moments`: exact first and second moments of SGD with any
  schedule, for affine gradients.
* :func:`scheduled_sme_moments`: the same for the scheduled SME
  (:func:`smecore.sme.scheduled_sme`).
* :func:`csgd_multiplier_ode` and :func:`csgd_discrete_optimum`: the optimal
  multiplier of the local quadratic model computed numerically (an ODE, and a
  discrete dynamic programme), independent checks of the closed form
  :func:`smecore.algorithms.csgd_optimal_path`.
* :func:`tune_inverse_time`: the 1/t schedule tuned on exact moments.
"""

from __future__ import annotations

import numpy as np
import scipy.integrate
import scipy.optimize

from .._validation import (
    DivergenceError,
    check_finite_state,
    finite_array,
    positive_float,
    positive_int,
    state_vector,
)
from ..algorithms.schedules import InverseTimeSchedule, _check_schedule
from ..estimation.observables import record_steps
from ..sme.scheduled import ScheduledSME, _check_problem
from ..algorithms.control import csgd_optimal_multiplier, feedback_gain
from .recursions import Moments

__all__ = ["scheduled_sgd_moments", "scheduled_sme_moments", "csgd_multiplier_ode", "csgd_discrete_optimum", "tune_inverse_time"]


def scheduled_sgd_moments(problem, lr, schedule, x0, n_steps, *, record=None) -> Moments:
    """Exact mean and second moment of scheduled SGD on a problem with affine gradient.

    With z = [x; 1], g(x) = G z and step k using the rates r_k = lr u(k lr)
    (scalar or per coordinate, R_k = diag(r_k)),

        E z' = (I - R_k Gbar) E z,
        S'   = M_k S M_k^T + R_k Sigma~(S) R_k,   M_k = I - R_k Gbar

    (in the augmented coordinates), exactly, because the index gamma_k is
    independent of x_k.

    Parameters
    ----------
    problem : StochasticObjective
        With ``problem.affine``.
    lr : float
    schedule : Schedule
    x0 : array_like, shape (d,)
    n_steps : int
    record : sequence of int, optional
        Steps to record (default every step).

    Returns
    -------
    smecore.moments.Moments
        ``times = steps * lr``.

    Examples
    --------
    A constant schedule reproduces :func:`smecore.moments.sgd_moments`:

    >>> import numpy as np
    >>> from smecore.algorithms import ConstantSchedule
    >>> from smecore.moments import sgd_moments
    >>> from smecore.problems import GaussianQuadratic
    >>> p = GaussianQuadratic([1.0, 3.0])
    >>> a = scheduled_sgd_moments(p, 0.1, ConstantSchedule(), [1.0, 1.0], 30)
    >>> b = sgd_moments(p, 0.1, [1.0, 1.0], 30)
    >>> bool(np.allclose(a.second, b.second, rtol=1e-13, atol=0))
    True
    """
    affine = getattr(problem, "affine", None)
    if affine is None:
        raise TypeError(f"{type(problem).__name__} has no affine gradient (problem.affine is None)")
    lr = positive_float(lr, "lr")
    d = affine.dim
    schedule = _check_schedule(schedule, d)
    x0 = state_vector(x0, d)
    n_steps = positive_int(n_steps, "n_steps", allow_zero=True)
    steps = record_steps(record, n_steps)
    Gbar = np.asarray(affine.mean, dtype=float)
    cov = np.asarray(affine.cov, dtype=float)
    K = cov.transpose(0, 2, 1, 3).reshape(d * d, (d + 1) ** 2)
    cols = np.flatnonzero(np.any(K != 0, axis=0))
    K = K[:, cols]
    u = np.asarray(schedule.multipliers(lr, n_steps), dtype=float)
    rates = np.broadcast_to(lr * (u[:, None] if u.ndim == 1 else u), (n_steps, d))
    mean_out = np.empty((steps.size, d))
    second_out = np.empty((steps.size, d, d))
    z = np.append(x0, 1.0)
    S = np.outer(z, z)
    eye = np.eye(d + 1)
    M = eye.copy()
    j = 0
    for k in range(n_steps + 1):
        if j < steps.size and steps[j] == k:
            mean_out[j], second_out[j] = z[:d], S[:d, :d]
            j += 1
        if k == n_steps:
            break
        r = rates[k]
        M[:d] = eye[:d] - r[:, None] * Gbar
        with np.errstate(over="ignore", invalid="ignore"):
            noise = (K @ S.ravel()[cols]).reshape(d, d)
            z = M @ z
            S = M @ S @ M.T
            S[:d, :d] += r[:, None] * noise * r[None, :]
            S = 0.5 * (S + S.T)  # keep exact symmetry against rounding drift
        if k % 64 == 63 or k == n_steps - 1:  # overflow propagates, so a periodic check suffices
            check_finite_state(S, k + 1, "scheduled_sgd_moments")
    return Moments(steps * lr, steps, mean_out, second_out, d)


#: Clock shift used by :func:`scheduled_sme_moments` (any positive value gives the same moments).
_MOMENT_SHIFT = 1.0


def scheduled_sme_moments(problem, lr, schedule, x0, times) -> Moments:
    """Exact mean and second moment of the scheduled SME on an affine problem.

    Solves the linear moment ODE with :func:`smecore.moments.sde_moments`. The
    SDE is started on a shifted clock (t0 = 1, multiplier u(t - 1)), which is
    the same process: ``sde_moments`` treats any time-dependent drift at
    t0 = 0 as a possible r/t singularity (Nesterov's friction) and rejects
    smooth ones, so the shift keeps it on its regular path.

    Parameters
    ----------
    problem : StochasticObjective
        With ``problem.affine``.
    lr : float
    schedule : Schedule
    x0 : array_like, shape (d,)
    times : array_like
        Non-negative, non-decreasing times.

    Returns
    -------
    smecore.moments.Moments
        With ``times`` as given (``steps`` is None).

    Examples
    --------
    Constant schedule on the Gaussian quadratic: Var X_t = lr lam (1 - exp(-2 lam t)) / 2.

    >>> import numpy as np
    >>> from smecore.algorithms import ConstantSchedule
    >>> from smecore.problems import GaussianQuadratic
    >>> m = scheduled_sme_moments(GaussianQuadratic([1.0]), 0.1, ConstantSchedule(), [1.0], [0.0, 1.0])
    >>> round(float(m.cov[1, 0, 0]), 8), round(float(0.05 * (1 - np.exp(-2))), 8)
    (0.04323324, 0.04323324)
    """
    from .sde_moments import sde_moments

    problem = _check_problem(problem)
    if problem.affine is None:
        raise TypeError(f"{type(problem).__name__} has no affine gradient (problem.affine is None)")
    lr = positive_float(lr, "lr")
    sde = ScheduledSME(problem, lr, _check_schedule(schedule, problem.dim), time_shift=_MOMENT_SHIFT)
    times = finite_array(times, "times")
    if times.ndim == 0:
        times = times.reshape(1)
    if times.ndim != 1 or times.size == 0 or times[0] < 0 or np.any(np.diff(times) < 0):
        raise ValueError("times must be a non-empty, non-negative, non-decreasing 1-d array")
    m = sde_moments(sde, x0, times + _MOMENT_SHIFT)
    return Moments(times.copy(), None, m.mean, m.second, m.dim_x)


def csgd_multiplier_ode(a, noise_var, lr, m0, times, *, gain=1.0, rtol=1e-12, atol=1e-300):
    """Integrate dm/dt = -2 a u m + lr Sigma u^2 with the feedback u = u*(m) = min(1, a m / (lr Sigma)).

    An independent numerical check of :func:`smecore.algorithms.csgd_optimal_path`:
    the two regimes (u* = 1 and u* < 1) are integrated separately, the switch
    located by an event, so the kink of u* does not cost accuracy.

    Parameters
    ----------
    a, noise_var, lr, m0 : float
        Positive scalars.
    times : array_like
        Non-negative, non-decreasing output times.
    gain : float
        g in the feedback u = min(1, g a m / (lr Sigma)) (see
        :func:`smecore.algorithms.csgd_optimal_multiplier`; 1 is the optimum).
    rtol, atol : float
        Tolerances of the integrator.

    Returns
    -------
    m, u : ndarray, shape (n,)

    Raises
    ------
    ValueError
        If a scalar is not positive or ``times`` is not a non-decreasing array.
    DivergenceError
        If the integrator fails.

    Examples
    --------
    >>> m, u = csgd_multiplier_ode(1.0, 1.0, 0.1, 1.0, [0.0, 10.0])
    >>> from smecore.moments.closed_forms import csgd_optimal_path
    >>> m_cf, _ = csgd_optimal_path(1.0, 1.0, 0.1, 1.0, [0.0, 10.0])
    >>> bool(np.allclose(m, m_cf, rtol=1e-9))
    True
    """
    a, s2, lr, m0 = (positive_float(v, n) for v, n in
                     ((a, "a"), (noise_var, "noise_var"), (lr, "lr"), (m0, "m0")))
    gain = feedback_gain(gain)
    times = finite_array(times, "times")
    if times.ndim != 1 or times.size == 0 or times[0] < 0 or np.any(np.diff(times) < 0):
        raise ValueError("times must be a non-empty, non-negative, non-decreasing 1-d array")
    m_switch = lr * s2 / (gain * a)  # 0 without feedback (gain = inf): never reached

    def full(t, m):  # u = 1
        return -2 * a * m + lr * s2

    def annealed(t, m):  # u = g a m / (lr s2): dm/dt = -g (2 - g) a^2 m^2 / (lr s2)
        return -gain * (2 - gain) * a**2 * m**2 / (lr * s2)

    def switch(t, m):
        return m[0] - m_switch

    switch.terminal = True
    switch.direction = -1
    t_end = float(times[-1])
    out = np.empty(times.size)
    t_start, m_start = 0.0, m0
    if m0 > m_switch and t_end > 0:
        sol = scipy.integrate.solve_ivp(full, (0.0, t_end), [m0], method="DOP853", dense_output=True,
                                        events=switch, rtol=rtol, atol=atol)
        if not sol.success:
            raise DivergenceError(f"csgd_multiplier_ode: {sol.message}")
        t_start = float(sol.t_events[0][0]) if sol.t_events[0].size else np.inf
        before = times <= t_start
        out[before] = sol.sol(times[before])[0]
        m_start = m_switch
    else:
        before = times <= 0
        out[before] = m0
    after = times > t_start
    if np.any(after):
        sol = scipy.integrate.solve_ivp(annealed, (t_start, t_end), [m_start], method="DOP853",
                                        dense_output=True, rtol=rtol, atol=atol)
        if not sol.success:
            raise DivergenceError(f"csgd_multiplier_ode: {sol.message}")
        out[after] = sol.sol(times[after])[0]
    return out, csgd_optimal_multiplier(a, out, lr, s2, gain=gain)


def csgd_discrete_optimum(a, noise_var, lr, m0, n_steps):
    """The optimal multipliers of discrete SGD on the local quadratic model, and its m_k.

    For x_{k+1} = x_k - lr u_k (a (x_k - b) + xi_k), Var xi = Sigma, the second
    moment m_k = E (x_k - b)^2 obeys the exact recursion
    m_{k+1} = (1 - lr u_k a)^2 m_k + lr^2 u_k^2 Sigma. Since m_{k+1} increases
    with m_k, minimising every step (greedy) minimises m_n: the optimal
    multiplier is u_k = min(1, a m_k / (lr (a^2 m_k + Sigma))), the discrete
    counterpart of the SME's u* = min(1, a m / (lr Sigma)).

    Parameters
    ----------
    a, noise_var, lr, m0 : float
        Positive scalars.
    n_steps : int

    Returns
    -------
    m : ndarray, shape (n_steps + 1,)
    u : ndarray, shape (n_steps,)

    Examples
    --------
    >>> m, u = csgd_discrete_optimum(1.0, 1.0, 0.1, 1.0, 2000)
    >>> round(float(u[-1] * 1.0 * 0.1 * 1999), 2)   # a t u ~ 1 late: the 1/(a t) law
    1.0
    """
    a, s2 = positive_float(a, "a"), positive_float(noise_var, "noise_var")
    lr, m0 = positive_float(lr, "lr"), positive_float(m0, "m0")
    n_steps = positive_int(n_steps, "n_steps", allow_zero=True)
    m = np.empty(n_steps + 1)
    u = np.empty(n_steps)
    m[0] = m0
    for k in range(n_steps):
        u[k] = min(1.0, a * m[k] / (lr * (a * a * m[k] + s2)))
        m[k + 1] = (1 - lr * u[k] * a) ** 2 * m[k] + (lr * u[k]) ** 2 * s2
    return m, u


def tune_inverse_time(problem, lr, x0, n_steps, *, bounds=(0.01, 100.0), u0=1.0):
    """Hand-tuning done exactly: the 1/t schedule u0 / (1 + t / tau) with the lowest E f(x_n).

    Minimises the exact final loss (:func:`scheduled_sgd_moments`, no sampling
    error) over log tau in ``bounds`` with a bounded scalar search, i.e. the
    best a practitioner could do by tuning the one constant of the schedule
    on the true objective.

    Parameters
    ----------
    problem : StochasticObjective
        With ``problem.affine``.
    lr : float
    x0 : array_like, shape (d,)
    n_steps : int
    bounds : (float, float)
        Search interval for tau (positive).
    u0 : float
        Initial multiplier.

    Returns
    -------
    schedule : InverseTimeSchedule
    value : float
        E f(x_n) under it.

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> s, v = tune_inverse_time(GaussianQuadratic([1.0]), 0.1, [1.0], 200)
    >>> 0.5 < s.tau < 3.0
    True
    """
    lr = positive_float(lr, "lr")
    n_steps = positive_int(n_steps, "n_steps")
    lo, hi = (positive_float(b, "bounds") for b in bounds)
    if not lo < hi:
        raise ValueError(f"bounds must be increasing, got {bounds}")

    def final_value(log_tau):
        sched = InverseTimeSchedule(float(np.exp(log_tau)), u0)
        m = scheduled_sgd_moments(problem, lr, sched, x0, n_steps, record=[n_steps])
        return float(m.expect_value(problem)[-1])

    res = scipy.optimize.minimize_scalar(final_value, bounds=(np.log(lo), np.log(hi)), method="bounded",
                                         options={"xatol": 1e-3})
    tau = float(np.exp(res.x))
    return InverseTimeSchedule(tau, u0), final_value(res.x)
