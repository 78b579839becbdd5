"""Heavy ball in three normalisations, the step-h moment recursion, and the rate formulas."""

import numpy as np
import pytest

from smecore import (
    GaussianQuadratic,
    MomentumSGD,
    make_linear_regression,
    momentum_sme,
    run,
)
from smecore.algorithms import ScaledMomentumSGD, TorchMomentumSGD, sample_paths
from smecore.estimation import settling_step
from smecore.moments import (
    effective_sgd_rate,
    heavy_ball_rate,
    momentum_moments,
    momentum_sme_rate,
    msgd_quadratic_stationary_value,
    scaled_momentum_moments,
)


@pytest.fixture(scope="module")
def regression():
    return make_linear_regression(20, 2, noise=0.5, x_true=[1.0, -0.5], rng=3)


@pytest.mark.parametrize("problem_name", ["quadratic", "regression"])
def test_three_forms_give_the_same_iterates(problem_name, regression):
    problem = GaussianQuadratic([1.0, 0.3]) if problem_name == "quadratic" else regression
    h, damping = 0.2, 1.5
    lr, mu = h**2, 1 - damping * h
    x0 = np.array([1.0, -1.0])
    kw = dict(n_paths=7, rng=11, observe="phase")
    _, standard = sample_paths(MomentumSGD(lr, mu), problem, x0, 60, **kw)
    _, torch_like = sample_paths(TorchMomentumSGD(lr, mu), problem, x0, 60, **kw)
    _, scaled = sample_paths(ScaledMomentumSGD(h, damping), problem, x0, 60, **kw)
    scale = np.max(np.abs(standard))
    # Rounding only: the three recursions differ in the order of floating-point operations.
    assert np.max(np.abs(torch_like - standard)) < 1e-12 * scale
    assert np.max(np.abs(scaled - standard)) < 1e-12 * scale


def test_torch_buffer_is_minus_v_over_lr():
    lr, mu = 0.04, 0.7
    torch_like, standard = TorchMomentumSGD(lr, mu), MomentumSGD(lr, mu)
    rng = np.random.default_rng(0)
    a, b = torch_like.init_state(np.zeros((3, 2))), standard.init_state(np.zeros((3, 2)))
    for k in range(5):
        g = rng.standard_normal((3, 2))
        a, b = torch_like.apply(a, k, g), standard.apply(b, k, g)
        np.testing.assert_allclose(-lr * a[1], b[1], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(a[0], b[0], rtol=1e-13, atol=1e-15)


def test_scaled_moments_match_standard_moments(regression):
    h, damping = 0.1, 2.0
    x0 = [0.5, 0.5]
    a = scaled_momentum_moments(regression, h, damping, x0, 80, record=[0, 7, 80])
    b = momentum_moments(regression, h**2, 1 - damping * h, x0, 80, record=[0, 7, 80])
    b = b.scaled_velocity(1 / h)
    np.testing.assert_allclose(a.times, b.times, rtol=1e-14)
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(a.second, b.second, rtol=1e-11, atol=1e-14)


def test_scaled_moments_match_monte_carlo(regression):
    h, damping, n = 0.2, 1.0, 20_000
    x0 = np.array([0.0, 0.0])
    exact = scaled_momentum_moments(regression, h, damping, x0, 25, record=[25])
    stats = run(ScaledMomentumSGD(h, damping), regression, x0, 25, n_paths=n, rng=5, record=[25],
                observe="phase", observables={"z": lambda z: z, "z2": lambda z: z**2})
    z2 = np.diagonal(exact.second[-1])
    # Tolerance: 4.5 measured standard errors (8 coordinates checked).
    assert np.all(np.abs(stats["z"].mean[-1] - exact.mean[-1]) < 4.5 * stats["z"].stderr[-1])
    assert np.all(np.abs(stats["z2"].mean[-1] - z2) < 4.5 * stats["z2"].stderr[-1])


def test_scaled_moments_bad_input():
    with pytest.raises(TypeError, match="affine"):
        from smecore import DoubleWell

        scaled_momentum_moments(DoubleWell(), 0.1, 1.0, [0.0], 3)
    with pytest.raises(ValueError, match="damping"):
        scaled_momentum_moments(GaussianQuadratic([1.0]), 0.5, 3.0, [0.0], 3)


def test_scaled_algorithm_validation_and_attributes():
    s = ScaledMomentumSGD(0.1, 2.0)
    assert s.lr == pytest.approx(0.01) and s.momentum == pytest.approx(0.8)
    assert s.time_step == 0.1 and "step=0.1" in repr(s)
    with pytest.raises(ValueError):
        ScaledMomentumSGD(0.0, 1.0)
    with pytest.raises(ValueError):
        ScaledMomentumSGD(0.5, -1.0)
    with pytest.raises(ValueError, match="damping"):
        ScaledMomentumSGD(0.5, 3.0)
    with pytest.raises(ValueError):
        TorchMomentumSGD(0.1, 1.0)


@pytest.mark.parametrize("lr,mu", [(0.01, 0.0), (0.01, 0.5), (0.01, 0.81), (0.01, 0.95),
                                   (0.3, 0.2), (0.04, 0.99)])
def test_heavy_ball_rate_is_the_spectral_radius(lr, mu):
    lam = 1.0
    companion = np.array([[1 + mu - lr * lam, -mu], [1.0, 0.0]])
    radius = np.max(np.abs(np.linalg.eigvals(companion)))
    assert heavy_ball_rate(lam, lr, mu) == pytest.approx(-np.log(radius), rel=1e-6)


def test_heavy_ball_rate_matches_exact_mean_decay():
    # Overdamped: E x_k = c1 z1^k + c2 z2^k with z1 dominant; the ratio of successive
    # means tends to z1 (the z2 term is (z2/z1)^k ~ 1e-40 smaller after 400 steps).
    lr, mu, lam = 0.01, 0.3, 1.0
    m = momentum_moments(GaussianQuadratic([lam]), lr, mu, [1.0], 401, record=[400, 401])
    ratio = m.position_mean[1, 0] / m.position_mean[0, 0]
    assert -np.log(ratio) == pytest.approx(float(heavy_ball_rate(lam, lr, mu)), rel=1e-10)


def test_heavy_ball_rate_is_largest_at_the_double_root():
    lr, lam = 0.01, 1.0
    mus = np.linspace(0.0, 0.999, 20_001)
    best = mus[np.argmax(heavy_ball_rate(lam, lr, mus))]
    assert abs(best - (1 - np.sqrt(lr * lam)) ** 2) <= mus[1] - mus[0]


@pytest.mark.parametrize("mu", [0.0, 0.5, 0.8, 0.9, 0.99])
def test_momentum_sme_rate_is_the_drift_eigenvalue(mu):
    lr, lam = 0.01, 1.0
    sde = momentum_sme(GaussianQuadratic([lam]), lr, momentum=mu)
    F = sde.linear.drift_matrix(0.0)[:, :2]
    slowest = -np.max(np.real(np.linalg.eigvals(F)))
    assert momentum_sme_rate(lam, lr, mu) == pytest.approx(np.sqrt(lr) * slowest, rel=1e-7)


def test_rates_agree_for_fixed_small_momentum():
    # Far from critical damping all three pictures agree to O(lr lam / (1 - mu)).
    lr, lam, mu = 1e-4, 1.0, 0.5
    exact = heavy_ball_rate(lam, lr, mu)
    assert effective_sgd_rate(lam, lr, mu) == pytest.approx(exact, rel=1e-3)
    assert momentum_sme_rate(lam, lr, mu) == pytest.approx(exact, rel=1e-3)


def test_rate_bad_input():
    with pytest.raises(ValueError):
        heavy_ball_rate(1.0, 0.1, 1.0)
    with pytest.raises(ValueError):
        momentum_sme_rate(-1.0, 0.1, 0.5)
    with pytest.raises(ValueError):
        effective_sgd_rate(1.0, 0.0, 0.5)


def test_stationary_value_matches_long_run_moments():
    H, B, lr = np.array([1.0, 0.25]), 10, 0.05
    p = GaussianQuadratic(H, batch_size=B)
    for mu in (0.0, 0.6, 0.9):
        m = momentum_moments(p, lr, mu, [0.0, 0.0], 3000, record=[3000])
        value = m.expect_value(p)[-1]
        expected = msgd_quadratic_stationary_value(H, lr, mu, H**2 / B)
        assert value == pytest.approx(float(expected), rel=1e-10)
    vector = msgd_quadratic_stationary_value(H, lr, np.array([0.0, 0.6]), H**2 / B)
    assert vector.shape == (2,)


def test_settling_step():
    assert settling_step([0, 10, 20], [0.1, 0.2, 0.0], 1.0) == 0.0
    assert settling_step([0, 10, 20], [2.0, 0.2, 3.0], 1.0) == float("inf")
    assert settling_step([0, 10, 20, 30], [2.0, 0.2, 3.0, 0.5], 1.0) == 30.0
    with pytest.raises(ValueError):
        settling_step([0, 1], [1.0], 0.5)


# -- weak-error helpers -------------------------------------------------------------------
from smecore.estimation import fit_order  # noqa: E402
from smecore.moments import sde_moments  # noqa: E402
from smecore.studies import (
    exact_momentum_weak_errors,
    mc_momentum_weak_errors,
    sme_expectation,
)


def test_exact_weak_errors_have_order_one_in_h():
    h = np.array([0.1, 0.05, 0.025, 0.0125])
    err = exact_momentum_weak_errors(GaussianQuadratic([1.0, 0.2]), h, 1.0, [1.0, 1.0], 4.0)
    for name in ("x", "f"):
        assert abs(fit_order(h, err[name]).order - 1.0) < 0.1


def test_exact_weak_errors_agree_with_direct_computation():
    p, h, damping = GaussianQuadratic([1.0]), 0.1, 1.5
    err = exact_momentum_weak_errors(p, [h], damping, [1.0], 2.0)
    a = momentum_moments(p, h**2, 1 - damping * h, [1.0], 20)
    b = sde_moments(momentum_sme(p, h**2, damping=damping), [1.0], a.times)
    assert err["x"][0] == pytest.approx(np.max(np.abs(a.position_mean - b.position_mean)), rel=1e-12)


def test_mc_weak_errors_match_exact_moments():
    p, h, damping, T, n = GaussianQuadratic([1.0]), 0.2, 1.5, 2.0, 20_000
    res = mc_momentum_weak_errors(p, [h], damping, [1.0], T, lambda x: x[:, 0], n_paths=n, rng=3)
    a = momentum_moments(p, h**2, 1 - damping * h, [1.0], 10, record=[10]).position_mean[-1, 0]
    b = sde_moments(momentum_sme(p, h**2, damping=damping), [1.0], [T]).position_mean[-1, 0]
    # 4.5 standard errors; the weak2 solver's bias at step h/4 = 0.05 is O(1e-3 * 0.05^2) here.
    assert abs(float(res.algorithm[0].mean) - a) < 4.5 * float(res.algorithm[0].stderr)
    assert abs(float(res.sme[0].mean) - b) < 4.5 * float(res.sme[0].stderr)
    assert res.stderr[0] == pytest.approx(np.hypot(res.algorithm[0].stderr, res.sme[0].stderr))


def test_sme_expectation_is_reproducible():
    p = GaussianQuadratic([1.0])
    a = sme_expectation(p, 0.1, 1.0, [1.0], 1.0, lambda x: x[:, 0], n_paths=500, rng=4)
    b = sme_expectation(p, 0.1, 1.0, [1.0], 1.0, lambda x: x[:, 0], n_paths=500, rng=4)
    assert float(a.mean) == float(b.mean) and a.mean.shape == ()


def test_weak_error_helpers_bad_input():
    p = GaussianQuadratic([1.0])
    with pytest.raises(ValueError, match="multiple"):
        exact_momentum_weak_errors(p, [0.3], 1.0, [1.0], 1.0)
    with pytest.raises(ValueError, match="damping"):
        exact_momentum_weak_errors(p, [0.5], 3.0, [1.0], 1.0)
    with pytest.raises(ValueError):
        mc_momentum_weak_errors(p, [], 1.0, [1.0], 1.0, lambda x: x[:, 0], n_paths=10)
