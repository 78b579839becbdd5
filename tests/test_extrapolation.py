"""Talay-Tubaro extrapolation: weak order 2 from Euler on an OU process with exact moments."""

import numpy as np
import pytest

from smecore.sme.polynomial import PolynomialDiagonalSDE
from smecore.solvers.extrapolation import talay_tubaro

LAM, SIG, X0, T = 1.0, 1.0, 1.0, 1.0
OU = PolynomialDiagonalSDE([0.0, -LAM], dim=1, scale=SIG)
EXACT = (X0 * np.exp(-LAM * T)) ** 2 + SIG**2 * (1 - np.exp(-2 * LAM * T)) / (2 * LAM)


def euler_second_moment(n):
    """E X_n^2 of Euler itself on OU (exact linear recursion)."""
    h = T / n
    m, v = X0, 0.0
    for _ in range(n):
        m, v = (1 - LAM * h) * m, (1 - LAM * h) ** 2 * v + SIG**2 * h
    return m * m + v


def _square(x):
    return x[:, 0] ** 2


def test_extrapolated_euler_has_weak_order_two():
    ns = np.array([4, 8, 16, 32])
    plain = np.array([euler_second_moment(n) - EXACT for n in ns])
    extra = np.array([2 * euler_second_moment(2 * n) - euler_second_moment(n) - EXACT for n in ns])
    order = lambda e: np.diff(np.log(np.abs(e))) / np.diff(np.log(1.0 / ns))  # noqa: E731
    assert np.all(np.abs(order(plain) - 1) < 0.2)
    assert np.all(np.abs(order(extra) - 2) < 0.2)  # the mutant "no extrapolation" fails this


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_helper_estimates_the_extrapolated_expectation(backend):
    for n in (4, 8):
        st = talay_tubaro(OU, [X0], T, n_steps=n, n_paths=200_000, rng=n, record=[n],
                          observables={"q": _square}, backend=backend)
        target = 2 * euler_second_moment(2 * n) - euler_second_moment(n)
        est = st["q"]
        assert abs(est.mean[-1] - target) < 4 * est.stderr[-1]
        assert st.times[-1] == pytest.approx(T)


def test_extrapolation_beats_plain_euler_on_the_bias():
    st = talay_tubaro(OU, [X0], T, n_steps=4, n_paths=400_000, rng=1, record=[4],
                      observables={"q": _square}, backend="numba")
    err = abs(st["q"].mean[-1] - EXACT)
    assert err < 4 * st["q"].stderr[-1] + 0.01  # plain Euler at n = 4 is off by 0.046
    assert abs(euler_second_moment(4) - EXACT) > 0.04


def test_bad_scheme():
    with pytest.raises(ValueError, match="scheme"):
        talay_tubaro(OU, [X0], T, n_steps=2, n_paths=10, scheme="exact")


# --- coupled: both step sizes on one Brownian path (counter streams) ----------------------


def test_coupled_estimates_the_extrapolated_expectation_for_19_of_20_seeds():
    # The law: each run keeps its own, so the per-path combination is unbiased for
    # 2 E_{h/2} - E_h (exact here from Euler's linear recursion).
    n = 4
    target = 2 * euler_second_moment(2 * n) - euler_second_moment(n)
    passes = 0
    for seed in range(20):
        st = talay_tubaro(OU, [X0], T, n_steps=n, n_paths=4000, rng=seed, record=[n],
                          observables={"q": _square}, coupled=True)
        est = st["q"]
        passes += bool(abs(est.mean[-1] - target) < 4 * est.stderr[-1])
        coarse, fine = st["coarse:q"], st["fine:q"]
        assert abs(coarse.mean[-1] - euler_second_moment(n)) < 5 * coarse.stderr[-1]
        assert abs(fine.mean[-1] - euler_second_moment(2 * n)) < 5 * fine.stderr[-1]
    assert passes >= 19


def test_coupling_shrinks_the_standard_error():
    kw = {"n_steps": 8, "n_paths": 20_000, "rng": 3, "record": [8], "observables": {"q": _square}}
    independent = talay_tubaro(OU, [X0], T, backend="numpy", **kw)["q"].stderr[-1]
    st = talay_tubaro(OU, [X0], T, coupled=True, **kw)
    # the combination: about one run's error instead of sqrt(5) times it (Euler)
    assert st["q"].stderr[-1] < independent / 1.8
    assert st["q"].stderr[-1] < 1.2 * st["fine:q"].stderr[-1]
    # the solver error E g(X^{h/2}) - E g(X^h): far below either run's error, and resolved
    diff = st["diff:q"]
    assert diff.stderr[-1] < st["coarse:q"].stderr[-1] / 4
    exact_diff = euler_second_moment(16) - euler_second_moment(8)
    assert abs(diff.mean[-1] - exact_diff) < 4 * diff.stderr[-1]
    assert abs(diff.mean[-1]) > 4 * diff.stderr[-1]


def test_coupled_weak2_and_chunk_independence():
    kw = {"n_steps": 4, "n_paths": 3000, "rng": 5, "record": [2, 4], "scheme": "weak2",
          "observables": {"q": _square}, "coupled": True, "block_size": 256}
    a = talay_tubaro(OU, [X0], T, **kw)
    b = talay_tubaro(OU, [X0], T, chunk_size=300, **kw)
    np.testing.assert_array_equal(a["q"].mean, b["q"].mean)
    np.testing.assert_array_equal(a["q"].stderr, b["q"].stderr)
    assert abs(a["q"].mean[-1] - EXACT) < 4 * a["q"].stderr[-1] + 2e-3


def test_coupled_bad_arguments():
    with pytest.raises(ValueError, match="increments='gaussian'"):
        talay_tubaro(OU, [X0], T, n_steps=2, n_paths=10, coupled=True, increments="discrete")
    from smecore.sme import FunctionSDE
    general = FunctionSDE(lambda t, x: -x, lambda t, x: np.ones(x.shape + (1,)), dim=1, noise_dim=1)
    with pytest.raises(ValueError, match="DiagonalNoiseSDE"):
        talay_tubaro(general, [X0], T, n_steps=2, n_paths=10, coupled=True)
