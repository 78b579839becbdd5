"""A one-step method that is not SGD: x_{k+1} = x_k + lr h(x_k, gamma_k), h affine in x.

Theorem 3 of Li, Tai & E (2019) compares the one-step moments of *any* one-step
method with those of a diffusion; SGD, with h = -grad f_gamma, is one case.
:class:`AffineStochasticField` is another: the increment field

    h(x, s) = (B + sum_j s_j U_j) x + c + sum_j s_j v_j,

with independent random signs s_j = +-1, need not be minus a gradient (B is
any square matrix: a rotation plus a contraction has no potential), and its
noise depends on the state. It is written in the interface of a stochastic
objective, with the *pseudo-gradient* g(x, s) = -h(x, s) in the place of the
stochastic gradient, so that the SGD update x - lr g runs the method
(``smecore.SGD``), the exact moment recursion applies (``affine``), and the
SME built by moment matching (:func:`smecore.sme.moment_matched_sme`) can be
compared with it. There is no objective: :meth:`value` raises.
"""

from __future__ import annotations

import numpy as np

from .._validation import finite_array, positive_int
from .base import AffineGradient, StochasticObjective

__all__ = ["AffineStochasticField"]


class AffineStochasticField(StochasticObjective):
    """The one-step method x + lr h(x, s), h(x, s) = (B + sum_j s_j U_j) x + c + sum_j s_j v_j.

    The signs s_j (j = 1..p) are independent, +-1 with probability 1/2; a
    mini-batch of size B averages B independent draws of the increment field.
    The mean field is m(x) = E h = B x + c, the covariance of h is
    S(x) = L(x) L(x)^T / B with columns L_j(x) = U_j x + v_j.

    In the interface of :class:`~smecore.problems.StochasticObjective` the
    "gradient" is the pseudo-gradient -m(x), its "Hessian" the Jacobian -B
    (not symmetric in general), and ``noise_cov`` is S(x).

    Parameters
    ----------
    B : array_like, shape (d, d)
        Linear part of the mean field (any real matrix).
    c : array_like, shape (d,), optional
        Constant part of the mean field (default 0).
    U : array_like, shape (p, d, d), optional
        Multiplicative noise matrices (default 0).
    v : array_like, shape (p, d), optional
        Additive noise vectors (default 0). At least one of ``U``, ``v``.
    batch_size : int, default 1

    Raises
    ------
    ValueError
        On shapes that do not fit together or non-finite entries.

    Examples
    --------
    A rotation plus contraction with additive noise along the first axis:

    >>> field = AffineStochasticField([[-1.0, -2.0], [2.0, -1.0]], v=[[0.5, 0.0]])
    >>> field.grad([1.0, 0.0])            # -m(x) = -(B x)
    array([ 1., -2.])
    >>> field.noise_cov([0.0, 0.0])
    array([[0.25, 0.  ],
           [0.  , 0.  ]])
    >>> import numpy as np
    >>> g = field.sample_grad(np.zeros((3, 2)), np.random.default_rng(0))
    >>> sorted({float(v) for v in g[:, 0]})  # -h = -(+-0.5)
    [-0.5, 0.5]
    """

    gaussian_noise = False

    def __init__(self, B, c=None, U=None, v=None, batch_size=1):
        B = finite_array(B, "B", ndim=2)
        d = B.shape[0]
        if B.shape != (d, d):
            raise ValueError(f"B must be square, got shape {B.shape}")
        c = np.zeros(d) if c is None else finite_array(c, "c", shape=(d,))
        if U is None and v is None:
            raise ValueError("give at least one of U (multiplicative noise) and v (additive noise)")
        if U is not None:
            U = finite_array(U, "U", ndim=3)
            if U.shape[1:] != (d, d):
                raise ValueError(f"U must have shape (p, {d}, {d}), got {U.shape}")
        if v is not None:
            v = finite_array(v, "v", ndim=2)
            if v.shape[1] != d:
                raise ValueError(f"v must have shape (p, {d}), got {v.shape}")
        p = (U if U is not None else v).shape[0]
        U = np.zeros((p, d, d)) if U is None else U
        v = np.zeros((p, d)) if v is None else v
        if U.shape[0] != v.shape[0]:
            raise ValueError(f"U and v must have the same number p of noise terms, got "
                             f"{U.shape[0]} and {v.shape[0]}")
        self.B, self.c, self.U, self.v = B, c, U, v
        self.dim, self.noise_dim = d, p
        self.batch_size = positive_int(batch_size, "batch_size")
        # W_j = [U_j, v_j]: the random part of the pseudo-gradient is -sum_j s_j W_j [x; 1].
        W = np.concatenate([U, v[:, :, None]], axis=2)  # (p, d, d+1)
        mean = -np.concatenate([B, c[:, None]], axis=1)
        cov = np.einsum("jia,jkb->iakb", W, W) / self.batch_size
        self.affine = AffineGradient(mean, cov)

    def mean_field(self, x):
        """m(x) = E h(x, s) = B x + c, shape (..., d)."""
        return self._points(x) @ self.B.T + self.c

    def value(self, x):
        """There is no objective: a vector field with B != B^T has no potential."""
        raise NotImplementedError("an AffineStochasticField is a one-step method, not an objective: "
                                  "it has no value f(x)")

    def grad(self, x):
        """The pseudo-gradient -m(x) = -(B x + c)."""
        return -self.mean_field(x)

    def hessian(self, x):
        """The Jacobian of the pseudo-gradient, -B (not symmetric in general)."""
        x = self._points(x)
        return np.broadcast_to(-self.B, x.shape[:-1] + self.B.shape).copy()

    def noise_factor(self, x):
        """L(x) / sqrt(batch), columns L_j(x) = U_j x + v_j; shape (..., d, p)."""
        x = self._points(x)
        cols = np.einsum("jik,...k->...ij", self.U, x) + self.v.T
        return cols / np.sqrt(self.batch_size)

    def noise_cov(self, x):
        """S(x) = L(x) L(x)^T / batch, the covariance of h(x, s)."""
        L = self.noise_factor(x)
        return np.einsum("...ij,...kj->...ik", L, L)

    def sample_grad(self, x, rng):
        """-h(x, s) at the rows of x, s drawn as random signs (mean of a batch)."""
        x = self._points(x)
        if x.ndim != 2:
            raise ValueError(f"x must have shape (n, {self.dim}), got {x.shape}")
        n, b, p = x.shape[0], self.batch_size, self.noise_dim
        signs = np.where(rng.random((n, b * p)) < 0.5, -1.0, 1.0).reshape(n, b, p).mean(axis=1)
        L = self.noise_factor(x) * np.sqrt(self.batch_size)  # (n, d, p), unscaled columns
        return -(self.mean_field(x) + np.einsum("nij,nj->ni", L, signs))

    def __repr__(self) -> str:
        return f"AffineStochasticField(dim={self.dim}, noise_dim={self.noise_dim}, " \
               f"batch_size={self.batch_size})"
