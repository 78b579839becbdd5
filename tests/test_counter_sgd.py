"""SGD on least squares in the fused kernel (``run(..., backend="numba")``): compiled =
numpy reference bit for bit, independence of chunking and executor, the law of SGD
(exact moments), and errors for what the kernel does not cover."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import smecore as sc
from smecore.algorithms import SGD, MomentumSGD, run
from smecore.algorithms.counter_sgd import counter_indices, run_sgd_counter
from smecore.estimation.counter_jit import HAVE_NUMBA
from smecore.moments import sgd_moments
from smecore.problems import GaussianQuadratic, LinearRegression

needs_numba = pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed")


def _problem(batch_size=1):
    rng = np.random.default_rng(11)
    A = rng.standard_normal((40, 3))
    y = A @ np.array([1.0, -1.0, 0.5]) + 0.3 * rng.standard_normal(40)
    return LinearRegression(A, y, batch_size=batch_size)


X0 = np.array([2.0, 0.0, -1.0])
STEPS = np.array([0, 5, 30])


@needs_numba
@pytest.mark.parametrize("batch_size", [1, 3])
def test_compiled_equals_numpy_reference_bit_for_bit(batch_size):
    p = _problem(batch_size)
    kw = {"n_paths": 2100, "rng": 4, "block_size": 500}
    a = run_sgd_counter(0.05, p, X0, STEPS, {"x": lambda x: x}, compiled=True, **kw)
    b = run_sgd_counter(0.05, p, X0, STEPS, {"x": lambda x: x}, compiled=False, **kw)
    np.testing.assert_array_equal(a["x"].mean, b["x"].mean)
    np.testing.assert_array_equal(a["x"].stderr, b["x"].stderr)


@pytest.mark.parametrize("compiled", [True, False])
def test_chunk_size_and_executor_do_not_change_results(compiled):
    p = _problem(2)
    kw = {"n_paths": 3000, "rng": 9, "block_size": 256, "compiled": compiled}
    ref = run_sgd_counter(0.05, p, X0, STEPS, {"x": lambda x: x}, **kw)
    with ThreadPoolExecutor(2) as ex:
        other = run_sgd_counter(0.05, p, X0, STEPS, {"x": lambda x: x}, chunk_size=300,
                                executor=ex, **kw)
    np.testing.assert_array_equal(ref["x"].mean, other["x"].mean)
    np.testing.assert_array_equal(ref["x"].stderr, other["x"].stderr)


def test_indices_are_uniform():
    idx = counter_indices(3, np.arange(200_000), 5, 2, 7).ravel()
    counts = np.bincount(idx, minlength=7)
    expected = idx.size / 7
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 22.5  # chi-square, 6 degrees of freedom: P(> 22.5) = 0.001
    assert idx.min() == 0 and idx.max() == 6


@pytest.mark.parametrize("batch_size", [1, 4])
def test_mean_and_second_moment_match_the_exact_recursion_for_19_of_20_seeds(batch_size):
    # The law of SGD, not just agreement of two code paths: E x_N and E |x_N|^2 against
    # sgd_moments (exact for the affine gradient of least squares), within 4 standard errors.
    p = _problem(batch_size)
    lr, n = 0.05, 30
    exact = sgd_moments(p, lr, X0, n, record=[n])
    mean, second = exact.mean[-1], np.trace(exact.second[-1])
    obs = {"x": lambda x: x, "x2": lambda x: (x**2).sum(axis=1)}
    passes = 0
    for seed in range(20):
        st = run(SGD(lr), p, X0, n, n_paths=4000, rng=seed, record=[n], observables=obs,
                 backend="numba")
        z_mean = np.abs(st["x"].mean[-1] - mean) / st["x"].stderr[-1]
        z_second = abs(st["x2"].mean[-1] - second) / st["x2"].stderr[-1]
        passes += bool(z_mean.max() < 4 and z_second < 4)
    assert passes >= 19


def test_backend_option_errors_name_the_argument():
    p = _problem()
    with pytest.raises(ValueError, match="backend"):
        run(SGD(0.05), p, X0, 5, n_paths=10, backend="gpu")
    with pytest.raises(ValueError, match="plain SGD"):
        run(MomentumSGD(0.05, 0.9), p, X0, 5, n_paths=10, backend="numba")
    with pytest.raises(ValueError, match="LinearRegression"):
        run(SGD(0.05), GaussianQuadratic([1.0]), [1.0], 5, n_paths=10, backend="numba")


def test_divergence_is_reported():
    p = _problem()
    with pytest.raises(sc.DivergenceError):
        run(SGD(5.0), p, X0, 200, n_paths=64, rng=0, backend="numba")


@pytest.mark.parametrize("compiled", [True, False])
def test_kernel_reports_divergence_with_its_step(compiled):
    # Past the up-front stability check of run: the kernel's own bound check.
    with pytest.raises(sc.DivergenceError, match="diverged at step"):
        run_sgd_counter(5.0, _problem(), X0, np.array([0, 400]), {"x": lambda x: x},
                        n_paths=64, rng=0, compiled=compiled)
