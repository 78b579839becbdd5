"""Studies: compositions of the layers below that a chapter runs, such as
weak-error sweeps over step sizes.
"""

from .momentum import (
    exact_momentum_weak_errors,
    MCWeakErrors,
    mc_momentum_weak_errors,
    sme_expectation,
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

__all__ = [
    "exact_momentum_weak_errors",
    "MCWeakErrors",
    "mc_momentum_weak_errors",
    "sme_expectation",
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
]
