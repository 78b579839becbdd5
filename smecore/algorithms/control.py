"""Controlled SGD: the feedback law of cSGD on a local quadratic model.

Li, Tai & E (ICML 2017) derive an adaptive learning rate from the SME: on a
quadratic direction with curvature ``a`` and gradient-noise variance Sigma, the
multiplier u in [0, 1] of the learning rate that minimises d/dt E(X - b)^2 is
u* = min(1, a m / (lr Sigma)). These closed forms define the cSGD schedule
(:class:`smecore.algorithms.CSGDSchedule`) and are re-exported with the other
closed forms in :mod:`smecore.moments.closed_forms`.

The feedback law takes a ``gain`` g, u = min(1, g a m / (lr Sigma)), so that the
wrong laws a claim must reject can be written down: g = 1 is the optimum,
g = 1/2 the law with a spurious factor 2 (registered as the mutant
``A1:feedback-gain-1/2``) and g = inf no feedback at all, u = 1
(``A1:no-feedback``; see :mod:`smecore.mutants`).
"""

from __future__ import annotations

import math

import numpy as np

from .. import mutants

__all__ = ["feedback_gain", "csgd_rate", "csgd_optimal_multiplier", "csgd_optimal_path", "csgd_switch_time"]


def _as(*values):
    return [np.asarray(v, dtype=float) for v in values]


def feedback_gain(gain=1.0):
    """The feedback gain g in force: ``gain``, or the active mutant's (see :mod:`smecore.mutants`).

    Raises
    ------
    TypeError, ValueError
        If the gain is not a number in (0, 2) or inf.

    Examples
    --------
    >>> feedback_gain(1.0)
    1.0
    """
    gain = mutants.overrides("csgd_feedback").get("gain", gain)
    if isinstance(gain, bool) or not isinstance(gain, (int, float, np.floating, np.integer)):
        raise TypeError(f"gain must be a number, got {type(gain).__name__}")
    gain = float(gain)
    if not (0 < gain < 2 or gain == math.inf):
        raise ValueError(f"gain must lie in (0, 2) or be inf (no feedback), got {gain!r}")
    return gain


def csgd_rate(a, m, u, lr, noise_var):
    """dm/dt = -2 a u m + lr Sigma u^2, m = E(X - b)^2 under multiplier u.

    Examples
    --------
    >>> float(csgd_rate(1.0, 1.0, 1.0, 0.1, 1.0))
    -1.9
    """
    a, m, u, lr, s2 = _as(a, m, u, lr, noise_var)
    return -2 * a * u * m + lr * s2 * u**2


def csgd_optimal_multiplier(a, m, lr, noise_var, *, gain=1.0):
    """u* = min(1, a m / (lr Sigma)): minimises dm/dt over u in [0, 1].

    Parameters
    ----------
    a, m, lr, noise_var : float or array_like
        Curvature, second moment E(X - b)^2, learning rate, noise variance.
    gain : float
        g in u = min(1, g a m / (lr Sigma)); 1 (default) is the optimum, any
        other value in (0, 2) or ``inf`` (u = 1) is a wrong law, kept to test
        that the claims reject it.

    Returns
    -------
    ndarray

    Raises
    ------
    ValueError
        If ``gain`` is not in (0, 2) or inf.

    References
    ----------
    Li, Tai & E (ICML 2017), the cSGD feedback law.

    Examples
    --------
    >>> [float(u) for u in csgd_optimal_multiplier(1.0, [1.0, 0.01], 0.1, 1.0)]
    [1.0, 0.1]
    """
    gain = feedback_gain(gain)
    a, m, lr, s2 = _as(a, m, lr, noise_var)
    if gain == math.inf:
        return np.ones(np.broadcast_shapes(a.shape, m.shape, lr.shape, s2.shape))
    return np.minimum(1.0, gain * a * m / (lr * s2))


def csgd_switch_time(a, m0, lr, noise_var, *, gain=1.0):
    """t1, when the feedback multiplier leaves 1 (0 if it starts below 1, inf if never).

    Under u = 1 the second moment relaxes towards m_inf = lr Sigma / (2a); the
    multiplier leaves 1 when m reaches m_s = lr Sigma / (g a), at
    t1 = log((m0 - m_inf) / (m_s - m_inf)) / (2a).

    Examples
    --------
    >>> round(float(csgd_switch_time(1.0, 1.0, 0.1, 1.0)), 6), round(float(np.log(19.0) / 2), 6)
    (1.472219, 1.472219)
    """
    gain = feedback_gain(gain)
    a, m0, lr, s2 = np.broadcast_arrays(*_as(a, m0, lr, noise_var))
    if gain == math.inf:
        return np.full(a.shape, np.inf)[()]
    m_inf = lr * s2 / (2 * a)
    m_switch = lr * s2 / (gain * a)
    above = m0 > m_switch
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(above, np.log((m0 - m_inf) / np.where(above, m_switch - m_inf, 1.0)) / (2 * a), 0.0)
    return t1[()]


def csgd_optimal_path(a, m0, lr, noise_var, t, *, gain=1.0):
    """Closed-form m(t) and u*(t) under the optimal multiplier, from m(0) = m0.

    Phase 1 (u* = 1, while a m >= lr Sigma): m relaxes towards lr Sigma/(2a),
    m = m_inf + (m0 - m_inf) e^{-2at}, until m = lr Sigma / a at
    t1 = log((m0 - m_inf)/m_inf) / (2a). Phase 2 (u* = a m/(lr Sigma) < 1):
    dm/dt = -a^2 m^2/(lr Sigma), so m = lr Sigma / (a (1 + a (t - t1))) and
    u* = 1/(1 + a (t - t1)) ~ 1/(a t): the annealing schedule.

    With a gain g != 1 (a wrong law, see :func:`csgd_optimal_multiplier`) the
    switch is at m = lr Sigma / (g a) and phase 2 obeys
    dm/dt = -g (2 - g) a^2 m^2 / (lr Sigma); with g = inf, u = 1 throughout.

    Parameters
    ----------
    a, m0, lr, noise_var, t : float or array_like
        Broadcast together.
    gain : float
        As in :func:`csgd_optimal_multiplier`.

    Returns
    -------
    m, u : ndarray
        Shapes of the broadcast inputs.

    References
    ----------
    Li, Tai & E (ICML 2017), the cSGD feedback law.

    Examples
    --------
    >>> m, u = csgd_optimal_path(1.0, 1.0, 0.1, 1.0, [0.0, 1000.0])
    >>> [round(float(v), 6) for v in u]
    [1.0, 0.001]
    """
    gain = feedback_gain(gain)
    a, m0, lr, s2, t = np.broadcast_arrays(*_as(a, m0, lr, noise_var, t))
    m_inf = lr * s2 / (2 * a)
    t1 = np.broadcast_to(csgd_switch_time(a, m0, lr, s2, gain=gain), a.shape)
    phase1 = t < t1
    m1 = m_inf + (m0 - m_inf) * np.exp(-2 * a * np.where(phase1, t, 0.0))
    if gain == math.inf:
        m = m1
    else:
        # Starting below the switch: phase 2 from t = 0 with m0 in place of lr Sigma / (g a).
        m_start = np.minimum(m0, lr * s2 / (gain * a))
        elapsed = np.where(phase1, 0.0, t - t1)
        m2 = 1.0 / (1.0 / m_start + gain * (2 - gain) * a**2 * elapsed / (lr * s2))
        m = np.where(phase1, m1, m2)
    return m, csgd_optimal_multiplier(a, m, lr, s2, gain=gain)


# Wrong feedback laws that the cSGD claims must reject (see smecore.mutants).
mutants.register(mutants.Mutant(
    "A1", "feedback-gain-1/2", "csgd_feedback", {"gain": 0.5},
    "cSGD with u = min(1, a m / (2 lr Sigma)) in place of min(1, a m / (lr Sigma))"))
mutants.register(mutants.Mutant(
    "A1", "no-feedback", "csgd_feedback", {"gain": math.inf},
    "cSGD without feedback: u = 1, the constant learning rate"))
