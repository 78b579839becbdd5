"""The exact moment engine: brute-force enumeration, conventions, ODE paths, bad input."""

import itertools

import numpy as np
import pytest

from smecore._validation import DivergenceError
from smecore.moments import (
    Moments,
    momentum_moments,
    nesterov_moments,
    sde_moments,
    sgd_moments,
)
from smecore.moments.recursions import nesterov_coefficient
from smecore.problems import AffineGradient, GaussianQuadratic, StochasticObjective
from smecore.problems.base import symmetric_sqrt_factor
from smecore.sme import FunctionSDE, LinearStructure


class FiniteSum(StochasticObjective):
    """f = sum_i p_i f_i with f_i(x) = 1/2 x^T A_i x + b_i.x; mini-batch = mean of B i.i.d. draws."""

    def __init__(self, As, bs, probs, batch_size=1):
        self.As, self.bs = np.asarray(As, float), np.asarray(bs, float)
        self.probs = np.asarray(probs, float)
        self.dim, self.batch_size = self.bs.shape[1], batch_size
        G = np.concatenate([self.As, self.bs[:, :, None]], axis=2)  # (m, d, d+1)
        Gbar = np.einsum("m,mij->ij", self.probs, G)
        dev = G - Gbar
        cov = np.einsum("m,mij,mkl->ijkl", self.probs, dev, dev) / batch_size
        self.affine = AffineGradient(Gbar, cov)
        self.G = G

    def value(self, x):
        x = np.asarray(x, float)
        A = np.einsum("m,mij->ij", self.probs, self.As)
        return 0.5 * np.einsum("...i,ij,...j->...", x, A, x) + x @ (self.probs @ self.bs)


def tiny_problem(batch_size=1):
    As = [[[2.0, 0.5], [0.5, 1.0]], [[0.5, -0.2], [-0.2, 1.5]], [[1.0, 0.0], [0.0, 0.2]]]
    bs = [[1.0, -0.5], [-2.0, 0.3], [0.4, 1.0]]
    return FiniteSum(As, bs, [0.2, 0.5, 0.3], batch_size)


def batch_outcomes(problem):
    """All mini-batch gradient matrices with their probabilities (batches drawn with replacement)."""
    m, B = problem.probs.size, problem.batch_size
    Gs, ws = [], []
    for idx in itertools.product(range(m), repeat=B):
        Gs.append(problem.G[list(idx)].mean(axis=0))
        ws.append(np.prod(problem.probs[list(idx)]))
    return np.array(Gs), np.array(ws)


def enumerate_paths(problem, n_steps, step):
    """Exact moments over every gamma sequence: step(state, G, k) -> new state, states (paths, n)."""
    Gs, ws = batch_outcomes(problem)
    d = problem.dim
    state = np.zeros((1, 2 * d))
    weight = np.ones(1)
    means, seconds = [], []
    for k in range(n_steps + 1):
        means.append(weight @ state[:, : state.shape[1]])
        seconds.append(np.einsum("p,pi,pj->ij", weight, state, state))
        if k == n_steps:
            break
        new = np.concatenate([step(state, G, k) for G in Gs])
        weight = np.concatenate([weight * w for w in ws])
        state = new
    return np.array(means), np.array(seconds)


def affine_grad(G, x):
    return x @ G[:, :-1].T + G[:, -1]


X0 = np.array([1.0, -0.7])


def start(state, x0):
    state = state.copy()
    state[:, :2] = x0
    return state


@pytest.mark.parametrize("batch_size,n_steps", [(1, 5), (2, 3)])
def test_sgd_moments_brute_force(batch_size, n_steps):
    problem = tiny_problem(batch_size)
    lr = 0.3
    d = problem.dim

    def step(state, G, k):
        s = start(state, X0) if k == 0 else state
        x = s[:, :d] - lr * affine_grad(G, s[:, :d])
        return np.concatenate([x, np.zeros_like(x)], axis=1)

    means, seconds = enumerate_paths(problem, n_steps, step)
    means[0, :d], seconds[0] = X0, np.outer(np.append(X0, [0, 0]), np.append(X0, [0, 0]))
    m = sgd_moments(problem, lr, X0, n_steps)
    np.testing.assert_allclose(m.mean, means[:, :d], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(m.second, seconds[:, :d, :d], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("batch_size,n_steps", [(1, 5), (2, 3)])
def test_momentum_moments_brute_force(batch_size, n_steps):
    problem = tiny_problem(batch_size)
    lr, mu, v0 = 0.2, 0.6, np.array([0.3, 0.1])
    d = problem.dim

    def step(state, G, k):
        if k == 0:
            state = start(state, X0)
            state[:, d:] = v0
        x, v = state[:, :d], state[:, d:]
        v = mu * v - lr * affine_grad(G, x)
        return np.concatenate([x + v, v], axis=1)

    means, seconds = enumerate_paths(problem, n_steps, step)
    z0 = np.append(X0, v0)
    means[0], seconds[0] = z0, np.outer(z0, z0)
    m = momentum_moments(problem, lr, mu, X0, n_steps, v0=v0)
    np.testing.assert_allclose(m.mean, means, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(m.second, seconds, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("momentum", [None, 0.7])
@pytest.mark.parametrize("batch_size,n_steps", [(1, 5), (2, 3)])
def test_nesterov_moments_brute_force(batch_size, n_steps, momentum):
    """Enumerate the (x, y) form; the engine works in (x, v = x_k - x_{k-1})."""
    problem = tiny_problem(batch_size)
    lr = 0.25
    d = problem.dim

    def mu_next(k):  # mu_{k+1}
        return k / (k + 3) if momentum is None else momentum

    def step(state, G, k):
        # state holds (x_k, y_k) during enumeration; y_0 = x_0
        if k == 0:
            state = np.concatenate([np.tile(X0, (state.shape[0], 1))] * 2, axis=1)
        x, y = state[:, :d], state[:, d:]
        x_new = y - lr * affine_grad(G, y)
        y_new = x_new + mu_next(k) * (x_new - x)
        return np.concatenate([x_new, y_new], axis=1)

    # enumerate (x, y), then convert moments to (x, v) with v_k = x_k - x_{k-1}: re-enumerate
    # with the previous x carried instead, which is simplest done directly.
    def step_xv(state, G, k):
        if k == 0:
            state = np.concatenate([np.tile(X0, (state.shape[0], 1)), np.zeros((state.shape[0], d))], axis=1)
        x, v = state[:, :d], state[:, d:]
        mu_k = 0.0 if k == 0 else mu_next(k - 1)
        y = x + mu_k * v
        x_new = y - lr * affine_grad(G, y)
        return np.concatenate([x_new, x_new - x], axis=1)

    means_xy, seconds_xy = enumerate_paths(problem, n_steps, step)
    means, seconds = enumerate_paths(problem, n_steps, step_xv)
    z0 = np.append(X0, np.zeros(d))
    means[0], seconds[0] = z0, np.outer(z0, z0)
    # both enumerations agree on the x-moments (the (x, y) one is the (x, y) form written out)
    np.testing.assert_allclose(means[1:, :d], means_xy[1:, :d], rtol=1e-13)
    np.testing.assert_allclose(seconds[1:, :d, :d], seconds_xy[1:, :d, :d], rtol=1e-13)
    m = nesterov_moments(problem, lr, X0, n_steps, momentum=momentum)
    np.testing.assert_allclose(m.mean, means, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(m.second, seconds, rtol=1e-12, atol=1e-14)


def test_nesterov_coefficients():
    assert [nesterov_coefficient(k) for k in range(4)] == [0.0, 0.0, 0.25, 0.4]


# ---------------------------------------------------------------------------
# conventions and the Moments object
# ---------------------------------------------------------------------------


def test_times_steps_and_records():
    p = GaussianQuadratic([1.0, 2.0])
    m = sgd_moments(p, 0.1, [1.0, 1.0], 10, record=[0, 5, 10])
    np.testing.assert_array_equal(m.steps, [0, 5, 10])
    np.testing.assert_allclose(m.times, [0.0, 0.5, 1.0])
    assert m.mean.shape == (3, 2) and m.second.shape == (3, 2, 2) and m.dim_x == 2 and len(m) == 3
    full = sgd_moments(p, 0.1, [1.0, 1.0], 10)
    np.testing.assert_array_equal(full.second[[0, 5, 10]], m.second)
    mm = momentum_moments(p, 0.04, 0.9, [1.0, 1.0], 10, record=[10])
    np.testing.assert_allclose(mm.times, [10 * 0.2])
    assert mm.mean.shape == (1, 4) and mm.dim_x == 2
    nm = nesterov_moments(p, 0.04, [1.0, 1.0], 0)
    np.testing.assert_allclose(nm.mean, [[1.0, 1.0, 0.0, 0.0]])


def test_expect_quadratic_and_value():
    p = tiny_problem()
    m = momentum_moments(p, 0.1, 0.5, X0, 4)
    Q = np.array([[1.0, 0.3], [0.3, 2.0]])
    c = np.array([0.5, -1.0])
    expected = np.einsum("ij,nij->n", Q, m.second[:, :2, :2]) + m.mean[:, :2] @ c + 0.7
    np.testing.assert_allclose(m.expect_quadratic(Q, c, 0.7), expected, rtol=1e-14)
    # E f from moments equals f at the mean plus 1/2 Tr(A Cov)
    A = p.affine.hessian
    f_mean = p.value(m.position_mean)
    np.testing.assert_allclose(
        m.expect_value(p), f_mean + 0.5 * np.einsum("ij,nij->n", A, m.cov[:, :2, :2]), rtol=1e-12
    )
    np.testing.assert_allclose(m.position_var, np.diagonal(m.cov[:, :2, :2], axis1=1, axis2=2))
    with pytest.raises(ValueError, match="Q"):
        m.expect_quadratic(np.eye(3))
    with pytest.raises(ValueError, match="dimension"):
        m.expect_value(GaussianQuadratic([1.0]))


def test_momentum_zero_equals_sgd_and_nesterov_constant_zero_equals_sgd():
    p = tiny_problem()
    s = sgd_moments(p, 0.2, X0, 6)
    for m in (momentum_moments(p, 0.2, 0.0, X0, 6), nesterov_moments(p, 0.2, X0, 6, momentum=0.0)):
        np.testing.assert_allclose(m.position_second, s.second, rtol=1e-13)


def test_divergence_raises():
    with pytest.raises(DivergenceError, match="diverged"):
        sgd_moments(GaussianQuadratic([1.0]), 2.5, [1.0], 2000)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda p: sgd_moments(p, -0.1, [1.0], 3), ValueError, "lr"),
        (lambda p: sgd_moments(p, 0.1, [1.0, 2.0], 3), ValueError, "x0"),
        (lambda p: sgd_moments(p, 0.1, [1.0], 2.5), TypeError, "n_steps"),
        (lambda p: sgd_moments(p, 0.1, [1.0], 3, record=[5]), ValueError, "record"),
        (lambda p: momentum_moments(p, 0.1, 1.0, [1.0], 3), ValueError, "momentum"),
        (lambda p: momentum_moments(p, 0.1, 0.5, [1.0], 3, v0=[1.0, 2.0]), ValueError, "v0"),
        (lambda p: nesterov_moments(p, 0.1, [1.0], 3, momentum=-0.1), ValueError, "momentum"),
        (lambda p: sgd_moments(p, float("nan"), [1.0], 3), ValueError, "lr"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call(GaussianQuadratic([1.0]))


def test_non_affine_problem_rejected():
    class NotAffine(StochasticObjective):
        dim = 1

    with pytest.raises(TypeError, match="affine"):
        sgd_moments(NotAffine(), 0.1, [1.0], 3)


# ---------------------------------------------------------------------------
# SDE moments
# ---------------------------------------------------------------------------


def linear_sde(F, C, *, time_homogeneous=True, t0=None, position_dim=None):
    F_of = F if callable(F) else (lambda t: F)
    C_of = C if callable(C) else (lambda t: C)
    n = F_of(1.0).shape[0]

    def drift(t, x):
        z = np.concatenate([x, np.ones(x.shape[:-1] + (1,))], axis=-1)
        return z @ F_of(t).T

    def diffusion(t, x):
        z = np.concatenate([x, np.ones(x.shape[:-1] + (1,))], axis=-1)
        return symmetric_sqrt_factor(np.einsum("ijkl,...j,...l->...ik", C_of(t), z, z))

    sde = FunctionSDE(drift, diffusion, n, n, linear=LinearStructure(F_of, C_of, time_homogeneous))
    if t0 is not None:
        sde.t0 = t0
    if position_dim is not None:
        sde.position_dim = position_dim
    return sde


def random_linear_sde(n, seed=0):
    """A stable linear SDE with affine drift and multiplicative (quadratic) noise."""
    rng = np.random.default_rng(seed)
    F = np.concatenate([-np.eye(n) * 1.5 + 0.3 * rng.standard_normal((n, n)), rng.standard_normal((n, 1))], axis=1)
    B = 0.3 * rng.standard_normal((n, n + 1, 2))  # sigma(x) = sum_j B_ij. z_j: sigma sigma^T quadratic
    C = np.einsum("ijm,klm->ijkl", B, B)
    return F, C


def test_sde_moments_against_small_step_euler_moment_recursion():
    """Homogeneous (expm) and time-dependent (DOP853) paths agree with each other to ~1e-10."""
    F, C = random_linear_sde(3)
    x0 = np.array([0.5, -1.0, 2.0])
    t = np.array([0.0, 0.3, 1.0, 2.5])
    exact = sde_moments(linear_sde(F, C), x0, t)
    ode = sde_moments(linear_sde(F, C, time_homogeneous=False), x0, t)
    np.testing.assert_allclose(ode.second, exact.second, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ode.mean, exact.mean, rtol=1e-10, atol=1e-12)
    assert exact.steps is None and exact.dim_x == 3


def test_sde_moments_ito_generator_at_small_time():
    """d/dt E[z z^T] at t = 0 equals F z z^T + z z^T F^T + sigma sigma^T (Ito's formula)."""
    F, C = random_linear_sde(2, seed=3)
    x0 = np.array([0.4, -0.2])
    h = 1e-6
    m = sde_moments(linear_sde(F, C), x0, [0.0, h])
    z = np.append(x0, 1.0)
    drift = F @ z
    expected = np.outer(drift, x0) + np.outer(x0, drift) + np.einsum("ijkl,j,l->ik", C, z, z)
    np.testing.assert_allclose((m.second[1] - m.second[0]) / h, expected, rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose((m.mean[1] - m.mean[0]) / h, drift, rtol=1e-4)


def test_sde_moments_start_time_and_repeated_times():
    F, C = random_linear_sde(2, seed=1)
    shifted = sde_moments(linear_sde(F, C, t0=1.0), [1.0, 0.0], [1.0, 1.5, 1.5, 3.0])
    plain = sde_moments(linear_sde(F, C), [1.0, 0.0], [0.0, 0.5, 0.5, 2.0])
    np.testing.assert_allclose(shifted.second, plain.second, rtol=1e-12)
    np.testing.assert_allclose(shifted.times, [1.0, 1.5, 1.5, 3.0])
    dependent = sde_moments(linear_sde(F, C, t0=1.0, time_homogeneous=False), [1.0, 0.0], [1.0, 1.5, 1.5, 3.0])
    np.testing.assert_allclose(dependent.second, plain.second, rtol=1e-10, atol=1e-12)


def test_sde_moments_position_and_velocity_arguments():
    F = np.array([[0.0, 1.0, 0.0], [-2.0, -1.0, 0.0]])
    C = np.zeros((2, 3, 2, 3))
    C[1, 2, 1, 2] = 0.5
    sde = linear_sde(F, C)
    a = sde_moments(sde, [1.0], [0.0, 1.0], v0=[0.3])
    b = sde_moments(sde, [1.0, 0.3], [0.0, 1.0])
    np.testing.assert_allclose(a.second, b.second, rtol=1e-15)
    assert a.dim_x == 1 and b.dim_x == 2
    assert sde_moments(linear_sde(F, C, position_dim=1), [1.0, 0.3], [1.0]).dim_x == 1
    np.testing.assert_allclose(sde_moments(sde, [1.0], [0.0]).mean, [[1.0, 0.0]])


def test_sde_frobenius_start_matches_start_at_positive_time():
    """Singular 3/t friction: the series start agrees with a regular solve from t0 > 0."""
    lam = 2.0
    C = np.zeros((2, 3, 2, 3))
    C[1, 2, 1, 2] = 0.2
    F = lambda t: np.array([[0.0, 1.0, 0.0], [-lam, -3.0 / t, 0.0]])  # noqa: E731
    from_zero = sde_moments(linear_sde(F, C, time_homogeneous=False), [1.0], [0.5, 1.0, 4.0])
    later = sde_moments(
        linear_sde(F, C, time_homogeneous=False, t0=0.5), from_zero.mean[0], [0.5, 1.0, 4.0]
    )
    # Restarting from the mean loses the t = 0.5 covariance; compare the means (linear in the start).
    np.testing.assert_allclose(later.mean, from_zero.mean, rtol=1e-9, atol=1e-12)


def test_sde_singular_start_requires_zero_velocity():
    C = np.zeros((2, 3, 2, 3))
    F = lambda t: np.array([[0.0, 1.0, 0.0], [-1.0, -3.0 / t, 0.0]])  # noqa: E731
    with pytest.raises(ValueError, match="v0 = 0"):
        sde_moments(linear_sde(F, C, time_homogeneous=False), [1.0], [1.0], v0=[0.5])


def test_sde_bad_input():
    F, C = random_linear_sde(2)
    sde = linear_sde(F, C)
    with pytest.raises(ValueError, match="times"):
        sde_moments(sde, [1.0, 0.0], [1.0, 0.5])
    with pytest.raises(ValueError, match="times"):
        sde_moments(linear_sde(F, C, t0=1.0), [1.0, 0.0], [0.5])
    with pytest.raises(ValueError, match="x0"):
        sde_moments(sde, [1.0, 0.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="x0"):
        sde_moments(sde, [[1.0, 0.0]], [1.0])
    with pytest.raises(ValueError, match="times"):
        sde_moments(sde, [1.0, 0.0], [np.inf])
    plain = FunctionSDE(lambda t, x: -x, lambda t, x: np.ones(x.shape + (1,)), 1, 1)
    with pytest.raises(TypeError, match="linear"):
        sde_moments(plain, [1.0], [1.0])
    bad = FunctionSDE(lambda t, x: -x, lambda t, x: x, 1, 1, linear=LinearStructure(lambda t: np.zeros((1, 3)), lambda t: np.zeros((1, 2, 1, 2))))
    with pytest.raises(ValueError, match="drift_matrix"):
        sde_moments(bad, [1.0], [1.0])


def test_sde_divergence_raises():
    F = np.array([[50.0, 0.0]])
    C = np.zeros((1, 2, 1, 2))
    with pytest.raises(DivergenceError):
        sde_moments(linear_sde(F, C), [1.0], [0.0, 10.0])


def test_moments_is_a_frozen_dataclass():
    m = sgd_moments(GaussianQuadratic([1.0]), 0.1, [1.0], 1)
    assert isinstance(m, Moments)
    with pytest.raises(AttributeError):
        m.dim_x = 3


# ---------------------------------------------------------------------------
# integration with the SMEs (smecore.sme) and the simulators (smecore.algorithms)
# ---------------------------------------------------------------------------


def test_with_sgd_sme_closed_forms():
    from smecore import closed_forms as cf
    from smecore.sme import sgd_sme

    lams, x0, lr = np.array([0.5, 2.0]), np.array([1.0, -1.0]), 0.05
    p = GaussianQuadratic(lams)
    t = np.linspace(0, 2, 5)
    m1 = sde_moments(sgd_sme(p, lr, order=1), x0, t)
    m2 = sde_moments(sgd_sme(p, lr, order=2), x0, t)
    np.testing.assert_allclose(m1.expect_value(p), cf.sme1_quadratic_value(lams, lr, x0, t), rtol=1e-10)
    np.testing.assert_allclose(m2.expect_value(p), cf.sme2_quadratic_value(lams, lr, x0, t), rtol=1e-10)
    assert m1.dim_x == 2


def test_with_momentum_and_nesterov_smes():
    from smecore import closed_forms as cf
    from smecore.sme import momentum_sme, nesterov_sme

    lam, lr, damping = 2.0, 0.01, 1.5
    p = GaussianQuadratic([lam])  # sigma^2 = lam^2, SME noise s^2 = sqrt(lr) lam^2
    m = sde_moments(momentum_sme(p, lr, damping=damping), [1.0], [300.0])
    var_x, var_v = cf.underdamped_stationary_variances(lam, damping, lr**0.25 * lam)
    np.testing.assert_allclose(np.diag(m.cov[0]), [var_x, var_v], rtol=1e-10)
    assert m.dim_x == 1
    t = np.linspace(0, 8, 17)
    n = sde_moments(nesterov_sme(p, lr, noise=False), [1.0], t)
    np.testing.assert_allclose(n.mean[:, 0], cf.nesterov_deterministic_solution(lam, 1.0, t), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("which", ["sgd", "momentum", "nesterov"])
def test_moments_agree_with_monte_carlo_simulation(which):
    from smecore.algorithms import SGD, MomentumSGD, Nesterov, run
    from smecore.problems.multiplicative import MultiplicativeQuadratic

    p = MultiplicativeQuadratic([0.5, 1.5])
    x0, lr, n = np.array([1.0, -1.0]), 0.1, 20
    if which == "sgd":
        algo, exact = SGD(lr), sgd_moments(p, lr, x0, n, record=[5, 20])
    elif which == "momentum":
        algo, exact = MomentumSGD(lr, 0.6), momentum_moments(p, lr, 0.6, x0, n, record=[5, 20])
    else:
        algo, exact = Nesterov(lr), nesterov_moments(p, lr, x0, n, record=[5, 20])
    stats = run(algo, p, x0, n, n_paths=20000, rng=7, record=[5, 20], observables={"x": lambda x: x, "x2": np.square})
    for name, target in [("x", exact.position_mean), ("x2", exact.position_var + exact.position_mean**2)]:
        est = stats[name]
        assert np.all(np.abs(est.mean - target) < 5 * est.stderr), (name, est.mean, target)  # 8 comparisons, heavy tails


def test_scaled_velocity():
    m = momentum_moments(tiny_problem(), 0.04, 0.8, X0, 3)
    s = m.scaled_velocity(5.0)
    np.testing.assert_allclose(s.mean[:, 2:], 5 * m.mean[:, 2:])
    np.testing.assert_allclose(s.second[:, :2, 2:], 5 * m.second[:, :2, 2:])
    np.testing.assert_allclose(s.second[:, 2:, 2:], 25 * m.second[:, 2:, 2:])
    np.testing.assert_array_equal(s.second[:, :2, :2], m.second[:, :2, :2])


def test_sde_moments_smooth_time_dependent_drift_from_zero():
    """dX = -(1 + t) X dt + dW from t = 0: E X_t = x0 exp(-(t + t^2/2)) (regular, not singular)."""
    from smecore.sme import FunctionSDE, LinearStructure

    lin = LinearStructure(
        lambda t: np.array([[-(1.0 + t), 0.0]]),
        lambda t: np.array([[0.0, 0.0], [0.0, 1.0]]).reshape(1, 2, 1, 2),
        time_homogeneous=False,
        additive=True,
    )
    sde = FunctionSDE(lambda t, x: -(1 + t) * x, lambda t, x: np.ones(x.shape + (1,)), 1, 1, linear=lin)
    times = np.array([0.0, 0.5, 1.0])
    m = sde_moments(sde, [2.0], times)
    np.testing.assert_allclose(m.mean[:, 0], 2.0 * np.exp(-(times + times**2 / 2)), rtol=1e-10)
