"""Gradient descent and its modified flow: f + (eta/4)``|grad f|^2`` (implicit gradient regularisation).

Backward error analysis of gradient descent x_{k+1} = x_k - eta grad f(x_k) gives the modified
flow

    dx/dt = -grad( f + (eta/4) ``|grad f|^2`` ) = -( grad f + (eta/2) H grad f ),

which GD follows to O(eta^2) on a fixed horizon, against O(eta) for the plain gradient flow
dx/dt = -grad f (Barrett & Dherin 2021; the deterministic part of the order-2 SME of
Li, Tai & E 2019). This module computes both flows accurately and the trajectory errors
max_k ``|x_k - X(k eta)|``, and fits their orders.

``flow="plain"`` is the *mutant* of the claim "GD follows the modified flow to O(eta^2)":
it must fail the order-2 band.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from .. import mutants
from .._validation import (
    DivergenceError,
    finite_array,
    one_of,
    positive_float,
    positive_int,
)

FLOWS = ("modified", "plain")


def initial_point(x0, dim, name="x0"):
    """``x0`` as a finite vector of length ``dim``, or a ValueError naming ``name``."""
    x0 = np.asarray(x0, dtype=float)
    if x0.shape != (dim,):
        raise ValueError(f"{name} must have shape ({dim},), got {x0.shape}")
    if not np.all(np.isfinite(x0)):
        raise ValueError(f"{name} must be finite, got {x0}")
    return x0.copy()


def gradient_descent(problem, x0, lr, n_steps):
    """Full-batch gradient descent x_{k+1} = x_k - lr grad f(x_k).

    Parameters
    ----------
    problem : object with ``dim`` and ``grad``
    x0 : array_like, shape (d,)
    lr : float, > 0
    n_steps : int, >= 0

    Returns
    -------
    ndarray, shape (n_steps + 1, d)

    Raises
    ------
    ValueError
        On a non-positive ``lr`` or a non-finite ``x0``.
    smecore.DivergenceError
        If the iterates leave ``|x|`` <= 1e100, naming the step.

    Examples
    --------
    >>> from smecore.flows.problems import FiniteSumQuadratic
    >>> p = FiniteSumQuadratic([[[1.0]]], [[0.0]])
    >>> gradient_descent(p, [1.0], 0.5, 2)[:, 0]
    array([1.  , 0.5 , 0.25])
    """
    lr = positive_float(lr, "lr")
    n_steps = positive_int(n_steps, "n_steps", allow_zero=True)
    x = initial_point(x0, problem.dim)
    out = np.empty((n_steps + 1, problem.dim))
    out[0] = x
    for k in range(n_steps):
        x = x - lr * problem.grad(x)
        if not np.all(np.isfinite(x)) or np.max(np.abs(x)) > 1e100:
            raise DivergenceError(f"gradient descent diverged at step {k + 1} (lr = {lr:g})")
        out[k + 1] = x
    return out


def modified_field(problem, lr, flow="modified"):
    """The vector field of the modified (or plain) gradient flow.

    ``"modified"``: -(grad f + (lr/2) H grad f) = -grad(f + (lr/4)``|grad f|^2).``
    ``"plain"``: -grad f (the mutant).

    Parameters
    ----------
    problem : object with ``grad`` and ``hessian``
    lr : float, > 0
    flow : {"modified", "plain"}

    Returns
    -------
    callable
        x (shape (..., d)) -> field value, same shape.

    Raises
    ------
    ValueError
        Non-positive ``lr`` or unknown ``flow``.

    References
    ----------
    - Barrett, D. G. T. and Dherin, B. (2021). Implicit gradient regularization. ICLR.

    Examples
    --------
    >>> from smecore.flows.problems import FiniteSumQuadratic
    >>> p = FiniteSumQuadratic([[[2.0]]], [[0.0]])
    >>> modified_field(p, 0.1)(np.array([1.0]))
    array([-2.2])
    """
    flow = mutants.overrides("modified_field").get("flow", flow)
    lr = positive_float(lr, "lr")
    one_of(flow, "flow", FLOWS)
    if flow == "plain":
        return lambda x: -problem.grad(x)

    def field(x):
        g = problem.grad(x)
        return -(g + 0.5 * lr * np.einsum("...ij,...j->...i", problem.hessian(x), g))

    return field


def solve_flow(field, x0, times, *, rtol=1e-12, atol=1e-14):
    """Solve dx/dt = field(x) (DOP853) and return x at ``times`` (shape (len(times), d)).

    Parameters
    ----------
    field : callable
        x (shape (d,)) -> dx/dt.
    x0 : array_like, shape (d,)
    times : array_like, shape (m,)
        Increasing output times; the first is the initial time.
    rtol, atol : float
        Tolerances of the adaptive solver.

    Returns
    -------
    ndarray, shape (m, d)

    Raises
    ------
    smecore.DivergenceError
        If the solver fails.

    Examples
    --------
    >>> float(solve_flow(lambda x: -x, [1.0], [0.0, 1.0])[-1, 0].round(10))
    0.3678794412
    """
    x0 = finite_array(x0, "x0", ndim=1)
    times = finite_array(times, "times", ndim=1)
    sol = solve_ivp(lambda t, x: field(x), (times[0], times[-1]), x0, method="DOP853",
                    t_eval=times, rtol=rtol, atol=atol)
    if not sol.success:
        raise DivergenceError(f"the flow solver failed: {sol.message}")
    return sol.y.T


def trajectory_error(problem, lr, x0, T, *, flow="modified"):
    """max_k ``|x_k - X(k lr)|`` over k lr <= T, GD against the modified or plain flow.

    Parameters
    ----------
    problem : object with ``dim``, ``grad``, ``hessian``
    lr : float, > 0
    x0 : array_like, shape (d,)
    T : float, > 0
        Horizon; the number of steps is round(T / lr).
    flow : {"modified", "plain"}
        ``"plain"`` is the mutant (gradient flow without the correction).

    Returns
    -------
    float

    References
    ----------
    - Barrett, D. G. T. and Dherin, B. (2021). Implicit gradient regularization. ICLR.

    Examples
    --------
    >>> from smecore.flows.problems import FiniteSumQuadratic
    >>> p = FiniteSumQuadratic([[[1.0]]], [[0.0]])
    >>> e1 = trajectory_error(p, 0.1, [1.0], 1.0, flow="plain")
    >>> e2 = trajectory_error(p, 0.1, [1.0], 1.0)
    >>> bool(e2 < e1 / 5)
    True
    """
    T = positive_float(T, "T")
    lr = positive_float(lr, "lr")
    n = max(1, int(round(T / lr)))
    gd = gradient_descent(problem, x0, lr, n)
    X = solve_flow(modified_field(problem, lr, flow), gd[0], lr * np.arange(n + 1))
    return float(np.max(np.linalg.norm(gd - X, axis=-1)))


def trajectory_orders(problem, lrs, x0, T):
    """Trajectory errors of GD against both flows, for several learning rates, and their orders.

    Returns
    -------
    dict
        ``lrs``, ``modified`` and ``plain`` (error arrays), ``fit_modified`` and ``fit_plain``
        (:class:`~smecore.estimation.OrderFit`).

    Parameters
    ----------
    problem : object with ``dim``, ``grad``, ``hessian``
    lrs : array_like, shape (n,)
        Learning rates, > 0, at least 2.
    x0 : array_like, shape (d,)
    T : float, > 0

    References
    ----------
    - Barrett, D. G. T. and Dherin, B. (2021). Implicit gradient regularization. ICLR.

    Examples
    --------
    >>> from smecore.flows.balance import BalanceModel
    >>> out = trajectory_orders(BalanceModel(1.0), [0.04, 0.02, 0.01], [1.5, 0.2], 2.0)
    >>> round(out["fit_modified"].order), round(out["fit_plain"].order)
    (2, 1)
    """
    from ..estimation import fit_order

    lrs = finite_array(lrs, "lrs", ndim=1)
    for lr in lrs:
        positive_float(float(lr), "lrs")
    mod = np.array([trajectory_error(problem, lr, x0, T, flow="modified") for lr in lrs])
    plain = np.array([trajectory_error(problem, lr, x0, T, flow="plain") for lr in lrs])
    return dict(lrs=lrs, modified=mod, plain=plain, fit_modified=fit_order(lrs, mod),
                fit_plain=fit_order(lrs, plain))


mutants.register(mutants.Mutant(
    "IR1", "plain-flow", "modified_field", {"flow": "plain"},
    "the plain gradient flow -grad f in place of the modified flow of f + (eta/4)|grad f|^2"))
