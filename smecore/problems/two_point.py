"""The two-point quadratic: the paper's Gaussian quadratic with random signs for gamma.

:class:`TwoPointQuadratic` replaces the Gaussian gamma of the worked example of
Li, Tai & E (2019) by Rademacher signs: the same f, the same Sigma and the same
first two one-step moments, hence the same SME, but a different third moment.
The SGD chapter uses it to show that the SME sees only the first two moments.
"""

from __future__ import annotations

import itertools

import numpy as np

from .custom import FiniteSumObjective
from .quadratic import GaussianQuadratic

__all__ = ["TwoPointQuadratic"]


class _Power:
    """y -> (y - x0)^p on states of shape (n, 1) (picklable)."""

    def __init__(self, x0, p):
        self.x0, self.p = x0, p

    def __call__(self, y):
        return (y[:, 0] - self.x0) ** self.p


class TwoPointQuadratic(GaussianQuadratic, FiniteSumObjective):
    """The paper's quadratic with random signs: f_s(x) = 1/2 (x - s)^T H (x - s) - 1/2 Tr H.

    s has independent entries +-1 with probability 1/2 (Rademacher) instead of
    the Gaussian gamma of :class:`~smecore.problems.GaussianQuadratic`. Both
    have mean 0 and identity covariance, so f(x) = 1/2 x^T H x, the noise
    covariance Sigma = H^2 and the affine gradient law (``affine``) are the
    same: exact first and second moments of SGD, and the SME, coincide. Higher
    moments differ (E s^4 = 1 against 3 for a Gaussian).

    As a finite sum it has the 2^d sign patterns as components (uniform
    weights), so the backward recursion
    :func:`smecore.moments.sgd_expectations` applies in 1-D; sampling draws
    the signs directly.

    Parameters
    ----------
    H : array_like, shape (d, d) or (d,)
        Symmetric matrix or its diagonal; d <= 12 (2^d components).
    batch_size : int, default 1

    Examples
    --------
    >>> p = TwoPointQuadratic([2.0])
    >>> p.component_grads([1.0]).ravel()      # H (x - s), s = -1, +1
    array([4., 0.])
    >>> p.noise_cov([0.3])
    array([[4.]])
    >>> float(p.value([1.0]))
    1.0
    """

    # The deterministic part, Sigma and the affine law are the Gaussian quadratic's.
    gaussian_noise = False

    def __init__(self, H, batch_size=1):
        GaussianQuadratic.__init__(self, H, batch_size)
        d = self.dim
        if d > 12:
            raise ValueError(f"TwoPointQuadratic enumerates 2^d sign patterns; d must be <= 12, got {d}")
        self.signs = np.array(list(itertools.product([-1.0, 1.0], repeat=d)))  # (2^d, d)
        self.probs = np.full(self.signs.shape[0], 1.0 / self.signs.shape[0])

    def component_values(self, x):
        x = self._points(x)
        diff = x[..., None, :] - self.signs  # (..., m, d)
        return 0.5 * np.einsum("...mi,ij,...mj->...m", diff, self.H, diff) - 0.5 * np.trace(self.H)

    def component_grads(self, x):
        x = self._points(x)
        return (x[..., None, :] - self.signs) @ self.H.T

    def component_hessians(self, x):
        x = self._points(x)
        m = self.signs.shape[0]
        return np.broadcast_to(self.H, x.shape[:-1] + (m,) + self.H.shape).copy()

    def sample_grad(self, x, rng):
        x = self._points(x)
        if x.ndim != 2:
            raise ValueError(f"x must have shape (n, {self.dim}), got {x.shape}")
        n, B, d = x.shape[0], self.batch_size, self.dim
        signs = np.where(rng.random((n, B * d)) < 0.5, -1.0, 1.0).reshape(n, B, d)
        return (x - signs.mean(axis=1)) @ self.H.T

    def __repr__(self) -> str:
        return f"TwoPointQuadratic(dim={self.dim}, batch_size={self.batch_size})"
