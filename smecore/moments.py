"""Exact first and second moments for affine stochastic gradients (paper.md section 3).

When every stochastic gradient is affine in x, g_gamma(x) = G_gamma [x; 1], the
augmented state z = [state; 1] of SGD, heavy-ball momentum and Nesterov evolves
as z' = M_gamma z with a random matrix M_gamma = M0 - lr P G_gamma Q:

* ``P`` embeds the gradient into the rows of the state it updates,
* ``Q`` maps the state to the point where the gradient is evaluated, [y; 1].

Because gamma is independent of z, the mean and the second moment
S = E[z z^T] obey exact linear recursions

    E z' = M0bar E z,
    S' = M0bar S M0bar^T + lr^2 P Sigtilde(Q S Q^T) P^T,

with M0bar = M0 - lr P Gbar Q and Sigtilde(W)_ik = sum_jl cov_ijkl W_jl (the
expected noise covariance given W = E[y y^T] augmented). Likewise an SDE with
affine drift F(t) z and quadratic diffusion covariance
(sigma sigma^T)_ik = sum_jl C_ijkl z_j z_l has moments solving the linear ODE

    dS/dt = Ft S + S Ft^T + Ctilde(S)

for the augmented second moment (Ft = F padded with a zero row). Weak errors of
polynomial test functions of degree <= 2 are therefore computable with no
Monte Carlo error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.integrate
import scipy.linalg

from ._validation import (
    DivergenceError,
    check_finite_state,
    finite_array,
    positive_float,
    positive_int,
    state_vector,
)
from .observables import record_steps

__all__ = [
    "Moments",
    "sgd_moments",
    "momentum_moments",
    "nesterov_moments",
    "sde_moments",
]


@dataclass(frozen=True)
class Moments:
    """Exact first and second moments of a state at recorded times.

    Attributes
    ----------
    times : ndarray, shape (n_rec,)
        Continuous times of the records (t = k * time_step for an algorithm).
    steps : ndarray or None
        Iteration counts of the records (algorithms only).
    mean : ndarray, shape (n_rec, n)
        E[state]. The state is x for SGD and first-order SMEs, and [x; v]
        (n = 2d) for momentum, Nesterov and their SMEs. For the algorithms,
        v is the algorithm's own velocity (v_{k+1} = x_{k+1} - x_k), *not*
        rescaled by 1/sqrt(lr); the SME velocity V corresponds to v/sqrt(lr)
        (use :meth:`scaled_velocity`).
    second : ndarray, shape (n_rec, n, n)
        E[state state^T] (non-central).
    dim_x : int
        d, the number of position coordinates (the first d of the state).
    """

    times: np.ndarray
    steps: np.ndarray | None
    mean: np.ndarray
    second: np.ndarray
    dim_x: int

    @property
    def cov(self) -> np.ndarray:
        """Covariance of the state, shape (n_rec, n, n)."""
        return self.second - self.mean[:, :, None] * self.mean[:, None, :]

    @property
    def position_mean(self) -> np.ndarray:
        """E x, shape (n_rec, d)."""
        return self.mean[:, : self.dim_x]

    @property
    def position_second(self) -> np.ndarray:
        """E[x x^T], shape (n_rec, d, d)."""
        return self.second[:, : self.dim_x, : self.dim_x]

    @property
    def position_var(self) -> np.ndarray:
        """Var x_i per coordinate, shape (n_rec, d)."""
        d = self.dim_x
        return np.diagonal(self.cov[:, :d, :d], axis1=1, axis2=2).copy()

    def expect_quadratic(self, Q, c=None, r=0.0) -> np.ndarray:
        """E[x^T Q x + c.x + r] over the position x, one value per record.

        Parameters
        ----------
        Q : array_like, shape (d, d)
        c : array_like, shape (d,), optional
        r : float, default 0

        Returns
        -------
        ndarray, shape (n_rec,)

        Examples
        --------
        >>> import numpy as np
        >>> from smecore.problems import GaussianQuadratic
        >>> m = sgd_moments(GaussianQuadratic([1.0]), 0.5, [1.0], 2)
        >>> np.round(m.expect_quadratic(np.eye(1)), 6)   # E x_k^2
        array([1.   , 0.5  , 0.375])
        """
        d = self.dim_x
        Q = finite_array(Q, "Q", shape=(d, d))
        value = np.einsum("ij,nij->n", Q, self.position_second)
        if c is not None:
            c = finite_array(c, "c", shape=(d,))
            value = value + self.position_mean @ c
        return value + _real(r, "r")

    def expect_value(self, problem) -> np.ndarray:
        """E f(x) for an objective with an affine gradient, one value per record.

        f(x) = 1/2 x^T A x + b.x + f(0), with [A, b] = ``problem.affine.mean``.

        Examples
        --------
        >>> from smecore.problems import GaussianQuadratic
        >>> p = GaussianQuadratic([2.0])
        >>> m = sgd_moments(p, 0.25, [1.0], 3)
        >>> [round(float(v), 6) for v in m.expect_value(p)]
        [1.0, 0.5, 0.375, 0.34375]
        """
        affine = _affine_of(problem)
        if affine.dim != self.dim_x:
            raise ValueError(
                f"problem has dimension {affine.dim} but the moments have {self.dim_x} "
                "position coordinates"
            )
        f0 = float(np.asarray(problem.value(np.zeros(self.dim_x))))
        return self.expect_quadratic(0.5 * affine.hessian, affine.offset, f0)

    def scaled_velocity(self, factor) -> "Moments":
        """The moments of [x; factor * v] (e.g. ``factor = 1/sqrt(lr)`` gives the SME's V).

        Examples
        --------
        >>> from smecore.problems import GaussianQuadratic
        >>> m = momentum_moments(GaussianQuadratic([1.0]), 0.04, 0.8, [1.0], 1)
        >>> [round(float(v), 6) for v in m.scaled_velocity(1 / 0.2).mean[-1]]
        [0.96, -0.2]
        """
        factor = _real(factor, "factor")
        d, n = self.dim_x, self.mean.shape[1]
        scale = np.ones(n)
        scale[d:] = factor
        return Moments(
            self.times, self.steps, self.mean * scale, self.second * np.outer(scale, scale), d
        )

    def __len__(self) -> int:
        return self.times.shape[0]


def _real(value, name):
    """A finite real number (any sign)."""
    return float(finite_array(value, name, ndim=0))


# --------------------------------------------------------------------------
# algorithms
# --------------------------------------------------------------------------


def _affine_of(problem):
    affine = getattr(problem, "affine", None)
    if affine is None:
        raise TypeError(
            f"problem ({type(problem).__name__}) has no affine gradient (problem.affine is None); "
            "exact moments need a stochastic gradient affine in x"
        )
    return affine


class _NoiseOperator:
    """W -> Sigtilde(W), Sigtilde(W)_ik = sum_jl cov_ijkl W_jl, as one matrix-vector product.

    Only the (j, l) pairs with a nonzero coefficient are kept: for additive
    noise (e.g. the Gaussian quadratic) that is the single offset entry.
    """

    def __init__(self, cov):
        d, e = cov.shape[0], cov.shape[1]
        K = cov.transpose(0, 2, 1, 3).reshape(d * d, e * e)
        self.columns = np.flatnonzero(np.any(K != 0, axis=0))
        self.K = np.ascontiguousarray(K[:, self.columns])
        self.d = d

    def __call__(self, W):
        return (self.K @ W.ravel()[self.columns]).reshape(self.d, self.d)


class _AffineRecursion:
    """The exact moment recursion z' = (M0 - lr P G_gamma Q_k) z of an algorithm."""

    def __init__(self, affine, lr, P, base, evaluation, *, constant=False):
        self.lr = lr
        self.Gbar = np.asarray(affine.mean, dtype=float)
        self.noise = _NoiseOperator(np.asarray(affine.cov, dtype=float))
        self.d = affine.dim
        self.P = P
        self.base = base  # k -> M0 (deterministic, gradient-free part)
        self.evaluation = evaluation  # k -> Q_k
        self.constant = constant  # base and evaluation do not depend on k

    def matrices(self, k):
        """(M0bar_k, Q_k)."""
        Q = self.evaluation(k)
        return self.base(k) - self.lr * self.P @ self.Gbar @ Q, Q

    def run(self, z0, n_steps, steps, what):
        N = z0.shape[0]
        lr, P = self.lr, self.P
        fixed = self.matrices(0) if self.constant else None
        mean, second = np.empty((steps.size, N)), np.empty((steps.size, N, N))
        m, S = z0.copy(), np.outer(z0, z0)
        j = 0
        for k in range(n_steps + 1):
            if j < steps.size and steps[j] == k:
                mean[j], second[j] = m, S
                j += 1
            if k == n_steps:
                break
            M, Q = fixed if fixed is not None else self.matrices(k)
            noise = self.noise(Q @ S @ Q.T)
            m = M @ m
            S = M @ S @ M.T + lr**2 * (P @ noise @ P.T)
            S = 0.5 * (S + S.T)  # keep exact symmetry against rounding drift
            check_finite_state(S, k + 1, what)
        return mean, second


def _validated_common(problem, lr, n_steps, record):
    affine = _affine_of(problem)
    lr = positive_float(lr, "lr")
    n_steps = positive_int(n_steps, "n_steps", allow_zero=True)
    steps = record_steps(record, n_steps)
    return affine, lr, n_steps, steps


def sgd_moments(problem, lr, x0, n_steps, *, record=None) -> Moments:
    """Exact mean and second moment of SGD x_{k+1} = x_k - lr g(x_k).

    Parameters
    ----------
    problem : StochasticObjective
        Must have ``problem.affine`` (an :class:`~smecore.problems.AffineGradient`).
    lr : float
        Learning rate eta > 0.
    x0 : array_like, shape (d,)
        Deterministic starting point.
    n_steps : int
        Number of iterations.
    record : sequence of int, optional
        Steps to record (default: every step 0..n_steps).

    Returns
    -------
    Moments
        With ``times = steps * lr`` and state x (n = d).

    Raises
    ------
    TypeError
        If the problem has no affine gradient.
    DivergenceError
        If the moments overflow (lr too large).

    Examples
    --------
    Per eigen-direction, Var x_k = eta lam (1 - (1 - eta lam)^(2k)) / (2 - eta lam)
    on the Gaussian quadratic (paper.md section 3):

    >>> from smecore.problems import GaussianQuadratic
    >>> m = sgd_moments(GaussianQuadratic([1.0]), 0.1, [1.0], 50, record=[0, 50])
    >>> m.times
    array([0., 5.])
    >>> round(float(m.cov[-1, 0, 0]), 10), round(0.1 * (1 - 0.9**100) / 1.9, 10)
    (0.052630181, 0.052630181)
    """
    affine, lr, n_steps, steps = _validated_common(problem, lr, n_steps, record)
    d = affine.dim
    x0 = state_vector(x0, d)
    N = d + 1
    P = np.zeros((N, d))
    P[:d] = np.eye(d)
    identity = np.eye(N)
    rec = _AffineRecursion(affine, lr, P, lambda k: identity, lambda k: identity, constant=True)
    mean, second = rec.run(np.append(x0, 1.0), n_steps, steps, "sgd_moments")
    return Moments(steps * lr, steps, mean[:, :d], second[:, :d, :d], d)


def _momentum_matrices(d, mu):
    """M0 = [[I, mu I, 0], [0, mu I, 0], [0, 0, 1]] for the state [x; v; 1]."""
    N = 2 * d + 1
    M0 = np.eye(N)
    eye = np.eye(d)
    M0[:d, d : 2 * d] = mu * eye
    M0[d : 2 * d, d : 2 * d] = mu * eye
    return M0


def _evaluation_matrix(d, mu):
    """Q with Q [x; v; 1] = [x + mu v; 1] (mu = 0: heavy ball, y = x)."""
    Q = np.zeros((d + 1, 2 * d + 1))
    Q[:d, :d] = np.eye(d)
    Q[:d, d : 2 * d] = mu * np.eye(d)
    Q[d, 2 * d] = 1.0
    return Q


def _momentum_embedding(d):
    """P = [I; I; 0]: the gradient step enters both v' and x' = x + v'."""
    P = np.zeros((2 * d + 1, d))
    P[:d] = np.eye(d)
    P[d : 2 * d] = np.eye(d)
    return P


def _momentum_value(momentum, name="momentum"):
    mu = finite_array(momentum, name, ndim=0)
    mu = float(mu)
    if isinstance(momentum, bool) or not 0.0 <= mu < 1.0:
        raise ValueError(f"{name} must lie in [0, 1), got {momentum!r}")
    return mu


def momentum_moments(problem, lr, momentum, x0, n_steps, *, v0=None, record=None) -> Moments:
    """Exact moments of heavy-ball momentum SGD.

    v_{k+1} = mu v_k - lr g(x_k), x_{k+1} = x_k + v_{k+1}.

    Parameters
    ----------
    problem : StochasticObjective
        Must have ``problem.affine``.
    lr : float
        Learning rate eta > 0.
    momentum : float
        mu in [0, 1) (e.g. ``1 - damping * sqrt(lr)`` for the SME scaling).
    x0 : array_like, shape (d,)
    n_steps : int
    v0 : array_like, shape (d,), optional
        Initial velocity (default 0).
    record : sequence of int, optional

    Returns
    -------
    Moments
        State [x; v] (n = 2d), ``times = steps * sqrt(lr)``.

    Examples
    --------
    With mu = 0 the position follows SGD:

    >>> import numpy as np
    >>> from smecore.problems import GaussianQuadratic
    >>> p = GaussianQuadratic([1.0])
    >>> a = momentum_moments(p, 0.1, 0.0, [1.0], 5).position_second[-1, 0, 0]
    >>> b = sgd_moments(p, 0.1, [1.0], 5).second[-1, 0, 0]
    >>> bool(np.isclose(a, b, rtol=1e-14))
    True
    """
    affine, lr, n_steps, steps = _validated_common(problem, lr, n_steps, record)
    mu = _momentum_value(momentum)
    d = affine.dim
    x0 = state_vector(x0, d)
    v0 = np.zeros(d) if v0 is None else state_vector(v0, d, "v0")
    M0 = _momentum_matrices(d, mu)
    Q = _evaluation_matrix(d, 0.0)
    rec = _AffineRecursion(affine, lr, _momentum_embedding(d), lambda k: M0, lambda k: Q, constant=True)
    mean, second = rec.run(np.concatenate([x0, v0, [1.0]]), n_steps, steps, "momentum_moments")
    n = 2 * d
    return Moments(steps * np.sqrt(lr), steps, mean[:, :n], second[:, :n, :n], d)


def nesterov_coefficient(k: int) -> float:
    """The Su-Boyd-Candes coefficient used in step k -> k+1: mu_k = (k-1)/(k+2).

    mu_{k+1} = k/(k+3), so the first coefficient mu_1 = 0; the step from
    k = 0 uses y_0 = x_0 (coefficient 0).

    Examples
    --------
    >>> [round(nesterov_coefficient(k), 4) for k in range(4)]
    [0.0, 0.0, 0.25, 0.4]
    """
    return 0.0 if k == 0 else (k - 1) / (k + 2)


def nesterov_moments(problem, lr, x0, n_steps, *, momentum=None, record=None) -> Moments:
    """Exact moments of stochastic Nesterov acceleration (Su-Boyd-Candes indexing).

    y_0 = x_0; x_{k+1} = y_k - lr g(y_k); y_{k+1} = x_{k+1} + mu_{k+1}(x_{k+1} - x_k),
    with mu_{k+1} = k/(k+3) (``momentum=None``) or a constant mu.

    Parameters
    ----------
    problem : StochasticObjective
        Must have ``problem.affine``.
    lr : float
    x0 : array_like, shape (d,)
    n_steps : int
    momentum : float, optional
        Constant mu in [0, 1); ``None`` uses the schedule k/(k+3).
    record : sequence of int, optional

    Returns
    -------
    Moments
        State [x_k; v_k] with v_k = x_k - x_{k-1} (v_0 = 0), n = 2d,
        ``times = steps * sqrt(lr)``.

    Examples
    --------
    Deterministic part on 1/2 x^2 (gradient noise does not move the mean):

    >>> from smecore.problems import GaussianQuadratic
    >>> m = nesterov_moments(GaussianQuadratic([1.0]), 0.01, [1.0], 3)
    >>> [round(float(v), 6) for v in m.position_mean[:, 0]]
    [1.0, 0.99, 0.9801, 0.967849]
    """
    affine, lr, n_steps, steps = _validated_common(problem, lr, n_steps, record)
    d = affine.dim
    x0 = state_vector(x0, d)
    if momentum is None:
        coefficient = nesterov_coefficient
    else:
        mu = _momentum_value(momentum)
        coefficient = lambda k: mu  # noqa: E731
    rec = _AffineRecursion(
        affine,
        lr,
        _momentum_embedding(d),
        lambda k: _momentum_matrices(d, coefficient(k)),
        lambda k: _evaluation_matrix(d, coefficient(k)),
        constant=momentum is not None,
    )
    z0 = np.concatenate([x0, np.zeros(d), [1.0]])
    mean, second = rec.run(z0, n_steps, steps, "nesterov_moments")
    n = 2 * d
    return Moments(steps * np.sqrt(lr), steps, mean[:, :n], second[:, :n, :n], d)


# --------------------------------------------------------------------------
# SDEs
# --------------------------------------------------------------------------


def _sde_operator(linear, t, n):
    """L(t) with d vec(S)/dt = L(t) vec(S) for the augmented second moment S.

    S = E[z z^T], z = [X; 1], row-major vec; dS/dt = Ft S + S Ft^T + Ctilde(S).
    """
    N = n + 1
    F = np.asarray(linear.drift_matrix(t), dtype=float)
    C = np.asarray(linear.noise_tensor(t), dtype=float)
    if F.shape != (n, N):
        raise ValueError(f"linear.drift_matrix(t) must have shape ({n}, {N}), got {F.shape}")
    if C.shape != (n, N, n, N):
        raise ValueError(f"linear.noise_tensor(t) must have shape ({n}, {N}, {n}, {N}), got {C.shape}")
    Ft = np.zeros((N, N))
    Ft[:n] = F
    eye = np.eye(N)
    L = np.kron(Ft, eye) + np.kron(eye, Ft)
    # Ctilde only feeds the top-left n x n block of dS/dt.
    Lc = np.zeros((N, N, N, N))
    Lc[:n, :n] = C.transpose(0, 2, 1, 3)
    return L + Lc.reshape(N * N, N * N)


def _initial_state(sde, x0, v0):
    """Full initial state and the number of position coordinates."""
    n = int(sde.dim)
    x0 = finite_array(x0, "x0")
    if x0.ndim == 0:
        x0 = x0.reshape(1)
    if x0.ndim != 1:
        raise ValueError(f"x0 must be a vector, got shape {x0.shape}")
    declared = getattr(sde, "position_dim", None)
    if x0.shape[0] == n and v0 is None:
        return x0, int(declared) if declared is not None else n
    if 2 * x0.shape[0] == n:
        v0 = np.zeros_like(x0) if v0 is None else state_vector(v0, x0.shape[0], "v0")
        return np.concatenate([x0, v0]), x0.shape[0]
    if v0 is not None:
        raise ValueError(
            f"v0 given: x0 must be the position of a [x; v] state of dimension {n}, "
            f"i.e. shape ({n // 2},), got {x0.shape}"
        )
    raise ValueError(f"x0 must have shape ({n},) (full state) or ({n // 2},) (position), got {x0.shape}")


def _validated_times(times, t0):
    times = finite_array(times, "times")
    if times.ndim == 0:
        times = times.reshape(1)
    if times.ndim != 1 or times.size == 0:
        raise ValueError(f"times must be a non-empty 1-d array, got shape {times.shape}")
    if np.any(np.diff(times) < 0):
        raise ValueError("times must be non-decreasing")
    if times[0] < t0:
        raise ValueError(f"times must be >= the SDE start time t0 = {t0}, got {times[0]}")
    return times


def sde_moments(sde, x0, times, *, v0=None) -> Moments:
    """Exact mean and second moment of a linear SDE (``sde.linear`` set).

    Parameters
    ----------
    sde : SDE
        With a :class:`~smecore.sde.LinearStructure` in ``sde.linear``:
        drift F(t) [x; 1] and (sigma sigma^T)_ik = sum_jl C_ijkl z_j z_l.
        Starts at ``getattr(sde, "t0", 0.0)``.
    x0 : array_like
        Deterministic initial state, shape (n,), or only the position, shape
        (n/2,), for a second-order SDE on [x; v] (then ``v0`` defaults to 0).
    times : array_like, shape (n_rec,)
        Non-decreasing output times >= t0.
    v0 : array_like, optional
        Initial velocity when ``x0`` is the position.

    Returns
    -------
    Moments
        ``steps`` is None. ``dim_x`` is ``len(x0)`` when ``x0`` is a position,
        else ``sde.position_dim`` if the SDE defines it, else n.

    Notes
    -----
    Time-homogeneous SDEs use the matrix exponential of the linear operator on
    vec(S), dimension (n+1)^2 (accurate to ~1e-12; fine up to n ~ 20).
    Time-dependent SDEs are integrated with DOP853 (rtol 1e-12). A drift
    singular at t0 = 0 of the form R/t + L1 (Nesterov's 3/t friction) is
    started with its Frobenius power series S(t) = sum_k S_k t^k,
    (k - R) S_k = L1 S_{k-1}, which requires R S_0 = 0 (e.g. v0 = 0).

    Raises
    ------
    TypeError
        If ``sde.linear`` is None.
    DivergenceError
        If the moments overflow.

    Examples
    --------
    An Ornstein-Uhlenbeck process dX = -X dt + dW: Var X_t = (1 - e^{-2t})/2.

    >>> import numpy as np
    >>> from smecore.sde import FunctionSDE, LinearStructure
    >>> lin = LinearStructure(lambda t: np.array([[-1.0, 0.0]]),
    ...                       lambda t: np.array([[[[0.0, 0.0], [0.0, 1.0]]]]).reshape(1, 2, 1, 2),
    ...                       additive=True)
    >>> ou = FunctionSDE(lambda t, x: -x, lambda t, x: np.ones(x.shape + (1,)), 1, 1, linear=lin)
    >>> m = sde_moments(ou, [2.0], [0.0, 1.0])
    >>> round(float(m.cov[1, 0, 0]), 10), round(float((1 - np.exp(-2)) / 2), 10)
    (0.4323323584, 0.4323323584)
    """
    linear = getattr(sde, "linear", None)
    if linear is None:
        raise TypeError(
            f"sde ({type(sde).__name__}) has no linear structure (sde.linear is None); "
            "exact moments need an affine drift and a quadratic diffusion covariance"
        )
    state0, dim_x = _initial_state(sde, x0, v0)
    n = state0.shape[0]
    t0 = float(getattr(sde, "t0", 0.0) or 0.0)
    times = _validated_times(times, t0)
    z0 = np.append(state0, 1.0)
    S0 = np.outer(z0, z0)
    if linear.time_homogeneous:
        flat = _homogeneous_moments(linear, n, S0, times - t0)
    else:
        flat = _time_dependent_moments(linear, n, S0, times, t0)
    N = n + 1
    S = flat.reshape(-1, N, N)
    S = 0.5 * (S + np.swapaxes(S, 1, 2))
    if not np.all(np.isfinite(S)) or np.max(np.abs(S)) > 1e100:
        raise DivergenceError("sde_moments: the second moments overflowed (the SDE's moments explode)")
    return Moments(times.copy(), None, S[:, :n, n].copy(), S[:, :n, :n].copy(), dim_x)


def _homogeneous_moments(linear, n, S0, elapsed):
    """vec S(t) = expm(L t) vec S0, chained over record increments (expm cached per increment)."""
    L = _sde_operator(linear, 0.0, n)
    out = np.empty((elapsed.size, S0.size))
    cache = {}
    s, t_prev = S0.ravel(), 0.0
    for i, t in enumerate(elapsed):
        dt = t - t_prev
        if dt > 0:
            # Equal spacings that differ in the last bits share one exponential.
            key = float(np.format_float_positional(dt, precision=14, unique=False, fractional=False))
            if key not in cache:
                # Overflow here means exploding moments; it is reported as a DivergenceError.
                with np.errstate(over="ignore", invalid="ignore"):
                    cache[key] = scipy.linalg.expm(L * dt)
            with np.errstate(over="ignore", invalid="ignore"):
                s = cache[key] @ s
        out[i] = s
        t_prev = t
    return out


def _regular_at_zero(linear, n) -> bool:
    """Whether the moment operator is defined (finite) at t = 0."""
    try:
        with np.errstate(all="ignore"):
            return bool(np.all(np.isfinite(_sde_operator(linear, 0.0, n))))
    except (ValueError, ZeroDivisionError, FloatingPointError):
        return False


def _singular_split(linear, n, t_scale):
    """Write L(t) = R / t + L1 near t = 0 (for an operator singular at t = 0).

    Raises ValueError if L(t) is not of that form.
    """
    t1, t2, t3 = 1e-3 * t_scale, 2e-3 * t_scale, 3.7e-3 * t_scale
    with np.errstate(all="ignore"):
        L1_, L2_, L3_ = (_sde_operator(linear, t, n) for t in (t1, t2, t3))
    R = (L1_ - L2_) / (1 / t1 - 1 / t2)
    L1 = L1_ - R / t1
    if np.max(np.abs(R / t3 + L1 - L3_)) > 1e-9 * np.max(np.abs(L3_)):
        raise ValueError(
            "sde_moments: the linear SDE's drift is time dependent and singular at t0 = 0 but "
            "not of the form R/t + L1; start the SDE at t0 > 0"
        )
    return R, L1


def _split_holds(linear, n, R, L1, t_end) -> bool:
    """Whether L(t) = R/t + L1 holds (to rounding) at a few points up to ``t_end``."""
    for t in (0.31 * t_end, 0.77 * t_end, t_end):
        L = _sde_operator(linear, t, n)
        if np.max(np.abs(R / t + L1 - L)) > 1e-12 * max(np.max(np.abs(L)), 1.0):
            return False
    return True


def _frobenius_series(R, L1, s0, t):
    """sum_k S_k t^k with S_0 = s0, (k I - R) S_k = L1 S_{k-1} (regular solution)."""
    if np.max(np.abs(R @ s0)) > 1e-12 * max(np.max(np.abs(s0)), 1.0) * max(np.max(np.abs(R)), 1.0):
        raise ValueError(
            "sde_moments: the drift is singular at t0 = 0 (R/t term) and the initial state "
            "is not annihilated by it: start with zero velocity (v0 = 0) or at t0 > 0"
        )
    eye = np.eye(R.shape[0])
    total, term = s0.copy(), s0.copy()
    for k in range(1, 200):
        term = np.linalg.solve(k * eye - R, L1 @ term) * t
        total = total + term
        if np.max(np.abs(term)) <= 1e-18 * np.max(np.abs(total)):
            return total
    raise RuntimeError("sde_moments: the Frobenius series at t0 = 0 did not converge")


def _time_dependent_moments(linear, n, S0, times, t0):
    s0 = S0.ravel()
    out = np.empty((times.size, s0.size))
    at_start = times == t0
    out[at_start] = s0
    later = times[~at_start]
    if later.size == 0:
        return out
    t_start = t0

    def rhs(t, s):
        return _sde_operator(linear, t, n) @ s

    if t0 == 0.0 and not _regular_at_zero(linear, n):
        R, L1 = _singular_split(linear, n, later[-1])
        # Start inside the radius where a few series terms are exact to rounding.
        t_start = min(0.5 * later[0], 0.05 / max(np.linalg.norm(L1, 2), 1e-300))
        s0 = _frobenius_series(R, L1, s0, t_start)
        if _split_holds(linear, n, R, L1, later[-1]):
            # L(t) = R/t + L1 on the whole interval (Nesterov): skip rebuilding L at every step.
            def rhs(t, s):  # noqa: F811
                return R @ s / t + L1 @ s

    atol = 1e-15 * max(np.max(np.abs(s0)), 1.0)
    unique, index = np.unique(later, return_inverse=True)  # solve_ivp wants strictly increasing
    sol = scipy.integrate.solve_ivp(
        rhs, (t_start, unique[-1]), s0, method="DOP853", t_eval=unique, rtol=1e-12, atol=atol
    )
    if not sol.success:
        raise DivergenceError(f"sde_moments: the moment ODE solver failed: {sol.message}")
    out[~at_start] = sol.y.T[index]
    return out
