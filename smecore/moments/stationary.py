"""The two phases of SGD on a quadratic, and stationary moments without iterating.

On a quadratic f = 1/2 x^T H x with constant noise the asymptotic expansion
(:mod:`smecore.sme.expansion`) is exact for the SME and splits the expected loss
into a *descent* term f(X0_t), decaying like exp(-2 lambda t), and a *fluctuation*
term (eta/2) Tr(H P_t), rising to a level of order eta
(:func:`quadratic_phases`, :func:`sgd_quadratic_phases`). :func:`crossover_time`
finds where they are equal, for the SME or for SGD itself.
:func:`sgd_stationary_moments` and :func:`sde_stationary_moments` solve a linear
(Lyapunov-type) equation for the stationary moments of SGD and of a linear SME.
The dynamics chapter uses them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.integrate
import scipy.linalg
import scipy.optimize

from .. import mutants
from .._validation import DivergenceError, finite_array, positive_float
from ..sme.expansion import _check_problem

__all__ = ["quadratic_phases", "sgd_quadratic_phases", "sgd_quadratic_level", "crossover_time", "sgd_stationary_moments", "sde_stationary_moments", "StationaryMoments"]


def _quadratic_args(eigenvalues, lr, x0, noise_var):
    lam = np.atleast_1d(finite_array(eigenvalues, "eigenvalues"))
    if lam.ndim != 1 or np.any(lam <= 0):
        raise ValueError("eigenvalues must be a 1-d array of positive numbers")
    lr = positive_float(lr, "lr")
    x0 = np.broadcast_to(finite_array(x0, "x0"), lam.shape).astype(float)
    s2 = lam**2 if noise_var is None else np.broadcast_to(
        finite_array(noise_var, "noise_var"), lam.shape).astype(float)
    if np.any(s2 < 0):
        raise ValueError("noise_var must be >= 0")
    return lam, lr, x0, s2


def quadratic_phases(eigenvalues, lr, x0, t, *, noise_var=None):
    """Descent and fluctuation terms of E f(X_t) for the order-1 SME on a quadratic.

    For f = 1/2 sum_i lam_i x_i^2 (eigen-coordinates) and noise variance
    sigma_i^2 per direction (default lam_i^2, the Gaussian quadratic),
    E f(X_t) = D(t) + F(t) exactly, with

    D(t) = 1/2 sum_i lam_i x0_i^2 exp(-2 lam_i t) = f(X0_t),
    F(t) = (lr/4) sum_i sigma_i^2 (1 - exp(-2 lam_i t)) = (lr/2) Tr(H P_t).

    Parameters
    ----------
    eigenvalues : array_like, shape (d,)
        Positive eigenvalues lam_i.
    lr : float
    x0 : array_like, shape (d,)
        Initial point in the eigenbasis.
    t : float or array_like
    noise_var : array_like, shape (d,), optional
        sigma_i^2 (default lam_i^2; divide by B for mini-batches).

    Returns
    -------
    decay, fluctuation : ndarray, shape of ``t``

    Examples
    --------
    >>> D, F = quadratic_phases([1.0], 0.1, [1.0], [0.0, 1e3])
    >>> D.round(6), F.round(6)
    (array([0.5, 0. ]), array([0.   , 0.025]))
    """
    lam, lr, x0, s2 = _quadratic_args(eigenvalues, lr, x0, noise_var)
    t = np.asarray(finite_array(t, "t"))[..., None]
    decay = 0.5 * np.sum(lam * x0**2 * np.exp(-2 * lam * t), axis=-1)
    fluct = 0.25 * lr * np.sum(s2 * -np.expm1(-2 * lam * t), axis=-1)
    return decay, fluct


def _sgd_phase_factors(lam, lr, *, eta_correction=True, exact_contraction=True):
    """Per-direction contraction q and stationary-variance factor of SGD (or a mutant's)."""
    forced = mutants.overrides("sgd_quadratic_phases")
    eta_correction = forced.get("eta_correction", eta_correction)
    exact_contraction = forced.get("exact_contraction", exact_contraction)
    for value, name in ((eta_correction, "eta_correction"), (exact_contraction, "exact_contraction")):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    if np.any(lr * lam >= 2):
        raise DivergenceError(f"SGD diverges on this quadratic: lr * lambda_max = {lr * lam.max():g} >= 2")
    q = (1 - lr * lam) ** 2 if exact_contraction else np.exp(-2 * lr * lam)
    # Stationary E f per direction, divided by lr sigma^2: 1/(2 (2 - lr lam)) exactly,
    # 1/4 (the order-1 SME's level) without the eta-correction.
    # (With the flow's contraction, 1/2 lam lr^2 sigma^2 / (1 - q) gives lr lam / (2 (1 - q)).)
    if not eta_correction:
        level = np.full_like(lam, 0.25)
    elif exact_contraction:
        level = 1.0 / (2 * (2 - lr * lam))
    else:
        level = lr * lam / (2 * -np.expm1(-2 * lr * lam))
    return q, level


def sgd_quadratic_phases(eigenvalues, lr, x0, k, *, noise_var=None, eta_correction=True,
                         exact_contraction=True):
    """Descent and fluctuation terms of E f(x_k) for SGD on a quadratic (exact).

    With q_i = (1 - lr lam_i)^2, E f(x_k) = D_k + F_k where D_k = f(E x_k) and
    F_k = 1/2 Tr(H Cov x_k)::

        D_k = 1/2 sum_i lam_i x0_i^2 q_i^k,
        F_k = 1/2 sum_i lam_i lr^2 sigma_i^2 (1 - q_i^k) / (1 - q_i)
            = sum_i lr sigma_i^2 (1 - q_i^k) / (2 (2 - lr lam_i)).

    ``k`` may be real (the formulas continue the step count), which locates the
    crossover of the two terms between steps.

    Parameters
    ----------
    eigenvalues, lr, x0, noise_var
        As in :func:`quadratic_phases`.
    k : float or array_like
        Step counts (real values allowed).
    eta_correction : bool
        Keep the factor 1/(2 (2 - lr lam)) of the fluctuation level (default).
        ``False`` puts the order-1 SME's 1/4 in its place: a wrong formula
        (mutant ``D1:level-without-eta-correction``).
    exact_contraction : bool
        Contract by SGD's (1 - lr lam)^2 per step (default). ``False`` uses the
        gradient flow's exp(-2 lr lam): a wrong formula (mutant
        ``D1:flow-contraction``).

    Returns
    -------
    decay, fluctuation : ndarray, shape of ``k``

    Raises
    ------
    DivergenceError
        If lr lam_max >= 2.

    References
    ----------
    Li, Tai & E (2019), the worked Ornstein-Uhlenbeck example (Gaussian quadratic).

    Examples
    --------
    >>> D, F = sgd_quadratic_phases([1.0], 0.5, [1.0], [0, 1])
    >>> D.tolist(), F.tolist()
    ([0.5, 0.125], [0.0, 0.125])
    """
    lam, lr, x0, s2 = _quadratic_args(eigenvalues, lr, x0, noise_var)
    q, level = _sgd_phase_factors(lam, lr, eta_correction=eta_correction,
                                  exact_contraction=exact_contraction)
    k = np.asarray(finite_array(k, "k"))[..., None]
    decay = 0.5 * np.sum(lam * x0**2 * q**k, axis=-1)
    fluct = np.sum(lr * s2 * level * (1 - q**k), axis=-1)
    return decay, fluct


def sgd_quadratic_level(eigenvalues, lr, *, noise_var=None, eta_correction=True):
    """SGD's stationary loss on a quadratic, sum_i lr sigma_i^2 / (2 (2 - lr lam_i)) (exact).

    The k -> infinity limit of the fluctuation term of :func:`sgd_quadratic_phases`;
    for the Gaussian quadratic (sigma_i^2 = lam_i^2) it is
    sum_i lr lam_i^2 / (2 (2 - lr lam_i)). The order-1 SME's level is
    sum_i lr sigma_i^2 / 4: SGD's is larger by the factor 1/(1 - lr lam / 2).

    Parameters
    ----------
    eigenvalues : array_like, shape (d,)
        Positive eigenvalues lam_i.
    lr : float
    noise_var : array_like, shape (d,), optional
        sigma_i^2 (default lam_i^2; divide by B for mini-batches).
    eta_correction : bool
        As in :func:`sgd_quadratic_phases` (``False`` is the mutant's 1/4).

    Returns
    -------
    float

    Raises
    ------
    DivergenceError
        If lr lam_max >= 2 (no stationary distribution).

    References
    ----------
    Li, Tai & E (2019), the worked Ornstein-Uhlenbeck example (Gaussian quadratic).

    Examples
    --------
    >>> round(sgd_quadratic_level([1.0], 0.1), 12), round(0.1 / (2 * 1.9), 12)
    (0.026315789474, 0.026315789474)
    """
    lam, lr, _, s2 = _quadratic_args(eigenvalues, lr, 0.0, noise_var)
    _, level = _sgd_phase_factors(lam, lr, eta_correction=eta_correction)
    return float(np.sum(lr * s2 * level))


def crossover_time(eigenvalues, lr, x0, *, noise_var=None, kind="sme") -> float:
    """The time at which the descent and fluctuation terms of E f are equal.

    Before it E f decays (descent phase); after it the loss is dominated by the
    noise (fluctuation phase). The descent term decreases and the fluctuation
    term increases, so the crossing is unique.

    Parameters
    ----------
    eigenvalues, lr, x0, noise_var
        As in :func:`quadratic_phases`.
    kind : {"sme", "sgd"}
        The order-1 SME (:func:`quadratic_phases`, time t) or SGD
        (:func:`sgd_quadratic_phases` with real k, time k lr).

    Returns
    -------
    float
        The crossover time (in SGD's time units t = k lr for ``"sgd"``).

    Examples
    --------
    One direction: t_x = log(1 + 2 x0^2 / (lr lam)) / (2 lam).

    >>> round(crossover_time([1.0], 0.1, [1.0]), 10), round(float(np.log(21.0) / 2), 10)
    (1.5222612189, 1.5222612189)
    """
    if kind not in ("sme", "sgd"):
        raise ValueError(f"kind must be 'sme' or 'sgd', got {kind!r}")
    lam, lr, x0, s2 = _quadratic_args(eigenvalues, lr, x0, noise_var)
    if not np.any(x0 != 0) or not np.any(s2 > 0):
        raise ValueError("x0 and noise_var must not vanish: otherwise one of the phases is absent")
    if kind == "sme":
        def gap(t):
            D, F = quadratic_phases(lam, lr, x0, t, noise_var=s2)
            return float(np.log(D) - np.log(F))
        scale = 1.0
    else:
        def gap(t):
            D, F = sgd_quadratic_phases(lam, lr, x0, t / lr, noise_var=s2)
            return float(np.log(D) - np.log(F))
        scale = lr
    lo = 1e-12 * scale
    hi = 1.0 / lam.min()
    while gap(hi) > 0:
        hi *= 2.0
        if hi > 1e12:
            raise ValueError("crossover_time: no crossing found (the descent term never falls below the fluctuation term)")
    return float(scipy.optimize.brentq(gap, lo, hi, xtol=1e-14, rtol=1e-14, maxiter=500))


@dataclass(frozen=True)
class StationaryMoments:
    """Stationary mean and covariance of SGD or of a linear SME.

    Attributes
    ----------
    mean : ndarray, shape (d,)
    cov : ndarray, shape (d, d)
    """

    mean: np.ndarray
    cov: np.ndarray

    @property
    def second(self) -> np.ndarray:
        return self.cov + np.outer(self.mean, self.mean)

    def expect_value(self, problem) -> float:
        """E f(x) at stationarity for an objective with an affine gradient."""
        affine = problem.affine
        A, b = affine.hessian, affine.offset
        f0 = float(np.asarray(problem.value(np.zeros(affine.dim))))
        return float(0.5 * np.sum(A * self.second) + b @ self.mean + f0)


def _affine_of(problem):
    affine = getattr(problem, "affine", None)
    if affine is None:
        raise TypeError(f"{type(problem).__name__} has no affine gradient (problem.affine is None)")
    return affine


def _noise_matrix(cov, d):
    """K with vec(Sigma~(W)) = K vec(W) for W the (d+1) x (d+1) augmented second moment."""
    return cov.transpose(0, 2, 1, 3).reshape(d * d, (d + 1) ** 2)


def _augmented(mean, C, d):
    """W = E[z z^T], z = [x; 1], from the mean and the covariance."""
    W = np.empty((d + 1, d + 1))
    W[:d, :d] = C + np.outer(mean, mean)
    W[:d, d] = W[d, :d] = mean
    W[d, d] = 1.0
    return W


def _stationary_from_operator(affine, lr, discrete):
    """Solve for the stationary covariance C: a linear equation in vec(C)."""
    A = np.asarray(affine.hessian, dtype=float)
    b = np.asarray(affine.offset, dtype=float)
    d = A.shape[0]
    try:
        mean = -np.linalg.solve(A, b)
    except np.linalg.LinAlgError:
        raise ValueError("the Hessian is singular: no unique stationary point") from None
    K = _noise_matrix(np.asarray(affine.cov, dtype=float), d)
    # Sigma~(W) with W = [[C + m m^T, m], [m^T, 1]] is affine in C: K_C vec(C) + s0.
    idx = np.arange((d + 1) ** 2).reshape(d + 1, d + 1)
    K_C = K[:, idx[:d, :d].ravel()]
    s0 = K @ _augmented(mean, np.zeros((d, d)), d).ravel()
    eye = np.eye(d)
    if discrete:
        M = eye - lr * A
        T = np.kron(M, M) + lr**2 * K_C  # vec(C_{k+1}) = T vec(C_k) + lr^2 s0
        growth = float(np.max(np.abs(np.linalg.eigvals(T))))
        if growth >= 1.0:
            raise DivergenceError(
                f"no stationary distribution: the covariance recursion has spectral radius "
                f"{growth:.4g} >= 1 (learning rate too large)")
        L = np.eye(d * d) - T
        rhs = lr**2 * s0
    else:
        G = -(np.kron(A, eye) + np.kron(eye, A)) + lr * K_C  # d vec(C)/dt = G vec(C) + lr s0
        growth = float(np.max(np.linalg.eigvals(G).real))
        if growth >= 0.0:
            raise DivergenceError(
                f"no stationary distribution: the covariance ODE has an eigenvalue with real part "
                f"{growth:.4g} >= 0")
        L = -G
        rhs = lr * s0
    vec = np.linalg.solve(L, rhs)
    C = vec.reshape(d, d)
    C = 0.5 * (C + C.T)
    return StationaryMoments(mean, C)


def sgd_stationary_moments(problem, lr) -> StationaryMoments:
    """Exact stationary mean and covariance of SGD on a problem with an affine gradient.

    The fixed point of the exact moment recursion (:func:`smecore.moments.sgd_moments`):
    C = M C M^T + lr^2 Sigma~(C) with M = I - lr A, solved as one linear system in
    vec(C) (Sigma(x) is quadratic in x, so its expectation is affine in C).

    Parameters
    ----------
    problem : StochasticObjective
        With ``problem.affine`` (mini-batch size included).
    lr : float

    Returns
    -------
    StationaryMoments

    Raises
    ------
    smecore.DivergenceError
        If lr is too large for a stationary distribution to exist.

    Examples
    --------
    Gaussian quadratic: Var = lr lam / (2 - lr lam).

    >>> from smecore.problems import GaussianQuadratic
    >>> s = sgd_stationary_moments(GaussianQuadratic([1.0]), 0.1)
    >>> round(float(s.cov[0, 0]), 12), round(0.1 / 1.9, 12)
    (0.052631578947, 0.052631578947)
    """
    affine = _affine_of(_check_problem(problem))
    lr = positive_float(lr, "lr")
    lam = np.linalg.eigvals(np.eye(affine.dim) - lr * affine.hessian)
    if np.max(np.abs(lam)) >= 1:
        raise DivergenceError(f"SGD's mean diverges or does not converge at lr = {lr:g}")
    return _stationary_from_operator(affine, lr, discrete=True)


def sde_stationary_moments(problem, lr, order=1) -> StationaryMoments:
    """Exact stationary mean and covariance of the SME of SGD on an affine problem.

    For dX = -(A X + b) dt + sqrt(lr) (Sigma(X)/B)^{1/2} dW (order 1), or with
    the drift matrix A + (lr/2) A^2 and offset (I + (lr/2) A) b (order 2), the
    stationary covariance solves A' C + C A'^T = lr Sigma~(C).

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> [round(float(sde_stationary_moments(GaussianQuadratic([1.0]), 0.1, o).cov[0, 0]), 12)
    ...  for o in (1, 2)]
    [0.05, 0.047619047619]
    """
    affine = _affine_of(_check_problem(problem))
    lr = positive_float(lr, "lr")
    if isinstance(order, bool) or order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    if order == 2:
        A = affine.hessian
        mean = (np.eye(affine.dim) + 0.5 * lr * A) @ affine.mean
        affine = type(affine)(mean, affine.cov)
    return _stationary_from_operator(affine, lr, discrete=False)


# Wrong formulas that the D1 claims about SGD's phases and levels must reject (see smecore.mutants).
mutants.register(mutants.Mutant(
    "D1", "level-without-eta-correction", "sgd_quadratic_phases", {"eta_correction": False},
    "SGD's fluctuation term and stationary level without the eta-correction: the order-1 SME's "
    "lr sigma^2 / 4 in place of lr sigma^2 / (2 (2 - lr lam))"))
mutants.register(mutants.Mutant(
    "D1", "flow-contraction", "sgd_quadratic_phases", {"exact_contraction": False},
    "SGD's phases with the gradient flow's contraction exp(-2 lr lam) per step in place of "
    "(1 - lr lam)^2"))
