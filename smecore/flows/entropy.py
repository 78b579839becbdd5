"""Entropy production of Gaussian-noise SGD on a quadratic, and two deterministic measures.

The chain (Gaussian-noise SGD on f(x) = x^T H x / 2, gradient-noise covariance Sigma)

    x_{k+1} = A x_k + xi_k,   A = I - eta H,   xi_k ~ N(0, C),   C = eta^2 Sigma,

has the stationary law N(0, S), S = A S A^T + C. Its entropy production per step at
stationarity is the KL divergence between the law of a forward pair (x_k, x_{k+1}) and of the
reversed pair (x_{k+1}, x_k),

    EP = KL(N(0, F) || N(0, R)) = (tr(R^{-1} F) - 2d) / 2,
    F = [[S, S A^T], [A S, S]],  R = [[S, A S], [S A^T, S]],

equal to the stationary mean of the microscopic time-reversal asymmetry
log p(x_{k+1} ``| x_k) - log p(x_k |`` x_{k+1}) (:func:`log_ratio`). To leading order in eta it is
eta times the entropy production rate of the order-1 SME dX = -H X dt + sqrt(eta Sigma) dW,

    Pi = tr((H - D S0^{-1})^T D^{-1} (H - D S0^{-1}) S0),
    D = eta Sigma / 2,  H S0 + S0 H = eta Sigma,

which does not depend on eta. EP = 0 exactly when the chain is reversible, e.g. for isotropic
noise (then the stationary density is proportional to exp(-(f - (eta/4)``|grad f|^2)/T)).``

``mutant="equilibrium"`` predicts EP = 0 (a Boltzmann stationary state): the mutant of the
claims on EP.

Deterministic measures for GD (no noise): the numerical backward error
``|GD step - gradient-flow map|`` and the time-reversal defect ``|Phi_{-eta}(Phi_eta(x)) - x|``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import solve_continuous_lyapunov, solve_discrete_lyapunov

from .. import mutants
from .._validation import finite_array, positive_float, positive_int
from .modified import initial_point, solve_flow


def _check(H, Sigma, lr):
    H = finite_array(H, "H", ndim=2)
    d = H.shape[0]
    if H.shape != (d, d) or not np.allclose(H, H.T):
        raise ValueError(f"H must be a symmetric square matrix, got shape {H.shape}")
    Sigma = finite_array(Sigma, "Sigma", shape=(d, d))
    if np.min(np.linalg.eigvalsh(0.5 * (Sigma + Sigma.T))) <= 0:
        raise ValueError("Sigma must be symmetric positive definite")
    lr = positive_float(lr, "lr")
    lam = np.linalg.eigvalsh(H)
    if lam.min() <= 0 or lr * lam.max() >= 2:
        raise ValueError(f"need H positive definite and lr * lambda_max(H) < 2, got lr = {lr:g}, "
                         f"eigenvalues of H in [{lam.min():g}, {lam.max():g}]")
    return H, 0.5 * (Sigma + Sigma.T), lr


def chain(H, Sigma, lr):
    """(A, C, S): transition matrix, noise covariance and stationary covariance.

    Examples
    --------
    >>> A, C, S = chain([[1.0]], [[1.0]], 0.1)
    >>> float(S[0, 0].round(6))  # 0.01 / (1 - 0.81)
    0.052632
    """
    H, Sigma, lr = _check(H, Sigma, lr)
    A = np.eye(len(H)) - lr * H
    C = lr ** 2 * Sigma
    S = solve_discrete_lyapunov(A, C)
    return A, C, 0.5 * (S + S.T)


def entropy_production(H, Sigma, lr, *, form="joint", mutant=None):
    """Entropy production per step at stationarity (closed form).

    Parameters
    ----------
    H, Sigma : array_like, shape (d, d)
        Hessian (positive definite) and gradient-noise covariance (positive definite).
    lr : float
        0 < lr lambda_max(H) < 2.
    form : {"joint", "kernel"}
        KL of the forward vs reversed pair laws, or the stationary mean of the log ratio of
        transition kernels, (tr(C^{-1} Cov(x - A y)) - d) / 2. They are equal.
    mutant : None or "equilibrium"
        ``"equilibrium"`` returns 0, the prediction of a Boltzmann stationary state.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If H is not symmetric positive definite, Sigma not positive definite, or
        lr * lambda_max(H) is not in (0, 2).

    References
    ----------
    - Seifert, U. (2012). Stochastic thermodynamics, fluctuation theorems and molecular
       machines. Rep. Prog. Phys. 75, 126001.

    Examples
    --------
    >>> H = np.diag([1.0, 0.2]); Sig = np.array([[1.0, 0.6], [0.6, 1.0]])
    >>> a = entropy_production(H, Sig, 0.1); b = entropy_production(H, Sig, 0.1, form="kernel")
    >>> bool(abs(a - b) < 1e-12 * a), bool(a > 0)
    (True, True)
    >>> entropy_production(np.eye(2), np.eye(2), 0.1) < 1e-14
    True
    """
    A, C, S = chain(H, Sigma, lr)
    mutant = mutants.overrides("entropy_production").get("mutant", mutant)
    if mutant is not None:
        if mutant != "equilibrium":
            raise ValueError(f"mutant must be None or 'equilibrium', got {mutant!r}")
        return 0.0
    d = len(A)
    if form == "joint":
        F = np.block([[S, S @ A.T], [A @ S, S]])
        R = np.block([[S, A @ S], [S @ A.T, S]])
        return float(0.5 * (np.trace(np.linalg.solve(R, F)) - 2 * d))
    if form == "kernel":
        B = np.eye(d) - A @ A
        cov = B @ S @ B.T + A @ C @ A.T
        return float(0.5 * (np.trace(np.linalg.solve(C, cov)) - d))
    raise ValueError(f"form must be 'joint' or 'kernel', got {form!r}")


def sme_entropy_rate(H, Sigma, lr):
    """Entropy production rate Pi of the order-1 SME dX = -HX dt + sqrt(lr Sigma) dW.

    Independent of ``lr`` (D and S0 are both proportional to it).

    Parameters
    ----------
    H, Sigma : array_like, shape (d, d)
    lr : float, > 0

    Returns
    -------
    float

    References
    ----------
    - Seifert, U. (2012). Stochastic thermodynamics, fluctuation theorems and molecular
       machines. Rep. Prog. Phys. 75, 126001.

    Examples
    --------
    >>> H = np.diag([1.0, 0.2]); Sig = np.array([[1.0, 0.6], [0.6, 1.0]])
    >>> bool(abs(sme_entropy_rate(H, Sig, 0.1) - sme_entropy_rate(H, Sig, 0.01)) < 1e-10)
    True
    """
    H, Sigma, lr = _check(H, Sigma, lr)
    D = 0.5 * lr * Sigma
    S0 = solve_continuous_lyapunov(H, lr * Sigma)
    K = H - D @ np.linalg.inv(S0)
    return float(np.trace(K.T @ np.linalg.solve(D, K) @ S0))


def log_ratio(x, y, A, C):
    """log p(y ``| x) - log p(x |`` y) for the Gaussian kernel y ~ N(A x, C); x, y of shape (N, d)."""
    Ci = np.linalg.inv(C)
    fwd = y - x @ A.T
    bwd = x - y @ A.T
    return 0.5 * (np.einsum("ni,ij,nj->n", bwd, Ci, bwd) - np.einsum("ni,ij,nj->n", fwd, Ci, fwd))


def entropy_production_mc(H, Sigma, lr, n_samples, rng=None):
    """Monte Carlo estimate (mean, standard error) of EP: pairs drawn at stationarity.

    x ~ N(0, S), y = A x + xi; the estimate averages :func:`log_ratio`.

    Parameters
    ----------
    H, Sigma : array_like, shape (d, d)
    lr : float
    n_samples : int, >= 2
    rng : seed or Generator

    Returns
    -------
    tuple (mean, stderr)

    References
    ----------
    - Seifert, U. (2012). Stochastic thermodynamics, fluctuation theorems and molecular
       machines. Rep. Prog. Phys. 75, 126001.

    Examples
    --------
    >>> H = np.diag([1.0, 0.2]); Sig = np.array([[1.0, 0.6], [0.6, 1.0]])
    >>> m, s = entropy_production_mc(H, Sig, 0.2, 200_000, rng=0)
    >>> bool(abs(m - entropy_production(H, Sig, 0.2)) < 4 * s)
    True
    """
    A, C, S = chain(H, Sigma, lr)
    n_samples = positive_int(n_samples, "n_samples")
    if n_samples < 2:
        raise ValueError(f"n_samples must be >= 2, got {n_samples}")
    rng = np.random.default_rng(rng)
    d = len(A)
    x = rng.standard_normal((n_samples, d)) @ np.linalg.cholesky(S).T
    y = x @ A.T + rng.standard_normal((n_samples, d)) @ np.linalg.cholesky(C).T
    r = log_ratio(x, y, A, C)
    return float(r.mean()), float(r.std(ddof=1) / math.sqrt(n_samples))


def isotropic_stationary_error(H, T, lr, potential="modified"):
    """Relative error of a candidate stationary covariance for noise C = 2 lr T I.

    Candidates ``potential``: ``"modified"`` exp(-(f - (lr/4)``|grad f|^2)/T)``, covariance
    T (H - lr H^2 / 2)^{-1}; ``"boltzmann"`` exp(-f/T); ``"gd_modified"``
    exp(-(f + (lr/4)``|grad f|^2)/T).`` The last two are mutants.

    Examples
    --------
    >>> H = np.diag([1.0, 0.3])
    >>> isotropic_stationary_error(H, 0.5, 0.1) < 1e-12
    True
    >>> bool(isotropic_stationary_error(H, 0.5, 0.1, "boltzmann") > 0.01)
    True
    """
    T = positive_float(T, "T")
    H = finite_array(H, "H", ndim=2)
    d = len(H)
    _, _, S = chain(H, 2 * T / lr * np.eye(d), lr)  # C = lr^2 * (2T/lr) I = 2 lr T I
    sign = {"modified": -1.0, "boltzmann": 0.0, "gd_modified": 1.0}
    if potential not in sign:
        raise ValueError(f"potential must be one of {sorted(sign)}, got {potential!r}")
    cand = T * np.linalg.inv(H + sign[potential] * 0.5 * lr * H @ H)
    return float(np.max(np.abs(cand - S)) / np.max(np.abs(S)))


def deterministic_measures(problem, x, lr):
    """Backward error and time-reversal defect of one GD step from ``x``.

    Returns
    -------
    tuple (backward, reversal)
        ``|x - lr g(x) - phi_lr(x)|`` (phi the gradient-flow map) and
        ``|y + lr g(y) - x|`` with y = x - lr g(x). Leading orders: (lr^2/2)``|H g|`` and lr^2 ``|H g|``.

    References
    ----------
    - Ziyin, L., Ren, Y., Levine, A. and Chuang, I. (2026). Thermodynamic irreversibility of
       training algorithms. arXiv:2605.21933 (abstract only).

    Examples
    --------
    >>> from smecore.flows.balance import BalanceModel
    >>> b, r = deterministic_measures(BalanceModel(1.0), [1.5, 0.2], 1e-3)
    >>> bool(abs(r / (2 * b) - 1) < 1e-2)
    True
    """
    lr = positive_float(lr, "lr")
    x = initial_point(x, problem.dim, "x")
    y = x - lr * problem.grad(x)
    flow = solve_flow(lambda z: -problem.grad(z), x, [0.0, lr], rtol=1e-13, atol=1e-16)[-1]
    back = y + lr * problem.grad(y)
    return float(np.linalg.norm(y - flow)), float(np.linalg.norm(back - x))


mutants.register(mutants.Mutant(
    "TI3", "equilibrium", "entropy_production", {"mutant": "equilibrium"},
    "SGD's stationary state taken as an equilibrium (detailed balance): zero entropy production"))
