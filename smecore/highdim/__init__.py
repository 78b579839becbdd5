"""High-dimensional limits of streaming SGD: where the SME went next.

The SME of Li, Tai & E (2019) takes the learning rate eta -> 0 at fixed dimension.
The limits here take the dimension N -> infinity with eta = c / N and follow summary
statistics in the time t = k / N.

``smecore.highdim.streaming``
    :func:`streaming_sgd`: M independent runs of the real streaming SGD in R^N (online
    least squares, a teacher-student neuron, l2-adversarial least squares), compiled
    and parallel over runs.
``smecore.highdim.limits``
    The limit ODE with its diffusive corrector, the OU fluctuations near the fixed
    point, the neuron's summary-statistic ODEs; mutants without the corrector.
``smecore.highdim.homogenized``
    Exact SGD risk, homogenized SGD and the Volterra equation of its risk.
``smecore.highdim.adversarial``
    The adversarial loss, its expected gradient (adaptive rate + adaptive ridge), ODEs.
"""

from . import adversarial, homogenized, limits, streaming
from .adversarial import (adversarial_coefficients, adversarial_fixed_point, adversarial_loss,
                          adversarial_ode, adversarial_risk, effective_ridge, worst_perturbation,
                          adversarial_gradient, expected_adversarial_gradient, fit_ridge,
                          rate_and_ridge)
from .homogenized import (hsgd_fixed_point, hsgd_paths, hsgd_risk_ode, sgd_risk, volterra_limit,
                          volterra_risk)
from .limits import (OUEstimate, OUPrediction, lsq_ode, lsq_ou, neuron_expectations, neuron_ode,
                     ou_estimates)
from .streaming import StreamingRuns, critical_multiplier, data_covariance, streaming_sgd

__all__ = [
    "adversarial", "homogenized", "limits", "streaming",
    "streaming_sgd", "StreamingRuns", "critical_multiplier", "data_covariance",
    "lsq_ode", "lsq_ou", "OUPrediction", "ou_estimates", "OUEstimate", "neuron_expectations",
    "neuron_ode",
    "sgd_risk", "hsgd_risk_ode", "volterra_risk", "volterra_limit", "hsgd_paths",
    "hsgd_fixed_point",
    "adversarial_loss", "worst_perturbation", "adversarial_coefficients", "adversarial_ode",
    "adversarial_fixed_point", "adversarial_risk", "effective_ridge", "adversarial_gradient",
    "expected_adversarial_gradient", "rate_and_ridge", "fit_ridge",
]
