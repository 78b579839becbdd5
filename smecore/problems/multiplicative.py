"""A quadratic with multiplicative (state-dependent) Gaussian gradient noise."""

from __future__ import annotations

import numpy as np

from .._validation import finite_array, positive_int
from .base import AffineGradient, StochasticObjective


class MultiplicativeQuadratic(StochasticObjective):
    """f_gamma(x) = 1/2 x^T (diag(D) + diag(gamma)) x with gamma ~ N(0, I).

    Then f(x) = 1/2 x^T diag(D) x, grad f_gamma(x) = (D + gamma) * x and the
    noise covariance Sigma(x) = diag(x_i^2) vanishes at the minimum
    (the multiplicative-noise example of the SGD chapter). With a mini-batch of size B,
    gamma is replaced by the mean of B standard normals, so the noise
    covariance is diag(x_i^2) / B and SGD has
    E x_{k,i}^2 = x_{0,i}^2 ((1 - lr D_i)^2 + lr^2 / B)^k.

    Parameters
    ----------
    D : array_like, shape (d,)
        Diagonal of the Hessian.
    batch_size : int, default 1
        Mini-batch size B.

    Examples
    --------
    >>> p = MultiplicativeQuadratic([1.0, 2.0], batch_size=4)
    >>> p.grad([1.0, 1.0])
    array([1., 2.])
    >>> p.noise_cov([2.0, 1.0])
    array([[1.  , 0.  ],
           [0.  , 0.25]])
    >>> p.sample_grad_from_normal([[1.0, 1.0]], [[2.0, 0.0]])
    array([[2., 2.]])
    """

    gaussian_noise = True

    def __init__(self, D, batch_size=1):
        D = finite_array(D, "D")
        if D.ndim == 0:
            D = D.reshape(1)
        if D.ndim != 1 or D.shape[0] == 0:
            raise ValueError(f"D must be a non-empty vector (the Hessian diagonal), got shape {D.shape}")
        self.D = D
        self.dim = D.shape[0]
        self.noise_dim = self.dim
        self.batch_size = positive_int(batch_size, "batch_size")
        d = self.dim
        mean = np.concatenate([np.diag(D), np.zeros((d, 1))], axis=1)
        cov = np.zeros((d, d + 1, d, d + 1))
        # Only the diagonal entries G_ii = D_i + gamma_i are random, independently.
        cov[np.arange(d), np.arange(d), np.arange(d), np.arange(d)] = 1.0 / self.batch_size
        self.affine = AffineGradient(mean, cov)

    @property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of the Hessian diag(D), ascending."""
        return np.sort(self.D)

    def value(self, x):
        x = self._points(x)
        return 0.5 * (x**2 @ self.D)

    def grad(self, x):
        return self._points(x) * self.D

    def hessian(self, x):
        x = self._points(x)
        return np.broadcast_to(np.diag(self.D), x.shape[:-1] + (self.dim, self.dim)).copy()

    def noise_cov(self, x):
        x = self._points(x)
        return x[..., :, None] ** 2 * np.eye(self.dim) / self.batch_size

    def noise_factor(self, x):
        x = self._points(x)
        return x[..., :, None] * np.eye(self.dim) / np.sqrt(self.batch_size)

    def sample_grad(self, x, rng):
        x = self._points(x)
        z = rng.standard_normal((x.shape[0], self.dim))
        return self.sample_grad_from_normal(x, z)

    def sample_grad_from_normal(self, x, z):
        # (D + gamma_bar) * x with gamma_bar, the mean of B standard normals, = z / sqrt(B).
        x = self._points(x)
        return (self.D + np.asarray(z, dtype=float) / np.sqrt(self.batch_size)) * x

    def __repr__(self) -> str:
        return f"MultiplicativeQuadratic(D={self.D.tolist()}, batch_size={self.batch_size})"
