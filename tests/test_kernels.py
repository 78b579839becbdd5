"""Fused kernels on counter streams: compiled = numpy reference, independence, weak orders."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import smecore as sc
from smecore.estimation.counter_jit import HAVE_NUMBA
from smecore.sme import DiagonalNoiseSDE, FunctionSDE
from smecore.sme.polynomial import PolynomialDiagonalSDE
from smecore.solvers import solve_sde
from smecore.solvers.kernels import fused_spec, solve_sde_counter

needs_numba = pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed")

DOUBLE_WELL = PolynomialDiagonalSDE([0.0, 1.0, 0.0, -1.0], dim=5, scale=np.sqrt(0.1))
AFFINE_NOISE = PolynomialDiagonalSDE([0.2, -1.0], dim=3, scale=0.3, noise_slope=[0.5, 0.0, -0.2])


def _both(sde, **kw):
    args = dict(n_steps=40, n_paths=2100, rng=3, record=[0, 7, 40], block_size=500)
    args.update(kw)
    x0 = np.full(sde.dim, 0.5)
    a = solve_sde_counter(sde, x0, 1.0, backend="numba", **args)
    b = solve_sde_counter(sde, x0, 1.0, backend="numpy", **args)
    return a, b


@needs_numba
@pytest.mark.parametrize("scheme", ["euler", "weak2"])
@pytest.mark.parametrize("increments", ["gaussian", "discrete"])
def test_compiled_equals_numpy_reference_bit_for_bit(scheme, increments):
    a, b = _both(DOUBLE_WELL, scheme=scheme, increments=increments)
    np.testing.assert_array_equal(a["x"].mean, b["x"].mean)
    np.testing.assert_array_equal(a["x"].stderr, b["x"].stderr)


@needs_numba
@pytest.mark.parametrize("increments", ["gaussian", "discrete"])
def test_affine_noise_compiled_equals_reference(increments):
    a, b = _both(AFFINE_NOISE, increments=increments)
    np.testing.assert_array_equal(a["x"].mean, b["x"].mean)


def test_generic_diagonal_sde_falls_back_to_the_same_scheme():
    # an uncompilable drift (a Python callable) runs the numpy reference on the same streams
    generic = DiagonalNoiseSDE(lambda t, x: -x, dim=2, scale=0.5)
    poly = PolynomialDiagonalSDE([0.0, -1.0], dim=2, scale=0.5)
    assert fused_spec(generic) is None and fused_spec(poly) is not None
    kw = dict(n_steps=20, n_paths=700, rng=1, record=[20])
    a = solve_sde_counter(generic, [1.0, 1.0], 1.0, **kw)
    b = solve_sde_counter(poly, [1.0, 1.0], 1.0, **kw)
    np.testing.assert_array_equal(a["x"].mean, b["x"].mean)


def test_solve_sde_backend_option_dispatches():
    kw = dict(n_steps=10, n_paths=600, rng=2, record=[10])
    a = solve_sde(DOUBLE_WELL, np.zeros(5), 1.0, backend="numba", **kw)
    b = solve_sde_counter(DOUBLE_WELL, np.zeros(5), 1.0, **kw)
    np.testing.assert_array_equal(a["x"].mean, b["x"].mean)
    c = solve_sde(DOUBLE_WELL, np.zeros(5), 1.0, **kw)  # default: the block-seeded numpy path
    assert not np.array_equal(a["x"].mean, c["x"].mean)
    with pytest.raises(ValueError, match="backend"):
        solve_sde(DOUBLE_WELL, np.zeros(5), 1.0, backend="cuda", **kw)


@pytest.mark.parametrize("backend, increments", [("numba", "gaussian"), ("numba", "discrete"),
                                                 ("numpy", "gaussian")])
def test_chunk_size_executor_and_threads_do_not_change_results(backend, increments):
    kw = dict(n_steps=30, n_paths=2500, rng=4, record=[30], block_size=256, backend=backend,
              increments=increments)
    ref = solve_sde_counter(DOUBLE_WELL, np.zeros(5), 1.0, **kw)["x"]
    small = solve_sde_counter(DOUBLE_WELL, np.zeros(5), 1.0, chunk_size=300, **kw)["x"]
    with ThreadPoolExecutor(2) as ex:
        pooled = solve_sde_counter(DOUBLE_WELL, np.zeros(5), 1.0, chunk_size=700,
                                   executor=ex, **kw)["x"]
    for other in (small, pooled):
        np.testing.assert_array_equal(other.mean, ref.mean)
        np.testing.assert_array_equal(other.stderr, ref.stderr)
    if backend == "numba" and HAVE_NUMBA:
        import numba
        before = numba.get_num_threads()
        try:
            numba.set_num_threads(1)
            one = solve_sde_counter(DOUBLE_WELL, np.zeros(5), 1.0, **kw)["x"]
        finally:
            numba.set_num_threads(before)
        np.testing.assert_array_equal(one.mean, ref.mean)


def test_block_size_groups_statistics_but_keeps_the_paths():
    kw = dict(n_steps=10, n_paths=1000, rng=5, record=[10])
    a = solve_sde_counter(DOUBLE_WELL, np.zeros(5), 1.0, block_size=100, **kw)["x"]
    b = solve_sde_counter(DOUBLE_WELL, np.zeros(5), 1.0, block_size=1000, **kw)["x"]
    np.testing.assert_allclose(a.mean, b.mean, rtol=0, atol=1e-15)


# -- weak orders on an Ornstein-Uhlenbeck process with exact moments -------------------
LAM, SIG, X0, T = 1.0, 1.0, 1.0, 1.0
OU = PolynomialDiagonalSDE([0.0, -LAM], dim=1, scale=SIG)
EXACT_SECOND = (X0 * np.exp(-LAM * T)) ** 2 + SIG**2 * (1 - np.exp(-2 * LAM * T)) / (2 * LAM)


def _scheme_second_moment(scheme, n):
    """E X_n^2 of the scheme itself on OU (linear recursion, exact)."""
    h = T / n
    if scheme == "euler":
        a, c2 = 1 - LAM * h, SIG**2 * h
    else:  # stochastic Heun: X' = X (1 - lam h + lam^2 h^2 / 2) + s dW (1 - lam h / 2)
        a, c2 = 1 - LAM * h + 0.5 * (LAM * h) ** 2, SIG**2 * h * (1 - 0.5 * LAM * h) ** 2
    m, v = X0, 0.0
    for _ in range(n):
        m, v = a * m, a * a * v + c2
    return m * m + v


def _square(x):
    return x[:, 0] ** 2


@pytest.mark.parametrize("scheme, order", [("euler", 1), ("weak2", 2)])
def test_weak_order_of_the_schemes_against_exact_moments(scheme, order):
    ns = (4, 8, 16) if scheme == "euler" else (2, 4, 8)
    exact_bias = [_scheme_second_moment(scheme, n) - EXACT_SECOND for n in ns]
    slopes = np.diff(np.log(np.abs(exact_bias))) / np.diff(np.log(1.0 / np.array(ns)))
    assert np.all(np.abs(slopes - order) < 0.35)  # the scheme's own order (deterministic)
    for n in ns:  # and the kernel samples that scheme (Gaussian increments, 4 stderr)
        est = solve_sde_counter(OU, [X0], T, n_steps=n, scheme=scheme, n_paths=200_000, rng=n,
                                record=[n], observables={"q": _square})["q"]
        assert abs(est.mean[-1] - _scheme_second_moment(scheme, n)) < 4 * est.stderr[-1]


def test_mc_slope_of_euler_is_one():
    ns = (4, 8, 16)
    errs = [solve_sde_counter(OU, [X0], T, n_steps=n, n_paths=400_000, rng=10 + n, record=[n],
                              observables={"q": _square})["q"].mean[-1] - EXACT_SECOND for n in ns]
    slope = np.polyfit(np.log(1.0 / np.array(ns)), np.log(np.abs(errs)), 1)[0]
    assert 0.75 < slope < 1.3


# -- errors ----------------------------------------------------------------------------
def test_divergence_is_reported_with_its_step():
    blow = PolynomialDiagonalSDE([0.0, 0.0, 0.0, 1.0], dim=1, scale=0.1)  # dX = X^3 dt
    for backend in ("numba", "numpy"):
        for increments in ("gaussian", "discrete"):  # the row kernel and the tiled kernel
            with pytest.raises(sc.DivergenceError, match="step 6"):
                solve_sde_counter(blow, [3.0], 2.0, n_steps=10, n_paths=300, rng=0,
                                  increments=increments, backend=backend)


def test_bad_arguments():
    with pytest.raises(ValueError, match="backend"):
        solve_sde_counter(OU, [1.0], 1.0, n_steps=2, n_paths=2, backend="gpu")
    with pytest.raises(ValueError, match="additive"):
        solve_sde_counter(AFFINE_NOISE, np.zeros(3), 1.0, n_steps=2, n_paths=2, scheme="weak2")
    with pytest.raises(ValueError, match="scheme"):
        solve_sde_counter(OU, [1.0], 1.0, n_steps=2, n_paths=2, scheme="exact")
    full = FunctionSDE(lambda t, x: -x, lambda t, x: np.ones(x.shape + (1,)), dim=1, noise_dim=1)
    with pytest.raises(ValueError, match="Diagonal"):
        solve_sde_counter(full, [1.0], 1.0, n_steps=2, n_paths=2)
    with pytest.raises(ValueError, match="n_paths"):
        solve_sde_counter(OU, [1.0], 1.0, n_steps=2, n_paths=0)
    with pytest.raises(ValueError, match="coefficients"):
        PolynomialDiagonalSDE([[0.0, 1.0]], dim=3, scale=1.0)
