"""The benchmark workloads, defined once for every adapter.

W1 - SME Monte Carlo: d = 10, dX = -(X^3 - X) dt + sqrt(eta) dW per coordinate,
eta = 0.1, X0 = 0.5 in every coordinate, T = 1, step h = 1e-3; estimate
E[mean_i X_i(T)^2].

W2 - SGD Monte Carlo: least squares on n = 1000 points in d = 10 drawn from
numpy.random.default_rng(0) (rows a_i ~ N(0, I), y_i = a_i . 1 + 0.1 N(0, 1));
SGD with batch 1, eta = 0.01, 1000 steps from x = 0; estimate E f(x_N).

Everything here is module level so that it pickles into process pools and
Dask workers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smecore.problems import LinearRegression
from smecore.sme import DiagonalNoiseSDE


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    dim: int
    n_steps: int
    sizes: tuple  # M values of the full run
    quick_sizes: tuple
    estimand: str


# -- W1 -------------------------------------------------------------------------------
W1_DIM = 10
W1_ETA = 0.1
W1_X0 = 0.5
W1_T = 1.0
W1_STEPS = 1000
W1_H = W1_T / W1_STEPS
W1 = Workload("W1", "SME Monte Carlo (double-well drift, d = 10, 1000 steps)", W1_DIM, W1_STEPS,
              (1_000, 10_000, 100_000), (1_000, 10_000), "E[mean_i X_i(T)^2]")


def double_well_drift(x):
    """-(x^3 - x), written as every adapter writes it: x (1 - x^2)."""
    return x * (1.0 - x * x)


class DoubleWellSME(DiagonalNoiseSDE):
    """W1's SDE for smecore: diagonal, additive noise sqrt(eta) per coordinate."""

    def __init__(self, dim=W1_DIM, eta=W1_ETA):
        super().__init__(dim=dim, scale=np.sqrt(eta), name="double well")

    def drift(self, t, x):
        return double_well_drift(x)


def w1_polynomial_sde(dim=W1_DIM, eta=W1_ETA):
    """W1's SDE as coefficients (drift x - x^3), which smecore's fused numba kernel compiles."""
    from smecore.sme.polynomial import PolynomialDiagonalSDE
    return PolynomialDiagonalSDE([0.0, 1.0, 0.0, -1.0], dim=dim, scale=np.sqrt(eta), name="double well")


def mean_square(x):
    """mean_i x_i^2 per path: the W1 observable."""
    return np.einsum("ij,ij->i", x, x) / x.shape[1]


def w1_x0():
    return np.full(W1_DIM, W1_X0)


# -- W2 -------------------------------------------------------------------------------
W2_N = 1000
W2_DIM = 10
W2_LR = 0.01
W2_STEPS = 1000
W2 = Workload("W2", "SGD Monte Carlo (least squares, n = 1000, d = 10, 1000 steps)", W2_DIM,
              W2_STEPS, (100, 1_000, 10_000), (100, 1_000), "E f(x_N)")


def w2_data():
    """(A, y) from numpy.random.default_rng(0), in the order the workload states."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((W2_N, W2_DIM))
    y = A @ np.ones(W2_DIM) + 0.1 * rng.standard_normal(W2_N)
    return A, y


def w2_problem() -> LinearRegression:
    A, y = w2_data()
    return LinearRegression(A, y)


def least_squares_values(x, A, y):
    """f(x) = mean_i (a_i . x - y_i)^2 / 2 for each row of x (numpy, any adapter's final states)."""
    residuals = np.asarray(x) @ A.T - y
    return 0.5 * np.mean(residuals**2, axis=1)


WORKLOADS = {"W1": W1, "W2": W2}


def mean_and_stderr(values):
    """Sample mean and its standard error of per-path values."""
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size))
