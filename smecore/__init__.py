"""smecore: stochastic modified equations of stochastic gradient algorithms.

Companion library to Li, Tai & E, *Stochastic Modified Equations and Dynamics of
Stochastic Gradient Algorithms I: Mathematical Foundations* (JMLR 20(40), 2019).

The subpackages are the architecture; imports run one way, down this list
(``tests/test_layering.py`` checks it):

:mod:`smecore.problems`
    Stochastic objectives f(x) = E f_gamma(x): value, gradient, Hessian, noise
    covariance ``noise_cov`` (Sigma/B) and batched gradient samplers
    (:class:`GaussianQuadratic`, :class:`MultiplicativeQuadratic`,
    :class:`LinearRegression`, :class:`DoubleWell`, :class:`FunctionObjective`,
    :class:`FiniteSumObjective`).
:mod:`smecore.estimation`
    Random streams (:class:`PathRandom`, :func:`plan_blocks`), streamed Monte Carlo
    statistics (:func:`monte_carlo`, :class:`MCEstimate`), weak errors and fitted
    orders (:func:`weak_error`, :func:`fit_order`). Pure statistics: it does not
    know the problems, so the two share the bottom layer.
:mod:`smecore.algorithms`
    :class:`SGD`, :class:`MomentumSGD`, :class:`Nesterov`, their other
    normalisations, schedules and controlled SGD; :func:`run` streams Monte Carlo
    statistics of test functions, :func:`sample_paths` keeps paths.
:mod:`smecore.sme`
    Itô SDE objects (:class:`SDE`, :class:`FunctionSDE`) and the SMEs:
    :func:`sgd_sme` (orders 1 and 2), :func:`momentum_sme`, :func:`nesterov_sme`,
    scheduled SMEs and the asymptotic expansion.
:mod:`smecore.solvers` and :mod:`smecore.moments`
    :func:`solve_sde` (Euler-Maruyama, weak order 2, exact) and
    :func:`coupled_sgd_sme`; exact moments (:func:`sgd_moments`,
    :func:`momentum_moments`, :func:`nesterov_moments`, :func:`sde_moments`), the
    paper's closed forms (:mod:`smecore.moments.closed_forms`, also
    ``smecore.moments.closed_forms``) and deterministic 1-D expectations
    (:func:`sgd_expectations`, :func:`sde_expectations`).
:mod:`smecore.studies`
    Compositions that chapters run, e.g. weak-error sweeps over step sizes.
:mod:`smecore.book`
    Verdicts (:class:`Verdicts`), plotting style, the data behind figures and the
    ``python -m smecore reproduce`` command.

Every random function takes ``rng`` (anything ``numpy.random.default_rng``
accepts); Monte Carlo results do not depend on chunk size or worker count.
"""

__version__ = "0.2.0"

from . import mutants
from ._validation import DivergenceError
from .algorithms import SGD, Algorithm, MomentumSGD, Nesterov, check_stability, run, sample_paths
from .book.verdicts import Verdicts
from .estimation import (
    BlockStats,
    MCEstimate,
    OrderFit,
    PathRandom,
    WeakError,
    asymptotic_slopes,
    fit_order,
    monte_carlo,
    plan_blocks,
    weak_error,
)
from .moments import (
    closed_forms,
    BackwardSolution,
    Moments,
    chebyshev_grid,
    momentum_moments,
    nesterov_moments,
    sde_expectations,
    sde_moments,
    sgd_expectations,
    sgd_moments,
)
from .problems import (
    AffineGradient,
    DoubleWell,
    FiniteSumObjective,
    FunctionObjective,
    GaussianQuadratic,
    LinearRegression,
    LogisticRegression,
    MultiplicativeQuadratic,
    PerSampleObjective,
    StochasticObjective,
    make_linear_regression,
)
from .sme import (
    SDE,
    SGDSME,
    DiagonalNoiseSDE,
    FunctionSDE,
    LinearStructure,
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

__all__ = [
    # problems
    "StochasticObjective", "AffineGradient", "GaussianQuadratic", "MultiplicativeQuadratic",
    "LinearRegression", "make_linear_regression", "DoubleWell", "FiniteSumObjective",
    "FunctionObjective", "LogisticRegression", "PerSampleObjective",
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
    "Verdicts", "DivergenceError", "mutants",
]
