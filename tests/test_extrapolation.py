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
