"""The HNAG flow, full-batch Adam without bias correction, and what Adam-HNAG determines.

HNAG flow (Chen & Luo), for f mu-strongly convex with minimiser x*:

    x' = y - x - beta grad f(x),      y' = x - y - (1/mu) grad f(x).

With E(x, y) = f(x) - f* + (mu/2)``|y - x*|^2``, along the flow (derived in the chapter)

    dE/dt <= -E - beta ``|grad f(x)|^2`` - (mu/2)``|x - y|^2``,

so E(t) <= e^{-t} E(0) and f(x(t)) - f* <= e^{-t} E(0). Eliminating y gives the second-order
form with Hessian-driven damping

    x'' + 2 x' + beta H(x) x' + (beta + 1/mu) grad f(x) = 0.

Full-batch Adam without bias correction (Kingma & Ba 2015, with the bias correction removed):

    m_{k+1} = b1 m_k + (1 - b1) g_k,  v_{k+1} = b2 v_k + (1 - b2) g_k^2,
    x_{k+1} = x_k - lr m_{k+1} / (sqrt(v_{k+1}) + eps).

Adam-HNAG (Yu, Chen & Xu): only the abstract is available; ``ADAM_HNAG`` lists what it
determines and what it leaves undetermined. Nothing undetermined is implemented here.

Mutant of the Lyapunov claim: ``mu`` larger than the strong-convexity constant of f.
"""

from __future__ import annotations

import numpy as np

from .._validation import DivergenceError, positive_float, positive_int
from .modified import initial_point

ADAM_HNAG = {
    "determined": (
        "starting point: full-batch Adam without bias correction",
        "it is rewritten through variable splitting and operator splitting",
        "a curvature-aware gradient correction is added",
        "the result is a continuous 'Adam-HNAG flow'",
        "that flow has an exponentially decaying Lyapunov function",
        "two discretisations are given, convergent for smooth convex f, with accelerated rates",
    ),
    "undetermined": (
        "the split variables and the exact form of the Adam-HNAG flow",
        "where Adam's preconditioner 1/(sqrt(v) + eps) enters the flow, and how v evolves",
        "the form of the curvature-aware gradient correction",
        "the Lyapunov function and its decay rate",
        "the two discretisations, their step sizes and parameter conditions",
        "the constants of the accelerated rates",
    ),
}


class LyapunovIncreaseError(ValueError):
    """The Lyapunov function increased along a run; the message names the step."""


def _params(beta, mu):
    return positive_float(beta, "beta"), positive_float(mu, "mu")


def hnag_field(problem, beta, mu):
    """The HNAG vector field on the state z = (x, y) (shape (2d,)).

    Parameters
    ----------
    problem : object with ``dim`` and ``grad``
    beta, mu : float, > 0

    Returns
    -------
    callable

    Raises
    ------
    ValueError
        Non-positive ``beta`` or ``mu``.

    References
    ----------
    - Chen, L. and Luo, H. (2019). First order optimization methods based on Hessian-driven
       Nesterov accelerated gradient flow. arXiv:1912.09276.

    Examples
    --------
    >>> from smecore.flows.problems import FiniteSumQuadratic
    >>> p = FiniteSumQuadratic([[[1.0]]], [[0.0]])
    >>> hnag_field(p, 0.5, 1.0)(np.array([1.0, 0.0]))
    array([-1.5,  0. ])
    """
    beta, mu = _params(beta, mu)
    d = problem.dim

    def field(z):
        x, y = z[..., :d], z[..., d:]
        g = problem.grad(x)
        return np.concatenate([y - x - beta * g, x - y - g / mu], axis=-1)

    return field


def lyapunov(problem, x, y, mu, x_star, f_star):
    """E = f(x) - f* + (mu/2)``|y - x*|^2`` (for points with leading axes)."""
    diff = np.asarray(y) - x_star
    return problem.value(x) - f_star + 0.5 * mu * np.sum(diff * diff, -1)


def hnag_flow(problem, x0, beta, mu, T, n_steps, *, y0=None, x_star=None, f_star=None,
              check=True, rtol=1e-10):
    """Solve the HNAG flow by classical RK4 and track f - f* and the Lyapunov function.

    Parameters
    ----------
    problem : object with ``dim``, ``value``, ``grad`` (and ``minimizer`` if x_star is None)
    x0 : array_like, shape (d,)
    beta, mu : float, > 0
    T : float, > 0
    n_steps : int, >= 1
        RK4 steps on [0, T].
    y0 : array_like, optional
        Default ``x0``.
    x_star, f_star : optional
        Minimiser and minimum (default: ``problem.minimizer()`` and f there).
    check : bool, default True
        Raise :class:`LyapunovIncreaseError` at the first step where E increases by more than
        ``rtol`` relative to E(0).

    Returns
    -------
    dict
        ``t``, ``x``, ``y``, ``E`` (Lyapunov), ``gap`` (f - f*).

    Raises
    ------
    ValueError
        Non-positive ``beta``, ``mu``, ``T`` or non-finite ``x0`` (naming the argument).
    LyapunovIncreaseError
        If ``check`` and E increases; the message gives the step and time.

    References
    ----------
    - Chen, L. and Luo, H. (2019). First order optimization methods based on Hessian-driven
       Nesterov accelerated gradient flow. arXiv:1912.09276.

    Examples
    --------
    >>> from smecore.flows.problems import FiniteSumQuadratic
    >>> p = FiniteSumQuadratic([[[1.0, 0.0], [0.0, 0.1]]], [[0.0, 0.0]])
    >>> out = hnag_flow(p, [1.0, 1.0], beta=1.0, mu=0.1, T=5.0, n_steps=500)
    >>> bool(np.all(out["E"] * np.exp(out["t"]) <= out["E"][0] * (1 + 1e-9)))
    True
    """
    beta, mu = _params(beta, mu)
    T = positive_float(T, "T")
    n_steps = positive_int(n_steps, "n_steps")
    d = problem.dim
    x0 = initial_point(x0, d, "x0")
    y0 = x0.copy() if y0 is None else initial_point(y0, d, "y0")
    if x_star is None:
        x_star = problem.minimizer()
    if f_star is None:
        f_star = float(problem.value(x_star))
    field = hnag_field(problem, beta, mu)
    h = T / n_steps
    z = np.empty((n_steps + 1, 2 * d))
    z[0] = np.concatenate([x0, y0])
    for k in range(n_steps):
        zk = z[k]
        k1 = field(zk)
        k2 = field(zk + 0.5 * h * k1)
        k3 = field(zk + 0.5 * h * k2)
        k4 = field(zk + h * k3)
        z[k + 1] = zk + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if not np.all(np.isfinite(z[k + 1])):
            raise DivergenceError(f"the HNAG flow solver diverged at step {k + 1}")
    x, y = z[:, :d], z[:, d:]
    E = lyapunov(problem, x, y, mu, x_star, f_star)
    if check:
        lyapunov_check(E, rtol=rtol)
    return dict(t=h * np.arange(n_steps + 1), x=x, y=y, E=E, gap=problem.value(x) - f_star)


def lyapunov_check(E, *, rtol=1e-10):
    """Raise :class:`LyapunovIncreaseError` at the first step k with E_k > E_{k-1} + rtol E_0.

    Examples
    --------
    >>> lyapunov_check(np.array([3.0, 2.0, 1.0]))
    >>> lyapunov_check(np.array([3.0, 2.0, 2.5]))
    Traceback (most recent call last):
    ...
    smecore.flows.hnag.LyapunovIncreaseError: the Lyapunov function increased at step 2: 2 -> 2.5
    """
    E = np.asarray(E, dtype=float)
    up = np.nonzero(np.diff(E) > rtol * abs(E[0]))[0]
    if up.size:
        k = int(up[0]) + 1
        raise LyapunovIncreaseError(
            f"the Lyapunov function increased at step {k}: {E[k - 1]:.6g} -> {E[k]:.6g}")


def exponential_decay_excess(out):
    """max_t E(t) e^t / E(0): at most 1 when E(t) <= e^{-t} E(0).

    Examples
    --------
    >>> exponential_decay_excess({"t": np.array([0.0, 1.0]), "E": np.array([1.0, 0.3])})
    1.0
    """
    return float(np.max(out["E"] * np.exp(out["t"])) / out["E"][0])


def hessian_damping_residual(problem, out, beta, mu):
    """max ``|x'' + 2x' + beta H x' + (beta + 1/mu) grad f|`` along a computed flow, relative.

    x' and x'' are evaluated from the field at the stored states: an algebraic identity.

    Examples
    --------
    >>> from smecore.flows.problems import FiniteSumQuadratic
    >>> p = FiniteSumQuadratic([[[1.0, 0.2], [0.2, 0.3]]], [[0.0, 0.0]])
    >>> out = hnag_flow(p, [1.0, 1.0], beta=1.0, mu=0.2, T=1.0, n_steps=10)
    >>> hessian_damping_residual(p, out, 1.0, 0.2) < 1e-14
    True
    """
    beta, mu = _params(beta, mu)
    x, y = out["x"], out["y"]
    g = problem.grad(x)
    xd = y - x - beta * g
    yd = x - y - g / mu
    Hxd = np.einsum("kij,kj->ki", problem.hessian(x), xd)
    xdd = yd - xd - beta * Hxd
    res = xdd + 2 * xd + beta * Hxd + (beta + 1 / mu) * g
    scale = np.max(np.abs(np.concatenate([xdd, 2 * xd, beta * Hxd, (beta + 1 / mu) * g])))
    return float(np.max(np.abs(res)) / scale)


def adam_full_batch(problem, x0, lr, n_steps, *, beta1=0.9, beta2=0.999, eps=1e-8):
    """Full-batch Adam without bias correction; returns the iterates, shape (n_steps + 1, d).

    Parameters
    ----------
    problem : object with ``dim`` and ``grad``
    x0 : array_like, shape (d,)
    lr : float, > 0
    n_steps : int, >= 1
    beta1, beta2 : float in [0, 1)
    eps : float, >= 0

    Raises
    ------
    ValueError
        Non-positive ``lr``, betas outside [0, 1), non-finite ``x0``.
    smecore.DivergenceError
        If the iterates become non-finite.

    References
    ----------
    - Kingma, D. P. and Ba, J. (2015). Adam: a method for stochastic optimization. ICLR.

    Examples
    --------
    >>> from smecore.flows.problems import FiniteSumQuadratic
    >>> p = FiniteSumQuadratic([[[1.0]]], [[0.0]])
    >>> xs = adam_full_batch(p, [1.0], 0.01, 1)
    >>> float(xs[1, 0].round(6))  # 1 - 0.01 * 0.1 / sqrt(0.001)
    0.968377
    """
    lr = positive_float(lr, "lr")
    n_steps = positive_int(n_steps, "n_steps")
    beta1 = positive_float(beta1, "beta1", allow_zero=True)
    beta2 = positive_float(beta2, "beta2", allow_zero=True)
    eps = positive_float(eps, "eps", allow_zero=True)
    if beta1 >= 1 or beta2 >= 1:
        raise ValueError(f"beta1 and beta2 must be < 1, got {beta1}, {beta2}")
    x = initial_point(x0, problem.dim)
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    out = np.empty((n_steps + 1, problem.dim))
    out[0] = x
    for k in range(n_steps):
        g = problem.grad(x)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        x = x - lr * m / (np.sqrt(v) + eps)
        if not np.all(np.isfinite(x)):
            raise DivergenceError(f"Adam diverged at step {k + 1}")
        out[k + 1] = x
    return out


def hnag_semi_implicit(problem, x0, n_steps, *, alpha, beta, mu, y0=None):
    """A semi-implicit (implicit-explicit) Euler discretisation of the HNAG flow.

    Chen & Luo's abstract reports linear convergence for semi-implicit schemes; whether this one
    is theirs, and under which parameters it converges, is not taken from any source here.

    x_{k+1} = (x_k + alpha y_k - alpha beta g(x_k)) / (1 + alpha),
    y_{k+1} = (y_k + alpha x_{k+1} - (alpha/mu) g(x_{k+1})) / (1 + alpha).

    One new gradient per step (g(x_{k+1}) is reused in the next step).

    Returns
    -------
    tuple (x, y)
        Arrays of shape (n_steps + 1, d).

    Examples
    --------
    >>> from smecore.flows.problems import FiniteSumQuadratic
    >>> p = FiniteSumQuadratic([[[1.0]]], [[0.0]])
    >>> x, y = hnag_semi_implicit(p, [1.0], 50, alpha=0.5, beta=1.0, mu=1.0)
    >>> bool(abs(x[-1, 0]) < 1e-6)
    True
    """
    alpha = positive_float(alpha, "alpha")
    beta, mu = _params(beta, mu)
    n_steps = positive_int(n_steps, "n_steps")
    x = initial_point(x0, problem.dim, "x0")
    y = x.copy() if y0 is None else initial_point(y0, problem.dim, "y0")
    xs, ys = [x], [y]
    g = problem.grad(x)
    for k in range(n_steps):
        x = (x + alpha * y - alpha * beta * g) / (1 + alpha)
        g = problem.grad(x)
        y = (y + alpha * x - alpha / mu * g) / (1 + alpha)
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise DivergenceError(f"the HNAG scheme diverged at step {k + 1}")
        xs.append(x)
        ys.append(y)
    return np.array(xs), np.array(ys)
