"""SDE solvers: Euler-Maruyama, weak order 2 and exact steppers, ``solve_sde``,
``sample_sde_paths`` and the coupled SGD-SME estimator.
"""

from .steppers import SCHEMES, INCREMENTS
from .sde_solve import solve_sde, sample_sde_paths
from .coupled import coupled_sgd_sme
from .extrapolation import talay_tubaro
from .kernels import solve_sde_counter

__all__ = ["SCHEMES", "INCREMENTS", "solve_sde", "sample_sde_paths", "coupled_sgd_sme", "talay_tubaro",
           "solve_sde_counter"]
