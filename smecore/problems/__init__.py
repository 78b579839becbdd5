"""Stochastic objectives f(x) = E f_gamma(x): gradient, Hessian, noise covariance, samplers."""

from .base import AffineGradient, StochasticObjective, symmetric_sqrt_factor
from .custom import FiniteSumObjective, FunctionObjective
from .multiplicative import MultiplicativeQuadratic
from .nonlinear import DoubleWell
from .quadratic import GaussianQuadratic
from .oracles import GradientSequence
from .logistic import LogisticRegression
from .persample import PerSampleObjective
from .regression import LinearRegression, make_linear_regression
from .two_point import TwoPointQuadratic
from .vector_field import AffineStochasticField

__all__ = [
    "AffineGradient",
    "StochasticObjective",
    "symmetric_sqrt_factor",
    "GaussianQuadratic",
    "MultiplicativeQuadratic",
    "LinearRegression",
    "make_linear_regression",
    "DoubleWell",
    "FiniteSumObjective",
    "FunctionObjective",
    "LogisticRegression",
    "PerSampleObjective",
    "TwoPointQuadratic",
    "GradientSequence",
    "AffineStochasticField",
]
