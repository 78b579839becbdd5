"""Controlled SGD: the feedback law of the paper's cSGD on a local quadratic model.

Li, Tai & E (2019), Section 5 derives an adaptive learning rate from the SME: on a
quadratic direction with curvature ``a`` and gradient-noise variance Sigma, the
multiplier u in [0, 1] of the learning rate that minimises d/dt E(X - b)^2 is
u* = min(1, a m / (lr Sigma)). These closed forms define the cSGD schedule
(:class:`smecore.algorithms.CSGDSchedule`) and are re-exported with the paper's other
closed forms in :mod:`smecore.moments.closed_forms`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["csgd_rate", "csgd_optimal_multiplier", "csgd_optimal_path"]


def _as(*values):
    return [np.asarray(v, dtype=float) for v in values]


def csgd_rate(a, m, u, lr, noise_var):
    """dm/dt = -2 a u m + lr Sigma u^2, m = E(X - b)^2 under multiplier u.

    Examples
    --------
    >>> float(csgd_rate(1.0, 1.0, 1.0, 0.1, 1.0))
    -1.9
    """
    a, m, u, lr, s2 = _as(a, m, u, lr, noise_var)
    return -2 * a * u * m + lr * s2 * u**2


def csgd_optimal_multiplier(a, m, lr, noise_var):
    """u* = min(1, a m / (lr Sigma)): minimises dm/dt over u in [0, 1].

    Examples
    --------
    >>> [float(u) for u in csgd_optimal_multiplier(1.0, [1.0, 0.01], 0.1, 1.0)]
    [1.0, 0.1]
    """
    a, m, lr, s2 = _as(a, m, lr, noise_var)
    return np.minimum(1.0, a * m / (lr * s2))


def csgd_optimal_path(a, m0, lr, noise_var, t):
    """Closed-form m(t) and u*(t) under the optimal multiplier, from m(0) = m0.

    Phase 1 (u* = 1, while a m >= lr Sigma): m relaxes towards lr Sigma/(2a),
    m = m_inf + (m0 - m_inf) e^{-2at}, until m = lr Sigma / a at
    t1 = log((m0 - m_inf)/m_inf) / (2a). Phase 2 (u* = a m/(lr Sigma) < 1):
    dm/dt = -a^2 m^2/(lr Sigma), so m = lr Sigma / (a (1 + a (t - t1))) and
    u* = 1/(1 + a (t - t1)) ~ 1/(a t): the annealing schedule.

    Returns
    -------
    m, u : ndarray
        Shapes of the broadcast inputs.

    Examples
    --------
    >>> m, u = csgd_optimal_path(1.0, 1.0, 0.1, 1.0, [0.0, 1000.0])
    >>> [round(float(v), 6) for v in u]
    [1.0, 0.001]
    """
    a, m0, lr, s2, t = np.broadcast_arrays(*_as(a, m0, lr, noise_var, t))
    m_inf = lr * s2 / (2 * a)
    m_switch = 2 * m_inf
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(m0 > m_switch, np.log((m0 - m_inf) / np.where(m0 > m_switch, m_inf, 1.0)) / (2 * a), 0.0)
    # Starting below the switch: phase 2 from t = 0 with m0 in place of lr Sigma / a.
    m_start = np.minimum(m0, m_switch)
    phase1 = t < t1
    m1 = m_inf + (m0 - m_inf) * np.exp(-2 * a * np.where(phase1, t, 0.0))
    elapsed = np.where(phase1, 0.0, t - t1)
    m2 = 1.0 / (1.0 / m_start + a**2 * elapsed / (lr * s2))
    m = np.where(phase1, m1, m2)
    return m, csgd_optimal_multiplier(a, m, lr, s2)
