"""smecore: stochastic modified equations of stochastic gradient algorithms.

Companion library to Li, Tai & E, *Stochastic Modified Equations and Dynamics of
Stochastic Gradient Algorithms I: Mathematical Foundations* (JMLR 2019).

The layout follows the mathematics, from problems to estimates:

problems
    :class:`GaussianQuadratic`, :class:`MultiplicativeQuadratic`,
    :class:`LinearRegression` (:func:`make_linear_regression`), :class:`DoubleWell`,
    :class:`FunctionObjective`, :class:`FiniteSumObjective` -- value, gradient,
    Hessian, noise covariance ``noise_cov`` (Sigma/B), batched gradient samplers.
algorithms
    :class:`SGD`, :class:`MomentumSGD`, :class:`Nesterov`; :func:`run` streams
    Monte Carlo statistics of test functions, :func:`sample_paths` keeps paths.
SMEs
    :func:`sgd_sme` (orders 1 and 2), :func:`momentum_sme`, :func:`nesterov_sme`:
    Itô SDE objects (:class:`SDE`, :class:`FunctionSDE`).
solvers and exact moments
    :func:`solve_sde` (Euler-Maruyama, weak order 2, exact), :func:`coupled_sgd_sme`
    (SGD and SME sharing Brownian increments); :func:`sgd_moments`,
    :func:`momentum_moments`, :func:`nesterov_moments`, :func:`sde_moments`
    (exact first and second moments for affine gradients); :mod:`smecore.backward`
    (deterministic 1-D expectations); :mod:`smecore.closed_forms`.
estimation
    :func:`monte_carlo` (:class:`MCEstimate`), :func:`weak_error`,
    :func:`fit_order` (:class:`OrderFit` with a confidence interval).
book support
    :mod:`smecore.plotting` (shared style, :func:`~smecore.plotting.publish_figure`),
    :mod:`smecore.figure_data` (the data behind a figure, as CSV), :mod:`smecore.report`
    (verdicts).

Every random function takes ``rng`` (anything ``numpy.random.default_rng``
accepts); Monte Carlo results do not depend on chunk size or worker count.
"""

__version__ = "0.1.0"

from . import closed_forms
from ._validation import DivergenceError
from .algorithms import SGD, Algorithm, MomentumSGD, Nesterov, check_stability, run, sample_paths
from .backward import BackwardSolution, chebyshev_grid, sde_expectations, sgd_expectations
from .moments import Moments, momentum_moments, nesterov_moments, sde_moments, sgd_moments
from .montecarlo import BlockStats, MCEstimate, monte_carlo
from .problems import (
    AffineGradient,
    DoubleWell,
    FiniteSumObjective,
    FunctionObjective,
    GaussianQuadratic,
    LinearRegression,
    MultiplicativeQuadratic,
    StochasticObjective,
    make_linear_regression,
)
from .random import PathRandom, plan_blocks
from .report import Verdicts
from .sde import SDE, DiagonalNoiseSDE, FunctionSDE, LinearStructure
from .sme import (
    SGDSME,
    MomentumSME,
    NesterovSME,
    OnPosition,
    momentum_sme,
    momentum_state_map,
    momentum_state_unmap,
    nesterov_sme,
    sgd_sme,
    sme_initial_state,
)
from .solvers import coupled_sgd_sme, sample_sde_paths, solve_sde
from .weak import OrderFit, WeakError, asymptotic_slopes, fit_order, weak_error

__all__ = [
    # problems
    "StochasticObjective", "AffineGradient", "GaussianQuadratic", "MultiplicativeQuadratic",
    "LinearRegression", "make_linear_regression", "DoubleWell", "FiniteSumObjective",
    "FunctionObjective",
    # algorithms
    "Algorithm", "SGD", "MomentumSGD", "Nesterov", "check_stability", "run", "sample_paths",
    # SMEs
    "SDE", "FunctionSDE", "DiagonalNoiseSDE", "LinearStructure", "SGDSME", "MomentumSME", "NesterovSME", "OnPosition",
    "sgd_sme", "momentum_sme", "nesterov_sme", "sme_initial_state", "momentum_state_map",
    "momentum_state_unmap",
    # solvers and exact moments
    "solve_sde", "sample_sde_paths", "coupled_sgd_sme", "Moments", "sgd_moments",
    "momentum_moments", "nesterov_moments", "sde_moments", "BackwardSolution",
    "sgd_expectations", "sde_expectations", "chebyshev_grid", "closed_forms",
    # estimation
    "monte_carlo", "MCEstimate", "BlockStats", "PathRandom", "plan_blocks", "weak_error",
    "WeakError", "fit_order", "OrderFit", "asymptotic_slopes",
    # book support
    "Verdicts", "DivergenceError",
]
