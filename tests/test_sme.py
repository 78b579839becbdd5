"""Tests of smecore.sme: drifts, diffusions and linear structures of the SMEs."""

import numpy as np
import pytest

from smecore.problems import GaussianQuadratic, StochasticObjective
from smecore.problems.base import AffineGradient
from smecore.sme import (
    SDE,
    OnPosition,
    momentum_sme,
    momentum_state_map,
    momentum_state_unmap,
    nesterov_sme,
    sgd_sme,
    sme_initial_state,
)


class LocalMultiplicative(StochasticObjective):
    """f_gamma = 1/2 x^T (diag(D) + s diag(gamma)) x, gamma ~ N(0, I): Sigma(x) = s^2 diag(x^2)."""

    gaussian_noise = True

    def __init__(self, D, scale=0.7):
        self.D = np.asarray(D, dtype=float)
        self.dim = self.noise_dim = self.D.size
        self.scale = scale
        d = self.dim
        mean = np.concatenate([np.diag(self.D), np.zeros((d, 1))], axis=1)
        cov = np.zeros((d, d + 1, d, d + 1))
        cov[np.arange(d), np.arange(d), np.arange(d), np.arange(d)] = scale**2
        self.affine = AffineGradient(mean, cov)

    def value(self, x):
        return 0.5 * np.sum(self.D * x**2, axis=-1)

    def grad(self, x):
        return self.D * x

    def hessian(self, x):
        x = np.asarray(x)
        return np.broadcast_to(np.diag(self.D), x.shape[:-1] + (self.dim, self.dim)).copy()

    def noise_cov(self, x):
        x = np.asarray(x)
        return np.einsum("...i,ij->...ij", self.scale**2 * x**2, np.eye(self.dim))

    def noise_factor(self, x):
        x = np.asarray(x)
        return np.einsum("...i,ij->...ij", self.scale * x, np.eye(self.dim))


def full_H():
    return np.array([[2.0, 0.5, 0.0], [0.5, 1.0, -0.3], [0.0, -0.3, 0.5]])


def problems():
    return [GaussianQuadratic(full_H()), GaussianQuadratic([1.0, 3.0], batch_size=4),
            LocalMultiplicative([1.0, 2.0])]


def z_of(x):
    return np.concatenate([x, np.ones(x.shape[:-1] + (1,))], axis=-1)


def assert_linear_consistent(sde, t, rng):
    """drift = F z and sigma sigma^T = C[z, z] at random points, to rounding."""
    x = rng.standard_normal((7, sde.dim))
    z = z_of(x)
    F = sde.linear.drift_matrix(t)
    C = sde.linear.noise_tensor(t)
    np.testing.assert_allclose(sde.drift(t, x), z @ F.T, rtol=1e-12, atol=1e-12)
    b = sde.diffusion(t, x)
    np.testing.assert_allclose(
        np.einsum("nij,nkj->nik", b, b), np.einsum("ijkl,nj,nl->nik", C, z, z),
        rtol=1e-12, atol=1e-12,
    )
    state_dependent = C.copy()
    state_dependent[:, -1, :, -1] = 0.0
    assert sde.linear.additive == (not np.any(state_dependent))


# ---------------------------------------------------------------------------
# SGD SME
# ---------------------------------------------------------------------------
def test_order2_drift_is_paper_formula_for_gaussian_quadratic():
    H = full_H()
    lr = 0.05
    sde = sgd_sme(GaussianQuadratic(H), lr, order=2)
    x = np.random.default_rng(0).standard_normal((5, 3))
    expected = -(x @ H.T) - 0.5 * lr * (x @ H.T) @ H.T
    np.testing.assert_allclose(sde.drift(0.3, x), expected, rtol=1e-12, atol=1e-12)


def test_order1_drift_and_diffusion():
    H = full_H()
    p = GaussianQuadratic(H, batch_size=2)
    sde = sgd_sme(p, 0.1)
    x = np.random.default_rng(1).standard_normal((4, 3))
    np.testing.assert_allclose(sde.drift(0.0, x), -(x @ H.T), rtol=1e-12, atol=1e-12)
    b = sde.diffusion(0.0, x)
    assert b.shape == (4, 3, 3)
    np.testing.assert_allclose(np.einsum("nij,nkj->nik", b, b)[0], 0.1 * H @ H / 2, atol=1e-12)


def test_correction_override_and_noise_off():
    p = GaussianQuadratic([2.0])
    x = np.array([[1.0]])
    assert sgd_sme(p, 0.1, correction=0.5).drift(0.0, x)[0, 0] == pytest.approx(-(2 + 0.1 * 4))
    assert sgd_sme(p, 0.1, order=2, correction=0.0).drift(0.0, x)[0, 0] == pytest.approx(-2.0)
    ode = sgd_sme(p, 0.1, order=2, noise=False)
    assert ode.noise_dim == 0 and ode.diffusion(0.0, x).shape == (1, 1, 0)
    assert ode.linear.additive


@pytest.mark.parametrize("order,correction", [(1, None), (2, None), (1, 0.5)])
@pytest.mark.parametrize("index", range(3))
def test_sgd_linear_structure_consistent(order, correction, index):
    sde = sgd_sme(problems()[index], 0.07, order, correction=correction)
    assert sde.linear.time_homogeneous
    assert_linear_consistent(sde, 0.0, np.random.default_rng(index))


def test_additivity_flags():
    assert sgd_sme(GaussianQuadratic([1.0, 2.0]), 0.1).linear.additive
    assert not sgd_sme(LocalMultiplicative([1.0]), 0.1).linear.additive
    assert not momentum_sme(LocalMultiplicative([1.0]), 0.1, damping=1.0).linear.additive
    assert nesterov_sme(GaussianQuadratic([1.0]), 0.1).linear.additive


def test_problem_without_affine_has_no_linear_structure():
    class Quartic(LocalMultiplicative):
        affine = None

        def grad(self, x):
            return x**3

        def hvp(self, x, v):
            return 3 * x**2 * v

    p = Quartic([1.0])
    p.affine = None
    sde = sgd_sme(p, 0.1, order=2)
    assert sde.linear is None
    x = np.array([[2.0]])
    assert sde.drift(0.0, x)[0, 0] == pytest.approx(-(8 + 2 * 0.25 * 0.1 * 12 * 8))


# ---------------------------------------------------------------------------
# Momentum and Nesterov
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("index", range(3))
def test_momentum_linear_structure_consistent(index):
    sde = momentum_sme(problems()[index], 0.04, momentum=0.9)
    assert sde.dim == 2 * problems()[index].dim
    assert sde.damping == pytest.approx(0.1 / 0.2)
    assert_linear_consistent(sde, 0.0, np.random.default_rng(10 + index))


@pytest.mark.parametrize("index", range(3))
@pytest.mark.parametrize("t", [0.1, 2.5])
def test_nesterov_linear_structure_consistent(index, t):
    sde = nesterov_sme(problems()[index], 0.04)
    assert not sde.linear.time_homogeneous
    assert_linear_consistent(sde, t, np.random.default_rng(20 + index))


def test_momentum_drift_and_noise_scale():
    lr = 0.0625
    p = GaussianQuadratic([2.0])
    sde = momentum_sme(p, lr, damping=1.5)
    y = np.array([[1.0, -1.0]])
    np.testing.assert_allclose(sde.drift(0.0, y), [[-1.0, -2.0 + 1.5]])
    b = sde.diffusion(0.0, y)
    np.testing.assert_allclose(b[0, :, 0], [0.0, -(lr**0.25) * 2.0])
    assert sde.momentum == pytest.approx(1 - 1.5 * 0.25)


def test_nesterov_drift_limit_at_zero():
    p = GaussianQuadratic([2.0, 1.0])
    sde = nesterov_sme(p, 0.01)
    y = np.array([[1.0, 2.0, 0.0, 0.0]])
    np.testing.assert_allclose(sde.drift(0.0, y), [[0.0, 0.0, -0.5, -0.5]])
    np.testing.assert_allclose(sde.drift(0.5, np.array([[1.0, 2.0, 1.0, 0.0]])),
                               [[1.0, 0.0, -2.0 - 6.0, -2.0]])
    with pytest.raises(ValueError, match="t must be > 0"):
        sde.linear.drift_matrix(0.0)


def test_state_maps_roundtrip_and_initial_state():
    x, v = np.array([1.0, -2.0]), np.array([0.3, 0.1])
    X, V = momentum_state_map(x, v, 0.04)
    np.testing.assert_allclose(V, v / 0.2)
    x2, v2 = momentum_state_unmap(X, V, 0.04)
    np.testing.assert_allclose(x2, x, rtol=1e-15)
    np.testing.assert_allclose(v2, v, rtol=1e-15)
    p = GaussianQuadratic([1.0, 2.0])
    np.testing.assert_array_equal(sme_initial_state(momentum_sme(p, 0.1, damping=1.0), x),
                                  [1.0, -2.0, 0.0, 0.0])
    np.testing.assert_array_equal(sme_initial_state(sgd_sme(p, 0.1), x), x)
    with pytest.raises(ValueError, match="x0"):
        sme_initial_state(nesterov_sme(p, 0.1), [1.0, 2.0, 3.0])


def test_on_position_pickles_and_selects():
    import pickle

    g = pickle.loads(pickle.dumps(OnPosition(np.square, 2)))
    np.testing.assert_array_equal(g(np.array([[1.0, 2.0, 3.0, 4.0]])), [[1.0, 4.0]])


def test_smes_are_sdes_and_pickle():
    import pickle

    p = LocalMultiplicative([1.0, 2.0])
    for sde in (sgd_sme(p, 0.1, 2), momentum_sme(p, 0.1, damping=1.0), nesterov_sme(p, 0.1)):
        assert isinstance(sde, SDE)
        clone = pickle.loads(pickle.dumps(sde))
        y = np.ones((2, sde.dim))
        np.testing.assert_array_equal(clone.drift(1.0, y), sde.drift(1.0, y))


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------
def test_bad_input():
    p = GaussianQuadratic([1.0])
    with pytest.raises(TypeError, match="problem"):
        sgd_sme("not a problem", 0.1)
    with pytest.raises(ValueError, match="lr"):
        sgd_sme(p, 0.0)
    with pytest.raises(TypeError, match="lr"):
        sgd_sme(p, "0.1")
    with pytest.raises(ValueError, match="order"):
        sgd_sme(p, 0.1, order=3)
    with pytest.raises(ValueError, match="correction"):
        sgd_sme(p, 0.1, correction=np.nan)
    with pytest.raises(TypeError, match="noise"):
        sgd_sme(p, 0.1, noise="yes")
    with pytest.raises(ValueError, match="exactly one"):
        momentum_sme(p, 0.1)
    with pytest.raises(ValueError, match="exactly one"):
        momentum_sme(p, 0.1, momentum=0.9, damping=1.0)
    with pytest.raises(ValueError, match="momentum"):
        momentum_sme(p, 0.1, momentum=1.0)
    with pytest.raises(ValueError, match="damping"):
        momentum_sme(p, 0.1, damping=-1.0)
    with pytest.raises(ValueError, match="friction"):
        nesterov_sme(p, 0.1, friction=1.0)
    with pytest.raises(TypeError, match="sde"):
        sme_initial_state(p, [1.0])
