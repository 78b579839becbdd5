"""smecore: stochastic modified equations of stochastic gradient algorithms.

Companion library to Li, Tai & E, *Stochastic Modified Equations and Dynamics of
Stochastic Gradient Algorithms I: Mathematical Foundations* (JMLR 2019).

Architecture: problems -> algorithms and SMEs -> solvers and exact moments ->
estimation (Monte Carlo, weak errors, fitted orders) -> chapters.
"""

__version__ = "0.1.0"

from ._validation import DivergenceError
from .montecarlo import BlockStats, MCEstimate, monte_carlo
from .problems import AffineGradient, GaussianQuadratic, StochasticObjective
from .random import PathRandom, plan_blocks
from .sde import SDE, FunctionSDE, LinearStructure
