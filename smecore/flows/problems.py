"""Small finite-sum objectives with exact gradients and Hessians, for modified flows.

Every problem here is a finite sum f(x) = (1/n) sum_a f_a(x) with

* ``value(x)``, ``grad(x)``, ``hessian(x)`` for points ``x`` of shape ``(..., d)``
  (leading axes are runs or times), and
* ``component_grad(x, a)``, ``component_hessian(x, a)`` for points of shape ``(N, d)`` and
  component indices ``a`` of shape ``(N,)`` (one component per run), or ``a`` an ``int``.

The modified flows of :mod:`smecore.flows.modified` and :mod:`smecore.flows.reshuffling`
need exactly these: they are built from gradients and Hessian-vector products.
"""

from __future__ import annotations

import numpy as np

from .._validation import finite_array, positive_float


def _points(x, dim, name="x"):
    arr = finite_array(x, name)
    if arr.ndim == 0 or arr.shape[-1] != dim:
        raise ValueError(f"{name} must have last axis of length {dim}, got shape {arr.shape}")
    return arr


class FiniteSumQuadratic:
    """f(x) = (1/n) sum_a 1/2 (x - c_a)^T A_a (x - c_a), with symmetric A_a.

    Parameters
    ----------
    As : array_like, shape (n, d, d)
        Symmetric matrices (symmetrised on input).
    cs : array_like, shape (n, d)
        Centres.

    Examples
    --------
    >>> p = FiniteSumQuadratic([[[1.0]], [[3.0]]], [[1.0], [-1.0]])
    >>> p.grad([0.0])
    array([1.])
    >>> p.hessian([0.0])
    array([[2.]])
    """

    def __init__(self, As, cs):
        As = finite_array(As, "As", ndim=3)
        n, d, d2 = As.shape
        if d != d2 or n < 1:
            raise ValueError(f"As must have shape (n, d, d), got {As.shape}")
        self.As = 0.5 * (As + np.swapaxes(As, 1, 2))
        self.cs = finite_array(cs, "cs", shape=(n, d))
        self.n_components, self.dim = n, d
        self.A = self.As.mean(axis=0)
        self.b = np.einsum("aij,aj->i", self.As, self.cs) / n  # grad f(x) = A x - b

    def value(self, x):
        x = _points(x, self.dim)
        diff = x[..., None, :] - self.cs
        return 0.5 * np.einsum("...ai,aij,...aj->...", diff, self.As, diff) / self.n_components

    def grad(self, x):
        x = _points(x, self.dim)
        return x @ self.A.T - self.b

    def hessian(self, x):
        x = _points(x, self.dim)
        return np.broadcast_to(self.A, x.shape[:-1] + self.A.shape).copy()

    def component_grad(self, x, a):
        x = _points(x, self.dim)
        A, c = self.As[a], self.cs[a]
        return np.einsum("...ij,...j->...i", A, x - c)

    def component_hessian(self, x, a):
        x = _points(x, self.dim)
        return np.broadcast_to(self.As[a], x.shape[:-1] + (self.dim, self.dim)).copy()

    def minimizer(self):
        """The minimiser A^{-1} b (A = mean of the A_a, assumed invertible)."""
        return np.linalg.solve(self.A, self.b)


class LogisticRegression:
    """l2-regularised logistic regression, a finite sum over samples.

    f_a(x) = log(1 + exp(-y_a z_a^T x)) + (reg/2) ``|x|^2``, labels y_a in {-1, +1}.

    Parameters
    ----------
    features : array_like, shape (n, d)
    labels : array_like, shape (n,)
        Entries -1 or +1.
    reg : float, default 0.0
        The l2 weight (>= 0); with reg > 0 the sum is reg-strongly convex.

    Examples
    --------
    >>> p = LogisticRegression([[1.0, 0.0], [0.0, 1.0]], [1, -1], reg=0.1)
    >>> p.grad([0.0, 0.0])
    array([-0.25,  0.25])
    """

    def __init__(self, features, labels, reg=0.0):
        self.Z = finite_array(features, "features", ndim=2)
        n, d = self.Z.shape
        labels = finite_array(labels, "labels", shape=(n,))
        if not np.all(np.isin(labels, (-1.0, 1.0))):
            raise ValueError("labels must be -1 or +1")
        self.labels = labels
        self.reg = positive_float(reg, "reg", allow_zero=True)
        self.n_components, self.dim = n, d
        self.YZ = labels[:, None] * self.Z  # rows y_a z_a

    def value(self, x):
        x = _points(x, self.dim)
        margins = x @ self.YZ.T
        return np.mean(np.logaddexp(0.0, -margins), axis=-1) + 0.5 * self.reg * np.sum(x * x, -1)

    def grad(self, x):
        x = _points(x, self.dim)
        s = _sigmoid(-(x @ self.YZ.T))  # (..., n)
        return -(s @ self.YZ) / self.n_components + self.reg * x

    def hessian(self, x):
        x = _points(x, self.dim)
        s = _sigmoid(x @ self.YZ.T)
        w = s * (1 - s) / self.n_components
        return np.einsum("...a,ai,aj->...ij", w, self.Z, self.Z) + self.reg * np.eye(self.dim)

    def component_grad(self, x, a):
        x = _points(x, self.dim)
        yz = self.YZ[a]
        s = _sigmoid(-np.sum(x * yz, -1))
        return -s[..., None] * yz + self.reg * x

    def component_hessian(self, x, a):
        x = _points(x, self.dim)
        yz = self.YZ[a]
        s = _sigmoid(np.sum(x * yz, -1))
        w = s * (1 - s)
        outer = yz[..., :, None] * yz[..., None, :]
        return w[..., None, None] * outer + self.reg * np.eye(self.dim)

    def minimizer(self, x0=None, tol=1e-13, max_iter=100):
        """The minimiser by Newton's method (needs reg > 0 or separable-free data)."""
        x = np.zeros(self.dim) if x0 is None else finite_array(x0, "x0", shape=(self.dim,))
        for _ in range(max_iter):
            g = self.grad(x)
            step = np.linalg.solve(self.hessian(x), g)
            x = x - step
            if np.linalg.norm(step) < tol * (1 + np.linalg.norm(x)):
                break
        return x


def _sigmoid(t):
    return 0.5 * (1.0 + np.tanh(0.5 * t))


def make_logistic(n=200, dim=2, *, reg=0.01, separation=1.0, rng=None):
    """A synthetic two-class logistic regression problem (Gaussian classes).

    Class means are +/- ``separation`` * e_1 / 2 with identity covariance, labels +/-1.

    Examples
    --------
    >>> p = make_logistic(10, 2, rng=0)
    >>> p.n_components, p.dim
    (10, 2)
    """
    rng = np.random.default_rng(rng)
    labels = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    Z = rng.standard_normal((n, dim))
    Z[:, 0] += 0.5 * separation * labels
    return LogisticRegression(Z, labels, reg=reg)


def random_quadratic_sum(n=4, dim=2, *, shift=0.3, rng=None):
    """A :class:`FiniteSumQuadratic` with random, non-commuting A_a = B B^T / 2 + shift I.

    Examples
    --------
    >>> q = random_quadratic_sum(4, 2, rng=3)
    >>> q.As.shape, bool(np.all(np.linalg.eigvalsh(q.As) > 0.29))
    ((4, 2, 2), True)
    """
    rng = np.random.default_rng(rng)
    B = rng.standard_normal((n, dim, dim))
    As = 0.5 * B @ np.swapaxes(B, 1, 2) + positive_float(shift, "shift") * np.eye(dim)
    return FiniteSumQuadratic(As, rng.standard_normal((n, dim)))


def rotated_quadratic(eigenvalues, *, rng=None):
    """f(x) = x^T H x / 2 with H = Q diag(eigenvalues) Q^T, Q a random rotation (f* = 0 at 0).

    Examples
    --------
    >>> q = rotated_quadratic([1.0, 0.01], rng=0)
    >>> np.linalg.eigvalsh(q.A).round(6)
    array([0.01, 1.  ])
    """
    lam = finite_array(eigenvalues, "eigenvalues", ndim=1)
    if np.any(lam <= 0):
        raise ValueError("eigenvalues must be > 0")
    rng = np.random.default_rng(rng)
    Q, _ = np.linalg.qr(rng.standard_normal((len(lam), len(lam))))
    H = (Q * lam) @ Q.T
    return FiniteSumQuadratic(H[None], np.zeros((1, len(lam))))


def digits_logistic(reg=0.01):
    """Logistic regression on scikit-learn's shipped digits: even vs odd, pixels scaled to [0, 1].

    1797 samples, 64 features, l2 weight ``reg`` (no download: the data ship with sklearn).

    Examples
    --------
    >>> p = digits_logistic()
    >>> p.n_components, p.dim
    (1797, 64)
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    labels = np.where(data.target % 2 == 0, 1.0, -1.0)
    return LogisticRegression(data.data / 16.0, labels, reg=reg)
