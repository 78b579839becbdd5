"""A finite-sum objective from per-sample callables: loss, gradient and optionally Hessian.

:class:`PerSampleObjective` turns vectorised per-sample functions into a
:class:`~smecore.problems.FiniteSumObjective`: f, grad f, the Hessian and the
exact noise covariance Sigma(x)/B all follow from the per-sample values, and
every array a callable returns is checked for shape and finiteness, so that a
mistake is reported with the callable's name.
"""

from __future__ import annotations

import numpy as np

from .._validation import positive_int
from .custom import FiniteSumObjective, _check_probs
from .sampling import EpochSampler, check_scheme

__all__ = ["PerSampleObjective"]


class PerSampleObjective(FiniteSumObjective):
    """f(x) = sum_i p_i l_i(x) from per-sample callables, vectorised over points and samples.

    Parameters
    ----------
    dim : int
        Dimension d of x.
    n_samples : int
        Number m of per-sample losses l_i.
    loss : callable
        ``loss(x) -> (n, m)``: l_i at the rows of x of shape (n, d).
    grad : callable
        ``grad(x) -> (n, m, d)``: grad l_i.
    hessian : callable, optional
        ``hessian(x) -> (n, m, d, d)``. Without it, :meth:`hessian` (and so
        the order-2 SME) raises ``NotImplementedError``.
    probs : array_like, shape (m,), optional
        Weights p_i (default uniform 1/m).
    batch_size : int, default 1
        Mini-batch size B.
    sampling : {"with_replacement", "reshuffling", "cycling"}
        Mini-batch scheme (:mod:`smecore.problems.sampling`); the last two
        need uniform weights.

    Raises
    ------
    TypeError
        If ``loss``, ``grad`` or ``hessian`` is not callable.
    ValueError
        On bad sizes, weights or scheme; later, when a callable returns a
        wrong shape or a non-finite value (the message names the callable).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([-1.0, 0.0, 4.0])                 # three samples, l_i(x) = (x - a_i)^2 / 2
    >>> p = PerSampleObjective(
    ...     1, 3, loss=lambda x: 0.5 * (x - a) ** 2, grad=lambda x: (x - a)[..., None],
    ...     hessian=lambda x: np.ones((x.shape[0], 3, 1, 1)))
    >>> p.grad([0.0]), p.noise_cov([0.0])
    (array([-1.]), array([[4.66666667]]))
    >>> PerSampleObjective(1, 3, loss=lambda x: x, grad=lambda x: x).value([0.0])
    Traceback (most recent call last):
        ...
    ValueError: loss returned shape (1, 1) for x of shape (1, 1); expected (1, 3)
    """

    def __init__(self, dim, n_samples, loss, grad, hessian=None, *, probs=None, batch_size=1,
                 sampling="with_replacement"):
        self.dim = positive_int(dim, "dim")
        self.noise_dim = self.dim
        m = positive_int(n_samples, "n_samples")
        self.batch_size = positive_int(batch_size, "batch_size")
        for name, fn, required in [("loss", loss, True), ("grad", grad, True),
                                   ("hessian", hessian, False)]:
            if (required or fn is not None) and not callable(fn):
                raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
        self._loss, self._grad_fn, self._hessian_fn = loss, grad, hessian
        self.probs = _check_probs(probs, m)
        sampling = check_scheme(sampling)
        if sampling != "with_replacement" and not self._uniform:
            raise ValueError(f"sampling {sampling!r} needs uniform probs (equal weights)")
        self.sampling = sampling
        self._sampler = EpochSampler(sampling, m, self.batch_size)

    def _call(self, name, fn, x, tail):
        """Call ``fn`` on the rows of x; check shape (n, m, *tail) and finiteness."""
        x = self._points(x)
        rows = x.reshape(-1, self.dim)
        out = np.asarray(fn(rows), dtype=float)
        want = (rows.shape[0], self.n_components) + tail
        if out.shape != want:
            raise ValueError(
                f"{name} returned shape {out.shape} for x of shape {rows.shape}; expected {want}"
            )
        if not np.all(np.isfinite(out)):
            raise ValueError(f"{name} returned non-finite values at x of shape {rows.shape}")
        return out.reshape(x.shape[:-1] + want[1:])

    def component_values(self, x):
        return self._call("loss", self._loss, x, ())

    def component_grads(self, x):
        return self._call("grad", self._grad_fn, x, (self.dim,))

    def component_hessians(self, x):
        if self._hessian_fn is None:
            raise NotImplementedError(
                "this PerSampleObjective was built without hessian: pass hessian=lambda x: "
                "(n, m, d, d) per-sample Hessians to use Hessians or the order-2 SME"
            )
        return self._call("hessian", self._hessian_fn, x, (self.dim, self.dim))

    def __repr__(self) -> str:
        return (f"PerSampleObjective(dim={self.dim}, n_samples={self.n_components}, "
                f"batch_size={self.batch_size}, sampling={self.sampling!r})")
