"""Stochastic objectives f(x) = E f_gamma(x): gradient, Hessian, noise covariance, samplers."""

from .base import AffineGradient, StochasticObjective, symmetric_sqrt_factor
from .custom import FiniteSumObjective, FunctionObjective
from .multiplicative import MultiplicativeQuadratic
from .nonlinear import DoubleWell
from .quadratic import GaussianQuadratic
from .oracles import GradientSequence
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
    "TwoPointQuadratic",
    "GradientSequence",
    "AffineStochasticField",
]
