"""Every closed form of smecore.moments.closed_forms, reproduced by the exact moment engine.

The engine (smecore.moments) and the formulas (smecore.moments.closed_forms) are derived
independently: the engine iterates the generic affine recursion / integrates
the generic linear moment ODE, the formulas are the paper's per-direction
solutions. Agreement to ~1e-10 relative checks both.
"""

import numpy as np
import pytest
import scipy.integrate
import scipy.special

from smecore import closed_forms as cf
from smecore.moments import momentum_moments, nesterov_moments, sde_moments, sgd_moments
from smecore.problems import AffineGradient, GaussianQuadratic, StochasticObjective
from smecore.problems.base import symmetric_sqrt_factor
from smecore.sme import FunctionSDE, LinearStructure

RTOL = 1e-10


# ---------------------------------------------------------------------------
# test-local problems and SDEs
# ---------------------------------------------------------------------------


class Multiplicative(StochasticObjective):
    """f_gamma = 1/2 x^T (D + diag gamma) x, gamma ~ N(0, I): Sigma(x) = diag(x^2) / B."""

    def __init__(self, diag, batch_size=1):
        diag = np.asarray(diag, dtype=float)
        self.diag, self.dim, self.batch_size = diag, diag.size, batch_size
        d = self.dim
        cov = np.zeros((d, d + 1, d, d + 1))
        for i in range(d):
            cov[i, i, i, i] = 1.0 / batch_size
        self.affine = AffineGradient(np.concatenate([np.diag(diag), np.zeros((d, 1))], axis=1), cov)

    def value(self, x):
        return 0.5 * np.sum(self.diag * np.asarray(x) ** 2, axis=-1)


class GaussianDesignLeastSquares(StochasticObjective):
    """Online least squares: grad of 1/2 (a.x - y)^2, a ~ N(0, I_N), y = a.x* + xi."""

    def __init__(self, x_star, noise_var):
        x_star = np.asarray(x_star, dtype=float)
        N = x_star.size
        self.dim, self.x_star = N, x_star
        eye = np.eye(N)
        mean = np.concatenate([eye, -x_star[:, None]], axis=1)
        cov = np.zeros((N, N + 1, N, N + 1))
        # Gaussian fourth moments: Cov(a_i a_j, a_k a_l) = d_ik d_jl + d_il d_jk.
        cov[:, :N, :, :N] = np.einsum("ik,jl->ijkl", eye, eye) + np.einsum("il,jk->ijkl", eye, eye)
        cross = -(np.einsum("ik,j->ijk", eye, x_star) + np.einsum("jk,i->ijk", eye, x_star))
        cov[:, :N, :, N] = cross  # cov[i, j, k, N] = Cov(G_ij, G_kN)
        cov[:, N, :, :N] = np.einsum("ijk->kij", cross)
        cov[:, N, :, N] = eye * (x_star @ x_star + noise_var) + np.outer(x_star, x_star)
        self.affine = AffineGradient(mean, cov)

    def value(self, x):
        e = np.asarray(x) - self.x_star
        return 0.5 * np.sum(e**2, axis=-1)


def linear_sde(F, C, *, time_homogeneous=True):
    """An SDE with drift F(t) z and (sigma sigma^T)_ik = C_ijkl z_j z_l (callables or arrays)."""
    F_of = F if callable(F) else (lambda t: F)
    C_of = C if callable(C) else (lambda t: C)
    n = (F_of(1.0)).shape[0]

    def drift(t, x):
        z = np.concatenate([x, np.ones(x.shape[:-1] + (1,))], axis=-1)
        return z @ F_of(t).T

    def diffusion(t, x):
        z = np.concatenate([x, np.ones(x.shape[:-1] + (1,))], axis=-1)
        return symmetric_sqrt_factor(np.einsum("ijkl,...j,...l->...ik", C_of(t), z, z))

    lin = LinearStructure(F_of, C_of, time_homogeneous=time_homogeneous)
    return FunctionSDE(drift, diffusion, n, n, linear=lin)


def quadratic_sme(H, lr, *, order, batch_size=1):
    """SME-1 / SME-2 of the Gaussian quadratic (Li, Tai & E 2019, orders 1 and 2)."""
    d = H.shape[0]
    A = H + 0.5 * lr * H @ H if order == 2 else H
    F = np.concatenate([-A, np.zeros((d, 1))], axis=1)
    C = np.zeros((d, d + 1, d, d + 1))
    C[:, d, :, d] = lr * H @ H / batch_size
    return linear_sde(F, C)


def multiplicative_sme(diag, lr, *, order, batch_size=1):
    d = len(diag)
    D = np.diag(diag)
    A = D + 0.5 * lr * D @ D if order == 2 else D
    F = np.concatenate([-A, np.zeros((d, 1))], axis=1)
    C = np.zeros((d, d + 1, d, d + 1))
    for i in range(d):
        C[i, i, i, i] = lr / batch_size
    return linear_sde(F, C)


def underdamped_sde(lam, damping, s):
    F = np.array([[0.0, 1.0, 0.0], [-lam, -damping, 0.0]])
    C = np.zeros((2, 3, 2, 3))
    C[1, 2, 1, 2] = s**2
    return linear_sde(F, C)


def nesterov_sde(lam, s2):
    """Su-Boyd-Candes ODE plus additive noise in V: 3/t friction, singular at t = 0."""
    C = np.zeros((2, 3, 2, 3))
    C[1, 2, 1, 2] = s2
    return linear_sde(lambda t: np.array([[0.0, 1.0, 0.0], [-lam, -3.0 / t, 0.0]]), C, time_homogeneous=False)


def rotation(d, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q


LAMS = np.array([0.5, 1.0, 3.0])
X0 = np.array([1.0, -2.0, 0.5])


# ---------------------------------------------------------------------------
# SGD on the Gaussian quadratic
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 4])
def test_sgd_gaussian_quadratic_mean_variance_value(batch_size):
    U = rotation(3)
    H = U @ np.diag(LAMS) @ U.T
    H = 0.5 * (H + H.T)
    problem = GaussianQuadratic(H, batch_size=batch_size)
    lr, n = 0.1, 60
    x0 = U @ X0
    m = sgd_moments(problem, lr, x0, n)
    k = np.arange(n + 1)
    noise = LAMS**2 / batch_size
    mean_eig = cf.sgd_quadratic_mean(LAMS, lr, X0, k[:, None])
    var_eig = cf.sgd_quadratic_variance(LAMS, lr, k[:, None], noise)
    np.testing.assert_allclose(m.mean, mean_eig @ U.T, rtol=RTOL, atol=1e-14)
    cov_eig = np.einsum("ai,nij,bj->nab", U.T, m.cov, U.T)
    np.testing.assert_allclose(np.diagonal(cov_eig, axis1=1, axis2=2), var_eig, rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(
        m.expect_value(problem), cf.sgd_quadratic_value(LAMS, lr, X0, k, noise), rtol=RTOL
    )


def test_sgd_gaussian_quadratic_stationary_level():
    problem = GaussianQuadratic(LAMS)
    lr = 0.2
    m = sgd_moments(problem, lr, X0, 2000, record=[2000])
    np.testing.assert_allclose(m.expect_value(problem)[0], cf.sgd_quadratic_stationary_value(LAMS, lr), rtol=RTOL)
    np.testing.assert_allclose(
        m.position_var[0], cf.sgd_quadratic_stationary_variance(LAMS, lr), rtol=RTOL
    )


def test_closed_form_sgd_variance_matches_paper_expression():
    lam, lr, k = LAMS, 0.1, 7
    paper = lr * lam * (1 - (1 - lr * lam) ** (2 * k)) / (2 - lr * lam)
    np.testing.assert_allclose(cf.sgd_quadratic_variance(lam, lr, k), paper, rtol=1e-14)


# ---------------------------------------------------------------------------
# SMEs of the Gaussian quadratic
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("order", [1, 2])
def test_sme_gaussian_quadratic_moments(order):
    lr = 0.05
    H = np.diag(LAMS)
    problem = GaussianQuadratic(H)
    t = np.linspace(0.0, 3.0, 31)
    m = sde_moments(quadratic_sme(H, lr, order=order), X0, t)
    mean_f = cf.sme1_quadratic_mean if order == 1 else (lambda l, x, tt: cf.sme2_quadratic_mean(l, lr, x, tt))
    var_f = cf.sme1_quadratic_variance if order == 1 else cf.sme2_quadratic_variance
    value_f = cf.sme1_quadratic_value if order == 1 else cf.sme2_quadratic_value
    np.testing.assert_allclose(m.mean, mean_f(LAMS, X0, t[:, None]), rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(m.position_var, var_f(LAMS, lr, t[:, None]), rtol=RTOL, atol=1e-14)
    np.testing.assert_allclose(m.expect_value(problem), value_f(LAMS, lr, X0, t), rtol=RTOL)


def test_sme1_value_matches_paper_expression():
    lr, t = 0.1, np.array([0.3, 2.0])
    H = np.diag(LAMS)
    paper = 0.5 * np.array(
        [X0 @ H @ np.diag(np.exp(-2 * tt * LAMS)) @ X0 + 0.5 * lr * np.sum(LAMS**2 * (1 - np.exp(-2 * LAMS * tt))) for tt in t]
    )
    np.testing.assert_allclose(cf.sme1_quadratic_value(LAMS, lr, X0, t), paper, rtol=1e-14)


def test_sme2_variance_matches_paper_expression():
    lam, lr, t = LAMS, 0.1, 1.3
    a = lam + lr * lam**2 / 2
    np.testing.assert_allclose(
        cf.sme2_quadratic_variance(lam, lr, t), lr * lam**2 * (1 - np.exp(-2 * a * t)) / (2 * a), rtol=1e-14
    )


# ---------------------------------------------------------------------------
# multiplicative noise
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 3])
def test_multiplicative_sgd_second_moment(batch_size):
    diag = np.array([0.5, 1.5])
    x0 = np.array([1.0, -2.0])
    problem = Multiplicative(diag, batch_size)
    lr, n = 0.1, 50
    m = sgd_moments(problem, lr, x0, n)
    k = np.arange(n + 1)[:, None]
    expected = cf.sgd_multiplicative_second_moment(diag, lr, x0, k, batch_size)
    np.testing.assert_allclose(np.diagonal(m.second, axis1=1, axis2=2), expected, rtol=RTOL)
    np.testing.assert_allclose(m.expect_value(problem), 0.5 * expected @ diag, rtol=RTOL)


@pytest.mark.parametrize("order", [1, 2])
def test_multiplicative_sme_second_moment(order):
    diag, x0, lr, B = np.array([0.5, 1.5]), np.array([1.0, -2.0]), 0.1, 2
    t = np.linspace(0, 4, 9)
    m = sde_moments(multiplicative_sme(diag, lr, order=order, batch_size=B), x0, t)
    f = cf.sme1_multiplicative_second_moment if order == 1 else cf.sme2_multiplicative_second_moment
    np.testing.assert_allclose(
        np.diagonal(m.second, axis1=1, axis2=2), f(diag, lr, x0, t[:, None], B), rtol=RTOL
    )


# ---------------------------------------------------------------------------
# momentum
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("lr,mu", [(0.1, 0.5), (0.01, 0.9), (0.3, 0.0)])
def test_msgd_stationary_variance(lr, mu):
    lam = 2.0
    problem = GaussianQuadratic([lam])  # sigma^2 = lam^2
    m = momentum_moments(problem, lr, mu, [1.0], 4000, record=[4000])
    expected = cf.msgd_stationary_variance(lam, lr, mu, lam**2)
    np.testing.assert_allclose(m.position_var[0, 0], expected, rtol=RTOL)


def test_msgd_sme_value_and_effective_learning_rate():
    lam, lr, mu, s2 = 2.0, 1e-4, 0.9, 3.0
    sme_value = cf.msgd_sme_stationary_variance(lam, lr, mu, s2)
    np.testing.assert_allclose(sme_value, cf.effective_learning_rate(lr, mu) * s2 / (2 * lam), rtol=1e-15)
    # the exact variance tends to the SME value as lr -> 0 at fixed mu
    exact = cf.msgd_stationary_variance(lam, lr, mu, s2)
    assert abs(exact / sme_value - 1) < 1e-3
    # and equals SGD at the effective learning rate to leading order
    sgd = cf.sgd_quadratic_stationary_variance(lam, cf.effective_learning_rate(lr, mu), s2)
    assert abs(sgd / sme_value - 1) < 1e-2


@pytest.mark.parametrize("damping", [0.5, 2.0, 5.0])
def test_underdamped_stationary_variances(damping):
    lam, s = 1.0, 0.7
    m = sde_moments(underdamped_sde(lam, damping, s), [1.0], [400.0], v0=[0.5])
    var_x, var_v = cf.underdamped_stationary_variances(lam, damping, s)
    np.testing.assert_allclose(np.diag(m.cov[0]), [var_x, var_v], rtol=RTOL)
    assert abs(m.cov[0, 0, 1]) < 1e-12


def test_critical_damping_is_fastest_decay():
    lam = 4.0
    gamma_c = cf.critical_damping(lam)

    def spectral_abscissa(gamma):
        return np.max(np.linalg.eigvals(np.array([[0, 1], [-lam, -gamma]])).real)

    rates = [spectral_abscissa(g) for g in gamma_c * np.array([0.5, 0.9, 1.0, 1.1, 2.0])]
    assert np.argmin(rates) == 2
    assert gamma_c == 4.0


# ---------------------------------------------------------------------------
# Nesterov
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("lam", [1.0, 4.0])
def test_nesterov_bessel_solution(lam):
    t = np.linspace(0.0, 12.0, 49)
    m = sde_moments(nesterov_sde(lam, 0.0), [1.5], t)
    np.testing.assert_allclose(
        m.mean[:, 0], cf.nesterov_deterministic_solution(lam, 1.5, t), rtol=1e-8, atol=1e-12
    )


def test_nesterov_bessel_small_time_series_branch():
    t = np.array([1e-6, 5e-5, 2e-4])
    np.testing.assert_allclose(
        cf.nesterov_deterministic_solution(2.0, 1.0, t), 2 * scipy.special.j1(np.sqrt(2) * t) / (np.sqrt(2) * t), rtol=1e-15
    )


def nesterov_green_variance(lam, s2, t):
    """Var X_t = s^2 int_0^t G(t, tau)^2 dtau with the Bessel Green's function (independent check)."""
    k = np.sqrt(lam)

    def green(tau):
        y1 = lambda u: scipy.special.j1(k * u) / u  # noqa: E731
        y2 = lambda u: scipy.special.y1(k * u) / u  # noqa: E731
        wronskian_inv = np.pi * tau**3 / 2
        return (y1(tau) * y2(t) - y1(t) * y2(tau)) * wronskian_inv

    val, _ = scipy.integrate.quad(lambda tau: green(tau) ** 2, 0, t, epsabs=0, epsrel=1e-13, limit=400)
    return s2 * val


def test_nesterov_sme_noise_variance_green_function():
    lam, s2 = 2.0, 0.3
    t = np.array([0.5, 2.0, 7.0])
    m = sde_moments(nesterov_sde(lam, s2), [1.0], t)
    expected = [nesterov_green_variance(lam, s2, tt) for tt in t]
    np.testing.assert_allclose(m.position_var[:, 0], expected, rtol=1e-8)


def test_nesterov_sme_noise_accumulation_asymptote():
    lam, s2 = 1.0, 0.1
    problem = GaussianQuadratic([lam])
    t = np.array([100.0, 400.0])
    m = sde_moments(nesterov_sde(lam, s2), [0.0], t)
    ratio = m.expect_value(problem) / cf.nesterov_sme_value_asymptote(s2, t)
    # corrections are O(1/(lam t^2))
    assert np.all(np.abs(ratio - 1.0) < 5.0 / (lam * t**2))


@pytest.mark.parametrize("lr,mu", [(0.1, 0.5), (0.01, 0.95)])
def test_nesterov_constant_momentum_stationary_variance(lr, mu):
    lam = 1.5
    problem = GaussianQuadratic([lam])
    m = nesterov_moments(problem, lr, [1.0], 6000, momentum=mu, record=[6000])
    np.testing.assert_allclose(m.position_var[0, 0], cf.nesterov_stationary_variance(lam, lr, mu, lam**2), rtol=RTOL)


def test_nesterov_discrete_level():
    lam, lr, s2 = 1.0, 0.1, 1.0
    level = cf.nesterov_discrete_level(lam, lr, s2)
    near_one = 0.5 * lam * cf.nesterov_stationary_variance(lam, lr, 1 - 1e-7, s2)
    np.testing.assert_allclose(level, near_one, rtol=1e-5)
    np.testing.assert_allclose(cf.nesterov_discrete_level(lam, 1e-9, s2), s2 / (4 * lam), rtol=1e-8)
    # the k/(k+3) schedule levels off there (slowly: mu_k -> 1 like 1 - 3/k)
    m = nesterov_moments(GaussianQuadratic([lam]), lr, [0.0], 20000, record=[20000])
    assert abs(m.expect_value(GaussianQuadratic([lam]))[0] / level - 1) < 2e-3


# ---------------------------------------------------------------------------
# online least squares (section 5) and cSGD (ICML 2017)
# ---------------------------------------------------------------------------


def test_online_least_squares_recursion_matches_engine():
    N, c, s2 = 4, 0.8, 0.3
    x_star = np.array([1.0, -1.0, 0.5, 2.0])
    problem = GaussianDesignLeastSquares(x_star, s2)
    m = sgd_moments(problem, c / N, np.zeros(N), 40)
    D = np.trace(m.second, axis1=1, axis2=2) - 2 * m.mean @ x_star + x_star @ x_star
    k = np.arange(41)
    np.testing.assert_allclose(D, cf.online_lsq_discrete(c, N, s2, x_star @ x_star, k), rtol=RTOL)
    np.testing.assert_allclose(m.expect_value(problem), D / 2, rtol=RTOL)


def test_online_least_squares_ode():
    c, s2, D0 = 0.7, 0.4, 2.0
    t = np.linspace(0, 5, 11)
    sol = scipy.integrate.solve_ivp(
        lambda _, D: -2 * c * D + c**2 * (D + s2), (0, 5), [D0], t_eval=t, rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(cf.online_lsq_ode(c, s2, D0, t), sol.y[0], rtol=1e-9)
    assert cf.online_lsq_fixed_point(c, s2) == pytest.approx(c * s2 / (2 - c))
    assert cf.ONLINE_LSQ_CRITICAL_STEP == 2.0
    # the discrete recursion tends to the ODE as N -> infinity (time t = k / N)
    N = 20000
    assert abs(cf.online_lsq_discrete(c, N, s2, D0, 2 * N) - cf.online_lsq_ode(c, s2, D0, 2.0)) < 1e-3


def test_csgd_optimal_multiplier_minimises_rate():
    a, lr, s2 = 2.0, 0.1, 1.5
    u = np.linspace(0, 1, 100001)
    for m in [1e-3, 0.05, 0.2, 1.0]:
        best = u[np.argmin(cf.csgd_rate(a, m, u, lr, s2))]
        assert abs(best - cf.csgd_optimal_multiplier(a, m, lr, s2)) < 2e-5


@pytest.mark.parametrize("m0", [2.0, 0.01])
def test_csgd_optimal_path_solves_ode(m0):
    a, lr, s2 = 1.5, 0.1, 2.0
    t = np.linspace(0, 30, 61)

    def rhs(_, m):
        return cf.csgd_rate(a, m, cf.csgd_optimal_multiplier(a, m, lr, s2), lr, s2)

    sol = scipy.integrate.solve_ivp(rhs, (0, 30), [m0], t_eval=t, rtol=1e-12, atol=1e-15, method="DOP853")
    m, u = cf.csgd_optimal_path(a, m0, lr, s2, t)
    np.testing.assert_allclose(m, sol.y[0], rtol=1e-8)
    # annealing: 1/u* grows like a t once u* < 1, so u* ~ 1 / (a t)
    np.testing.assert_allclose(1 / u[-1] - 1 / u[-2], a * (t[-1] - t[-2]), rtol=1e-10)
