"""The SME of SGD with a learning-rate schedule (Li, Tai & E, ICML 2017).

With multiplier U(t) = diag(u(t)) the SME of scheduled SGD is

    dX = -U(t) grad f(X) dt + sqrt(lr) U(t) Sigma(X)^{1/2} dW,

a first-order weak approximation on [0, T] in the time t = k lr.
:func:`scheduled_sme` builds it as an SDE (a time-dependent
:class:`~smecore.sme.LinearStructure` for affine problems).
"""

from __future__ import annotations

import numpy as np

from .._validation import positive_float
from ..algorithms.schedules import _check_schedule
from .sde import SDE, LinearStructure

__all__ = ["scheduled_sme"]


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
    from ..problems.base import StochasticObjective

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
        (use :func:`smecore.moments.scheduled_sme_moments` for its exact moments).

    Examples
    --------
    >>> import numpy as np
    >>> from smecore.algorithms import InverseTimeSchedule
    >>> from smecore.problems import GaussianQuadratic
    >>> sde = scheduled_sme(GaussianQuadratic([2.0]), 0.1, InverseTimeSchedule(1.0))
    >>> sde.drift(1.0, np.array([[1.0]]))   # -u(1) * 2 * 1 with u(1) = 1/2
    array([[-1.]])
    """
    problem = _check_problem(problem)
    lr = positive_float(lr, "lr")
    return ScheduledSME(problem, lr, _check_schedule(schedule, problem.dim))
