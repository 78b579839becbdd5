"""Diagonal-noise SDEs with coordinatewise polynomial drift: the kind a fused kernel compiles.

dX_i = p_i(X_i) dt + (s0_i + s1_i X_i) dW_i, with p_i(x) = sum_r c[r, i] x^r and
time-independent coefficients. This covers the Ornstein-Uhlenbeck process
(c = [0, -lam]), geometric Brownian motion (s0 = 0) and the double-well SME of
the benchmark W1 (c = [0, 1, 0, -1]). The coefficients are data, not code, so
:mod:`smecore.solvers.kernels` can run such an SDE in compiled code; every other
solver sees an ordinary :class:`~smecore.sme.DiagonalNoiseSDE`.
"""

from __future__ import annotations

import numpy as np

from .._validation import finite_array
from .sde import DiagonalNoiseSDE

__all__ = ["PolynomialDiagonalSDE"]


class PolynomialDiagonalSDE(DiagonalNoiseSDE):
    """dX_i = sum_r c[r, i] X_i^r dt + (s0_i + s1_i X_i) dW_i (Itô, diagonal noise).

    Parameters
    ----------
    coefficients : array_like, shape (R + 1,) or (R + 1, dim)
        Drift polynomial coefficients, lowest degree first (one column per
        coordinate, or shared).
    dim : int
        Dimension.
    scale : float or array_like of shape (dim,)
        s0, the constant part of the noise.
    noise_slope : float or array_like of shape (dim,), optional
        s1; zero (the default) means additive noise.
    name : str, optional

    Raises
    ------
    ValueError
        If the coefficients are not finite or have the wrong shape.

    Examples
    --------
    >>> ou = PolynomialDiagonalSDE([0.0, -1.0], dim=2, scale=0.5)
    >>> ou.drift(0.0, np.array([[1.0, 2.0]]))
    array([[-1., -2.]])
    >>> ou.additive
    True
    """

    def __init__(self, coefficients, dim, *, scale, noise_slope=0.0, name="polynomial SDE"):
        c = finite_array(coefficients, "coefficients")
        if c.ndim not in (1, 2) or c.shape[0] < 1:
            raise ValueError(f"coefficients must have shape (R + 1,) or (R + 1, dim), got {c.shape}")
        super().__init__(dim=dim, scale=scale, name=name)
        if c.ndim == 1:
            c = np.repeat(c[:, None], self.dim, axis=1)
        if c.shape[1] != self.dim:
            raise ValueError(f"coefficients must have {self.dim} columns, got {c.shape[1]}")
        self.coefficients = np.ascontiguousarray(c)
        slope = finite_array(noise_slope, "noise_slope")
        self.noise_slope = np.broadcast_to(slope, (self.dim,)).astype(float).copy()
        self.noise_offset = self.scale
        if np.any(self.noise_slope != 0):
            self.scale = None  # multiplicative noise: solvers call diagonal_diffusion

    def drift(self, t, x):
        """Horner's rule, highest degree first (the fused kernel rounds the same way)."""
        c = self.coefficients
        b = np.broadcast_to(c[-1], np.shape(x)).copy()
        for r in range(c.shape[0] - 2, -1, -1):
            b *= x
            b += c[r]
        return b

    def diagonal_diffusion(self, t, x):
        if self.scale is not None:
            return np.broadcast_to(self.scale, np.shape(x)).copy()
        return self.noise_offset + self.noise_slope * x
