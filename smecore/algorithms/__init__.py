"""Stochastic gradient algorithms: SGD, momentum (every normalisation), Nesterov,
learning-rate schedules and controlled SGD (oracle and online: cSGD, cMSGD), and the Monte Carlo drivers ``run`` and
``sample_paths``.
"""

from .adaptive import (
    AdaptiveSettings,
    cmsgd_online_target,
    compare_with_plugin,
    csgd_online_target,
    online_estimates,
    plugin_quadratic,
    run_quadratic,
)
from .control import csgd_optimal_multiplier, csgd_optimal_path, csgd_rate, csgd_switch_time
from .methods import Algorithm, SGD, MomentumSGD, Nesterov, check_stability
from .forms import (
    TorchMomentumSGD,
    ScaledMomentumSGD,
    drive,
    paper_form,
    pytorch_form,
    pytorch_to_positions,
)
from .schedules import (
    Schedule,
    ConstantSchedule,
    InverseTimeSchedule,
    CSGDSchedule,
    TabulatedSchedule,
    ScheduledSGD,
)
from .scaling import scaled_batch_size
from .simulate import run, sample_paths, second_moment_growth

__all__ = [
    "AdaptiveSettings",
    "csgd_online_target",
    "cmsgd_online_target",
    "compare_with_plugin",
    "online_estimates",
    "plugin_quadratic",
    "run_quadratic",
    "csgd_rate",
    "csgd_optimal_multiplier",
    "csgd_optimal_path",
    "csgd_switch_time",
    "Algorithm",
    "SGD",
    "MomentumSGD",
    "Nesterov",
    "check_stability",
    "second_moment_growth",
    "TorchMomentumSGD",
    "ScaledMomentumSGD",
    "drive",
    "paper_form",
    "pytorch_form",
    "pytorch_to_positions",
    "Schedule",
    "ConstantSchedule",
    "InverseTimeSchedule",
    "CSGDSchedule",
    "TabulatedSchedule",
    "ScheduledSGD",
    "scaled_batch_size",
    "run",
    "sample_paths",
]
