"""Random reshuffling: the mean iterate and its modified loss.

SGD with random reshuffling (RR) takes, in each epoch, one step on every component of
f = (1/n) sum_a f_a in a uniformly random order sigma:

    x_{i+1} = x_i - eta grad f_{sigma(i)}(x_i),  i = 0..n-1.

Expanding one epoch to second order in eta and averaging over the n! orders gives (derived
in the chapter *Implicit regularisation, exactly*)

    E x_n = x_0 - n eta g + (eta^2 / 2) (n^2 H g - sum_a H_a g_a) + O(eta^3),

(g, H the gradient and Hessian of f, g_a, H_a those of f_a), which is the flow of the modified
loss, over a time n eta,

    f_RR = f + (eta / (4 n)) sum_a ``|grad f_a|^2``,   dx/dt = -(g + (eta/(2n)) sum_a H_a g_a),

the form of Smith, Dherin, Barrett & De (2021) for batch size 1 (n minibatches per epoch).
Sampling *with replacement* gives instead E x_n = x_0 - n eta g + eta^2 n(n-1)/2 H g + O(eta^3),
the flow of f + (eta/4)``|grad f|^2`` (the GD modified loss), and in addition a noise-driven
drift over many epochs.

Flows here: ``"rr"`` (f_RR), ``"gd"`` (f + (eta/4)``|grad f|^2``; the mutant of the RR claim),
``"plain"`` (f).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .. import mutants
from .._validation import finite_array, one_of, positive_float, positive_int
from .modified import initial_point, modified_field, solve_flow

FLOWS = ("rr", "gd", "plain")
MAX_ENUMERATE = 8


def rr_field(problem, lr):
    """The field -(g + (lr/(2n)) sum_a H_a g_a) = -grad f_RR, for single points (d,).

    Parameters
    ----------
    problem : finite sum with ``component_grad``, ``component_hessian``, ``grad``
    lr : float, > 0

    Returns
    -------
    callable
        x (shape (d,)) -> -grad f_RR(x).

    References
    ----------
    - Smith, S. L., Dherin, B., Barrett, D. G. T. and De, S. (2021). On the origin of implicit
       regularization in stochastic gradient descent. ICLR.

    Examples
    --------
    >>> from smecore.flows.problems import FiniteSumQuadratic
    >>> p = FiniteSumQuadratic([[[1.0]], [[3.0]]], [[1.0], [-1.0]])
    >>> rr_field(p, 0.1)(np.array([0.0]))  # -(1 + 0.025 * (1*(-1) + 3*3))
    array([-1.2])
    """
    lr = positive_float(lr, "lr")
    n = problem.n_components
    idx = np.arange(n)

    def field(x):
        xs = np.broadcast_to(x, (n, problem.dim))
        ga = problem.component_grad(xs, idx)
        Ha = problem.component_hessian(xs, idx)
        return -(problem.grad(x) + 0.5 * lr * np.einsum("aij,aj->i", Ha, ga) / n)

    return field


def flow_field(problem, lr, flow):
    """Field of the ``"rr"``, ``"gd"`` or ``"plain"`` flow (see the module docstring)."""
    flow = mutants.overrides("flow_field").get("flow", flow)
    one_of(flow, "flow", FLOWS)
    if flow == "rr":
        return rr_field(problem, lr)
    return modified_field(problem, lr, "modified" if flow == "gd" else "plain")


def _orders(n, replacement):
    if n > (6 if replacement else MAX_ENUMERATE):
        raise ValueError(f"exact enumeration needs n <= {6 if replacement else MAX_ENUMERATE} "
                         f"components, got {n}; use the Monte Carlo functions")
    if replacement:
        return np.array(list(itertools.product(range(n), repeat=n)))
    return np.array(list(itertools.permutations(range(n))))


def epoch_mean_exact(problem, x0, lr, *, replacement=False):
    """E x_n after one epoch from x0, exactly, by enumerating all orders.

    Without replacement: the n! permutations; with replacement: the n^n index sequences.

    Parameters
    ----------
    problem : finite sum with ``component_grad``
    x0 : array_like, shape (d,)
    lr : float, > 0
    replacement : bool, default False

    Returns
    -------
    ndarray, shape (d,)

    Raises
    ------
    ValueError
        If n is too large to enumerate (n > 8 without, n > 6 with replacement).

    References
    ----------
    - Smith, S. L., Dherin, B., Barrett, D. G. T. and De, S. (2021). On the origin of implicit
       regularization in stochastic gradient descent. ICLR.

    Examples
    --------
    >>> from smecore.flows.problems import FiniteSumQuadratic
    >>> p = FiniteSumQuadratic([[[1.0]], [[3.0]]], [[1.0], [-1.0]])
    >>> epoch_mean_exact(p, [0.0], 0.1)  # orders (0,1) and (1,0)
    array([-0.2])
    """
    lr = positive_float(lr, "lr")
    x0 = initial_point(x0, problem.dim)
    orders = _orders(problem.n_components, replacement)
    X = np.tile(x0, (len(orders), 1))
    for i in range(problem.n_components):
        X = X - lr * problem.component_grad(X, orders[:, i])
    return X.mean(axis=0)


def rr_mean_quadratic(problem, x0, lr, n_epochs):
    """Exact E x at every epoch end for RR on a :class:`FiniteSumQuadratic`.

    Each epoch is an affine map x -> M_sigma x + b_sigma with sigma independent of x, so
    E x_{e+1} = E[M] E x_e + E[b]; E[M], E[b] are averages over the n! permutations.

    Returns
    -------
    ndarray, shape (n_epochs + 1, d)

    Examples
    --------
    >>> from smecore.flows.problems import FiniteSumQuadratic
    >>> p = FiniteSumQuadratic([[[1.0]], [[3.0]]], [[1.0], [-1.0]])
    >>> rr_mean_quadratic(p, [0.0], 0.1, 1)[1]
    array([-0.2])
    """
    lr = positive_float(lr, "lr")
    n_epochs = positive_int(n_epochs, "n_epochs", allow_zero=True)
    x0 = initial_point(x0, problem.dim)
    orders = _orders(problem.n_components, False)
    d = problem.dim
    M = np.tile(np.eye(d), (len(orders), 1, 1))
    b = np.zeros((len(orders), d))
    for i in range(problem.n_components):
        A, c = problem.As[orders[:, i]], problem.cs[orders[:, i]]
        step = np.eye(d) - lr * A
        M = step @ M
        b = np.einsum("pij,pj->pi", step, b) + lr * np.einsum("pij,pj->pi", A, c)
    EM, Eb = M.mean(axis=0), b.mean(axis=0)
    out = np.empty((n_epochs + 1, d))
    out[0] = x0
    for e in range(n_epochs):
        out[e + 1] = EM @ out[e] + Eb
    return out


def sgd_monte_carlo(problem, x0, lr, n_epochs, n_runs, rng=None, *, replacement=False):
    """Monte Carlo mean and standard error of x at every epoch end, RR or with replacement.

    Runs are vectorised; one epoch is n steps of batch size 1.

    Returns
    -------
    tuple (mean, stderr)
        Arrays of shape (n_epochs + 1, d).

    Examples
    --------
    >>> from smecore.flows.problems import FiniteSumQuadratic
    >>> p = FiniteSumQuadratic([[[1.0]], [[3.0]]], [[1.0], [-1.0]])
    >>> m, s = sgd_monte_carlo(p, [0.0], 0.1, 1, 1000, rng=0)
    >>> m[1].round(12)
    array([-0.2])
    """
    lr = positive_float(lr, "lr")
    n_epochs = positive_int(n_epochs, "n_epochs", allow_zero=True)
    n_runs = positive_int(n_runs, "n_runs")
    if n_runs < 2:
        raise ValueError(f"n_runs must be >= 2 for a standard error, got {n_runs}")
    x0 = initial_point(x0, problem.dim)
    rng = np.random.default_rng(rng)
    n = problem.n_components
    X = np.tile(x0, (n_runs, 1))
    mean = np.empty((n_epochs + 1, problem.dim))
    se = np.zeros_like(mean)
    mean[0] = x0
    base = np.tile(np.arange(n), (n_runs, 1))
    for e in range(n_epochs):
        orders = rng.integers(0, n, (n_runs, n)) if replacement else rng.permuted(base, axis=1)
        for i in range(n):
            X = X - lr * problem.component_grad(X, orders[:, i])
        if not np.all(np.isfinite(X)):
            raise ValueError(f"SGD diverged in epoch {e + 1} (lr = {lr:g})")
        mean[e + 1] = X.mean(axis=0)
        se[e + 1] = X.std(axis=0, ddof=1) / math.sqrt(n_runs)
    return mean, se


def flow_at_epochs(problem, x0, lr, n_epochs, flow):
    """The ``flow`` (``"rr"``, ``"gd"``, ``"plain"``) at epoch ends t = e n lr."""
    lr = positive_float(lr, "lr")
    x0 = initial_point(x0, problem.dim)
    times = lr * problem.n_components * np.arange(n_epochs + 1)
    return solve_flow(flow_field(problem, lr, flow), x0, times)


def local_epoch_errors(problem, x0, lrs, *, replacement=False):
    """``|E x_n - X(n lr)|`` after one epoch, exact, for each flow and learning rate.

    Returns
    -------
    dict
        flow name -> array of errors over ``lrs``.

    References
    ----------
    - Smith, S. L., Dherin, B., Barrett, D. G. T. and De, S. (2021). On the origin of implicit
       regularization in stochastic gradient descent. ICLR.

    Examples
    --------
    >>> from smecore.flows.problems import make_logistic
    >>> p = make_logistic(4, 2, reg=0.1, rng=0)
    >>> e = local_epoch_errors(p, [1.0, -1.0], [0.1, 0.05])
    >>> bool(e["rr"][1] < e["gd"][1])
    True
    """
    lrs = finite_array(lrs, "lrs", ndim=1)
    out = {f: np.empty(len(lrs)) for f in FLOWS}
    for j, lr in enumerate(lrs):
        mean = epoch_mean_exact(problem, x0, float(lr), replacement=replacement)
        for f in FLOWS:
            X = flow_at_epochs(problem, x0, float(lr), 1, f)[-1]
            out[f][j] = np.linalg.norm(mean - X)
    return out


def horizon_errors(problem, x0, lrs, T):
    """Exact RR mean on a quadratic sum against each flow, max over epoch ends in [0, T].

    Also ``"wr"``: ``|E x_RR - E x_WR|`` where, for affine gradients, the with-replacement mean
    is exactly gradient descent (E x_{k+1} = E x_k - lr grad f(E x_k)).

    Returns
    -------
    dict
        ``"rr"``, ``"gd"``, ``"plain"``, ``"wr"`` -> arrays of errors over ``lrs``.

    References
    ----------
    - Smith, S. L., Dherin, B., Barrett, D. G. T. and De, S. (2021). On the origin of implicit
       regularization in stochastic gradient descent. ICLR.

    Examples
    --------
    >>> from smecore.flows.problems import random_quadratic_sum
    >>> e = horizon_errors(random_quadratic_sum(rng=3), [2.0, 2.0], [0.02, 0.01], 2.0)
    >>> bool(e["rr"][1] < e["gd"][1] / 5)
    True
    """
    from .modified import gradient_descent

    lrs = finite_array(lrs, "lrs", ndim=1)
    T = positive_float(T, "T")
    n = problem.n_components
    out = {f: np.empty(len(lrs)) for f in FLOWS + ("wr",)}
    for j, lr in enumerate(lrs):
        lr = positive_float(float(lr), "lrs")
        n_ep = max(1, int(round(T / (n * lr))))
        mean = rr_mean_quadratic(problem, x0, lr, n_ep)
        for f in FLOWS:
            X = flow_at_epochs(problem, x0, lr, n_ep, f)
            out[f][j] = np.max(np.linalg.norm(mean - X, axis=1))
        gd = gradient_descent(problem, x0, lr, n * n_ep)[::n]
        out["wr"][j] = np.max(np.linalg.norm(mean - gd, axis=1))
    return out


mutants.register(mutants.Mutant(
    "IR2", "with-replacement-loss", "flow_field", {"flow": "gd"},
    "random reshuffling modelled by the with-replacement modified loss f + (eta/4)|grad f|^2 "
    "instead of Smith et al.'s f + (eta/4n) sum_i |grad f_i|^2"))
