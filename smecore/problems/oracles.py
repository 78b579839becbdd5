"""Gradient oracles that replay one pre-drawn sequence of stochastic gradients.

:class:`GradientSequence` answers the j-th gradient request with the j-th
pre-drawn noise, so that several normalisations of one algorithm (see
:mod:`smecore.algorithms.forms`) see the same randomness and can be compared path
by path.
"""

from __future__ import annotations

import numpy as np

from .._validation import generator, positive_int
from .base import StochasticObjective

__all__ = ["GradientSequence"]


class GradientSequence:
    """A stochastic-gradient oracle with pre-drawn Gaussian noise: ``oracle(y, j)``.

    The j-th call returns ``problem.sample_grad_from_normal(y, z_j)`` with
    z_j the j-th row of a fixed array of standard normals, so that different
    implementations of one algorithm can be fed identical randomness.

    Parameters
    ----------
    problem : StochasticObjective
        With Gaussian gradient noise (``problem.gaussian_noise``), e.g.
        :class:`~smecore.problems.GaussianQuadratic`.
    n_steps : int
        Number of gradients available (j = 0, ..., n_steps - 1).
    rng : seed-like, optional
        Anything ``numpy.random.default_rng`` accepts.

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> oracle = GradientSequence(GaussianQuadratic([2.0]), 3, rng=0)
    >>> bool(np.allclose(oracle([1.0], 1), oracle([1.0], 1)))   # same j, same gradient
    True
    >>> oracle([1.0], 0).shape
    (1,)
    """

    def __init__(self, problem, n_steps, rng=None):
        if not isinstance(problem, StochasticObjective):
            raise TypeError(f"problem must be a smecore StochasticObjective, got {type(problem).__name__}")
        if not getattr(problem, "gaussian_noise", False):
            raise TypeError(f"{type(problem).__name__} does not have Gaussian gradient noise")
        self.problem = problem
        self.n_steps = positive_int(n_steps, "n_steps")
        p = int(problem.noise_dim if problem.noise_dim is not None else problem.dim)
        self.z = generator(rng).standard_normal((self.n_steps, p))

    def __call__(self, y, j):
        if not 0 <= j < self.n_steps:
            raise IndexError(f"gradient index j must lie in [0, {self.n_steps}), got {j}")
        y = np.asarray(y, dtype=float)
        return self.problem.sample_grad_from_normal(y[None, :], self.z[j][None, :])[0]
