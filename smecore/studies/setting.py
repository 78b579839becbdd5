"""The constant of a weak approximation, measured over several learning rates (setting chapter).

The definition of an order-alpha weak approximation asks for one constant C,
independent of the learning rate eta, with max_k ``|E g(x_k) - E g(X_{k eta})|`` <= C eta^alpha
on a fixed horizon. One eta tests nothing: any gap is "C eta" for some C. What can be
checked is that C(eta) = gap(eta) / eta^alpha stays bounded as eta shrinks, i.e. that the
gap falls like eta^alpha. :func:`weak_constants` computes the gap exactly for SGD on a
problem with affine gradients (the Gaussian quadratic of Li, Tai & E 2019) against the
SME built by :func:`smecore.sme.sgd_sme`, so an active mutant of that equation
(:mod:`smecore.mutants`) is what is measured when one is active.

It also measures the relative gap of the *fluctuation level* reached at the horizon,
``|E f(x_N) - E f(X_T)|`` / E f(x_N). SGD's level is of order eta (the noise balances the
descent there), so the absolute gap is O(eta) for any equation that ends near the
minimum, even the noise-free gradient flow; the relative gap is O(eta) only when the
SME's noise has the right size, and O(1) without noise or with the noise scaled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import finite_array, positive_float, state_vector
from ..estimation.weak import OrderFit, fit_order
from ..moments.recursions import sgd_moments
from ..moments.sde_moments import sde_moments
from ..sme.equations import sgd_sme

__all__ = ["WeakConstants", "weak_constants"]


@dataclass(frozen=True)
class WeakConstants:
    """Gaps between SGD and its SME over learning rates, and their fitted orders in eta.

    Attributes
    ----------
    lrs : ndarray
        The learning rates, decreasing.
    max_gap : ndarray
        max_k ``|E f(x_k) - E f(X_{k eta})|`` over the horizon, one per learning rate.
    constants : ndarray
        ``max_gap / lrs**order``: the constant C(eta) of the definition.
    level_gap : ndarray
        ``|E f(x_N) - E f(X_{N eta})|`` / E f(x_N) at the horizon.
    gap_order, level_order : OrderFit
        Fitted orders in eta of ``max_gap`` and ``level_gap``.
    """

    lrs: np.ndarray
    max_gap: np.ndarray
    constants: np.ndarray
    level_gap: np.ndarray
    gap_order: OrderFit
    level_order: OrderFit


def weak_constants(problem, x0, lrs, horizon, *, order=1) -> WeakConstants:
    """Exact weak gaps of SGD against its order-``order`` SME, for g = f, over ``lrs``.

    Parameters
    ----------
    problem : StochasticObjective
        With an affine gradient (``problem.affine``), e.g. a GaussianQuadratic.
    x0 : array_like, shape (d,)
        Deterministic start.
    lrs : array_like
        At least two distinct learning rates > 0; each must divide ``horizon`` into a
        whole number of steps (to 1e-9), so that every eta ends at the same time.
    horizon : float
        T > 0.
    order : {1, 2}
        The SME's order (:func:`smecore.sme.sgd_sme`) and the power of eta in C(eta).

    Returns
    -------
    WeakConstants

    Raises
    ------
    ValueError
        If a learning rate is not positive, fewer than two are given, T / eta is not a
        whole number, or ``order`` is not 1 or 2.
    TypeError
        If the problem has no affine gradient.

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> lrs = [0.1, 0.05, 0.025, 0.0125]
    >>> w = weak_constants(GaussianQuadratic([1.0, 0.2]), [1.0, 1.0], lrs, 20.0)
    >>> bool(0.9 < w.gap_order.order < 1.1), bool(0.9 < w.level_order.order < 1.1)
    (True, True)
    >>> [round(float(c), 3) for c in w.constants]
    [0.084, 0.089, 0.091, 0.093]
    """
    if isinstance(order, bool) or order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    horizon = positive_float(horizon, "horizon")
    lrs = np.sort(finite_array(lrs, "lrs", ndim=1))[::-1]
    if lrs.size < 2 or np.unique(lrs).size < 2 or np.any(lrs <= 0):
        raise ValueError(f"lrs must hold at least two distinct positive learning rates, got {lrs}")
    x0 = state_vector(x0, problem.dim)
    max_gap, level_gap = [], []
    for lr in lrs:
        n_steps = round(horizon / lr)
        if abs(n_steps * lr - horizon) > 1e-9 * horizon:
            raise ValueError(f"horizon {horizon:g} is not a whole number of steps of lr {lr:g}")
        sgd = sgd_moments(problem, lr, x0, n_steps).expect_value(problem)
        sme = sde_moments(sgd_sme(problem, lr, order), x0, lr * np.arange(n_steps + 1))
        sme = sme.expect_value(problem)
        max_gap.append(np.max(np.abs(sgd - sme)))
        level_gap.append(abs(sgd[-1] - sme[-1]) / abs(sgd[-1]))
    max_gap, level_gap = np.array(max_gap), np.array(level_gap)
    return WeakConstants(lrs, max_gap, max_gap / lrs**order, level_gap,
                         fit_order(lrs, max_gap), fit_order(lrs, level_gap))
