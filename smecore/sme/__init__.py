"""Stochastic modified equations: the Itô SDE objects, the SMEs of SGD (orders 1
and 2), momentum and Nesterov, scheduled SMEs, and the asymptotic expansion.
"""

from .sde import LinearStructure, SDE, FunctionSDE, DiagonalNoiseSDE
from .equations import (
    SGDSME,
    MomentumSME,
    NesterovSME,
    OnPosition,
    sgd_sme,
    momentum_sme,
    nesterov_sme,
    sme_initial_state,
    momentum_state_map,
    momentum_state_unmap,
)
from .scheduled import scheduled_sme
from .expansion import Expansion, asymptotic_expansion, gradient_flow
from .matched import MatchedSME, moment_matched_sme
from .polynomial import PolynomialDiagonalSDE

__all__ = [
    "LinearStructure",
    "SDE",
    "FunctionSDE",
    "DiagonalNoiseSDE",
    "SGDSME",
    "MomentumSME",
    "NesterovSME",
    "OnPosition",
    "sgd_sme",
    "momentum_sme",
    "nesterov_sme",
    "sme_initial_state",
    "momentum_state_map",
    "momentum_state_unmap",
    "scheduled_sme",
    "Expansion",
    "asymptotic_expansion",
    "gradient_flow",
    "MatchedSME",
    "moment_matched_sme",
    "PolynomialDiagonalSDE",
]
