"""Quadratic objectives with closed-form SGD and SME moments (the worked example of Li, Tai & E 2019)."""

from __future__ import annotations

import numpy as np

from .._validation import finite_array, positive_int, symmetric_matrix
from .base import AffineGradient, StochasticObjective


class GaussianQuadratic(StochasticObjective):
    """The paper's worked example: f_gamma(x) = 1/2 (x - gamma)^T H (x - gamma) - 1/2 Tr H.

    With gamma ~ N(0, I): f(x) = 1/2 x^T H x, grad f_gamma(x) = H (x - gamma),
    and the noise covariance Sigma = H^2 is constant.

    Parameters
    ----------
    H : array_like, shape (d, d) or (d,)
        Symmetric matrix, or its diagonal.
    batch_size : int, default 1
        Mini-batch size B: the noise covariance becomes H^2 / B.

    Examples
    --------
    >>> p = GaussianQuadratic([1.0, 4.0])
    >>> p.grad([1.0, 1.0])
    array([1., 4.])
    >>> p.noise_cov([0.0, 0.0])
    array([[ 1.,  0.],
           [ 0., 16.]])
    """

    gaussian_noise = True

    def __init__(self, H, batch_size=1):
        H = finite_array(H, "H")
        if H.ndim == 1:
            H = np.diag(H)
        if H.ndim != 2 or H.shape[0] != H.shape[1]:
            raise ValueError(f"H must be a square matrix or a vector (its diagonal), got shape {H.shape}")
        H = symmetric_matrix(H, "H")  # to rounding of its largest entry
        self.H = H
        self.dim = H.shape[0]
        self.noise_dim = self.dim
        self.batch_size = positive_int(batch_size, "batch_size")
        with np.errstate(over="ignore", invalid="ignore"):
            square = H @ H
        if not np.all(np.isfinite(square)):
            raise ValueError(f"H is too large: its square (the noise covariance H^2 / B) overflows "
                             f"(max |H| = {np.max(np.abs(H)):.3g}); rescale the problem")
        d = self.dim
        mean = np.concatenate([H, np.zeros((d, 1))], axis=1)
        cov = np.zeros((d, d + 1, d, d + 1))
        # Only the offset -H gamma is random: Cov(-H gamma) = H^2 / B.
        cov[:, d, :, d] = H @ H / self.batch_size
        self.affine = AffineGradient(mean, cov)

    @property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of H, ascending."""
        return np.linalg.eigvalsh(self.H)

    def value(self, x):
        x = self._points(x)
        return 0.5 * np.einsum("...i,ij,...j->...", x, self.H, x)

    def grad(self, x):
        return self._points(x) @ self.H.T

    def hessian(self, x):
        x = self._points(x)
        return np.broadcast_to(self.H, x.shape[:-1] + self.H.shape).copy()

    def noise_cov(self, x):
        x = self._points(x)
        S = self.H @ self.H / self.batch_size
        return np.broadcast_to(S, x.shape[:-1] + S.shape).copy()

    def noise_factor(self, x):
        x = self._points(x)
        L = -self.H / np.sqrt(self.batch_size)
        return np.broadcast_to(L, x.shape[:-1] + L.shape).copy()

    def sample_grad(self, x, rng):
        x = self._points(x)
        z = rng.standard_normal((x.shape[0], self.dim))
        return self.sample_grad_from_normal(x, z)

    def sample_grad_from_normal(self, x, z):
        # H (x - gamma_bar) with gamma_bar the mean of B standard normals = z / sqrt(B).
        return (x - z / np.sqrt(self.batch_size)) @ self.H.T
