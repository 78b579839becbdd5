"""Relaxation rates of heavy-ball momentum on a quadratic, and the Bessel velocity.

On 1/2 lam x^2 the mean of the iterates decays per step at a rate given exactly
(:func:`heavy_ball_rate`), as the heavy-ball SME predicts
(:func:`momentum_sme_rate`), and as the effective-learning-rate picture predicts
(:func:`effective_sgd_rate`); :func:`msgd_quadratic_stationary_value` is the exact
stationary loss. :func:`nesterov_deterministic_velocity` is the velocity of the
Bessel solution of the Su-Boyd-Candes ODE. The momentum and Nesterov chapters
use them.
"""

from __future__ import annotations

import numpy as np
import scipy.special

from .._validation import finite_array, positive_float
from .. import mutants
from .closed_forms import (msgd_sme_stationary_variance, msgd_stationary_variance,
                           nesterov_sme_value_asymptote)

__all__ = ["heavy_ball_rate", "momentum_sme_rate", "effective_sgd_rate", "msgd_quadratic_stationary_value", "nesterov_deterministic_velocity",
           "critical_momentum", "fastest_momentum", "nesterov_noise_asymptote"]


def _rate_args(lam, lr, momentum):
    lam = finite_array(lam, "lam")
    lr = finite_array(lr, "lr")
    mu = finite_array(momentum, "momentum")
    if np.any(lam <= 0) or np.any(lr <= 0):
        raise ValueError("lam and lr must be > 0")
    if np.any(mu < 0) or np.any(mu >= 1):
        raise ValueError("momentum must lie in [0, 1)")
    return lam, lr, mu


def heavy_ball_rate(lam, lr, momentum):
    """Exact decay rate per step of the mean of heavy ball on 1/2 lam x^2.

    E x_k solves x_{k+1} = (1 + mu - lr lam) x_k - mu x_{k-1}, whose
    characteristic roots z satisfy z^2 - (1 + mu - lr lam) z + mu = 0. The rate
    is -log max``|z|``: E x_k decays like exp(-rate k) (times a power of k at a
    double root). Complex roots (underdamped) have ``|z|`` = sqrt(mu), rate
    -log(mu)/2; the double root at mu = (1 - sqrt(lr lam))^2 gives the largest
    rate, -log(1 - sqrt(lr lam)) (Polyak's optimal momentum).

    Parameters
    ----------
    lam, lr, momentum : array_like
        Curvature > 0, learning rate > 0, mu in [0, 1); broadcast together.

    Returns
    -------
    ndarray
        The rate; <= 0 means the mean does not decay (lr lam >= 2 (1 + mu)).

    Examples
    --------
    >>> round(float(heavy_ball_rate(1.0, 0.1, 0.0)), 10)   # SGD: -log(1 - lr lam)
    0.1053605157
    >>> round(float(heavy_ball_rate(1.0, 0.01, 0.81)), 6)  # double root 0.9
    0.105361
    >>> round(float(heavy_ball_rate(1.0, 0.01, 0.99)), 10) # underdamped: -log(0.99)/2
    0.0050251679
    """
    lam, lr, mu = _rate_args(lam, lr, momentum)
    b = 1.0 + mu - lr * lam
    disc = np.sqrt((b**2 - 4.0 * mu).astype(complex))
    radius = np.maximum(np.abs((b + disc) / 2), np.abs((b - disc) / 2))
    return -np.log(radius)


def momentum_sme_rate(lam, lr, momentum):
    """Decay rate per step of E X for the heavy-ball SME on 1/2 lam x^2.

    The mean solves X'' + gamma X' + lam X = 0, gamma = (1 - mu)/sqrt(lr), in
    time t = k sqrt(lr); it decays like exp(-r t) with
    r = (gamma - Re sqrt(gamma^2 - 4 lam)) / 2, i.e. r sqrt(lr) per step.
    Critical damping gamma = 2 sqrt(lam) gives the largest r, sqrt(lam).

    Parameters
    ----------
    lam, lr, momentum : array_like
        Broadcast together; mu in [0, 1).

    Returns
    -------
    ndarray

    Examples
    --------
    >>> round(float(momentum_sme_rate(1.0, 0.01, 0.99)), 10)   # underdamped: (1 - mu)/2
    0.005
    >>> round(float(momentum_sme_rate(1.0, 0.01, 0.8)), 10)    # critical: sqrt(lr lam)
    0.1
    """
    lam, lr, mu = _rate_args(lam, lr, momentum)
    gamma = (1.0 - mu) / np.sqrt(lr)
    root = np.real(np.sqrt((gamma**2 - 4.0 * lam).astype(complex)))
    return np.sqrt(lr) * (gamma - root) / 2.0


def effective_sgd_rate(lam, lr, momentum):
    """Decay rate per step of E X predicted by the SGD SME at lr_eff = lr / (1 - mu): lam lr_eff.

    The SME dX = -lam X dt + ... in time t = k lr_eff gives E X = exp(-lam lr_eff k) x0.

    Examples
    --------
    >>> float(effective_sgd_rate(1.0, 0.01, 0.9))
    0.1
    """
    lam, lr, mu = _rate_args(lam, lr, momentum)
    return lam * lr / (1.0 - mu)


def msgd_quadratic_stationary_value(eigenvalues, lr, momentum, noise_var, *, eta_correction=True):
    """lim E f(x_k) = 1/2 sum_i lam_i Var_inf(x_i) for heavy ball on 1/2 x^T H x (H diagonalised).

    Var_inf is :func:`smecore.moments.closed_forms.msgd_stationary_variance` per
    eigen-direction, with gradient-noise variance ``noise_var`` (lam_i^2 / B
    for the Gaussian quadratic with batch size B): the book's result M2
    (momentum chapter). For one direction with lam = 1, twice the value is
    the stationary variance itself.

    Parameters
    ----------
    eigenvalues : array_like, shape (d,)
    lr : float
    momentum : float or array_like
        mu; an array gives one value per entry.
    noise_var : array_like, shape (d,)
    eta_correction : bool, default True
        False drops the factor 2(1 + mu)/(2(1 + mu) - lr lam_i) and returns the
        SME value eta_eff sum_i sigma_i^2 / 4: the mutant M2:no-eta-correction.

    Returns
    -------
    ndarray, shape of ``momentum``

    Examples
    --------
    >>> round(float(msgd_quadratic_stationary_value([1.0], 0.01, 0.9, [1.0])), 10)
    0.025065963
    """
    eta_correction = mutants.overrides("msgd_quadratic_stationary_value").get(
        "eta_correction", eta_correction)
    lam = finite_array(eigenvalues, "eigenvalues", ndim=1)
    s2 = finite_array(noise_var, "noise_var", shape=lam.shape)
    mu = np.asarray(finite_array(momentum, "momentum"))
    formula = msgd_stationary_variance if eta_correction else msgd_sme_stationary_variance
    var = formula(lam, lr, mu[..., None], s2)
    return 0.5 * np.sum(lam * var, axis=-1)


def nesterov_deterministic_velocity(lam, x0, t):
    """V(t) = X'(t) = -2 x0 sqrt(lam) J2(sqrt(lam) t) / (sqrt(lam) t) for the Bessel solution.

    X(t) = 2 x0 J1(u)/u with u = sqrt(lam) t solves X'' + (3/t) X' + lam X = 0,
    X(0) = x0, X'(0) = 0 (:func:`smecore.moments.closed_forms.nesterov_deterministic_solution`);
    d/du [J1(u)/u] = -J2(u)/u. Near t = 0, V = -lam x0 t / 4 + O(t^3).

    Parameters
    ----------
    lam : array_like
        Curvature(s) lam > 0.
    x0 : array_like
        Initial position(s).
    t : array_like
        Times >= 0.

    Examples
    --------
    >>> [round(float(v), 10) for v in nesterov_deterministic_velocity(1.0, 1.0, [1.0, 2.0])]
    [-0.2298069699, -0.3528340286]
    """
    lam, x0, t = (np.asarray(v, dtype=float) for v in (lam, x0, t))
    u = np.sqrt(lam) * t
    small = np.abs(u) < 1e-4
    safe = np.where(small, 1.0, u)
    # 2 J2(u)/u = u/4 - u^3/48 + ...; the series avoids 0/0 at t = 0.
    ratio = np.where(small, u / 4 - u**3 / 48, 2 * scipy.special.jv(2, safe) / safe)
    return -x0 * np.sqrt(lam) * ratio


def critical_momentum(lam, lr, *, curvature_power=0.5):
    """mu_c = 1 - 2 lam^{1/2} sqrt(lr): the momentum of critical damping (result M3).

    In the heavy-ball SME the mean in the direction of curvature lam is the
    damped oscillator X'' + gamma X' + lam X = 0 (time t = k sqrt(lr),
    gamma = (1 - mu)/sqrt(lr)); it decays fastest, at rate sqrt(lam), at the
    critical friction gamma_c = 2 sqrt(lam) (momentum chapter, critical damping).

    Parameters
    ----------
    lam : array_like
        Curvature(s) > 0.
    lr : float
        Learning rate > 0.
    curvature_power : float, default 0.5
        gamma_c = 2 lam ** curvature_power; 1 (gamma_c = 2 lam, the curvature
        in place of its square root) is the mutant M3:friction-2lam.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> round(float(critical_momentum(0.01, 0.1)), 6)
    0.936754
    """
    curvature_power = mutants.overrides("critical_momentum").get("curvature_power",
                                                                 curvature_power)
    lam = finite_array(lam, "lam")
    if np.any(lam <= 0):
        raise ValueError("lam must be > 0")
    lr = positive_float(lr, "lr")
    return 1.0 - 2.0 * lam ** float(curvature_power) * np.sqrt(lr)


def fastest_momentum(lam, lr, *, n_grid=4001, smallest=1e-4):
    """The momentum that maximises the exact decay rate of E x_k on 1/2 lam x^2, on a grid.

    Maximises :func:`heavy_ball_rate` over 1 - mu on a geometric grid from 1
    down to ``smallest`` (relative spacing (1/smallest)^{1/(n_grid-1)} - 1,
    0.23% by default). The exact optimum is the double root
    mu = (1 - sqrt(lr lam))^2; the SME's critical damping
    (:func:`critical_momentum`) predicts it to relative O(sqrt(lr lam)).

    Parameters
    ----------
    lam, lr : float
        Curvature and learning rate, > 0.
    n_grid : int, default 4001
    smallest : float, default 1e-4

    Returns
    -------
    float

    Examples
    --------
    >>> mu = fastest_momentum(0.01, 0.1)
    >>> abs(mu - (1 - 0.1**1.5) ** 2) < 0.003 * (1 - mu)
    True
    """
    lam, lr = positive_float(lam, "lam"), positive_float(lr, "lr")
    one_minus = np.geomspace(1.0, positive_float(smallest, "smallest"), int(n_grid))
    return float(1.0 - one_minus[np.argmax(heavy_ball_rate(lam, lr, 1.0 - one_minus))])


def nesterov_noise_asymptote(noise_intensity, t, *, equipartition=True):
    """E f(X_t) ~ s^2 t / 16 of the Nesterov SME started at the minimum (result N2).

    The energy E = (V^2 + lam X^2)/2 gains s^2/2 per unit time and loses
    (3/t) E V^2; with equipartition E V^2 ~ E E ~ 2 E f for t >> 1/sqrt(lam),
    E E ~ s^2 t / 8 and E f ~ s^2 t / 16
    (:func:`smecore.moments.closed_forms.nesterov_sme_value_asymptote`; Nesterov
    chapter, noise accumulation).

    Parameters
    ----------
    noise_intensity : array_like
        s^2 = sqrt(lr) sigma^2.
    t : array_like
        Times.
    equipartition : bool, default True
        False counts the whole energy as potential, E f ~ s^2 t / 8: the
        mutant N2:no-equipartition.

    Examples
    --------
    >>> float(nesterov_noise_asymptote(1.0, 16.0))
    1.0
    """
    equipartition = mutants.overrides("nesterov_noise_asymptote").get("equipartition",
                                                                     equipartition)
    value = nesterov_sme_value_asymptote(noise_intensity, t)
    return value if equipartition else 2.0 * value


# Wrong formulas that the claims M2, M3, N2 of the book must reject (see smecore.mutants).
mutants.register(mutants.Mutant(
    "M2", "no-eta-correction", "msgd_quadratic_stationary_value", {"eta_correction": False},
    "stationary level eta_eff sigma^2/(4) without its factor 2(1 + mu)/(2(1 + mu) - eta lam)"))
mutants.register(mutants.Mutant(
    "M3", "friction-2lam", "critical_momentum", {"curvature_power": 1.0},
    "critical friction 2 lam (curvature) in place of 2 sqrt(lam)"))
mutants.register(mutants.Mutant(
    "N2", "no-equipartition", "nesterov_noise_asymptote", {"equipartition": False},
    "SME noise asymptote s^2 t/8 (all energy potential) in place of s^2 t/16"))
