"""Objectives built by the user: from callables, or as a finite sum of components.

:class:`FunctionObjective` wraps user callables (value, gradient, stochastic
gradient, optionally Hessian and noise covariance) and checks everything they
return, so that a wrong shape or a NaN is reported with the callable's name
instead of surfacing later as a silent NaN.

:class:`FiniteSumObjective` is the base of finite-sum problems
f(x) = sum_i p_i f_i(x): subclasses give the probabilities ``probs`` and the
component gradients, and inherit the gradient, the exact noise covariance
(E_i g_i g_i^T - grad grad^T) / B and the mini-batch sampler (B i.i.d. draws
with replacement).
"""

from __future__ import annotations

import numpy as np

from .._validation import finite_array, positive_int
from .base import StochasticObjective


class FiniteSumObjective(StochasticObjective):
    """Base class of finite sums f(x) = sum_i p_i f_i(x), i = 1..m.

    Subclasses set ``dim``, ``batch_size`` and ``probs`` (shape (m,), summing
    to 1) and implement :meth:`component_grads` (and, for values and Hessians,
    :meth:`component_values` and :meth:`component_hessians`). The mini-batch
    gradient is the mean of ``batch_size`` component gradients whose indices
    are drawn i.i.d. with probabilities ``probs``.

    Uniform ``probs`` draw indices as ``rng.integers(0, m, (n, B))``; other
    ``probs`` invert the cumulative distribution of ``rng.random((n, B))``.

    Examples
    --------
    >>> from smecore.problems.nonlinear import DoubleWell
    >>> p = DoubleWell()
    >>> p.component_grads([[0.0]]).shape
    (1, 3, 1)
    >>> p.noise_cov([0.0])
    array([[0.66666667]])
    """

    probs: np.ndarray
    #: Mini-batch sampling scheme (see :mod:`smecore.problems.sampling`).
    sampling: str = "with_replacement"

    @property
    def n_components(self) -> int:
        """m, the number of components f_i."""
        return self.probs.shape[0]

    @property
    def _uniform(self) -> bool:
        return bool(np.all(self.probs == self.probs[0]))

    @classmethod
    def from_callables(cls, dim, n_samples, loss, grad, hessian=None, **options):
        """A finite sum from per-sample callables: :class:`~smecore.problems.PerSampleObjective`.

        Examples
        --------
        >>> import numpy as np
        >>> a = np.array([0.0, 2.0])
        >>> p = FiniteSumObjective.from_callables(1, 2, lambda x: 0.5 * (x - a) ** 2,
        ...                                       lambda x: (x - a)[..., None])
        >>> p.grad([0.0]), p.noise_cov([0.0])
        (array([-1.]), array([[1.]]))
        """
        from .persample import PerSampleObjective

        return PerSampleObjective(dim, n_samples, loss, grad, hessian, **options)

    # -- components (subclasses) ---------------------------------------------
    def component_values(self, x):
        """f_i(x) for every i; shape (..., m)."""
        raise NotImplementedError

    def component_grads(self, x):
        """grad f_i(x) for every i; shape (..., m, d)."""
        raise NotImplementedError

    def component_hessians(self, x):
        """Hessian of f_i at x for every i; shape (..., m, d, d)."""
        raise NotImplementedError

    # -- deterministic part ----------------------------------------------------
    def value(self, x):
        return self.component_values(self._points(x)) @ self.probs

    def grad(self, x):
        return np.einsum("m,...md->...d", self.probs, self.component_grads(self._points(x)))

    def hessian(self, x):
        return np.einsum("m,...mij->...ij", self.probs, self.component_hessians(self._points(x)))

    def noise_cov(self, x):
        """Sigma(x)/B = (E_i g_i g_i^T - grad f grad f^T) / B, shape (..., d, d).

        Computed from the centred component gradients, which is the same
        quantity but cannot lose positive semi-definiteness to cancellation.
        """
        grads = self.component_grads(self._points(x))
        centred = grads - np.einsum("m,...md->...d", self.probs, grads)[..., None, :]
        cov = np.einsum("m,...mi,...mj->...ij", self.probs, centred, centred)
        return cov / self.batch_size

    # -- sampling --------------------------------------------------------------
    def sample_indices(self, n, rng):
        """Indices (n, B) of the components in n independent mini-batches."""
        m, size = self.n_components, (n, self.batch_size)
        if self._uniform:
            return rng.integers(0, m, size)
        cdf = np.cumsum(self.probs)
        cdf /= cdf[-1]
        return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), m - 1)

    def grads_at_indices(self, x, idx):
        """Gradients (n, B, d) of the components ``idx`` (n, B) at the rows of x (n, d).

        The default evaluates all m components; subclasses with many
        components override it.
        """
        grads = self.component_grads(x)
        return np.take_along_axis(grads, idx[..., None], axis=1)

    def sample_grad(self, x, rng):
        x = self._points(x)
        if x.ndim != 2:
            raise ValueError(f"x must have shape (n, {self.dim}), got {x.shape}")
        if self.sampling == "with_replacement":
            idx = self.sample_indices(x.shape[0], rng)
        else:
            idx = self._sampler.indices(x.shape[0], rng)
        return self.grads_at_indices(x, idx).mean(axis=1)

    def with_sampling(self, sampling) -> "FiniteSumObjective":
        """A copy drawing its mini-batches by the scheme ``sampling``.

        ``"with_replacement"`` (default), ``"reshuffling"`` (without
        replacement within an epoch) or ``"cycling"`` (fixed order); their
        noise laws are in :mod:`smecore.problems.sampling`. ``noise_cov``
        stays the with-replacement covariance Sigma/B (the SME's);
        :meth:`step_noise_cov` gives the scheme's.

        Examples
        --------
        >>> from smecore.problems.nonlinear import DoubleWell
        >>> DoubleWell().with_sampling("cycling").sampling
        'cycling'
        """
        from .sampling import EpochSampler, check_scheme

        sampling = check_scheme(sampling)
        if sampling != "with_replacement" and not self._uniform:
            raise ValueError(f"sampling {sampling!r} needs uniform probs (equal weights)")
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.sampling = sampling
        new._sampler = EpochSampler(sampling, self.n_components, self.batch_size)
        if sampling != "with_replacement":
            # Fast paths that draw indices themselves would ignore the scheme.
            new.grad_transposed_at = None
            new.draw_indices_transposed = None
        else:
            new.__dict__.pop("grad_transposed_at", None)
            new.__dict__.pop("draw_indices_transposed", None)
        return new

    def with_batch_size(self, batch_size) -> "FiniteSumObjective":
        new = super().with_batch_size(batch_size)
        return new if new.sampling == "with_replacement" else new.with_sampling(new.sampling)

    def step_noise_cov(self, x):
        """Covariance of one step's mini-batch gradient under ``sampling``, shape (..., d, d).

        Equals :meth:`noise_cov` for sampling with replacement; see
        :func:`smecore.problems.sampling.scheme_noise_cov` for the others.
        """
        from .sampling import scheme_noise_cov

        if self.sampling == "with_replacement":
            return self.noise_cov(x)
        return scheme_noise_cov(self.component_grads(self._points(x)), self.sampling, self.batch_size)


def _check_probs(probs, m, name="probs") -> np.ndarray:
    """Probabilities of m components: non-negative, summing to 1 (to rounding)."""
    if probs is None:
        return np.full(m, 1.0 / m)
    probs = finite_array(probs, name, shape=(m,))
    if np.any(probs < 0):
        raise ValueError(f"{name} must be non-negative")
    if abs(probs.sum() - 1.0) > 1e-12 * m:
        raise ValueError(f"{name} must sum to 1, got {probs.sum()!r}")
    return probs / probs.sum()


class FunctionObjective(StochasticObjective):
    """A stochastic objective from user callables, with checked outputs.

    Every callable receives a 2-D array ``x`` of shape (n, d) (points of any
    leading shape are flattened to rows before the call and reshaped after),
    and what it returns is checked for shape and finiteness; a violation
    raises ``ValueError`` naming the callable.

    Parameters
    ----------
    dim : int
        Dimension d.
    value : callable
        ``value(x) -> (n,)``: f at the rows of x.
    grad : callable
        ``grad(x) -> (n, d)``: grad f.
    sample_grad : callable, optional
        ``sample_grad(x, rng) -> (n, d)``: ONE stochastic gradient
        grad f_gamma(x) per row (batch size 1), drawing its randomness from
        ``rng`` with sizes whose first entry is n (``rng`` is a
        ``numpy.random.Generator`` or a :class:`~smecore.estimation.PathRandom`,
        which offers the Generator's sampling methods). With ``batch_size`` B the
        objective averages B independent calls. Required unless
        ``noise="gaussian"``.
    hessian : callable, optional
        ``hessian(x) -> (n, d, d)``. If omitted, the Hessian is approximated
        by central finite differences of ``grad`` (step ~ 6e-6 ``|x|``; error
        about 1e-10 relative for smooth gradients) and ``exact_hessian`` is
        False.
    noise_cov : callable, optional
        ``noise_cov(x) -> (n, d, d)``: Sigma(x), the covariance of ONE
        stochastic gradient; the objective divides it by B. If omitted,
        :meth:`noise_cov` (and so ``noise_factor`` and the SMEs) raises
        ``NotImplementedError``; simulating the algorithms still works.
    batch_size : int, default 1
        Mini-batch size B.
    noise : {None, "gaussian"}
        ``"gaussian"``: additive Gaussian noise built from ``noise_cov``
        (required), the mini-batch gradient being
        grad f(x) + (Sigma(x)/B)^{1/2} z with z = ``rng.standard_normal((n, d))``;
        then ``gaussian_noise`` is True and SGD can be coupled to its SME
        (:func:`smecore.solvers.coupled_sgd_sme`). Do not pass ``sample_grad`` then.

    Raises
    ------
    TypeError
        If a callable argument is not callable, or ``sample_grad`` is missing
        without ``noise="gaussian"``.
    ValueError
        If ``noise`` is unknown, or ``noise="gaussian"`` comes without
        ``noise_cov`` or with ``sample_grad``.

    Examples
    --------
    >>> import numpy as np
    >>> def sample(x, rng):
    ...     return x - rng.standard_normal(x.shape)
    >>> p = FunctionObjective(
    ...     2, value=lambda x: 0.5 * (x**2).sum(-1), grad=lambda x: x, sample_grad=sample,
    ...     noise_cov=lambda x: np.broadcast_to(np.eye(2), x.shape + (2,)), batch_size=4)
    >>> p.grad([1.0, 2.0])
    array([1., 2.])
    >>> np.round(p.hessian([1.0, 2.0]), 6)
    array([[1., 0.],
           [0., 1.]])
    >>> p.noise_cov([0.0, 0.0])
    array([[0.25, 0.  ],
           [0.  , 0.25]])
    >>> p.sample_grad(np.zeros((5, 2)), np.random.default_rng(0)).shape
    (5, 2)
    >>> q = FunctionObjective(2, value=lambda x: 0.5 * (x**2).sum(-1), grad=lambda x: x,
    ...     noise_cov=lambda x: np.broadcast_to(np.eye(2), x.shape + (2,)), noise="gaussian")
    >>> q.gaussian_noise
    True
    """

    def __init__(self, dim, value, grad, sample_grad=None, hessian=None, noise_cov=None,
                 batch_size=1, noise=None):
        self.dim = positive_int(dim, "dim")
        self.noise_dim = self.dim
        self.batch_size = positive_int(batch_size, "batch_size")
        if noise not in (None, "gaussian"):
            raise ValueError(f"noise must be None or 'gaussian', got {noise!r}")
        if noise == "gaussian":
            if noise_cov is None:
                raise ValueError("noise='gaussian' needs noise_cov (the covariance Sigma(x) of one gradient)")
            if sample_grad is not None:
                raise ValueError("pass either sample_grad or noise='gaussian', not both")
            sample_grad = self._gaussian_sample
            self.gaussian_noise = True
        elif sample_grad is None:
            raise TypeError("sample_grad is required (or pass noise='gaussian' with noise_cov)")
        for name, fn, required in [
            ("value", value, True),
            ("grad", grad, True),
            ("sample_grad", sample_grad, True),
            ("hessian", hessian, False),
            ("noise_cov", noise_cov, False),
        ]:
            if (required or fn is not None) and not callable(fn):
                raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
        self._value, self._grad, self._sample_grad = value, grad, sample_grad
        self._hessian, self._noise_cov = hessian, noise_cov

    @property
    def exact_hessian(self) -> bool:
        """False when :meth:`hessian` is a finite-difference approximation."""
        return self._hessian is not None

    def _call(self, name, fn, x, tail, *args):
        """Call ``fn`` on the rows of x, check the result has shape (n, *tail) and is finite."""
        x = self._points(x)
        rows = x.reshape(-1, self.dim)
        out = np.asarray(fn(rows, *args), dtype=float)
        want = (rows.shape[0],) + tail
        if out.shape != want:
            raise ValueError(
                f"{name} returned shape {out.shape} for x of shape {rows.shape}; expected {want}"
            )
        if not np.all(np.isfinite(out)):
            raise ValueError(f"{name} returned non-finite values")
        return out.reshape(x.shape[:-1] + tail)

    def value(self, x):
        return self._call("value", self._value, x, ())

    def grad(self, x):
        return self._call("grad", self._grad, x, (self.dim,))

    def hessian(self, x):
        if self._hessian is not None:
            return self._call("hessian", self._hessian, x, (self.dim, self.dim))
        return self._finite_difference_hessian(self._points(x))

    def _finite_difference_hessian(self, x):
        # Central differences of grad along each axis, all in one call; the
        # step balances truncation (h^2) against rounding (eps / h).
        d = self.dim
        step = np.cbrt(np.finfo(float).eps) * np.maximum(1.0, np.abs(x))  # (..., d)
        shifts = np.eye(d) * step[..., None, :]  # (..., d, d): row j is step_j e_j
        points = np.stack([x[..., None, :] + shifts, x[..., None, :] - shifts])  # (2, ..., d, d)
        # Divide by the spacing actually represented in floating point.
        spacing = np.einsum("...jj->...j", points[0] - points[1])
        g = self.grad(points)
        columns = (g[0] - g[1]) / spacing[..., :, None]  # (..., j, i) = d g_i / d x_j
        hess = np.swapaxes(columns, -1, -2)
        return 0.5 * (hess + np.swapaxes(hess, -1, -2))

    def noise_cov(self, x):
        if self._noise_cov is None:
            raise NotImplementedError(
                "this FunctionObjective was built without noise_cov: pass "
                "noise_cov=lambda x: Sigma(x) (shape (n, d, d), covariance of one stochastic "
                "gradient) to use noise covariances, noise factors or SMEs"
            )
        return self._call("noise_cov", self._noise_cov, x, (self.dim, self.dim)) / self.batch_size

    def _gaussian_sample(self, x, rng):
        # Called once per step with the whole mini-batch noise (see sample_grad).
        return self.sample_grad_from_normal(x, rng.standard_normal(x.shape))

    def sample_grad(self, x, rng):
        x = self._points(x)
        if x.ndim != 2:
            raise ValueError(f"x must have shape (n, {self.dim}), got {x.shape}")
        if self.gaussian_noise:
            return self._gaussian_sample(x, rng)
        total = self._call("sample_grad", self._sample_grad, x, (self.dim,), rng)
        for _ in range(self.batch_size - 1):
            total = total + self._call("sample_grad", self._sample_grad, x, (self.dim,), rng)
        return total / self.batch_size
