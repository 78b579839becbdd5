"""Every claim of the dynamics chapter (D1, A1, D2) rejects its mutants and accepts the truth.

Each test runs the chapter's claim computation (``smecore.studies.dynamics``) at
quick-mode sizes, once with the true formulas and once per mutant: deterministic
(exact or backward) claims once, Monte Carlo claims over 20 seeds (>= 19 must agree).
"""

import contextlib
import math

import numpy as np
import pytest

import smecore
from smecore import DivergenceError, mutants, studies
from smecore.algorithms import CSGDSchedule, scaled_batch_size
from smecore.algorithms.control import csgd_optimal_multiplier, csgd_optimal_path, feedback_gain
from smecore.moments import csgd_multiplier_ode, sgd_quadratic_level, sgd_quadratic_phases
from smecore.problems import DoubleWell, GaussianQuadratic, make_linear_regression
from smecore.sme import asymptotic_expansion

SEEDS = range(20)
LRS_LEVEL = [0.25, 0.5, 0.75, 1.25, 1.5]
GRID = dict(n_grid=384, domain=(-1.6, 1.6))
DYNAMICS_MUTANTS = {
    "D1": {"level-without-eta-correction", "flow-contraction"},
    "A1": {"no-first-order", "feedback-gain-1/2", "no-feedback"},
    "D2": {"batch-not-scaled", "lr-with-batch-squared"},
}


@contextlib.contextmanager
def active(key):
    mutants.activate(key)
    try:
        yield
    finally:
        mutants.activate("")


def test_mutants_registered_for_every_result():
    for result, names in DYNAMICS_MUTANTS.items():
        assert names <= {m.name for m in mutants.registered(result)}
        for name in names:
            assert mutants.get(f"{result}:{name}").description


# ----------------------------------------------------------------------------- D1
def phase_claim():
    """The chapter's split claim: kappa = 1, 10, 100, lr = 0.1, three crossover times."""
    worst = 0.0
    for kappa in (1, 10, 100):
        lam = np.array([1.0, 1.0 / kappa])
        x0 = 1 / np.sqrt(lam)
        n = int(np.ceil(3 * smecore.moments.crossover_time(lam, 0.1, x0) / 0.1))
        worst = max(worst, *studies.phase_split_errors(lam, 0.1, x0, n))
    return worst


@pytest.mark.parametrize("key", [None, "D1:flow-contraction", "D1:level-without-eta-correction"])
def test_d1_phase_split_claim(key):
    with active(key):
        err = phase_claim()
    assert (err <= 1e-8) == (key is None)


@pytest.mark.parametrize("key", [None, "D1:level-without-eta-correction", "D1:flow-contraction"])
def test_d1_level_exact_claim(key):
    with active(key):
        err = studies.sgd_level_check(LRS_LEVEL, n_paths=2, rng=0).rel_error
    assert (err <= 1e-8) == (key is None)


@pytest.mark.parametrize("key", [None, "D1:level-without-eta-correction", "D1:flow-contraction"])
def test_d1_level_monte_carlo_claim(key):
    """The simulations do not depend on the mutant; the predictions do."""
    passes = 0
    for s in SEEDS:
        with active(key):
            check = studies.sgd_level_check(LRS_LEVEL, n_paths=2000, rng=[s, 2])
        passes += bool(check.z.max() <= 4)
    if key is None:
        assert passes >= 19
    else:
        assert passes <= 1


def test_d1_level_formula_and_errors():
    assert sgd_quadratic_level([1.0], 0.5) == pytest.approx(0.5 / (2 * 1.5), rel=1e-14)
    with active("D1:level-without-eta-correction"):
        assert sgd_quadratic_level([1.0], 0.5) == pytest.approx(0.5 / 4, rel=1e-14)
    with pytest.raises(DivergenceError):
        sgd_quadratic_level([1.0], 2.0)
    with pytest.raises(TypeError, match="eta_correction"):
        sgd_quadratic_phases([1.0], 0.1, [1.0], [1], eta_correction=1)


# ----------------------------------------------------------------------------- A1
@pytest.mark.parametrize("key", [None, "A1:no-first-order"])
def test_a1_expansion_variance_order_claim(key):
    with active(key):
        e = studies.expansion_backward_errors(DoubleWell(), 0.5, 4.0, [0.02, 0.01, 0.005, 0.0025], **GRID)
    assert 0.9 <= e.fit_mean.order <= 1.1  # the mean claim does not see the first-order term
    assert (1.9 <= e.fit_var.order <= 2.1) == (key is None)


@pytest.mark.slow
def test_a1_expansion_variance_monte_carlo_claim():
    true_pass, mutant_pass = 0, 0
    for s in SEEDS:
        est, se, P = studies.expansion_variance_mc(DoubleWell(), [0.5], 4.0, 0.0025, n_paths=4000,
                                                   rng=[s, 3, 9])
        true_pass += abs(est - P) <= 4 * se
        with active("A1:no-first-order"):
            P_mutant = float(np.trace(asymptotic_expansion(DoubleWell(), [0.5], [0.0, 4.0]).cov1[-1]))
        mutant_pass += abs(est - P_mutant) <= 4 * se
    assert P_mutant == 0.0
    assert true_pass >= 19 and mutant_pass <= 1


@pytest.mark.parametrize("key", [None, "A1:feedback-gain-1/2", "A1:no-feedback"])
def test_a1_csgd_exact_claim(key):
    with active(key):
        c = studies.csgd_check(1.0, 0.1, 1.0, 40.0, n_paths=2, rng=0)
    assert (0 <= c.excess <= 0.1**2) == (key is None)


@pytest.mark.parametrize("key", [None, "A1:feedback-gain-1/2", "A1:no-feedback"])
def test_a1_csgd_monte_carlo_claim(key):
    passes = 0
    for s in SEEDS:
        with active(key):
            c = studies.csgd_check(1.0, 0.1, 1.0, 40.0, n_paths=4000, rng=[s, 5, 9])
        passes += abs(c.mc_mean - c.m_opt) <= 4 * c.mc_stderr
    if key is None:
        assert passes >= 19
    else:
        assert passes <= 1


def test_a1_feedback_laws():
    assert float(csgd_optimal_multiplier(1.0, 0.05, 0.1, 1.0)) == pytest.approx(0.5)
    with active("A1:feedback-gain-1/2"):
        assert float(csgd_optimal_multiplier(1.0, 0.05, 0.1, 1.0)) == pytest.approx(0.25)
    with active("A1:no-feedback"):
        assert float(csgd_optimal_multiplier(1.0, 0.05, 0.1, 1.0)) == 1.0
        assert CSGDSchedule(1.0, 1.0, 0.1, 1.0).switch_time == math.inf
    t = np.linspace(0, 30, 61)
    for gain in (0.5, 1.0, 1.5):  # closed form and ODE agree for every gain
        m, _ = csgd_optimal_path(1.0, 1.0, 0.1, 1.0, t, gain=gain)
        m_ode, _ = csgd_multiplier_ode(1.0, 1.0, 0.1, 1.0, t, gain=gain)
        np.testing.assert_allclose(m_ode, m, rtol=1e-9)
    for bad in (0.0, 2.0, -1.0):
        with pytest.raises(ValueError, match="gain"):
            feedback_gain(bad)
    with pytest.raises(TypeError, match="gain"):
        feedback_gain("1")


def test_a1_expansion_bad_input():
    with pytest.raises(TypeError, match="first_order"):
        asymptotic_expansion(GaussianQuadratic([1.0]), [1.0], [0.0, 1.0], first_order="yes")
    e = asymptotic_expansion(GaussianQuadratic([1.0]), [1.0], [0.0, 1.0], first_order=False)
    assert np.all(e.cov1 == 0)


# ----------------------------------------------------------------------------- D2
@pytest.fixture(scope="module")
def regression():
    return make_linear_regression(500, 10, noise=0.5, rng=1)


@pytest.mark.parametrize("key", [None, "D2:batch-not-scaled", "D2:lr-with-batch-squared"])
def test_d2_family_order_claims(regression, key):
    with active(key):
        family = studies.scaling_family(regression, 0.01, [1, 2, 4, 8], 8.0, np.zeros(10))
    fit_gap, fit_level = family.fits(4)
    assert (0.9 <= fit_gap.order <= 1.1) == (key is None)
    assert (0.9 <= fit_level.order <= 1.1) == (key is None)


@pytest.mark.parametrize("key", [None, "D2:batch-not-scaled", "D2:lr-with-batch-squared"])
def test_d2_level_claims(key):
    exact_pass, mc_pass = [], 0
    for s in SEEDS:
        with active(key):
            c = studies.scaling_level_check([0.1, 0.4, 1.6], 0.05, n_paths=2000, rng=[s, 4, 9])
        exact_pass.append(c.rel_error <= 1e-8)
        mc_pass += bool(c.z.max() <= 4)
    assert all(exact_pass) == (key is None) and any(exact_pass) == (key is None)
    if key is None:
        assert mc_pass >= 19
    else:
        assert mc_pass <= 1


def test_d2_scaled_batch_size():
    assert [scaled_batch_size(m * 0.01, 0.01) for m in (1, 2, 4, 8, 128)] == [1, 2, 4, 8, 128]
    with active("D2:batch-not-scaled"):
        assert scaled_batch_size(0.08, 0.01) == 1
    with active("D2:lr-with-batch-squared"):
        assert scaled_batch_size(0.16, 0.01) == 4
    with pytest.raises(ValueError, match="lr must be >= rho"):
        scaled_batch_size(0.005, 0.01)
    with pytest.raises(ValueError, match="rho"):
        scaled_batch_size(0.1, 0.0)
    with pytest.raises(ValueError, match="batch_exponent"):
        scaled_batch_size(0.1, 0.01, batch_exponent=-1.0)
