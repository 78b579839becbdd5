"""Property tests of the public API's input validation (hypothesis).

Random shapes, dtypes, NaN and inf positions, zero and negative sizes: every call either
returns finite numbers or raises ``ValueError`` / ``TypeError`` from smecore's own checks,
naming the argument; never a NaN result, never an exception raised inside numpy or scipy.
"""

from __future__ import annotations

import math
import os
import traceback

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import smecore as sc
from smecore import closed_forms as cf
from smecore.book.verdicts import Verdicts

SMECORE = os.path.dirname(sc.__file__)

settings.register_profile("smecore", max_examples=100, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("smecore")


def rejected(call, *names):
    """Run ``call``; return None if it succeeds, else check the error and return it.

    The error must be a ValueError or TypeError raised by smecore (its innermost frame in
    the package, not in numpy), whose message names one of ``names``.
    """
    try:
        result = call()
    except (ValueError, TypeError) as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        assert frames and frames[-1].filename.startswith(SMECORE), \
            f"{type(exc).__name__} raised outside smecore ({frames[-1].filename}): {exc}"
        assert any(name in str(exc) for name in names), f"error does not name {names}: {exc}"
        event(f"rejected: {type(exc).__name__}")
        return exc
    event("accepted")
    return result


# ----------------------------------------------------------------------------- strategies

special = st.sampled_from([np.nan, np.inf, -np.inf])
reals = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                  st.integers(-5, 5), special)
junk = st.one_of(st.none(), st.text(max_size=3), st.booleans(), st.just([1.0, "a"]),
                 st.just(object()), st.just(1j))


def arrays(max_dims=3, max_side=4):
    """Float arrays of random shape (possibly empty), some with NaN or inf entries."""
    return hnp.arrays(
        dtype=st.sampled_from([np.float64, np.float32, np.int64, np.bool_]),
        shape=hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=max_side),
        elements=None, fill=None,
    ).flatmap(lambda a: st.just(a) if a.dtype.kind != "f" or a.size == 0 else
              st.tuples(st.just(a), st.integers(0, a.size - 1), special).map(_poison) | st.just(a))


def ok(valid, bad):
    """Valid values two times in three (so that the success path is exercised too), else bad."""
    return st.sampled_from([True, True, False]).flatmap(lambda good: valid if good else bad)


def vectors(d):
    return hnp.arrays(np.float64, d, elements=st.floats(-3, 3))


def _poison(args):
    a, i, value = args
    a = a.copy()
    a.flat[i] = value
    return a


def _finite(value):
    return np.all(np.isfinite(np.asarray(value, dtype=float)))


# ----------------------------------------------------------------------------- problems

@given(H=st.one_of(arrays(max_dims=3), junk))
def test_gaussian_quadratic_rejects_bad_H_naming_it(H):
    problem = rejected(lambda: sc.GaussianQuadratic(H), "H")
    if not isinstance(problem, Exception):
        assert _finite(problem.H) and np.array_equal(problem.H, problem.H.T)
        assert problem.dim >= 1


@given(D=ok(vectors(2), st.one_of(arrays(max_dims=2), junk)),
       batch=ok(st.integers(1, 4), st.one_of(st.integers(-3, 0), junk)))
def test_multiplicative_quadratic_rejects_bad_input(D, batch):
    problem = rejected(lambda: sc.MultiplicativeQuadratic(D, batch_size=batch), "D", "batch_size")
    if not isinstance(problem, Exception):
        assert _finite(problem.D) and problem.batch_size >= 1


@given(n=ok(st.integers(1, 30), st.one_of(st.integers(-3, 0), junk)),
       d=ok(st.integers(1, 4), st.one_of(st.integers(-3, 0), junk)),
       noise=ok(st.floats(0, 2), reals),
       rng=ok(st.integers(0, 3), st.one_of(st.integers(-3, -1), junk, st.floats(-1, 1))))
def test_make_linear_regression_rejects_bad_sizes_and_rng(n, d, noise, rng):
    problem = rejected(lambda: sc.make_linear_regression(n, d, noise=noise, rng=rng),
                       "n_samples", "dim", "noise", "rng", "A and y")
    if not isinstance(problem, Exception):
        assert problem.dim == d and _finite(problem.x_true)


# ----------------------------------------------------------------------------- simulation

@given(lr=ok(st.floats(0.01, 1.5), reals),
       x0=ok(vectors(2), st.one_of(arrays(max_dims=2, max_side=3), junk)),
       n_steps=ok(st.integers(0, 5), st.one_of(st.integers(-3, -1), junk, st.floats(0, 5))),
       n_paths=ok(st.integers(1, 40), st.one_of(st.integers(-3, 0), junk, st.floats(0, 5))))
def test_run_rejects_bad_arguments_naming_them(lr, x0, n_steps, n_paths):
    problem = sc.GaussianQuadratic([1.0, 0.5])

    def call():
        return sc.run(sc.SGD(lr), problem, x0, n_steps, n_paths=n_paths, rng=0)

    with _no_warning_check():
        stats = rejected(call, "lr", "x0", "n_steps", "n_paths", "SGD")
    if not isinstance(stats, Exception):
        assert _finite(stats["x"].mean)


class _no_warning_check:
    """Allow the n_paths=1 warning (a documented UserWarning)."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", UserWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


@given(lr=ok(st.floats(0.01, 0.9), reals),
       x0=ok(vectors(2), st.one_of(arrays(max_dims=2, max_side=3), junk)),
       n_steps=ok(st.integers(0, 6), st.one_of(st.integers(-3, -1), junk)),
       record=ok(st.none(), st.one_of(st.lists(st.integers(-2, 8), max_size=3), junk)))
def test_exact_moments_reject_bad_arguments(lr, x0, n_steps, record):
    problem = sc.MultiplicativeQuadratic([1.0, 0.5])
    m = rejected(lambda: sc.sgd_moments(problem, lr, x0, n_steps, record=record),
                 "lr", "x0", "n_steps", "record", "diverged", "SGD")
    if not isinstance(m, Exception):
        assert _finite(m.mean) and _finite(m.cov) and np.all(m.position_var >= 0)


# ----------------------------------------------------------------------------- closed forms

@given(lam=reals, lr=reals, k=st.one_of(reals, st.integers(0, 50)),
       noise=st.one_of(st.none(), reals))
def test_closed_form_sgd_variance_is_finite_nonnegative_or_rejected(lam, lr, k, noise):
    with np.errstate(all="ignore"):
        var = rejected(lambda: cf.sgd_quadratic_variance(lam, lr, k, noise_var=noise),
                       "lam", "lr", "k", "noise_var")
    if not isinstance(var, Exception):
        assume(math.isfinite(float(var)))  # overflow of an unstable direction is +inf, not NaN
        assert float(var) >= 0


@given(lam=reals, lr=reals, noise=st.one_of(st.none(), reals))
def test_closed_form_stationary_variance_exists_only_when_stable(lam, lr, noise):
    var = rejected(lambda: cf.sgd_quadratic_stationary_variance(lam, lr, noise_var=noise),
                   "lam", "lr", "noise_var")
    if not isinstance(var, Exception):
        assert 0 < lr * lam < 2 and float(var) >= 0 and math.isfinite(float(var))


@given(lam=ok(st.floats(0.1, 10), reals), lr=ok(st.floats(0.001, 1), reals),
       mu=ok(st.floats(0, 0.99), reals), noise=ok(st.floats(0, 3), reals))
def test_closed_form_momentum_variance_positive_or_rejected(lam, lr, mu, noise):
    with np.errstate(all="ignore"):
        var = rejected(lambda: cf.msgd_stationary_variance(lam, lr, mu, noise),
                       "lam", "lr", "momentum", "noise_var", "heavy ball")
    if not isinstance(var, Exception):
        assume(math.isfinite(float(var)))
        assert float(var) >= 0


@given(lam=reals, lr=reals, t=reals)
def test_closed_form_sme_variances_are_finite_nonnegative_or_rejected(lam, lr, t):
    for f in (cf.sme1_quadratic_variance, cf.sme2_quadratic_variance):
        with np.errstate(all="ignore"):
            var = rejected(lambda: f(lam, lr, t, noise_var=1.0), "lam", "lr", "t")
        if not isinstance(var, Exception):
            assert not math.isnan(float(var)) and float(var) >= 0


# ----------------------------------------------------------------------------- estimation

@given(a=st.one_of(arrays(max_dims=2, max_side=4), junk),
       b=st.one_of(st.none(), arrays(max_dims=2, max_side=4), junk))
def test_weak_error_rejects_bad_arrays_naming_them(a, b):
    err = rejected(lambda: sc.weak_error(a, b), "a", "b")
    if not isinstance(err, Exception):
        assert math.isfinite(err.value) and err.value >= 0


@given(h=ok(st.just(2.0 ** -np.arange(2, 6)), st.one_of(arrays(max_dims=1, max_side=6), junk)),
       e=ok(hnp.arrays(np.float64, 4, elements=st.floats(1e-6, 1.0)),
            st.one_of(arrays(max_dims=1, max_side=6), junk)))
def test_fit_order_rejects_bad_points_naming_them(h, e):
    with np.errstate(all="ignore"):
        fit = rejected(lambda: sc.fit_order(h, e), "step_sizes", "errors", "points", "distinct")
    if not isinstance(fit, Exception):
        assert math.isfinite(fit.order)


# ----------------------------------------------------------------------------- verdicts

@given(value=reals, low=st.one_of(st.none(), reals), high=st.one_of(st.none(), reals),
       resolution=st.one_of(st.none(), reals, junk))
def test_verdict_check_never_prints_a_value_it_cannot_stand_behind(value, low, high, resolution):
    assume(not (low is None and high is None))
    v = Verdicts("prop")
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()) as out:
        passed = rejected(lambda: v.check("S1", "q", value, low, high, method="exact",
                                          kind="numerics", resolution=resolution),
                          "resolution", "low", "high", "value")
    if isinstance(passed, Exception):
        return
    line = out.getvalue().strip()
    assert line.startswith("PASS" if passed else "FAIL")
    if passed:
        assert math.isfinite(float(value))
    if resolution is not None and math.isfinite(float(value)) and abs(float(value)) < resolution:
        assert f": < {resolution:.2g}" in line


@given(lr=ok(st.floats(0.01, 1.0), reals),
       x0=ok(vectors(1), st.one_of(arrays(max_dims=2, max_side=3), junk)),
       n_steps=ok(st.integers(1, 4), st.one_of(st.integers(-2, 0), junk)),
       substeps=ok(st.integers(1, 3), st.one_of(st.integers(-2, 0), junk)),
       n_paths=ok(st.integers(1, 20), st.one_of(st.integers(-2, 0), junk)))
def test_coupled_sgd_sme_rejects_bad_arguments(lr, x0, n_steps, substeps, n_paths):
    problem = sc.GaussianQuadratic([1.0])
    with _no_warning_check():
        stats = rejected(lambda: sc.coupled_sgd_sme(problem, lr, n_steps, x0, substeps=substeps,
                                                    n_paths=n_paths, rng=0),
                         "lr", "x0", "n_steps", "substeps", "n_paths", "unstable", "SGD")
    if not isinstance(stats, Exception):
        assert _finite(stats["diff:x"].mean)
