"""High-dimensional limits of streaming SGD at the critical step size c / N.

Time is t = k / N. Online least squares with isotropic Gaussian data has the exact
mean recursion :func:`smecore.closed_forms.online_lsq_discrete` and, as N -> infinity,
the limit ODE dD/dt = -2cD + c^2 (D + sigma^2) (:func:`lsq_ode`): the first term is
the population gradient flow (the "ballistic" drift), the second the diffusive
corrector from the squared step. Near the fixed point c sigma^2 / (2 - c) the
rescaled fluctuation sqrt(N)(D_N - D) is an Ornstein-Uhlenbeck process
(:func:`lsq_ou`). For a teacher-student single neuron the summary statistics
(m, Q) = (<x, x*>, ``|x|^2)`` obey :func:`neuron_ode`, with Gaussian expectations by
Gauss-Hermite quadrature (:func:`neuron_expectations`).

Each limit has a named mutant, ``corrector=False``: the same equations without the
c^2 term, i.e. the gradient flow of the population loss. The chapter
``critical_scaling`` shows that the mutant fails at the critical scale.

References
----------
G. Ben Arous, R. Gheissari and A. Jagannath, High-dimensional limit theorems for SGD:
effective dynamics and critical scaling, NeurIPS 2022 (arXiv:2206.04030).
D. Saad and S. A. Solla, On-line learning in soft committee machines, Phys. Rev. E 52 (1995).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.integrate
import scipy.special

from .. import closed_forms
from .. import mutants
from .._validation import finite_array, one_of, positive_float

__all__ = ["lsq_ode", "lsq_ou", "OUPrediction", "ou_estimates", "OUEstimate",
           "neuron_expectations", "neuron_ode", "ACTIVATIONS"]

ACTIVATIONS = ("erf", "tanh")


def lsq_ode(c, noise_var, D0, t, *, corrector=True):
    """D(t) of the limit ODE dD/dt = -2cD + c^2 (D + sigma^2), or of its mutant.

    Parameters
    ----------
    c : float
        Step multiplier (step c / N), > 0.
    noise_var : float
        Label-noise variance sigma^2, >= 0.
    D0 : float
        Initial squared error ``|x_0 - x*|^2.``
    t : array_like
        Times t = k / N.
    corrector : bool, default True
        False gives the mutant "no corrector": the population gradient flow
        dD/dt = -2cD, D = D0 exp(-2ct), which misses the c^2 term.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> round(float(lsq_ode(1.0, 0.5, 1.0, 50.0)), 6)
    0.5
    >>> round(float(lsq_ode(1.0, 0.5, 1.0, 50.0, corrector=False)), 6)
    0.0
    """
    corrector = mutants.overrides("lsq_ode").get("corrector", corrector)
    c = positive_float(c, "c")
    noise_var = positive_float(noise_var, "noise_var", allow_zero=True)
    t = finite_array(t, "t")
    if corrector:
        if c == 2.0:
            return D0 + c**2 * noise_var * t
        return closed_forms.online_lsq_ode(c, noise_var, D0, t)
    return D0 * np.exp(-2 * c * t)


@dataclass(frozen=True)
class OUPrediction:
    """Ornstein-Uhlenbeck limit of U = sqrt(N)(D_N - D_inf) near the fixed point.

    dU = -kappa U dt + s dB, so Var U = s^2 / (2 kappa) and Corr(U_t, U_{t+tau}) = exp(-kappa tau).

    Attributes
    ----------
    fixed_point : float
        D_inf.
    rate : float
        kappa, the restoring rate.
    diffusion : float
        s^2, the diffusion coefficient.
    variance : float
        Stationary variance s^2 / (2 kappa).
    correlation_time : float
        1 / kappa.
    """

    fixed_point: float
    rate: float
    diffusion: float
    variance: float
    correlation_time: float


def lsq_ou(c, noise_var, *, corrector=True) -> OUPrediction:
    """OU prediction for online least squares at step c / N, isotropic data.

    One step changes D by (b(D) + zeta) / N with b(D) = -2cD + c^2 (D + sigma^2) and a
    centred zeta = alpha D (g^2 - 1) + beta sqrt(D) g xi + gamma (xi^2 - sigma^2) + O(N^-1/2),
    where g ~ N(0, 1), xi ~ N(0, sigma^2), alpha = c^2 - 2c, beta = 2c - 2c^2,
    gamma = c^2. So s^2(D) = Var zeta = 2 alpha^2 D^2 + beta^2 D sigma^2 + 2 gamma^2 sigma^4,
    kappa = -b'(D) = 2c - c^2, and U = sqrt(N)(D_N - D) has Var U = s^2(D_inf) / (2 kappa).

    Parameters
    ----------
    c : float
        Step multiplier, 0 < c < 2.
    noise_var : float
        sigma^2 > 0.
    corrector : bool, default True
        False: the mutant without the c^2 drift term (kappa = 2c, fixed point 0).

    Returns
    -------
    OUPrediction

    Raises
    ------
    ValueError
        If c >= 2 (no fixed point: the dynamics diverge).

    Examples
    --------
    >>> p = lsq_ou(1.0, 1.0)
    >>> p.fixed_point, p.rate, p.variance
    (1.0, 1.0, 2.0)
    """
    corrector = mutants.overrides("lsq_ou").get("corrector", corrector)
    c = positive_float(c, "c")
    s2 = positive_float(noise_var, "noise_var")
    if corrector:
        if c >= 2:
            raise ValueError(f"c must be < 2 for a fixed point (the dynamics diverge), got {c}")
        D = float(closed_forms.online_lsq_fixed_point(c, s2))
        kappa = 2 * c - c**2
    else:
        D, kappa = 0.0, 2 * c
    alpha, beta, gamma = c**2 - 2 * c, 2 * c - 2 * c**2, c**2
    diff = 2 * alpha**2 * D**2 + beta**2 * D * s2 + 2 * gamma**2 * s2**2
    return OUPrediction(D, kappa, diff, diff / (2 * kappa), 1 / kappa)


@dataclass(frozen=True)
class OUEstimate:
    """Stationary variance and restoring rate measured from runs, with standard errors."""

    variance: float
    variance_stderr: float
    correlation: float
    correlation_stderr: float
    rate: float
    rate_stderr: float
    lag: float


def ou_estimates(values, times, center, scale, *, t_burn, lag) -> OUEstimate:
    """Estimate Var U and the rate kappa of U = scale (values - center) from independent runs.

    Each run gives its time averages over t >= t_burn of U_t^2 and U_t U_{t+lag}; the
    runs are independent, so their scatter gives the standard errors (the ratio
    estimator of the correlation by the delta method). kappa = -log(rho) / lag.

    Parameters
    ----------
    values : array_like, shape (M, R)
        A summary statistic per run at equally spaced times, M >= 2.
    times : array_like, shape (R,)
        The record times (equally spaced).
    center, scale : float
        U = scale * (values - center), e.g. scale = sqrt(N), center = D_inf.
    t_burn : float
        Start of the stationary window.
    lag : float
        Lag tau, a multiple of the record spacing.

    Returns
    -------
    OUEstimate

    Examples
    --------
    >>> rng = __import__("numpy").random.default_rng(0)
    >>> u = rng.standard_normal((50, 400))
    >>> est = ou_estimates(u, range(400), 0.0, 1.0, t_burn=0, lag=1)
    >>> abs(est.variance - 1) < 4 * est.variance_stderr
    True
    """
    v = finite_array(values, "values", ndim=2)
    t = finite_array(times, "times", shape=(v.shape[1],))
    if v.shape[0] < 2:
        raise ValueError(f"values needs at least 2 runs, got {v.shape[0]}")
    dt = t[1] - t[0]
    shift = round(lag / dt)
    if shift < 1 or abs(shift * dt - lag) > 1e-9 * max(lag, 1):
        raise ValueError(f"lag ({lag}) must be a positive multiple of the record spacing ({dt:g})")
    u = scale * (v[:, t >= t_burn - 1e-12] - center)
    if u.shape[1] <= shift + 1:
        raise ValueError("the window after t_burn is shorter than the lag")
    m = u.shape[0]
    b = np.mean(u**2, axis=1)
    a = np.mean(u[:, :-shift] * u[:, shift:], axis=1)
    b0 = np.mean(u[:, :-shift] ** 2, axis=1)
    rho = a.mean() / b0.mean()
    rho_se = np.std(a - rho * b0, ddof=1) / (np.sqrt(m) * b0.mean())
    rate = -math.log(rho) / lag if rho > 0 else math.inf
    return OUEstimate(float(b.mean()), float(b.std(ddof=1) / np.sqrt(m)), float(rho),
                      float(rho_se), rate, float(rho_se / (abs(rho) * lag)), float(lag))


# --------------------------------------------------------------------------
# Teacher-student single neuron
# --------------------------------------------------------------------------


def _phi(z, activation):
    if activation == "erf":
        return scipy.special.erf(z / math.sqrt(2))
    return np.tanh(z)


def _dphi(z, activation):
    if activation == "erf":
        return math.sqrt(2 / math.pi) * np.exp(-0.5 * z * z)
    return 1 - np.tanh(z) ** 2


def neuron_expectations(m, Q, P=1.0, noise_var=0.0, activation="erf", n_quad=60):
    """E[G v], E[G u] and E[G^2] for G = (phi(u) - phi(v) - xi) phi'(u).

    (u, v) = (<a, x>, <a, x*>) is centred Gaussian with Var u = Q, Cov = m, Var v = P,
    and xi ~ N(0, sigma^2) independent. Computed with a tensor Gauss-Hermite rule.

    Parameters
    ----------
    m, Q : array_like
        Overlap <x, x*> and ``|x|^2`` (broadcast together), with m^2 < Q P.
    P : float
        ``|x*|^2.``
    noise_var : float
        sigma^2.
    activation : {"erf", "tanh"}
    n_quad : int
        Points per dimension.

    Returns
    -------
    Egv, Egu, Eg2 : ndarray

    Examples
    --------
    >>> [round(float(v), 12) for v in neuron_expectations(1.0, 1.0)]   # at the teacher
    [0.0, 0.0, 0.0]
    """
    one_of(activation, "activation", ACTIVATIONS)
    m, Q = np.broadcast_arrays(*[np.asarray(v, dtype=float) for v in (m, Q)])
    z, w = np.polynomial.hermite_e.hermegauss(n_quad)
    w = w / w.sum()
    sq = np.sqrt(Q)[..., None, None]
    u = sq * z[:, None]
    cond = np.sqrt(np.maximum(P - m**2 / Q, 0.0))[..., None, None]
    v = (m[..., None, None] / sq) * z[:, None] + cond * z[None, :]
    W = w[:, None] * w[None, :]
    dp = _dphi(u, activation)
    diff = _phi(u, activation) - _phi(v, activation)
    g = diff * dp
    Egv = np.sum(W * g * v, axis=(-2, -1))
    Egu = np.sum(W * g * u, axis=(-2, -1))
    Eg2 = np.sum(W * (diff**2 + noise_var) * dp**2, axis=(-2, -1))
    return Egv, Egu, Eg2


def neuron_ode(c, m0, Q0, t, *, P=1.0, noise_var=0.0, activation="erf", corrector=True,
               rtol=1e-10):
    """Summary-statistic ODEs of the single neuron at step c / N, t = k / N.

    dm/dt = -c E[G v],  dQ/dt = -2c E[G u] + c^2 E[G^2]  (corrector), derived from
    m' = m - (c/N) G v and Q' = Q - 2(c/N) G u + (c/N)^2 G^2 ``|a|^2`` with ``|a|^2`` / N -> 1.

    Parameters
    ----------
    c : float
        Step multiplier, > 0.
    m0, Q0 : float
        Initial overlap and squared norm, m0^2 < Q0 P.
    t : array_like
        Increasing output times, t[0] = 0.
    P, noise_var, activation
        As in :func:`neuron_expectations`.
    corrector : bool, default True
        False gives the mutant "no corrector" (gradient flow of the population loss).
    rtol : float
        Relative tolerance of the integrator (absolute tolerance rtol * 1e-2).

    Returns
    -------
    m, Q : ndarray
        At the times ``t``.

    Examples
    --------
    >>> m, Q = neuron_ode(1.0, 1.0, 1.0, [0.0, 1.0])
    >>> [round(float(v), 10) for v in (m[-1], Q[-1])]   # the teacher is a fixed point
    [1.0, 1.0]
    """
    corrector = mutants.overrides("neuron_ode").get("corrector", corrector)
    c = positive_float(c, "c")
    t = finite_array(t, "t", ndim=1)
    if t[0] != 0 or np.any(np.diff(t) <= 0):
        raise ValueError("t must be increasing and start at 0")
    if not m0**2 < Q0 * P + 1e-15:
        raise ValueError(f"need m0^2 <= Q0 P (a Gram matrix), got m0={m0}, Q0={Q0}, P={P}")
    k = c**2 if corrector else 0.0

    def rhs(_, y):
        Egv, Egu, Eg2 = neuron_expectations(y[0], y[1], P, noise_var, activation)
        return [-c * Egv, -2 * c * Egu + k * Eg2]

    sol = scipy.integrate.solve_ivp(rhs, (0.0, float(t[-1])), [m0, Q0], t_eval=t, rtol=rtol,
                                    atol=rtol * 1e-2, method="DOP853")
    if not sol.success:  # pragma: no cover - the right-hand side is smooth
        raise RuntimeError(f"neuron_ode: integration failed: {sol.message}")
    return sol.y[0], sol.y[1]



# Wrong equations the chapters' claims must reject (smecore.mutants): the limits without the
# diffusive corrector that the critical step size c/N adds.
mutants.register(mutants.Mutant(
    "HD1", "no-corrector", "lsq_ode", {"corrector": False},
    "the limit of D without its diffusive corrector c^2 (D + sigma^2): the population gradient flow"))
mutants.register(mutants.Mutant(
    "HD2", "no-corrector", "lsq_ou", {"corrector": False},
    "the OU fluctuations of the limit without the corrector (relaxation rate 2c instead of 2c - c^2)"))
mutants.register(mutants.Mutant(
    "HD3", "no-corrector", "neuron_ode", {"corrector": False},
    "the single neuron's summary-statistic ODEs without their diffusive corrector"))
