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
from .dynamics import (
    phase_split_errors,
    LevelCheck,
    sgd_level_check,
    scaling_level_check,
    ExpansionErrors,
    expansion_backward_errors,
    expansion_variance_mc,
    CSGDCheck,
    csgd_check,
    ScalingFamily,
    scaling_family,
)
from .onestep import (affine_weak_errors, backward_weak_errors, matched_weak_errors,
                      one_step_mismatches, lemma5_z_scores)
from .mutant_runs import under_mutant
from .setting import weak_constants
from .own_problem import WeakErrorSweep, coupled_weak_errors, plain_weak_error, scheme_spread

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
    "phase_split_errors",
    "LevelCheck",
    "sgd_level_check",
    "scaling_level_check",
    "ExpansionErrors",
    "expansion_backward_errors",
    "expansion_variance_mc",
    "CSGDCheck",
    "csgd_check",
    "ScalingFamily",
    "scaling_family",
    "affine_weak_errors",
    "backward_weak_errors",
    "matched_weak_errors",
    "one_step_mismatches",
    "lemma5_z_scores",
    "under_mutant",
    "weak_constants",
    "WeakErrorSweep",
    "coupled_weak_errors",
    "plain_weak_error",
    "scheme_spread",
]
