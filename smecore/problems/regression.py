"""Least-squares linear regression as a finite sum, with its exact affine gradient law."""

from __future__ import annotations

import numpy as np

from .._validation import finite_array, positive_float, positive_int
from .base import AffineGradient
from .custom import FiniteSumObjective


class LinearRegression(FiniteSumObjective):
    """f(x) = (1/n) sum_i 1/2 (a_i . x - y_i)^2, sampled with replacement.

    The stochastic gradient of one sample, grad f_i(x) = a_i a_i^T x - y_i a_i
    = G_i [x; 1] with G_i = [a_i a_i^T, -y_i a_i], is affine in x, so the
    objective carries the exact law of the mini-batch gradient
    (``affine``): mean E_i G_i and covariance Cov_i(G_i) / B, the population
    covariance over the n samples.

    Parameters
    ----------
    A : array_like, shape (n, d)
        Features a_i (rows).
    y : array_like, shape (n,)
        Targets y_i.
    batch_size : int, default 1
        Mini-batch size B; indices are drawn as ``rng.integers(0, n, (n_paths, B))``.

    Examples
    --------
    >>> import numpy as np
    >>> p = LinearRegression([[1.0, 0.0], [0.0, 2.0]], [1.0, 2.0])
    >>> p.minimizer
    array([1., 1.])
    >>> p.grad([0.0, 0.0])
    array([-0.5, -2. ])
    >>> p.noise_cov([0.0, 0.0])
    array([[ 0.25, -1.  ],
           [-1.  ,  4.  ]])
    """

    def __init__(self, A, y, batch_size=1):
        A = finite_array(A, "A", ndim=2)
        n, d = A.shape
        if n == 0 or d == 0:
            raise ValueError(f"A must have at least one row and one column, got shape {A.shape}")
        y = finite_array(y, "y", shape=(n,))
        self.A, self.y = A, y
        self.dim = d
        self.noise_dim = d
        self.batch_size = positive_int(batch_size, "batch_size")
        self.probs = np.full(n, 1.0 / n)
        self.affine = self._affine_law()

    def _affine_law(self) -> AffineGradient:
        A, y = self.A, self.y
        n, d = A.shape
        G = np.concatenate([A[:, :, None] * A[:, None, :], -(y[:, None] * A)[:, :, None]], axis=2)
        flat = G.reshape(n, -1)
        mean = flat.mean(axis=0)
        centred = flat - mean
        cov = centred.T @ centred / n / self.batch_size
        return AffineGradient(mean.reshape(d, d + 1), cov.reshape(d, d + 1, d, d + 1))

    @property
    def n_samples(self) -> int:
        """n, the number of data points."""
        return self.A.shape[0]

    @property
    def minimizer(self) -> np.ndarray:
        """The least-squares solution (minimum norm if A is rank deficient)."""
        return np.linalg.lstsq(self.A, self.y, rcond=None)[0]

    @property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of the Hessian A^T A / n, ascending."""
        return np.linalg.eigvalsh(self.affine.hessian)

    def residuals(self, x):
        """a_i . x - y_i for every sample; shape (..., n)."""
        return np.einsum("...d,nd->...n", self._points(x), self.A) - self.y

    def value(self, x):
        return 0.5 * np.mean(self.residuals(x) ** 2, axis=-1)

    def grad(self, x):
        x = self._points(x)
        return np.einsum("...j,ij->...i", x, self.affine.hessian) + self.affine.offset

    def hessian(self, x):
        x = self._points(x)
        H = self.affine.hessian
        return np.broadcast_to(H, x.shape[:-1] + H.shape).copy()

    def noise_cov(self, x):
        # Quadratic in x through the affine law: cost independent of n.
        return self.affine.noise_cov_at(self._points(x))

    def component_values(self, x):
        return 0.5 * self.residuals(x) ** 2

    def component_grads(self, x):
        return self.residuals(x)[..., None] * self.A

    def component_hessians(self, x):
        x = self._points(x)
        outer = self.A[:, :, None] * self.A[:, None, :]
        return np.broadcast_to(outer, x.shape[:-1] + outer.shape).copy()

    def grads_at_indices(self, x, idx):
        rows = self.A[idx]  # (n_paths, B, d): only the sampled data are touched
        residuals = np.einsum("pbd,pd->pb", rows, x) - self.y[idx]
        return residuals[..., None] * rows

    def __repr__(self) -> str:
        return f"LinearRegression(n_samples={self.n_samples}, dim={self.dim}, batch_size={self.batch_size})"


def make_linear_regression(n_samples, dim, noise=0.1, x_true=None, rng=None) -> LinearRegression:
    """A random linear-regression problem y = a . x_true + noise * eps.

    Draws, in this order from ``rng``: ``x_true`` ~ N(0, I_d) if not given,
    the features a_i ~ N(0, I_d) (an (n_samples, dim) array), and the
    label noise eps_i ~ N(0, 1).

    Parameters
    ----------
    n_samples : int
        Number of data points n, >= 1.
    dim : int
        Dimension d, >= 1.
    noise : float, default 0.1
        Standard deviation of the label noise, >= 0.
    x_true : array_like, shape (d,), optional
        The planted parameter (default: drawn from ``rng``).
    rng : seed-like, optional
        Anything ``numpy.random.default_rng`` accepts.

    Returns
    -------
    LinearRegression
        With the planted parameter stored as ``x_true``.

    Examples
    --------
    >>> p = make_linear_regression(200, 3, noise=0.0, x_true=[1.0, -1.0, 2.0], rng=0)
    >>> p.minimizer.round(10)
    array([ 1., -1.,  2.])
    """
    n_samples = positive_int(n_samples, "n_samples")
    dim = positive_int(dim, "dim")
    noise = positive_float(noise, "noise", allow_zero=True)
    gen = np.random.default_rng(rng)
    if x_true is None:
        x_true = gen.standard_normal(dim)
    x_true = finite_array(x_true, "x_true", shape=(dim,))
    A = gen.standard_normal((n_samples, dim))
    y = A @ x_true + noise * gen.standard_normal(n_samples)
    problem = LinearRegression(A, y)
    problem.x_true = x_true
    return problem
