"""Tests of smecore.flows: modified flows, reshuffling, balance law, entropy production, HNAG."""

import numpy as np
import pytest

from smecore import fit_order
from smecore.flows.balance import (BalanceModel, VectorBalanceModel, balance_law_defect,
                                   balance_run, charge_rate_defect, equivariance_defect,
                                   invariance_defect, log_charge_gd_vs_flow)
from smecore.flows.entropy import (entropy_production, entropy_production_mc,
                                   isotropic_stationary_error, sme_entropy_rate)
from smecore.flows.hnag import (ADAM_HNAG, LyapunovIncreaseError, adam_full_batch,
                                exponential_decay_excess, hessian_damping_residual, hnag_flow,
                                hnag_semi_implicit, lyapunov_check)
from smecore.flows.modified import gradient_descent, trajectory_error, trajectory_orders
from smecore.flows.problems import FiniteSumQuadratic, make_logistic
from smecore.flows.reshuffling import (epoch_mean_exact, flow_at_epochs, local_epoch_errors,
                                       rr_mean_quadratic, sgd_monte_carlo)

ORDER_BAND = 0.2  # fitted orders must lie within +/- 0.2 of the claimed order
H2 = np.diag([1.0, 0.2])
SIG2 = np.array([[1.0, 0.6], [0.6, 1.0]])


def quad_sum(seed=3, n=4):
    rng = np.random.default_rng(seed)
    As = []
    for _ in range(n):
        B = rng.standard_normal((2, 2))
        As.append(B @ B.T / 2 + 0.3 * np.eye(2))
    return FiniteSumQuadratic(As, rng.standard_normal((n, 2)))


# --- IR1: modified flow orders -------------------------------------------------------------

@pytest.mark.parametrize("problem, x0, lr0, T", [
    (BalanceModel(1.0), [1.5, 0.2], 0.1, 4.0),
    (make_logistic(50, 2, reg=0.05, rng=1), [2.0, -2.0], 0.4, 8.0),
])
def test_modified_flow_order_two_plain_flow_order_one(problem, x0, lr0, T):
    out = trajectory_orders(problem, lr0 * 2.0 ** -np.arange(5), x0, T)
    lo, hi = out["fit_modified"].interval
    assert 2 - ORDER_BAND <= lo and hi <= 2 + ORDER_BAND
    # the mutant (plain gradient flow) fails the order-2 band and sits at order 1
    assert not 2 - ORDER_BAND <= out["fit_plain"].order <= 2 + ORDER_BAND
    assert abs(out["fit_plain"].order - 1) < ORDER_BAND


# --- IR2: random reshuffling -----------------------------------------------------------------

def test_rr_one_epoch_local_orders():
    p = make_logistic(4, 2, reg=0.1, separation=2.0, rng=0)
    lrs = 0.2 * 2.0 ** -np.arange(5)
    rr = local_epoch_errors(p, [1.0, -1.0], lrs)
    assert abs(fit_order(lrs, rr["rr"]).order - 3) < ORDER_BAND
    assert abs(fit_order(lrs, rr["gd"]).order - 2) < ORDER_BAND  # mutant rejected
    wr = local_epoch_errors(p, [1.0, -1.0], lrs, replacement=True)
    assert abs(fit_order(lrs, wr["gd"]).order - 3) < ORDER_BAND
    assert abs(fit_order(lrs, wr["rr"]).order - 2) < ORDER_BAND


def test_rr_quadratic_mean_follows_rr_flow():
    q = quad_sum()
    lrs = 0.05 * 2.0 ** -np.arange(4)
    errs = {"rr": [], "gd": []}
    for lr in lrs:
        ne = int(round(4.0 / (4 * lr)))
        m = rr_mean_quadratic(q, [2.0, 2.0], lr, ne)
        for f in errs:
            X = flow_at_epochs(q, [2.0, 2.0], lr, ne, f)
            errs[f].append(np.max(np.linalg.norm(m - X, axis=1)))
    assert abs(fit_order(lrs, errs["rr"]).order - 2) < ORDER_BAND
    assert abs(fit_order(lrs, errs["gd"]).order - 2) > ORDER_BAND


def test_rr_exact_agrees_with_epoch_enumeration():
    q = quad_sum()
    a = rr_mean_quadratic(q, [1.0, -1.0], 0.05, 1)[1]
    b = epoch_mean_exact(q, [1.0, -1.0], 0.05)
    np.testing.assert_allclose(a, b, rtol=1e-13)


def test_rr_monte_carlo_matches_exact_over_seeds():
    q = quad_sum()
    exact = rr_mean_quadratic(q, [2.0, 2.0], 0.05, 5)
    passed = 0
    for seed in range(20):
        m, s = sgd_monte_carlo(q, [2.0, 2.0], 0.05, 5, 2000, rng=seed)
        z = np.abs(m[1:] - exact[1:]) / s[1:]
        passed += bool(np.max(z) < 4)
    assert passed >= 19


def test_rr_monte_carlo_follows_rr_flow_and_rejects_gd_flow_over_seeds():
    p = make_logistic(6, 2, reg=0.1, separation=2.0, rng=0)
    x0, lr, epochs = [2.0, -2.0], 0.05, 10
    X = {f: flow_at_epochs(p, x0, lr, epochs, f)[-1] for f in ("rr", "gd")}
    ok_rr = ok_gd = 0
    for seed in range(20):
        m, s = sgd_monte_carlo(p, x0, lr, epochs, 4000, rng=[seed, 1])
        ok_rr += bool(np.max(np.abs(m[-1] - X["rr"]) / s[-1]) < 4)
        ok_gd += bool(np.max(np.abs(m[-1] - X["gd"]) / s[-1]) > 4)  # the mutant is rejected
    assert ok_rr >= 19 and ok_gd >= 19


def test_with_replacement_mean_equals_gd_on_quadratics():
    q = quad_sum()
    m, s = sgd_monte_carlo(q, [2.0, 2.0], 0.05, 3, 20000, rng=1, replacement=True)
    gd = gradient_descent(q, [2.0, 2.0], 0.05, 12)[::4]
    assert np.max(np.abs(m - gd)[1:] / s[1:]) < 4.5


# --- TI1, TI2: balance law and symmetries ----------------------------------------------------

@pytest.mark.parametrize("lr", [0.3, 0.1, 0.01])
def test_balance_law_exact_to_rounding(lr):
    run = balance_run(BalanceModel(1.0), [2.0, 0.3], lr, 200)
    assert balance_law_defect(run, lr) < 1e-13
    assert balance_law_defect(run, lr, law="conserved") > 1e-6
    assert balance_law_defect(run, lr, law="no_eta2") > 1e-3


def test_vector_balance_law_and_charge_rate():
    p = VectorBalanceModel(0.5, 3)
    run = balance_run(p, [1.0, 0.2, -0.4, 0.3, 0.1, 0.6], 0.2, 100)
    assert balance_law_defect(run, 0.2) < 1e-13
    pts = np.random.default_rng(0).standard_normal((50, 2))
    assert charge_rate_defect(BalanceModel(1.0), pts, 0.1) < 1e-12


def test_log_charge_orders():
    p = BalanceModel(1.0)
    lrs = 0.08 * 2.0 ** -np.arange(4)
    mod = [log_charge_gd_vs_flow(p, [1.5, 0.2], lr, 2.0) for lr in lrs]
    plain = [log_charge_gd_vs_flow(p, [1.5, 0.2], lr, 2.0, flow="plain") for lr in lrs]
    assert abs(fit_order(lrs, mod).order - 2) < ORDER_BAND
    assert abs(fit_order(lrs, plain).order - 1) < ORDER_BAND


def test_orthogonal_symmetry_preserved_rescaling_broken():
    p = VectorBalanceModel(1.0, 2)
    c, s = np.cos(0.9), np.sin(0.9)
    R = np.array([[c, -s], [s, c]])
    rot = lambda x: np.concatenate([x[..., :2] @ R.T, x[..., 2:] @ R.T], -1)
    resc = lambda x: np.concatenate([2 * x[..., :2], x[..., 2:] / 2], -1)
    x0 = [1.0, 0.5, 0.2, -0.3]
    assert equivariance_defect(p, x0, 0.1, 50, rot) < 1e-12
    assert equivariance_defect(p, x0, 0.1, 50, resc) > 1e-3
    pts = np.random.default_rng(1).standard_normal((30, 4))
    assert invariance_defect(p, pts, 0.1, rot) < 1e-12
    assert invariance_defect(p, pts, 0.1, resc) > 1e-3


# --- TI3: entropy production -----------------------------------------------------------------

def test_entropy_closed_forms_agree_and_leading_order():
    lrs = 0.4 * 2.0 ** -np.arange(6)
    ep = np.array([entropy_production(H2, SIG2, lr) for lr in lrs])
    kern = np.array([entropy_production(H2, SIG2, lr, form="kernel") for lr in lrs])
    np.testing.assert_allclose(ep[:4], kern[:4], rtol=1e-12)  # beyond, tr(.) - 2d cancels
    np.testing.assert_allclose(ep, kern, rtol=1e-9)
    Pi = sme_entropy_rate(H2, SIG2, 0.1)
    fit = fit_order(lrs, np.abs(ep / (lrs * Pi) - 1))
    assert abs(fit.order - 1) < ORDER_BAND


def test_entropy_monte_carlo_within_4_stderr_over_seeds():
    exact = entropy_production(H2, SIG2, 0.2)
    zs = [abs(m - exact) / s for m, s in
          (entropy_production_mc(H2, SIG2, 0.2, 20_000, rng=k) for k in range(20))]
    assert sum(z < 4 for z in zs) >= 19
    # the equilibrium mutant (EP = 0) is rejected for every seed
    ms = [entropy_production_mc(H2, SIG2, 0.2, 20_000, rng=k) for k in range(20)]
    assert all(m / s > 4 for m, s in ms)


def test_isotropic_noise_reversible_with_modified_potential():
    H = np.array([[1.0, 0.3], [0.3, 0.5]])
    assert entropy_production(H, np.eye(2), 0.2) < 1e-13
    assert isotropic_stationary_error(H, 0.7, 0.2) < 1e-12
    assert isotropic_stationary_error(H, 0.7, 0.2, "boltzmann") > 1e-3
    assert isotropic_stationary_error(H, 0.7, 0.2, "gd_modified") > 1e-3


# --- AH1: HNAG and Adam ----------------------------------------------------------------------

def test_hnag_lyapunov_decay_and_mutant():
    q = FiniteSumQuadratic([np.diag([1.0, 0.01])], [[0.0, 0.0]])
    kw = dict(beta=1.0, T=20.0, n_steps=2000, x_star=np.zeros(2), f_star=0.0)
    out = hnag_flow(q, [1.0, 1.0], mu=0.01, **kw)
    assert exponential_decay_excess(out) <= 1 + 1e-9
    assert np.all(out["gap"] <= out["E"] * (1 + 1e-12))
    assert hessian_damping_residual(q, out, 1.0, 0.01) < 1e-13
    bad = hnag_flow(q, [1.0, 1.0], mu=0.1, check=False, **kw)  # mu too large: mutant
    assert exponential_decay_excess(bad) > 1.01
    kw.update(x_star=np.array([3.0, 3.0]))  # a wrong minimiser: E must increase somewhere
    with pytest.raises(LyapunovIncreaseError, match="at step"):
        hnag_flow(q, [1.0, 1.0], mu=1.0, **kw)


def test_adam_and_scheme_run():
    p = make_logistic(100, 3, reg=0.05, rng=2)
    xs = adam_full_batch(p, np.ones(3), 0.05, 200)
    assert p.value(xs[-1]) < p.value(xs[0])
    x, _ = hnag_semi_implicit(p, np.ones(3), 200, alpha=0.3, beta=1.0, mu=0.05)
    assert p.value(x[-1]) - p.value(p.minimizer()) < 1e-6
    assert set(ADAM_HNAG) == {"determined", "undetermined"}


# --- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("call, name", [
    (lambda: gradient_descent(BalanceModel(1.0), [1.0, 0.0], 0.0, 3), "lr"),
    (lambda: gradient_descent(BalanceModel(1.0), [1.0, 0.0], -0.1, 3), "lr"),
    (lambda: gradient_descent(BalanceModel(1.0), [np.nan, 0.0], 0.1, 3), "x0"),
    (lambda: trajectory_error(BalanceModel(1.0), 0.1, [np.inf, 0.0], 1.0), "x0"),
    (lambda: hnag_flow(BalanceModel(1.0), [1.0, 0.0], 0.0, 1.0, 1.0, 10), "beta"),
    (lambda: hnag_flow(BalanceModel(1.0), [1.0, 0.0], 1.0, -1.0, 1.0, 10), "mu"),
    (lambda: hnag_flow(BalanceModel(1.0), [1.0, np.nan], 1.0, 1.0, 1.0, 10), "x0"),
    (lambda: adam_full_batch(BalanceModel(1.0), [1.0, 0.0], 0.0, 3), "lr"),
    (lambda: entropy_production(H2, SIG2, -0.1), "lr"),
    (lambda: sgd_monte_carlo(quad_sum(), [1.0, 1.0], 0.0, 1, 10), "lr"),
    (lambda: hnag_semi_implicit(BalanceModel(1.0), [1.0, 0.0], 5, alpha=0.1, beta=1.0, mu=0.0),
     "mu"),
])
def test_bad_input_names_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_lyapunov_increase_reports_step():
    with pytest.raises(LyapunovIncreaseError, match="step 3"):
        lyapunov_check(np.array([4.0, 3.0, 2.0, 2.5, 1.0]))
