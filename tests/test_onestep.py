"""Tests of smecore.moments.onestep: one-step moments (Lemmas 4 and 5) and the SGD chapter's helpers.

Tolerances: identities that hold exactly (Lemma 5 for SGD, closed forms of linear SDEs,
moment formulas of Gaussians) are checked to rounding error; the O(eta^3) remainder of
Lemma 4 by the ratio of remainders at eta and eta/2, which must be 2^3 up to the relative
O(eta) correction; Monte Carlo checks use 4 standard errors.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from smecore import closed_forms as cf
from smecore.moments import (
    OneStepMoments,
    gaussian_expectation,
    lemma4_moments,
    lemma5_moments,
    sde_one_step_moments,
    sgd_one_step_moments,
)
from smecore.problems import (
    DoubleWell,
    FunctionObjective,
    GaussianQuadratic,
    MultiplicativeQuadratic,
    TwoPointQuadratic,
    make_linear_regression,
)
from smecore.problems.custom import FiniteSumObjective
from smecore.sme import FunctionSDE, sgd_sme
from smecore.studies import affine_weak_errors, backward_weak_errors


def _problems():
    reg = make_linear_regression(30, 3, noise=0.3, rng=0)
    return [
        ("double well", DoubleWell(), np.array([0.7])),
        ("double well B=2", DoubleWell(batch_size=2), np.array([-0.4])),
        ("regression", reg, np.array([0.3, -0.2, 0.5])),
        ("regression B=4", reg.with_batch_size(4), np.array([0.3, -0.2, 0.5])),
        ("gaussian quadratic", GaussianQuadratic([[2.0, 0.5], [0.5, 1.0]]), np.array([1.0, -1.0])),
        ("multiplicative", MultiplicativeQuadratic([1.0, 0.3]), np.array([0.5, 2.0])),
        ("two-point", TwoPointQuadratic([1.0, 0.5], batch_size=3), np.array([0.2, 1.0])),
    ]


@pytest.mark.parametrize("name,problem,x", _problems(), ids=[p[0] for p in _problems()])
def test_sgd_one_step_moments_equal_lemma5_exactly(name, problem, x):
    lr = 0.07
    m, l5 = sgd_one_step_moments(problem, lr, x), lemma5_moments(problem, lr, x)
    np.testing.assert_allclose(m.mean, l5.mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(m.second, l5.second, rtol=1e-12, atol=1e-15)
    assert m.third.shape == (x.size,) * 3
    # Third moments scale exactly like lr^3.
    m2 = sgd_one_step_moments(problem, lr / 2, x)
    np.testing.assert_allclose(m2.third * 8, m.third, rtol=1e-12, atol=1e-15)


def test_third_moment_of_a_batch_by_brute_force():
    # Batch of B = 2 indices drawn with replacement from 3 components: 9 equally likely pairs.
    problem = DoubleWell(batch_size=2)
    x, lr = np.array([0.6]), 0.1
    grads = DoubleWell().component_grads(x)[:, 0]
    batches = [-lr * (grads[i] + grads[j]) / 2 for i, j in itertools.product(range(3), repeat=2)]
    m = sgd_one_step_moments(problem, lr, x)
    assert m.mean[0] == pytest.approx(np.mean(batches), rel=1e-13)
    assert m.second[0, 0] == pytest.approx(np.mean(np.square(batches)), rel=1e-13)
    assert m.third[0, 0, 0] == pytest.approx(np.mean(np.power(batches, 3)), rel=1e-12)


def test_gaussian_third_moment():
    # g ~ N(m, s^2) in 1-D: E g^3 = m^3 + 3 m s^2; Delta = -lr g.
    problem, x, lr = GaussianQuadratic([2.0]), np.array([0.5]), 0.3
    m, s2 = 2.0 * 0.5, 4.0
    assert sgd_one_step_moments(problem, lr, x).third[0, 0, 0] == pytest.approx(
        -(lr**3) * (m**3 + 3 * m * s2), rel=1e-13)


def test_sgd_one_step_needs_known_noise_law():
    problem = FunctionObjective(1, value=lambda x: x[:, 0] ** 2, grad=lambda x: 2 * x,
                                sample_grad=lambda x, rng: 2 * x + rng.standard_normal(x.shape))
    with pytest.raises(TypeError, match="finite-sum"):
        sgd_one_step_moments(problem, 0.1, [1.0])


def test_sde_one_step_moments_linear_closed_form():
    # Order-1 SME of the 1-D Gaussian quadratic: OU dX = -lam X dt + sqrt(lr) lam dW.
    lam, lr, x = 1.5, 0.2, 0.8
    m = sde_one_step_moments(sgd_sme(GaussianQuadratic([lam]), lr, order=1), [x])
    mean = cf.sme1_quadratic_mean(lam, x, lr) - x
    var = cf.sme1_quadratic_variance(lam, lr, lr)
    assert m.mean[0] == pytest.approx(mean, rel=1e-12)
    assert m.second[0, 0] == pytest.approx(mean**2 + var, rel=1e-11)
    assert m.third is None


def test_sde_one_step_backward_route_matches_linear_route():
    # The same SDE without its linear structure goes through the backward equation.
    lr, x = 0.25, 0.6
    sde = sgd_sme(MultiplicativeQuadratic([1.2]), lr, order=2)
    plain = FunctionSDE(sde.drift, sde.diffusion, 1, 1)
    a = sde_one_step_moments(sde, [x])
    b = sde_one_step_moments(plain, [x], h=lr, domain=(-3.0, 3.0), n_grid=64)
    np.testing.assert_allclose(b.mean, a.mean, rtol=1e-10)
    np.testing.assert_allclose(b.second, a.second, rtol=1e-9)
    with pytest.raises(TypeError, match="domain"):
        sde_one_step_moments(plain, [x], h=lr)


def test_lemma4_remainder_is_third_order_on_the_double_well():
    problem, x = DoubleWell(), [0.3]
    remainders = []
    for lr in (2.0**-3, 2.0**-4):
        sde = sgd_sme(problem, lr, order=2)
        got = sde_one_step_moments(sde, x, domain=(-2.0, 2.0), n_grid=64)
        remainders.append(got.mismatch(lemma4_moments(sde, x)))
    for key in ("mean", "second"):
        ratio = remainders[0][key] / remainders[1][key]
        assert 7.0 < ratio < 9.0, (key, ratio)


@pytest.mark.parametrize("c,expected", [(0.0, 0.5), (0.25, 0.0), (0.5, -0.5)])
def test_lemma4_mean_coefficient(c, expected):
    # Lemma 4 for the SME with correction c: E Delta~ + lr grad f = (1/2 - 2c) lr^2 Hess f grad f.
    problem, x, lr = GaussianQuadratic([2.0, 0.5]), np.array([1.0, -2.0]), 0.01
    m = lemma4_moments(sgd_sme(problem, lr, order=2, correction=c), x)
    hg = problem.hvp(x, problem.grad(x))
    np.testing.assert_allclose((m.mean + lr * problem.grad(x)) / (lr**2 * hg), expected, atol=1e-12)
    no_noise = lemma4_moments(sgd_sme(problem, lr, order=2, noise=False), x)
    np.testing.assert_allclose(m.second - no_noise.second, lr**2 * problem.noise_cov(x), rtol=1e-12)
    with pytest.raises(TypeError, match="SGD SME"):
        lemma4_moments(FunctionSDE(lambda t, y: -y, lambda t, y: y[..., None], 1, 1), [1.0])


def test_mismatch():
    a = OneStepMoments(np.array([1.0]), np.array([[2.0]]), np.array([[[3.0]]]))
    b = OneStepMoments(np.array([0.5]), np.array([[2.5]]), np.array([[[1.0]]]))
    assert a.mismatch(b) == {"mean": 0.5, "second": 0.5, "third": 2.0}


# --------------------------------------------------------------------------
# TwoPointQuadratic
# --------------------------------------------------------------------------
def test_two_point_quadratic_shares_the_gaussian_affine_law():
    H = np.array([[1.0, 0.3], [0.3, 0.5]])
    tp, gq = TwoPointQuadratic(H, batch_size=2), GaussianQuadratic(H, batch_size=2)
    np.testing.assert_array_equal(tp.affine.mean, gq.affine.mean)
    np.testing.assert_allclose(tp.affine.cov, gq.affine.cov, rtol=1e-15)
    x = np.array([[0.4, -1.0], [2.0, 0.1]])
    np.testing.assert_allclose(tp.value(x), gq.value(x))
    # The finite-sum formulas (component enumeration) agree with the closed forms.
    np.testing.assert_allclose(FiniteSumObjective.value(tp, x), tp.value(x), atol=1e-14)
    np.testing.assert_allclose(FiniteSumObjective.grad(tp, x), tp.grad(x), atol=1e-14)
    np.testing.assert_allclose(FiniteSumObjective.noise_cov(tp, x), tp.noise_cov(x), atol=1e-14)
    np.testing.assert_allclose(FiniteSumObjective.hessian(tp, x), tp.hessian(x), atol=1e-14)


def test_two_point_sampler_moments():
    tp = TwoPointQuadratic([2.0, 1.0], batch_size=3)
    x = np.tile([0.5, -1.0], (200_000, 1))
    g = tp.sample_grad(x, np.random.default_rng(3))
    se = g.std(axis=0) / np.sqrt(len(g))
    assert np.all(np.abs(g.mean(axis=0) - tp.grad(x[0])) < 4 * se)
    var = g.var(axis=0)
    np.testing.assert_allclose(var, np.diag(tp.noise_cov(x[0])), rtol=0.02)
    # The noise is discrete: with B = 3 the mean of signs takes the values +-1/3, +-1.
    thirds = np.unique(np.round(3 * (tp.grad(x[0]) - g)[:, 0] / 2.0, 9))
    np.testing.assert_array_equal(thirds, [-3.0, -1.0, 1.0, 3.0])


def test_two_point_quadratic_validation():
    with pytest.raises(ValueError, match="symmetric"):
        TwoPointQuadratic([[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="d must be <= 12"):
        TwoPointQuadratic(np.ones(13))


# --------------------------------------------------------------------------
# Gauss-Hermite, weak-error helpers
# --------------------------------------------------------------------------
def test_gaussian_expectation_exact_for_polynomials():
    mean, var = np.array([0.0, 1.0, -2.0]), np.array([1.0, 0.5, 0.0])
    got = gaussian_expectation(lambda y: y[:, 0] ** 4, mean, var)
    np.testing.assert_allclose(got, mean**4 + 6 * mean**2 * var + 3 * var**2, rtol=1e-13)
    assert float(gaussian_expectation(lambda y: np.cos(y[:, 0]), 0.0, 1.0)) == pytest.approx(
        np.exp(-0.5), rel=1e-13)
    with pytest.raises(ValueError, match="var"):
        gaussian_expectation(lambda y: y[:, 0], 0.0, -1.0)


def test_affine_weak_errors_match_closed_forms():
    lam, x0, T = np.array([1.0, 0.25]), np.array([1.0, 1.0]), 2.0
    lrs = np.array([0.25, 0.125])
    err = affine_weak_errors(GaussianQuadratic(lam), x0, lrs, T, {"s1": {"order": 1}})
    for i, lr in enumerate(lrs):
        k = np.arange(round(T / lr) + 1)
        closed = np.max(np.abs(cf.sgd_quadratic_value(lam, lr, x0, k)
                               - cf.sme1_quadratic_value(lam, lr, x0, k * lr)))
        assert err["s1"]["f"][i] == pytest.approx(closed, rel=1e-9)
    with pytest.raises(ValueError, match="whole number"):
        affine_weak_errors(GaussianQuadratic(lam), x0, [0.3], T, {"s1": {"order": 1}})
    with pytest.raises(TypeError, match="variants"):
        affine_weak_errors(GaussianQuadratic(lam), x0, [0.25], T, {"s1": {"bogus": 1}})


def test_backward_weak_errors_curves_and_orders():
    lrs = [2.0**-3, 2.0**-4]
    out = backward_weak_errors(DoubleWell(), 1.5, lrs, 0.5, lambda y: y[:, 0],
                               {"sme1": {"order": 1}, "sme2": {"order": 2}}, domain=(-2, 2),
                               n_grid=96)
    assert len(out["curves"]) == 2 and out["curves"][1]["sgd"].shape == (9,)
    curves = out["curves"][0]
    assert out["sme1"][0] == pytest.approx(np.max(np.abs(curves["sgd"] - curves["sme1"])))
    assert 1.5 < out["sme1"][0] / out["sme1"][1] < 2.8   # order 1: a factor ~2 per halving
    assert 3.0 < out["sme2"][0] / out["sme2"][1] < 6.0   # order 2: a factor ~4
