"""smecore: stochastic modified equations of stochastic gradient algorithms.

Companion library to Li, Tai & E, *Stochastic Modified Equations and Dynamics of
Stochastic Gradient Algorithms I: Mathematical Foundations* (JMLR 2019).

Architecture: problems -> algorithms and SMEs -> solvers and exact moments ->
estimation (Monte Carlo, weak errors, fitted orders) -> chapters.
"""

__version__ = "0.1.0"

from ._validation import DivergenceError
from .montecarlo import BlockStats, MCEstimate, monte_carlo
from .problems import (AffineGradient, DoubleWell, FiniteSumObjective, FunctionObjective,
                       GaussianQuadratic, LinearRegression, MultiplicativeQuadratic,
                       StochasticObjective, make_linear_regression)
from .algorithms import SGD, Algorithm, MomentumSGD, Nesterov, check_stability, run, sample_paths
from .random import PathRandom, plan_blocks
from .sde import SDE, FunctionSDE, LinearStructure
from .sme import (SGDSME, MomentumSME, NesterovSME, OnPosition, momentum_sme, momentum_state_map,
                  momentum_state_unmap, nesterov_sme, sgd_sme, sme_initial_state)
from .solvers import coupled_sgd_sme, sample_sde_paths, solve_sde
from . import closed_forms
from .moments import Moments, momentum_moments, nesterov_moments, sde_moments, sgd_moments
from .weak import OrderFit, WeakError, asymptotic_slopes, fit_order, weak_error
