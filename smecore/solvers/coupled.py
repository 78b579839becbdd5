"""SGD and its SME driven by shared Gaussian noise: weak errors with small variance.

When the stochastic gradient is Gaussian, grad f(x) + Sigma(x)^{1/2} xi, SGD
and the SME can be driven by the same normal draws (the SME's Brownian increment
over one learning-rate step carries the xi of that SGD step). Each path then
gives a difference g(x_k) - g(X_{k eta}) whose variance shrinks with eta, so
weak errors and their orders are identifiable with few paths.
:func:`coupled_sgd_sme` streams the statistics of both and of their difference.
The coupling changes no marginal law, so the estimate is unbiased.
"""

from __future__ import annotations

import numpy as np

from .._validation import DivergenceError, check_finite_state, positive_int
from ..algorithms.methods import SGD, check_stability
from ..algorithms.simulate import _check_second_moments, warn_single_path
from ..estimation.montecarlo import BlockStats, monte_carlo
from ..estimation.observables import (
    Statistics,
    evaluate_observable,
    normalize_observables,
    record_steps,
)
from ..estimation.streams import DEFAULT_BLOCK_SIZE
from ..problems.base import StochasticObjective
from ..problems.custom import FiniteSumObjective
from .finite_sum_coupling import QuantileCoupledSampler
from ..sme.equations import sgd_sme
from .sde_solve import _check_scheme, _initial_state
from .steppers import _make_stepper

__all__ = ["coupled_sgd_sme"]


# ---------------------------------------------------------------------------
# SGD coupled to its SME
# ---------------------------------------------------------------------------
class _CoupledRecorder:
    """Per-block stats of g(sgd), g(sme) and their per-path difference."""

    def __init__(self, observables, sizes):
        self.observables, self.sizes = observables, sizes
        self.stats = {f"{kind}:{name}": [] for name in observables for kind in ("sgd", "sme", "diff")}

    def record(self, x_sgd, x_sme):
        for name, g in self.observables.items():
            a = evaluate_observable(name, g, x_sgd)
            b = evaluate_observable(name, g, x_sme)
            for kind, values in (("sgd", a), ("sme", b), ("diff", a - b)):
                self.stats[f"{kind}:{name}"].append(BlockStats.from_values(values, self.sizes))

    def result(self):
        return {k: BlockStats.stack(v, axis=1) for k, v in self.stats.items()}


class _CoupledChunk:
    """Picklable chunk function of :func:`coupled_sgd_sme`."""

    sampler = None  # set for finite sums (indices drawn from the shared normals)

    def __init__(self, problem, sde, lr, n_steps, x0, substeps, scheme, steps, observables):
        self.problem, self.sde, self.lr, self.n_steps, self.x0 = problem, sde, lr, n_steps, x0
        self.substeps, self.scheme, self.steps, self.observables = substeps, scheme, steps, observables

    def __call__(self, rand):
        m, lr, n = self.substeps, self.lr, rand.n_paths
        h = lr / m
        stepper = _make_stepper(self.sde, h, self.scheme, "gaussian", 0.0)
        recorder = _CoupledRecorder(self.observables, rand.sizes)
        wanted = np.zeros(self.n_steps + 1, dtype=bool)
        wanted[self.steps] = True
        x_sgd = np.broadcast_to(self.x0, (n, self.x0.size)).copy()
        x_sme = x_sgd.copy()
        if wanted[0]:
            recorder.record(x_sgd, x_sme)
        for k in range(self.n_steps):
            xi_sum = 0.0
            for j in range(m):
                xi = stepper.draw_base(rand, n)
                rest = stepper.draw_rest(rand, n)
                with np.errstate(over="ignore", invalid="ignore"):
                    x_sme = stepper.step(k * lr + j * h, x_sme, xi, rest)
                xi_sum = xi_sum + xi
            # SGD injects -lr L z and the SME sqrt(lr) L sum_j sqrt(h) xi_j: equal when
            # z = -sum_j xi_j / sqrt(m).
            z = -xi_sum / np.sqrt(m)
            with np.errstate(over="ignore", invalid="ignore"):
                if self.sampler is None:
                    x_sgd = x_sgd - lr * self.problem.sample_grad_from_normal(x_sgd, z)
                else:  # a finite sum: indices drawn from z (smecore.solvers.finite_sum_coupling)
                    if np.shape(z)[-1:] != (x_sgd.shape[1],):  # noise-free SME: nothing to share
                        z = rand.standard_normal(x_sgd.shape)
                    x_sgd = x_sgd - lr * self.sampler(x_sgd, z, rand)
            check_finite_state(x_sgd, k + 1, "SGD")
            check_finite_state(x_sme, k + 1, "SME solve")
            if wanted[k + 1]:
                recorder.record(x_sgd, x_sme)
        return recorder.result()


def _check_solver_stability(sde, lr, substeps, scheme):
    """Raise DivergenceError if the SME solver's mean iteration diverges (affine drift only).

    The mean of an Euler step is (I + h F) x, of a weak order-2 step
    (I + h F + (h F)^2 / 2) x, with F the drift matrix and h = lr / substeps.
    """
    linear = getattr(sde, "linear", None)
    if linear is None or not linear.time_homogeneous:
        return
    F = np.asarray(linear.drift_matrix(0.0), dtype=float)[:, :-1]
    z = (lr / substeps) * np.linalg.eigvals(F)
    growth = np.abs(1 + z if scheme == "euler" else 1 + z + z**2 / 2)
    worst = float(np.max(growth, initial=0.0))
    if worst > 1 + 1e-12:
        raise DivergenceError(
            f"the SME solver ({scheme}, step h = lr / substeps = {lr / substeps:g}) is unstable "
            f"on this problem: its mean grows by {worst:.4g} per step; increase substeps "
            f"(or lower lr = {lr:g})"
        )


def coupled_sgd_sme(
    problem,
    lr,
    n_steps,
    x0,
    *,
    order=1,
    correction=None,
    substeps=1,
    scheme="euler",
    n_paths,
    rng=None,
    record=None,
    observables=None,
    block_size=DEFAULT_BLOCK_SIZE,
    chunk_size=None,
    executor=None,
    progress=None,
) -> Statistics:
    """SGD and its SME driven by the same Gaussian noise (coupling).

    Finite sums sampled with replacement (:class:`~smecore.problems.FiniteSumObjective`)
    are coupled too: their mini-batch indices are drawn from the same normals
    by quantiles along the leading noise direction
    (``smecore.solvers.finite_sum_coupling``), exact in law for both SGD and
    the SME, so again unbiased; only the variance reduction is partial.

    For problems with Gaussian gradient noise (``problem.gaussian_noise``),
    SGD's normal z_k at step k and the SME's Brownian increments over
    [k lr, (k+1) lr] are built from the same standard normals xi_1..xi_m
    (m = ``substeps``, h = lr / m): the SME takes the increments
    sqrt(h) xi_j and SGD takes z_k = -sum_j xi_j / sqrt(m) (the sign makes the
    noise SGD injects, -lr L z_k, equal to the SME's sqrt(lr) L dW over the
    step). Each marginal law is unchanged, so the means are those of
    independent runs, but the per-path difference has a far smaller
    variance: weak errors far below the Monte Carlo noise of either side
    become measurable.

    Parameters
    ----------
    problem : StochasticObjective
        With ``gaussian_noise`` True, or a finite sum sampled with replacement.
    lr : float
        Learning rate.
    n_steps : int
        Number of SGD steps (SME time lr * n_steps).
    x0 : array_like, shape (d,)
    order : {1, 2}
    correction : float, optional
        See :func:`smecore.sme.sgd_sme`.
    substeps : int, default 1
        SME solver steps per SGD step.
    scheme : {"euler", "weak2"}
        SME solver (Gaussian increments; weak2's auxiliary variables are
        extra independent normals).
    n_paths, rng, record, observables, block_size, chunk_size, executor, progress
        As in :func:`solve_sde`; ``record`` counts SGD steps.

    Returns
    -------
    Statistics
        ``times = steps * lr``; estimates ``"sgd:<name>"``, ``"sme:<name>"``
        and ``"diff:<name>"`` (mean and stderr of g(x_k) - g(X_{k lr})).

    Raises
    ------
    TypeError
        If the problem's noise is not Gaussian.
    smecore.DivergenceError
        Up front, like :func:`smecore.algorithms.run`, if SGD's mean or second moments diverge
        on an affine problem, or if the SME solver's mean iteration does (step lr / substeps
        too large); later if a path of SGD or of the SME solve leaves every bounded set.

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> stats = coupled_sgd_sme(GaussianQuadratic([1.0]), 0.1, 10, [1.0], n_paths=2000, rng=0,
    ...                         substeps=4, record=[10])
    >>> bool(stats["diff:x"].stderr[-1, 0] < 0.2 * stats["sgd:x"].stderr[-1, 0])
    True
    """
    if not isinstance(problem, StochasticObjective):
        raise TypeError(f"problem must be a StochasticObjective, got {type(problem).__name__}")
    sampler = None
    if not problem.gaussian_noise:
        if not isinstance(problem, FiniteSumObjective) or problem.sampling != "with_replacement":
            raise TypeError(
                f"coupling needs Gaussian gradient noise or a finite sum sampled with replacement: "
                f"{type(problem).__name__} has neither (compare SGD and the SME with independent "
                "runs instead)"
            )
        sampler = QuantileCoupledSampler(problem)
    sde = sgd_sme(problem, lr, order, correction=correction)
    lr = sde.lr
    n_steps = positive_int(n_steps, "n_steps")
    substeps = positive_int(substeps, "substeps")
    x0 = _initial_state(sde, x0)
    _check_scheme(sde, scheme, "gaussian", allowed=("euler", "weak2"))
    steps = record_steps(record, n_steps)
    observables = normalize_observables(observables)
    check_stability(SGD(lr), problem, n_steps)
    _check_second_moments(SGD(lr), problem, n_steps)
    warn_single_path(n_paths, stacklevel=3)
    _check_solver_stability(sde, lr, substeps, scheme)
    chunk = _CoupledChunk(problem, sde, lr, n_steps, x0, substeps, scheme, steps, observables)
    chunk.sampler = sampler
    estimates = monte_carlo(chunk, n_paths, rng=rng, block_size=block_size,
                            chunk_size=chunk_size, executor=executor, progress=progress,
                            desc=f"coupled SGD/SME: {n_steps} steps")
    return Statistics(steps * lr, steps, estimates)
