"""Tests of smecore.algorithms.schedules: schedules, scheduled SGD (simulation and exact moments), cSGD."""

from __future__ import annotations

import numpy as np
import pytest

from smecore import DoubleWell, GaussianQuadratic, make_linear_regression, sgd_sme
from smecore import closed_forms as cf
from smecore.algorithms import (
    SGD,
    ConstantSchedule,
    CSGDSchedule,
    InverseTimeSchedule,
    ScheduledSGD,
    TabulatedSchedule,
    run,
    sample_paths,
)
from smecore.moments import (
    csgd_discrete_optimum,
    csgd_multiplier_ode,
    scheduled_sgd_moments,
    scheduled_sme_moments,
    sde_moments,
    sgd_moments,
    tune_inverse_time,
)
from smecore.sme import scheduled_sme
from smecore.solvers import solve_sde


def _scalar_recursion(a, s2, rates, m0):
    """m_{k+1} = (1 - r_k a)^2 m_k + r_k^2 s2 for x_{k+1} = x_k - r_k (a x_k + xi_k)."""
    m = [m0]
    for r in rates:
        m.append((1 - r * a) ** 2 * m[-1] + r**2 * s2)
    return np.array(m)


# -- schedules --------------------------------------------------------------------


def test_schedule_values():
    assert ConstantSchedule()(5.0) == 1.0
    s = InverseTimeSchedule(2.0, u0=0.5)
    np.testing.assert_allclose(s([0.0, 2.0, 6.0]), [0.5, 0.25, 0.125])
    np.testing.assert_allclose(s.multipliers(0.5, 3), [0.5, 0.4, 1 / 3])
    tab = TabulatedSchedule([[1.0, 2.0], [3.0, 4.0]], 0.1)
    np.testing.assert_array_equal(tab(0.1), [3.0, 4.0])
    np.testing.assert_array_equal(tab.multipliers(0.1, 3), [[1, 2], [3, 4], [3, 4]])


def test_csgd_schedule_follows_closed_form():
    a, s2, lr, m0 = 2.0, 0.5, 0.1, 1.0
    s = CSGDSchedule(a, s2, lr, m0)
    t = np.linspace(0, 30, 61)
    m, u = cf.csgd_optimal_path(a, m0, lr, s2, t)
    np.testing.assert_allclose(s(t), u, rtol=1e-14)
    t1 = s.switch_time
    assert s(0.999 * t1) == 1.0 and s(1.001 * t1) < 1.0
    # late: u* = 1 / (1 + a (t - t1))
    assert s(100.0) == pytest.approx(1 / (1 + a * (100.0 - t1)), rel=1e-12)


def test_coordinatewise_csgd_equals_scalar_per_coordinate():
    a, s2, m0 = np.array([1.0, 3.0]), np.array([0.5, 2.0]), np.array([1.0, 0.01])
    s = CSGDSchedule(a, s2, 0.05, m0)
    t = np.linspace(0, 10, 21)
    u = s(t)
    assert u.shape == (21, 2)
    for i in range(2):
        np.testing.assert_allclose(u[:, i], CSGDSchedule(a[i], s2[i], 0.05, m0[i])(t), rtol=1e-14)


def test_schedule_bad_input():
    with pytest.raises(ValueError):
        InverseTimeSchedule(0.0)
    with pytest.raises(ValueError):
        CSGDSchedule(-1.0, 1.0, 0.1, 1.0)
    with pytest.raises(ValueError):
        TabulatedSchedule([-1.0], 0.1)
    with pytest.raises(TypeError):
        ScheduledSGD(0.1, lambda t: 1.0)
    with pytest.raises(ValueError):
        scheduled_sgd_moments(GaussianQuadratic([1.0, 2.0, 3.0]), 0.1,
                              CSGDSchedule([1.0, 1.0], 1.0, 0.1, 1.0), np.ones(3), 5)
    with pytest.raises(TypeError):
        scheduled_sgd_moments(DoubleWell(), 0.1, ConstantSchedule(), [0.5], 5)


# -- simulation ---------------------------------------------------------------------


def test_constant_schedule_is_plain_sgd():
    """Same paths bit for bit; statistics equal to rounding (numpy's summation may depend on
    memory alignment)."""
    p = make_linear_regression(50, 3, noise=0.3, rng=0)
    kw = dict(n_paths=300, rng=5, record=[0, 7, 20])
    pa = sample_paths(SGD(0.05), p, np.zeros(3), 20, **kw)[1]
    pb = sample_paths(ScheduledSGD(0.05, ConstantSchedule()), p, np.zeros(3), 20, **kw)[1]
    np.testing.assert_array_equal(pa, pb)
    a = run(SGD(0.05), p, np.zeros(3), 20, **kw)["x"]
    b = run(ScheduledSGD(0.05, ConstantSchedule()), p, np.zeros(3), 20, **kw)["x"]
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_monte_carlo_matches_exact_moments(seed):
    """Coordinate-wise cSGD on linear regression: E x_k^2 within 4.5 standard errors."""
    p = make_linear_regression(80, 2, noise=0.5, rng=11)
    xs = p.minimizer
    x0 = np.zeros(2)
    lr, n = 0.05, 200
    sched = CSGDSchedule(np.diag(p.affine.hessian), np.diag(p.noise_cov(xs)), lr, (x0 - xs) ** 2)
    exact = scheduled_sgd_moments(p, lr, sched, x0, n, record=[50, 200])
    stats = run(ScheduledSGD(lr, sched), p, x0, n, n_paths=8000, rng=seed, record=[50, 200],
                observables={"x2": lambda x: x**2})["x2"]
    second = np.diagonal(exact.second, axis1=1, axis2=2)
    z = np.abs(stats.mean - second) / stats.stderr
    assert z.max() < 4.5


def test_stability_check_uses_the_largest_multiplier():
    from smecore._validation import DivergenceError

    with pytest.raises(DivergenceError):
        run(ScheduledSGD(0.5, ConstantSchedule(3.0)), GaussianQuadratic([2.0]), [1.0], 5, n_paths=10)
    # u <= 1: lr lambda = 1 is stable
    run(ScheduledSGD(0.5, InverseTimeSchedule(1.0)), GaussianQuadratic([2.0]), [1.0], 5, n_paths=10)


# -- exact moments -------------------------------------------------------------------


def test_scheduled_moments_constant_equal_sgd_moments():
    p = make_linear_regression(40, 3, noise=0.5, rng=2).with_batch_size(2)
    a = scheduled_sgd_moments(p, 0.07, ConstantSchedule(), np.ones(3), 60)
    b = sgd_moments(p, 0.07, np.ones(3), 60)
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(a.second, b.second, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(a.times, b.times)


def test_scheduled_moments_scalar_recursion():
    a, lr, n = 1.5, 0.1, 80
    sched = InverseTimeSchedule(2.0)
    m = scheduled_sgd_moments(GaussianQuadratic([a]), lr, sched, [1.0], n)
    rates = lr * sched.multipliers(lr, n)
    np.testing.assert_allclose(m.second[:, 0, 0], _scalar_recursion(a, a**2, rates, 1.0), rtol=1e-12)


def test_vector_schedule_on_diagonal_quadratic():
    lam = np.array([1.0, 4.0])
    sched = CSGDSchedule(lam, lam**2, 0.05, np.array([1.0, 1.0]))
    m = scheduled_sgd_moments(GaussianQuadratic(lam), 0.05, sched, [1.0, 1.0], 100)
    u = sched.multipliers(0.05, 100)
    for i in range(2):
        expected = _scalar_recursion(lam[i], lam[i] ** 2, 0.05 * u[:, i], 1.0)
        np.testing.assert_allclose(m.second[:, i, i], expected, rtol=1e-12)
    np.testing.assert_allclose(m.second[:, 0, 1], m.mean[:, 0] * m.mean[:, 1], rtol=1e-12)


# -- the scheduled SME ----------------------------------------------------------------------


def test_scheduled_sme_constant_equals_sgd_sme():
    p = make_linear_regression(40, 2, noise=0.5, rng=4)
    t = np.linspace(0, 3, 7)
    a = scheduled_sme_moments(p, 0.05, ConstantSchedule(), np.zeros(2), t)
    b = sde_moments(sgd_sme(p, 0.05, 1), np.zeros(2), t)
    np.testing.assert_allclose(a.second, b.second, rtol=1e-8, atol=1e-13)
    np.testing.assert_array_equal(a.times, t)


def test_scheduled_sme_inverse_time_closed_form():
    """u = 1/(1 + a t): m(t) = lr S / (a (1 + a t)) + (m0 - lr S / a) / (1 + a t)^2."""
    a, lr, m0 = 2.0, 0.1, 1.0
    t = np.array([0.0, 0.5, 3.0, 20.0])
    m = scheduled_sme_moments(GaussianQuadratic([a]), lr, InverseTimeSchedule(1 / a), [1.0], t)
    S = a**2
    exact = lr * S / (a * (1 + a * t)) + (m0 - lr * S / a) / (1 + a * t) ** 2
    np.testing.assert_allclose(m.second[:, 0, 0], exact, rtol=1e-8)


def test_scheduled_sme_is_first_order_for_scheduled_sgd():
    """Fixed schedule: |m_k - m(k lr)| at T halves with lr (weak order 1)."""
    a, T, sched = 1.0, 5.0, InverseTimeSchedule(1.0)
    p = GaussianQuadratic([a])
    gaps = []
    for lr in (0.02, 0.01):
        n = round(T / lr)
        disc = scheduled_sgd_moments(p, lr, sched, [1.0], n, record=[n]).second[-1, 0, 0]
        sme = scheduled_sme_moments(p, lr, sched, [1.0], [T]).second[-1, 0, 0]
        gaps.append(abs(disc - sme))
    assert 1.8 < gaps[0] / gaps[1] < 2.2


def test_scheduled_sme_solves_on_nonlinear_problem():
    """solve_sde accepts the scheduled SME of a non-affine problem (no linear structure)."""
    sde = scheduled_sme(DoubleWell(), 0.01, InverseTimeSchedule(1.0))
    assert sde.linear is None
    stats = solve_sde(sde, [0.5], 1.0, n_steps=20, n_paths=2000, rng=0, record=[20])
    gf = 0.5 / np.sqrt(0.25 + 0.75 * np.exp(-2 * np.log(2.0)))  # time change: int_0^1 u = log 2
    assert abs(stats["x"].mean[-1, 0] - gf) < 0.02


# -- cSGD -------------------------------------------------------------------------------------


@pytest.mark.parametrize("m0", [1.0, 0.05, 0.001])
def test_multiplier_ode_matches_closed_form(m0):
    a, s2, lr = 1.5, 0.8, 0.1
    t = np.linspace(0, 40, 81)
    m, u = csgd_multiplier_ode(a, s2, lr, m0, t)
    m_cf, u_cf = cf.csgd_optimal_path(a, m0, lr, s2, t)
    np.testing.assert_allclose(m, m_cf, rtol=1e-9)
    np.testing.assert_allclose(u, u_cf, rtol=1e-9)


def test_discrete_optimum_beats_every_other_schedule():
    a, s2, lr, m0, n = 1.0, 1.0, 0.1, 1.0, 300
    m_opt, u_opt = csgd_discrete_optimum(a, s2, lr, m0, n)
    rng = np.random.default_rng(0)
    others = [np.ones(n), CSGDSchedule(a, s2, lr, m0).multipliers(lr, n),
              InverseTimeSchedule(1.0).multipliers(lr, n)]
    others += [np.clip(u_opt * np.exp(0.1 * rng.standard_normal(n)), 0, 1) for _ in range(5)]
    for u in others:
        assert _scalar_recursion(a, s2, lr * u, m0)[-1] >= m_opt[-1] * (1 - 1e-12)
    np.testing.assert_allclose(_scalar_recursion(a, s2, lr * u_opt, m0), m_opt, rtol=1e-12)


def test_tune_inverse_time_beats_a_grid():
    p = make_linear_regression(60, 3, noise=0.5, rng=6)
    lr, n, x0 = 0.05, 300, np.zeros(3)
    sched, value = tune_inverse_time(p, lr, x0, n)
    grid = [scheduled_sgd_moments(p, lr, InverseTimeSchedule(tau), x0, n, record=[n]).expect_value(p)[-1]
            for tau in np.geomspace(0.05, 20, 25)]
    assert value <= min(grid) * (1 + 1e-9)
    with pytest.raises(ValueError):
        tune_inverse_time(p, lr, x0, n, bounds=(2.0, 1.0))
