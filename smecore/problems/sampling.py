"""Mini-batch sampling schemes for finite sums: with replacement, random reshuffling, cycling.

A finite sum f(x) = (1/m) sum_i f_i(x) is run with mini-batches of size B.
Three schemes choose the batch of step k:

``"with_replacement"``
    B indices drawn i.i.d. uniformly (the setting of Li, Tai & E 2019).
    Noise law: the batches of different steps are independent; the batch
    gradient has mean grad f(x) and covariance Sigma(x) / B, with
    Sigma(x) = (1/m) sum_i (g_i - grad f)(g_i - grad f)^T, g_i = grad f_i(x).
``"reshuffling"``
    Random reshuffling (without replacement within an epoch). Each epoch of
    n_b = floor(m / B) steps draws a fresh uniform permutation per path and
    takes its consecutive slices of length B (the m - n_b B leftover samples
    of the permutation are not used that epoch, "drop last"). Noise law: the
    batch of any one step is a uniform random B-subset, so its gradient has
    mean grad f(x) and covariance Sigma(x) / B * (m - B) / (m - 1) (the
    finite-population correction); the batches of one epoch are disjoint, so
    their noises are negatively correlated: when B divides m, the batch
    gradients of an epoch, evaluated at one point x, sum to n_b grad f(x)
    exactly (their epoch mean has covariance 0).
``"cycling"``
    Fixed order, no randomness: step k takes the samples
    (k mod n_b) B, ..., (k mod n_b) B + B - 1. Noise law: deterministic; at a
    fixed x the batch gradients of an epoch average to grad f(x) when B
    divides m, and their (empirical, over the epoch) covariance is
    (1/n_b) sum_j (g_{batch j} - grad f)(g_{batch j} - grad f)^T.

*How the epoch state stays reproducible.* ``sample_grad(x, rng)`` does not receive the step number. The sampler counts
the calls made with the same random source: the k-th call with a given
``rng`` object is step k (every algorithm of :mod:`smecore.algorithms` draws
one mini-batch per step). For a :class:`~smecore.estimation.PathRandom` the
counter and the current permutations live on that object (one per chunk of
paths), and the permutations are drawn as ``argsort(rng.random((n, m)))``,
block by block from each block's own generator: the indices of a path depend
only on its block's seed and on k, never on the chunk size, the tiling or
the executor. For a plain ``numpy.random.Generator`` the state is kept by the
objective, keyed by the generator (the last 64 generators used).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

__all__ = ["SCHEMES", "check_scheme", "EpochSampler", "scheme_noise_cov"]

#: The known sampling schemes.
SCHEMES = ("with_replacement", "reshuffling", "cycling")

_STATE_ATTRIBUTE = "_smecore_epoch_state"
_MAX_GENERATORS = 64


def check_scheme(scheme, name="sampling") -> str:
    """Return ``scheme`` if it is one of :data:`SCHEMES`, else raise naming the known ones.

    Examples
    --------
    >>> check_scheme("reshuffling")
    'reshuffling'
    >>> check_scheme("shuffle")
    Traceback (most recent call last):
        ...
    ValueError: sampling must be one of ('with_replacement', 'reshuffling', 'cycling'), got 'shuffle'
    """
    if not isinstance(scheme, str) or scheme not in SCHEMES:
        raise ValueError(f"{name} must be one of {SCHEMES!r}, got {scheme!r}")
    return scheme


class _Stream:
    """Epoch state of one random source: the step counter and the current permutations."""

    __slots__ = ("count", "perm")

    def __init__(self):
        self.count = 0
        self.perm = None


class EpochSampler:
    """Mini-batch indices under a sampling scheme, for m components and batch size B.

    Parameters
    ----------
    scheme : {"with_replacement", "reshuffling", "cycling"}
    n_components : int
        m.
    batch_size : int
        B; ``reshuffling`` and ``cycling`` need B <= m.

    Examples
    --------
    >>> s = EpochSampler("cycling", 4, 2)
    >>> rng = np.random.default_rng(0)
    >>> [s.indices(1, rng).tolist() for _ in range(3)]
    [[[0, 1]], [[2, 3]], [[0, 1]]]
    """

    def __init__(self, scheme, n_components, batch_size):
        self.scheme = check_scheme(scheme)
        self.m, self.batch = int(n_components), int(batch_size)
        if self.scheme != "with_replacement" and self.batch > self.m:
            raise ValueError(
                f"batch_size {self.batch} exceeds the {self.m} components: sampling "
                f"{self.scheme!r} draws without replacement"
            )
        self.n_batches = self.m // self.batch  # steps per epoch
        self._generators = OrderedDict()

    def __getstate__(self):  # the per-generator states do not travel to other processes
        state = self.__dict__.copy()
        state["_generators"] = OrderedDict()
        return state

    def _stream(self, rng) -> _Stream:
        try:
            table = rng.__dict__.setdefault(_STATE_ATTRIBUTE, {})
        except AttributeError:  # a numpy Generator: no attributes, no weak references
            entry = self._generators.get(id(rng))
            if entry is None or entry[0] is not rng:
                entry = (rng, _Stream())
                self._generators[id(rng)] = entry
                while len(self._generators) > _MAX_GENERATORS:
                    self._generators.popitem(last=False)
            self._generators.move_to_end(id(rng))
            return entry[1]
        return table.setdefault(id(self), _Stream())

    def indices(self, n, rng, draw_uniform=None):
        """Indices (n, B) of the next step's mini-batches of ``n`` paths.

        ``draw_uniform(n, rng)`` draws with-replacement indices (default:
        ``rng.integers(0, m, (n, B))``).
        """
        if self.scheme == "with_replacement":
            if draw_uniform is not None:
                return draw_uniform(n, rng)
            return rng.integers(0, self.m, (n, self.batch))
        stream = self._stream(rng)
        j = stream.count % self.n_batches
        stream.count += 1
        window = slice(j * self.batch, (j + 1) * self.batch)
        if self.scheme == "cycling":
            return np.broadcast_to(np.arange(self.m)[window], (n, self.batch)).copy()
        if j == 0 or stream.perm is None or stream.perm.shape[0] != n:
            stream.perm = np.argsort(rng.random((n, self.m)), axis=1, kind="stable")
        return stream.perm[:, window]


def scheme_noise_cov(component_grads, scheme, batch_size):
    """Covariance of one step's mini-batch gradient under a scheme, from the component gradients.

    Parameters
    ----------
    component_grads : ndarray, shape (..., m, d)
        g_i = grad f_i(x) (uniform weights 1/m).
    scheme : {"with_replacement", "reshuffling", "cycling"}
    batch_size : int
        B.

    Returns
    -------
    ndarray, shape (..., d, d)
        ``with_replacement``: Sigma / B. ``reshuffling``: the covariance of
        the gradient of a uniform random B-subset, Sigma / B (m - B) / (m - 1).
        ``cycling``: the covariance over the n_b = floor(m / B) batches of an
        epoch, (1/n_b) sum_j (g_{batch j} - gbar)(g_{batch j} - gbar)^T with
        gbar their mean (gbar = grad f when B divides m).

    Examples
    --------
    >>> g = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> float(scheme_noise_cov(g, "with_replacement", 2)[0, 0])
    0.625
    >>> round(float(scheme_noise_cov(g, "reshuffling", 2)[0, 0]), 12)
    0.416666666667
    >>> float(scheme_noise_cov(g, "cycling", 2)[0, 0])
    1.0
    """
    check_scheme(scheme, "scheme")
    g = np.asarray(component_grads, dtype=float)
    m, batch = g.shape[-2], int(batch_size)
    centred = g - g.mean(axis=-2, keepdims=True)
    sigma = np.einsum("...mi,...mj->...ij", centred, centred) / m
    if scheme == "with_replacement":
        return sigma / batch
    if batch > m:
        raise ValueError(f"batch_size {batch} exceeds the {m} components")
    if scheme == "reshuffling":
        return sigma / batch * ((m - batch) / (m - 1) if m > 1 else 0.0)
    n_b = m // batch
    means = g[..., : n_b * batch, :].reshape(g.shape[:-2] + (n_b, batch, g.shape[-1])).mean(axis=-2)
    dev = means - means.mean(axis=-2, keepdims=True)
    return np.einsum("...bi,...bj->...ij", dev, dev) / n_b
