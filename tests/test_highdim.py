"""Tests of smecore.highdim: streaming SGD in R^N and its high-dimensional limits."""

import warnings

import numba
import numpy as np
import pytest

import smecore as sc
from smecore import highdim as hd
from smecore.highdim import _kernel


def teacher(N, seed=0):
    v = np.random.default_rng([seed, N]).standard_normal(N)
    return v / np.linalg.norm(v)


def power_law(N):
    lam = np.arange(1, N + 1) ** -0.5
    return lam / lam.mean()


# --------------------------------------------------------------------------
# The sampler and the simulator
# --------------------------------------------------------------------------


def test_ziggurat_normals_have_normal_moments():
    z = _kernel.normals(np.uint64(12345), 1_000_000, _kernel.KN, _kernel.WN, _kernel.FN)
    n = z.size
    assert abs(z.mean()) < 4 / np.sqrt(n)
    assert abs(z.var() - 1) < 4 * np.sqrt(2 / n)
    assert abs(np.mean(z**3)) < 4 * np.sqrt(15 / n)
    assert abs(np.mean(z**4) - 3) < 4 * np.sqrt(96 / n)
    # the tail beyond the ziggurat's base strip R = 3.654 is sampled separately
    p = 2 * 0.000129
    assert abs(np.mean(np.abs(z) > _kernel._R) - p) < 4 * np.sqrt(p / n)


def test_results_do_not_depend_on_chunking_or_threads():
    N, xs = 64, teacher(64)
    kw = dict(n_runs=6, x_star=xs, noise_var=0.2, record_every=16, rng=3)
    a = hd.streaming_sgd("lsq", N, 1.0, 640, **kw)
    b = hd.streaming_sgd("lsq", N, 1.0, 640, progress=True, **kw)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        c = hd.streaming_sgd("lsq", N, 1.0, 640, **kw)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(a.distance2, b.distance2)
    np.testing.assert_array_equal(a.distance2, c.distance2)
    np.testing.assert_array_equal(a.final, c.final)


def test_summary_statistics_match_the_final_iterate():
    N, xs = 50, teacher(50)
    lam = power_law(N)
    r = hd.streaming_sgd("lsq", N, 0.5, 100, n_runs=3, x_star=xs, cov=lam, noise_var=0.1,
                         record_every=50, rng=1)
    x = r.final
    np.testing.assert_allclose(r.sq_norm[:, -1], np.sum(x**2, axis=1), rtol=1e-12)
    np.testing.assert_allclose(r.overlap[:, -1], x @ xs, rtol=1e-12)
    np.testing.assert_allclose(r.risk_term[:, -1], np.sum(lam * (x - xs) ** 2, axis=1), rtol=1e-12)


def test_full_covariance_is_rotated_to_its_eigenbasis():
    N = 30
    g = np.random.default_rng(0)
    Q, _ = np.linalg.qr(g.standard_normal((N, N)))
    lam = power_law(N)
    cov = (Q * lam) @ Q.T
    xs = teacher(N)
    eig, basis = hd.data_covariance(cov, N)
    np.testing.assert_allclose(eig, np.sort(lam), rtol=1e-10)
    a = hd.streaming_sgd("lsq", N, 0.5, 60, n_runs=2, x_star=xs, cov=cov, record_every=30, rng=4)
    b = hd.streaming_sgd("lsq", N, 0.5, 60, n_runs=2, x_star=basis.T @ xs, cov=eig,
                         record_every=30, rng=4)
    np.testing.assert_allclose(a.risk_term, b.risk_term, rtol=1e-9)
    np.testing.assert_allclose(a.final @ basis, b.final, atol=1e-12)


# --------------------------------------------------------------------------
# HD1: exact recursion, limit ODE, critical value
# --------------------------------------------------------------------------


def test_exact_recursion_against_monte_carlo_19_of_20_seeds():
    N, c, s2 = 100, 1.5, 0.25
    xs = teacher(N)
    passed = 0
    for seed in range(20):
        r = hd.streaming_sgd("lsq", N, c, 3 * N, n_runs=100, x_star=xs, noise_var=s2,
                             record_every=N // 4, rng=seed)
        est = r.mean("distance2")
        exact = sc.closed_forms.online_lsq_discrete(c, N, s2, 1.0, r.steps)
        passed += np.max(np.abs(est.mean[1:] - exact[1:]) / est.stderr[1:]) <= 4
    assert passed >= 19


def test_ode_limit_against_recursion_order_one_and_mutant_rejected():
    Ns = 250 * 2 ** np.arange(5)

    def gap(c, N, corrector):
        k = np.arange(4 * N + 1)
        exact = sc.closed_forms.online_lsq_discrete(c, N, 0.25, 1.0, k)
        return np.max(np.abs(exact - hd.lsq_ode(c, 0.25, 1.0, k / N, corrector=corrector)))

    for c in (0.5, 1.5):
        fit = sc.fit_order(1 / Ns, [gap(c, N, True) for N in Ns])
        assert 0.9 <= fit.order <= 1.1
        assert fit.interval[0] <= 1.0 + 0.1 and fit.interval[1] >= 1.0 - 0.1
    mutant = sc.fit_order(1 / Ns, [gap(1.5, N, False) for N in Ns])
    assert not 0.9 <= mutant.order <= 1.1


def test_critical_multiplier_warns_and_stops_with_divergence_error():
    assert hd.critical_multiplier(1000) == pytest.approx(2000 / 1002, rel=1e-15)
    assert hd.lsq_ode(2.0, 0.5, 1.0, [0.0, 1.0])[-1] == pytest.approx(3.0)  # linear growth at c = 2
    xs = teacher(100)
    with pytest.warns(UserWarning, match="grows geometrically"):
        with pytest.raises(sc.DivergenceError, match="diverged at step"):
            hd.streaming_sgd("lsq", 100, 2.5, 100 * 400, n_runs=4, x_star=xs, noise_var=0.1, rng=0)
    with pytest.raises(ValueError, match="c must be < 2"):
        hd.lsq_ou(2.0, 0.5)
    with pytest.warns(UserWarning, match="grows geometrically"):  # anisotropic data too
        hd.streaming_sgd("lsq", 100, 2.0, 10, n_runs=2, x_star=xs, cov=power_law(100), rng=0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(N=0), "N must be >= 1"),
    (dict(n_runs=0), "n_runs must be >= 1"),
    (dict(cov=-np.ones(8)), "cov must be positive definite"),
    (dict(cov=np.diag([1.0] * 7 + [-1.0])), "cov must be positive definite"),
    (dict(cov=np.ones(5)), r"cov must have shape"),
    (dict(x_star=np.ones(3)), r"x_star must have shape"),
    (dict(model="logistic"), "model must be one of"),
    (dict(epsilon=0.1), "epsilon is only used"),
    (dict(c=-1.0), "c must be > 0"),
    (dict(n_steps=10, record_every=3), "must be a multiple"),
])
def test_bad_input_names_the_argument(kwargs, match):
    args = dict(model="lsq", N=8, c=1.0, n_steps=8, n_runs=2, x_star=np.ones(8) / np.sqrt(8))
    args.update(kwargs)
    if "x_star" not in kwargs and args["N"] != 8:
        args["x_star"] = np.ones(max(args["N"], 1))
    with pytest.raises((ValueError, TypeError), match=match):
        hd.streaming_sgd(args.pop("model"), args.pop("N"), args.pop("c"), args.pop("n_steps"),
                         **args)


def test_non_symmetric_covariance_rejected():
    with pytest.raises(ValueError, match="cov must be symmetric"):
        hd.data_covariance([[1.0, 0.5], [0.0, 1.0]], 2)


# --------------------------------------------------------------------------
# HD2: OU fluctuations
# --------------------------------------------------------------------------


def test_ou_prediction_closed_form():
    p = hd.lsq_ou(1.5, 0.25)
    D = 1.5 * 0.25 / 0.5
    s2 = 2 * (1.5**2 - 3) ** 2 * D**2 + (3 - 2 * 1.5**2) ** 2 * D * 0.25 + 2 * 1.5**4 * 0.25**2
    assert p.fixed_point == pytest.approx(D) and p.rate == pytest.approx(0.75)
    assert p.variance == pytest.approx(s2 / 1.5) and p.correlation_time == pytest.approx(4 / 3)
    mutant = hd.lsq_ou(1.5, 0.25, corrector=False)
    assert mutant.rate == 3.0 and mutant.fixed_point == 0.0


def test_ou_fluctuations_against_simulation_and_mutant_rejected():
    N, c, s2 = 400, 1.5, 0.25
    xs = teacher(N)
    u = np.random.default_rng(1).standard_normal(N)
    u -= (u @ xs) * xs
    d_inf = c * s2 / (2 - c * (N + 2) / N)
    r = hd.streaming_sgd("lsq", N, c, 25 * N, n_runs=48, x_star=xs,
                         x0=xs + np.sqrt(d_inf) * u / np.linalg.norm(u), noise_var=s2,
                         record_every=N // 8, rng=2)
    est = hd.ou_estimates(r.distance2, r.times, d_inf, np.sqrt(N), t_burn=5.0, lag=1.0)
    pred = hd.lsq_ou(c, s2)
    assert abs(est.variance - pred.variance) <= 4 * est.variance_stderr
    assert abs(est.rate - pred.rate) <= 4 * est.rate_stderr
    assert abs(est.rate - hd.lsq_ou(c, s2, corrector=False).rate) > 4 * est.rate_stderr


def test_ou_estimates_bad_lag():
    with pytest.raises(ValueError, match="lag"):
        hd.ou_estimates(np.zeros((3, 10)), np.arange(10) / 8, 0.0, 1.0, t_burn=0, lag=0.2)


# --------------------------------------------------------------------------
# HD3: the neuron
# --------------------------------------------------------------------------


def test_neuron_expectations_against_monte_carlo():
    g = np.random.default_rng(0)
    m, Q, s2 = 0.3, 0.5, 0.1
    n = 400_000
    z1, z2, xi = g.standard_normal((3, n))
    u = np.sqrt(Q) * z1
    v = m / np.sqrt(Q) * z1 + np.sqrt(1 - m**2 / Q) * z2
    from scipy.special import erf
    dphi = np.sqrt(2 / np.pi) * np.exp(-u**2 / 2)
    G = (erf(u / np.sqrt(2)) - erf(v / np.sqrt(2)) - np.sqrt(s2) * xi) * dphi
    for exact, samples in zip(hd.neuron_expectations(m, Q, 1.0, s2), (G * v, G * u, G**2)):
        assert abs(samples.mean() - exact) <= 4 * samples.std() / np.sqrt(n)


def test_neuron_ode_against_simulation_and_mutant_rejected():
    N, c, s2, m0, Q0 = 1000, 1.5, 0.1, 0.2, 0.29
    xs = np.zeros(N)
    xs[0] = 1.0
    x0 = np.zeros(N)
    x0[0], x0[1] = m0, np.sqrt(Q0 - m0**2)
    r = hd.streaming_sgd("neuron", N, c, 4 * N, n_runs=32, x_star=xs, x0=x0, noise_var=s2,
                         record_every=N // 2, rng=5)
    m, Q = hd.neuron_ode(c, m0, Q0, r.times, noise_var=s2)
    _, Qm = hd.neuron_ode(c, m0, Q0, r.times, noise_var=s2, corrector=False)
    est = r.mean("sq_norm")
    z = np.abs(est.mean[1:] - Q[1:]) / est.stderr[1:]
    z_mut = np.abs(est.mean[1:] - Qm[1:]) / est.stderr[1:]
    assert np.max(z) <= 4 and np.max(z_mut) > 4
    est = r.mean("overlap")
    assert np.max(np.abs(est.mean[1:] - m[1:]) / est.stderr[1:]) <= 4


def test_neuron_ode_tanh_teacher_is_fixed_and_bad_start_rejected():
    m, Q = hd.neuron_ode(1.0, 1.0, 1.0, [0.0, 2.0], activation="tanh")
    assert m[-1] == pytest.approx(1.0) and Q[-1] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="Gram"):
        hd.neuron_ode(1.0, 2.0, 1.0, [0.0, 1.0])


# --------------------------------------------------------------------------
# HS1: homogenized SGD
# --------------------------------------------------------------------------


def test_sgd_risk_recursion_matches_the_isotropic_closed_form():
    N, c, s2 = 200, 1.2, 0.3
    r0 = np.full(N, 1.0 / N)
    risk = hd.sgd_risk(np.ones(N), c, s2, r0, 3 * N, record_every=N)
    D = sc.closed_forms.online_lsq_discrete(c, N, s2, 1.0, np.arange(4) * N)
    np.testing.assert_allclose(risk, 0.5 * (D + s2), rtol=1e-12)


@pytest.mark.slow
def test_homogenized_sgd_against_sgd_d1000_19_of_20_seeds():
    N, c, s2 = 1000, 1.0, 0.1
    lam, xs = power_law(N), teacher(N)
    times = np.arange(9) / 4
    hsgd = hd.hsgd_risk_ode(lam, c, s2, xs**2, times)
    mutant = hd.hsgd_risk_ode(lam, c, s2, xs**2, times, noise="isotropic")
    passed = rejected = 0
    for seed in range(20):
        r = hd.streaming_sgd("lsq", N, c, 2 * N, n_runs=32, x_star=xs, noise_var=s2, cov=lam,
                             record_every=N // 4, rng=seed)
        est = r.mean("risk")
        passed += np.max(np.abs(est.mean[1:] - hsgd[1:]) / est.stderr[1:]) <= 4
        rejected += np.max(np.abs(est.mean[1:] - mutant[1:]) / est.stderr[1:]) > 4
    assert passed >= 19 and rejected >= 19


def test_sgd_and_homogenized_risk_gap_is_order_one_over_d():
    Ns = 256 * 2 ** np.arange(4)
    gaps = []
    for N in Ns:
        lam, xs = power_law(N), teacher(N)
        exact = hd.sgd_risk(lam, 1.0, 0.1, xs**2, 4 * N, record_every=N // 16)
        _, volterra = hd.volterra_risk(lam, 1.0, 0.1, xs**2, 4.0, 1024)
        gaps.append(np.max(np.abs(exact - volterra[::16])))
    assert 0.85 <= sc.fit_order(1 / Ns, gaps).order <= 1.15


def test_volterra_solver_is_second_order_and_limits_agree():
    lam, xs = power_law(300), teacher(300)
    ref = hd.hsgd_risk_ode(lam, 1.0, 0.1, xs**2, np.linspace(0, 2, 9), rtol=1e-12)
    grid = 128 * 2 ** np.arange(4)
    errs = [np.max(np.abs(hd.volterra_risk(lam, 1.0, 0.1, xs**2, 2.0, n)[1][:: n // 8] - ref))
            for n in grid]
    assert 1.85 <= sc.fit_order(2.0 / grid, errs).order <= 2.15
    assert hd.hsgd_fixed_point(lam, 1.5, 0.1) == pytest.approx(hd.volterra_limit(lam, 1.5, 0.1),
                                                                rel=1e-10)
    assert hd.volterra_limit(lam, 2.0, 0.1) == float("inf")


def test_hsgd_paths_mean_risk_close_to_the_ode():
    lam, xs = power_law(200), teacher(200)
    t, risk = hd.hsgd_paths(lam, 1.0, 0.1, xs, 1.0, 400, n_runs=200, rng=0)
    ode = hd.hsgd_risk_ode(lam, 1.0, 0.1, xs**2, t[::100])
    se = risk.std(0, ddof=1)[::100] / np.sqrt(200)
    assert np.max(np.abs(risk.mean(0)[::100] - ode)[1:] / se[1:]) <= 4


# --------------------------------------------------------------------------
# HS2: adversarial least squares
# --------------------------------------------------------------------------


def test_adversarial_loss_is_the_worst_case():
    g = np.random.default_rng(0)
    a, y, x = g.standard_normal((500, 10)), g.standard_normal(500), g.standard_normal(10)
    closed = hd.adversarial_loss(a, y, x, 0.4)
    at_star = 0.5 * ((a + hd.worst_perturbation(a, y, x, 0.4)) @ x - y) ** 2
    np.testing.assert_allclose(at_star, closed, rtol=1e-12)
    d = g.standard_normal((500, 10))
    d *= 0.4 / np.linalg.norm(d, axis=1, keepdims=True)
    assert np.all(0.5 * ((a + d) @ x - y) ** 2 <= closed * (1 + 1e-12))


def test_expected_adversarial_gradient_against_monte_carlo():
    g = np.random.default_rng(1)
    N, n = 8, 400_000
    lam, xs, x = power_law(N), teacher(N), g.standard_normal(N) / 2
    a = g.standard_normal((n, N)) * np.sqrt(lam)
    grads = hd.adversarial_gradient(a, a @ xs + 0.3 * g.standard_normal(n), x, 0.3)
    expected, alpha, lam_x = hd.expected_adversarial_gradient(x, xs, lam, 0.09, 0.3)
    assert alpha > 1 and lam_x > 0
    assert np.max(np.abs(grads.mean(0) - expected) / (grads.std(0) / np.sqrt(n))) <= 4


def test_adversarial_ode_reduces_to_least_squares_without_budget():
    t = np.linspace(0, 3, 7)
    m, Q = hd.adversarial_ode(1.2, 0.1, 0.5, t, noise_var=0.3)
    D0 = 0.5 - 0.2 + 1
    np.testing.assert_allclose(Q - 2 * m + 1, hd.lsq_ode(1.2, 0.3, D0, t), rtol=1e-7)


def test_adversarial_ode_against_simulation_and_fixed_point_is_ridge():
    N, c, eps, s2 = 1000, 1.0, 0.3, 0.05
    xs = teacher(N)
    u = np.random.default_rng(2).standard_normal(N)
    u -= (u @ xs) * xs
    u *= 0.2 / np.linalg.norm(u)
    r = hd.streaming_sgd("adversarial", N, c, 3 * N, n_runs=32, x_star=xs, x0=u, noise_var=s2,
                         epsilon=eps, record_every=N // 2, rng=3)
    _, Q = hd.adversarial_ode(c, 0.0, 0.04, r.times, noise_var=s2, epsilon=eps)
    _, Qm = hd.adversarial_ode(c, 0.0, 0.04, r.times, noise_var=s2, epsilon=eps,
                               corrector=False)
    est = r.mean("sq_norm")
    assert np.max(np.abs(est.mean[1:] - Q[1:]) / est.stderr[1:]) <= 4
    assert np.max(np.abs(est.mean[1:] - Qm[1:]) / est.stderr[1:]) > 4
    fm, fQ = hd.adversarial_fixed_point(c, noise_var=s2, epsilon=eps)
    lam_eff = hd.effective_ridge(fm, fQ, noise_var=s2, epsilon=eps)
    assert fm * (1 + lam_eff) == pytest.approx(1.0, rel=1e-9)


def test_adversarial_risk_rises_from_the_minimiser_but_least_squares_stays():
    N, eps = 300, 0.3
    xs = teacher(N)
    r = hd.streaming_sgd("adversarial", N, 0.5, 3 * N, n_runs=16, x_star=xs, x0=xs, epsilon=eps,
                         record_every=N, rng=4)
    R = hd.adversarial_risk(r.overlap, r.sq_norm, epsilon=eps)
    assert R[:, 0].mean() == pytest.approx(eps**2 / 2)
    se = R[:, -1].std(ddof=1) / 4
    assert R[:, -1].mean() - eps**2 / 2 > 4 * se
    plain = hd.streaming_sgd("lsq", N, 0.5, 3 * N, n_runs=4, x_star=xs, x0=xs, rng=4)
    assert np.max(np.abs(plain.final - xs)) == 0.0  # no label noise: x* is never left


def test_fit_ridge_recovers_lambda_and_rejects_bad_input():
    lam, xs = power_law(50), teacher(50)
    runs = lam * xs / (lam + 0.3) + 1e-3 * np.random.default_rng(0).standard_normal((20, 50))
    lam_hat, se = hd.fit_ridge(runs, xs, lam)
    assert abs(lam_hat - 0.3) <= 4 * se
    with pytest.raises(ValueError, match="at least 2 runs"):
        hd.fit_ridge(runs[:1], xs, lam)
    with pytest.raises(ValueError, match="nonzero"):
        hd.adversarial_gradient(np.ones((2, 3)), np.zeros(2), np.zeros(3), 0.1)


def test_no_warnings_from_the_noiseless_fixed_point():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m, Q = hd.adversarial_fixed_point(0.5, epsilon=0.3)
    assert hd.adversarial_risk(m, Q, epsilon=0.3) > 0.3**2 / 2
