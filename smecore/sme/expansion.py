"""Small-noise asymptotics of the SME of SGD (Li, Tai & E, ICML 2017).

For small learning rate eta the order-1 SME dX = -grad f(X) dt + sqrt(eta) Sigma(X)^{1/2} dW
has the expansion

    X_t = X0_t + sqrt(eta) X1_t + O(eta),

where X0 is the gradient flow dX0/dt = -grad f(X0) and X1 is the time-inhomogeneous
Ornstein-Uhlenbeck process dX1 = -Hess f(X0_t) X1 dt + Sigma(X0_t)^{1/2} dW, X1_0 = 0.
X1 is Gaussian with mean 0; its covariance P_t solves the Lyapunov ODE

    dP/dt = -H P - P H + Sigma(X0_t),   H = Hess f(X0_t),   P_0 = 0,

so E X_t = X0_t + O(eta) and Cov X_t = eta P_t + O(eta^2).
:func:`asymptotic_expansion` integrates X0 and P together; :func:`gradient_flow`
integrates X0 alone. The dynamics chapter checks both.

``asymptotic_expansion(..., first_order=False)`` drops the first-order term
(X_t ~ X0_t, P = 0): a wrong expansion that the claims about the variance must
reject, registered as the mutant ``A1:no-first-order`` (see :mod:`smecore.mutants`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.integrate
import scipy.linalg
import scipy.optimize

from .. import mutants
from .._validation import DivergenceError, finite_array, positive_float, state_vector
from ..problems.base import StochasticObjective

__all__ = ["Expansion", "asymptotic_expansion", "gradient_flow"]


def _check_problem(problem):
    if not isinstance(problem, StochasticObjective):
        raise TypeError(f"problem must be a smecore StochasticObjective, got {type(problem).__name__}")
    return problem


def _check_times(times):
    times = finite_array(times, "times")
    if times.ndim == 0:
        times = times.reshape(1)
    if times.ndim != 1 or times.size == 0:
        raise ValueError(f"times must be a non-empty 1-d array, got shape {times.shape}")
    if times[0] < 0 or np.any(np.diff(times) < 0):
        raise ValueError("times must be non-negative and non-decreasing")
    return times


@dataclass(frozen=True)
class Expansion:
    """The expansion X_t ~ X0_t + sqrt(eta) X1_t at recorded times.

    Attributes
    ----------
    times : ndarray, shape (n_rec,)
    center : ndarray, shape (n_rec, d)
        X0_t, the gradient flow from x0.
    cov1 : ndarray, shape (n_rec, d, d)
        P_t = Cov X1_t (does not depend on eta).
    hessian : ndarray, shape (n_rec, d, d)
        Hess f(X0_t), the (time-dependent) restoring matrix of X1.
    noise : ndarray, shape (n_rec, d, d)
        Sigma(X0_t) / B, the noise covariance of X1.
    """

    times: np.ndarray
    center: np.ndarray
    cov1: np.ndarray
    hessian: np.ndarray
    noise: np.ndarray

    def mean(self) -> np.ndarray:
        """E X_t = X0_t + O(eta), shape (n_rec, d)."""
        return self.center

    def cov(self, lr) -> np.ndarray:
        """Cov X_t = eta P_t + O(eta^2), shape (n_rec, d, d)."""
        return positive_float(lr, "lr") * self.cov1

    def variance(self, lr) -> np.ndarray:
        """Var X_t per coordinate, eta diag(P_t), shape (n_rec, d)."""
        return np.diagonal(self.cov(lr), axis1=1, axis2=2).copy()

    def second_moment(self, lr) -> np.ndarray:
        """E X_t X_t^T ~ X0 X0^T + eta P_t, shape (n_rec, d, d)."""
        c = self.center
        return c[:, :, None] * c[:, None, :] + self.cov(lr)

    def fluctuation(self, lr) -> np.ndarray:
        """(eta / 2) Tr(Hess f(X0_t) P_t): the fluctuation part of E f(X_t), shape (n_rec,)."""
        return 0.5 * positive_float(lr, "lr") * np.einsum("nij,nji->n", self.hessian, self.cov1)


def _lyapunov_rhs(problem, d):
    def rhs(t, y):
        x = y[:d]
        P = y[d:].reshape(d, d)
        H = problem.hessian(x)
        S = problem.noise_cov(x)
        dP = -H @ P - P @ H.T + S
        return np.concatenate([-problem.grad(x), dP.ravel()])

    return rhs


def asymptotic_expansion(problem, x0, times, *, first_order=True, rtol=1e-11, atol=1e-13) -> Expansion:
    """Gradient flow X0 and the covariance of the OU correction X1, by ODE integration.

    Solves, from X0_0 = x0 and P_0 = 0,

    .. math::

        \\dot X^0 = -\\nabla f(X^0), \\qquad
        \\dot P = -\\nabla^2 f(X^0) P - P \\nabla^2 f(X^0) + \\Sigma(X^0)/B,

    with DOP853. ``P`` is the covariance of X1 in
    dX1 = -Hess f(X0) X1 dt + (Sigma(X0)/B)^{1/2} dW (the mini-batch size B of
    ``problem`` is included through ``problem.noise_cov``).

    Parameters
    ----------
    problem : StochasticObjective
        Needs ``grad``, ``hessian`` and ``noise_cov``.
    x0 : array_like, shape (d,)
    times : array_like, shape (n_rec,)
        Non-negative, non-decreasing output times.
    first_order : bool
        Keep the first-order term sqrt(eta) X1 (default). ``False`` gives the
        truncated expansion X_t ~ X0_t with P = 0, a wrong alternative kept to
        test that the variance claims reject it.
    rtol, atol : float
        Tolerances of the integrator.

    Returns
    -------
    Expansion

    Raises
    ------
    TypeError
        If ``problem`` is not a StochasticObjective or ``first_order`` not a bool.
    smecore.DivergenceError
        If the integration fails.

    References
    ----------
    Li, Tai & E (ICML 2017), the asymptotic expansion of the SME.

    Examples
    --------
    On the Gaussian quadratic the expansion is exact for the SME:
    P_t = lam (1 - exp(-2 lam t)) / 2.

    >>> import numpy as np
    >>> from smecore.problems import GaussianQuadratic
    >>> e = asymptotic_expansion(GaussianQuadratic([2.0]), [1.0], [0.0, 1.0])
    >>> round(float(e.center[1, 0]), 10), round(float(np.exp(-2.0)), 10)
    (0.1353352832, 0.1353352832)
    >>> round(float(e.cov1[1, 0, 0]), 10), round(float(1 - np.exp(-4.0)), 10)
    (0.9816843611, 0.9816843611)
    """
    first_order = mutants.overrides("asymptotic_expansion").get("first_order", first_order)
    if not isinstance(first_order, (bool, np.bool_)):
        raise TypeError(f"first_order must be a bool, got {type(first_order).__name__}")
    problem = _check_problem(problem)
    d = problem.dim
    x0 = state_vector(x0, d)
    times = _check_times(times)
    rtol = positive_float(rtol, "rtol")
    atol = positive_float(atol, "atol")
    y0 = np.concatenate([x0, np.zeros(d * d)])
    out = np.empty((times.size, y0.size))
    later = times > 0
    out[~later] = y0
    if np.any(later):
        unique, index = np.unique(times[later], return_inverse=True)
        sol = scipy.integrate.solve_ivp(_lyapunov_rhs(problem, d), (0.0, unique[-1]), y0,
                                        method="DOP853", t_eval=unique, rtol=rtol, atol=atol)
        if not sol.success:
            raise DivergenceError(f"asymptotic_expansion: the ODE solver failed: {sol.message}")
        out[later] = sol.y.T[index]
    center = out[:, :d]
    P = out[:, d:].reshape(-1, d, d)
    P = 0.5 * (P + np.swapaxes(P, 1, 2))
    if not first_order:
        P = np.zeros_like(P)
    return Expansion(times, center, P, np.asarray(problem.hessian(center)),
                     np.asarray(problem.noise_cov(center)))


def gradient_flow(problem, x0, times, *, rtol=1e-11, atol=1e-13) -> np.ndarray:
    """X0_t solving dX0/dt = -grad f(X0), X0_0 = x0, shape (n_rec, d).

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> gradient_flow(GaussianQuadratic([1.0]), [1.0], [0.0, 1.0]).ravel().round(8)
    array([1.        , 0.36787944])
    """
    return asymptotic_expansion(problem, x0, times, rtol=rtol, atol=atol).center


# The wrong expansion that the A1 variance claims must reject (see smecore.mutants).
mutants.register(mutants.Mutant(
    "A1", "no-first-order", "asymptotic_expansion", {"first_order": False},
    "the expansion without its first-order term: X_t ~ X0_t, no sqrt(eta) X1 (covariance 0)"))
