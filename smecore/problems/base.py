"""The interface of a stochastic objective f(x) = E f_gamma(x).

Shapes: a point is ``(d,)``; a batch of sample paths is ``(n_paths, d)``.
Deterministic methods (``value``, ``grad``, ``hessian``, ``noise_cov``,
``noise_factor``) accept any leading shape ``(..., d)``. ``sample_grad`` takes
``(n_paths, d)`` and a random source (a ``numpy.random.Generator`` or a
:class:`~smecore.estimation.PathRandom`).

Mini-batches: an objective carries a ``batch_size`` B. ``sample_grad`` returns
the mean of B stochastic gradients drawn with replacement, and ``noise_cov``
returns its covariance, Sigma(x) / B, where Sigma is the covariance of a single
stochastic gradient (Li, Tai & E 2019, the setting).

Affine gradients: when every stochastic gradient is affine in x,
grad f_gamma(x) = G_gamma [x; 1] with a random d x (d+1) matrix G_gamma, the
objective exposes ``affine`` (an :class:`AffineGradient`) and the exact moment
engine applies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import positive_int


@dataclass(frozen=True)
class AffineGradient:
    """Law of an affine mini-batch gradient g(x) = G [x; 1].

    Attributes
    ----------
    mean : ndarray, shape (d, d+1)
        E G = [A, b]: grad f(x) = A x + b, A the (constant, symmetric) Hessian.
    cov : ndarray, shape (d, d+1, d, d+1)
        cov[i, j, k, l] = Cov(G_ij, G_kl) of the mini-batch gradient (already
        divided by the batch size).
    """

    mean: np.ndarray
    cov: np.ndarray

    @property
    def dim(self) -> int:
        return self.mean.shape[0]

    @property
    def hessian(self) -> np.ndarray:
        """A, the Hessian of f."""
        return self.mean[:, :-1]

    @property
    def offset(self) -> np.ndarray:
        """b, the gradient of f at 0."""
        return self.mean[:, -1]

    def noise_cov_expected(self, second_moment) -> np.ndarray:
        """E Sigma(x) given W = E[z z^T], z = [x; 1] (shape ``(..., d+1, d+1)``).

        Sigma(x)_ik = sum_jl cov[i, j, k, l] z_j z_l is quadratic in x, so its
        expectation depends on the second moment of z only.
        """
        return np.einsum("ijkl,...jl->...ik", self.cov, second_moment)

    def noise_cov_at(self, x) -> np.ndarray:
        """Sigma(x) / B at points ``x`` of shape ``(..., d)``."""
        x = np.asarray(x, dtype=float)
        z = np.concatenate([x, np.ones(x.shape[:-1] + (1,))], axis=-1)
        return np.einsum("ijkl,...j,...l->...ik", self.cov, z, z)

    def with_batch_size(self, factor: float) -> "AffineGradient":
        """The law for a batch ``factor`` times larger (covariance divided by it)."""
        return AffineGradient(self.mean, self.cov / factor)


def symmetric_sqrt_factor(cov: np.ndarray) -> np.ndarray:
    """A factor L with L L^T = cov for symmetric PSD ``cov`` of shape (..., d, d).

    Uses the symmetric square root (eigenvalues clipped at 0), which is
    well defined for singular covariances.
    """
    if cov.shape[-1] == 1:  # 1-D: the square root itself, bit-identical to eigh's, 7x faster
        return np.sqrt(np.clip(cov, 0.0, None))
    w, v = np.linalg.eigh(cov)
    return (v * np.sqrt(np.clip(w, 0.0, None))[..., None, :]) @ np.swapaxes(v, -1, -2)


class StochasticObjective:
    """Base class of stochastic objectives f(x) = E f_gamma(x).

    Subclasses set ``dim`` and ``batch_size`` and implement ``value``,
    ``grad``, ``hessian``, ``noise_cov`` and ``sample_grad``; they may
    override ``noise_factor`` (default: symmetric square root of
    ``noise_cov``) and set ``affine`` and ``gaussian_noise``.

    Attributes
    ----------
    dim : int
        Dimension d of x.
    batch_size : int
        Mini-batch size B (sampling with replacement).
    affine : AffineGradient or None
        Set when the stochastic gradient is affine in x.
    gaussian_noise : bool
        True when ``sample_grad(x, rng) == grad(x) + noise_factor(x) @ z`` with
        z ~ N(0, I_p) drawn as ``rng.standard_normal((n, p))``; then
        :meth:`sample_grad_from_normal` exists and SGD can share Brownian
        increments with its SME (coupling).
    """

    dim: int
    batch_size: int = 1
    affine: AffineGradient | None = None
    gaussian_noise: bool = False
    #: p, the number of columns of ``noise_factor`` (defaults to ``dim``).
    noise_dim: int | None = None

    # -- deterministic part -------------------------------------------------
    def value(self, x):
        """f(x) for x of shape (..., d); returns shape (...)."""
        raise NotImplementedError

    def grad(self, x):
        """grad f(x) for x of shape (..., d); returns shape (..., d)."""
        raise NotImplementedError

    def hessian(self, x):
        """Hessian of f at x of shape (..., d); returns shape (..., d, d)."""
        raise NotImplementedError

    def hvp(self, x, v):
        """Hessian-vector product (grad^2 f(x)) v, shapes (..., d)."""
        return np.einsum("...ij,...j->...i", self.hessian(x), v)

    # -- noise --------------------------------------------------------------
    def noise_cov(self, x):
        """Covariance Sigma(x)/B of the mini-batch gradient, shape (..., d, d)."""
        raise NotImplementedError

    def noise_factor(self, x):
        """A factor L(x) of shape (..., d, p) with L L^T = noise_cov(x)."""
        return symmetric_sqrt_factor(self.noise_cov(x))

    def sample_grad(self, x, rng):
        """Mini-batch stochastic gradients at the rows of x, shape (n, d)."""
        raise NotImplementedError

    def sample_grad_from_normal(self, x, z):
        """For Gaussian-noise objectives: grad(x) + L(x) z with z of shape (n, p)."""
        if not self.gaussian_noise:
            raise TypeError(f"{type(self).__name__} does not have Gaussian gradient noise")
        return self.grad(x) + np.einsum("...ij,...j->...i", self.noise_factor(x), z)

    # -- helpers ------------------------------------------------------------
    def with_batch_size(self, batch_size) -> "StochasticObjective":
        """A copy of this objective with mini-batch size ``batch_size``."""
        batch_size = positive_int(batch_size, "batch_size")
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.batch_size = batch_size
        if self.affine is not None:
            new.affine = self.affine.with_batch_size(batch_size / self.batch_size)
        return new

    def _points(self, x, name="x"):
        """Validate a point or batch of points of dimension ``dim``."""
        x = np.asarray(x, dtype=float)
        if x.ndim == 0 and self.dim == 1:
            x = x.reshape(1)
        if x.shape[-1:] != (self.dim,):
            raise ValueError(f"{name} must have shape (..., {self.dim}), got {x.shape}")
        return x

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim}, batch_size={self.batch_size})"
