"""Tests of smecore.sme.expansion: the asymptotic expansion, the two phases, stationary moments."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from smecore import DoubleWell, GaussianQuadratic, make_linear_regression, sgd_sme
from smecore import closed_forms as cf
from smecore._validation import DivergenceError
from smecore.moments import (
    crossover_time,
    quadratic_phases,
    sde_moments,
    sde_stationary_moments,
    sgd_expectations,
    sgd_moments,
    sgd_quadratic_phases,
    sgd_stationary_moments,
)
from smecore.sme import asymptotic_expansion, gradient_flow

H2 = np.array([[2.0, 0.5], [0.5, 1.0]])


# -- the expansion -------------------------------------------------------------


def test_expansion_exact_on_gaussian_quadratic():
    """X0 = e^{-Ht} x0 and P = H (I - e^{-2Ht}) / 2 when Sigma = H^2."""
    p = GaussianQuadratic(H2)
    x0 = np.array([1.0, -2.0])
    times = np.array([0.0, 0.3, 1.0, 4.0])
    e = asymptotic_expansion(p, x0, times)
    for i, t in enumerate(times):
        E = scipy.linalg.expm(-H2 * t)
        np.testing.assert_allclose(e.center[i], E @ x0, rtol=1e-9, atol=1e-12)
        P = 0.5 * H2 @ (np.eye(2) - E @ E)
        np.testing.assert_allclose(e.cov1[i], P, rtol=1e-9, atol=1e-12)


def test_expansion_is_the_sme1_on_a_quadratic():
    """For additive noise the expansion is exact for the order-1 SME: lr * P = Cov X_t."""
    p = GaussianQuadratic(H2, batch_size=3)
    lr, x0, times = 0.05, np.array([1.0, 1.0]), np.linspace(0, 3, 7)
    e = asymptotic_expansion(p, x0, times)
    m = sde_moments(sgd_sme(p, lr, 1), x0, times)
    np.testing.assert_allclose(e.mean(), m.mean, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(e.cov(lr), m.cov, rtol=1e-8, atol=1e-13)
    np.testing.assert_allclose(e.second_moment(lr), m.second, rtol=1e-8, atol=1e-13)
    np.testing.assert_allclose(e.variance(lr), m.position_var, rtol=1e-8, atol=1e-13)


def test_batch_size_divides_the_correction():
    p = DoubleWell()
    e1 = asymptotic_expansion(p, [0.5], [0.0, 1.0, 2.0])
    e4 = asymptotic_expansion(p.with_batch_size(4), [0.5], [0.0, 1.0, 2.0])
    np.testing.assert_allclose(e4.center, e1.center, rtol=1e-12)
    np.testing.assert_allclose(e4.cov1, e1.cov1 / 4, rtol=1e-8)


def test_fluctuation_term_matches_phases():
    lam = np.array([1.0, 0.1])
    p = GaussianQuadratic(lam)
    x0, lr, t = np.array([1.0, 2.0]), 0.1, np.linspace(0, 5, 11)
    e = asymptotic_expansion(p, x0, t)
    D, F = quadratic_phases(lam, lr, x0, t)
    np.testing.assert_allclose(e.fluctuation(lr), F, rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(p.value(e.center), D, rtol=1e-8)


def test_gradient_flow_double_well():
    """x' = x - x^3 has the solution x(t) = x0 / sqrt(x0^2 + (1 - x0^2) e^{-2t})."""
    x0, t = 0.3, np.array([0.0, 0.5, 2.0, 6.0])
    exact = x0 / np.sqrt(x0**2 + (1 - x0**2) * np.exp(-2 * t))
    np.testing.assert_allclose(gradient_flow(DoubleWell(), [x0], t)[:, 0], exact, rtol=1e-9)


def test_expansion_error_is_first_order_for_sgd_on_double_well():
    """max_k |E x_k - X0(k lr)| halves with lr (backward-exact SGD expectations)."""
    p, x0, T = DoubleWell(), 0.5, 3.0
    errs = []
    for lr in (0.01, 0.005):
        n = round(T / lr)
        sol = sgd_expectations(p, lr, lambda x: x[:, 0], n, n_grid=256, domain=(-1.6, 1.6))
        X0 = gradient_flow(p, [x0], sol.times)[:, 0]
        errs.append(np.max(np.abs(sol.at(x0) - X0)))
    assert 1.8 < errs[0] / errs[1] < 2.2


def test_expansion_bad_input():
    with pytest.raises(TypeError):
        asymptotic_expansion(object(), [0.0], [1.0])
    with pytest.raises(ValueError):
        asymptotic_expansion(DoubleWell(), [0.0, 1.0], [1.0])
    with pytest.raises(ValueError):
        asymptotic_expansion(DoubleWell(), [0.0], [1.0, 0.5])


# -- the two phases ----------------------------------------------------------------


def test_phases_sum_to_the_closed_forms():
    lam, x0, lr = np.array([1.0, 0.3, 0.01]), np.array([1.0, -1.0, 3.0]), 0.1
    t = np.linspace(0, 20, 9)
    D, F = quadratic_phases(lam, lr, x0, t)
    np.testing.assert_allclose(D + F, cf.sme1_quadratic_value(lam, lr, x0, t), rtol=1e-12)
    k = np.arange(0, 200, 20)
    D, F = sgd_quadratic_phases(lam, lr, x0, k)
    np.testing.assert_allclose(D + F, cf.sgd_quadratic_value(lam, lr, x0, k), rtol=1e-12)


def test_sgd_phases_are_mean_and_variance_parts():
    """D_k = f(E x_k), F_k = 1/2 Tr(H Cov x_k) from the exact moment recursion."""
    lam, x0, lr = np.array([1.0, 0.2]), np.array([1.0, 2.0]), 0.2
    p = GaussianQuadratic(lam, batch_size=2)
    m = sgd_moments(p, lr, x0, 40)
    D, F = sgd_quadratic_phases(lam, lr, x0, m.steps, noise_var=lam**2 / 2)
    np.testing.assert_allclose(p.value(m.mean), D, rtol=1e-12)
    np.testing.assert_allclose(0.5 * np.einsum("ii,nii->n", np.diag(lam), m.cov), F, rtol=1e-11, atol=1e-16)


def test_crossover_time_one_direction():
    lam, lr, x0 = 2.0, 0.05, 1.5
    t_sme = np.log(1 + 2 * x0**2 / (lr * lam)) / (2 * lam)
    assert crossover_time([lam], lr, [x0]) == pytest.approx(t_sme, rel=1e-12)
    q = (1 - lr * lam) ** 2
    v_inf = lr**2 * lam**2 / (1 - q)
    k = np.log(v_inf / (x0**2 + v_inf)) / np.log(q)
    assert crossover_time([lam], lr, [x0], kind="sgd") == pytest.approx(k * lr, rel=1e-12)


def test_crossover_balances_the_terms():
    lam, x0, lr = np.array([1.0, 0.01]), np.array([1.0, 10.0]), 0.1
    t = crossover_time(lam, lr, x0)
    D, F = quadratic_phases(lam, lr, x0, t)
    assert D == pytest.approx(F, rel=1e-10)
    t = crossover_time(lam, lr, x0, kind="sgd")
    D, F = sgd_quadratic_phases(lam, lr, x0, t / lr)
    assert D == pytest.approx(F, rel=1e-10)


def test_phases_bad_input():
    with pytest.raises(ValueError):
        crossover_time([1.0], 0.1, [0.0])
    with pytest.raises(ValueError):
        crossover_time([1.0], 0.1, [1.0], kind="ode")
    with pytest.raises(ValueError):
        quadratic_phases([-1.0], 0.1, [1.0], 1.0)
    with pytest.raises(DivergenceError):
        sgd_quadratic_phases([1.0], 2.5, [1.0], 3)


# -- stationary moments ------------------------------------------------------------


def test_sgd_stationary_matches_closed_form_with_batches():
    lam = np.array([1.0, 0.5, 0.1])
    for B in (1, 4):
        p = GaussianQuadratic(lam, batch_size=B)
        for lr in (0.1, 1.5):
            value = sgd_stationary_moments(p, lr).expect_value(p)
            expected = cf.sgd_quadratic_stationary_value(lam, lr, noise_var=lam**2 / B)
            assert value == pytest.approx(float(expected), rel=1e-10)


def test_sde_stationary_matches_closed_forms():
    lam, lr = np.array([1.0, 0.3]), 0.2
    p = GaussianQuadratic(lam)
    zeros = np.zeros_like(lam)
    assert sde_stationary_moments(p, lr, 1).expect_value(p) == pytest.approx(
        float(cf.sme1_quadratic_value(lam, lr, zeros, 1e9)), rel=1e-10)
    assert sde_stationary_moments(p, lr, 2).expect_value(p) == pytest.approx(
        float(cf.sme2_quadratic_value(lam, lr, zeros, 1e9)), rel=1e-10)


def test_stationary_is_the_limit_of_the_recursions():
    """State-dependent noise (linear regression): the solve equals the long-run moments."""
    p = make_linear_regression(60, 3, noise=0.5, rng=3)
    lr = 0.05
    st = sgd_stationary_moments(p, lr)
    n = 4000
    m = sgd_moments(p, lr, np.zeros(3), n, record=[n])
    np.testing.assert_allclose(st.mean, m.mean[-1], rtol=1e-9)
    np.testing.assert_allclose(st.cov, m.cov[-1], rtol=1e-8, atol=1e-14)
    sde = sde_stationary_moments(p, lr)
    ms = sde_moments(sgd_sme(p, lr, 1), np.zeros(3), [n * lr])
    np.testing.assert_allclose(sde.cov, ms.cov[-1], rtol=1e-7, atol=1e-13)


def test_stationary_divergence_and_type_errors():
    p = make_linear_regression(60, 3, noise=0.5, rng=3)
    lam_max = p.eigenvalues.max()
    with pytest.raises(DivergenceError):
        sgd_stationary_moments(p, 2.5 / lam_max)
    # Multiplicative noise makes the second moments explode before the mean does.
    with pytest.raises(DivergenceError):
        sgd_stationary_moments(p, 1.9 / lam_max)
    with pytest.raises(TypeError):
        sgd_stationary_moments(DoubleWell(), 0.1)
    with pytest.raises(ValueError):
        sde_stationary_moments(p, 0.1, order=3)
