"""Stochastic Nesterov in three normalisations, driven by one sequence of gradients.

The library runs Nesterov's method in the Su-Boyd-Candes indexing
(:class:`smecore.algorithms.Nesterov`):

    y_0 = x_0,  x_{k+1} = y_k - lr g_k(y_k),
    y_{k+1} = x_{k+1} + k/(k+3) (x_{k+1} - x_k)          (k = 0, 1, ...),

with time t = k sqrt(lr). Two other common ways of writing the same method
are implemented here as plain reference loops, so that a chapter can check
the maps between them numerically, path by path:

* :func:`paper_form`: the form of paper.md (N1), coefficient (k-1)/(k+2)
  in the update of y_{k+1}, with k running from 1 and x_1 = y_1 = x_0. Its
  iterate x_{k+1} is the library's x_k (a shift of one index, i.e. of one
  time step sqrt(lr)).
* :func:`pytorch_form`: ``torch.optim.SGD(momentum=mu, nesterov=True,
  dampening=0)`` for a constant mu: b_{k+1} = mu b_k + g_k(theta_k),
  theta_{k+1} = theta_k - lr (g_k(theta_k) + mu b_{k+1}), b_0 = 0. The
  parameter theta_k is the library's look-ahead point y_k, and
  x_k = theta_k + lr mu b_k (:func:`pytorch_to_positions`).

"Driven by one sequence of gradients" means that the j-th stochastic
gradient any form asks for is ``oracle(y, j)``: with a
:class:`GradientSequence` (pre-drawn noise) the three forms see the same
randomness and must produce the same path up to rounding.

Also: :func:`nesterov_deterministic_velocity`, the velocity of the Bessel
solution of the Su-Boyd-Candes ODE (companion of
:func:`smecore.closed_forms.nesterov_deterministic_solution`).

References
----------
Su, Boyd & Candes (2016), JMLR 17(153), section 2; PyTorch documentation of
``torch.optim.SGD`` (the ``nesterov`` option).
"""

from __future__ import annotations

import numpy as np
import scipy.special

from ._validation import finite_array, positive_float, positive_int, state_vector
from .algorithms import Algorithm
from .problems.base import StochasticObjective

__all__ = [
    "GradientSequence",
    "drive",
    "paper_form",
    "pytorch_form",
    "pytorch_to_positions",
    "nesterov_deterministic_velocity",
]


class GradientSequence:
    """A stochastic-gradient oracle with pre-drawn Gaussian noise: ``oracle(y, j)``.

    The j-th call returns ``problem.sample_grad_from_normal(y, z_j)`` with
    z_j the j-th row of a fixed array of standard normals, so that different
    implementations of one algorithm can be fed identical randomness.

    Parameters
    ----------
    problem : StochasticObjective
        With Gaussian gradient noise (``problem.gaussian_noise``), e.g.
        :class:`~smecore.problems.GaussianQuadratic`.
    n_steps : int
        Number of gradients available (j = 0, ..., n_steps - 1).
    rng : seed-like, optional
        Anything ``numpy.random.default_rng`` accepts.

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> oracle = GradientSequence(GaussianQuadratic([2.0]), 3, rng=0)
    >>> bool(np.allclose(oracle([1.0], 1), oracle([1.0], 1)))   # same j, same gradient
    True
    >>> oracle([1.0], 0).shape
    (1,)
    """

    def __init__(self, problem, n_steps, rng=None):
        if not isinstance(problem, StochasticObjective):
            raise TypeError(f"problem must be a smecore StochasticObjective, got {type(problem).__name__}")
        if not getattr(problem, "gaussian_noise", False):
            raise TypeError(f"{type(problem).__name__} does not have Gaussian gradient noise")
        self.problem = problem
        self.n_steps = positive_int(n_steps, "n_steps")
        p = int(problem.noise_dim if problem.noise_dim is not None else problem.dim)
        self.z = np.random.default_rng(rng).standard_normal((self.n_steps, p))

    def __call__(self, y, j):
        if not 0 <= j < self.n_steps:
            raise IndexError(f"gradient index j must lie in [0, {self.n_steps}), got {j}")
        y = np.asarray(y, dtype=float)
        return self.problem.sample_grad_from_normal(y[None, :], self.z[j][None, :])[0]


def _check_oracle(oracle):
    if not callable(oracle):
        raise TypeError("oracle must be callable as oracle(y, j)")
    return oracle


def drive(algorithm, oracle, x0, n_steps):
    """Iterates x_0, ..., x_N of a smecore algorithm fed the gradients ``oracle(y, k)``.

    Uses the algorithm's own update (``gradient_point`` and ``apply``), so the
    result is the library's iteration, only with prescribed gradients.

    Parameters
    ----------
    algorithm : smecore.algorithms.Algorithm
        E.g. :class:`~smecore.algorithms.Nesterov`.
    oracle : callable
        ``oracle(y, k)`` -> gradient at y (shape (d,)) for step k.
    x0 : array_like, shape (d,)
    n_steps : int

    Returns
    -------
    ndarray, shape (n_steps + 1, d)
        Row k is x_k.

    Examples
    --------
    Deterministic Nesterov on 1/2 x^2 with lr = 0.01 (compare
    :func:`smecore.moments.nesterov_moments`):

    >>> from smecore.algorithms import Nesterov
    >>> xs = drive(Nesterov(0.01), lambda y, k: y, [1.0], 3)
    >>> [round(float(v), 6) for v in xs[:, 0]]
    [1.0, 0.99, 0.9801, 0.967849]
    """
    if not isinstance(algorithm, Algorithm):
        raise TypeError(f"algorithm must be a smecore Algorithm, got {type(algorithm).__name__}")
    oracle = _check_oracle(oracle)
    x0 = finite_array(x0, "x0", ndim=1)
    n_steps = positive_int(n_steps, "n_steps", allow_zero=True)
    state = algorithm.init_state(x0[None, :])
    out = np.empty((n_steps + 1, x0.size))
    out[0] = algorithm.position(state)[0]
    for k in range(n_steps):
        y = algorithm.gradient_point(state, k)
        g = np.asarray(oracle(y[0], k), dtype=float)[None, :]
        state = algorithm.apply(state, k, g)
        out[k + 1] = algorithm.position(state)[0]
    return out


def paper_form(oracle, lr, x0, n_steps):
    """Nesterov as written in paper.md (N1): coefficient (k-1)/(k+2), k from 1.

    x_1 = y_1 = x_0; for k = 1, 2, ...:
    x_{k+1} = y_k - lr g(y_k), y_{k+1} = x_{k+1} + (k-1)/(k+2) (x_{k+1} - x_k),
    where the gradient of step k is ``oracle(y_k, k - 1)`` (the (k-1)-th draw).

    Parameters
    ----------
    oracle : callable
        ``oracle(y, j)`` -> gradient, j = 0, 1, ... in order of use.
    lr : float
    x0 : array_like, shape (d,)
    n_steps : int
        Number of gradient steps.

    Returns
    -------
    ndarray, shape (n_steps + 1, d)
        Row i is the paper's x_{i+1}, which equals the library's x_i
        (:class:`smecore.algorithms.Nesterov`, time t = i sqrt(lr)).

    Examples
    --------
    >>> xs = paper_form(lambda y, j: y, 0.01, [1.0], 3)
    >>> [round(float(v), 6) for v in xs[:, 0]]
    [1.0, 0.99, 0.9801, 0.967849]
    """
    oracle = _check_oracle(oracle)
    lr = positive_float(lr, "lr")
    x0 = finite_array(x0, "x0", ndim=1)
    n_steps = positive_int(n_steps, "n_steps", allow_zero=True)
    out = np.empty((n_steps + 1, x0.size))
    x, y = x0.copy(), x0.copy()  # x_1, y_1
    out[0] = x
    for k in range(1, n_steps + 1):
        x_new = y - lr * np.asarray(oracle(y, k - 1), dtype=float)
        y = x_new + (k - 1) / (k + 2) * (x_new - x)
        x = x_new
        out[k] = x
    return out


def pytorch_form(oracle, lr, momentum, x0, n_steps):
    """PyTorch's ``SGD(momentum=mu, nesterov=True, dampening=0)`` with prescribed gradients.

    b_{k+1} = mu b_k + g_k, theta_{k+1} = theta_k - lr (g_k + mu b_{k+1}),
    g_k = ``oracle(theta_k, k)``, theta_0 = x_0, b_0 = 0 (PyTorch initialises
    the buffer with the first gradient, which is the same thing).

    Parameters
    ----------
    oracle : callable
    lr : float
    momentum : float
        mu in [0, 1).
    x0 : array_like, shape (d,)
    n_steps : int

    Returns
    -------
    theta, buffer : ndarray, shape (n_steps + 1, d)
        The parameters theta_k (= the library's look-ahead points y_k) and
        momentum buffers b_k.

    Examples
    --------
    >>> theta, buf = pytorch_form(lambda y, k: y, 0.1, 0.5, [1.0], 2)
    >>> [round(float(v), 6) for v in theta[:, 0]]
    [1.0, 0.85, 0.6975]
    """
    oracle = _check_oracle(oracle)
    lr = positive_float(lr, "lr")
    mu = float(finite_array(momentum, "momentum", ndim=0))
    if not 0.0 <= mu < 1.0:
        raise ValueError(f"momentum must lie in [0, 1), got {momentum!r}")
    x0 = finite_array(x0, "x0", ndim=1)
    n_steps = positive_int(n_steps, "n_steps", allow_zero=True)
    theta = np.empty((n_steps + 1, x0.size))
    buf = np.zeros_like(theta)
    theta[0] = x0
    for k in range(n_steps):
        g = np.asarray(oracle(theta[k], k), dtype=float)
        buf[k + 1] = mu * buf[k] + g
        theta[k + 1] = theta[k] - lr * (g + mu * buf[k + 1])
    return theta, buf


def pytorch_to_positions(theta, buffer, lr, momentum):
    """The library's iterates x_k = theta_k + lr mu b_k from PyTorch's state.

    With v_k = x_k - x_{k-1} = -lr b_k, the look-ahead is y_k = x_k + mu v_k =
    theta_k, hence x_k = theta_k - mu v_k.

    Examples
    --------
    >>> pytorch_to_positions([[0.85]], [[1.0]], 0.1, 0.5)
    array([[0.9]])
    """
    lr = positive_float(lr, "lr")
    mu = float(finite_array(momentum, "momentum", ndim=0))
    theta = finite_array(theta, "theta")
    buffer = finite_array(buffer, "buffer")
    return theta + lr * mu * buffer


def nesterov_deterministic_velocity(lam, x0, t):
    """V(t) = X'(t) = -2 x0 sqrt(lam) J2(sqrt(lam) t) / (sqrt(lam) t) for the Bessel solution.

    X(t) = 2 x0 J1(u)/u with u = sqrt(lam) t solves X'' + (3/t) X' + lam X = 0,
    X(0) = x0, X'(0) = 0 (:func:`smecore.closed_forms.nesterov_deterministic_solution`);
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
