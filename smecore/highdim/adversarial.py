"""l2-adversarial least squares: the loss, its population gradient, and its high-dimensional ODE.

For one sample (a, y) and budget epsilon the adversary's best perturbation of the
input gives (Cauchy-Schwarz, attained at delta = epsilon sign(r) x / ``|x|``, r = <a, x> - y)

    max_{``|delta|`` <= eps} (<a + delta, x> - y)^2 / 2 = (``|r|`` + eps ``|x|``)^2 / 2.

Model (this book): a ~ N(0, I_N), y = <a, x*> + xi, xi ~ N(0, sigma^2), ``|x*|^2`` = P.
With m = <x, x*>, Q = ``|x|^2``, rho = sqrt(Q) and S^2 = Q - 2m + P + sigma^2 (the variance
of r), the expected gradient is

    E grad = alpha(x) (x - x*) + lam(x) x,
    alpha = 1 + eps rho sqrt(2/pi) / S,   lam = eps (S sqrt(2/pi) + eps rho) / rho,

i.e. the least-squares gradient with an adaptive factor alpha plus an adaptive ridge
term; its zeros are ridge solutions x = x* / (1 + lam / alpha). Streaming SGD with
step c / N follows, as N -> infinity, the ODEs of :func:`adversarial_ode`, with the
diffusive corrector c^2 E[G^2], G = ``|r|`` + eps ``|x|``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.integrate
import scipy.optimize

from .. import mutants
from .._validation import finite_array, positive_float

__all__ = ["adversarial_loss", "worst_perturbation", "adversarial_coefficients",
           "adversarial_ode", "adversarial_fixed_point", "adversarial_risk", "effective_ridge",
           "adversarial_gradient", "expected_adversarial_gradient", "rate_and_ridge", "fit_ridge"]

_K = math.sqrt(2 / math.pi)


def adversarial_loss(a, y, x, epsilon):
    """(``|<a, x> - y|`` + eps ``|x|``)^2 / 2: the worst (<a + delta, x> - y)^2 / 2 over ``|delta|`` <= eps.

    Parameters
    ----------
    a : array_like, shape (..., N)
        Inputs.
    y : array_like, shape (...)
        Labels.
    x : array_like, shape (N,)
        Parameters.
    epsilon : float
        Budget, >= 0.

    Returns
    -------
    ndarray, shape (...)

    Examples
    --------
    >>> float(adversarial_loss([1.0, 0.0], 0.0, [3.0, 4.0], 0.5))
    15.125
    """
    a = finite_array(a, "a")
    x = finite_array(x, "x", ndim=1)
    eps = positive_float(epsilon, "epsilon", allow_zero=True)
    r = a @ x - finite_array(y, "y")
    return 0.5 * (np.abs(r) + eps * np.linalg.norm(x)) ** 2


def worst_perturbation(a, y, x, epsilon):
    """The maximiser delta* = eps sign(<a, x> - y) x / ``|x|`` (0 if x = 0: every delta ties).

    Parameters
    ----------
    a, y, x, epsilon
        As in :func:`adversarial_loss`.

    Returns
    -------
    ndarray, shape of ``a``

    Examples
    --------
    >>> worst_perturbation([1.0, 0.0], 0.0, [3.0, 4.0], 0.5).tolist()
    [0.3, 0.4]
    """
    a = finite_array(a, "a")
    x = finite_array(x, "x", ndim=1)
    eps = positive_float(epsilon, "epsilon", allow_zero=True)
    r = a @ x - finite_array(y, "y")
    nx = np.linalg.norm(x)
    if nx == 0:
        return np.zeros(np.shape(a))
    return eps * np.sign(r)[..., None] * x / nx


def adversarial_coefficients(m, Q, P=1.0, noise_var=0.0, epsilon=0.0):
    """alpha, lam and E[G^2] at the summary statistics (m, Q), isotropic data.

    Parameters
    ----------
    m, Q : array_like
        Overlap <x, x*> and ``|x|^2`` (broadcast together), Q > 0.
    P : float
        ``|x*|^2.``
    noise_var : float
        sigma^2.
    epsilon : float
        The adversarial budget.

    Returns
    -------
    alpha, lam, EG2 : ndarray
        alpha = 1 + eps rho sqrt(2/pi)/S, lam = eps (S sqrt(2/pi) + eps rho)/rho and
        E G^2 = S^2 + 2 eps rho S sqrt(2/pi) + eps^2 Q.

    Examples
    --------
    >>> [float(v) for v in adversarial_coefficients(0.5, 1.0, epsilon=0.0)]
    [1.0, 0.0, 1.0]
    """
    m, Q = np.broadcast_arrays(np.asarray(m, float), np.asarray(Q, float))
    rho = np.sqrt(Q)
    S = np.sqrt(np.maximum(Q - 2 * m + P + noise_var, 0.0))  # >= 0 for a Gram matrix
    with np.errstate(divide="ignore", invalid="ignore"):  # S = 0 at x = x* without noise
        alpha = 1 + epsilon * rho * _K / S
        lam = np.where(epsilon > 0, epsilon * (S * _K + epsilon * rho) / rho, 0.0)
    EG2 = S**2 + 2 * epsilon * rho * S * _K + epsilon**2 * Q
    return alpha, lam, EG2


def adversarial_risk(m, Q, P=1.0, noise_var=0.0, epsilon=0.0):
    """Population adversarial risk E (``|r|`` + eps ``|x|``)^2 / 2 = E[G^2] / 2.

    Parameters
    ----------
    m, Q, P, noise_var, epsilon
        As in :func:`adversarial_coefficients`.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> float(adversarial_risk(1.0, 1.0, noise_var=0.5))    # at the teacher, eps = 0
    0.25
    """
    return 0.5 * adversarial_coefficients(m, Q, P, noise_var, epsilon)[2]


def _rhs(c, P, s2, eps, corrector):
    k = c**2 if corrector else 0.0

    def rhs(_, y):
        m, Q = y
        alpha, lam, EG2 = adversarial_coefficients(m, Q, P, s2, eps)
        return [-c * (alpha * (m - P) + lam * m), -2 * c * (alpha * (Q - m) + lam * Q) + k * EG2]

    return rhs


def adversarial_ode(c, m0, Q0, t, *, P=1.0, noise_var=0.0, epsilon=0.0, corrector=True,
                    rtol=1e-10):
    """Limit ODEs of (m, Q) for streaming adversarial SGD with step c / N, t = k / N.

    dm/dt = -c (alpha (m - P) + lam m),
    dQ/dt = -2c (alpha (Q - m) + lam Q) + c^2 E[G^2]   (the last term: the corrector).

    Parameters
    ----------
    c : float
        Step multiplier.
    m0, Q0 : float
        Initial overlap and squared norm (Q0 > 0, m0^2 <= Q0 P).
    t : array_like
        Increasing times starting at 0.
    P, noise_var, epsilon : float
        ``|x*|^2``, sigma^2 and the budget.
    corrector : bool
        False: the mutant without c^2 E[G^2] (gradient flow of the adversarial risk).
    rtol : float

    Returns
    -------
    m, Q : ndarray

    Examples
    --------
    >>> m, Q = adversarial_ode(0.5, 0.0, 1.0, [0.0, 60.0], noise_var=0.5)
    >>> round(float(Q[-1] - 2 * m[-1] + 1), 6)        # eps = 0: c sigma^2 / (2 - c)
    0.166667
    """
    corrector = mutants.overrides("adversarial_ode").get("corrector", corrector)
    c = positive_float(c, "c")
    t = finite_array(t, "t", ndim=1)
    if not Q0 > 0:
        raise ValueError(f"Q0 must be > 0 (|x|^2; the adversarial term is singular at x = 0), "
                         f"got {Q0}")
    sol = scipy.integrate.solve_ivp(_rhs(c, P, noise_var, epsilon, corrector), (0.0, float(t[-1])),
                                    [m0, Q0], t_eval=t, rtol=rtol, atol=rtol * 1e-2,
                                    method="LSODA")
    if not sol.success:  # pragma: no cover
        raise RuntimeError(f"adversarial_ode: integration failed: {sol.message}")
    return sol.y[0], sol.y[1]


def adversarial_fixed_point(c, *, P=1.0, noise_var=0.0, epsilon=0.0, corrector=True):
    """Fixed point (m, Q) of :func:`adversarial_ode` (found by integrating, then Newton).

    With ``corrector=False`` it is the stationary point of the population adversarial risk
    (the gradient flow's limit).

    Parameters
    ----------
    c : float
        Step multiplier.
    P, noise_var, epsilon, corrector
        As in :func:`adversarial_ode`.

    Returns
    -------
    m, Q : float

    Examples
    --------
    >>> m, Q = adversarial_fixed_point(0.5, noise_var=0.5)
    >>> round(m, 6), round(Q - 2 * m + 1, 6)
    (1.0, 0.166667)
    """
    corrector = mutants.overrides("adversarial_ode").get("corrector", corrector)
    m, Q = adversarial_ode(c, 0.5 * math.sqrt(P), P, [0.0, 200.0 / c], P=P, noise_var=noise_var,
                           epsilon=epsilon, corrector=corrector)
    rhs = _rhs(c, P, noise_var, epsilon, corrector)
    sol = scipy.optimize.root(lambda y: rhs(0, y), [m[-1], Q[-1]], tol=1e-14)
    return float(sol.x[0]), float(sol.x[1])


def effective_ridge(m, Q, P=1.0, noise_var=0.0, epsilon=0.0):
    """lam_eff = lam / alpha: at a zero of the expected gradient x = x* / (1 + lam_eff).

    Parameters
    ----------
    m, Q, P, noise_var, epsilon
        As in :func:`adversarial_coefficients` (scalars).

    Returns
    -------
    float

    Examples
    --------
    >>> effective_ridge(0.5, 0.25, epsilon=0.0)
    0.0
    """
    alpha, lam, _ = adversarial_coefficients(m, Q, P, noise_var, epsilon)
    return float(lam / alpha)


def adversarial_gradient(a, y, x, epsilon):
    """Per-sample gradients (``|r|`` + eps ``|x|``)(sign(r) a + eps x / ``|x|``), r = <a, x> - y.

    Parameters
    ----------
    a : array_like, shape (n, N)
    y : array_like, shape (n,)
    x : array_like, shape (N,), nonzero
    epsilon : float

    Returns
    -------
    ndarray, shape (n, N)

    Examples
    --------
    >>> adversarial_gradient([[1.0, 0.0]], [0.0], [3.0, 4.0], 0.5).tolist()
    [[7.15, 2.2]]
    """
    a = finite_array(a, "a", ndim=2)
    x = finite_array(x, "x", shape=(a.shape[1],))
    y = finite_array(y, "y", shape=(a.shape[0],))
    eps = positive_float(epsilon, "epsilon", allow_zero=True)
    nx = np.linalg.norm(x)
    if nx == 0:
        raise ValueError("x must be nonzero (the adversarial loss is not differentiable at 0)")
    r = a @ x - y
    G = np.abs(r) + eps * nx
    return G[:, None] * (np.sign(r)[:, None] * a + eps * x / nx)


def expected_adversarial_gradient(x, x_star, lam, noise_var=0.0, epsilon=0.0):
    """E grad = alpha K (x - x*) + lam_x x for a ~ N(0, diag(lam)), y = <a, x*> + xi.

    alpha = 1 + eps ``|x|`` sqrt(2/pi) / S, lam_x = eps (S sqrt(2/pi) + eps ``|x|``) / ``|x|``,
    S^2 = (x - x*)^T K (x - x*) + sigma^2.

    Parameters
    ----------
    x, x_star : array_like, shape (N,)
        The point (nonzero) and the teacher.
    lam : array_like, shape (N,)
        Eigenvalues of K (coordinates in its eigenbasis).
    noise_var, epsilon : float

    Returns
    -------
    grad : ndarray, shape (N,)
    alpha, lam_x : float

    Examples
    --------
    >>> g, alpha, lam_x = expected_adversarial_gradient([1.0, 0.0], [0.0, 0.0], [1.0, 1.0])
    >>> g.tolist(), alpha, lam_x
    ([1.0, 0.0], 1.0, 0.0)
    """
    x = finite_array(x, "x", ndim=1)
    x_star = finite_array(x_star, "x_star", shape=x.shape)
    lam = finite_array(lam, "lam", shape=x.shape)
    e = x - x_star
    S = math.sqrt(float(e @ (lam * e)) + noise_var)
    rho = float(np.linalg.norm(x))
    alpha = 1 + epsilon * rho * _K / S
    lam_x = epsilon * (S * _K + epsilon * rho) / rho if epsilon > 0 else 0.0
    return alpha * lam * e + lam_x * x, float(alpha), float(lam_x)


def rate_and_ridge(S, rho, epsilon):
    """alpha = 1 + eps rho sqrt(2/pi) / S and lam = eps (S sqrt(2/pi) + eps rho) / rho.

    The general-K form of :func:`adversarial_coefficients`, from S^2 = (x - x*)^T K (x - x*)
    + sigma^2 and rho = ``|x|`` directly.

    Parameters
    ----------
    S, rho : array_like
        S > 0 and rho = ``|x|`` > 0.
    epsilon : float

    Returns
    -------
    alpha, lam : ndarray

    Examples
    --------
    >>> [round(float(v), 6) for v in rate_and_ridge(1.0, 1.0, 0.0)]
    [1.0, 0.0]
    """
    S, rho = np.asarray(S, float), np.asarray(rho, float)
    eps = positive_float(epsilon, "epsilon", allow_zero=True)
    return 1 + eps * rho * _K / S, eps * (S * _K + eps * rho) / rho


def fit_ridge(x_runs, x_star, lam, *, bounds=(0.0, 10.0)):
    """Fit lam_hat in x = (K + lam_hat I)^{-1} K x* to the mean of independent runs.

    K = diag(lam) (coordinates in the eigenbasis). The standard error is the
    jackknife over runs.

    Parameters
    ----------
    x_runs : array_like, shape (M, N)
        One iterate per run, M >= 2.
    x_star : array_like, shape (N,)
    lam : array_like, shape (N,)
        Eigenvalues of K, > 0.
    bounds : tuple
        Search interval for lam_hat.

    Returns
    -------
    lam_hat, stderr : float

    Examples
    --------
    >>> import numpy as np
    >>> lam, xs = np.array([1.0, 2.0, 4.0]), np.ones(3)
    >>> runs = np.tile(lam * xs / (lam + 0.5), (3, 1))
    >>> round(fit_ridge(runs, xs, lam)[0], 6)
    0.5
    """
    x = finite_array(x_runs, "x_runs", ndim=2)
    M, N = x.shape
    if M < 2:
        raise ValueError(f"x_runs needs at least 2 runs, got {M}")
    xs = finite_array(x_star, "x_star", shape=(N,))
    lam = finite_array(lam, "lam", shape=(N,))

    def fit(mean):
        res = scipy.optimize.minimize_scalar(
            lambda L: np.sum((mean - lam * xs / (lam + L)) ** 2), bounds=bounds, method="bounded",
            options={"xatol": 1e-12})
        return float(res.x)

    total = x.sum(axis=0)
    lam_hat = fit(total / M)
    jack = np.array([fit((total - x[j]) / (M - 1)) for j in range(M)])
    stderr = float(np.sqrt((M - 1) / M * np.sum((jack - jack.mean()) ** 2)))
    return lam_hat, stderr


# Wrong equations the chapters' claims must reject (smecore.mutants).
mutants.register(mutants.Mutant(
    "HS2", "no-corrector", "adversarial_ode", {"corrector": False},
    "the adversarial summary-statistic ODEs without their diffusive corrector"))
