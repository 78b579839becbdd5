"""A nonlinear one-dimensional finite sum with state-dependent noise: the double well."""

from __future__ import annotations

import numpy as np

from .._validation import finite_array, positive_int
from .custom import FiniteSumObjective, _check_probs


class DoubleWell(FiniteSumObjective):
    """Double well f(x) = (x^2 - 1)^2 / 4 as a finite sum with state-dependent noise.

    The components are
    f_i(x) = (x^2 - 1)^2 / 4 + s_i x + c_i x^2 / 2 with shifts s_i and
    curvatures c_i whose weighted means vanish, so that f = sum_i p_i f_i is the
    double well itself and the gradient noise
    Sigma(x) = Var_i(s_i + c_i x) = sum_i p_i (s_i + c_i x)^2 depends on x.
    The gradient is not affine, so moments are not closed: this is the
    problem for backward equations and Monte Carlo.

    Parameters
    ----------
    shifts : sequence of float, default (-1, 0, 1)
        s_i; their weighted mean must be 0.
    curvatures : sequence of float, default (0.5, -1, 0.5)
        c_i; their weighted mean must be 0.
    probs : sequence of float, optional
        Probabilities p_i of the components (default uniform).
    batch_size : int, default 1
        Mini-batch size B (sampling with replacement).

    Raises
    ------
    ValueError
        If the lengths differ, ``probs`` is not a probability vector, or a
        weighted mean of ``shifts`` or ``curvatures`` is not 0.

    Examples
    --------
    >>> p = DoubleWell()
    >>> float(p.value([0.0])), p.grad([2.0])
    (0.25, array([6.]))
    >>> p.noise_cov([[0.0], [1.0]])[:, 0, 0].round(6)
    array([0.666667, 1.166667])
    >>> p.component_grads([1.0]).ravel()
    array([-0.5, -1. ,  1.5])
    """

    def __init__(self, shifts=(-1.0, 0.0, 1.0), curvatures=(0.5, -1.0, 0.5), probs=None, batch_size=1):
        shifts = finite_array(shifts, "shifts", ndim=1)
        m = shifts.shape[0]
        if m == 0:
            raise ValueError("shifts must have at least one entry")
        curvatures = finite_array(curvatures, "curvatures", shape=(m,))
        self.probs = _check_probs(probs, m)
        for name, values in [("shifts", shifts), ("curvatures", curvatures)]:
            mean = float(self.probs @ values)
            if abs(mean) > 1e-12 * max(1.0, float(np.max(np.abs(values)))):
                raise ValueError(
                    f"the (probability-weighted) mean of {name} must be 0 so that f is the "
                    f"double well (x^2 - 1)^2 / 4, got {mean!r}"
                )
        self.shifts, self.curvatures = shifts, curvatures
        self.dim = 1
        self.noise_dim = 1
        self.batch_size = positive_int(batch_size, "batch_size")

    @property
    def minimizers(self) -> np.ndarray:
        """The two minima of f, shape (2, 1)."""
        return np.array([[-1.0], [1.0]])

    # The common part (x^2 - 1)^2 / 4 is evaluated once, not per component.
    def value(self, x):
        x = self._points(x)[..., 0]
        return 0.25 * (x**2 - 1.0) ** 2

    def grad(self, x):
        x = self._points(x)
        return x**3 - x

    def hessian(self, x):
        x = self._points(x)
        return (3.0 * x**2 - 1.0)[..., None]

    def noise_cov(self, x):
        x = self._points(x)
        slopes = self.shifts + self.curvatures * x  # (..., m): the random part of g_i
        return (slopes**2 @ self.probs)[..., None, None] / self.batch_size

    def component_values(self, x):
        x = self._points(x)
        return 0.25 * (x**2 - 1.0) ** 2 + self.shifts * x + 0.5 * self.curvatures * x**2

    def component_grads(self, x):
        x = self._points(x)
        return (x**3 - x + self.shifts + self.curvatures * x)[..., None]

    def component_hessians(self, x):
        x = self._points(x)
        return (3.0 * x**2 - 1.0 + self.curvatures)[..., None, None]

    def grads_at_indices(self, x, idx):
        return (x**3 - x + self.shifts[idx] + self.curvatures[idx] * x)[..., None]

    def __repr__(self) -> str:
        return (
            f"DoubleWell(shifts={self.shifts.tolist()}, curvatures={self.curvatures.tolist()}, "
            f"probs={np.round(self.probs, 6).tolist()}, batch_size={self.batch_size})"
        )
