"""Weak errors and fitted orders of convergence, with their uncertainty.

A weak error is max_k ``|E g(x_k) - E g(X_{k eta})|`` (or its value at the final
time). The expectations come either exactly (:mod:`smecore.moments`) or from
Monte Carlo (:class:`~smecore.estimation.MCEstimate`), in which case the error
carries a standard error. :func:`fit_order` fits log(error) = p log(step) + c
and reports p with a confidence interval that accounts for both the scatter
about the line and the Monte Carlo uncertainty (a Monte
Carlo slope without its interval is not evidence).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.stats

from .._validation import finite_array, one_of
from .montecarlo import MCEstimate

__all__ = ["WeakError", "OrderFit", "weak_error", "fit_order", "asymptotic_slopes", "settling_step"]


@dataclass(frozen=True)
class WeakError:
    """A weak error and its Monte Carlo standard error (0 for exact expectations).

    Attributes
    ----------
    value : float
        ``|E g(x_k) - E g(X_{k eta})|``, maximised over records (``over="max"``) or at
        the final record.
    stderr : float
        Standard error of ``value`` (at the maximising record).
    """

    value: float
    stderr: float


@dataclass(frozen=True)
class OrderFit:
    """A fitted convergence order error ~ C step^order.

    Attributes
    ----------
    order : float
        Least-squares slope of log(error) on log(step).
    interval : tuple of float
        (lo, hi) confidence interval for the order.
    intercept : float
        log C.
    residual_std : float
        Root-mean-square residual of log(error) about the line, with n - 2
        degrees of freedom (0 for two points).
    n : int
        Number of points.
    """

    order: float
    interval: tuple
    intercept: float
    residual_std: float
    n: int

    def covers(self, value) -> bool:
        """Whether ``value`` lies in the confidence interval."""
        return bool(self.interval[0] <= value <= self.interval[1])


def _expectation(value, name):
    """Mean and stderr arrays of an exact array or an MCEstimate."""
    if isinstance(value, MCEstimate):
        mean = finite_array(value.mean, f"{name}.mean")
        stderr = finite_array(value.stderr, f"{name}.stderr")
        return mean, np.broadcast_to(stderr, mean.shape)
    mean = finite_array(value, name)
    return mean, np.zeros_like(mean)


def weak_error(a, b=None, *, over="max") -> WeakError:
    """``|E g(x_k) - E g(X_{k eta})|`` over the records, with its standard error.

    Parameters
    ----------
    a : array_like or MCEstimate
        Expectations of the algorithm, shape (n_rec, ...) (the first axis runs
        over records; further axes, e.g. coordinates, are maximised over too).
        If ``b`` is None, ``a`` is an estimate of per-path differences
        g(x_k) - g(X_{k eta}) (coupled simulation).
    b : array_like or MCEstimate, optional
        Expectations of the SDE at the same records.
    over : {"max", "final"}
        Maximum over all records (the paper's definition) or the last record only.

    Returns
    -------
    WeakError
        ``stderr`` is sqrt(se_a^2 + se_b^2) at the maximising entry (independent
        estimates); 0 when both are exact.

    Notes
    -----
    With Monte Carlo input the maximum of ``|difference|`` is biased upwards by
    roughly the standard error when the error is comparable to it; make the
    standard error small relative to the error.

    Examples
    --------
    >>> weak_error([1.0, 0.5, 0.25], [1.0, 0.6, 0.3])
    WeakError(value=0.1, stderr=0.0)
    >>> from smecore.estimation.montecarlo import MCEstimate
    >>> import numpy as np
    >>> d = MCEstimate(np.array([0.0, 0.02, 0.03]), np.array([0.0, 0.001, 0.002]), 1000)
    >>> weak_error(d, over="final")
    WeakError(value=0.03, stderr=0.002)
    """
    one_of(over, "over", {"max", "final"})
    mean_a, se_a = _expectation(a, "a")
    if b is None:
        diff, se = mean_a, se_a
    else:
        mean_b, se_b = _expectation(b, "b")
        if mean_a.shape != mean_b.shape:
            hint = ""
            if mean_a.ndim and mean_b.ndim and mean_a.shape[1:] == mean_b.shape[1:]:
                hint = (f"; they hold {mean_a.shape[0]} and {mean_b.shape[0]} records: record both "
                        "at the same times (an SDE solved with m substeps per learning-rate "
                        "step must record every m-th of its steps, e.g. record=np.arange(n + 1) "
                        "* m)")
            raise ValueError(f"a and b must have the same shape, got {mean_a.shape} and "
                             f"{mean_b.shape}{hint}")
        diff, se = mean_a - mean_b, np.sqrt(se_a**2 + se_b**2)
    if diff.size == 0:
        raise ValueError("a must contain at least one record")
    if diff.ndim == 0:
        diff, se = diff.reshape(1), se.reshape(1)
    if over == "final":
        diff, se = diff[-1:], se[-1:]
    flat = np.abs(diff).ravel()
    i = int(np.argmax(flat))
    return WeakError(float(flat[i]), float(se.ravel()[i]))


def _fit_inputs(step_sizes, errors, stderr):
    h = finite_array(step_sizes, "step_sizes", ndim=1)
    e = finite_array(errors, "errors", ndim=1)
    if h.shape != e.shape:
        raise ValueError(f"step_sizes and errors must have the same length, got {h.size} and {e.size}")
    if h.size < 2:
        raise ValueError(f"need at least 2 points to fit an order, got {h.size}")
    if np.any(h <= 0):
        raise ValueError("step_sizes must be > 0")
    if np.any(e <= 0):
        raise ValueError(
            "errors must be > 0 (a zero or negative error has no logarithm; with Monte Carlo "
            "errors, increase the number of paths or drop the points lost in the noise)"
        )
    if np.unique(h).size < 2:
        raise ValueError("step_sizes must contain at least 2 distinct values")
    if stderr is None:
        return h, e, np.zeros_like(e)
    se = finite_array(stderr, "stderr", ndim=1)
    if se.shape != e.shape:
        raise ValueError(f"stderr must have the same length as errors ({e.size}), got {se.size}")
    if np.any(se < 0):
        raise ValueError("stderr must be >= 0")
    return h, e, se


def fit_order(step_sizes, errors, stderr=None, *, level=0.95) -> OrderFit:
    """Fit error ~ C step^p by least squares on log-log scale, with a confidence interval.

    Parameters
    ----------
    step_sizes : array_like, shape (n,)
        Learning rates (or step sizes), > 0, at least 2 distinct.
    errors : array_like, shape (n,)
        Weak errors, > 0.
    stderr : array_like, shape (n,), optional
        Monte Carlo standard errors of ``errors``. They propagate to log(error)
        by the delta method, s_i = stderr_i / error_i. When all are positive
        the fit is weighted by 1/s_i^2; otherwise it is unweighted.
    level : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    OrderFit

    Notes
    -----
    The half-width of the interval combines in quadrature

    * the regression t-interval, t_{n-2} times the residual-based standard
      error of the slope (absent for n = 2: a line through two points has no
      residuals), which covers model error such as higher-order terms, and
    * the Monte Carlo part, z times sqrt(sum_i w_i^2 s_i^2) with w the
      slope's linear weights on log(error_i).

    Counting the Monte Carlo scatter in both terms makes the interval
    conservative by at most a factor sqrt(2). For exact errors on a perfect
    line the interval is the point estimate up to rounding.

    Raises
    ------
    ValueError
        On non-positive steps or errors, mismatched lengths, fewer than 2
        points, or a level outside (0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> h = 2.0 ** -np.arange(1, 6)
    >>> fit = fit_order(h, 3 * h**2)
    >>> round(fit.order, 10), [round(v, 8) for v in fit.interval]
    (2.0, [2.0, 2.0])
    """
    h, e, se = _fit_inputs(step_sizes, errors, stderr)
    level = float(level)
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    n = h.size
    x, y = np.log(h), np.log(e)
    s = se / e
    if np.any(s > 0.5):
        warnings.warn(
            "fit_order: some Monte Carlo standard errors exceed half the error; the log-linear "
            "fit (delta method) is unreliable there",
            UserWarning,
            stacklevel=2,
        )
    weights = 1.0 / s**2 if np.all(s > 0) else np.ones(n)
    # Weighted least squares written as slope = sum_i c_i y_i, so that the Monte
    # Carlo variance of the slope is sum_i c_i^2 s_i^2.
    xbar = np.sum(weights * x) / np.sum(weights)
    sxx = np.sum(weights * (x - xbar) ** 2)
    c = weights * (x - xbar) / sxx
    order = float(np.sum(c * y))
    intercept = float(np.sum(weights * y) / np.sum(weights) - order * xbar)
    residuals = y - (intercept + order * x)
    if n > 2:
        scale2 = np.sum(weights * residuals**2) / (n - 2)
        se_regression = np.sqrt(scale2 / sxx)
        # Weighted residuals are in units of s_i; report them in log(error) units.
        residual_std = float(np.sqrt(np.sum(residuals**2) / (n - 2)))
        t = scipy.stats.t.ppf(0.5 + level / 2, n - 2)
    else:
        se_regression, residual_std, t = 0.0, 0.0, 0.0
    se_mc = np.sqrt(np.sum(c**2 * s**2))
    z = scipy.stats.norm.ppf(0.5 + level / 2)
    half = float(np.hypot(t * se_regression, z * se_mc))
    return OrderFit(order, (order - half, order + half), intercept, residual_std, n)


def asymptotic_slopes(step_sizes, errors) -> np.ndarray:
    """Local slopes log(e_{i+1}/e_i) / log(h_{i+1}/h_i) between neighbouring points.

    Plot them against sqrt(h_i h_{i+1}); they settle at the order once the
    leading term dominates.

    Returns
    -------
    ndarray, shape (n - 1,)

    Examples
    --------
    >>> import numpy as np
    >>> h = 2.0 ** -np.arange(1, 5)
    >>> np.round(asymptotic_slopes(h, h + h**2), 4)
    array([1.263 , 1.152 , 1.0825])
    """
    h, e, _ = _fit_inputs(step_sizes, errors, None)
    dx = np.diff(np.log(h))
    if np.any(dx == 0):
        raise ValueError("neighbouring step_sizes must differ")
    return np.diff(np.log(e)) / dx


def settling_step(steps, values, threshold):
    """The first recorded step from which on every value is <= ``threshold``.

    For an oscillating (underdamped) curve this is the time it settles below
    the threshold, not the first crossing.

    Parameters
    ----------
    steps : array_like, shape (n,)
        Recorded steps, increasing.
    values : array_like, shape (n,)
    threshold : float

    Returns
    -------
    float
        The step, or ``inf`` if the last value is above the threshold.

    Examples
    --------
    >>> settling_step([0, 1, 2, 3, 4], [5.0, 0.5, 2.0, 0.5, 0.1], 1.0)
    3.0
    >>> settling_step([0, 1], [5.0, 2.0], 1.0)
    inf
    """
    steps = finite_array(steps, "steps", ndim=1)
    values = finite_array(values, "values", shape=steps.shape)
    above = np.flatnonzero(values > threshold)
    if above.size == 0:
        return float(steps[0])
    if above[-1] == steps.size - 1:
        return float("inf")
    return float(steps[above[-1] + 1])
