"""Exact first and second moments of SGD, momentum and Nesterov for affine gradients.

When every stochastic gradient is affine in x, g_gamma(x) = G_gamma [x; 1], the
augmented state z = [state; 1] of SGD, heavy-ball momentum and Nesterov evolves
as z' = M_gamma z with a random matrix M_gamma = M0 - lr P G_gamma Q:

* ``P`` embeds the gradient into the rows of the state it updates,
* ``Q`` maps the state to the point where the gradient is evaluated, [y; 1].

Because gamma is independent of z, the mean and the second moment
S = E[z z^T] obey exact linear recursions

    E z' = M0bar E z,
    S' = M0bar S M0bar^T + lr^2 P Sigtilde(Q S Q^T) P^T,

with M0bar = M0 - lr P Gbar Q and Sigtilde(W)_ik = sum_jl cov_ijkl W_jl. Weak
errors of polynomial test functions of degree <= 2 are therefore computable with
no Monte Carlo error (the worked examples of Li, Tai & E 2019 are of this kind).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import (
    check_finite_state,
    finite_array,
    positive_float,
    positive_int,
    state_vector,
)
from ..algorithms.forms import ScaledMomentumSGD
from ..estimation.observables import record_steps

__all__ = ["Moments", "sgd_moments", "momentum_moments", "nesterov_moments", "scaled_momentum_moments"]


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
    covariance : ndarray, shape (n_rec, n, n), optional
        The covariance, when the recursion propagated it directly (the algorithms' exact
        moments do); :attr:`cov` falls back to ``second - mean mean^T`` otherwise.
    """

    times: np.ndarray
    steps: np.ndarray | None
    mean: np.ndarray
    second: np.ndarray
    dim_x: int
    covariance: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def cov(self) -> np.ndarray:
        """Covariance of the state, shape (n_rec, n, n).

        Propagated directly by the algorithms' recursions: ``second - mean mean^T`` loses
        digits to cancellation when the variance is small against the squared mean (a
        relative error of 4e-4 with lr = 1e-3 and ``|x0|`` = 100).
        """
        if self.covariance is not None:
            return self.covariance
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
        outer = np.outer(scale, scale)
        return Moments(
            self.times, self.steps, self.mean * scale, self.second * outer, d,
            None if self.covariance is None else self.covariance * outer,
        )

    def __len__(self) -> int:
        return self.times.shape[0]


def _real(value, name):
    """A finite real number (any sign)."""
    return float(finite_array(value, name, ndim=0))


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
        with np.errstate(over="ignore", invalid="ignore"):
            return self.base(k) - self.lr * self.P @ self.Gbar @ Q, Q

    def run(self, z0, n_steps, steps, what):
        """Mean, second moment and covariance of z at the record steps.

        The covariance C is propagated directly, C' = M C M^T + lr^2 P Sigtilde(Q S Q^T) P^T
        (S = C + m m^T enters only the noise term, a sum without cancellation), so a small
        variance keeps its digits next to a large mean.
        """
        N = z0.shape[0]
        lr, P = self.lr, self.P
        fixed = self.matrices(0) if self.constant else None
        mean, second = np.empty((steps.size, N)), np.empty((steps.size, N, N))
        cov = np.empty((steps.size, N, N))
        m, C = z0.copy(), np.zeros((N, N))
        j = 0
        for k in range(n_steps + 1):
            if j < steps.size and steps[j] == k:
                mean[j], cov[j] = m, C
                second[j] = C + np.outer(m, m)
                j += 1
            if k == n_steps:
                break
            M, Q = fixed if fixed is not None else self.matrices(k)
            # Overflow (lr far too large) is caught by the state checks, with a clear message.
            with np.errstate(over="ignore", invalid="ignore"):
                S = C + np.outer(m, m)
                noise = self.noise(Q @ S @ Q.T)
                m = M @ m
                C = M @ C @ M.T + np.float64(lr) ** 2 * (P @ noise @ P.T)
                C = 0.5 * (C + C.T)  # keep exact symmetry against rounding drift
            check_finite_state(C, k + 1, what)
            check_finite_state(m, k + 1, what)
        return mean, second, cov


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
    smecore.DivergenceError
        If the moments overflow (lr too large).

    Examples
    --------
    Per eigen-direction, Var x_k = eta lam (1 - (1 - eta lam)^(2k)) / (2 - eta lam)
    on the Gaussian quadratic (the worked example of Li, Tai & E 2019):

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
    mean, second, cov = rec.run(np.append(x0, 1.0), n_steps, steps, "sgd_moments")
    return Moments(steps * lr, steps, mean[:, :d], second[:, :d, :d], d, cov[:, :d, :d])


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
    mean, second, cov = rec.run(np.concatenate([x0, v0, [1.0]]), n_steps, steps, "momentum_moments")
    n = 2 * d
    return Moments(steps * np.sqrt(lr), steps, mean[:, :n], second[:, :n, :n], d, cov[:, :n, :n])


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
    mean, second, cov = rec.run(z0, n_steps, steps, "nesterov_moments")
    n = 2 * d
    return Moments(steps * np.sqrt(lr), steps, mean[:, :n], second[:, :n, :n], d, cov[:, :n, :n])


def scaled_momentum_moments(problem, step, damping, x0, n_steps, *, record=None) -> Moments:
    """Exact mean and second moment of the step-h form of heavy ball, state [x; V].

    For an affine stochastic gradient g(x) = G [x; 1] (``problem.affine``), the
    augmented state z = [x; V; 1] evolves as z' = (M0 - P G Q) z with
    M0 = [[I, h mu I, 0], [0, mu I, 0], [0, 0, 1]], mu = 1 - damping h,
    P = [h^2 I; h I; 0] and Q z = [x; 1]; hence, exactly,
    E z' = (M0 - P Gbar Q) E z and
    E z'z'^T = Mbar S Mbar^T + P Sigtilde(Q S Q^T) P^T with
    Sigtilde(W)_ik = sum_jl Cov(G_ij, G_kl) W_jl.

    Written in the step-h variables, it is an independent check of
    :func:`smecore.moments.momentum_moments` (standard variables [x; v]).

    Parameters
    ----------
    problem : StochasticObjective
        With ``problem.affine`` set.
    step : float
        h > 0.
    damping : float
        lambda >= 0, with damping * step <= 1.
    x0 : array_like, shape (d,)
        Start; V_0 = 0.
    n_steps : int
    record : sequence of int, optional
        Steps to record (default every step).

    Returns
    -------
    Moments
        State [x; V] (n = 2d), ``times = steps * step``.

    Examples
    --------
    >>> import numpy as np
    >>> from smecore.problems import GaussianQuadratic
    >>> from smecore.moments import momentum_moments
    >>> p = GaussianQuadratic([1.0, 0.5])
    >>> a = scaled_momentum_moments(p, 0.1, 2.0, [1.0, 1.0], 30)
    >>> b = momentum_moments(p, 0.01, 0.8, [1.0, 1.0], 30).scaled_velocity(1 / 0.1)
    >>> bool(np.allclose(a.second, b.second, rtol=1e-12, atol=1e-15))
    True
    """
    affine = getattr(problem, "affine", None)
    if affine is None:
        raise TypeError(
            f"problem ({type(problem).__name__}) has no affine gradient (problem.affine is None)"
        )
    algorithm = ScaledMomentumSGD(step, damping)  # validates step and damping
    h, mu = algorithm.step_size, algorithm.momentum
    n_steps = positive_int(n_steps, "n_steps", allow_zero=True)
    steps = record_steps(record, n_steps)
    d = affine.dim
    x0 = state_vector(x0, d)
    N = 2 * d + 1
    eye = np.eye(d)
    M0 = np.eye(N)
    M0[:d, d : 2 * d] = h * mu * eye
    M0[d : 2 * d, d : 2 * d] = mu * eye
    P = np.zeros((N, d))
    P[:d], P[d : 2 * d] = h**2 * eye, h * eye
    Q = np.zeros((d + 1, N))
    Q[:d, :d] = eye
    Q[d, 2 * d] = 1.0
    Gbar = np.asarray(affine.mean, dtype=float)
    cov = np.asarray(affine.cov, dtype=float)
    Mbar = M0 - P @ Gbar @ Q
    z = np.concatenate([x0, np.zeros(d), [1.0]])
    m, C = z.copy(), np.zeros((N, N))  # the covariance, propagated directly (no cancellation)
    mean, second = np.empty((steps.size, N)), np.empty((steps.size, N, N))
    covariance = np.empty((steps.size, N, N))
    j = 0
    for k in range(n_steps + 1):
        if j < steps.size and steps[j] == k:
            mean[j], covariance[j] = m, C
            second[j] = C + np.outer(m, m)
            j += 1
        if k == n_steps:
            break
        S = C + np.outer(m, m)
        noise = np.einsum("ijkl,jl->ik", cov, Q @ S @ Q.T)
        m = Mbar @ m
        C = Mbar @ C @ Mbar.T + P @ noise @ P.T
        C = 0.5 * (C + C.T)
    n = 2 * d
    return Moments(steps * h, steps, mean[:, :n], second[:, :n, :n], d, covariance[:, :n, :n])
