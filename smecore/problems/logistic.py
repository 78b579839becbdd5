"""L2-regularised logistic regression (binary and multinomial) as a finite sum.

Each sample i contributes f_i(x) = l(x; a_i, y_i) + ``(lam / 2) |x|^2``, with the
cross-entropy loss l of a linear model; f is the mean of the f_i. Component
values, gradients and Hessians are exact (closed forms), so the gradient
noise covariance Sigma(x)/B is exact too (:class:`FiniteSumObjective`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .._validation import finite_array, positive_float, positive_int
from .custom import FiniteSumObjective
from .sampling import EpochSampler, check_scheme

__all__ = ["LogisticRegression"]


def _sigmoid(z):
    return expit(z)  # stable for any z, and several times faster than a tanh form


def _softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class LogisticRegression(FiniteSumObjective):
    """Mean cross-entropy of a linear classifier plus ``(lam/2) |x|^2``, a finite sum over the data.

    With features a_i (an intercept column 1 appended when ``intercept``)
    of length q and K classes:

    - binary (K = 2): x has length d = q and
      ``f_i(x) = log(1 + exp(a_i.x)) - t_i a_i.x + (lam/2) |x|^2``, t_i = 1 for
      the second class, 0 for the first; grad f_i = (s(a_i.x) - t_i) a_i + lam x,
      Hessian s(1 - s) a_i a_i^T + lam I, s the logistic sigmoid.
    - multinomial (K > 2, or ``multinomial=True``): x = vec(W), W of shape
      (K, q) row by row, d = K q, and f_i = logsumexp(W a_i) - (W a_i)_{y_i}
      + ``(lam/2) |W|^2``; grad f_i = (p_i - e_{y_i}) a_i^T + lam W with
      p_i = softmax(W a_i); Hessian (diag p_i - p_i p_i^T) kron a_i a_i^T + lam I.

    The penalty covers every parameter (intercept included), so f is
    lam-strongly convex.

    Parameters
    ----------
    features : array_like, shape (m, p)
        Finite features, one row per sample.
    labels : array_like, shape (m,)
        Class labels; each must be one of ``classes``.
    l2 : float, default 1e-2
        lam >= 0.
    classes : array_like, optional
        The classes, in order (default: the sorted distinct labels; at least 2).
    intercept : bool, default True
        Append a constant feature 1.
    multinomial : bool, optional
        Use the K-class softmax parametrisation even for K = 2
        (default: only for K > 2).
    batch_size : int, default 1
        Mini-batch size B.
    sampling : {"with_replacement", "reshuffling", "cycling"}
        Mini-batch scheme (:mod:`smecore.problems.sampling`).

    Raises
    ------
    ValueError
        If ``features`` is not a finite 2-D array, ``labels`` has the wrong
        length, contains NaN or a label outside ``classes``, or fewer than two
        classes are given; naming the argument.

    Examples
    --------
    >>> import numpy as np
    >>> p = LogisticRegression([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1], l2=0.1)
    >>> p.dim, p.n_components
    (2, 4)
    >>> np.round(p.grad([0.0, 0.0]), 6)
    array([-0.5,  0. ])
    >>> LogisticRegression([[0.0], [1.0]], [0, 2], classes=[0, 1])
    Traceback (most recent call last):
        ...
    ValueError: labels must lie in classes [0, 1]; got 2 (sample 1)
    """

    def __init__(self, features, labels, l2=1e-2, *, classes=None, intercept=True,
                 multinomial=None, batch_size=1, sampling="with_replacement"):
        A = finite_array(features, "features", ndim=2)
        m = A.shape[0]
        if m == 0 or A.shape[1] == 0:
            raise ValueError(f"features must have at least one row and column, got shape {A.shape}")
        labels = np.asarray(labels)
        if labels.shape != (m,):
            raise ValueError(f"labels must have shape ({m},) (one per row of features), got {labels.shape}")
        if labels.dtype.kind in "fc" and not np.all(np.isfinite(labels)):
            raise ValueError("labels must not contain NaN or inf")
        if classes is None:
            classes = np.unique(labels)
        classes = np.asarray(classes)
        if classes.ndim != 1 or classes.size < 2 or np.unique(classes).size != classes.size:
            raise ValueError(f"classes must be at least 2 distinct labels, got {classes.tolist()!r}")
        lookup = {c: k for k, c in enumerate(classes.tolist())}
        codes = np.empty(m, dtype=int)
        for i, lab in enumerate(labels.tolist()):
            if lab not in lookup:
                raise ValueError(f"labels must lie in classes {classes.tolist()!r}; got {lab!r} (sample {i})")
            codes[i] = lookup[lab]
        self.l2 = positive_float(l2, "l2", allow_zero=True)
        if intercept:
            A = np.hstack([A, np.ones((m, 1))])
        self.features, self.codes, self.classes = A, codes, classes
        K = classes.size
        self.multinomial = bool(K > 2 if multinomial is None else multinomial)
        self.n_classes = K
        q = A.shape[1]
        self.dim = K * q if self.multinomial else q
        self.noise_dim = self.dim
        self.batch_size = positive_int(batch_size, "batch_size")
        self.probs = np.full(m, 1.0 / m)
        self.sampling = check_scheme(sampling)
        self._sampler = EpochSampler(self.sampling, m, self.batch_size)

    # -- per-sample pieces ----------------------------------------------------
    def _scores(self, x, A):
        """Linear scores: (..., m) (binary) or (..., m, K) (multinomial) for rows A (m, q)."""
        if not self.multinomial:
            return x @ A.T
        W = x.reshape(x.shape[:-1] + (self.n_classes, A.shape[1]))
        return np.einsum("...kq,mq->...mk", W, A)

    def component_values(self, x):
        x = self._points(x)
        z = self._scores(x, self.features)
        pen = 0.5 * self.l2 * np.einsum("...i,...i->...", x, x)[..., None]
        if not self.multinomial:
            return np.logaddexp(0.0, z) - (self.codes == 1) * z + pen
        zmax = z.max(axis=-1, keepdims=True)
        lse = (zmax + np.log(np.exp(z - zmax).sum(axis=-1, keepdims=True)))[..., 0]
        picked = np.take_along_axis(z, np.broadcast_to(self.codes[:, None], z.shape[:-1] + (1,)), -1)
        return lse - picked[..., 0] + pen

    def _residual(self, z, codes):
        """d loss / d score: s - t (binary, (..., m)) or p - e_y (multinomial, (..., m, K))."""
        if not self.multinomial:
            return _sigmoid(z) - (codes == 1)
        return _softmax(z) - np.eye(self.n_classes)[codes]

    def _grads(self, x, A, codes):
        r = self._residual(self._scores(x, A), codes)
        if not self.multinomial:
            g = r[..., None] * A
        else:
            g = (r[..., :, None] * A[..., None, :]).reshape(r.shape[:-1] + (self.dim,))
        return g + self.l2 * x[..., None, :]

    def component_grads(self, x):
        x = self._points(x)
        return self._grads(x, self.features, self.codes)

    def component_hessians(self, x):
        x = self._points(x)
        A = self.features
        z = self._scores(x, A)
        outer = A[:, :, None] * A[:, None, :]  # (m, q, q)
        if not self.multinomial:
            s = _sigmoid(z)
            h = (s * (1 - s))[..., None, None] * outer
        else:
            p = _softmax(z)
            curv = np.einsum("...k,kl->...kl", p, np.eye(self.n_classes)) - p[..., :, None] * p[..., None, :]
            h = np.einsum("...mkl,mij->...mkilj", curv, outer).reshape(z.shape[:-1] + (self.dim, self.dim))
        return h + self.l2 * np.eye(self.dim)

    # -- binary: f, grad f, its Hessian and Sigma by matrix products over the samples ---------
    def _binary_residuals(self, x):
        """(x, r) with r_i = s(a_i.x) - t_i, shape (..., m)."""
        x = self._points(x)
        return x, _sigmoid(x @ self.features.T) - (self.codes == 1)

    @property
    def _outer_flat(self):
        """a_i a_i^T, flattened: shape (m, q*q)."""
        cached = self.__dict__.get("_outer_cache")
        if cached is None or cached[0] is not self.features:
            A = self.features
            cached = (A, (A[:, :, None] * A[:, None, :]).reshape(A.shape[0], -1))
            self.__dict__["_outer_cache"] = cached
        return cached[1]

    def grad(self, x):
        if self.multinomial:
            return super().grad(x)
        x, r = self._binary_residuals(x)
        return (r @ self.features) / self.n_samples + self.l2 * x

    def hessian(self, x):
        if self.multinomial:
            return super().hessian(x)
        x = self._points(x)
        s = _sigmoid(x @ self.features.T)
        h = ((s * (1 - s)) @ self._outer_flat / self.n_samples).reshape(x.shape[:-1] + (self.dim, self.dim))
        return h + self.l2 * np.eye(self.dim)

    def noise_cov(self, x):
        """Sigma(x)/B; for binary problems (1/m) sum_i r_i^2 a_i a_i^T - gbar gbar^T, gbar = (1/m) sum_i r_i a_i.

        The penalty's gradient lam x is common to every sample and cancels.
        """
        if self.multinomial:
            return super().noise_cov(x)
        x, r = self._binary_residuals(x)
        m, d = self.n_samples, self.dim
        second = ((r * r) @ self._outer_flat / m).reshape(x.shape[:-1] + (d, d))
        gbar = r @ self.features / m
        return (second - gbar[..., :, None] * gbar[..., None, :]) / self.batch_size

    def grads_at_indices(self, x, idx):
        # Only the sampled rows: (n, B, q) features, not all m.
        A = self.features[idx]
        codes = self.codes[idx]
        if not self.multinomial:
            r = _sigmoid(np.einsum("nbq,nq->nb", A, x)) - (codes == 1)
            return r[..., None] * A + self.l2 * x[:, None, :]
        W = x.reshape(x.shape[0], self.n_classes, -1)
        r = _softmax(np.einsum("nkq,nbq->nbk", W, A)) - np.eye(self.n_classes)[codes]
        g = (r[..., :, None] * A[..., None, :]).reshape(idx.shape + (self.dim,))
        return g + self.l2 * x[:, None, :]

    @property
    def n_samples(self) -> int:
        """m, the number of data points."""
        return self.features.shape[0]

    def minimizer(self, x0=None, tol=1e-10, max_iter=100):
        """argmin f by Newton's method (f is strongly convex when lam > 0).

        Raises
        ------
        ValueError
            If Newton's method does not reach ``|grad f| < tol`` in ``max_iter`` steps.
        """
        x = np.zeros(self.dim) if x0 is None else self._points(x0).copy()
        for _ in range(max_iter):
            g = self.grad(x)
            if np.linalg.norm(g) < tol:
                return x
            step = np.linalg.solve(self.hessian(x), g)
            if g @ step < 1e-28:  # Newton decrement at rounding level
                return x
            t = 1.0
            while self.value(x - t * step) > self.value(x) - 1e-4 * t * (g @ step) and t > 1e-8:
                t *= 0.5
            x = x - t * step
        raise ValueError(f"Newton's method did not converge in {max_iter} steps (|grad f| = {np.linalg.norm(g):.3g})")

    def __repr__(self) -> str:
        kind = "multinomial" if self.multinomial else "binary"
        return (f"LogisticRegression({kind}, n_samples={self.n_samples}, dim={self.dim}, "
                f"l2={self.l2:g}, batch_size={self.batch_size}, sampling={self.sampling!r})")
