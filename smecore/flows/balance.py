"""The two-parameter model L(u, w) = 1/2 (u w - y)^2 and its balance law.

With r = u w - y, gradient descent u' = u - eta r w, w' = w - eta r u gives, exactly,

    u'^2 - w'^2 = (u^2 - 2 eta r u w + eta^2 r^2 w^2) - (w^2 - 2 eta r w u + eta^2 r^2 u^2)
                = (1 - eta^2 r^2) (u^2 - w^2),

so Q = u^2 - w^2, conserved by the gradient flow (the Noether charge of the rescaling
symmetry (u, w) -> (c u, w / c)), contracts at every step: GD breaks the symmetry towards
balance. Along the modified flow of L + (eta/4)``|grad L|^2`` (``|grad L|^2`` = r^2 (u^2 + w^2)),

    dQ/dt = -eta r^2 Q.

Both identities are derived in the chapter *Irreversibility of training*. The vector model
L(u, w) = 1/2 (u . w - y)^2, u, w in R^d, is invariant under (u, w) -> (O u, O w) for every
orthogonal O, and under the (non-isometric) rescaling (c u, w / c).

Mutants of the balance law (each must fail the exact check):
``"conserved"`` (Q_{k+1} = Q_k, the gradient-flow law) and ``"no_eta2"``
(Q_{k+1} = (1 - r_k^2) Q_k, the law without its eta^2 factor).
"""

from __future__ import annotations

import numpy as np

from .. import mutants
from .._validation import finite_array, one_of, positive_float, positive_int
from .modified import gradient_descent, initial_point

LAWS = ("gd", "conserved", "no_eta2")


class VectorBalanceModel:
    """L(u, w) = 1/2 (u . w - y)^2 with u, w in R^m; the state is x = (u, w) in R^{2m}.

    Parameters
    ----------
    y : float
        The target.
    m : int, default 1
        Width; ``m = 1`` is the scalar model of the chapter.

    Examples
    --------
    >>> p = VectorBalanceModel(1.0)
    >>> p.grad([2.0, 1.0])
    array([1., 2.])
    """

    def __init__(self, y, m=1):
        self.y = float(finite_array(y, "y", ndim=0))
        self.m = positive_int(m, "m")
        self.dim = 2 * self.m

    def split(self, x):
        x = np.asarray(x, dtype=float)
        return x[..., : self.m], x[..., self.m:]

    def residual(self, x):
        u, w = self.split(x)
        return np.sum(u * w, -1) - self.y

    def charge(self, x):
        """Q = ``|u|^2`` - ``|w|^2.``"""
        u, w = self.split(x)
        return np.sum(u * u, -1) - np.sum(w * w, -1)

    def value(self, x):
        return 0.5 * self.residual(x) ** 2

    def grad(self, x):
        u, w = self.split(x)
        r = self.residual(x)[..., None]
        return np.concatenate([r * w, r * u], axis=-1)

    def hessian(self, x):
        u, w = self.split(x)
        r = self.residual(x)[..., None, None]
        v = np.concatenate([w, u], axis=-1)
        eye = np.eye(self.m)
        off = np.zeros((self.dim, self.dim))
        off[: self.m, self.m:] = eye
        off[self.m:, : self.m] = eye
        return v[..., :, None] * v[..., None, :] + r * off

    def modified_value(self, x, lr):
        """L + (lr/4) ``|grad L|^2.``"""
        g = self.grad(x)
        return self.value(x) + 0.25 * lr * np.sum(g * g, -1)


class BalanceModel(VectorBalanceModel):
    """The scalar model L(u, w) = 1/2 (u w - y)^2 (state x = (u, w)).

    Examples
    --------
    >>> BalanceModel(1.0).charge([2.0, 1.0])
    np.float64(3.0)
    """

    def __init__(self, y):
        super().__init__(y, 1)


def balance_run(problem, x0, lr, n_steps):
    """GD on a balance model with residuals and charges along the run.

    Returns
    -------
    dict
        ``x`` (n_steps + 1, dim), ``r`` and ``Q`` (n_steps + 1,).

    Examples
    --------
    >>> run = balance_run(BalanceModel(1.0), [2.0, 0.5], 0.1, 3)
    >>> run["Q"].shape
    (4,)
    """
    x = gradient_descent(problem, x0, lr, n_steps)
    return dict(x=x, r=problem.residual(x), Q=problem.charge(x))


def balance_factor(r, lr, law="gd"):
    """The per-step factor of Q predicted by a law: 1 - lr^2 r^2, or a mutant's.

    Examples
    --------
    >>> balance_factor(np.array([1.0]), 0.1)
    array([0.99])
    """
    lr = positive_float(lr, "lr")
    law = mutants.overrides("balance_factor").get("law", law)
    one_of(law, "law", LAWS)
    r = np.asarray(r, dtype=float)
    if law == "gd":
        return 1.0 - lr ** 2 * r ** 2
    if law == "no_eta2":
        return 1.0 - r ** 2
    return np.ones_like(r)


def balance_law_defect(run, lr, law="gd"):
    """max_k ``|Q_{k+1} - factor_k Q_k|`` / max_k ``|Q_k|``: zero up to rounding for the true law.

    Examples
    --------
    >>> run = balance_run(BalanceModel(1.0), [2.0, 0.2], 0.1, 50)
    >>> bool(balance_law_defect(run, 0.1) < 1e-14)
    True
    >>> bool(balance_law_defect(run, 0.1, law="conserved") > 1e-4)
    True
    """
    Q, r = run["Q"], run["r"]
    pred = balance_factor(r[:-1], lr, law) * Q[:-1]
    return float(np.max(np.abs(Q[1:] - pred)) / np.max(np.abs(Q)))


def charge_rate_defect(problem, points, lr):
    """max ``|dQ/dt + lr r^2 Q|`` / max ``|lr r^2 Q|`` over ``points``, dQ/dt along the modified flow.

    dQ/dt = grad Q . field, with field = -(grad L + (lr/2) H grad L) and grad Q = 2(u, -w).

    Examples
    --------
    >>> pts = np.array([[2.0, 0.5], [0.3, -1.2]])
    >>> bool(charge_rate_defect(BalanceModel(1.0), pts, 0.1) < 1e-12)
    True
    """
    from .modified import modified_field

    points = finite_array(points, "points", ndim=2)
    field = modified_field(problem, lr)(points)
    u, w = problem.split(points)
    dQ = 2 * np.sum(u * field[:, : problem.m], -1) - 2 * np.sum(w * field[:, problem.m:], -1)
    r, Q = problem.residual(points), problem.charge(points)
    target = -lr * r ** 2 * Q
    return float(np.max(np.abs(dQ - target)) / np.max(np.abs(target)))


def log_charge_gd_vs_flow(problem, x0, lr, T, *, flow="modified"):
    """``|log(Q_N / Q_0) of GD - log(Q(T) / Q(0)) of a flow|``, N = T / lr.

    The modified flow gives log Q(T)/Q(0) = -lr * int_0^T r^2 dt; the plain gradient flow
    (``flow="plain"``, the mutant) conserves Q and gives 0.

    Examples
    --------
    >>> p = BalanceModel(1.0)
    >>> a = log_charge_gd_vs_flow(p, [1.5, 0.2], 0.02, 2.0)
    >>> b = log_charge_gd_vs_flow(p, [1.5, 0.2], 0.02, 2.0, flow="plain")
    >>> bool(a < b / 10)
    True
    """
    from .modified import modified_field, solve_flow

    lr = positive_float(lr, "lr")
    T = positive_float(T, "T")
    x0 = initial_point(x0, problem.dim)
    n = max(1, int(round(T / lr)))
    run = balance_run(problem, x0, lr, n)
    gd = np.log(run["Q"][-1] / run["Q"][0])
    X = solve_flow(modified_field(problem, lr, flow), x0, [0.0, n * lr])
    return float(abs(gd - np.log(problem.charge(X[-1]) / problem.charge(X[0]))))


def equivariance_defect(problem, x0, lr, n_steps, transform):
    """max_k ``|GD_k(g x0) - g GD_k(x0)|`` / max_k ``|GD_k(x0)|`` for a linear map g of the state.

    ``transform(x)`` applies g. A linear symmetry g of L maps gradients by g^{-T}
    (grad L(g x) = g^{-T} grad L(x)), so GD commutes with g exactly when g^{-T} = g on the
    gradients, i.e. when g is orthogonal; otherwise the defect is of order lr.

    Examples
    --------
    >>> p = VectorBalanceModel(1.0, 2)
    >>> c, s = np.cos(0.7), np.sin(0.7)
    >>> R = np.array([[c, -s], [s, c]])
    >>> rot = lambda x: np.concatenate([x[..., :2] @ R.T, x[..., 2:] @ R.T], -1)
    >>> bool(equivariance_defect(p, [1.0, 0.5, 0.2, -0.3], 0.1, 20, rot) < 1e-12)
    True
    """
    x0 = initial_point(x0, problem.dim)
    a = gradient_descent(problem, transform(x0), lr, n_steps)
    b = transform(gradient_descent(problem, x0, lr, n_steps))
    return float(np.max(np.linalg.norm(a - b, axis=-1)) / np.max(np.linalg.norm(b, axis=-1)))


def invariance_defect(problem, points, lr, transform):
    """max ``|L~(g x) - L~(x)|`` / max ``|L~(x)|`` for the modified loss L~ = L + (lr/4)``|grad L|^2.``

    Examples
    --------
    >>> p = BalanceModel(1.0)
    >>> pts = np.array([[2.0, 0.5], [0.3, -1.2]])
    >>> swap = lambda x: x[..., ::-1]
    >>> bool(invariance_defect(p, pts, 0.1, swap) < 1e-12)
    True
    """
    points = finite_array(points, "points", ndim=2)
    lr = positive_float(lr, "lr")
    base = problem.modified_value(points, lr)
    moved = problem.modified_value(transform(points), lr)
    return float(np.max(np.abs(moved - base)) / np.max(np.abs(base)))


def rotation(m, angle, plane=(0, 1)):
    """The map (u, w) -> (O u, O w), O a rotation by ``angle`` in ``plane`` of R^m (isometric).

    Examples
    --------
    >>> g = rotation(2, np.pi / 2)
    >>> g(np.array([1.0, 0.0, 0.0, 1.0]))
    array([ 0.,  1., -1.,  0.])
    """
    m = positive_int(m, "m")
    if m < 2:
        raise ValueError(f"a rotation needs m >= 2, got {m}")
    O = np.eye(m)
    i, j = plane
    c, s = np.cos(angle), np.sin(angle)
    O[i, i], O[i, j], O[j, i], O[j, j] = c, -s, s, c
    O = np.round(O, 15)
    return lambda x: np.concatenate([x[..., :m] @ O.T, x[..., m:] @ O.T], axis=-1)


def rescaling(m, c):
    """The map (u, w) -> (c u, w / c): a symmetry of L, not an isometry unless ``|c|`` = 1.

    Examples
    --------
    >>> rescaling(1, 2.0)(np.array([1.0, 1.0]))
    array([2. , 0.5])
    """
    m = positive_int(m, "m")
    c = positive_float(c, "c")
    return lambda x: np.concatenate([c * x[..., :m], x[..., m:] / c], axis=-1)


mutants.register(mutants.Mutant(
    "TI1", "no-eta2", "balance_factor", {"law": "no_eta2"},
    "the balance law Q_{k+1} = (1 - r_k^2) Q_k, without its eta^2 factor"))
mutants.register(mutants.Mutant(
    "TI1", "conserved", "balance_factor", {"law": "conserved"},
    "Q conserved by gradient descent, as by the gradient flow"))
