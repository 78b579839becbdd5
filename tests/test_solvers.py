"""Tests of smecore.solvers: weak orders, exact sampling, Nesterov, coupling, inputs.

Order checks are noise free: for an SDE linear in x, every scheme maps
z = [x; 1] to M(omega) z with a random matrix M that depends only on the step's
increments omega. With discrete increments (or Gauss-Hermite nodes, exact for
the polynomial degrees involved) we enumerate omega, feed each outcome through
the solver's own step function, and get the scheme's first and second
moments EXACTLY: E z_{n+1} = E[M] E z_n, vec E[z z^T]_{n+1} = E[M (x) M] vec E[z z^T]_n.
Monte Carlo tests then check that solve_sde reproduces these moments.
"""

import itertools
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import scipy.special

from smecore._validation import DivergenceError
from smecore.estimation import identity
from smecore.problems import GaussianQuadratic, StochasticObjective
from smecore.problems.base import AffineGradient
from smecore.sme import (
    FunctionSDE,
    LinearStructure,
    OnPosition,
    momentum_sme,
    nesterov_sme,
    sgd_sme,
)
from smecore.solvers import coupled_sgd_sme, sample_sde_paths, solve_sde
from smecore.solvers.steppers import _ExactStepper, _make_stepper

# Process pools spawn: forking a process that has loaded JAX (multithreaded) may deadlock.
SPAWN = multiprocessing.get_context("spawn")

THREE_POINT = ([-np.sqrt(3.0), 0.0, np.sqrt(3.0)], [1 / 6, 2 / 3, 1 / 6])
TWO_POINT = ([-1.0, 1.0], [0.5, 0.5])
_gh_nodes, _gh_weights = np.polynomial.hermite_e.hermegauss(5)
GAUSS_HERMITE = (list(_gh_nodes), list(_gh_weights / _gh_weights.sum()))

EULER_BAND = (0.8, 1.2)
WEAK2_BAND = (1.7, 2.3)


# ---------------------------------------------------------------------------
# Test SDEs with closed-form moments
# ---------------------------------------------------------------------------
class LinearSDE(FunctionSDE):
    """dX = (A X + c) dt + sum_j (B_j X + s_j) dW_j, with its LinearStructure."""

    def __init__(self, A, c, B, s):
        self.A, self.c = np.asarray(A, float), np.asarray(c, float)
        self.B, self.s = np.asarray(B, float), np.asarray(s, float)  # (m, d, d), (m, d)
        d, m = self.A.shape[0], self.B.shape[0]
        G = np.concatenate([self.B, self.s[:, :, None]], axis=2)  # (m, d, d+1): sigma^j = G_j z
        F = np.concatenate([self.A, self.c[:, None]], axis=1)
        C = np.einsum("mij,mkl->ijkl", G, G)
        additive = not np.any(self.B)
        linear = LinearStructure(lambda t: F, lambda t: C, True, additive)
        super().__init__(self._drift, self._diffusion, d, m, linear=linear)
        self.G = G

    def _drift(self, t, x):
        return x @ self.A.T + self.c

    def _diffusion(self, t, x):
        z = np.concatenate([x, np.ones((x.shape[0], 1))], axis=1)
        return np.einsum("mij,nj->nim", self.G, z)

    def exact_moments(self, x0, T):
        """E X_T and E X_T X_T^T from the linear moment ODEs (matrix exponentials)."""
        d = self.A.shape[0]
        F = np.zeros((d + 1, d + 1))
        F[:d] = np.concatenate([self.A, self.c[:, None]], axis=1)
        Gz = np.zeros((self.G.shape[0], d + 1, d + 1))
        Gz[:, :d] = self.G
        L = np.kron(F, np.eye(d + 1)) + np.kron(np.eye(d + 1), F) + sum(np.kron(g, g) for g in Gz)
        z0 = np.append(x0, 1.0)
        P = (scipy.linalg.expm(T * L) @ np.outer(z0, z0).ravel()).reshape(d + 1, d + 1)
        return P[:d, d], P[:d, :d]


def ou(theta=1.0, sigma=0.8):
    return LinearSDE([[-theta]], [0.0], np.zeros((1, 1, 1)), [[sigma]])


def gbm(a=0.3, b=0.6):
    return LinearSDE([[a]], [0.0], [[[b]]], [[0.0]])


def noncommutative():
    A = [[-0.5, 0.3], [-0.2, -0.4]]
    B = [[[0.0, 0.6], [0.0, 0.1]], [[0.2, 0.0], [0.5, 0.0]]]
    return LinearSDE(A, [0.1, 0.0], B, [[0.0, 0.2], [0.0, 0.0]])


def test_closed_forms_agree_with_moment_odes():
    # The expm reference used below reproduces the textbook closed forms.
    theta, sigma, x0, T = 1.0, 0.8, 1.0, 1.3
    m, P = ou(theta, sigma).exact_moments([x0], T)
    assert m[0] == pytest.approx(x0 * np.exp(-theta * T), rel=1e-12)
    var = sigma**2 * (1 - np.exp(-2 * theta * T)) / (2 * theta)
    assert P[0, 0] == pytest.approx(m[0] ** 2 + var, rel=1e-12)
    a, b = 0.3, 0.6
    m, P = gbm(a, b).exact_moments([x0], T)
    assert m[0] == pytest.approx(x0 * np.exp(a * T), rel=1e-12)
    assert P[0, 0] == pytest.approx(x0**2 * np.exp((2 * a + b**2) * T), rel=1e-12)


# ---------------------------------------------------------------------------
# Noise-free moments of a scheme by enumeration
# ---------------------------------------------------------------------------
def outcomes(stepper, support):
    """(probability, base variables, auxiliary variables) for one path, all outcomes."""
    values, probs = support
    base_shape = (1,) + stepper.draw_base(_Shape(), 1).shape[1:]
    n_base = int(np.prod(base_shape))
    pairs = getattr(stepper, "pairs", (np.array([], int), np.array([], int)))
    with_aux = getattr(stepper, "additive", True) is False and pairs[0].size > 0
    n_aux = pairs[0].size if with_aux else 0
    for idx in itertools.product(range(len(values)), repeat=n_base):
        p_base = np.prod([probs[i] for i in idx])
        xi = np.array([values[i] for i in idx]).reshape(base_shape)
        for signs in itertools.product((-1.0, 1.0), repeat=n_aux):
            v = None
            if with_aux:
                v = np.zeros((1, stepper.m, stepper.m))
                v[0, pairs[0], pairs[1]] = stepper.h * np.array(signs)
                v[0, pairs[1], pairs[0]] = -stepper.h * np.array(signs)
            yield p_base * 0.5**n_aux, xi, v


class _Shape:
    """A stand-in random source that only reports shapes."""

    def standard_normal(self, size):
        return np.zeros(size)

    random = standard_normal


def scheme_moments(sde, x0, T, n_steps, scheme, support, t0=0.0):
    """Exact E X_N and E X_N X_N^T of the scheme (affine in the state)."""
    h = T / n_steps
    stepper = _make_stepper(sde, h, scheme, "gaussian", t0)
    d = sde.dim
    probs, xis, vs = zip(*outcomes(stepper, support))
    probs = np.array(probs)
    n_out = probs.size
    # One batch: every outcome applied to the points 0, e_1, ..., e_d.
    basis = np.tile(np.vstack([np.zeros(d), np.eye(d)]), (n_out, 1))
    xi = np.repeat(np.concatenate(xis), d + 1, axis=0)
    v = None if vs[0] is None else np.repeat(np.concatenate(vs), d + 1, axis=0)
    z = np.append(x0, 1.0)
    P = np.outer(z, z)
    time_dependent = getattr(sde, "friction", None) is not None
    cache = None
    for k in range(n_steps):
        if cache is None or time_dependent:
            images = stepper.step(t0 + k * h, basis, xi, v).reshape(n_out, d + 1, d)
            M = np.zeros((n_out, d + 1, d + 1))
            M[:, :d, :d] = np.swapaxes(images[:, 1:] - images[:, :1], 1, 2)
            M[:, :d, d] = images[:, 0]
            M[:, d, d] = 1.0
            EM = np.einsum("o,oij->ij", probs, M)
            EMM = np.einsum("o,oij,okl->ikjl", probs, M, M).reshape((d + 1) ** 2, (d + 1) ** 2)
            cache = (EM, EMM)
        EM, EMM = cache
        z = EM @ z
        P = (EMM @ P.ravel()).reshape(d + 1, d + 1)
    return z[:d], P[:d, :d]


def fitted_order(ns, errors):
    return -np.polyfit(np.log(ns), np.log(errors), 1)[0]


def moment_errors(sde, x0, T, ns, scheme, support, reference):
    m_ref, P_ref = reference
    errs = []
    for n in ns:
        m, P = scheme_moments(sde, x0, T, n, scheme, support)
        errs.append(max(np.max(np.abs(m - m_ref)), np.max(np.abs(P - P_ref))))
    return np.array(errs)


CASES = {"ou": (ou, [1.0]), "gbm": (gbm, [1.0]), "noncommutative": (noncommutative, [1.0, 0.5])}
SCHEME_SUPPORTS = [
    ("euler", TWO_POINT, EULER_BAND),
    ("euler", GAUSS_HERMITE, EULER_BAND),
    ("weak2", THREE_POINT, WEAK2_BAND),
    ("weak2", GAUSS_HERMITE, WEAK2_BAND),
]


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("scheme,support,band", SCHEME_SUPPORTS)
def test_weak_order_noise_free(case, scheme, support, band):
    make, x0 = CASES[case]
    sde = make()
    T = 1.0
    ns = np.array([4, 8, 16, 32, 64])
    errs = moment_errors(sde, np.array(x0), T, ns, scheme, support, sde.exact_moments(x0, T))
    order = fitted_order(ns, errs)
    assert band[0] <= order <= band[1], (case, scheme, errs, order)


def test_additive_weak2_uses_no_auxiliary_variables():
    sde = LinearSDE(np.diag([-1.0, -2.0]), [0.0, 0.0], np.zeros((2, 2, 2)), np.eye(2))
    stepper = _make_stepper(sde, 0.1, "weak2", "discrete", 0.0)
    assert stepper.draw_rest(_Shape(), 3) is None


# ---------------------------------------------------------------------------
# Monte Carlo: solve_sde reproduces the scheme's exact moments
# ---------------------------------------------------------------------------
def second_moment(x):
    return np.einsum("ni,nj->nij", x, x).reshape(x.shape[0], -1)


def mc_matches_scheme(case, scheme, increments, rng, n_paths=20_000, n_steps=4, T=1.0):
    make, x0 = CASES[case]
    sde = make()
    support = {("euler", "discrete"): TWO_POINT, ("weak2", "discrete"): THREE_POINT}.get(
        (scheme, increments), GAUSS_HERMITE)
    stats = solve_sde(sde, x0, T, n_steps=n_steps, scheme=scheme, increments=increments,
                      n_paths=n_paths, rng=rng, record=[n_steps],
                      observables={"x": identity, "xx": second_moment})
    m, P = scheme_moments(sde, np.array(x0), T, n_steps, scheme, support)
    ok = True
    for name, want in (("x", m), ("xx", P.ravel())):
        est = stats[name]
        ok &= bool(np.all(np.abs(est.mean[-1] - want) <= 4 * est.stderr[-1]))
    return ok


@pytest.mark.parametrize("case", ["gbm", "noncommutative"])
@pytest.mark.parametrize("scheme,increments", [("weak2", "discrete"), ("weak2", "gaussian"),
                                               ("euler", "discrete")])
def test_solve_sde_matches_scheme_moments(case, scheme, increments):
    assert mc_matches_scheme(case, scheme, increments, rng=123)


def test_exact_scheme_matches_ou_moments():
    theta, sigma, x0, T = 1.5, 0.7, 2.0, 1.2
    stats = solve_sde(ou(theta, sigma), [x0], T, n_steps=3, scheme="exact", n_paths=20_000,
                      rng=5, observables={"x": identity, "xx": np.square})
    t = stats.times
    mean = x0 * np.exp(-theta * t)
    second = mean**2 + sigma**2 * (1 - np.exp(-2 * theta * t)) / (2 * theta)
    for name, want in (("x", mean), ("xx", second)):
        est = stats[name]
        assert np.all(np.abs(est.mean[:, 0] - want) <= 4 * est.stderr[:, 0] + 1e-15)


def test_exact_transition_van_loan_against_quadrature():
    A = np.array([[-0.5, 1.0], [-1.0, -0.2]])
    S = np.array([[0.3, 0.1], [0.1, 0.5]])
    c = np.array([0.4, -0.1])
    sde = LinearSDE(A, c, np.zeros((2, 2, 2)), np.linalg.cholesky(S).T)  # s_j s_j^T sums to S
    h = 0.7
    stepper = _ExactStepper(sde, h)
    np.testing.assert_allclose(stepper.phi, scipy.linalg.expm(h * A), rtol=1e-12)
    shift = scipy.integrate.quad_vec(lambda s: scipy.linalg.expm(s * A) @ c, 0, h, epsabs=1e-14)[0]
    np.testing.assert_allclose(stepper.shift, shift, rtol=1e-10)
    Q = scipy.integrate.quad_vec(
        lambda s: scipy.linalg.expm(s * A) @ S @ scipy.linalg.expm(s * A).T, 0, h, epsabs=1e-14)[0]
    np.testing.assert_allclose(stepper.factor @ stepper.factor.T, Q, rtol=1e-10, atol=1e-14)


def test_momentum_sme_exact_stationary_variance():
    # Underdamped linear SME: stationary Var X = s^2 / (2 gamma lambda), s^2 = sqrt(lr) lambda^2.
    lam, lr, gamma = 1.0, 0.01, 1.0
    sde = momentum_sme(GaussianQuadratic([lam]), lr, damping=gamma)
    stats = solve_sde(sde, [0.0], 40.0, n_steps=4, scheme="exact", n_paths=40_000, rng=2,
                      record=[4], observables={"xx": OnPosition(np.square, 1)})
    est = stats["xx"]
    want = np.sqrt(lr) * lam**2 / (2 * gamma * lam)
    assert abs(est.mean[-1, 0] - want) <= 4 * est.stderr[-1, 0]


# ---------------------------------------------------------------------------
# Nesterov: the 3/t friction does not spoil the orders
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("scheme,band", [("euler", EULER_BAND), ("weak2", WEAK2_BAND)])
def test_nesterov_ode_converges_to_bessel_solution(scheme, band):
    lam, x0, T = 2.0, 1.0, 5.0
    sde = nesterov_sme(GaussianQuadratic([lam]), 0.01, noise=False)
    ns = np.array([10, 20, 40, 80, 160])
    errs = []
    for n in ns:
        t, paths = sample_sde_paths(sde, [x0], T, n_steps=n, scheme=scheme, rng=0)
        exact = 2 * x0 * scipy.special.j1(np.sqrt(lam) * t[1:]) / (np.sqrt(lam) * t[1:])
        errs.append(np.max(np.abs(paths[1:, 0, 0] - exact)))
    order = fitted_order(ns, np.array(errs))
    assert band[0] <= order <= band[1], (errs, order)


class LocalMultiplicative(StochasticObjective):
    """f_gamma = 1/2 x^T (diag(D) + s diag(gamma)) x: state-dependent Gaussian noise."""

    gaussian_noise = True

    def __init__(self, D, scale=0.7):
        self.D = np.asarray(D, dtype=float)
        self.dim = self.noise_dim = self.D.size
        self.scale = scale
        d = self.dim
        cov = np.zeros((d, d + 1, d, d + 1))
        cov[np.arange(d), np.arange(d), np.arange(d), np.arange(d)] = scale**2
        self.affine = AffineGradient(np.concatenate([np.diag(self.D), np.zeros((d, 1))], 1), cov)

    def grad(self, x):
        return self.D * x

    def hvp(self, x, v):
        return self.D * v

    def noise_factor(self, x):
        return np.einsum("...i,ij->...ij", self.scale * np.asarray(x), np.eye(self.dim))


@pytest.mark.parametrize("problem", [GaussianQuadratic([2.0]), LocalMultiplicative([2.0], 1.5)],
                         ids=["additive", "multiplicative"])
@pytest.mark.parametrize("scheme,support,band", [("euler", TWO_POINT, EULER_BAND),
                                                 ("weak2", THREE_POINT, WEAK2_BAND)])
def test_nesterov_sde_weak_order_noise_free(problem, scheme, support, band):
    # Self-convergence of the exact scheme moments (reference: weak2 with a fine step).
    sde = nesterov_sme(problem, 0.05)
    x0, T = np.array([1.0, 0.0]), 2.0
    reference = scheme_moments(sde, x0, T, 2048, "weak2", THREE_POINT)
    ns = np.array([16, 32, 64, 128])
    errs = moment_errors(sde, x0, T, ns, scheme, support, reference)
    order = fitted_order(ns, errs)
    assert band[0] <= order <= band[1], (errs, order)


def linear_structure_moments(sde, x0, T):
    """E X_T, E X_T X_T^T of a time-homogeneous linear SDE from its LinearStructure."""
    d = sde.dim
    F = np.zeros((d + 1, d + 1))
    F[:d] = sde.linear.drift_matrix(0.0)
    C = np.zeros((d + 1, d + 1, d + 1, d + 1))
    C[:d, :, :d, :] = sde.linear.noise_tensor(0.0)
    eye = np.eye(d + 1)
    # vec(P)' = (F (x) I + I (x) F + C) vec(P), with C acting as P_ik += C_ijkl P_jl.
    L = np.kron(F, eye) + np.kron(eye, F) + np.transpose(C, (0, 2, 1, 3)).reshape(
        (d + 1) ** 2, (d + 1) ** 2)
    z0 = np.append(x0, 1.0)
    P = (scipy.linalg.expm(T * L) @ np.outer(z0, z0).ravel()).reshape(d + 1, d + 1)
    return P[:d, d], P[:d, :d]


@pytest.mark.parametrize("scheme,support,band", [("euler", TWO_POINT, EULER_BAND),
                                                 ("weak2", THREE_POINT, WEAK2_BAND)])
def test_momentum_sme_weak_order_state_dependent_noise(scheme, support, band):
    sde = momentum_sme(LocalMultiplicative([2.0, 0.5], 1.2), 0.05, damping=1.5)
    x0, T = np.array([1.0, -0.5, 0.0, 0.0]), 2.0
    ns = np.array([8, 16, 32, 64])
    errs = moment_errors(sde, x0, T, ns, scheme, support, linear_structure_moments(sde, x0, T))
    order = fitted_order(ns, errs)
    assert band[0] <= order <= band[1], (errs, order)


def test_nesterov_solve_sde_matches_scheme_moments():
    sde = nesterov_sme(LocalMultiplicative([2.0], 1.5), 0.05)
    stats = solve_sde(sde, [1.0], 2.0, n_steps=4, scheme="weak2", increments="discrete",
                      n_paths=20_000, rng=9, record=[4],
                      observables={"y": identity, "yy": second_moment})
    m, P = scheme_moments(sde, np.array([1.0, 0.0]), 2.0, 4, "weak2", THREE_POINT)
    for name, want in (("y", m), ("yy", P.ravel())):
        est = stats[name]
        assert np.all(np.abs(est.mean[-1] - want) <= 4 * est.stderr[-1])


# ---------------------------------------------------------------------------
# Coupling SGD with its SME
# ---------------------------------------------------------------------------
def test_coupling_shrinks_the_stderr_of_the_difference():
    lam, lr, x0, k = 1.0, 0.1, 1.0, 10
    stats = coupled_sgd_sme(GaussianQuadratic([lam]), lr, k, [x0], order=2, substeps=4,
                            scheme="weak2", n_paths=20_000, rng=3, record=[0, k])
    sgd, sme, diff = stats["sgd:x"], stats["sme:x"], stats["diff:x"]
    assert diff.stderr[-1, 0] < 0.1 * min(sgd.stderr[-1, 0], sme.stderr[-1, 0])
    np.testing.assert_allclose(diff.mean, sgd.mean - sme.mean, atol=1e-12)
    np.testing.assert_allclose(stats.times, [0.0, k * lr])
    # Marginals are those of SGD and of the order-2 SME (closed forms).
    assert abs(sgd.mean[-1, 0] - (1 - lr * lam) ** k * x0) <= 4 * sgd.stderr[-1, 0]
    a = lam + lr * lam**2 / 2
    assert abs(sme.mean[-1, 0] - np.exp(-a * k * lr) * x0) <= 4 * sme.stderr[-1, 0]


def test_coupled_difference_resolves_order2_weak_error():
    # Order-2 SME vs SGD on the mean: closed-form difference, resolved by the coupling.
    lam, lr, x0, k = 1.0, 0.2, 1.0, 10
    stats = coupled_sgd_sme(GaussianQuadratic([lam]), lr, k, [x0], order=2, substeps=16,
                            scheme="weak2", n_paths=20_000, rng=4, record=[k])
    a = lam + lr * lam**2 / 2
    want = (1 - lr * lam) ** k * x0 - np.exp(-a * k * lr) * x0
    diff = stats["diff:x"]
    solver_bias = 1e-4  # weak2 with h = lr/16, bound from the mean recursion
    assert abs(diff.mean[-1, 0] - want) <= 4 * diff.stderr[-1, 0] + solver_bias


def test_results_identical_across_chunks_and_executors():
    p = LocalMultiplicative([1.0, 2.0], 0.5)
    sde = sgd_sme(p, 0.1, order=2)
    kw = dict(n_steps=5, scheme="weak2", n_paths=300, rng=7, block_size=64)
    base = solve_sde(sde, [1.0, -1.0], 0.5, **kw)
    other = solve_sde(sde, [1.0, -1.0], 0.5, chunk_size=128, **kw)
    with ThreadPoolExecutor(2) as ex:
        threaded = solve_sde(sde, [1.0, -1.0], 0.5, chunk_size=64, executor=ex, **kw)
    for stats in (other, threaded):
        np.testing.assert_array_equal(stats["x"].mean, base["x"].mean)
        np.testing.assert_array_equal(stats["x"].stderr, base["x"].stderr)
    ckw = dict(substeps=2, scheme="weak2", n_paths=300, rng=8, block_size=64, order=2)
    c1 = coupled_sgd_sme(p, 0.1, 5, [1.0, -1.0], **ckw)
    c2 = coupled_sgd_sme(p, 0.1, 5, [1.0, -1.0], chunk_size=64, **ckw)
    with ProcessPoolExecutor(2, mp_context=SPAWN) as ex:
        c3 = coupled_sgd_sme(p, 0.1, 5, [1.0, -1.0], chunk_size=128, executor=ex, **ckw)
    for stats in (c2, c3):
        for name in ("sgd:x", "sme:x", "diff:x"):
            np.testing.assert_array_equal(stats[name].mean, c1[name].mean)
            np.testing.assert_array_equal(stats[name].stderr, c1[name].stderr)


# ---------------------------------------------------------------------------
# Paths, records, bad input, divergence
# ---------------------------------------------------------------------------
def test_sample_paths_shapes_and_record():
    sde = nesterov_sme(GaussianQuadratic([1.0, 2.0]), 0.01)
    times, paths = sample_sde_paths(sde, [1.0, 1.0], 2.0, n_steps=8, scheme="weak2",
                                    n_paths=5, rng=1, record=[0, 4, 8])
    np.testing.assert_allclose(times, [0.0, 1.0, 2.0])
    assert paths.shape == (3, 5, 4)
    np.testing.assert_array_equal(paths[0], np.tile([1.0, 1.0, 0.0, 0.0], (5, 1)))
    stats = solve_sde(sde, [1.0, 1.0], 2.0, n_steps=8, n_paths=10, rng=1, record=[8], t0=0.0)
    assert stats.steps.tolist() == [8] and stats["x"].mean.shape == (1, 4)


def test_bad_input():
    sde = ou()
    good = dict(n_steps=4, n_paths=10, rng=0)
    with pytest.raises(TypeError, match="sde"):
        solve_sde("ou", [1.0], 1.0, **good)
    with pytest.raises(ValueError, match="n_steps"):
        solve_sde(sde, [1.0], 1.0, n_steps=0, n_paths=10)
    with pytest.raises(TypeError, match="n_steps"):
        solve_sde(sde, [1.0], 1.0, n_steps=2.5, n_paths=10)
    with pytest.raises(ValueError, match="T"):
        solve_sde(sde, [1.0], -1.0, **good)
    with pytest.raises(ValueError, match="scheme"):
        solve_sde(sde, [1.0], 1.0, scheme="rk4", **good)
    with pytest.raises(ValueError, match="increments"):
        solve_sde(sde, [1.0], 1.0, increments="uniform", **good)
    with pytest.raises(ValueError, match="x0"):
        solve_sde(sde, [1.0, 2.0], 1.0, **good)
    with pytest.raises(ValueError, match="x0"):
        solve_sde(sde, [np.nan], 1.0, **good)
    with pytest.raises(ValueError, match="n_paths"):
        solve_sde(sde, [1.0], 1.0, n_steps=4, n_paths=0)
    with pytest.raises(ValueError, match="record"):
        solve_sde(sde, [1.0], 1.0, record=[5], **good)
    with pytest.raises(ValueError, match="scheme"):
        solve_sde(gbm(), [1.0], 1.0, scheme="exact", **good)
    with pytest.raises(ValueError, match="scheme"):
        solve_sde(nesterov_sme(GaussianQuadratic([1.0]), 0.1), [1.0], 1.0, scheme="exact", **good)
    with pytest.raises(ValueError, match="increments"):
        solve_sde(sde, [1.0], 1.0, scheme="exact", increments="discrete", **good)
    with pytest.raises(ValueError, match="t0"):
        solve_sde(nesterov_sme(GaussianQuadratic([1.0]), 0.1), [1.0], 1.0, t0=-1.0, **good)
    with pytest.raises(ValueError, match="T"):
        sample_sde_paths(sde, [1.0], 0.0, n_steps=3)
    p = GaussianQuadratic([1.0])
    with pytest.raises(ValueError, match="substeps"):
        coupled_sgd_sme(p, 0.1, 3, [1.0], substeps=0, n_paths=10)
    with pytest.raises(ValueError, match="scheme"):
        coupled_sgd_sme(p, 0.1, 3, [1.0], scheme="exact", n_paths=10)
    with pytest.raises(ValueError, match="lr"):
        coupled_sgd_sme(p, -0.1, 3, [1.0], n_paths=10)

    class NonGaussian(LocalMultiplicative):
        gaussian_noise = False

    with pytest.raises(TypeError, match="Gaussian"):
        coupled_sgd_sme(NonGaussian([1.0]), 0.1, 3, [1.0], n_paths=10)


def test_divergence_raises():
    with pytest.raises(DivergenceError, match="diverged"):
        solve_sde(gbm(a=60.0), [1.0], 10.0, n_steps=200, n_paths=10, rng=0)
    with pytest.raises(DivergenceError):
        coupled_sgd_sme(GaussianQuadratic([30.0]), 0.1, 400, [1.0], n_paths=10, rng=0)


@pytest.mark.slow
def test_statistical_checks_over_20_seeds():
    passed = 0
    for seed in range(20):
        ok = mc_matches_scheme("gbm", "weak2", "discrete", rng=seed, n_paths=10_000)
        stats = solve_sde(ou(1.0, 0.5), [1.0], 1.0, n_steps=2, scheme="exact", n_paths=10_000,
                          rng=1000 + seed, record=[2], observables={"xx": np.square})
        want = np.exp(-2.0) + 0.25 * (1 - np.exp(-2.0)) / 2
        est = stats["xx"]
        ok &= bool(abs(est.mean[-1, 0] - want) <= 4 * est.stderr[-1, 0])
        passed += ok
    assert passed >= 19
