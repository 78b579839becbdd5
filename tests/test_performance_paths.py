"""The fast paths: random signs from bits, diagonal-noise SDEs stepped in place, SGD transposed.

Correctness only (no timings): the fast paths have the law of the general
ones (exact scheme moments, or agreement within 4 standard errors), and their
results are bit-identical across chunk sizes, tile sizes and executors
(threads, processes, a Dask cluster).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

import smecore.algorithms.simulate as algorithms
import smecore.solvers.sde_solve as solvers
from smecore import SGD, LinearRegression, run
from smecore._validation import DivergenceError
from smecore.estimation import PathRandom, identity, plan_blocks
from smecore.sme import DiagonalNoiseSDE, FunctionSDE
from smecore.solvers import sample_sde_paths, solve_sde
from smecore.solvers.steppers import _make_stepper

# Process pools spawn: forking a process that has loaded JAX (multithreaded) may deadlock.
SPAWN = multiprocessing.get_context("spawn")


# ---------------------------------------------------------------------------
# Module-level SDEs and observables (picklable for process pools and Dask)
# ---------------------------------------------------------------------------
class DoubleWell(DiagonalNoiseSDE):
    """dX = X (1 - X^2) dt + s dW per coordinate (additive, scalar scale)."""

    def __init__(self, dim=3, scale=0.4):
        super().__init__(dim=dim, scale=scale)

    def drift(self, t, x):
        return x * (1.0 - x * x)


class LinearMultiplicative(DiagonalNoiseSDE):
    """dX_i = -X_i dt + (0.5 + 0.3 X_i) dW_i: state-dependent diagonal noise."""

    def __init__(self, dim=2):
        super().__init__(dim=dim)

    def drift(self, t, x):
        return -x

    def diagonal_diffusion(self, t, x):
        return 0.5 + 0.3 * x


def double_well_general(dim=3, scale=0.4):
    """The same SDE as DoubleWell, through the general (n, d, m) interface."""
    return FunctionSDE(lambda t, x: x * (1.0 - x * x),
                       lambda t, x: np.broadcast_to(scale * np.eye(dim), x.shape + (dim,)),
                       dim=dim, noise_dim=dim)


def mean_square(x):
    return np.mean(x * x, axis=1)


def first(x):
    return x[:, 0]


def _pr(n_paths, seed=0, block_size=8):
    plan = plan_blocks(seed, n_paths, block_size=block_size)
    return PathRandom(plan.seeds, plan.sizes)


# ---------------------------------------------------------------------------
# PathRandom.rademacher, tiles, integers_for_steps
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(64, 10), (40, 3), (37, 5, 2), (9,)])
def test_rademacher_values_and_tiles(shape):
    signs = _pr(shape[0]).rademacher(shape, scale=0.25)
    assert signs.shape == shape and set(np.unique(signs)) <= {-0.25, 0.25}
    # Tiles (whole blocks) draw exactly what one pass over the chunk draws.
    tiled = np.concatenate([t.rademacher((t.n_paths,) + shape[1:], scale=0.25)
                            for t in _pr(shape[0]).tiles(16)])
    assert np.array_equal(signs, tiled)
    # Each block's rows depend on that block only.
    plan = plan_blocks(0, shape[0], block_size=8)
    last = PathRandom(plan.seeds[-1:], plan.sizes[-1:]).rademacher((plan.sizes[-1],) + shape[1:], 0.25)
    assert np.array_equal(signs[-plan.sizes[-1]:], last)


def test_rademacher_is_fair_in_every_bit_position():
    n = 64_000
    signs = _pr(n, block_size=1024).rademacher((n, 8))
    # Column j uses bit j of each byte: each must be a fair coin (4 standard errors).
    assert np.all(np.abs(signs.mean(axis=0)) < 4 / np.sqrt(n))
    assert abs(np.mean(signs[:, 0] * signs[:, 1])) < 4 / np.sqrt(n)


def test_rademacher_out_and_bad_out():
    rand = _pr(16)
    out = np.empty((16, 8))
    assert rand.rademacher((16, 8), out=out) is out
    with pytest.raises(ValueError, match="out"):
        _pr(16).rademacher((16, 8), out=np.empty((16, 4)))
    with pytest.raises(ValueError, match="number of paths"):
        _pr(16).rademacher((15, 8))


def test_tiles_cover_the_blocks_in_order():
    rand = _pr(100, block_size=8)  # 12 blocks of 8 and one of 4
    tiles = list(rand.tiles(20))
    assert [t.sizes for t in tiles][:2] == [[8, 8], [8, 8]]
    assert sum(t.n_paths for t in tiles) == 100
    assert all(t.n_paths <= 20 for t in tiles)
    assert [t.n_paths for t in _pr(10, block_size=8).tiles(3)] == [8, 2]  # a block is never split


@pytest.mark.parametrize("high", [1000, 2**31 + 1, 3 * 2**30 + 7])  # large: frequent rejections
def test_integers_for_steps_equals_successive_calls(high):
    ahead = _pr(21, seed=3).integers_for_steps(0, high, (21, 3), 5)
    one = _pr(21, seed=3)
    for k in range(5):
        assert np.array_equal(ahead[k], one.integers(0, high, (21, 3)))


# ---------------------------------------------------------------------------
# DiagonalNoiseSDE
# ---------------------------------------------------------------------------
def test_diagonal_sde_full_diffusion_and_inputs():
    sde = DiagonalNoiseSDE(lambda t, x: -x, dim=2, scale=[0.5, 2.0])
    assert sde.additive and sde.noise_type == "diagonal" and sde.noise_dim == 2
    x = np.zeros((3, 2))
    np.testing.assert_array_equal(sde.diffusion(0.0, x)[1], np.diag([0.5, 2.0]))
    state = LinearMultiplicative()
    assert not state.additive
    np.testing.assert_allclose(state.diffusion(0.0, np.ones((1, 2)))[0], 0.8 * np.eye(2))
    with pytest.raises(TypeError, match="exactly one"):
        DiagonalNoiseSDE(lambda t, x: -x, dim=2)
    with pytest.raises(TypeError, match="drift"):
        DiagonalNoiseSDE(dim=2, scale=1.0)
    with pytest.raises(ValueError, match="dim"):
        DiagonalNoiseSDE(lambda t, x: -x, dim=0, scale=1.0)
    with pytest.raises(ValueError, match="scale"):
        DiagonalNoiseSDE(lambda t, x: -x, dim=1, scale=np.nan)


# ---------------------------------------------------------------------------
# Diagonal Euler: exact scheme moments, agreement with the general path
# ---------------------------------------------------------------------------
def _ou_euler_moments(x0, a, s, h, n):
    """Mean and variance of Euler for dX = -a X dt + s dW after n steps (any unit-variance increments)."""
    q = 1.0 - a * h
    return q**n * x0, s**2 * h * (1.0 - q ** (2 * n)) / (1.0 - q**2)


def _ou_check(increments, seed, n_paths=20_000):
    a, s, h, n, x0 = 1.0, 0.7, 0.05, 20, np.array([1.0, -0.5, 2.0])
    sde = DiagonalNoiseSDE(lambda t, x: -a * x, dim=3, scale=s)
    stats = solve_sde(sde, x0, h * n, n_steps=n, increments=increments, n_paths=n_paths, rng=seed,
                      record=[n], observables={"x": lambda x: x, "x2": lambda x: x * x})
    mean, var = _ou_euler_moments(x0, a, s, h, n)
    ex, ex2 = stats["x"], stats["x2"]
    return (np.all(np.abs(ex.mean[-1] - mean) < 4 * ex.stderr[-1])
            and np.all(np.abs(ex2.mean[-1] - (var + mean**2)) < 4 * ex2.stderr[-1]))


@pytest.mark.parametrize("increments", ["discrete", "gaussian"])
def test_diagonal_euler_has_the_scheme_moments(increments):
    assert _ou_check(increments, seed=11)


@pytest.mark.slow
def test_diagonal_euler_moments_over_seeds():
    passed = sum(_ou_check("discrete", seed) for seed in range(20))
    assert passed >= 19


@pytest.mark.parametrize("increments", ["discrete", "gaussian"])
def test_diagonal_euler_agrees_with_general_path(increments):
    kw = dict(n_steps=50, increments=increments, n_paths=20_000, record=[50],
              observables={"msq": mean_square})
    x0 = np.array([0.5, -0.2, 1.5])
    fast = solve_sde(DoubleWell(), x0, 1.0, rng=1, **kw)["msq"]
    general = solve_sde(double_well_general(), x0, 1.0, rng=2, **kw)["msq"]
    assert abs(fast.mean[-1] - general.mean[-1]) < 4 * np.hypot(fast.stderr[-1], general.stderr[-1])


def test_state_dependent_diagonal_agrees_with_general_path():
    def diffusion(t, x):
        return (0.5 + 0.3 * x)[..., None] * np.eye(2)

    general_sde = FunctionSDE(lambda t, x: -x, diffusion, dim=2, noise_dim=2)
    kw = dict(n_steps=40, n_paths=20_000, record=[40], observables={"x2": lambda x: x * x})
    fast = solve_sde(LinearMultiplicative(), [1.0, -1.0], 1.0, increments="discrete", rng=3, **kw)["x2"]
    general = solve_sde(general_sde, [1.0, -1.0], 1.0, increments="discrete", rng=4, **kw)["x2"]
    assert np.all(np.abs(fast.mean - general.mean) < 4 * np.hypot(fast.stderr, general.stderr))


def test_diagonal_heun_is_weak_order_two_on_ou():
    # Stochastic Heun on dX = -X dt + s dW: E X_T and E X_T^2 match the SDE to O(h^2).
    s, T, x0 = 0.5, 1.0, 1.0
    sde = DiagonalNoiseSDE(lambda t, x: -x, dim=1, scale=s)
    stats = solve_sde(sde, [x0], T, n_steps=10, scheme="weak2", increments="discrete",
                      n_paths=100_000, rng=5, record=[10], observables={"x": lambda x: x, "x2": lambda x: x * x})
    mean = x0 * np.exp(-T)
    second = mean**2 + s**2 * (1 - np.exp(-2 * T)) / 2
    bias_band = 0.01  # (h = 0.1)^2 times a moderate constant
    assert abs(stats["x"].mean[-1, 0] - mean) < 4 * stats["x"].stderr[-1, 0] + bias_band
    assert abs(stats["x2"].mean[-1, 0] - second) < 4 * stats["x2"].stderr[-1, 0] + bias_band


@pytest.mark.parametrize("sde", [DoubleWell(), LinearMultiplicative()], ids=["additive", "state"])
@pytest.mark.parametrize("increments", ["discrete", "gaussian"])
def test_advance_equals_step_protocol(sde, increments):
    # The in-place path and the out-of-place protocol (sample_sde_paths) round identically.
    stepper = _make_stepper(sde, 0.01, "euler", increments, 0.0)
    x0 = np.linspace(-1.0, 1.0, sde.dim)
    a = np.broadcast_to(x0, (24, sde.dim)).copy()
    b = a.copy()
    ra, rb = _pr(24, seed=9), _pr(24, seed=9)
    buf = np.empty_like(a)
    for k in range(5):
        stepper.advance(0.01 * k, a, ra, buf)
        b = stepper.step(0.01 * k, b, stepper.draw_base(rb, 24), stepper.draw_rest(rb, 24))
    assert np.array_equal(a, b)


def test_sample_paths_match_solve_sde():
    sde, x0 = DoubleWell(), np.array([0.5, -0.2, 1.5])
    _, paths = sample_sde_paths(sde, x0, 0.2, n_steps=10, increments="discrete", n_paths=5, rng=4)
    stats = solve_sde(sde, x0, 0.2, n_steps=10, increments="discrete", n_paths=5, rng=4,
                      record=[10], block_size=1024)
    np.testing.assert_allclose(stats["x"].mean[-1], paths[-1].mean(axis=0), rtol=1e-14, atol=1e-15)


# ---------------------------------------------------------------------------
# Divergence checks stay exact
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 2e100])
def test_fast_check_raises_like_the_exact_one(bad):
    x = np.zeros((4, 3))
    x[2, 1] = bad
    with pytest.raises(DivergenceError, match="step 7"):
        solvers._check_finite_fast(x, 7, "SDE solve")


def test_fast_check_accepts_large_but_bounded_states():
    x = np.full((100, 3), 9e99)  # sum of squares > 1e200, yet every |x| <= 1e100
    solvers._check_finite_fast(x, 1, "SDE solve")
    algorithms._check_finite_fast(x, 1, "SGD")


def test_diagonal_euler_divergence_is_reported():
    sde = DiagonalNoiseSDE(lambda t, x: x**3, dim=2, scale=0.1)
    with pytest.raises(DivergenceError, match="diverged at step"):
        solve_sde(sde, [5.0, 5.0], 10.0, n_steps=10, increments="discrete", n_paths=100, rng=0)


# ---------------------------------------------------------------------------
# Bit-identical across chunk sizes, tiles and executors
# ---------------------------------------------------------------------------
def _w1_like(**kw):
    return solve_sde(DoubleWell(), [0.5, 0.5, 0.5], 0.5, n_steps=50, increments="discrete",
                     n_paths=5000, rng=7, record=[25, 50], block_size=256,
                     observables={"msq": mean_square, "x0": first}, **kw)


def _same(a, b):
    return all(np.array_equal(a[k].mean, b[k].mean) and np.array_equal(a[k].stderr, b[k].stderr)
               for k in a.estimates)


def test_diagonal_euler_bit_identical_across_chunks_tiles_threads_processes(monkeypatch):
    reference = _w1_like()
    assert _same(reference, _w1_like(chunk_size=700))
    monkeypatch.setattr(solvers, "TILE_FLOATS", 1000)  # tiles of one block
    assert _same(reference, _w1_like(chunk_size=2000))
    monkeypatch.undo()
    with ThreadPoolExecutor(3) as pool:
        assert _same(reference, _w1_like(chunk_size=512, executor=pool))
    with ProcessPoolExecutor(2, mp_context=SPAWN) as pool:
        assert _same(reference, _w1_like(chunk_size=1024, executor=pool))


@pytest.fixture(scope="module")
def dask_executor():
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client.get_executor()


def test_dask_executor_bit_identical(dask_executor):
    assert _same(_w1_like(), _w1_like(chunk_size=512, executor=dask_executor))
    problem = _regression(batch=2)
    serial = _sgd(problem)
    assert _same(serial, _sgd(problem, chunk_size=1024, executor=dask_executor))


# ---------------------------------------------------------------------------
# SGD's transposed fast path
# ---------------------------------------------------------------------------
def _regression(batch=1, n=200, d=4, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    y = A @ np.ones(d) + 0.1 * rng.standard_normal(n)
    return LinearRegression(A, y, batch_size=batch)


def _sgd(problem, lr=0.05, n_steps=40, **kw):
    return run(SGD(lr), problem, np.zeros(problem.dim), n_steps, n_paths=3000, rng=5,
               record=[0, 7, n_steps], block_size=512, observables={"x": identity, "f": problem.value},
               **kw)


def _generic(problem, **kw):
    original = algorithms._has_fast_sgd
    algorithms._has_fast_sgd = lambda *a: False
    try:
        return _sgd(problem, **kw)
    finally:
        algorithms._has_fast_sgd = original


@pytest.mark.parametrize("batch", [1, 3])
def test_fast_sgd_follows_the_generic_paths(batch):
    problem = _regression(batch)
    assert algorithms._has_fast_sgd(SGD(0.05), problem, "position")
    fast, generic = _sgd(problem), _generic(problem)
    for key in ("x", "f"):
        np.testing.assert_allclose(fast[key].mean, generic[key].mean, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(fast[key].stderr, generic[key].stderr, rtol=1e-9, atol=1e-15)


def test_fast_sgd_non_uniform_probs_follow_the_generic_paths():
    problem = _regression()
    probs = np.linspace(1.0, 3.0, problem.n_samples)
    problem.probs = probs / probs.sum()
    fast, generic = _sgd(problem), _generic(problem)
    np.testing.assert_allclose(fast["x"].mean, generic["x"].mean, rtol=1e-12, atol=1e-14)


def test_fast_sgd_bit_identical_across_chunks_tiles_executors(monkeypatch):
    problem = _regression(batch=2)
    reference = _sgd(problem)
    assert _same(reference, _sgd(problem, chunk_size=1024))
    monkeypatch.setattr(algorithms, "TILE_FLOATS", 2048)  # one block per tile
    monkeypatch.setattr(algorithms, "INDEX_STEPS", 3)
    assert _same(reference, _sgd(problem, chunk_size=1536))
    monkeypatch.undo()
    with ProcessPoolExecutor(2, mp_context=SPAWN) as pool:
        assert _same(reference, _sgd(problem, chunk_size=512, executor=pool))


def test_fast_sgd_divergence_at_the_generic_step():
    # Mean iteration stable (lr * lambda_max < 2), but one huge sample makes paths blow up.
    A = np.vstack([np.eye(3), 30.0 * np.ones((1, 3))])
    problem = LinearRegression(A, np.ones(4))
    lr = 1.9 / np.linalg.eigvalsh(problem.affine.hessian)[-1]
    kw = dict(n_paths=500, rng=0, record=[1000])
    with pytest.raises(DivergenceError) as fast:
        run(SGD(lr), problem, np.zeros(3), 1000, **kw)
    original = algorithms._has_fast_sgd
    algorithms._has_fast_sgd = lambda *a: False
    try:
        with pytest.raises(DivergenceError) as generic:
            run(SGD(lr), problem, np.zeros(3), 1000, **kw)
    finally:
        algorithms._has_fast_sgd = original
    assert str(fast.value) == str(generic.value)


def test_grad_transposed_matches_sample_grad():
    problem = _regression(batch=3)
    x = np.random.default_rng(1).standard_normal((50, problem.dim))
    g = problem.sample_grad_transposed(x.T, np.random.default_rng(2), scale=0.5)
    np.testing.assert_allclose(g.T, 0.5 * problem.sample_grad(x, np.random.default_rng(2)), rtol=1e-12)
    with pytest.raises(ValueError, match="x_t"):
        problem.grad_transposed_at(x, np.zeros((1, 50), dtype=int))


def test_weak2_with_state_dependent_diagonal_noise_uses_the_general_scheme():
    def diffusion(t, x):
        return (0.5 + 0.3 * x)[..., None] * np.eye(2)

    general_sde = FunctionSDE(lambda t, x: -x, diffusion, dim=2, noise_dim=2)
    assert type(_make_stepper(LinearMultiplicative(), 0.1, "weak2", "discrete", 0.0)).__name__ == "_Weak2Stepper"
    kw = dict(n_steps=10, scheme="weak2", increments="discrete", n_paths=20_000, record=[10],
              observables={"x2": lambda x: x * x})
    fast = solve_sde(LinearMultiplicative(), [1.0, -1.0], 1.0, rng=8, **kw)["x2"]
    general = solve_sde(general_sde, [1.0, -1.0], 1.0, rng=8, **kw)["x2"]
    # Same scheme, same draws: equal up to rounding.
    np.testing.assert_allclose(fast.mean, general.mean, rtol=1e-12)
