"""Every claim of the SGD chapter rejects its mutants (issue 14): T1, L4, L5, S1, S2.

Each test runs the claim computation of the chapter (book/sgd.ipynb) through library
functions, at the chapter's quick sizes, with the true equations (the claim must pass)
and with every registered mutant of the result (some claim must fail). Deterministic
claims are checked once; Monte Carlo claims over 20 seeds (>= 19 must agree).
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from smecore import mutants
from smecore.estimation import fit_order
from smecore.problems import AffineStochasticField, DoubleWell, GaussianQuadratic
from smecore.studies import (affine_weak_errors, lemma5_z_scores, matched_weak_errors,
                             one_step_mismatches)

ORDER1, ORDER2, ORDER3 = (0.9, 1.1), (1.9, 2.1), (2.9, 3.1)


def inside(value, band):
    return band[0] <= value <= band[1]


@contextlib.contextmanager
def active(key):
    mutants.activate(key)
    try:
        yield
    finally:
        mutants.activate("")


# --- the claims, as the chapter computes them ------------------------------------------
LRS_Q = 2.0 ** -np.arange(5, 11)  # the fit range of the Gaussian-quadratic sections
QUADRATIC = GaussianQuadratic([1.0, 0.25])


def s_claims() -> dict:
    """S1 and S2 claims on the Gaussian quadratic (exact moments): name -> passed."""
    sme = {"sme1": {"order": 1}, "sme2": {"order": 2}}
    err = affine_weak_errors(QUADRATIC, [1.0, 1.0], LRS_Q, 4.0, sme)
    err0 = affine_weak_errors(QUADRATIC, [0.0, 0.0], LRS_Q, 4.0, sme)
    fit = lambda e: fit_order(LRS_Q, e).order  # noqa: E731
    return {
        "S1 order, g = f": inside(fit(err["sme1"]["f"]), ORDER1),
        "S1 order, g = x": inside(fit(err["sme1"]["x"]), ORDER1),
        # Fluctuations y = x / sqrt(eta) from the minimum: E|y|^2-type error = (error of f) / eta.
        "S1 fluctuation order": inside(fit(err0["sme1"]["f"] / LRS_Q), ORDER1),
        "S2 order, g = f": inside(fit(err["sme2"]["f"]), ORDER2),
        "S2 order, g = x": inside(fit(err["sme2"]["x"]), ORDER2),
    }


FIELD = AffineStochasticField([[-1.0, -2.0], [2.0, -1.0]], U=[0.5 * np.eye(2), np.zeros((2, 2))],
                              v=[[0.0, 0.0], [0.0, 0.7]])


def t1_claims() -> dict:
    """T1: the moment-matched SMEs of a one-step method that is not SGD (exact moments)."""
    lrs = 2.0 ** -np.arange(5, 10)
    err = matched_weak_errors(FIELD, [1.0, 0.0], lrs, 2.0)
    return {f"T1 order {order}, g = {g}": inside(fit_order(lrs, err[order][g]).order, band)
            for order, band in ((1, ORDER1), (2, ORDER2)) for g in ("sq", "x")}


def l4_claims() -> dict:
    """L4 on the double well at x = 0.3 (backward equation, the chapter's quick grid)."""
    lrs = 2.0 ** -np.arange(5, 9)
    one = one_step_mismatches(DoubleWell(), [0.3], lrs, domain=(-2, 2), n_grid=192, orders=(2,))
    return {f"L4 {key}": inside(fit_order(lrs, one[key]).order, ORDER3)
            for key in ("sme2_l4_mean", "sme2_l4_second", "sme2_third")}


def l5_exact_claim() -> bool:
    one = one_step_mismatches(DoubleWell(), [0.3], [2.0**-3, 2.0**-6], domain=(-2, 2), n_grid=64)
    return bool(one["l5"].max() <= 1e-8)


def l5_mc_claim(seed) -> bool:
    z = lemma5_z_scores(DoubleWell(), 2.0**-3, [0.3], n_paths=20_000, rng=seed)
    return bool(max(np.max(np.abs(z["mean"])), np.max(np.abs(z["second"]))) <= 4)


# --- the true equations pass, every mutant is killed ---------------------------------
def test_true_equations_pass_every_claim():
    for claims in (s_claims(), t1_claims(), l4_claims()):
        assert all(claims.values()), claims
    assert l5_exact_claim()


@pytest.mark.parametrize("key", [m.key for m in mutants.registered("S1") + mutants.registered("S2")])
def test_sme_mutants_are_killed(key):
    result = key.split(":")[0]
    with active(key):
        claims = s_claims()
    failed = [name for name, ok in claims.items() if name.startswith(result) and not ok]
    assert failed, f"{key} survived every {result} claim: {claims}"


def test_no_noise_survives_the_order_1_claims_alone():
    """Why S1 needs the fluctuation claim: without noise the SME is still of weak order 1."""
    with active("S1:no-noise"):
        claims = s_claims()
    assert claims["S1 order, g = f"] and claims["S1 order, g = x"]
    assert not claims["S1 fluctuation order"]


def test_t1_mutant_is_killed():
    with active("T1:no-sigma"):
        claims = t1_claims()
    assert not claims["T1 order 2, g = sq"], claims


def test_l4_mutant_is_killed():
    with active("L4:no-sigma"):
        claims = l4_claims()
    assert not claims["L4 sme2_l4_second"], claims


def test_l5_mutant_is_killed_exactly():
    with active("L5:no-sigma"):
        assert not l5_exact_claim()


def test_l5_monte_carlo_claim_passes_and_kills():
    true = sum(l5_mc_claim(seed) for seed in range(20))
    with active("L5:no-sigma"):
        mutant = sum(not l5_mc_claim(seed) for seed in range(20))
    assert true >= 19 and mutant >= 19, (true, mutant)


def test_every_mutant_of_the_chapter_is_tested():
    keys = {m.key for r in ("T1", "L4", "L5", "S1", "S2") for m in mutants.registered(r)}
    assert keys == {"T1:no-sigma", "L4:no-sigma", "L5:no-sigma",
                    "S1:no-noise", "S1:noise-doubled", "S1:noise-eta", "S1:time-scale-2",
                    "S2:no-noise", "S2:noise-doubled", "S2:no-correction", "S2:correction-1/2"}


def test_mutant_keywords_are_validated():
    from smecore.sme import moment_matched_sme, sgd_sme
    from smecore.moments import lemma4_moments, lemma5_moments
    with pytest.raises(ValueError, match="noise_scale"):
        sgd_sme(QUADRATIC, 0.1, noise_scale=-1.0)
    with pytest.raises(TypeError, match="time_scale"):
        sgd_sme(QUADRATIC, 0.1, time_scale=True)
    with pytest.raises(ValueError, match="noise_power"):
        sgd_sme(QUADRATIC, 0.1, noise_power=0.0)
    with pytest.raises(TypeError, match="sigma"):
        lemma5_moments(QUADRATIC, 0.1, [1.0, 1.0], sigma=1)
    with pytest.raises(TypeError, match="diffusion"):
        lemma4_moments(sgd_sme(QUADRATIC, 0.1), [1.0, 1.0], diffusion="no")
    with pytest.raises(ValueError, match="order"):
        moment_matched_sme(FIELD, 0.1, order=3)
    with pytest.raises(TypeError, match="StochasticObjective"):
        moment_matched_sme(object(), 0.1)


def test_vector_field_input_errors_and_moments():
    with pytest.raises(ValueError, match="square"):
        AffineStochasticField(np.ones((2, 3)), v=[[1.0, 0.0]])
    with pytest.raises(ValueError, match="at least one"):
        AffineStochasticField(np.eye(2))
    with pytest.raises(ValueError, match="same number"):
        AffineStochasticField(np.eye(2), U=np.zeros((2, 2, 2)), v=[[1.0, 0.0]])
    with pytest.raises(NotImplementedError):
        FIELD.value([0.0, 0.0])
    # The sampler against the exact moment engine: 4 standard errors.
    from smecore.algorithms import SGD, run
    from smecore.moments import sgd_moments
    lr, n = 0.125, 8
    stats = run(SGD(lr), FIELD, [1.0, 0.0], n, n_paths=40_000, rng=3, record=[n],
                observables={"x": lambda y: y, "sq": lambda y: (y**2).sum(axis=1)})
    exact = sgd_moments(FIELD, lr, [1.0, 0.0], n)
    assert np.all(np.abs(stats["x"].mean[-1] - exact.mean[-1]) <= 4 * stats["x"].stderr[-1])
    assert abs(stats["sq"].mean[-1] - np.trace(exact.second[-1])) <= 4 * stats["sq"].stderr[-1]


def test_moment_matching_reproduces_the_sgd_sme():
    """For SGD (h = -grad f_gamma) the moment-matched SME is sgd_sme, drift and noise."""
    from smecore.sme import moment_matched_sme, sgd_sme
    from smecore.problems import MultiplicativeQuadratic
    problem = MultiplicativeQuadratic([1.0, 0.5])
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    for order in (1, 2):
        a, b = moment_matched_sme(problem, 0.1, order), sgd_sme(problem, 0.1, order=order)
        np.testing.assert_allclose(a.drift(0.0, x), b.drift(0.0, x), rtol=1e-14)
        np.testing.assert_allclose(a.diffusion(0.0, x), b.diffusion(0.0, x), rtol=1e-14)
        np.testing.assert_allclose(a.linear.drift_matrix(0.0), b.linear.drift_matrix(0.0),
                                   rtol=1e-14)
