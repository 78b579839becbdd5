"""Studies: compositions of the layers below that a chapter runs, such as
weak-error sweeps over step sizes.
"""

from .momentum import (
    exact_momentum_weak_errors,
    MCWeakErrors,
    mc_momentum_weak_errors,
    sme_expectation,
    position_cov_error,
    exact_nesterov_weak_errors,
    DescentTimes,
    descent_times,
    constant_momentum_weak_errors,
    mc_nesterov_weak_errors,
)
from .mutant_runs import under_mutant
from .onestep import affine_weak_errors, backward_weak_errors

__all__ = [
    "exact_momentum_weak_errors",
    "MCWeakErrors",
    "mc_momentum_weak_errors",
    "sme_expectation",
    "position_cov_error",
    "exact_nesterov_weak_errors",
    "DescentTimes",
    "descent_times",
    "constant_momentum_weak_errors",
    "mc_nesterov_weak_errors",
    "under_mutant",
    "affine_weak_errors",
    "backward_weak_errors",
]
