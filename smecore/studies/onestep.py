"""Weak errors and one-step moments of SGD against its SMEs over learning rates (SGD chapter).

:func:`affine_weak_errors` measures weak errors from exact moments (affine problems),
:func:`backward_weak_errors` from the deterministic backward equations of a 1-D
finite-sum problem (:mod:`smecore.moments.backward`); both compare several SME
variants (orders 1 and 2, without noise, with another correction) in one sweep.
:func:`matched_weak_errors` does the same for a one-step method that is not SGD
and its moment-matched SME. :func:`one_step_mismatches` measures the one-step
moment conditions of Theorem 3 (Lemmas 4 and 5) over learning rates, and
:func:`lemma5_z_scores` checks Lemma 5 against sampled SGD steps.
"""

from __future__ import annotations

import numpy as np

from .._validation import finite_array, positive_float, state_vector, steps_in_horizon
from ..estimation.weak import weak_error
from ..algorithms.methods import SGD
from ..algorithms.simulate import run
from ..moments.backward import sde_expectations, sgd_expectations
from ..moments.onestep import (lemma4_moments, lemma5_moments, sde_one_step_moments,
                               sgd_one_step_moments)
from ..moments.recursions import sgd_moments
from ..moments.sde_moments import sde_moments
from ..sme.equations import sgd_sme
from ..sme.matched import moment_matched_sme

__all__ = ["affine_weak_errors", "backward_weak_errors", "matched_weak_errors",
           "one_step_mismatches", "lemma5_z_scores"]


def _variants(variants) -> dict:
    """name -> keyword arguments of :func:`smecore.sme.sgd_sme` (order, correction, noise, ...)."""
    if not isinstance(variants, dict) or not variants:
        raise TypeError("variants must be a non-empty dict: name -> dict of sgd_sme keyword arguments")
    allowed = {"order", "correction", "noise", "noise_scale", "noise_power", "time_scale"}
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


def matched_weak_errors(method, x0, lrs, T, orders=(1, 2)) -> dict:
    """Exact weak errors of a one-step method against its moment-matched SMEs.

    The method x_{k+1} = x_k + eta h(x_k, gamma_k) (its law with an affine
    pseudo-gradient -h, e.g. :class:`~smecore.problems.AffineStochasticField`)
    is run through the exact moment recursion of SGD, whose update x - eta g
    is the method's when g = -h; the SMEs are
    :func:`smecore.sme.moment_matched_sme` of each order, solved by their exact
    moments. Weak errors max_k ``|E g(x_k) - E g(X_{k eta})|`` for g(x) = ``|x|^2``
    (``"sq"``) and g(x) = x (``"x"``, maximised over the coordinates).

    Parameters
    ----------
    method : StochasticObjective
        With ``method.affine``.
    x0 : array_like, shape (d,)
    lrs : array_like of float
        T / eta must be a whole number for each.
    T : float
    orders : sequence of {1, 2}

    Returns
    -------
    dict
        ``out[order]["sq"]``, ``out[order]["x"]``: one weak error per learning rate.

    Examples
    --------
    >>> from smecore.problems import AffineStochasticField
    >>> field = AffineStochasticField([[-1.0, -2.0], [2.0, -1.0]], v=[[0.5, 0.0]])
    >>> err = matched_weak_errors(field, [1.0, 0.0], [2.0**-6, 2.0**-7], 1.0, orders=(2,))
    >>> bool(3.5 < err[2]["sq"][0] / err[2]["sq"][1] < 4.5)
    True
    """
    lrs = finite_array(lrs, "lrs", ndim=1)
    T = positive_float(T, "T")
    if getattr(method, "affine", None) is None:
        raise TypeError("matched_weak_errors needs a method with an affine law (method.affine)")
    out = {order: {"sq": np.empty(lrs.size), "x": np.empty(lrs.size)} for order in orders}
    for i, lr in enumerate(lrs):
        alg = sgd_moments(method, lr, x0, steps_in_horizon(T, lr))
        alg_sq = np.trace(alg.second, axis1=1, axis2=2)
        for order in orders:
            sme = sde_moments(moment_matched_sme(method, lr, order), x0, alg.times)
            out[order]["sq"][i] = weak_error(alg_sq, np.trace(sme.second, axis1=1, axis2=2)).value
            out[order]["x"][i] = weak_error(alg.mean, sme.mean).value
    return out


def one_step_mismatches(problem, x, lrs, *, domain=None, n_grid=256, orders=(1, 2)) -> dict:
    """The one-step moment conditions of Theorem 3 over learning rates, without sampling.

    At the start point x and for each eta in ``lrs``: SGD's exact one-step
    moments (:func:`smecore.moments.sgd_one_step_moments`) against Lemma 5
    (:func:`smecore.moments.lemma5_moments`), and the one-step moments of the
    SMEs of orders 1 and 2 (:func:`smecore.moments.sde_one_step_moments`: exact
    for affine problems, backward equation on ``domain`` for 1-D ones) against
    Lemma 4 (:func:`smecore.moments.lemma4_moments`) and against SGD.

    Parameters
    ----------
    problem : StochasticObjective
        A finite sum or Gaussian-noise problem; affine, or one-dimensional with
        ``domain``.
    x : array_like, shape (d,)
    lrs : array_like of float
    domain : (float, float), optional
        Required for a 1-D problem without affine gradients.
    n_grid : int, default 256
    orders : sequence of {1, 2}, default (1, 2)
        The SMEs to compare (``()``: SGD against Lemma 5 only).

    Returns
    -------
    dict of ndarray (one entry per learning rate)
        ``"l5"``: largest relative difference of SGD's first two moments from
        Lemma 5; ``"sgd3"``: SGD's third moment (largest entry); for ``sme`` in
        ``"sme1"``, ``"sme2"``: ``sme + "_sgd_mean"``, ``sme + "_sgd_second"``
        (largest entry of the difference from SGD), ``sme + "_l4_mean"``,
        ``sme + "_l4_second"`` (from Lemma 4) and, on the backward route,
        ``sme + "_third"``.

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> one = one_step_mismatches(GaussianQuadratic([1.0]), [1.0], [0.1, 0.05])
    >>> bool(one["l5"].max() < 1e-12)                 # Lemma 5 is exact for SGD
    True
    >>> round(float(one["sme1_sgd_mean"][0] / one["sme1_sgd_mean"][1]), 1)  # O(eta^2)
    3.9
    """
    lrs = finite_array(lrs, "lrs", ndim=1)
    x = state_vector(x, problem.dim, "x")
    rows = []
    for lr in lrs:
        sgd = sgd_one_step_moments(problem, lr, x)
        lemma5 = lemma5_moments(problem, lr, x)
        row = {"l5": max(np.max(np.abs(sgd.mean - lemma5.mean)) / np.max(np.abs(lemma5.mean)),
                         np.max(np.abs(sgd.second - lemma5.second)) / np.max(np.abs(lemma5.second))),
               "sgd3": float(np.max(np.abs(sgd.third)))}
        for order in orders:
            name = f"sme{order}"
            sde = sgd_sme(problem, lr, order=order)
            sme = sde_one_step_moments(sde, x, domain=domain, n_grid=n_grid)
            to_sgd, to_l4 = sme.mismatch(sgd), sme.mismatch(lemma4_moments(sde, x))
            row |= {f"{name}_sgd_mean": to_sgd["mean"], f"{name}_sgd_second": to_sgd["second"],
                    f"{name}_l4_mean": to_l4["mean"], f"{name}_l4_second": to_l4["second"]}
            if sme.third is not None:
                row[f"{name}_third"] = float(np.max(np.abs(sme.third)))
        rows.append(row)
    return {key: np.array([row[key] for row in rows]) for key in rows[0]}


def lemma5_z_scores(problem, lr, x, *, n_paths, rng=None) -> dict:
    """Sampled SGD steps against Lemma 5: z-scores of the first two one-step moments.

    ``n_paths`` independent SGD steps from x (:func:`smecore.algorithms.run`)
    estimate E Delta and E Delta_i Delta_j; each estimate minus Lemma 5's value
    (:func:`smecore.moments.lemma5_moments`), divided by its standard error.

    Parameters
    ----------
    problem : StochasticObjective
    lr : float
    x : array_like, shape (d,)
    n_paths : int
    rng : seed-like, optional

    Returns
    -------
    dict
        ``"mean"``: z-scores of E Delta, shape (d,); ``"second"``: of
        E Delta Delta^T, shape (d, d).

    Examples
    --------
    >>> from smecore.problems import DoubleWell
    >>> z = lemma5_z_scores(DoubleWell(), 0.1, [0.3], n_paths=20_000, rng=1)
    >>> bool(abs(z["mean"][0]) < 4 and abs(z["second"][0, 0]) < 4)
    True
    """
    lr = positive_float(lr, "lr")
    x = state_vector(x, problem.dim, "x")
    d = problem.dim
    stats = run(SGD(lr), problem, x, 1, n_paths=n_paths, rng=rng, record=[1],
                observables={"d": _Increment(x), "dd": _IncrementSquare(x)})
    lemma5 = lemma5_moments(problem, lr, x)
    z_mean = (stats["d"].mean[-1] - lemma5.mean) / stats["d"].stderr[-1]
    z_second = ((stats["dd"].mean[-1] - lemma5.second.ravel()) / stats["dd"].stderr[-1]).reshape(d, d)
    return {"mean": z_mean, "second": z_second}


class _Increment:
    """y -> y - x (picklable)."""

    def __init__(self, x):
        self.x = x

    def __call__(self, y):
        return y - self.x


class _IncrementSquare(_Increment):
    """y -> (y - x)(y - x)^T, flattened (picklable)."""

    def __call__(self, y):
        d = y - self.x
        return (d[:, :, None] * d[:, None, :]).reshape(y.shape[0], -1)
