"""SMEs on neural networks: real data, simulated SMEs (SVAG), noise and the scaling rule.

Importing this subpackage switches JAX to double precision
(``jax.config.update("jax_enable_x64", True)``): parameters are flat float64
vectors, as everywhere else in smecore. The switch is global to the JAX
runtime of the process; the rest of smecore does not use JAX, so nothing else
changes. Import it before creating JAX arrays elsewhere in the same process.

Modules
-------
data
    :func:`load_digits_split` (scikit-learn's digits, fixed split, standardised).
mlp
    :class:`MLP` (smooth multilayer perceptron on a flat parameter vector) and
    :class:`DigitsObjective` (cross-entropy, per-sample gradients, Hessian-vector
    and Sigma products, mini-batch gradients, exact-in-law noise samples).
teacher
    :class:`TeacherStudent` (regression with Gaussian label noise: the gradient
    noise is exactly Gaussian with covariance (sigma/n)^2 J^T J).
simulate
    :func:`simulate` (SGD, GD, heavy-ball momentum, Nesterov, SVAG) vectorised over
    runs with ``jax.vmap`` and ``jax.jit``; :class:`Trajectories`.
svag
    :func:`svag_coefficients`, :func:`simulate_svag` (Li, Malladi & Arora 2021).
sme
    :func:`simulate_sme` (order-1 and order-2 SME by Euler-Maruyama; the
    ``noise=False`` mutant is the gradient flow).
weak
    :func:`coupled_weak_error`, :func:`weak_order_study` (SGD and its SME on one Brownian
    path: the weak error and its order in lr).
diagnostics
    :func:`top_hessian_eigenvalue`, :func:`noise_to_signal`.
plotting
    Band plots for the chapter.
"""

import jax as _jax

_jax.config.update("jax_enable_x64", True)

from .data import DataError, DigitsData, load_digits_split  # noqa: E402
from .mlp import MLP, DigitsObjective  # noqa: E402
from .teacher import TeacherStudent  # noqa: E402
from .simulate import Trajectories, jax_key, simulate  # noqa: E402
from .diagnostics import noise_to_signal, top_hessian_eigenvalue  # noqa: E402
from .svag import simulate_svag, svag_coefficients  # noqa: E402
from .sme import simulate_sme  # noqa: E402
from .weak import CoupledRuns, WeakOrderStudy, coupled_weak_error, weak_order_study  # noqa: E402

__all__ = [
    "DataError", "DigitsData", "load_digits_split", "MLP", "DigitsObjective", "TeacherStudent",
    "Trajectories", "jax_key", "noise_to_signal", "simulate", "simulate_svag",
    "svag_coefficients", "simulate_sme", "top_hessian_eigenvalue",
]
__all__ += ["CoupledRuns", "WeakOrderStudy", "coupled_weak_error", "weak_order_study"]

# cSGD / cMSGD and their baselines on a network (book/control.ipynb).
from .control import CONTROL_METHODS, ControlRuns, spread_ratio, train_controlled  # noqa: E402

__all__ += ["CONTROL_METHODS", "ControlRuns", "spread_ratio", "train_controlled"]
