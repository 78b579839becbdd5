"""Learning-rate schedules, SGD with a time-varying learning rate, and cSGD (paper.md A1).

A schedule is a learning-rate *multiplier* u(t): step k of SGD uses the learning rate
lr * u(t_k) at the nominal time t_k = k lr,

    x_{k+1} = x_k - lr u(t_k) * g(x_k).

``u`` may be a scalar or, for coordinate-wise schedules such as cSGD, a vector of
length d (a diagonal preconditioner). The SME of scheduled SGD (Li, Tai & E, ICML
2017) is

    dX = -U(t) grad f(X) dt + sqrt(lr) U(t) Sigma(X)^{1/2} dW,   U = diag(u),

a first-order weak approximation on [0, T] in the same time t = k lr.

Contents:

- :class:`ConstantSchedule`, :class:`InverseTimeSchedule` (the 1/t family
  u = u0 / (1 + t / tau)), :class:`CSGDSchedule` (the optimal multiplier of the
  local quadratic model, from :func:`smecore.closed_forms.csgd_optimal_path`),
  :class:`TabulatedSchedule` (per-step multipliers).
- :class:`ScheduledSGD`: an :class:`~smecore.algorithms.Algorithm`, so
  :func:`smecore.algorithms.run` simulates it (vectorised over paths, streamed
  statistics through :func:`smecore.montecarlo.monte_carlo` and
  :class:`~smecore.observables.StatsRecorder`).
- :func:`scheduled_sgd_moments`: exact first and second moments for affine
  gradients, any schedule.
- :func:`scheduled_sme`: the SME above as an SDE (time-dependent
  :class:`~smecore.sde.LinearStructure` for affine problems), and
  :func:`scheduled_sme_moments`, its exact moments.
- :func:`csgd_multiplier_ode`: the second-moment ODE of the local quadratic model
  under the feedback u*(m), integrated numerically (an independent check of the
  closed form).
"""

from __future__ import annotations

import numpy as np
import scipy.integrate
import scipy.optimize

from ._validation import (
    DivergenceError,
    check_finite_state,
    finite_array,
    positive_float,
    positive_int,
    state_vector,
)
from .algorithms import Algorithm
from .closed_forms import csgd_optimal_multiplier, csgd_optimal_path
from .moments import Moments
from .observables import record_steps
from .sde import SDE, LinearStructure

__all__ = [
    "Schedule",
    "ConstantSchedule",
    "InverseTimeSchedule",
    "CSGDSchedule",
    "TabulatedSchedule",
    "ScheduledSGD",
    "scheduled_sgd_moments",
    "scheduled_sme",
    "scheduled_sme_moments",
    "csgd_multiplier_ode",
    "csgd_discrete_optimum",
    "tune_inverse_time",
]


# --------------------------------------------------------------------------
# schedules
# --------------------------------------------------------------------------


class Schedule:
    """A learning-rate multiplier u(t) >= 0.

    Subclasses implement :meth:`values` for an array of times; calling the
    schedule on a float returns a float (scalar schedules) or an array of
    shape (d,) (coordinate-wise schedules).
    """

    #: Number of coordinates (None for a scalar multiplier).
    dim: int | None = None

    def values(self, t: np.ndarray) -> np.ndarray:
        """u at the times ``t`` (1-d), shape (n,) or (n, d)."""
        raise NotImplementedError

    def __call__(self, t):
        t_arr = np.atleast_1d(np.asarray(t, dtype=float))
        u = self.values(t_arr)
        if np.ndim(t) == 0:
            return float(u[0]) if self.dim is None else u[0]
        return u

    def multipliers(self, lr, n_steps) -> np.ndarray:
        """u(k lr) for k = 0 .. n_steps - 1: shape (n_steps,) or (n_steps, d)."""
        lr = positive_float(lr, "lr")
        n_steps = positive_int(n_steps, "n_steps", allow_zero=True)
        return self.values(np.arange(n_steps) * lr)


class ConstantSchedule(Schedule):
    """u(t) = u0 (default 1: plain SGD).

    Examples
    --------
    >>> ConstantSchedule(0.5)(3.0)
    0.5
    """

    def __init__(self, u0=1.0):
        self.u0 = positive_float(u0, "u0")

    def values(self, t):
        return np.full(np.shape(t), self.u0)

    def __repr__(self):
        return f"ConstantSchedule({self.u0:g})"


class InverseTimeSchedule(Schedule):
    """u(t) = u0 / (1 + t / tau): the classical 1/t annealing, tuned through tau.

    Examples
    --------
    >>> InverseTimeSchedule(2.0)(6.0)
    0.25
    """

    def __init__(self, tau, u0=1.0):
        self.tau = positive_float(tau, "tau")
        self.u0 = positive_float(u0, "u0")

    def values(self, t):
        return self.u0 / (1.0 + np.asarray(t, dtype=float) / self.tau)

    def __repr__(self):
        return f"InverseTimeSchedule(tau={self.tau:g}, u0={self.u0:g})"


class CSGDSchedule(Schedule):
    """The optimal multiplier of cSGD for the local quadratic model 1/2 a (x - b)^2.

    With m = E (X - b)^2 and gradient-noise variance Sigma, the SME gives
    dm/dt = -2 a u m + lr Sigma u^2, minimised at u* = min(1, a m / (lr Sigma)).
    Along the optimal path u* = 1 until m = lr Sigma / a (time t1), then
    u*(t) = 1 / (1 + a (t - t1)): annealing like 1/(a t)
    (:func:`smecore.closed_forms.csgd_optimal_path`). Arrays of ``a``,
    ``noise_var`` and ``m0`` give a coordinate-wise schedule (one model per
    coordinate, as cSGD applies it).

    Parameters
    ----------
    a : float or array_like, shape (d,)
        Curvature(s) of the local model, > 0.
    noise_var : float or array_like
        Gradient-noise variance(s) Sigma (mini-batch included), > 0.
    lr : float
        The base learning rate eta.
    m0 : float or array_like
        Initial second moment(s) E (x0 - b)^2, > 0.

    Examples
    --------
    >>> s = CSGDSchedule(1.0, 1.0, 0.1, 1.0)
    >>> round(s(0.0), 6), round(s(1000.0) * 1000.0, 2)   # u* ~ 1/(a t)
    (1.0, 1.0)
    """

    def __init__(self, a, noise_var, lr, m0):
        a, s2, m0 = (finite_array(v, name) for v, name in ((a, "a"), (noise_var, "noise_var"), (m0, "m0")))
        for v, name in ((a, "a"), (s2, "noise_var"), (m0, "m0")):
            if np.any(v <= 0):
                raise ValueError(f"{name} must be > 0")
        a, s2, m0 = np.broadcast_arrays(a, s2, m0)
        if a.ndim > 1:
            raise ValueError("a, noise_var and m0 must be scalars or 1-d arrays")
        self.a, self.noise_var, self.m0 = a.astype(float), s2.astype(float), m0.astype(float)
        self.lr = positive_float(lr, "lr")
        self.dim = None if a.ndim == 0 else a.shape[0]

    def path(self, t):
        """(m(t), u*(t)) along the optimal path, shapes (n,) or (n, d)."""
        t = np.asarray(t, dtype=float)
        if self.dim is not None:
            t = t[..., None]
        return csgd_optimal_path(self.a, self.m0, self.lr, self.noise_var, t)

    def values(self, t):
        return self.path(t)[1]

    @property
    def switch_time(self):
        """t1, when u* leaves 1 (0 if it starts below 1): float or (d,)."""
        m_inf = self.lr * self.noise_var / (2 * self.a)
        with np.errstate(divide="ignore", invalid="ignore"):
            t1 = np.where(self.m0 > 2 * m_inf,
                          np.log((self.m0 - m_inf) / m_inf) / (2 * self.a), 0.0)
        return float(t1) if self.dim is None else t1

    def __repr__(self):
        return f"CSGDSchedule(dim={self.dim}, lr={self.lr:g})"


class TabulatedSchedule(Schedule):
    """Per-step multipliers u_k, held constant on [k lr, (k+1) lr).

    Parameters
    ----------
    multipliers : array_like, shape (n,) or (n, d)
        u_0, u_1, ...; beyond the table the last value is kept.
    lr : float
        The time step that maps t to k = floor(t / lr).

    Examples
    --------
    >>> s = TabulatedSchedule([1.0, 0.5, 0.25], 0.1)
    >>> s(0.15), s(5.0)
    (0.5, 0.25)
    """

    def __init__(self, multipliers, lr):
        u = finite_array(multipliers, "multipliers")
        if u.ndim not in (1, 2) or u.shape[0] == 0:
            raise ValueError(f"multipliers must have shape (n,) or (n, d), got {u.shape}")
        if np.any(u < 0):
            raise ValueError("multipliers must be >= 0")
        self.table = u
        self.lr = positive_float(lr, "lr")
        self.dim = None if u.ndim == 1 else u.shape[1]

    def values(self, t):
        # The small slack makes t = k lr (computed in floating point) land on step k.
        k = np.floor(np.asarray(t, dtype=float) / self.lr + 1e-9).astype(int)
        return self.table[np.clip(k, 0, self.table.shape[0] - 1)]

    def __repr__(self):
        return f"TabulatedSchedule(n={self.table.shape[0]}, lr={self.lr:g})"


def _check_schedule(schedule, dim=None) -> Schedule:
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a smecore.schedules.Schedule, got {type(schedule).__name__}")
    if dim is not None and schedule.dim is not None and schedule.dim != dim:
        raise ValueError(f"the schedule has {schedule.dim} coordinates but the problem has dimension {dim}")
    return schedule


# --------------------------------------------------------------------------
# the algorithm
# --------------------------------------------------------------------------


class ScheduledSGD(Algorithm):
    """SGD with learning rate lr * u(k lr) at step k; time t = k lr.

    A drop-in :class:`~smecore.algorithms.Algorithm`: simulate it with
    :func:`smecore.algorithms.run` (Monte Carlo statistics, any executor) or
    :func:`smecore.algorithms.sample_paths`.

    Parameters
    ----------
    lr : float
        Base learning rate eta > 0 (also the time step).
    schedule : Schedule
        Multiplier u(t), scalar or coordinate-wise.

    Examples
    --------
    >>> import numpy as np
    >>> from smecore.algorithms import run
    >>> from smecore.problems import GaussianQuadratic
    >>> sgd = ScheduledSGD(0.1, InverseTimeSchedule(1.0))
    >>> sgd.apply(sgd.init_state(np.ones((1, 1))), 10, np.ones((1, 1)))[0]  # lr u(1) = 0.05
    array([[0.95]])
    >>> stats = run(sgd, GaussianQuadratic([1.0]), [1.0], 20, n_paths=2000, rng=0, record=[20])
    >>> stats.times
    array([2.])
    """

    name = "ScheduledSGD"

    def __init__(self, lr, schedule, *, time_step=None):
        super().__init__(lr, time_step=time_step)
        self.schedule = _check_schedule(schedule)

    def rate(self, k):
        """The learning rate(s) lr * u(k lr) of step k: float or (d,)."""
        return self.lr * self.schedule(k * self.lr)

    def init_state(self, x0):
        return (np.array(x0, dtype=float),)

    def apply(self, state, k, grad):
        return (state[0] - self.rate(k) * grad,)

    def stability_limit(self, n_steps):
        # The mean iteration uses lr u_k A; with u_k <= u_max it is stable when
        # lr u_max lambda_max < 2, i.e. lr lambda_max < 2 / u_max.
        if n_steps is None:
            return None
        u = self.schedule.multipliers(self.lr, max(int(n_steps), 1))
        u_max = float(np.max(u))
        return np.inf if u_max == 0 else 2.0 / u_max

    def _params(self):
        return f"lr={self.lr:g}, schedule={self.schedule!r}"


# --------------------------------------------------------------------------
# exact moments for affine gradients
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# the SME of scheduled SGD
# --------------------------------------------------------------------------


class _ScheduledDrift:
    def __init__(self, F, schedule, d, shift):
        self.F, self.schedule, self.d, self.shift = F, schedule, d, shift

    def __call__(self, t):
        u = np.broadcast_to(np.asarray(self.schedule(t - self.shift), dtype=float), (self.d,))
        return u[:, None] * self.F


class _ScheduledNoise:
    def __init__(self, C, schedule, d, shift):
        self.C, self.schedule, self.d, self.shift = C, schedule, d, shift

    def __call__(self, t):
        u = np.broadcast_to(np.asarray(self.schedule(t - self.shift), dtype=float), (self.d,))
        return u[:, None, None, None] * self.C * u[None, None, :, None]


class ScheduledSME(SDE):
    """dX = -U(t) grad f(X) dt + sqrt(lr) U(t) (Sigma(X)/B)^{1/2} dW, U = diag(u(t)).

    Built by :func:`scheduled_sme`. With ``time_shift`` s > 0 the SDE starts at
    ``t0 = s`` and uses u(t - s): the same process on a shifted clock.
    """

    def __init__(self, problem, lr, schedule, time_shift=0.0):
        self.problem, self.lr, self.schedule = problem, lr, schedule
        self.t0 = float(time_shift)
        self.dim = problem.dim
        self.position_dim = problem.dim
        self.noise_dim = int(problem.noise_dim if problem.noise_dim is not None else problem.dim)
        self.name = f"scheduled SGD SME (lr={lr:g}, {schedule!r})"
        affine = problem.affine
        self.linear = None
        if affine is not None:
            d = affine.dim
            F = -np.asarray(affine.mean, dtype=float)
            C = lr * np.asarray(affine.cov, dtype=float)
            self.linear = LinearStructure(_ScheduledDrift(F, schedule, d, self.t0),
                                          _ScheduledNoise(C, schedule, d, self.t0),
                                          time_homogeneous=False, additive=False)

    def _u(self, t):
        return np.broadcast_to(np.asarray(self.schedule(t - self.t0), dtype=float), (self.dim,))

    def drift(self, t, x):
        return -self._u(t) * self.problem.grad(x)

    def diffusion(self, t, x):
        return np.sqrt(self.lr) * self._u(t)[:, None] * self.problem.noise_factor(x)


def _check_problem(problem):
    from .problems.base import StochasticObjective

    if not isinstance(problem, StochasticObjective):
        raise TypeError(f"problem must be a StochasticObjective, got {type(problem).__name__}")
    return problem


def scheduled_sme(problem, lr, schedule) -> ScheduledSME:
    """The order-1 SME of :class:`ScheduledSGD` (Li, Tai & E, ICML 2017).

    Parameters
    ----------
    problem : StochasticObjective
    lr : float
    schedule : Schedule

    Returns
    -------
    ScheduledSME
        Starting at t = 0, for :func:`smecore.solvers.solve_sde`; it has a
        time-dependent ``linear`` structure when ``problem.affine`` is set
        (use :func:`scheduled_sme_moments` for its exact moments).

    Examples
    --------
    >>> import numpy as np
    >>> from smecore.problems import GaussianQuadratic
    >>> sde = scheduled_sme(GaussianQuadratic([2.0]), 0.1, InverseTimeSchedule(1.0))
    >>> sde.drift(1.0, np.array([[1.0]]))   # -u(1) * 2 * 1 with u(1) = 1/2
    array([[-1.]])
    """
    problem = _check_problem(problem)
    lr = positive_float(lr, "lr")
    return ScheduledSME(problem, lr, _check_schedule(schedule, problem.dim))


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
    >>> from smecore.problems import GaussianQuadratic
    >>> m = scheduled_sme_moments(GaussianQuadratic([1.0]), 0.1, ConstantSchedule(), [1.0], [0.0, 1.0])
    >>> round(float(m.cov[1, 0, 0]), 8), round(float(0.05 * (1 - np.exp(-2))), 8)
    (0.04323324, 0.04323324)
    """
    from .moments import sde_moments

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


# --------------------------------------------------------------------------
# cSGD: the second-moment ODE under the feedback multiplier
# --------------------------------------------------------------------------


def csgd_multiplier_ode(a, noise_var, lr, m0, times, *, rtol=1e-12, atol=1e-300):
    """Integrate dm/dt = -2 a u m + lr Sigma u^2 with the feedback u = u*(m) = min(1, a m / (lr Sigma)).

    An independent numerical check of :func:`smecore.closed_forms.csgd_optimal_path`:
    the two regimes (u* = 1 and u* < 1) are integrated separately, the switch
    located by an event, so the kink of u* does not cost accuracy.

    Parameters
    ----------
    a, noise_var, lr, m0 : float
        Positive scalars.
    times : array_like
        Non-negative, non-decreasing output times.

    Returns
    -------
    m, u : ndarray, shape (n,)

    Examples
    --------
    >>> m, u = csgd_multiplier_ode(1.0, 1.0, 0.1, 1.0, [0.0, 10.0])
    >>> from smecore.closed_forms import csgd_optimal_path
    >>> m_cf, _ = csgd_optimal_path(1.0, 1.0, 0.1, 1.0, [0.0, 10.0])
    >>> bool(np.allclose(m, m_cf, rtol=1e-9))
    True
    """
    a, s2, lr, m0 = (positive_float(v, n) for v, n in
                     ((a, "a"), (noise_var, "noise_var"), (lr, "lr"), (m0, "m0")))
    times = finite_array(times, "times")
    if times.ndim != 1 or times.size == 0 or times[0] < 0 or np.any(np.diff(times) < 0):
        raise ValueError("times must be a non-empty, non-negative, non-decreasing 1-d array")
    m_switch = lr * s2 / a

    def full(t, m):  # u = 1
        return -2 * a * m + lr * s2

    def annealed(t, m):  # u = a m / (lr s2): dm/dt = -a^2 m^2 / (lr s2)
        return -(a**2) * m**2 / (lr * s2)

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
    return out, csgd_optimal_multiplier(a, out, lr, s2)


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
