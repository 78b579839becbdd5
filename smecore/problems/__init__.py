"""Stochastic objectives f(x) = E f_gamma(x): gradient, Hessian, noise covariance, samplers."""

from .base import AffineGradient, StochasticObjective, symmetric_sqrt_factor
from .quadratic import GaussianQuadratic

__all__ = ["AffineGradient", "StochasticObjective", "symmetric_sqrt_factor", "GaussianQuadratic"]
