"""Weak errors of SGD against its SME variants over a range of learning rates (SGD chapter).

:func:`affine_weak_errors` measures them from exact moments (affine problems),
:func:`backward_weak_errors` from the deterministic backward equations of a 1-D
finite-sum problem (:mod:`smecore.moments.backward`); both compare several SME
variants (orders 1 and 2, without noise, with another correction) in one sweep.
"""

from __future__ import annotations

import numpy as np

from .._validation import finite_array, positive_float, state_vector, steps_in_horizon
from ..estimation.weak import weak_error
from ..moments.backward import sde_expectations, sgd_expectations
from ..moments.recursions import sgd_moments
from ..moments.sde_moments import sde_moments
from ..sme.equations import sgd_sme

__all__ = ["affine_weak_errors", "backward_weak_errors"]


def _variants(variants) -> dict:
    """name -> keyword arguments of :func:`smecore.sme.sgd_sme` (order, correction, noise)."""
    if not isinstance(variants, dict) or not variants:
        raise TypeError("variants must be a non-empty dict: name -> dict of sgd_sme keyword arguments")
    allowed = {"order", "correction", "noise"}
    for name, kwargs in variants.items():
        if not isinstance(kwargs, dict) or not set(kwargs) <= allowed:
            raise TypeError(f"variants[{name!r}] must be a dict with keys among {sorted(allowed)}")
    return variants


def affine_weak_errors(problem, x0, lrs, T, variants) -> dict:
    """Exact weak errors of SGD against SMEs on a problem with affine gradients.

    For each learning rate eta in ``lrs`` the exact first and second moments of
    SGD (:func:`smecore.moments.sgd_moments`) and of each SME
    (:func:`smecore.moments.sde_moments`) are computed at every step
    k = 0..T/eta, and the weak error max_k ``|E g(x_k) - E g(X_{k eta})|`` is formed
    for g = f (``"f"``) and for g(x) = x (``"x"``, also maximised over the
    coordinates). There is no sampling error; the only error is rounding.

    Parameters
    ----------
    problem : StochasticObjective
        With ``problem.affine`` (Gaussian quadratic, multiplicative quadratic,
        linear regression, :class:`TwoPointQuadratic`).
    x0 : array_like, shape (d,)
    lrs : array_like of float
        Learning rates; T / eta must be a whole number for each.
    T : float
        Horizon.
    variants : dict
        name -> keyword arguments of :func:`smecore.sme.sgd_sme`, e.g.
        ``{"sme1": {"order": 1}, "ode": {"order": 2, "noise": False}}``.

    Returns
    -------
    dict
        ``out[name]["f"]`` and ``out[name]["x"]``: arrays of weak errors, one per
        learning rate.

    Examples
    --------
    On the Gaussian quadratic the order-2 SME gains a factor ~4 per halving of eta:

    >>> from smecore.problems import GaussianQuadratic
    >>> err = affine_weak_errors(GaussianQuadratic([1.0]), [1.0], [0.05, 0.025], 1.0,
    ...                          {"sme2": {"order": 2}})
    >>> round(float(err["sme2"]["x"][0] / err["sme2"]["x"][1]), 1)
    4.0
    """
    variants = _variants(variants)
    lrs = finite_array(lrs, "lrs", ndim=1)
    T = positive_float(T, "T")
    out = {name: {"f": np.empty(lrs.size), "x": np.empty(lrs.size)} for name in variants}
    for i, lr in enumerate(lrs):
        n = steps_in_horizon(T, lr)
        sgd = sgd_moments(problem, lr, x0, n)
        sgd_f = sgd.expect_value(problem)
        for name, kwargs in variants.items():
            sme = sde_moments(sgd_sme(problem, lr, **kwargs), x0, sgd.times)
            out[name]["f"][i] = weak_error(sgd_f, sme.expect_value(problem)).value
            out[name]["x"][i] = weak_error(sgd.mean, sme.mean).value
    return out


def backward_weak_errors(problem, x0, lrs, T, g, variants, *, domain, n_grid=256) -> dict:
    """Weak errors of SGD against SMEs on a 1-D finite sum, from the backward equations.

    E g(x_k) comes from the SGD backward recursion
    (:func:`smecore.moments.sgd_expectations`) and E g(X_t) from the
    Kolmogorov backward equation of each SME
    (:func:`smecore.moments.sde_expectations`), both on ``n_grid``
    Chebyshev points of ``domain``; the weak error is the maximum over
    k = 0..T/eta of the difference, and also returned at every record.

    Parameters
    ----------
    problem : FiniteSumObjective
        One-dimensional (e.g. :class:`~smecore.problems.DoubleWell`).
    x0 : float
        Start point, inside ``domain``.
    lrs : array_like of float
        Learning rates; T / eta must be a whole number for each.
    T : float
    g : callable
        Test function on states of shape (n, 1).
    variants : dict
        name -> keyword arguments of :func:`smecore.sme.sgd_sme`.
    domain : (float, float)
        Must be mapped into itself by the SGD steps (see
        :func:`smecore.moments.sgd_expectations`).
    n_grid : int, default 256

    Returns
    -------
    dict
        ``out[name]``: array of weak errors (one per learning rate);
        ``out["curves"][i]``: dict with ``"t"``, ``"sgd"`` and one entry per
        variant, the expectations at every step for ``lrs[i]``.

    Examples
    --------
    >>> from smecore.problems import DoubleWell
    >>> err = backward_weak_errors(DoubleWell(), 1.5, [0.125, 0.0625], 0.5, lambda y: y[:, 0],
    ...                            {"sme2": {"order": 2}}, domain=(-2, 2), n_grid=64)
    >>> bool(2.0 < err["sme2"][0] / err["sme2"][1] < 6.0)
    True
    """
    variants = _variants(variants)
    lrs = finite_array(lrs, "lrs", ndim=1)
    T = positive_float(T, "T")
    x0 = float(state_vector(x0, 1)[0])
    out = {name: np.empty(lrs.size) for name in variants}
    out["curves"] = []
    for i, lr in enumerate(lrs):
        n = steps_in_horizon(T, lr)
        sgd = sgd_expectations(problem, lr, g, n, domain=domain, n_grid=n_grid).at(x0)
        curves = {"t": np.arange(n + 1) * lr, "sgd": sgd}
        for name, kwargs in variants.items():
            sme = sde_expectations(sgd_sme(problem, lr, **kwargs), g, n * lr, domain=domain,
                                   n_steps=n, n_grid=n_grid).at(x0)
            curves[name] = sme
            out[name][i] = weak_error(sgd, sme).value
        out["curves"].append(curves)
    return out
