"""Itô SDEs dX = b(t, X) dt + sigma(t, X) dW as objects the solvers understand.

Shapes: ``drift(t, x)`` maps ``(n, d)`` to ``(n, d)``; ``diffusion(t, x)``
maps ``(n, d)`` to ``(n, d, m)`` with m = ``noise_dim``. ``t`` is a float.

When the drift is affine in x and sigma sigma^T is quadratic in x, the SDE
carries a :class:`LinearStructure`; its first two moments then solve linear
ODEs (:mod:`smecore.moments`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class LinearStructure:
    """Affine drift and quadratic diffusion covariance, in z = [x; 1].

    Attributes
    ----------
    drift_matrix : callable
        ``t -> F(t)`` of shape (d, d+1): b(t, x) = F(t) z.
    noise_tensor : callable
        ``t -> C(t)`` of shape (d, d+1, d, d+1):
        (sigma sigma^T)(t, x)_ik = sum_jl C_ijkl(t) z_j z_l.
    time_homogeneous : bool
        True when F and C do not depend on t.
    additive : bool
        True when sigma does not depend on x (then X is Gaussian given a
        Gaussian start, and exact sampling applies).
    """

    drift_matrix: Callable
    noise_tensor: Callable
    time_homogeneous: bool = True
    additive: bool = False


class SDE:
    """Base class: an Itô SDE with drift ``b`` and diffusion matrix ``sigma``.

    Subclasses (or :class:`FunctionSDE`) provide ``dim``, ``noise_dim``,
    ``drift`` and ``diffusion``. Optional extras used by solvers:
    ``linear`` (a :class:`LinearStructure`), ``t0`` (start time; default 0).
    """

    dim: int
    noise_dim: int
    linear: LinearStructure | None = None
    name: str = "SDE"

    def drift(self, t, x):
        raise NotImplementedError

    def diffusion(self, t, x):
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, dim={self.dim}, noise_dim={self.noise_dim})"


class FunctionSDE(SDE):
    """An SDE from user callables.

    Parameters
    ----------
    drift, diffusion : callable
        ``drift(t, x) -> (n, d)``, ``diffusion(t, x) -> (n, d, m)``.
    dim, noise_dim : int
    linear : LinearStructure, optional
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> ou = FunctionSDE(lambda t, x: -x, lambda t, x: np.ones(x.shape + (1,)), dim=1, noise_dim=1)
    >>> ou.drift(0.0, np.array([[2.0]]))
    array([[-2.]])
    """

    def __init__(self, drift, diffusion, dim, noise_dim, *, linear=None, name="SDE"):
        if not callable(drift) or not callable(diffusion):
            raise TypeError("drift and diffusion must be callables (t, x) -> array")
        self._drift, self._diffusion = drift, diffusion
        self.dim, self.noise_dim = int(dim), int(noise_dim)
        self.linear = linear
        self.name = name

    def drift(self, t, x):
        return self._drift(t, x)

    def diffusion(self, t, x):
        return self._diffusion(t, x)
