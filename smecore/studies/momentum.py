"""Weak-error sweeps of heavy-ball momentum against its SME (momentum chapter).

:func:`exact_momentum_weak_errors` uses exact moments (affine problems);
:func:`mc_momentum_weak_errors` uses Monte Carlo for any observable, with the
SME solved by a weak order-2 scheme (:func:`sme_expectation`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import finite_array, positive_float, positive_int, steps_in_horizon
from ..algorithms.methods import MomentumSGD
from ..algorithms.simulate import run
from ..estimation.montecarlo import MCEstimate
from ..estimation.streams import as_seed_sequence
from ..estimation.weak import weak_error
from ..moments.recursions import momentum_moments
from ..moments.sde_moments import sde_moments
from ..sme.equations import OnPosition, momentum_sme
from ..solvers.sde_solve import solve_sde

__all__ = ["exact_momentum_weak_errors", "MCWeakErrors", "mc_momentum_weak_errors", "sme_expectation"]


def _step_sizes(step_sizes, damping):
    h = finite_array(step_sizes, "step_sizes", ndim=1)
    if h.size == 0 or np.any(h <= 0):
        raise ValueError("step_sizes must be a non-empty array of positive numbers")
    damping = positive_float(damping, "damping")
    if np.any(damping * h > 1):
        raise ValueError(
            f"damping * step must be <= 1 for every step (momentum 1 - damping * step >= 0); "
            f"largest step allowed {1 / damping:g}"
        )
    return h, damping


def exact_momentum_weak_errors(problem, step_sizes, damping, x0, T) -> dict:
    """Weak errors of heavy ball against its SME from exact moments (affine gradients).

    For each h, heavy ball with lr = h^2 and mu = 1 - damping h runs
    N = T / h steps (:func:`smecore.moments.momentum_moments`), and its SME
    (:func:`smecore.sme.momentum_sme` with the same damping) is evaluated at
    t = k h (:func:`smecore.moments.sde_moments`). The weak error is the
    paper's max over 0 <= k <= N of ``|E g(x_k) - E g(X_{kh})|``.

    Parameters
    ----------
    problem : StochasticObjective
        With ``problem.affine``.
    step_sizes : array_like
        h values, > 0, each dividing T.
    damping : float
        lambda > 0, with damping * h <= 1.
    x0 : array_like, shape (d,)
        Start (V_0 = 0 for both).
    T : float
        Horizon.

    Returns
    -------
    dict
        ``"x"``: errors for g(x) = x_i (maximised over coordinates i too);
        ``"f"``: errors for g = f. Arrays of shape (len(step_sizes),).

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> err = exact_momentum_weak_errors(GaussianQuadratic([1.0]), [0.2, 0.1], 1.0, [1.0], 2.0)
    >>> [round(float(r), 2) for r in err["x"][0] / err["x"]]   # halving h halves the error
    [1.0, 2.0]
    """
    h_all, damping = _step_sizes(step_sizes, damping)
    T = positive_float(T, "T")
    out = {"x": np.empty(h_all.size), "f": np.empty(h_all.size)}
    for i, h in enumerate(h_all):
        lr = float(h) ** 2
        alg = momentum_moments(problem, lr, 1.0 - damping * h, x0, steps_in_horizon(T, h))
        sme = sde_moments(momentum_sme(problem, lr, damping=damping), x0, alg.times)
        out["x"][i] = weak_error(alg.position_mean, sme.position_mean).value
        out["f"][i] = weak_error(alg.expect_value(problem), sme.expect_value(problem)).value
    return out


def sme_expectation(problem, step, damping, x0, T, observable, *, n_paths, substeps=4,
                    rng=None) -> MCEstimate:
    """Monte Carlo E g(X_T) for the heavy-ball SME with lr = step^2, by the weak order-2 scheme.

    The SME dX = V dt, dV = -(damping V + grad f) dt + step^{1/2} Sigma^{1/2} dW
    is solved with :func:`smecore.solvers.solve_sde` (``scheme="weak2"``) at
    the solver step ``step / substeps``.

    Parameters
    ----------
    problem : StochasticObjective
    step : float
        h = sqrt(lr).
    damping : float
    x0 : array_like, shape (d,)
    T : float
        A multiple of ``step``.
    observable : callable
        g(x) on positions of shape (n, d), returning (n,).
    n_paths : int
    substeps : int, default 4
    rng : seed-like, optional

    Returns
    -------
    MCEstimate
        Scalar mean and standard error of g(X_T).
    """
    step, damping = _step_sizes([step], damping)
    step = float(step[0])
    n = steps_in_horizon(positive_float(T, "T"), step) * positive_int(substeps, "substeps")
    sde = momentum_sme(problem, step**2, damping=damping)
    stats = solve_sde(sde, x0, T, n_steps=n, scheme="weak2", n_paths=n_paths, rng=rng, record=[n],
                      observables={"g": OnPosition(observable, sde.position_dim)})
    est = stats["g"]
    return MCEstimate(np.asarray(est.mean[-1]).reshape(()), np.asarray(est.stderr[-1]).reshape(()),
                      est.n_paths)


@dataclass(frozen=True)
class MCWeakErrors:
    """Monte Carlo weak errors at time T of heavy ball against its SME.

    Attributes
    ----------
    step_sizes : ndarray, shape (n,)
        h = sqrt(lr).
    algorithm : list of MCEstimate
        E g(x_N) of heavy ball, N = T / h.
    sme : list of MCEstimate
        E g(X_T) of the SME.
    errors, stderr : ndarray, shape (n,)
        ``|difference|`` and its standard error (independent runs).
    """

    step_sizes: np.ndarray
    algorithm: list
    sme: list
    errors: np.ndarray
    stderr: np.ndarray


def mc_momentum_weak_errors(problem, step_sizes, damping, x0, T, observable, *, n_paths,
                            substeps=4, rng=None) -> MCWeakErrors:
    """Weak errors ``|E g(x_N) - E g(X_T)|``, N = T / h, by independent Monte Carlo runs.

    Heavy ball (:class:`smecore.algorithms.MomentumSGD` with lr = h^2,
    mu = 1 - damping h) and its SME (:func:`sme_expectation`, weak order-2
    solver at step h / ``substeps``) use independent random streams spawned
    from ``rng``, so the standard error of the difference is the root sum of
    squares of the two.

    Parameters
    ----------
    problem : StochasticObjective
        Any problem with ``noise_factor`` (the SME needs Sigma^{1/2}).
    step_sizes : array_like
        h values dividing T.
    damping : float
    x0 : array_like, shape (d,)
    T : float
    observable : callable
        g(x) on positions (n, d) -> (n,); must be picklable for process pools.
    n_paths : int
    substeps : int, default 4
    rng : seed-like, optional

    Returns
    -------
    MCWeakErrors

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> res = mc_momentum_weak_errors(GaussianQuadratic([1.0]), [0.2], 1.0, [1.0], 1.0,
    ...                               lambda x: x[:, 0], n_paths=2000, rng=0)
    >>> res.errors.shape, bool(res.stderr[0] > 0)
    ((1,), True)
    """
    h_all, damping = _step_sizes(step_sizes, damping)
    T = positive_float(T, "T")
    streams = as_seed_sequence(rng).spawn(2 * h_all.size)
    algorithm, sme = [], []
    for i, h in enumerate(h_all):
        h = float(h)
        N = steps_in_horizon(T, h)
        stats = run(MomentumSGD.from_damping(h**2, damping), problem, x0, N, n_paths=n_paths,
                    rng=streams[2 * i], record=[N], observables={"g": observable})
        est = stats["g"]
        algorithm.append(MCEstimate(np.asarray(est.mean[-1]).reshape(()),
                                    np.asarray(est.stderr[-1]).reshape(()), est.n_paths))
        sme.append(sme_expectation(problem, h, damping, x0, T, observable, n_paths=n_paths,
                                   substeps=substeps, rng=streams[2 * i + 1]))
    errors = np.array([abs(float(a.mean - b.mean)) for a, b in zip(algorithm, sme)])
    stderr = np.array([float(np.hypot(a.stderr, b.stderr)) for a, b in zip(algorithm, sme)])
    return MCWeakErrors(h_all, algorithm, sme, errors, stderr)
