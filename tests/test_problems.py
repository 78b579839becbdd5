"""Tests of the problems of helper A: multiplicative quadratic, linear regression,
double well, user-defined objectives and the finite-sum base class."""

import itertools

import numpy as np
import pytest

from smecore.estimation import PathRandom
from smecore.problems.base import StochasticObjective
from smecore.problems.custom import FiniteSumObjective, FunctionObjective
from smecore.problems.multiplicative import MultiplicativeQuadratic
from smecore.problems.nonlinear import DoubleWell
from smecore.problems.regression import LinearRegression, make_linear_regression

# -- problem zoo ---------------------------------------------------------------------


def _custom_problem(batch_size=1):
    """f(x) = sum cos(x_i) + |x|^2 / 2 with noise grad + diag(1 + x_i^2)^{1/2} z."""

    def value(x):
        return np.cos(x).sum(-1) + 0.5 * (x**2).sum(-1)

    def grad(x):
        return -np.sin(x) + x

    def sample_grad(x, rng):
        return grad(x) + np.sqrt(1 + x**2) * rng.standard_normal(x.shape)

    def noise_cov(x):
        return (1 + x**2)[..., :, None] * np.eye(x.shape[-1])

    return FunctionObjective(2, value, grad, sample_grad, noise_cov=noise_cov, batch_size=batch_size)


def _regression(batch_size=1):
    A = np.array([[1.0, 0.5], [-0.3, 2.0], [0.7, -1.2], [1.5, 0.1]])
    y = np.array([0.4, -1.0, 2.0, 0.3])
    return LinearRegression(A, y, batch_size=batch_size)


PROBLEMS = {
    "multiplicative": lambda: MultiplicativeQuadratic([1.0, 2.5]),
    "multiplicative_B3": lambda: MultiplicativeQuadratic([1.0, -0.5, 3.0], batch_size=3),
    "regression": _regression,
    "regression_B2": lambda: _regression(2),
    "double_well": lambda: DoubleWell(),
    "double_well_weighted_B2": lambda: DoubleWell(
        shifts=[-1.0, 0.5, 0.0], curvatures=[1.0, 0.0, -0.5], probs=[0.2, 0.4, 0.4], batch_size=2
    ),
    "custom_B4": lambda: _custom_problem(4),
}


@pytest.fixture(params=sorted(PROBLEMS))
def problem(request):
    return PROBLEMS[request.param]()


def _point(problem, seed=0):
    return np.random.default_rng(seed).uniform(-1.5, 1.5, problem.dim)


# -- generic contract --------------------------------------------------------------------


@pytest.mark.parametrize("lead", [(), (5,), (2, 3)])
def test_shapes(problem, lead):
    d = problem.dim
    x = np.random.default_rng(1).uniform(-1, 1, lead + (d,))
    assert np.shape(problem.value(x)) == lead
    assert problem.grad(x).shape == lead + (d,)
    assert problem.hessian(x).shape == lead + (d, d)
    assert problem.noise_cov(x).shape == lead + (d, d)
    L = problem.noise_factor(x)
    assert L.shape[:-1] == lead + (d,)
    np.testing.assert_allclose(L @ np.swapaxes(L, -1, -2), problem.noise_cov(x), rtol=1e-10, atol=1e-12)


def test_grad_and_hessian_match_finite_differences(problem):
    x, h = _point(problem), 1e-5
    eye = np.eye(problem.dim)
    fd_grad = (problem.value(x + h * eye) - problem.value(x - h * eye)) / (2 * h)
    np.testing.assert_allclose(problem.grad(x), fd_grad, rtol=1e-7, atol=1e-8)
    fd_hess = (problem.grad(x + h * eye) - problem.grad(x - h * eye)) / (2 * h)
    np.testing.assert_allclose(problem.hessian(x), fd_hess, rtol=1e-7, atol=1e-8)


def _within_stderr(samples, expected, n_se=4.0, atol=1e-12):
    mean = samples.mean(axis=0)
    stderr = samples.std(axis=0, ddof=1) / np.sqrt(samples.shape[0])
    return np.abs(mean - expected) <= n_se * stderr + atol


def test_sample_grad_mean_and_covariance(problem):
    x = _point(problem, seed=2)
    n = 200_000
    g = problem.sample_grad(np.broadcast_to(x, (n, problem.dim)), np.random.default_rng(3))
    assert g.shape == (n, problem.dim)
    assert np.all(_within_stderr(g, problem.grad(x)))
    centred = g - problem.grad(x)  # exact mean, so the products are unbiased
    products = centred[:, :, None] * centred[:, None, :]
    assert np.all(_within_stderr(products, problem.noise_cov(x)))


def test_sample_grad_accepts_path_random(problem):
    rand = PathRandom.from_rng(5, 10, block_size=4)
    g = problem.sample_grad(np.zeros((10, problem.dim)), rand)
    assert g.shape == (10, problem.dim) and np.all(np.isfinite(g))


def test_affine_law_matches_grad_and_noise_cov(problem):
    if problem.affine is None:
        pytest.skip("not affine")
    x = np.random.default_rng(4).normal(size=(6, problem.dim))
    z = np.concatenate([x, np.ones((6, 1))], axis=1)
    np.testing.assert_allclose(z @ problem.affine.mean.T, problem.grad(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(problem.affine.noise_cov_at(x), problem.noise_cov(x), rtol=1e-12, atol=1e-12)


def test_with_batch_size_scales_noise(problem):
    x = _point(problem)
    bigger = problem.with_batch_size(problem.batch_size * 5)
    np.testing.assert_allclose(bigger.noise_cov(x) * 5, problem.noise_cov(x), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(bigger.grad(x), problem.grad(x))
    if problem.affine is not None:
        np.testing.assert_allclose(bigger.affine.noise_cov_at(x), bigger.noise_cov(x), rtol=1e-12, atol=1e-14)


def test_wrong_point_dimension_raises(problem):
    with pytest.raises(ValueError, match="x must have shape"):
        problem.grad(np.zeros(problem.dim + 1))


def test_finite_sum_consistency(problem):
    if not isinstance(problem, FiniteSumObjective):
        pytest.skip("not a finite sum")
    x = np.random.default_rng(6).normal(size=(3, problem.dim))
    p = problem.probs
    np.testing.assert_allclose(problem.probs.sum(), 1.0, rtol=1e-15)
    np.testing.assert_allclose(problem.component_values(x) @ p, problem.value(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        np.einsum("m,...md->...d", p, problem.component_grads(x)), problem.grad(x), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(
        np.einsum("m,...mij->...ij", p, problem.component_hessians(x)), problem.hessian(x), rtol=1e-12, atol=1e-12
    )
    # The generic formula (E g_i g_i^T - grad grad^T) / B, written out plainly.
    G = problem.component_grads(x)
    second = np.einsum("m,...mi,...mj->...ij", p, G, G)
    g = problem.grad(x)
    expected = (second - g[..., :, None] * g[..., None, :]) / problem.batch_size
    np.testing.assert_allclose(problem.noise_cov(x), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(FiniteSumObjective.noise_cov(problem, x), expected, rtol=1e-10, atol=1e-12)


def test_gaussian_noise_uses_standard_normal_draws(problem):
    if not problem.gaussian_noise:
        pytest.skip("not Gaussian")
    x = np.random.default_rng(7).normal(size=(4, problem.dim))
    g = problem.sample_grad(x, np.random.default_rng(8))
    z = np.random.default_rng(8).standard_normal((4, problem.noise_dim))
    np.testing.assert_array_equal(g, problem.sample_grad_from_normal(x, z))
    generic = StochasticObjective.sample_grad_from_normal(problem, x, z)
    np.testing.assert_allclose(g, generic, rtol=1e-12, atol=1e-12)


# -- exact laws by enumeration -----------------------------------------------------------


def _affine_components(problem):
    """G_i (n, d, d+1) with grad f_i(x) = G_i [x; 1], for linear regression."""
    A, y = problem.A, problem.y
    return np.concatenate([A[:, :, None] * A[:, None, :], -(y[:, None] * A)[:, :, None]], axis=2)


@pytest.mark.parametrize("batch_size", [1, 2, 3])
def test_regression_affine_law_matches_enumeration(batch_size):
    problem = _regression(batch_size)
    G = _affine_components(problem)
    n = G.shape[0]
    batches = np.array([G[list(idx)].mean(axis=0) for idx in itertools.product(range(n), repeat=batch_size)])
    mean = batches.mean(axis=0)
    centred = batches - mean
    cov = np.einsum("bij,bkl->ijkl", centred, centred) / batches.shape[0]
    scale = np.abs(G).max() ** 2
    np.testing.assert_allclose(problem.affine.mean, mean, rtol=0, atol=1e-12 * np.abs(G).max())
    np.testing.assert_allclose(problem.affine.cov, cov, rtol=0, atol=1e-12 * scale)


@pytest.mark.parametrize("batch_size", [1, 2, 3])
def test_double_well_noise_cov_matches_enumeration(batch_size):
    problem = DoubleWell(shifts=[-1.0, 0.5, 0.0], curvatures=[1.0, 0.0, -0.5],
                         probs=[0.2, 0.4, 0.4], batch_size=batch_size)
    x = np.array([[0.3], [-1.7]])
    G = problem.component_grads(x)[..., 0]  # (2, m)
    m = problem.n_components
    mean = np.zeros(2)
    second = np.zeros(2)
    for idx in itertools.product(range(m), repeat=batch_size):
        weight = np.prod(problem.probs[list(idx)])
        g = G[:, list(idx)].mean(axis=1)
        mean += weight * g
        second += weight * g**2
    np.testing.assert_allclose(mean, problem.grad(x)[:, 0], rtol=1e-12)
    np.testing.assert_allclose(problem.noise_cov(x)[:, 0, 0], second - mean**2, rtol=1e-11)


def test_multiplicative_closed_forms():
    p = MultiplicativeQuadratic([1.0, 2.0], batch_size=4)
    x = np.array([3.0, -2.0])
    np.testing.assert_allclose(p.noise_cov(x), np.diag(x**2) / 4)
    np.testing.assert_allclose(p.noise_factor(x), np.diag(x) / 2)
    assert p.affine.cov[0, 0, 0, 0] == 0.25 and p.affine.cov[1, 1, 1, 1] == 0.25
    assert np.count_nonzero(p.affine.cov) == 2
    np.testing.assert_array_equal(p.affine.mean, [[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    assert p.value(x) == pytest.approx(0.5 * (9 + 8))


# -- linear regression ---------------------------------------------------------------------


def test_make_linear_regression_is_reproducible_and_planted():
    a = make_linear_regression(50, 3, noise=0.2, rng=11)
    b = make_linear_regression(50, 3, noise=0.2, rng=11)
    np.testing.assert_array_equal(a.A, b.A)
    np.testing.assert_array_equal(a.y, b.y)
    assert a.A.shape == (50, 3) and a.y.shape == (50,) and a.x_true.shape == (3,)
    exact = make_linear_regression(20, 2, noise=0.0, x_true=[1.0, -2.0], rng=0)
    np.testing.assert_allclose(exact.minimizer, [1.0, -2.0], rtol=1e-12)
    np.testing.assert_allclose(exact.grad(exact.minimizer), 0.0, atol=1e-12)


def test_regression_minimizer_is_stationary():
    p = make_linear_regression(30, 4, rng=2)
    np.testing.assert_allclose(p.grad(p.minimizer), 0.0, atol=1e-12)
    assert np.all(p.eigenvalues > 0)


def test_regression_sampling_uses_integers_with_replacement():
    p = _regression(batch_size=3)
    x = np.random.default_rng(0).normal(size=(5, 2))
    idx = np.random.default_rng(9).integers(0, 4, (5, 3))
    expected = p.component_grads(x)[np.arange(5)[:, None], idx].mean(axis=1)
    np.testing.assert_allclose(p.sample_grad(x, np.random.default_rng(9)), expected, rtol=1e-12)


# -- double well ------------------------------------------------------------------------------


def test_double_well_defaults():
    p = DoubleWell()
    x = np.linspace(-2, 2, 7)[:, None]
    np.testing.assert_allclose(p.value(x), (x[:, 0] ** 2 - 1) ** 2 / 4)
    np.testing.assert_allclose(p.noise_cov(x)[:, 0, 0], np.mean((p.shifts + p.curvatures * x) ** 2, axis=1))
    np.testing.assert_allclose(p.grad(p.minimizers), 0.0)
    assert p.dim == 1 and p.affine is None


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(shifts=[-1.0, 2.0]), "curvatures"),  # length mismatch with the default curvatures
        (dict(shifts=[-1.0, 0.0, 2.0]), "shifts"),  # mean not 0
        (dict(curvatures=[1.0, 0.0, 0.0]), "curvatures"),
        (dict(probs=[0.5, 0.5, 0.5]), "probs"),
        (dict(probs=[1.5, -0.25, -0.25]), "probs"),
        (dict(probs=[0.5, 0.5]), "probs"),
        (dict(shifts=[np.nan, 0.0, 0.0]), "shifts"),
        (dict(batch_size=0), "batch_size"),
    ],
)
def test_double_well_bad_input(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        DoubleWell(**kwargs)


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda: MultiplicativeQuadratic([1.0, np.inf]), "D"),
        (lambda: MultiplicativeQuadratic(np.eye(2)), "D"),
        (lambda: MultiplicativeQuadratic([1.0], batch_size=0), "batch_size"),
        (lambda: MultiplicativeQuadratic([1.0], batch_size=1.5), "batch_size"),
        (lambda: LinearRegression([1.0, 2.0], [1.0, 2.0]), "A"),
        (lambda: LinearRegression([[1.0], [2.0]], [1.0]), "y"),
        (lambda: LinearRegression([[1.0], [np.nan]], [1.0, 2.0]), "A"),
        (lambda: make_linear_regression(0, 2), "n_samples"),
        (lambda: make_linear_regression(5, 2, noise=-1.0), "noise"),
        (lambda: make_linear_regression(5, 2, x_true=[1.0]), "x_true"),
        (lambda: FunctionObjective(0, np.sum, np.sum, np.sum), "dim"),
        (lambda: FunctionObjective(1, np.sum, 3.0, np.sum), "grad"),
        (lambda: FunctionObjective(1, np.sum, np.sum, None), "sample_grad"),
        (lambda: FunctionObjective(1, np.sum, np.sum, np.sum, hessian="no"), "hessian"),
    ],
)
def test_bad_constructor_arguments(build, name):
    with pytest.raises((ValueError, TypeError), match=name):
        build()


# -- user-defined objectives ---------------------------------------------------------------------


def test_function_objective_checks_what_callables_return():
    def bad_grad(x):
        return x[:, :1]  # wrong shape

    def nan_value(x):
        return np.full(x.shape[0], np.nan)

    p = FunctionObjective(2, nan_value, bad_grad, lambda x, rng: x)
    with pytest.raises(ValueError, match="grad returned shape"):
        p.grad(np.zeros(2))
    with pytest.raises(ValueError, match="value returned non-finite"):
        p.value(np.zeros((3, 2)))
    with pytest.raises(NotImplementedError, match="noise_cov"):
        p.noise_cov(np.zeros(2))
    with pytest.raises(NotImplementedError, match="noise_cov"):
        p.noise_factor(np.zeros(2))

    def bad_sample(x, rng):
        return np.zeros((x.shape[0] + 1, 2))

    q = FunctionObjective(2, nan_value, lambda x: x, bad_sample)
    with pytest.raises(ValueError, match="sample_grad returned shape"):
        q.sample_grad(np.zeros((3, 2)), np.random.default_rng(0))


def test_function_objective_finite_difference_hessian():
    p = _custom_problem()
    assert not p.exact_hessian
    x = np.array([[0.3, -2.0], [10.0, 0.5]])
    exact = np.stack([np.diag(1 - np.cos(row)) for row in x])
    np.testing.assert_allclose(p.hessian(x), exact, rtol=0, atol=1e-8)
    given = FunctionObjective(2, p.value, p.grad, p.sample_grad, hessian=lambda x: np.eye(2) + 0 * x[:, :, None])
    assert given.exact_hessian
    np.testing.assert_array_equal(given.hessian(x), np.broadcast_to(np.eye(2), (2, 2, 2)))


def test_function_objective_batch_averages_independent_draws():
    p = _custom_problem(batch_size=3)
    x = np.zeros((4, 2))
    rng = np.random.default_rng(0)
    expected = np.random.default_rng(0).standard_normal((3, 4, 2)).mean(axis=0)
    np.testing.assert_allclose(p.sample_grad(x, rng), expected, rtol=1e-12)


@pytest.mark.slow
def test_sample_grad_covariance_over_seeds():
    """noise_cov vs empirical covariance for 20 seeds: at least 19 pass."""
    passes = 0
    for seed in range(20):
        ok = True
        for name in sorted(PROBLEMS):
            problem = PROBLEMS[name]()
            x = _point(problem, seed=seed)
            g = problem.sample_grad(np.broadcast_to(x, (50_000, problem.dim)), np.random.default_rng(seed))
            centred = g - problem.grad(x)
            products = centred[:, :, None] * centred[:, None, :]
            ok &= bool(np.all(_within_stderr(g, problem.grad(x)))) and bool(
                np.all(_within_stderr(products, problem.noise_cov(x)))
            )
        passes += ok
    assert passes >= 19


def test_one_dimensional_noise_factor_is_the_square_root_eigh_would_give():
    from smecore.problems.base import symmetric_sqrt_factor

    cov = np.abs(np.random.default_rng(3).normal(size=(50, 1, 1)))
    cov[0] = 0.0
    w, v = np.linalg.eigh(cov)
    general = (v * np.sqrt(w)[..., None, :]) @ np.swapaxes(v, -1, -2)
    np.testing.assert_array_equal(symmetric_sqrt_factor(cov), general)
    assert symmetric_sqrt_factor(np.array([[-1e-18]]))[0, 0] == 0.0  # rounding below 0 clipped
