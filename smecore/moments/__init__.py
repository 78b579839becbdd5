"""Exact moments: moment recursions of the algorithms, moment ODEs of linear SDEs,
closed forms of the paper, stationary moments, one-step moments and deterministic
1-D expectations (backward equations).
"""

from .recursions import (
    Moments,
    sgd_moments,
    momentum_moments,
    nesterov_moments,
    scaled_momentum_moments,
)
from .sde_moments import sde_moments
from .momentum_rates import (
    heavy_ball_rate,
    momentum_sme_rate,
    effective_sgd_rate,
    msgd_quadratic_stationary_value,
    nesterov_deterministic_velocity,
    critical_momentum,
    fastest_momentum,
    nesterov_noise_asymptote,
)
from .stationary import (
    quadratic_phases,
    sgd_quadratic_phases,
    sgd_quadratic_level,
    crossover_time,
    sgd_stationary_moments,
    sde_stationary_moments,
    StationaryMoments,
)
from .onestep import (
    OneStepMoments,
    sgd_one_step_moments,
    lemma5_moments,
    lemma4_moments,
    sde_one_step_moments,
    gaussian_expectation,
)
from .scheduled import (
    scheduled_sgd_moments,
    scheduled_sme_moments,
    csgd_multiplier_ode,
    csgd_discrete_optimum,
    tune_inverse_time,
)
from .backward import BackwardSolution, sgd_expectations, sde_expectations, chebyshev_grid
from . import closed_forms

__all__ = [
    "Moments",
    "sgd_moments",
    "momentum_moments",
    "nesterov_moments",
    "scaled_momentum_moments",
    "sde_moments",
    "heavy_ball_rate",
    "momentum_sme_rate",
    "effective_sgd_rate",
    "msgd_quadratic_stationary_value",
    "nesterov_deterministic_velocity",
    "critical_momentum",
    "fastest_momentum",
    "nesterov_noise_asymptote",
    "quadratic_phases",
    "sgd_quadratic_phases",
    "sgd_quadratic_level",
    "crossover_time",
    "sgd_stationary_moments",
    "sde_stationary_moments",
    "StationaryMoments",
    "OneStepMoments",
    "sgd_one_step_moments",
    "lemma5_moments",
    "lemma4_moments",
    "sde_one_step_moments",
    "gaussian_expectation",
    "scheduled_sgd_moments",
    "scheduled_sme_moments",
    "csgd_multiplier_ode",
    "csgd_discrete_optimum",
    "tune_inverse_time",
    "BackwardSolution",
    "sgd_expectations",
    "sde_expectations",
    "chebyshev_grid",
    "closed_forms",
]
