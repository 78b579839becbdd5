"""smecore.algorithms.forms: the three normalisations of Nesterov agree path by path.

All tolerances are rounding error: the forms perform the same arithmetic in a
different order, so with identical gradients their paths differ only by a few
ulps (amplified at most by the linear recursion's bounded growth).
"""

import numpy as np
import pytest

from smecore import closed_forms as cf
from smecore.algorithms import (
    Nesterov,
    drive,
    paper_form,
    pytorch_form,
    pytorch_to_positions,
)
from smecore.moments import nesterov_deterministic_velocity, nesterov_moments
from smecore.problems import DoubleWell, GaussianQuadratic, GradientSequence

ROUNDING = 1e-12


@pytest.fixture
def problem():
    return GaussianQuadratic(np.array([[1.0, 0.3], [0.3, 0.5]]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_paper_form_is_library_shifted_by_one_index(problem, seed):
    lr, n = 0.01, 400
    oracle = GradientSequence(problem, n, rng=seed)
    lib = drive(Nesterov(lr), oracle, [1.0, -2.0], n)
    paper = paper_form(oracle, lr, [1.0, -2.0], n)
    assert np.max(np.abs(lib - paper)) < ROUNDING * np.max(np.abs(lib))


@pytest.mark.parametrize("mu", [0.0, 0.5, 0.9])
def test_pytorch_form_maps_to_library_positions(problem, mu):
    lr, n = 0.02, 300
    oracle = GradientSequence(problem, n, rng=7)
    lib = drive(Nesterov(lr, momentum=mu), oracle, [1.0, -2.0], n)
    theta, buf = pytorch_form(oracle, lr, mu, [1.0, -2.0], n)
    x = pytorch_to_positions(theta, buf, lr, mu)
    assert np.max(np.abs(lib - x)) < ROUNDING * np.max(np.abs(lib))
    # theta is the look-ahead point y_k = x_k + mu (x_k - x_{k-1}), not x_k.
    y = lib[1:] + mu * np.diff(lib, axis=0)
    assert np.max(np.abs(theta[1:] - y)) < ROUNDING * np.max(np.abs(lib))


def test_drive_deterministic_matches_exact_moments(problem):
    """With the mean gradient, drive() is the mean recursion of nesterov_moments."""
    lr, n = 0.01, 200
    xs = drive(Nesterov(lr), lambda y, k: problem.grad(y[None, :])[0], [1.0, -2.0], n)
    m = nesterov_moments(problem, lr, [1.0, -2.0], n)
    np.testing.assert_allclose(xs, m.position_mean, rtol=0, atol=1e-13)


def test_gradient_sequence_is_reproducible_and_bounded(problem):
    a, b = GradientSequence(problem, 5, rng=3), GradientSequence(problem, 5, rng=3)
    np.testing.assert_array_equal(a([0.5, 0.5], 4), b([0.5, 0.5], 4))
    with pytest.raises(IndexError):
        a([0.5, 0.5], 5)


def test_gradient_sequence_needs_gaussian_noise():
    with pytest.raises(TypeError, match="Gaussian"):
        GradientSequence(DoubleWell(), 3)
    with pytest.raises(TypeError, match="StochasticObjective"):
        GradientSequence(object(), 3)


def test_bad_arguments(problem):
    oracle = GradientSequence(problem, 3, rng=0)
    with pytest.raises(ValueError, match="momentum"):
        pytorch_form(oracle, 0.1, 1.0, [0.0, 0.0], 2)
    with pytest.raises(ValueError, match="lr"):
        paper_form(oracle, -0.1, [0.0, 0.0], 2)
    with pytest.raises(TypeError, match="callable"):
        paper_form(None, 0.1, [0.0, 0.0], 2)
    with pytest.raises(TypeError, match="Algorithm"):
        drive("Nesterov", oracle, [0.0, 0.0], 2)


def test_velocity_is_derivative_of_bessel_solution():
    lam, x0 = 2.0, 1.5
    t = np.linspace(0.0, 12.0, 241)
    eps = 1e-5
    fd = (cf.nesterov_deterministic_solution(lam, x0, t + eps)
          - cf.nesterov_deterministic_solution(lam, x0, t - eps)) / (2 * eps)
    # central difference: error ~ eps^2 |X'''| / 6, plus rounding ~ 1e-16 / eps
    np.testing.assert_allclose(nesterov_deterministic_velocity(lam, x0, t), fd, rtol=0, atol=1e-9)


def test_velocity_solves_the_su_boyd_candes_ode():
    """V' + (3/t) V + lam X = 0, with V' by central differences."""
    lam, x0 = 0.7, -1.0
    t = np.linspace(0.5, 20.0, 100)
    eps = 1e-5
    dv = (nesterov_deterministic_velocity(lam, x0, t + eps)
          - nesterov_deterministic_velocity(lam, x0, t - eps)) / (2 * eps)
    residual = dv + 3 / t * nesterov_deterministic_velocity(lam, x0, t) \
        + lam * cf.nesterov_deterministic_solution(lam, x0, t)
    assert np.max(np.abs(residual)) < 1e-8


def test_velocity_series_branch_matches_bessel():
    """Both sides of the switch u = 1e-4 agree with scipy's J2 to rounding."""
    import scipy.special

    u = np.array([1e-4 * (1 - 1e-9), 1e-4 * (1 + 1e-9), 3e-5])
    v = nesterov_deterministic_velocity(1.0, 1.0, u)
    np.testing.assert_allclose(v, -2 * scipy.special.jv(2, u) / u, rtol=1e-12)
    assert v[2] == pytest.approx(-u[2] / 4, rel=1e-8)
