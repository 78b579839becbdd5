"""Tests of smecore.algorithms: update rules, closed forms of the worked examples by
Monte Carlo, exact second-moment recursions, reproducibility, bad input, divergence."""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

from smecore._validation import DivergenceError
from smecore.algorithms import (
    SGD,
    MomentumSGD,
    Nesterov,
    check_stability,
    run,
    sample_paths,
)
from smecore.problems import GaussianQuadratic
from smecore.problems.custom import FunctionObjective
from smecore.problems.multiplicative import MultiplicativeQuadratic
from smecore.problems.nonlinear import DoubleWell
from smecore.problems.regression import make_linear_regression

# Process pools spawn: forking a process that has loaded JAX (multithreaded) may deadlock.
SPAWN = multiprocessing.get_context("spawn")

N_SE = 4.0


def _within(estimate, expected, atol=1e-12):
    """Mean within N_SE standard errors of ``expected`` (atol covers zero-variance entries)."""
    return np.abs(estimate.mean - expected) <= N_SE * estimate.stderr + atol


# -- deterministic update rules ---------------------------------------------------------


def _noiseless_quadratic(lam):
    """1/2 lam x^2 with exact gradients (sample_grad ignores rng)."""
    return FunctionObjective(
        1,
        value=lambda x: 0.5 * lam * x[:, 0] ** 2,
        grad=lambda x: lam * x,
        sample_grad=lambda x, rng: lam * x,
    )


def _by_hand(name, lr, lam, x0, n, mu=None):
    x, v, out = x0, 0.0, [x0]
    x_prev = x0
    for k in range(n):
        if name == "sgd":
            x = x - lr * lam * x
        elif name == "heavy_ball":
            v = mu * v - lr * lam * x
            x = x + v
        else:  # Nesterov in Su-Boyd-Candes indexing
            coef = mu if mu is not None else (k - 1) / (k + 2)
            y = x if k == 0 else x + coef * (x - x_prev)
            x_prev, x = x, y - lr * lam * y
        out.append(x)
    return np.array(out)


@pytest.mark.parametrize(
    "algorithm, name, mu",
    [
        (SGD(0.1), "sgd", None),
        (MomentumSGD(0.1, 0.7), "heavy_ball", 0.7),
        (Nesterov(0.1), "nesterov", None),
        (Nesterov(0.1, 0.6), "nesterov", 0.6),
    ],
)
def test_update_rules_match_hand_written_loops(algorithm, name, mu):
    lam, x0, n = 1.3, 2.0, 25
    times, paths = sample_paths(algorithm, _noiseless_quadratic(lam), [x0], n, n_paths=3, rng=0)
    expected = _by_hand(name, algorithm.lr, lam, x0, n, mu)
    np.testing.assert_allclose(paths[:, :, 0], np.repeat(expected[:, None], 3, axis=1), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(times, np.arange(n + 1) * algorithm.time_step, rtol=1e-15)


def test_nesterov_schedule_starts_at_zero():
    n = Nesterov(0.04)
    assert [n.coefficient(k) for k in range(3)] == [0.0, 0.0, 0.25]
    assert n.coefficient(10) == pytest.approx(9 / 12)
    assert Nesterov(0.04, 0.5).coefficient(0) == 0.0 and Nesterov(0.04, 0.5).coefficient(7) == 0.5


def test_time_steps_and_damping():
    assert SGD(0.1).time_step == 0.1
    assert MomentumSGD(0.04, 0.5).time_step == pytest.approx(0.2)
    assert Nesterov(0.09).time_step == pytest.approx(0.3)
    assert SGD(0.1, time_step=0.5).time_step == 0.5
    assert MomentumSGD(0.04, 0.5, time_step=0.08).time_step == 0.08
    m = MomentumSGD.from_damping(0.04, 2.0)
    assert m.momentum == pytest.approx(1 - 2.0 * 0.2) and m.damping == pytest.approx(2.0)
    assert "lr=0.04" in repr(m) and "momentum=0.6" in repr(m)
    stats = run(SGD(0.1, time_step=0.5), GaussianQuadratic([1.0]), [1.0], 4, n_paths=2, rng=0, record=[0, 2, 4])
    np.testing.assert_array_equal(stats.steps, [0, 2, 4])
    np.testing.assert_allclose(stats.times, [0.0, 1.0, 2.0])


def test_phase_observation_gives_scaled_velocity():
    lam, lr, mu = 1.0, 0.04, 0.8
    times, paths = sample_paths(MomentumSGD(lr, mu), _noiseless_quadratic(lam), [1.0], 3, n_paths=2,
                                rng=0, observe="phase")
    assert paths.shape == (4, 2, 2)
    x = _by_hand("heavy_ball", lr, lam, 1.0, 3, mu)
    np.testing.assert_allclose(paths[1:, 0, 1], np.diff(x) / np.sqrt(lr), rtol=1e-12)
    np.testing.assert_array_equal(paths[0, :, 1], 0.0)


# -- closed forms of the worked examples by Monte Carlo ----------------------------------


def _sgd_gaussian_quadratic_ok(seed, batch_size=1, n_paths=20_000):
    lam = np.array([1.0, 4.0])
    lr, x0, steps = 0.1, np.array([1.0, -1.0]), np.array([0, 5, 10, 30])
    problem = GaussianQuadratic(lam, batch_size=batch_size)
    stats = run(SGD(lr), problem, x0, 30, n_paths=n_paths, rng=seed, record=steps,
                observables={"x": lambda x: x, "x2": np.square})
    k = steps[:, None]
    mean = (1 - lr * lam) ** k * x0
    var = lr * lam * (1 - (1 - lr * lam) ** (2 * k)) / (2 - lr * lam) / batch_size
    return bool(np.all(_within(stats["x"], mean)) and np.all(_within(stats["x2"], mean**2 + var)))


@pytest.mark.parametrize("batch_size", [1, 4])
def test_sgd_mean_and_variance_on_gaussian_quadratic(batch_size):
    assert _sgd_gaussian_quadratic_ok(seed=1, batch_size=batch_size)


@pytest.mark.parametrize("batch_size", [1, 3])
def test_sgd_second_moment_on_multiplicative_noise(batch_size):
    D, lr, x0 = np.array([1.0, 2.0]), 0.1, np.array([1.0, -0.5])
    steps = np.array([0, 10, 40])
    problem = MultiplicativeQuadratic(D, batch_size=batch_size)
    stats = run(SGD(lr), problem, x0, 40, n_paths=20_000, rng=2, record=steps, observables=np.square)
    expected = x0**2 * ((1 - lr * D) ** 2 + lr**2 / batch_size) ** steps[:, None]
    assert np.all(_within(stats["g"], expected))


def test_msgd_stationary_variance():
    lam, lr, mu = 1.0, 0.1, 0.9
    problem = GaussianQuadratic([lam])  # gradient-noise variance sigma^2 = lam^2
    sigma2 = lam**2
    # mu^400 ~ 5e-19: the start is forgotten to far below the Monte Carlo error.
    stats = run(MomentumSGD(lr, mu), problem, [0.0], 400, n_paths=20_000, rng=3, record=[400],
                observables=np.square)
    exact = lr * sigma2 * (1 + mu) / (lam * (1 - mu) * (2 * (1 + mu) - lr * lam))
    assert _within(stats["g"], exact).all()
    sme_value = (lr / (1 - mu)) * sigma2 / (2 * lam)  # effective learning rate lr / (1 - mu)
    assert abs(stats["g"].mean[0, 0] / sme_value - 1) < 0.05


# -- exact second moments for every algorithm (linear recursions) -------------------------


def _exact_moments(algorithm, lam, x0, n_steps):
    """E x_k, E x_k^2 on GaussianQuadratic([lam]) by propagating mean and covariance of (x, aux)."""
    lr = algorithm.lr
    mean, cov = np.array([x0, 0.0]), np.zeros((2, 2))
    noise = np.array([lr * lam, lr * lam])  # grad = lam (point - gamma): +lr lam gamma enters x
    out = [(mean[0], mean[0] ** 2)]
    for k in range(n_steps):
        if isinstance(algorithm, SGD):
            M, b = np.array([[1 - lr * lam, 0.0], [0.0, 0.0]]), np.array([lr * lam, 0.0])
        elif isinstance(algorithm, MomentumSGD):
            mu = algorithm.momentum
            M = np.array([[1 - lr * lam, mu], [-lr * lam, mu]])  # (x, v) -> (x + v', v')
            b = noise
        else:
            c = algorithm.coefficient(k)
            a = 1 - lr * lam
            M = np.array([[a, a * c], [a - 1, a * c]])  # (x, x - x_prev) with y = x + c dx
            b = noise
        mean = M @ mean
        cov = M @ cov @ M.T + np.outer(b, b)
        out.append((mean[0], cov[0, 0] + mean[0] ** 2))
    return np.array(out)


@pytest.mark.parametrize("algorithm", [SGD(0.2), MomentumSGD(0.05, 0.8), Nesterov(0.05), Nesterov(0.05, 0.7)])
def test_first_two_moments_match_exact_recursion(algorithm):
    lam, x0, steps = 2.0, 1.5, np.array([0, 3, 10, 30])
    stats = run(algorithm, GaussianQuadratic([lam]), [x0], 30, n_paths=20_000, rng=4, record=steps,
                observables={"x": lambda x: x[:, 0], "x2": lambda x: x[:, 0] ** 2})
    exact = _exact_moments(algorithm, lam, x0, 30)[steps]
    assert np.all(_within(stats["x"], exact[:, 0]))
    assert np.all(_within(stats["x2"], exact[:, 1]))


# -- reproducibility ------------------------------------------------------------------------


def _problem_for_reproducibility(name):
    if name == "regression":
        return make_linear_regression(40, 3, rng=5).with_batch_size(2)
    if name == "double_well":
        return DoubleWell(batch_size=2)
    return GaussianQuadratic(np.array([[2.0, 0.5], [0.5, 1.0]]))


@pytest.mark.parametrize("name", ["gaussian", "regression", "double_well"])
@pytest.mark.parametrize("algorithm", [SGD(0.05), MomentumSGD(0.01, 0.9), Nesterov(0.01)])
def test_bit_identical_across_chunks_and_threads(name, algorithm):
    problem = _problem_for_reproducibility(name)
    kwargs = dict(n_paths=3000, rng=7, block_size=256, record=[0, 4, 15], observables={"x2": np.square})
    x0 = np.ones(problem.dim)
    reference = run(algorithm, problem, x0, 15, chunk_size=256, **kwargs)
    others = [run(algorithm, problem, x0, 15, chunk_size=3000, **kwargs)]
    with ThreadPoolExecutor(3) as pool:
        others.append(run(algorithm, problem, x0, 15, chunk_size=700, executor=pool, **kwargs))
    for other in others:
        np.testing.assert_array_equal(other["x2"].mean, reference["x2"].mean)
        np.testing.assert_array_equal(other["x2"].stderr, reference["x2"].stderr)


def test_bit_identical_with_process_pool():
    problem = make_linear_regression(40, 3, rng=5).with_batch_size(2)
    kwargs = dict(n_paths=2000, rng=8, block_size=200, record=[0, 10], observables={"x2": np.square})
    serial = run(Nesterov(0.01), problem, np.ones(3), 10, **kwargs)
    with ProcessPoolExecutor(2, mp_context=SPAWN) as pool:
        parallel = run(Nesterov(0.01), problem, np.ones(3), 10, chunk_size=600, executor=pool, **kwargs)
    np.testing.assert_array_equal(parallel["x2"].mean, serial["x2"].mean)
    np.testing.assert_array_equal(parallel["x2"].stderr, serial["x2"].stderr)


def test_sample_paths_use_the_same_numbers_as_run():
    problem = DoubleWell()
    kwargs = dict(n_paths=500, rng=9, block_size=128, record=[0, 5, 20])
    times, paths = sample_paths(SGD(0.1), problem, [0.5], 20, **kwargs)
    stats = run(SGD(0.1), problem, [0.5], 20, **kwargs)
    assert paths.shape == (3, 500, 1)
    np.testing.assert_allclose(times, stats.times)
    np.testing.assert_allclose(paths.mean(axis=1), stats["x"].mean, rtol=1e-12, atol=1e-14)
    again = sample_paths(SGD(0.1), problem, [0.5], 20, **kwargs)[1]
    np.testing.assert_array_equal(paths, again)


def test_sample_paths_refuses_huge_outputs():
    with pytest.raises(ValueError, match="run\\(\\)"):
        sample_paths(SGD(0.1), GaussianQuadratic([1.0]), [1.0], 100_000, n_paths=10_000)


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda: SGD(0.0), "lr"),
        (lambda: SGD(-0.1), "lr"),
        (lambda: SGD(float("nan")), "lr"),
        (lambda: SGD(True), "lr"),
        (lambda: SGD("0.1"), "lr"),
        (lambda: SGD(0.1, time_step=0.0), "time_step"),
        (lambda: MomentumSGD(0.1, 1.0), "momentum"),
        (lambda: MomentumSGD(0.1, -0.1), "momentum"),
        (lambda: MomentumSGD(0.0, 0.5), "lr"),
        (lambda: MomentumSGD.from_damping(0.1, 0.0), "damping"),
        (lambda: MomentumSGD.from_damping(0.25, 3.0), "damping"),
        (lambda: Nesterov(0.1, 1.2), "momentum"),
        (lambda: SGD(0.1, momentum=0.5), "momentum"),  # unknown option
    ],
)
def test_bad_algorithm_arguments(build, name):
    with pytest.raises((ValueError, TypeError), match=name):
        build()


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(n_paths=0), "n_paths"),
        (dict(n_paths=2.5), "n_paths"),
        (dict(x0=[1.0]), "x0"),
        (dict(x0=[1.0, np.nan]), "x0"),
        (dict(n_steps=-1), "n_steps"),
        (dict(record=[0, 11]), "record"),
        (dict(observe="velocity"), "observe"),
        (dict(observe="phase"), "observe='phase'"),
        (dict(algorithm="sgd"), "algorithm"),
        (dict(problem=np.eye(2)), "problem"),
        (dict(observables=3), "observables"),
        (dict(chunksize=10), "chunksize"),  # unknown option
        (dict(block_size=0), "block_size"),
    ],
)
@pytest.mark.parametrize("fn", [run, sample_paths])
def test_bad_run_arguments(fn, kwargs, name):
    args = dict(algorithm=SGD(0.1), problem=GaussianQuadratic([1.0, 2.0]), x0=[1.0, 1.0], n_steps=10, n_paths=5)
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=name):
        fn(args.pop("algorithm"), args.pop("problem"), args.pop("x0"), args.pop("n_steps"), **args)


# -- divergence -------------------------------------------------------------------------------


def test_unstable_lr_on_affine_problem_raises_up_front():
    problem = GaussianQuadratic([1.0, 4.0])
    with pytest.raises(DivergenceError, match="lr=0.5"):
        run(SGD(0.5), problem, [1.0, 1.0], 10, n_paths=10, rng=0)
    with pytest.raises(DivergenceError, match="lr=0.5"):
        sample_paths(SGD(0.5), problem, [1.0, 1.0], 10, n_paths=10, rng=0)
    check_stability(SGD(0.49), problem)  # just below 2 / lambda_max
    check_stability(MomentumSGD(0.5, 0.2), problem)  # lr * lambda_max = 2 < 2 (1 + 0.2)
    with pytest.raises(DivergenceError, match="momentum=0.5"):
        check_stability(MomentumSGD(0.75, 0.5), problem)  # 3 >= 3
    with pytest.raises(DivergenceError):
        check_stability(Nesterov(0.4, 0.5), problem)  # 1.6 >= 2 * 1.5 / 2 = 1.5
    check_stability(Nesterov(0.35, 0.5), problem)
    check_stability(Nesterov(0.4), problem)  # the schedule has no fixed limit


@pytest.mark.parametrize("algorithm", [SGD(0.3), MomentumSGD(0.3, 0.5), Nesterov(0.3)])
def test_state_blow_up_raises_divergence_error(algorithm):
    with pytest.raises(DivergenceError, match="lr=0.3"):
        run(algorithm, DoubleWell(), [4.0], 200, n_paths=16, rng=0)


def test_stability_limits_are_sharp_for_the_mean():
    """Deterministic iterates on 1/2 lam x^2 grow just above the limit and decay just below."""
    lam = 1.0
    for algorithm_type, kwargs in [(SGD, {}), (MomentumSGD, {"momentum": 0.6}), (Nesterov, {"momentum": 0.6})]:
        limit = algorithm_type(0.1, **kwargs).stability_limit(None)
        for factor, grows in [(0.98, False), (1.02, True)]:
            alg = algorithm_type(factor * limit / lam, **kwargs)
            _, paths = sample_paths(alg, _noiseless_quadratic(lam), [1.0], 300, n_paths=1, record=[300])
            assert (abs(paths[0, 0, 0]) > 1.0) == grows, (alg, paths[0, 0, 0])


# -- slow: closed forms over 20 seeds ---------------------------------------------------------


@pytest.mark.slow
def test_sgd_closed_forms_over_seeds():
    passes = sum(_sgd_gaussian_quadratic_ok(seed, batch_size=1 + seed % 3) for seed in range(20))
    assert passes >= 19
