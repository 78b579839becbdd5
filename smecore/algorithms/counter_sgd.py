"""SGD on least squares in a fused compiled kernel, with counter-based sample indices.

``run(SGD(lr), LinearRegression(A, y), ..., backend="numba")`` lands here
(:func:`run_sgd_counter`). The mini-batch index of path p, step k and batch member b
is a pure function of ``(key, p, k, b)``:

    i = min(floor(U(key, p, k, b) n), n - 1),

with U the 53-bit uniform of :func:`smecore.estimation.counter_uniform` and n the
number of data points (the bias of ``floor(U n)`` against an exactly uniform index is
below n 2^-53 per index). So every path is reproducible on its own, and the result is
bit for bit the same for any ``chunk_size``, ``executor`` and numba thread count. The
random numbers differ from those of the default ``backend="numpy"`` (block-seeded
generators); the law is the same: indices iid uniform, with replacement.

**One kernel call** advances all paths of a chunk from one record step to the next, in
parallel over tiles of ``TILE`` paths (``numba.prange``; paths never interact). Per path
and step it hashes the step seed once, and per batch member draws the index (one hash),
forms the residual ``r = a_i . x - y_i`` (coordinates in order) and accumulates
``g += r a_i``; then ``x -= (lr / B) g``. Within a tile the paths run innermost, so
their independent chains overlap. Observables are reduced at the record steps only.

**The reference.** :func:`counter_sgd_step` performs the same floating-point operations
in the same order in numpy, coordinate by coordinate, so kernel and reference agree bit
for bit (LLVM does not contract products and sums into fused multiply-adds without
fastmath, which is off); the tests check it. Without numba, ``backend="numba"`` runs
this reference.

Cost of one step on n paths with batch size B in dimension d: B (d + 1) multiply-adds
twice over (residual and accumulation) and B + 1 hashes per path; the data matrix
stays in cache for moderate n d.
"""

from __future__ import annotations

import numpy as np

from .._validation import DivergenceError, check_finite_state
from ..estimation.counter import counter_key, counter_uniform
from ..estimation.counter_jit import (
    HAVE_NUMBA,
    jit_path_seed,
    jit_step_seed,
    jit_uniform,
    jit_word,
)
from ..estimation.montecarlo import counter_monte_carlo
from ..estimation.observables import StatsRecorder
from ..estimation.streams import DEFAULT_BLOCK_SIZE
from ..problems import LinearRegression
from .methods import SGD

__all__ = ["counter_indices", "counter_sgd_step", "counter_sgd_supported", "run_sgd_counter"]

_BOUND = 1e100  # as smecore._validation.check_finite_state
_WHAT = "SGD (counter streams)"
_KERNELS = {}


def counter_sgd_supported(algorithm, problem, observe="position"):
    """Why ``backend="numba"`` cannot run this combination, or None if it can.

    The fused kernel covers plain :class:`~smecore.algorithms.SGD` on a
    :class:`~smecore.problems.LinearRegression` (uniform sampling with replacement),
    observed in position.

    Parameters
    ----------
    algorithm : Algorithm
    problem : StochasticObjective
    observe : str

    Returns
    -------
    str or None
        The reason, to be put in an error message.

    Examples
    --------
    >>> from smecore.algorithms import SGD, MomentumSGD
    >>> from smecore.problems import LinearRegression
    >>> counter_sgd_supported(SGD(0.1), LinearRegression([[1.0]], [1.0])) is None
    True
    >>> counter_sgd_supported(MomentumSGD(0.1, 0.9), LinearRegression([[1.0]], [1.0]))
    'the fused kernel runs plain SGD, got MomentumSGD'
    """
    if type(algorithm) is not SGD:
        return f"the fused kernel runs plain SGD, got {type(algorithm).__name__}"
    if type(problem) is not LinearRegression:
        return f"the fused kernel runs on LinearRegression, got {type(problem).__name__}"
    if getattr(problem, "sampling", "with_replacement") != "with_replacement":
        return "the fused kernel samples with replacement"
    if observe != "position":
        return "the fused kernel observes the position only"
    return None


def counter_indices(key, p, k, batch_size, n_samples):
    """Mini-batch indices of paths ``p`` at step ``k``: shape (len(p), batch_size).

    Parameters
    ----------
    key : int
        Stream key (:func:`smecore.estimation.counter_key`).
    p : array_like of int
        Global path indices.
    k : int
        Step index.
    batch_size, n_samples : int

    Returns
    -------
    ndarray of int64

    Examples
    --------
    >>> idx = counter_indices(7, np.arange(50000), 0, 1, 10)
    >>> sorted(set(idx.ravel().tolist())) == list(range(10))
    True
    >>> bool(abs(np.bincount(idx.ravel()).mean() - 5000) < 1)
    True
    """
    u = counter_uniform(key, np.asarray(p)[:, None], k, np.arange(batch_size))
    return np.minimum((u * n_samples).astype(np.int64), n_samples - 1)


def counter_sgd_step(x, A, y, step, key, p, k, batch_size):
    """One SGD step on least squares in numpy, the kernel's reference (bit for bit).

    Parameters
    ----------
    x : ndarray, shape (n, d)
        Iterates of paths ``p``; not modified.
    A, y : ndarray, shapes (m, d) and (m,)
        The data.
    step : float
        ``lr / batch_size``.
    key, p, k, batch_size
        As in :func:`counter_indices`.

    Returns
    -------
    ndarray, shape (n, d)
        ``x - sum_b c_b a_{i_b}`` with ``c_b = step (a_{i_b} . x - y_{i_b})``, the sum
        taken in order of b.

    Examples
    --------
    >>> A, y = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([1.0, 2.0])
    >>> counter_sgd_step(np.zeros((2, 2)), A, y, 0.1, 0, np.arange(2), 0, 1).shape
    (2, 2)
    """
    idx = counter_indices(key, p, k, batch_size, A.shape[0])
    d = x.shape[1]
    g = None
    for b in range(batch_size):
        a = A[idx[:, b]]
        c = a[:, 0] * x[:, 0]
        for j in range(1, d):
            c = c + a[:, j] * x[:, j]
        c = step * (c - y[idx[:, b]])
        g = c[:, None] * a if g is None else g + c[:, None] * a
    return x - g


#: Paths per tile of the kernel: the tile's iterates and gradients (2 d TILE floats) sit
#: in L1, and the innermost loops run over the tile's paths, whose dependency chains
#: (the residual's sum over coordinates) are independent, so they overlap and vectorise.
TILE = 64


def _compiled_kernel(single):
    """The kernel, specialised at compile time to batch size 1 (``single``) or larger."""
    if single not in _KERNELS:
        import numba
        from numba import prange

        @numba.njit(parallel=True)
        def kernel(x, key, p0, k0, k1, A, y, step, batch, bad):
            n, d = x.shape
            m = A.shape[0]
            n_tiles = (n + TILE - 1) // TILE
            for tile in prange(n_tiles):
                a0 = tile * TILE
                nt = min(TILE, n - a0)
                xt = np.empty((d, nt))
                g = np.empty((d, nt))
                c = np.empty(nt)
                idx = np.empty(nt, dtype=np.int64)
                sp = np.empty(nt, dtype=np.uint64)
                s = np.empty(nt, dtype=np.uint64)
                for t in range(nt):
                    sp[t] = jit_path_seed(key, p0 + a0 + t)
                    for j in range(d):
                        xt[j, t] = x[a0 + t, j]
                for k in range(k0, k1):
                    for t in range(nt):
                        s[t] = jit_step_seed(sp[t], k)
                    for b in range(batch):
                        for t in range(nt):
                            i = np.int64(jit_uniform(jit_word(s[t], b)) * m)
                            idx[t] = i if i < m else m - 1
                        for t in range(nt):
                            c[t] = A[idx[t], 0] * xt[0, t]
                        for j in range(1, d):
                            for t in range(nt):
                                c[t] = c[t] + A[idx[t], j] * xt[j, t]
                        for t in range(nt):
                            c[t] = step * (c[t] - y[idx[t]])
                        if single:  # batch 1: x -= c a directly
                            for j in range(d):
                                for t in range(nt):
                                    xt[j, t] = xt[j, t] - c[t] * A[idx[t], j]
                        elif b == 0:
                            for j in range(d):
                                for t in range(nt):
                                    g[j, t] = c[t] * A[idx[t], j]
                        else:
                            for j in range(d):
                                for t in range(nt):
                                    g[j, t] = g[j, t] + c[t] * A[idx[t], j]
                    if not single:
                        for j in range(d):
                            for t in range(nt):
                                xt[j, t] = xt[j, t] - g[j, t]
                    fine = 0  # an integer count vectorises; NaN fails the test
                    for j in range(d):
                        for t in range(nt):
                            fine += abs(xt[j, t]) <= _BOUND
                    if fine != d * nt:  # rare: find the paths
                        for t in range(nt):
                            if bad[a0 + t] < 0:
                                for j in range(d):
                                    if not abs(xt[j, t]) <= _BOUND:
                                        bad[a0 + t] = k + 1
                                        break
                for t in range(nt):
                    for j in range(d):
                        x[a0 + t, j] = xt[j, t]

        _KERNELS[single] = kernel
    return _KERNELS[single]


class _CounterSGDChunk:
    """Picklable chunk of :func:`run_sgd_counter`: paths [p_start, p_start + sum(sizes))."""

    def __init__(self, A, y, step, batch_size, x0, steps, observables, key, compiled):
        self.A, self.y, self.step, self.batch_size = A, y, step, batch_size
        self.x0, self.steps, self.observables, self.key = x0, steps, observables, key
        self.compiled = compiled

    def _advance(self, x, p_start, k0, k1):
        if self.compiled:
            bad = np.full(x.shape[0], -1, dtype=np.int64)
            _compiled_kernel(self.batch_size == 1)(x, np.uint64(self.key), p_start, k0, k1, self.A, self.y,
                               self.step, self.batch_size, bad)
            if np.any(bad >= 0):
                raise DivergenceError(
                    f"{_WHAT} diverged at step {int(bad[bad >= 0].min())}: the state left "
                    f"|x| <= {_BOUND:g}; lr is too large for this problem.")
            return x
        p = np.arange(p_start, p_start + x.shape[0])
        for k in range(k0, k1):
            with np.errstate(over="ignore", invalid="ignore"):
                x = counter_sgd_step(x, self.A, self.y, self.step, self.key, p, k,
                                     self.batch_size)
            check_finite_state(x, k + 1, _WHAT)
        return x

    def __call__(self, p_start, sizes):
        recorder = StatsRecorder(self.observables, list(sizes))
        x = np.empty((int(sum(sizes)), self.x0.size))
        x[:] = self.x0
        k = 0
        for target in self.steps:
            if target > k:
                x = self._advance(x, p_start, k, int(target))
                k = int(target)
            recorder.record(x)
        return recorder.result()


def run_sgd_counter(lr, problem, x0, steps, observables, *, n_paths, rng=None,
                    block_size=DEFAULT_BLOCK_SIZE, chunk_size=None, executor=None,
                    compiled=True) -> dict:
    """Block statistics of SGD on least squares, on counter streams (the fused kernel).

    Called by :func:`smecore.algorithms.run` with ``backend="numba"``, after it has
    validated its arguments (the stability checks included).

    Parameters
    ----------
    lr : float
        Learning rate.
    problem : LinearRegression
    x0 : ndarray, shape (d,)
    steps : ndarray of int
        Record steps, increasing.
    observables : dict of str to callable
    n_paths, block_size, chunk_size, executor
        As in :func:`smecore.algorithms.run`; neither ``chunk_size`` nor ``executor``
        changes the result.
    rng : seed-like, optional
        Gives the stream key (:func:`smecore.estimation.counter_key`).
    compiled : bool, default True
        False runs the numpy reference (also the fallback without numba).

    Returns
    -------
    dict of str to MCEstimate
    """
    batch = int(problem.batch_size)
    chunk = _CounterSGDChunk(np.ascontiguousarray(problem.A, dtype=float),
                             np.ascontiguousarray(problem.y, dtype=float), float(lr) / batch,
                             batch, np.asarray(x0, dtype=float), steps, observables,
                             counter_key(rng), bool(compiled and HAVE_NUMBA))
    return counter_monte_carlo(chunk, n_paths, block_size=block_size, chunk_size=chunk_size,
                               executor=executor)
