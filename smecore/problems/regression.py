"""Least-squares linear regression as a finite sum, with its exact affine gradient law."""

from __future__ import annotations

import numpy as np

from .._validation import finite_array, generator, positive_float, positive_int
from .base import AffineGradient
from .custom import FiniteSumObjective


class LinearRegression(FiniteSumObjective):
    """f(x) = (1/n) sum_i 1/2 (a_i . x - y_i)^2, sampled with replacement.

    The stochastic gradient of one sample, grad f_i(x) = a_i a_i^T x - y_i a_i
    = G_i [x; 1] with G_i = [a_i a_i^T, -y_i a_i], is affine in x, so the
    objective carries the exact law of the mini-batch gradient
    (``affine``): mean E_i G_i and covariance Cov_i(G_i) / B, the population
    covariance over the n samples.

    Parameters
    ----------
    A : array_like, shape (n, d)
        Features a_i (rows).
    y : array_like, shape (n,)
        Targets y_i.
    batch_size : int, default 1
        Mini-batch size B; indices are drawn as ``rng.integers(0, n, (n_paths, B))``.

    Examples
    --------
    >>> import numpy as np
    >>> p = LinearRegression([[1.0, 0.0], [0.0, 2.0]], [1.0, 2.0])
    >>> p.minimizer
    array([1., 1.])
    >>> p.grad([0.0, 0.0])
    array([-0.5, -2. ])
    >>> p.noise_cov([0.0, 0.0])
    array([[ 0.25, -1.  ],
           [-1.  ,  4.  ]])
    """

    def __init__(self, A, y, batch_size=1):
        A = finite_array(A, "A", ndim=2)
        n, d = A.shape
        if n == 0 or d == 0:
            raise ValueError(f"A must have at least one row and one column, got shape {A.shape}")
        y = finite_array(y, "y", shape=(n,))
        self.A, self.y = A, y
        self.dim = d
        self.noise_dim = d
        self.batch_size = positive_int(batch_size, "batch_size")
        self.probs = np.full(n, 1.0 / n)
        with np.errstate(over="ignore", invalid="ignore"):
            self.affine = self._affine_law()
        if not (np.all(np.isfinite(self.affine.mean)) and np.all(np.isfinite(self.affine.cov))):
            raise ValueError("A and y are too large: the gradient noise covariance (fourth powers "
                             f"of the data, max |A| = {np.max(np.abs(A)):.3g}, max |y| = "
                             f"{np.max(np.abs(y)):.3g}) overflows; rescale the data")

    def _affine_law(self) -> AffineGradient:
        A, y = self.A, self.y
        n, d = A.shape
        G = np.concatenate([A[:, :, None] * A[:, None, :], -(y[:, None] * A)[:, :, None]], axis=2)
        flat = G.reshape(n, -1)
        mean = flat.mean(axis=0)
        centred = flat - mean
        cov = centred.T @ centred / n / self.batch_size
        return AffineGradient(mean.reshape(d, d + 1), cov.reshape(d, d + 1, d, d + 1))

    @property
    def n_samples(self) -> int:
        """n, the number of data points."""
        return self.A.shape[0]

    @property
    def minimizer(self) -> np.ndarray:
        """The least-squares solution (minimum norm if A is rank deficient)."""
        return np.linalg.lstsq(self.A, self.y, rcond=None)[0]

    @property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of the Hessian A^T A / n, ascending."""
        return np.linalg.eigvalsh(self.affine.hessian)

    def residuals(self, x):
        """a_i . x - y_i for every sample; shape (..., n)."""
        # matmul, not einsum: BLAS makes f over many paths cheap.
        return np.matmul(self._points(x), self.A.T) - self.y

    def value(self, x):
        # f is quadratic, so its Taylor expansion at x* = argmin f is exact:
        # f(x) = f(x*) + g* . u + u^T H u / 2 with u = x - x*. It costs O(d^2) per point
        # instead of O(n d), and the terms do not cancel (g* ~ 0, H >= 0), so it is as
        # accurate as the direct mean of squared residuals, and more so near x*.
        x = self._points(x)
        x_star, f_star, g_star = self._expansion
        u = x - x_star
        return f_star + u @ g_star + 0.5 * np.einsum("...i,...i->...", u @ self.affine.hessian, u)

    @property
    def _expansion(self):
        """(x*, f(x*), grad f(x*)), the last two computed directly from the data."""
        cached = self.__dict__.get("_expansion_cache")
        if cached is None or cached[0] is not self.A or cached[1] is not self.y:
            x_star = self.minimizer
            r = self.A @ x_star - self.y
            cached = (self.A, self.y, (x_star, 0.5 * float(np.mean(r**2)), self.A.T @ r / r.size))
            self.__dict__["_expansion_cache"] = cached
        return cached[2]

    def grad(self, x):
        x = self._points(x)
        return np.einsum("...j,ij->...i", x, self.affine.hessian) + self.affine.offset

    def hessian(self, x):
        x = self._points(x)
        H = self.affine.hessian
        return np.broadcast_to(H, x.shape[:-1] + H.shape).copy()

    def noise_cov(self, x):
        # Quadratic in x through the affine law: cost independent of n.
        return self.affine.noise_cov_at(self._points(x))

    def component_values(self, x):
        return 0.5 * self.residuals(x) ** 2

    def component_grads(self, x):
        return self.residuals(x)[..., None] * self.A

    def component_hessians(self, x):
        x = self._points(x)
        outer = self.A[:, :, None] * self.A[:, None, :]
        return np.broadcast_to(outer, x.shape[:-1] + outer.shape).copy()

    def grads_at_indices(self, x, idx):
        rows = self.A[idx]  # (n_paths, B, d): only the sampled data are touched
        residuals = np.einsum("pbd,pd->pb", rows, x) - self.y[idx]
        return residuals[..., None] * rows

    @property
    def _rows_transposed(self) -> np.ndarray:
        """[A^T; -y], shape (d + 1, n): column i is sample i, ready to gather by index."""
        rows = self.__dict__.get("_rows_t")
        if rows is None or rows.shape[1] != self.A.shape[0]:
            rows = np.ascontiguousarray(np.vstack([self.A.T, -self.y]))
            self.__dict__["_rows_t"] = rows
        return rows

    def draw_indices_transposed(self, rng, n, n_steps=1):
        """Mini-batch indices of ``n`` paths for the next ``n_steps`` steps, shape (n_steps, B, n).

        ``idx[k].T`` is exactly what the k-th of ``n_steps`` successive
        ``sample_indices`` calls would return (so SGD's fast path follows
        the very paths of the generic loop); uniform ``probs`` draw all steps
        in one call per block (:meth:`smecore.estimation.PathRandom.integers_for_steps`).
        """
        m, batch = self.A.shape[0], self.batch_size
        if self.__dict__.get("_probs_checked") is not self.probs:
            self.__dict__["_probs_uniform"] = self._uniform
            self.__dict__["_probs_checked"] = self.probs
        if not self.__dict__["_probs_uniform"]:
            idx = np.stack([self.sample_indices(n, rng) for _ in range(n_steps)])
        elif hasattr(rng, "integers_for_steps"):
            idx = rng.integers_for_steps(0, m, (n, batch), n_steps)
        else:  # a Generator: one call of n_steps draws equals n_steps calls
            idx = rng.integers(0, m, (n_steps, n, batch))
        return np.ascontiguousarray(np.swapaxes(idx, 1, 2))

    def grad_transposed_at(self, x_t, idx, out=None, scale=1.0):
        """``scale`` times the mini-batch gradients at ``x_t`` for the indices ``idx``.

        Paths run along the LAST axis, so every operation covers long
        contiguous rows: the gather of the sampled data, the residuals and
        the products. SGD's fast path (:func:`smecore.algorithms.run`) steps
        x^T in place with it.

        Parameters
        ----------
        x_t : ndarray, shape (d, n)
            The points, one column per path.
        idx : ndarray of int, shape (B, n)
            Mini-batch indices (a slice of :meth:`draw_indices_transposed`).
        out : ndarray, shape (d + 1, n), optional
            Scratch space; the result is its view ``out[:d]`` (``out[d]`` then
            holds the scaled residuals of the first mini-batch member).
        scale : float, default 1
            Factor folded into the residuals (the learning rate, for SGD).

        Returns
        -------
        ndarray, shape (d, n)
            scale * (1/B) sum_b a_{i_b} (a_{i_b} . x - y_{i_b}), per column.

        Examples
        --------
        >>> p = LinearRegression([[1.0, 0.0], [0.0, 2.0]], [1.0, 2.0])
        >>> x = np.array([[0.0, 1.0], [0.0, 1.0]])
        >>> idx = np.array([[0, 1]])
        >>> p.grad_transposed_at(x.T, idx).T
        array([[-1.,  0.],
               [ 0.,  0.]])
        """
        d, n = x_t.shape
        if d != self.dim:
            raise ValueError(f"x_t must have shape ({self.dim}, n), got {x_t.shape}")
        rows = self._rows_transposed
        if out is None:
            out = np.empty((d + 1, n))
        batch = idx.shape[0]
        for b in range(batch):
            gathered = out if b == 0 else np.empty_like(out)
            # mode="wrap": the indices are valid, and "raise" would buffer the output.
            np.take(rows, idx[b], axis=1, out=gathered, mode="wrap")
            dot = np.einsum("ji,ji->i", gathered[:d], x_t)  # a_i . x
            residual = gathered[d]
            residual += dot  # a_i . x - y_i, over the gathered -y_i
            residual *= scale / batch
            gathered[:d] *= residual
            if b > 0:
                out[:d] += gathered[:d]
        return out[:d]

    def sample_grad_transposed(self, x_t, rng, out=None, scale=1.0):
        """``scale * sample_grad(x_t.T, rng).T`` (the same draws), computed in the transposed layout.

        Examples
        --------
        >>> p = LinearRegression([[1.0, 0.0], [0.0, 2.0]], [1.0, 2.0])
        >>> x = np.array([[0.0, 1.0], [0.0, 1.0]])
        >>> g = p.sample_grad_transposed(x.T, np.random.default_rng(0))
        >>> bool(np.allclose(g.T, p.sample_grad(x, np.random.default_rng(0))))
        True
        """
        idx = self.draw_indices_transposed(rng, x_t.shape[1], 1)[0]
        return self.grad_transposed_at(x_t, idx, out=out, scale=scale)

    def __repr__(self) -> str:
        return f"LinearRegression(n_samples={self.n_samples}, dim={self.dim}, batch_size={self.batch_size})"


def make_linear_regression(n_samples, dim, noise=0.1, x_true=None, rng=None) -> LinearRegression:
    """A random linear-regression problem y = a . x_true + noise * eps.

    Draws, in this order from ``rng``: ``x_true`` ~ N(0, I_d) if not given,
    the features a_i ~ N(0, I_d) (an (n_samples, dim) array), and the
    label noise eps_i ~ N(0, 1).

    Parameters
    ----------
    n_samples : int
        Number of data points n, >= 1.
    dim : int
        Dimension d, >= 1.
    noise : float, default 0.1
        Standard deviation of the label noise, >= 0.
    x_true : array_like, shape (d,), optional
        The planted parameter (default: drawn from ``rng``).
    rng : seed-like, optional
        Anything ``numpy.random.default_rng`` accepts.

    Returns
    -------
    LinearRegression
        With the planted parameter stored as ``x_true``.

    Examples
    --------
    >>> p = make_linear_regression(200, 3, noise=0.0, x_true=[1.0, -1.0, 2.0], rng=0)
    >>> p.minimizer.round(10)
    array([ 1., -1.,  2.])
    """
    n_samples = positive_int(n_samples, "n_samples")
    dim = positive_int(dim, "dim")
    noise = positive_float(noise, "noise", allow_zero=True)
    gen = generator(rng)
    if x_true is None:
        x_true = gen.standard_normal(dim)
    x_true = finite_array(x_true, "x_true", shape=(dim,))
    A = gen.standard_normal((n_samples, dim))
    y = A @ x_true + noise * gen.standard_normal(n_samples)
    problem = LinearRegression(A, y)
    problem.x_true = x_true
    return problem
