"""A researcher's own problem: logistic regression, per-sample finite sums, sampling schemes,
Gaussian-noise FunctionObjective, the Generator API of PathRandom, progress bars, and the
weak-order study of the chapter "Your own problem" (result U1) with its mutants."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import smecore as sc
from smecore import mutants
from smecore.estimation import PathRandom, plan_blocks
from smecore.estimation import montecarlo as mc
from smecore.problems.sampling import SCHEMES, EpochSampler, scheme_noise_cov


# ---------------------------------------------------------------------------
# problems
# ---------------------------------------------------------------------------
def _data(classes=2, m=12, p=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, p))
    y = np.arange(m) % classes
    return X, y


def _fd_check(problem, x, eps=1e-6):
    I = np.eye(problem.dim)
    g = np.array([(problem.value(x + eps * e) - problem.value(x - eps * e)) / (2 * eps) for e in I])
    H = np.array([(problem.grad(x + eps * e) - problem.grad(x - eps * e)) / (2 * eps) for e in I])
    return np.abs(g - problem.grad(x)).max(), np.abs(H - problem.hessian(x)).max()


@pytest.mark.parametrize("classes", [2, 3])
def test_logistic_gradients_hessians_and_exact_noise(classes):
    X, y = _data(classes)
    p = sc.LogisticRegression(X, y, l2=0.3, batch_size=2)
    x = np.random.default_rng(1).standard_normal(p.dim) * 0.5
    eg, eh = _fd_check(p, x)
    assert eg < 1e-8 and eh < 1e-8
    G = p.component_grads(x)  # (m, d)
    centred = G - G.mean(0)
    assert np.allclose(p.noise_cov(x), centred.T @ centred / len(G) / 2, atol=1e-14)
    assert np.allclose(p.grad(x), G.mean(0), atol=1e-14)
    idx = np.arange(len(G))[None, :]
    assert np.allclose(p.grads_at_indices(x[None], idx)[0], G, atol=1e-14)
    assert np.linalg.norm(p.grad(p.minimizer())) < 1e-9


def test_logistic_bad_input_names_the_argument():
    X, y = _data()
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="features"):
        sc.LogisticRegression(bad, y)
    with pytest.raises(ValueError, match="labels must lie in classes"):
        sc.LogisticRegression(X, np.where(y == 1, 5, 0), classes=[0, 1])
    with pytest.raises(ValueError, match="labels"):
        sc.LogisticRegression(X, np.r_[y.astype(float)[:-1], np.nan])
    with pytest.raises(ValueError, match="labels must have shape"):
        sc.LogisticRegression(X, y[:-1])
    with pytest.raises(ValueError, match="classes"):
        sc.LogisticRegression(X, np.zeros(len(y)))
    with pytest.raises(ValueError, match="features"):
        sc.LogisticRegression(X[:, 0], y)


def _per_sample(m=5, hessian=True, **kw):
    a = np.linspace(-1.0, 2.0, m)
    return sc.PerSampleObjective(
        1, m, loss=lambda x: 0.5 * (x - a) ** 2 + 0.1 * x**4, grad=lambda x: ((x - a) + 0.4 * x**3)[..., None],
        hessian=(lambda x: (1 + 1.2 * x**2)[..., None, None] * np.ones((1, m, 1, 1))) if hessian else None, **kw)


def test_per_sample_objective_derives_everything():
    p = _per_sample()
    x = np.array([0.3])
    eg, eh = _fd_check(p, x)
    assert eg < 1e-8 and eh < 1e-7
    a = np.linspace(-1.0, 2.0, 5)
    g = (x - a) + 0.4 * x**3
    assert np.isclose(p.noise_cov(x)[0, 0], g.var())
    q = sc.FiniteSumObjective.from_callables(1, 5, p._loss, p._grad_fn)
    assert np.isclose(q.grad(x)[0], p.grad(x)[0])
    with pytest.raises(NotImplementedError, match="hessian"):
        q.hessian(x)


def test_per_sample_objective_bad_callables_name_themselves():
    a = np.arange(3.0)
    wrong = sc.PerSampleObjective(1, 3, loss=lambda x: x, grad=lambda x: (x - a)[..., None])
    with pytest.raises(ValueError, match="loss returned shape"):
        wrong.value([0.0])
    nan = sc.PerSampleObjective(1, 3, loss=lambda x: x - a, grad=lambda x: np.full(x.shape[:1] + (3, 1), np.nan))
    with pytest.raises(ValueError, match="grad returned non-finite"):
        nan.grad([0.0])
    bad_h = sc.PerSampleObjective(1, 3, loss=lambda x: x - a, grad=lambda x: (x - a)[..., None],
                                  hessian=lambda x: np.ones((x.shape[0], 3)))
    with pytest.raises(ValueError, match="hessian returned shape"):
        bad_h.hessian([0.0])
    with pytest.raises(TypeError, match="loss must be callable"):
        sc.PerSampleObjective(1, 3, loss=None, grad=lambda x: x)
    with pytest.raises(ValueError, match="probs"):
        sc.PerSampleObjective(1, 3, loss=lambda x: x, grad=lambda x: x, probs=[0.5, 0.5, 0.5])


# ---------------------------------------------------------------------------
# sampling schemes: exact noise laws by enumeration
# ---------------------------------------------------------------------------
def _moments(batches):
    batches = np.asarray(batches)
    mean = batches.mean(0)
    dev = batches - mean
    return mean, dev.T @ dev / len(batches)


def test_unknown_scheme_lists_the_known_ones():
    with pytest.raises(ValueError, match="with_replacement.*reshuffling.*cycling"):
        _per_sample(sampling="shuffled")
    with pytest.raises(ValueError, match="reshuffling"):
        sc.LogisticRegression(*_data(), sampling="epochs")
    with pytest.raises(ValueError, match="cycling"):
        _per_sample().with_sampling("random")
    with pytest.raises(ValueError, match="uniform probs"):
        _per_sample(probs=[0.1, 0.2, 0.3, 0.2, 0.2], sampling="reshuffling")


def test_with_replacement_noise_law_by_enumeration():
    X, y = _data(m=5)
    p = sc.LogisticRegression(X, y, 0.1, batch_size=2)
    x = np.array([0.3, -0.2, 0.1])
    G = p.component_grads(x)
    batches = [G[list(t)].mean(0) for t in itertools.product(range(5), repeat=2)]
    mean, cov = _moments(batches)
    assert np.allclose(mean, p.grad(x), atol=1e-14)
    assert np.allclose(cov, p.noise_cov(x), atol=1e-14)
    assert np.allclose(p.step_noise_cov(x), p.noise_cov(x), atol=1e-15)


def test_reshuffling_noise_law_by_enumeration():
    m, B = 6, 2
    X, y = _data(m=m)
    p = sc.LogisticRegression(X, y, 0.1, batch_size=B).with_sampling("reshuffling")
    x = np.array([0.3, -0.2, 0.1])
    G = p.component_grads(x)
    per_step = [[] for _ in range(m // B)]
    for perm in itertools.permutations(range(m)):
        epoch = [G[list(perm[j * B:(j + 1) * B])].mean(0) for j in range(m // B)]
        for j, g in enumerate(epoch):
            per_step[j].append(g)
        assert np.allclose(np.mean(epoch, 0), p.grad(x), atol=1e-14)  # epoch mean: no noise
    for batches in per_step:
        mean, cov = _moments(batches)
        assert np.allclose(mean, p.grad(x), atol=1e-14)
        assert np.allclose(cov, p.step_noise_cov(x), atol=1e-14)
    assert np.allclose(p.step_noise_cov(x), p.noise_cov(x) * (m - B) / (m - 1), atol=1e-15)


def test_cycling_noise_law_and_order():
    m, B = 6, 2
    X, y = _data(m=m)
    p = sc.LogisticRegression(X, y, 0.1, batch_size=B).with_sampling("cycling")
    x = np.array([0.3, -0.2, 0.1])
    rng = np.random.default_rng(0)
    got = [p.sample_grad(np.tile(x, (3, 1)), rng) for _ in range(2 * m // B)]
    G = p.component_grads(x)
    want = [G[j * B:(j + 1) * B].mean(0) for j in range(m // B)] * 2
    assert np.allclose(np.array(got), np.array(want)[:, None, :], atol=1e-14)
    mean, cov = _moments(want[: m // B])
    assert np.allclose(mean, p.grad(x), atol=1e-14)
    assert np.allclose(cov, p.step_noise_cov(x), atol=1e-14)


def test_reshuffling_sampler_draws_per_path_permutations_independent_of_chunks():
    s = EpochSampler("reshuffling", 5, 1)
    plan = plan_blocks(3, 7, block_size=3)
    whole = PathRandom(plan.seeds, plan.sizes)
    epoch = np.concatenate([s.indices(7, whole) for _ in range(5)], axis=1)
    assert all(sorted(row) == list(range(5)) for row in epoch.tolist())
    part = PathRandom(plan.seeds[:2], plan.sizes[:2])
    s2 = EpochSampler("reshuffling", 5, 1)
    epoch2 = np.concatenate([s2.indices(6, part) for _ in range(5)], axis=1)
    assert np.array_equal(epoch[:6], epoch2)
    # run(): the same numbers for any chunk size
    X, y = _data(m=8)
    p = sc.LogisticRegression(X, y, 0.1, batch_size=2, sampling="reshuffling")
    a = sc.run(sc.SGD(0.2), p, np.zeros(3), 9, n_paths=300, rng=1, block_size=64, chunk_size=64, record=[9])
    b = sc.run(sc.SGD(0.2), p, np.zeros(3), 9, n_paths=300, rng=1, block_size=64, chunk_size=256, record=[9])
    assert np.array_equal(a["x"].mean, b["x"].mean)


def test_reshuffling_step_law_monte_carlo_over_seeds():
    m, B = 6, 2
    X, y = _data(m=m)
    p = sc.LogisticRegression(X, y, 0.1, batch_size=B, sampling="reshuffling")
    x = np.array([0.3, -0.2, 0.1])
    want = p.step_noise_cov(x)[0, 0]
    passed = 0
    for seed in range(20):
        rand = PathRandom.from_rng(seed, 4000)
        p2 = p.with_sampling("reshuffling")
        g = np.stack([p2.sample_grad(np.tile(x, (4000, 1)), rand)[:, 0] for _ in range(2)])[1]
        se = np.sqrt(np.var((g - g.mean()) ** 2) / 4000)
        passed += abs(g.var() - want) < 4 * se
    assert passed >= 19


def test_scheme_noise_cov_rejects_bad_scheme():
    with pytest.raises(ValueError, match="scheme must be one of"):
        scheme_noise_cov(np.zeros((3, 1)), "bogus", 1)
    assert SCHEMES == ("with_replacement", "reshuffling", "cycling")


# ---------------------------------------------------------------------------
# FunctionObjective with Gaussian noise; coupling accepts it
# ---------------------------------------------------------------------------
def _gaussian_function_objective():
    cov = lambda x: (1 + 0.5 * np.sin(x[:, :1])[..., None]) * np.array([[1.0, 0.3], [0.3, 0.5]])
    return sc.FunctionObjective(2, value=lambda x: 0.5 * (x**2).sum(-1) + 0.1 * np.cos(x).sum(-1),
                                grad=lambda x: x - 0.1 * np.sin(x), noise_cov=cov, noise="gaussian",
                                batch_size=2)


def test_function_objective_gaussian_noise_law_and_coupling():
    p = _gaussian_function_objective()
    assert p.gaussian_noise
    x = np.tile([0.4, -0.3], (20000, 1))
    g = p.sample_grad(x, np.random.default_rng(0))
    assert np.all(np.abs(g.mean(0) - p.grad(x[0])) < 4 * g.std(0) / np.sqrt(len(g)))
    assert np.allclose(np.cov(g.T), p.noise_cov(x[0]), atol=0.03)
    stats = sc.coupled_sgd_sme(p, 0.1, 5, [1.0, 1.0], order=2, substeps=2, scheme="weak2", n_paths=500,
                               rng=0, record=[5])
    assert stats["diff:x"].stderr[-1].max() < 0.2 * stats["sgd:x"].stderr[-1].max()


def test_function_objective_noise_option_errors():
    f = dict(value=lambda x: x.sum(-1), grad=lambda x: x)
    with pytest.raises(ValueError, match="noise_cov"):
        sc.FunctionObjective(1, noise="gaussian", **f)
    with pytest.raises(ValueError, match="noise must be"):
        sc.FunctionObjective(1, sample_grad=lambda x, r: x, noise="laplace", **f)
    with pytest.raises(ValueError, match="either sample_grad"):
        sc.FunctionObjective(1, sample_grad=lambda x, r: x, noise_cov=lambda x: np.ones((len(x), 1, 1)),
                             noise="gaussian", **f)
    with pytest.raises(TypeError, match="sample_grad is required"):
        sc.FunctionObjective(1, **f)
    with pytest.raises(TypeError, match="Gaussian"):
        sc.coupled_sgd_sme(sc.FunctionObjective(1, sample_grad=lambda x, r: x, **f), 0.1, 2, [0.0], n_paths=4)


# ---------------------------------------------------------------------------
# PathRandom: the Generator API, block by block
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda r, n: r.normal(loc=np.arange(n)[:, None], scale=0.5, size=(n, 2)),
    lambda r, n: r.choice([1.5, 2.5, 7.0], size=(n, 3), p=[0.2, 0.3, 0.5]),
    lambda r, n: r.choice(4, size=n),
    lambda r, n: r.poisson(3.0, size=(n,)),
    lambda r, n: r.exponential(size=(n, 2)),
    lambda r, n: r.multivariate_normal([0.0, 1.0], np.eye(2), size=n),
    lambda r, n: r.uniform(-1, 1, size=(n, 1)),
])
def test_path_random_generator_methods_do_not_depend_on_chunks(call):
    plan = plan_blocks(7, 10, block_size=4)
    whole = call(PathRandom(plan.seeds, plan.sizes), 10)
    first = call(PathRandom(plan.seeds[:2], plan.sizes[:2]), 8)
    assert whole.shape[0] == 10 and np.array_equal(whole[:8], first)
    g = np.random.default_rng(plan.seeds[0])
    assert np.array_equal(whole[:4], call(_OneBlock(g), 4))


class _OneBlock:
    """A Generator seen through the same call (block 0 alone)."""

    def __init__(self, g):
        self.g = g

    def __getattr__(self, name):
        return getattr(self.g, name)


def test_path_random_unsupported_calls_are_clear():
    r = PathRandom.from_rng(0, 6, block_size=4)
    for name in ("permutation", "shuffle", "permuted", "bytes"):
        with pytest.raises(TypeError, match=f"PathRandom.{name} is not supported"):
            getattr(r, name)
    with pytest.raises(TypeError, match="needs size"):
        r.normal(0.0, 1.0)
    with pytest.raises(ValueError, match="size must start with the number of paths 6"):
        r.normal(size=(3,))
    with pytest.raises(TypeError, match="replace=False"):
        r.choice(10, size=(6, 2), replace=False)
    with pytest.raises(AttributeError):
        r.no_such_method


def test_function_objective_sample_grad_may_use_generator_methods():
    def sample(x, rng):
        return x + rng.normal(0.0, 1.0, size=x.shape) * rng.choice([1.0, -1.0], size=x.shape[:1])[:, None]

    p = sc.FunctionObjective(1, value=lambda x: 0.5 * x[:, 0] ** 2, grad=lambda x: x, sample_grad=sample)
    a = sc.run(sc.SGD(0.1), p, [1.0], 5, n_paths=300, rng=2, block_size=64, chunk_size=64, record=[5])
    b = sc.run(sc.SGD(0.1), p, [1.0], 5, n_paths=300, rng=2, block_size=64, chunk_size=512, record=[5])
    assert np.array_equal(a["x"].mean, b["x"].mean)


# ---------------------------------------------------------------------------
# progress bar and cost line
# ---------------------------------------------------------------------------
def _chunk(rand):
    z = rand.standard_normal((rand.n_paths,))
    return {"z": sc.BlockStats.from_values(z, rand.sizes)}


def test_progress_bar_shown_and_suppressed(capsys, monkeypatch):
    monkeypatch.delenv("SMECORE_PROGRESS", raising=False)
    ref = sc.monte_carlo(_chunk, 3000, rng=0, block_size=100, chunk_size=500, progress=False)["z"]
    assert capsys.readouterr().err == ""
    shown = sc.monte_carlo(_chunk, 3000, rng=0, block_size=100, chunk_size=500, progress=True, desc="demo")["z"]
    err = capsys.readouterr().err
    assert "demo" in err and "3000/3000" in err
    assert shown.mean == ref.mean and shown.stderr == ref.stderr  # the bar changes nothing
    sc.monte_carlo(_chunk, 3000, rng=0, block_size=100, chunk_size=500)  # default: short run, silent
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("SMECORE_PROGRESS", "1")
    sc.run(sc.SGD(0.1), sc.GaussianQuadratic([1.0]), [1.0], 3, n_paths=3000, rng=0, block_size=100,
           chunk_size=500)
    assert "SGD" in capsys.readouterr().err
    monkeypatch.setenv("SMECORE_PROGRESS", "0")
    sc.run(sc.SGD(0.1), sc.GaussianQuadratic([1.0]), [1.0], 3, n_paths=3000, rng=0, block_size=100,
           chunk_size=500)
    assert capsys.readouterr().err == ""
    with pytest.raises(TypeError, match="progress"):
        sc.monte_carlo(_chunk, 10, progress="yes")


def test_cost_line_before_long_runs(capsys, monkeypatch):
    monkeypatch.delenv("SMECORE_PROGRESS", raising=False)
    monkeypatch.setattr(mc, "COST_NOTICE_SECONDS", 0.0)
    monkeypatch.setattr(mc, "PROGRESS_SECONDS", 1e9)
    sc.solve_sde(sc.sgd_sme(sc.GaussianQuadratic([1.0]), 0.1), [1.0], 1.0, n_steps=5, n_paths=3000,
                 rng=0, block_size=100, chunk_size=500)
    err = capsys.readouterr().err
    assert "3,000 paths in 30 blocks" in err and "first block" in err and "5 steps" in err
    sc.monte_carlo(_chunk, 3000, rng=0, block_size=100, chunk_size=500, progress=False)
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------------------
# U1: the weak orders of the SMEs on logistic regression, and the mutants
# ---------------------------------------------------------------------------
from smecore.studies.own_problem import coupled_weak_errors, plain_weak_error, scheme_spread  # noqa: E402

ORDER2_BAND = (1.5, 2.5)


def _u1_problem():
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    X = data.data[::11, :2]
    X = (X - X.mean(0)) / X.std(0)
    p = sc.LogisticRegression(X, data.target[::11], l2=0.1)
    g = sc.FunctionObjective(3, value=p.value, grad=p.grad, hessian=p.hessian, noise_cov=p.noise_cov,
                             noise="gaussian")
    return p, g


def _order2(seed, n_paths=500):
    p, g = _u1_problem()
    sweep = coupled_weak_errors(g, [0.5, 0.25, 0.125], 1.0, [2.0, -2.0, 0.0], p.value, order=2,
                                n_paths=n_paths, rng=seed, substeps=2)
    return sweep.fit.order


def test_u1_order2_claim_passes_and_mutants_are_rejected():
    assert ORDER2_BAND[0] <= _order2(1) <= ORDER2_BAND[1]
    for key in ("U1:no-noise", "U1:no-correction", "U1:correction-1/2"):
        mutants.activate(key)
        try:
            order = _order2(1)
        finally:
            mutants.activate("")
        assert not ORDER2_BAND[0] <= order <= ORDER2_BAND[1], key


@pytest.mark.slow
def test_u1_order2_claim_over_20_seeds():
    assert sum(ORDER2_BAND[0] <= _order2(s) <= ORDER2_BAND[1] for s in range(20)) >= 19
    for key in ("U1:no-noise", "U1:no-correction", "U1:correction-1/2"):
        mutants.activate(key)
        try:
            killed = sum(not ORDER2_BAND[0] <= _order2(s) <= ORDER2_BAND[1] for s in range(20))
        finally:
            mutants.activate("")
        assert killed >= 19, key


def test_scheme_spread_and_plain_error_run():
    p, _ = _u1_problem()
    e, se = plain_weak_error(p, 0.25, 1.0, [2.0, -2.0, 0.0], p.value, order=1, n_paths=400, rng=0)
    assert se > 0 and np.isfinite(e)
    out = scheme_spread(p, 0.1, 1.0, [2.0, -2.0, 0.0], schemes=["with_replacement", "reshuffling"],
                        n_paths=400, rng=0)
    assert set(out) == {"with_replacement", "reshuffling", "sme"}


def test_linear_regression_schemes_bypass_its_fast_path():
    p = sc.make_linear_regression(8, 2, rng=0)
    full = p.with_batch_size(8).with_sampling("cycling")  # one batch = all data: gradient descent
    stats = sc.run(sc.SGD(0.1), full, [1.0, -1.0], 5, n_paths=50, rng=0, record=[5])
    x = np.array([1.0, -1.0])
    for _ in range(5):
        x = x - 0.1 * p.grad(x)
    assert np.allclose(stats["x"].mean[-1], x, atol=1e-14) and np.all(stats["x"].stderr[-1] < 1e-12)
    back = full.with_sampling("with_replacement")
    assert callable(back.grad_transposed_at) and back.sampling == "with_replacement"


# ---------------------------------------------------------------------------
# coupling for finite sums (quantile coupling): unbiased against exact moments
# ---------------------------------------------------------------------------
def test_finite_sum_coupling_is_unbiased_against_exact_moments():
    p = sc.make_linear_regression(12, 1, noise=0.5, rng=3).with_batch_size(2)
    lr, n, x0 = 0.2, 5, np.array([1.0])
    exact_sgd = sc.sgd_moments(p, lr, x0, n).mean[-1][:1]
    exact_sme = sc.sde_moments(sc.sgd_sme(p, lr, 1), x0, np.array([n * lr])).mean[-1][:1]
    ok_diff = ok_sgd = 0
    for seed in range(20):
        st = sc.coupled_sgd_sme(p, lr, n, x0, order=1, substeps=2, scheme="weak2", n_paths=2000,
                                rng=seed, record=[n])
        d, s = st["diff:x"], st["sgd:x"]
        ok_diff += abs(d.mean[-1, 0] - (exact_sgd - exact_sme)[0]) < 4 * d.stderr[-1, 0]
        ok_sgd += abs(s.mean[-1, 0] - exact_sgd[0]) < 4 * s.stderr[-1, 0]
    assert ok_diff >= 19 and ok_sgd >= 19


def test_finite_sum_coupling_reduces_variance_and_rejects_other_schemes():
    p = sc.make_linear_regression(30, 1, noise=0.1, rng=1)
    st = sc.coupled_sgd_sme(p, 0.1, 1, [0.5], n_paths=4000, rng=0, record=[1])
    assert st["diff:x"].stderr[-1, 0] < 0.8 * st["sgd:x"].stderr[-1, 0]
    with pytest.raises(TypeError, match="finite sum sampled with replacement"):
        sc.coupled_sgd_sme(p.with_sampling("reshuffling"), 0.1, 1, [0.5], n_paths=10)
