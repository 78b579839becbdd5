"""Studies: compositions of the layers below that a chapter runs, such as
weak-error sweeps over step sizes.
"""

from .momentum import (
    exact_momentum_weak_errors,
    MCWeakErrors,
    mc_momentum_weak_errors,
    sme_expectation,
)
from .onestep import affine_weak_errors, backward_weak_errors
from .own_problem import WeakErrorSweep, coupled_weak_errors, plain_weak_error, scheme_spread

__all__ = [
    "exact_momentum_weak_errors",
    "MCWeakErrors",
    "mc_momentum_weak_errors",
    "sme_expectation",
    "affine_weak_errors",
    "backward_weak_errors",
    "WeakErrorSweep",
    "coupled_weak_errors",
    "plain_weak_error",
    "scheme_spread",
]
