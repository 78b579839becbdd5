"""Weak errors and fitted orders: exact weak orders of the SMEs, and fit_order's intervals."""

import numpy as np
import pytest

from smecore.estimation import (
    MCEstimate,
    OrderFit,
    WeakError,
    asymptotic_slopes,
    fit_order,
    weak_error,
)
from smecore.moments import sde_moments, sgd_moments
from smecore.problems import AffineGradient, GaussianQuadratic, StochasticObjective
from smecore.problems.base import symmetric_sqrt_factor
from smecore.sme import FunctionSDE, LinearStructure

LRS = 2.0 ** -np.arange(1, 9)
ASYMPTOTIC = slice(3, None)  # lr = 2^-4 .. 2^-8
HORIZON = 2.0
X0 = np.array([2.0, 1.0])


class Multiplicative(StochasticObjective):
    """f_gamma = 1/2 x^T (D + diag gamma) x, gamma ~ N(0, I): Sigma(x) = diag(x^2)."""

    def __init__(self, diag):
        diag = np.asarray(diag, dtype=float)
        self.diag, self.dim, self.batch_size = diag, diag.size, 1
        d = self.dim
        cov = np.zeros((d, d + 1, d, d + 1))
        for i in range(d):
            cov[i, i, i, i] = 1.0
        self.affine = AffineGradient(np.concatenate([np.diag(diag), np.zeros((d, 1))], axis=1), cov)

    def value(self, x):
        return 0.5 * np.sum(self.diag * np.asarray(x) ** 2, axis=-1)


def sme_of(problem, lr, order):
    """SME-1 / SME-2 of an affine problem with symmetric Hessian A (Li, Tai & E 2019, orders 1 and 2).

    Drift -(A + lr/2 A^2) x - (I + lr/2 A) b for order 2 (= -grad(f + lr/4 |grad f|^2)),
    diffusion covariance lr Sigma(x).
    """
    A, b = problem.affine.hessian, problem.affine.offset
    d = A.shape[0]
    M = np.eye(d) + 0.5 * lr * A if order == 2 else np.eye(d)
    F = -M @ problem.affine.mean
    C = lr * problem.affine.cov

    def drift(t, x):
        return x @ (F[:, :d]).T + F[:, d]

    def diffusion(t, x):
        return symmetric_sqrt_factor(lr * problem.affine.noise_cov_at(x))

    return FunctionSDE(drift, diffusion, d, d, linear=LinearStructure(lambda t: F, lambda t: C))


def weak_errors(problem, x0, order, observable):
    errors = []
    for lr in LRS:
        n = int(round(HORIZON / lr))
        sgd = sgd_moments(problem, lr, x0, n)
        sme = sde_moments(sme_of(problem, lr, order), x0, sgd.times)
        if observable == "f":
            errors.append(weak_error(sgd.expect_value(problem), sme.expect_value(problem)).value)
        else:
            errors.append(weak_error(sgd.position_mean, sme.position_mean).value)
    return np.array(errors)


GAUSSIAN = GaussianQuadratic(np.array([[1.0, 0.3], [0.3, 2.0]]))
MULTIPLICATIVE = Multiplicative([0.5, 1.5])


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("observable", ["f", "x"])
@pytest.mark.parametrize("problem", [GAUSSIAN, MULTIPLICATIVE], ids=["gaussian", "multiplicative"])
def test_sme_weak_order(problem, observable, order):
    # For g = f the O(lr) error of SME-1 comes from the mean (prop. to x0^2) and competes with an
    # O(lr^2) variance error of opposite sign; a start well away from the noise level (|x0|^2 >>
    # lr) keeps lr = 2^-4 .. 2^-8 asymptotic. With x0 = (1, -0.5) the fitted slope there is ~0.8.
    errors = weak_errors(problem, X0, order, observable)
    fit = fit_order(LRS[ASYMPTOTIC], errors[ASYMPTOTIC])
    assert order - 0.1 <= fit.order <= order + 0.1, (fit, asymptotic_slopes(LRS, errors))
    slopes = asymptotic_slopes(LRS, errors)
    assert abs(slopes[-1] - order) < 0.05


@pytest.mark.parametrize("order", [1, 2])
def test_zero_start_shows_order_two_for_both_smes(order):
    """With x0 = 0 only the variance differs, at O(lr^2): both SMEs look like order 2 (SGD chapter)."""
    errors = weak_errors(GAUSSIAN, np.zeros(2), order, "f")
    fit = fit_order(LRS[ASYMPTOTIC], errors[ASYMPTOTIC])
    assert 1.9 <= fit.order <= 2.1


# ---------------------------------------------------------------------------
# weak_error
# ---------------------------------------------------------------------------


def test_weak_error_exact_max_and_final():
    a = np.array([1.0, 0.5, 0.3])
    b = np.array([1.0, 0.7, 0.25])
    assert weak_error(a, b) == WeakError(pytest.approx(0.2), 0.0)
    assert weak_error(a, b, over="final").value == pytest.approx(0.05)
    # further axes (coordinates) are maximised over too
    assert weak_error(np.stack([a, -a], 1), np.stack([b, b], 1)).value == pytest.approx(2.0)


def test_weak_error_stderr_cases():
    a = MCEstimate(np.array([1.0, 0.5, 0.3]), np.array([0.0, 0.03, 0.01]), 100)
    b = MCEstimate(np.array([1.0, 0.7, 0.25]), np.array([0.0, 0.04, 0.02]), 100)
    err = weak_error(a, b)
    assert err.value == pytest.approx(0.2) and err.stderr == pytest.approx(0.05)
    err = weak_error(a, np.array([1.0, 0.7, 0.25]))
    assert err.stderr == pytest.approx(0.03)
    diff = MCEstimate(np.array([0.0, -0.02, 0.01]), np.array([0.0, 0.004, 0.003]), 100)
    assert weak_error(diff) == WeakError(pytest.approx(0.02), pytest.approx(0.004))
    assert weak_error(diff, over="final") == WeakError(pytest.approx(0.01), pytest.approx(0.003))


def test_weak_error_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        weak_error([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="over"):
        weak_error([1.0], [1.0], over="mean")
    with pytest.raises(ValueError, match="finite"):
        weak_error([np.nan], [1.0])
    with pytest.raises(ValueError, match="at least one"):
        weak_error([], [])


# ---------------------------------------------------------------------------
# fit_order and asymptotic_slopes
# ---------------------------------------------------------------------------


def test_fit_order_exact_line_is_tight():
    h = 2.0 ** -np.arange(1, 8)
    fit = fit_order(h, 0.3 * h**1.5)
    assert isinstance(fit, OrderFit) and fit.n == 7
    assert fit.order == pytest.approx(1.5, abs=1e-12)
    assert fit.interval[1] - fit.interval[0] < 1e-10
    assert fit.intercept == pytest.approx(np.log(0.3), abs=1e-12)
    assert fit.residual_std < 1e-12
    assert fit.covers(1.5)


def test_fit_order_two_points():
    fit = fit_order([0.1, 0.05], [0.02, 0.005])
    assert fit.order == pytest.approx(2.0) and fit.residual_std == 0.0
    assert fit.interval == pytest.approx((2.0, 2.0))
    fit = fit_order([0.1, 0.05], [0.02, 0.005], [0.001, 0.0005])
    assert fit.interval[0] < 2.0 < fit.interval[1]


def test_fit_order_curvature_widens_interval():
    h = 2.0 ** -np.arange(1, 7)
    fit = fit_order(h, h + 2 * h**2)
    assert fit.interval[1] - fit.interval[0] > 0.01
    assert fit.interval[0] < fit.order < fit.interval[1]


def test_fit_order_weighted_and_mc_interval():
    h = 2.0 ** -np.arange(1, 7)
    e = 2 * h**2
    se = 0.02 * e
    fit = fit_order(h, e, se)
    # perfect line: only the Monte Carlo part remains; slope = sum c_i log e_i with
    # Var = sum c_i^2 (0.02)^2 for the equal relative errors of this example
    x = np.log(h)
    c = (x - x.mean()) / np.sum((x - x.mean()) ** 2)
    half = 1.959963984540054 * 0.02 * np.sqrt(np.sum(c**2))
    assert fit.interval == pytest.approx((2 - half, 2 + half), rel=1e-9)


def test_fit_order_warns_when_noise_dominates():
    with pytest.warns(UserWarning, match="unreliable"):
        fit_order([0.1, 0.05, 0.025], [1.0, 0.5, 0.25], [0.1, 0.1, 0.2])


@pytest.mark.parametrize(
    "args,kwargs,match",
    [
        (([0.1], [0.1]), {}, "at least 2"),
        (([0.1, 0.05], [0.1]), {}, "same length"),
        (([0.1, -0.05], [0.1, 0.2]), {}, "step_sizes"),
        (([0.1, 0.05], [0.1, 0.0]), {}, "errors"),
        (([0.1, 0.1], [0.1, 0.2]), {}, "distinct"),
        (([0.1, 0.05], [0.1, 0.2], [0.1]), {}, "stderr"),
        (([0.1, 0.05], [0.1, 0.2], [0.1, -0.1]), {}, "stderr"),
        (([0.1, 0.05], [0.1, 0.2]), {"level": 1.5}, "level"),
        (([0.1, 0.05], [0.1, np.nan]), {}, "errors"),
    ],
)
def test_fit_order_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_order(*args, **kwargs)


def test_asymptotic_slopes():
    h = 2.0 ** -np.arange(1, 6)
    np.testing.assert_allclose(asymptotic_slopes(h, 5 * h**2), np.full(4, 2.0), rtol=1e-13)
    with pytest.raises(ValueError, match="at least 2"):
        asymptotic_slopes([0.1], [0.2])
    with pytest.raises(ValueError, match="differ"):
        asymptotic_slopes([0.1, 0.1, 0.05], [0.2, 0.3, 0.1])


def synthetic_fit(seed):
    """Noisy errors C h^p (1 + small curvature) with known Monte Carlo stderr."""
    rng = np.random.default_rng(seed)
    h = 2.0 ** -np.arange(2, 9)
    truth = 0.7 * h**1.0
    se = 0.05 * truth
    errors = truth + se * rng.standard_normal(h.size)
    return fit_order(h, errors, se)


def test_fit_order_single_seed_recovers_slope():
    fit = synthetic_fit(123)
    assert abs(fit.order - 1.0) < 0.1


@pytest.mark.slow
def test_fit_order_interval_coverage_over_seeds():
    covered = sum(synthetic_fit(seed).covers(1.0) for seed in range(20))
    assert covered >= 19
