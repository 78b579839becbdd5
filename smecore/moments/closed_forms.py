"""Closed-form moments of the worked examples (Li, Tai & E 2019, and the book's own; see the setting, SGD, momentum, Nesterov and dynamics chapters).

Every function is vectorised with numpy broadcasting. Quadratic results are
stated per eigen-direction: ``lam`` is an eigenvalue of the Hessian H, ``x0``
the initial coordinate along its eigenvector, and ``noise_var`` the variance
sigma^2 of the mini-batch gradient noise along that direction. For the paper's
Gaussian quadratic f_gamma(x) = 1/2 (x - gamma)^T H (x - gamma) - 1/2 Tr H,
Sigma = H^2, so ``noise_var = lam**2 / B`` (the default is ``lam**2``, B = 1).

Functions named ``*_value`` return E f for the whole quadratic
f(x) = 1/2 sum_i lam_i x_i^2 (eigen-coordinates), summed over the last axis of
``eigenvalues``; the time or step argument may be an array and broadcasts
against the leading axes.

Arguments are validated (a ``TypeError`` or ``ValueError`` naming the argument): learning
rates, batch sizes and noise variances must be finite and positive (noise variances may be
0), steps and times non-negative (``inf`` allowed: the stationary limit), and stationary
quantities exist only inside the stability range (for SGD, 0 < lr lam < 2), where a formula
would otherwise return a negative "variance". At lam = 0 (a flat direction) the variances are
the limits lr^2 sigma^2 k (SGD) and lr sigma^2 t (SMEs), not 0/0.

References
----------
Li, Tai & E, Stochastic modified equations and dynamics of stochastic gradient
algorithms I: mathematical foundations, JMLR 20(40), 2019.
Li, Tai & E, Stochastic modified equations and adaptive stochastic gradient
algorithms, ICML 2017.
"""

from __future__ import annotations

import numpy as np
import scipy.special

__all__ = ["sgd_quadratic_mean", "sgd_quadratic_variance", "sgd_quadratic_stationary_variance", "sgd_quadratic_value", "sgd_quadratic_stationary_value", "sme1_quadratic_mean", "sme1_quadratic_variance", "sme1_quadratic_value", "sme2_quadratic_mean", "sme2_quadratic_variance", "sme2_quadratic_value", "sgd_multiplicative_second_moment", "sme1_multiplicative_second_moment", "sme2_multiplicative_second_moment", "effective_learning_rate", "msgd_stationary_variance", "msgd_sme_stationary_variance", "underdamped_stationary_variances", "critical_damping", "nesterov_deterministic_solution", "nesterov_sme_value_asymptote", "nesterov_stationary_variance", "nesterov_discrete_level", "online_lsq_discrete", "online_lsq_ode", "online_lsq_fixed_point", "ONLINE_LSQ_CRITICAL_STEP", "csgd_optimal_multiplier", "csgd_rate", "csgd_optimal_path"]


def _as(*values):
    return [np.asarray(v, dtype=float) for v in values]


def _arg(value, name, *, low=None, strict=False, allow_inf=False):
    """``value`` as a float array, finite (or +inf if ``allow_inf``) and ``>= low`` (``> low``
    if ``strict``); else a TypeError or ValueError naming ``name``."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a number or an array of numbers, got {type(value).__name__}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, got "
                        f"{type(value).__name__}") from None
    bad = np.isnan(arr) | (arr == -np.inf) if allow_inf else ~np.isfinite(arr)
    if np.any(bad):
        raise ValueError(f"{name} must be {'finite or +inf' if allow_inf else 'finite'}, "
                         f"got {value!r}")
    if low is not None and (np.any(arr < low) or (strict and np.any(arr == low))):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {low:g}, got {value!r}")
    return arr


def _lr(lr):
    return _arg(lr, "lr", low=0.0, strict=True)


def _noise(lam, noise_var):
    return lam**2 if noise_var is None else _arg(noise_var, "noise_var", low=0.0)


def _stable(ok, message):
    if not np.all(ok):
        raise ValueError(message)


def _geometric(a, k):
    """sum_{j<k} c^j with c = (1 - a)^2, accurate near c = 1 and equal to k at c = 1."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        one_minus_c = a * (2 - a)
        log_c = 2 * np.where(a < 1, np.log1p(-np.where(a < 1, a, 0.0)), np.log(np.abs(1 - a)))
        ratio = -np.expm1(k * log_c) / one_minus_c
        return np.where(k == 0, 0.0, np.where(one_minus_c == 0, k, ratio))


def _relaxation(a, t):
    """(1 - exp(-2 a t)) / (2 a), equal to t at a = 0."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = -np.expm1(-2 * a * t) / (2 * a)
        return np.where(t == 0, 0.0, np.where(a == 0, t, ratio))


def _value_sum(eigenvalues, mean, var):
    """E f = 1/2 sum_i lam_i (mean_i^2 + var_i), summed over the eigen axis."""
    return 0.5 * np.sum(eigenvalues * (mean**2 + var), axis=-1)


def _eigen_args(eigenvalues, x0, time):
    """Broadcast the time axis in front of the eigen axis."""
    lam = np.atleast_1d(_arg(eigenvalues, "eigenvalues"))
    x0, time = _arg(x0, "x0"), _arg(time, "k or t", low=0, allow_inf=True)
    x0 = np.broadcast_to(x0, lam.shape)
    return lam, x0, time[..., None]


def sgd_quadratic_mean(lam, lr, x0, k):
    """E x_k = (1 - lr lam)^k x0 for SGD along one eigen-direction.

    Examples
    --------
    >>> float(sgd_quadratic_mean(1.0, 0.5, 2.0, 3))
    0.25
    """
    lam, lr, x0, k = _arg(lam, "lam"), _lr(lr), _arg(x0, "x0"), _arg(k, "k", low=0, allow_inf=True)
    return (1 - lr * lam) ** k * x0


def sgd_quadratic_variance(lam, lr, k, noise_var=None):
    """Var x_k = lr^2 sigma^2 (1 - (1 - lr lam)^(2k)) / (lr lam (2 - lr lam)).

    With sigma^2 = lam^2 (the default) this is the paper's
    lr lam (1 - (1 - lr lam)^(2k)) / (2 - lr lam): each step adds noise lr lam gamma
    of variance lr^2 lam^2 and contracts the variance by (1 - lr lam)^2.

    Examples
    --------
    >>> float(sgd_quadratic_variance(1.0, 0.5, 1))
    0.25
    >>> float(sgd_quadratic_variance(0.0, 0.1, 10, noise_var=2.0))  # lam = 0: lr^2 k sigma^2
    0.2

    Raises
    ------
    ValueError
        If ``lr <= 0``, ``k < 0``, ``noise_var < 0`` or any argument is not finite (``k`` may be
        ``inf`` when ``0 < lr lam < 2``).
    """
    lam, lr, k = _arg(lam, "lam"), _lr(lr), _arg(k, "k", low=0, allow_inf=True)
    a = lr * lam
    _stable(~np.isinf(k) | ((a > 0) & (a < 2)),
            "k = inf (the stationary variance) needs 0 < lr * lam < 2")
    return lr**2 * _noise(lam, noise_var) * _geometric(a, k)


def sgd_quadratic_stationary_variance(lam, lr, noise_var=None):
    """lim Var x_k = lr sigma^2 / (lam (2 - lr lam)) (= lr lam / (2 - lr lam) for sigma^2 = lam^2).

    Examples
    --------
    >>> round(float(sgd_quadratic_stationary_variance(1.0, 0.1)), 10)
    0.0526315789

    Raises
    ------
    ValueError
        Outside the stable range 0 < lr lam < 2, where no stationary law exists (the formula
        would give a negative or infinite variance).
    """
    lam, lr = _arg(lam, "lam"), _lr(lr)
    _stable((lr * lam > 0) & (lr * lam < 2),
            f"no stationary variance: SGD is stable only for 0 < lr * lam < 2, got lr * lam = "
            f"{lr * lam!r}")
    return lr * _noise(lam, noise_var) / (lam * (2 - lr * lam))


def sgd_quadratic_value(eigenvalues, lr, x0, k, noise_var=None):
    """E f(x_k) = 1/2 sum_i lam_i [(1 - lr lam_i)^(2k) x0_i^2 + Var x_{k,i}].

    Parameters
    ----------
    eigenvalues : array_like, shape (d,)
    lr : float
    x0 : array_like, shape (d,)
        Initial point in the eigenbasis of H.
    k : int or array_like of int
    noise_var : array_like, shape (d,), optional
        Gradient-noise variance per direction (default ``eigenvalues**2``).

    Returns
    -------
    ndarray, shape of ``k``

    Examples
    --------
    >>> round(float(sgd_quadratic_value([1.0, 2.0], 0.25, [1.0, 1.0], 1)), 6)
    0.8125
    """
    lam, x0, k = _eigen_args(eigenvalues, x0, k)
    mean = sgd_quadratic_mean(lam, lr, x0, k)
    var = sgd_quadratic_variance(lam, lr, k, None if noise_var is None else noise_var)
    return _value_sum(lam, mean, var)


def sgd_quadratic_stationary_value(eigenvalues, lr, noise_var=None):
    """lim E f(x_k) = 1/2 sum_i lam_i Var_inf = 1/2 sum_i lr lam_i^2 / (2 - lr lam_i) for sigma^2 = lam^2.

    Examples
    --------
    >>> round(float(sgd_quadratic_stationary_value([1.0], 0.1)), 10)
    0.0263157895
    """
    lam = np.atleast_1d(np.asarray(eigenvalues, dtype=float))
    return 0.5 * np.sum(lam * sgd_quadratic_stationary_variance(lam, lr, noise_var), axis=-1)


def sme1_quadratic_mean(lam, x0, t):
    """E X_t = exp(-lam t) x0 for the order-1 SME (an Ornstein-Uhlenbeck process).

    Examples
    --------
    >>> round(float(sme1_quadratic_mean(1.0, 1.0, 1.0)), 10)
    0.3678794412
    """
    lam, x0, t = _arg(lam, "lam"), _arg(x0, "x0"), _arg(t, "t", low=0, allow_inf=True)
    with np.errstate(invalid="ignore"):  # lam = 0, t = inf: the mean stays at x0
        return np.where(lam == 0, 1.0, np.exp(-lam * t)) * x0


def sme1_quadratic_variance(lam, lr, t, noise_var=None):
    """Var X_t = lr sigma^2 (1 - exp(-2 lam t)) / (2 lam) for dX = -lam X dt + sqrt(lr) sigma dW.

    With sigma^2 = lam^2: lr lam (1 - exp(-2 lam t)) / 2.

    Examples
    --------
    >>> round(float(sme1_quadratic_variance(1.0, 0.1, 1.0)), 10)
    0.0432332358
    >>> float(sme1_quadratic_variance(0.0, 0.1, 2.0, noise_var=1.0))  # lam = 0: lr sigma^2 t
    0.2
    """
    lam, lr, t = _arg(lam, "lam"), _lr(lr), _arg(t, "t", low=0, allow_inf=True)
    _stable(~np.isinf(t) | (lam > 0), "t = inf (the stationary variance) needs lam > 0")
    return lr * _noise(lam, noise_var) * _relaxation(lam, t)


def sme1_quadratic_value(eigenvalues, lr, x0, t, noise_var=None):
    """E f(X_t) = 1/2 x0^T H e^{-2tH} x0 + (lr/4) sum lam^2 (1 - e^{-2 lam t}) (sigma^2 = lam^2).

    Examples
    --------
    >>> round(float(sme1_quadratic_value([1.0], 0.1, [1.0], 0.0)), 10)
    0.5
    """
    lam, x0, t = _eigen_args(eigenvalues, x0, t)
    return _value_sum(lam, sme1_quadratic_mean(lam, x0, t), sme1_quadratic_variance(lam, lr, t, noise_var))


def _sme2_rate(lam, lr):
    """a = lam + lr lam^2 / 2: the modified drift -grad(f + lr/4 ``|grad f|^2)`` = -a x."""
    return lam + 0.5 * lr * lam**2


def sme2_quadratic_mean(lam, lr, x0, t):
    """E X_t = exp(-a t) x0 with a = lam + lr lam^2 / 2 (order-2 SME).

    Examples
    --------
    >>> round(float(sme2_quadratic_mean(1.0, 0.1, 1.0, 1.0)), 10)
    0.3499377491
    """
    lam, lr, x0 = _arg(lam, "lam"), _lr(lr), _arg(x0, "x0")
    t = _arg(t, "t", low=0, allow_inf=True)
    a = _sme2_rate(lam, lr)
    with np.errstate(invalid="ignore"):
        return np.where(a == 0, 1.0, np.exp(-a * t)) * x0


def sme2_quadratic_variance(lam, lr, t, noise_var=None):
    """Var X_t = lr sigma^2 (1 - exp(-2 a t)) / (2 a), a = lam + lr lam^2 / 2.

    Examples
    --------
    >>> round(float(sme2_quadratic_variance(1.0, 0.1, 1.0)), 10)
    0.0417877891
    """
    lam, lr, t = _arg(lam, "lam"), _lr(lr), _arg(t, "t", low=0, allow_inf=True)
    a = _sme2_rate(lam, lr)
    _stable(~np.isinf(t) | (a > 0), "t = inf (the stationary variance) needs lam + lr lam^2 / 2 > 0")
    return lr * _noise(lam, noise_var) * _relaxation(a, t)


def sme2_quadratic_value(eigenvalues, lr, x0, t, noise_var=None):
    """E f(X_t) for the order-2 SME of the Gaussian quadratic.

    Examples
    --------
    >>> round(float(sme2_quadratic_value([1.0], 0.1, [0.0], 1e6)), 10)  # lr lam^2 / (4 a)
    0.0238095238
    """
    lam, x0, t = _eigen_args(eigenvalues, x0, t)
    mean = sme2_quadratic_mean(lam, lr, x0, t)
    return _value_sum(lam, mean, sme2_quadratic_variance(lam, lr, t, noise_var))


def sgd_multiplicative_second_moment(diag, lr, x0, k, batch_size=1):
    """E x_{k,i}^2 = x0_i^2 ((1 - lr d_i)^2 + lr^2 / B)^k.

    Examples
    --------
    >>> round(float(sgd_multiplicative_second_moment(1.0, 0.1, 1.0, 10)), 10)
    0.1374480313
    """
    diag, lr, x0 = _arg(diag, "diag"), _lr(lr), _arg(x0, "x0")
    k, B = _arg(k, "k", low=0, allow_inf=True), _arg(batch_size, "batch_size", low=0, strict=True)
    return x0**2 * ((1 - lr * diag) ** 2 + lr**2 / B) ** k


def sme1_multiplicative_second_moment(diag, lr, x0, t, batch_size=1):
    """E X_i^2 = x0_i^2 exp((lr / B - 2 d_i) t) for dX = -D X dt + sqrt(lr / B) diag|X| dW.

    Examples
    --------
    >>> round(float(sme1_multiplicative_second_moment(1.0, 0.1, 1.0, 1.0)), 10)
    0.1495686192
    """
    diag, lr, x0 = _arg(diag, "diag"), _lr(lr), _arg(x0, "x0")
    t, B = _arg(t, "t", low=0, allow_inf=True), _arg(batch_size, "batch_size", low=0, strict=True)
    return x0**2 * np.exp((lr / B - 2 * diag) * t)


def sme2_multiplicative_second_moment(diag, lr, x0, t, batch_size=1):
    """E X_i^2 = x0_i^2 exp((lr / B - 2 d_i - lr d_i^2) t) for the order-2 SME.

    The modified drift is -(d_i + lr d_i^2 / 2) x_i; the diffusion is unchanged.

    Examples
    --------
    >>> round(float(sme2_multiplicative_second_moment(1.0, 0.1, 1.0, 1.0)), 10)
    0.1353352832
    """
    diag, lr, x0 = _arg(diag, "diag"), _lr(lr), _arg(x0, "x0")
    t, B = _arg(t, "t", low=0, allow_inf=True), _arg(batch_size, "batch_size", low=0, strict=True)
    return x0**2 * np.exp((lr / B - 2 * diag - lr * diag**2) * t)


def effective_learning_rate(lr, momentum):
    """eta_eff = lr / (1 - mu): heavy ball with fixed mu behaves like SGD at this rate.

    Examples
    --------
    >>> float(effective_learning_rate(0.01, 0.9))
    0.1
    """
    lr, mu = _lr(lr), _arg(momentum, "momentum")
    _stable((mu > -1) & (mu < 1), f"momentum must lie in (-1, 1), got {momentum!r}")
    return lr / (1 - mu)


def msgd_stationary_variance(lam, lr, momentum, noise_var):
    """Exact stationary Var x of heavy ball on 1/2 lam x^2 with gradient-noise variance sigma^2.

    lr sigma^2 (1 + mu) / (lam (1 - mu) (2 (1 + mu) - lr lam)), from the AR(2)
    recursion x_{k+1} = (1 + mu - lr lam) x_k - mu x_{k-1} - lr xi_k.

    Examples
    --------
    >>> round(float(msgd_stationary_variance(1.0, 0.01, 0.9, 1.0)), 10)
    0.0501319261
    """
    lam, lr, mu = _arg(lam, "lam"), _lr(lr), _arg(momentum, "momentum")
    s2 = _arg(noise_var, "noise_var", low=0.0)
    _stable((mu > -1) & (mu < 1), f"momentum must lie in (-1, 1), got {momentum!r}")
    _stable((lr * lam > 0) & (lr * lam < 2 * (1 + mu)),
            "no stationary variance: heavy ball is stable only for 0 < lr * lam < 2 (1 + mu)")
    return lr * s2 * (1 + mu) / (lam * (1 - mu) * (2 * (1 + mu) - lr * lam))


def msgd_sme_stationary_variance(lam, lr, momentum, noise_var):
    """The SME value lr sigma^2 / (2 lam (1 - mu)) = eta_eff sigma^2 / (2 lam).

    Examples
    --------
    >>> round(float(msgd_sme_stationary_variance(1.0, 0.01, 0.9, 1.0)), 10)
    0.05
    """
    lam, s2 = _arg(lam, "lam", low=0.0, strict=True), _arg(noise_var, "noise_var", low=0.0)
    return effective_learning_rate(lr, momentum) * s2 / (2 * lam)


def underdamped_stationary_variances(lam, damping, noise_scale):
    """Stationary (Var X, Var V) of dX = V dt, dV = -(damping V + lam X) dt + s dW.

    Var X = s^2 / (2 damping lam), Var V = s^2 / (2 damping); Cov(X, V) = 0.

    Examples
    --------
    >>> [float(v) for v in underdamped_stationary_variances(4.0, 1.0, 2.0)]
    [0.5, 2.0]
    """
    lam, gamma = _arg(lam, "lam", low=0.0, strict=True), _arg(damping, "damping", low=0.0, strict=True)
    s = _arg(noise_scale, "noise_scale")
    return s**2 / (2 * gamma * lam), s**2 / (2 * gamma)


def critical_damping(lam):
    """gamma = 2 sqrt(lam): the damping at which X V-oscillations disappear fastest.

    Examples
    --------
    >>> float(critical_damping(4.0))
    4.0
    """
    return 2 * np.sqrt(_arg(lam, "lam", low=0.0))


def nesterov_deterministic_solution(lam, x0, t):
    """X(t) = 2 x0 J1(sqrt(lam) t) / (sqrt(lam) t), solving X'' + (3/t) X' + lam X = 0, X'(0) = 0.

    Examples
    --------
    >>> [round(float(v), 10) for v in nesterov_deterministic_solution(1.0, 1.0, [0.0, 1.0])]
    [1.0, 0.8801011715]
    """
    lam, x0, t = _as(lam, x0, t)
    u = np.sqrt(lam) * t
    small = np.abs(u) < 1e-4
    safe = np.where(small, 1.0, u)
    # 2 J1(u)/u = 1 - u^2/8 + u^4/192 - ...; the series avoids 0/0 at t = 0.
    ratio = np.where(small, 1 - u**2 / 8 + u**4 / 192, 2 * scipy.special.j1(safe) / safe)
    return x0 * ratio


def nesterov_sme_value_asymptote(noise_intensity, t):
    """E f(X_t) ~ s^2 t / 16 for large t: noise accumulates as the friction 3/t vanishes.

    ``noise_intensity`` is s^2, the variance rate of the V-equation's noise
    (sqrt(lr) sigma^2 for the SME of SNAG). Valid for 1/sqrt(lam) << t.
    Equipartition gives E V^2 = lam E X^2, and the energy E = (V^2 + lam X^2)/2
    obeys dE/dt = -(3/t) E V^2 + s^2/2, so E ~ s^2 t / 8 and E f = E / 2.

    Examples
    --------
    >>> float(nesterov_sme_value_asymptote(0.16, 10.0))
    0.1
    """
    s2, t = _as(noise_intensity, t)
    return s2 * t / 16


def nesterov_stationary_variance(lam, lr, momentum, noise_var):
    """Exact stationary Var x of Nesterov with constant mu on 1/2 lam x^2.

    With c = 1 - lr lam, x_{k+1} = c(1 + mu) x_k - c mu x_{k-1} - lr xi_k, an
    AR(2) process with stationary variance
    (1 + c mu) lr^2 sigma^2 / ((1 - c mu) ((1 + c mu)^2 - c^2 (1 + mu)^2)).

    Examples
    --------
    >>> round(float(nesterov_stationary_variance(1.0, 0.01, 0.9, 1.0)), 10)
    0.0459931703
    """
    lam, lr, mu = _arg(lam, "lam"), _lr(lr), _arg(momentum, "momentum")
    s2 = _arg(noise_var, "noise_var", low=0.0)
    c = 1 - lr * lam
    _stable((np.abs(c * mu) < 1) & (np.abs(c * (1 + mu)) < 1 + c * mu),
            "no stationary variance: Nesterov's recursion x_{k+1} = c (1 + mu) x_k - c mu x_{k-1} "
            "(c = 1 - lr lam) is unstable for these lr, lam, momentum")
    return (1 + c * mu) * lr**2 * s2 / ((1 - c * mu) * ((1 + c * mu) ** 2 - c**2 * (1 + mu) ** 2))


def nesterov_discrete_level(lam, lr, noise_var):
    """The level E f(x_k) of SNAG (mu_k -> 1) at fixed lr: sigma^2 (2 - lr lam) / (2 lam (4 - 3 lr lam)).

    This is the mu -> 1 limit of lam/2 times :func:`nesterov_stationary_variance`;
    to leading order in lr it is sigma^2 / (4 lam) (momentum chapter): discrete
    SNAG levels off while its SME keeps growing like s^2 t / 16.

    Examples
    --------
    >>> round(float(nesterov_discrete_level(1.0, 1e-8, 1.0)), 6)
    0.25
    """
    lam, lr, s2 = _arg(lam, "lam"), _lr(lr), _arg(noise_var, "noise_var", low=0.0)
    _stable((lr * lam > 0) & (lr * lam < 4 / 3),
            "the level of SNAG exists only for 0 < lr * lam < 4/3")
    return s2 * (2 - lr * lam) / (2 * lam * (4 - 3 * lr * lam))


#: c = 2: above this step constant the online least-squares error D_k diverges (ODE limit).
ONLINE_LSQ_CRITICAL_STEP = 2.0


def online_lsq_discrete(c, N, noise_var, D0, k):
    """D_k = E|x_k - x*|^2 of online least squares, step c/N, a ~ N(0, I_N).

    Solves D_{k+1} = D_k - (2c/N) D_k + (c^2/N^2)((N + 2) D_k + N sigma^2) exactly:
    D_k = D_inf + (D0 - D_inf) rho^k, rho = 1 - 2c/N + c^2 (N + 2)/N^2,
    D_inf = c sigma^2 / (2 - c (N + 2)/N).

    Examples
    --------
    >>> round(float(online_lsq_discrete(1.0, 100, 0.5, 1.0, 0)), 6)
    1.0
    """
    c, N, s2, D0, k = _as(c, N, noise_var, D0, k)
    rho = 1 - 2 * c / N + c**2 * (N + 2) / N**2
    D_inf = c * s2 / (2 - c * (N + 2) / N)
    return D_inf + (D0 - D_inf) * rho**k


def online_lsq_ode(c, noise_var, D0, t):
    """Solution of dD/dt = -2c D + c^2 (D + sigma^2) (time t = k/N).

    Examples
    --------
    >>> round(float(online_lsq_ode(1.0, 0.5, 1.0, 100.0)), 6)   # fixed point c s^2/(2 - c)
    0.5
    """
    c, s2, D0, t = _as(c, noise_var, D0, t)
    D_inf = online_lsq_fixed_point(c, s2)
    return D_inf + (D0 - D_inf) * np.exp(-(2 * c - c**2) * t)


def online_lsq_fixed_point(c, noise_var):
    """c sigma^2 / (2 - c), the stationary error of the ODE (finite only for c < 2).

    Examples
    --------
    >>> float(online_lsq_fixed_point(1.0, 0.5))
    0.5
    """
    c, s2 = _as(c, noise_var)
    return c * s2 / (2 - c)


# The controlled-SGD closed forms define the cSGD algorithm, so they live with it;
# they are re-exported here with the other closed forms of the paper.
from ..algorithms.control import csgd_optimal_multiplier, csgd_optimal_path, csgd_rate  # noqa: E402


def _overflow_to_inf(func):
    """Run ``func`` with numpy's overflow silenced: a huge input gives an honest inf.

    (Validation has already rejected NaN and out-of-range input; overflow of lr * lam, say,
    then only fails a stability condition or yields +inf.)
    """
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with np.errstate(over="ignore", under="ignore"):
            return func(*args, **kwargs)

    return wrapper


for _name in __all__:
    _f = globals()[_name]
    if callable(_f) and getattr(_f, "__module__", None) == __name__:
        globals()[_name] = _overflow_to_inf(_f)
del _name, _f
