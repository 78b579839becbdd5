"""Itô SDEs dX = b(t, X) dt + sigma(t, X) dW as objects the solvers understand.

Shapes: ``drift(t, x)`` maps ``(n, d)`` to ``(n, d)``; ``diffusion(t, x)``
maps ``(n, d)`` to ``(n, d, m)`` with m = ``noise_dim``. ``t`` is a float.

When the drift is affine in x and sigma sigma^T is quadratic in x, the SDE
carries a :class:`LinearStructure`; its first two moments then solve linear
ODEs (:mod:`smecore.moments`).

:class:`DiagonalNoiseSDE` is the kind with one Brownian motion per coordinate
(sigma diagonal, m = d): its ``diagonal_diffusion`` returns only the diagonal,
shape ``(n, d)``, and with a constant ``scale`` the noise is additive. The
solvers step it in place, tile by tile, and can drive it with random signs
(see :func:`smecore.solvers.solve_sde`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["LinearStructure", "SDE", "FunctionSDE", "DiagonalNoiseSDE"]


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
    #: ``"general"``: ``diffusion`` is the full (n, d, m) matrix; ``"diagonal"``:
    #: see :class:`DiagonalNoiseSDE` (solvers then use a faster path).
    noise_type: str = "general"

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


class DiagonalNoiseSDE(SDE):
    """dX_i = b_i(t, X) dt + s_i(t, X) dW_i: diagonal noise, one Brownian motion per coordinate.

    Give either a constant ``scale`` (additive noise, sigma = diag(scale)) or
    a callable ``diagonal_diffusion(t, x) -> (n, d)``. Subclasses may instead
    override ``drift`` (and :meth:`diagonal_diffusion`); module-level
    subclasses pickle, which a process pool needs.

    ``diffusion`` still returns the full ``(n, d, d)`` matrix, so every
    consumer of :class:`SDE` works unchanged; the solvers recognise
    ``noise_type == "diagonal"`` and never build it.

    Parameters
    ----------
    drift : callable, optional
        ``drift(t, x) -> (n, d)``; required unless a subclass overrides ``drift``.
    dim : int
        Dimension d (= noise dimension).
    scale : float or array_like of shape (d,), optional
        Constant diagonal of sigma (additive noise).
    diagonal_diffusion : callable, optional
        ``(t, x) -> (n, d)``, the state-dependent diagonal of sigma.
    linear : LinearStructure, optional
    name : str, optional

    Attributes
    ----------
    scale : ndarray of shape (d,) or None
        The constant diagonal for additive noise, else ``None``.

    Examples
    --------
    >>> import numpy as np
    >>> ou = DiagonalNoiseSDE(lambda t, x: -x, dim=2, scale=0.5)
    >>> ou.diagonal_diffusion(0.0, np.zeros((1, 2)))
    array([[0.5, 0.5]])
    >>> ou.diffusion(0.0, np.zeros((1, 2)))[0]
    array([[0.5, 0. ],
           [0. , 0.5]])
    """

    noise_type = "diagonal"

    def __init__(self, drift=None, dim=None, *, scale=None, diagonal_diffusion=None,
                 linear=None, name="DiagonalNoiseSDE"):
        if dim is None:
            raise TypeError("dim is required")
        if isinstance(dim, bool) or int(dim) != dim or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        self.dim = self.noise_dim = int(dim)
        if drift is not None and not callable(drift):
            raise TypeError("drift must be a callable (t, x) -> (n, d)")
        if drift is None and type(self).drift is DiagonalNoiseSDE.drift:
            raise TypeError("give a drift callable or override drift in a subclass")
        self._drift = drift
        if (scale is None) == (diagonal_diffusion is None) and \
                type(self).diagonal_diffusion is DiagonalNoiseSDE.diagonal_diffusion:
            raise TypeError("give exactly one of scale (additive noise) and diagonal_diffusion")
        if diagonal_diffusion is not None and not callable(diagonal_diffusion):
            raise TypeError("diagonal_diffusion must be a callable (t, x) -> (n, d)")
        self._diagonal_diffusion = diagonal_diffusion
        self.scale = None
        if scale is not None:
            arr = np.broadcast_to(np.asarray(scale, dtype=float), (self.dim,)).copy()
            if not np.all(np.isfinite(arr)):
                raise ValueError("scale must be finite")
            self.scale = arr
        self.linear = linear
        self.name = name

    @property
    def additive(self) -> bool:
        """True when sigma is the constant ``diag(scale)``."""
        return self.scale is not None

    def drift(self, t, x):
        return self._drift(t, x)

    def diagonal_diffusion(self, t, x):
        """The diagonal of sigma(t, x), shape (n, d)."""
        if self._diagonal_diffusion is not None:
            return self._diagonal_diffusion(t, x)
        return np.broadcast_to(self.scale, np.shape(x)).copy()

    def diffusion(self, t, x):
        diag = np.asarray(self.diagonal_diffusion(t, x), dtype=float)
        full = np.zeros(diag.shape + (self.dim,))
        idx = np.arange(self.dim)
        full[..., idx, idx] = diag
        return full
