"""Learning-rate schedules and SGD with a time-varying learning rate.

A schedule is a learning-rate *multiplier* u(t): step k of SGD uses the learning
rate lr * u(t_k) at the nominal time t_k = k lr,

    x_{k+1} = x_k - lr u(t_k) * g(x_k).

``u`` may be a scalar or, for coordinate-wise schedules such as cSGD, a vector of
length d (a diagonal preconditioner). :class:`ConstantSchedule`,
:class:`InverseTimeSchedule` (u = u0 / (1 + t / tau)), :class:`CSGDSchedule` (the
optimal multiplier of the local quadratic model, Li, Tai & E, ICML 2017; see
:mod:`smecore.algorithms.control`) and :class:`TabulatedSchedule` (per-step
multipliers). :class:`ScheduledSGD` is an :class:`~smecore.algorithms.Algorithm`, so
:func:`smecore.algorithms.run` simulates it.
"""

from __future__ import annotations

import numpy as np

from .._validation import finite_array, positive_float, positive_int
from .control import csgd_optimal_path, csgd_switch_time
from .methods import Algorithm

__all__ = ["Schedule", "ConstantSchedule", "InverseTimeSchedule", "CSGDSchedule", "TabulatedSchedule", "ScheduledSGD"]


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
    (:func:`smecore.algorithms.csgd_optimal_path`). Arrays of ``a``,
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
        t1 = csgd_switch_time(self.a, self.m0, self.lr, self.noise_var)
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
        raise TypeError(f"schedule must be a smecore.algorithms.Schedule, got {type(schedule).__name__}")
    if dim is not None and schedule.dim is not None and schedule.dim != dim:
        raise ValueError(f"the schedule has {schedule.dim} coordinates but the problem has dimension {dim}")
    return schedule


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
