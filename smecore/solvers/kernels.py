"""Fused compiled kernels for diagonal-noise SDEs, driven by counter-based random streams.

:func:`solve_sde_counter` (also ``solve_sde(..., backend="numba")``) solves a
:class:`~smecore.sme.DiagonalNoiseSDE` by Euler-Maruyama or (additive noise) the
stochastic Heun method, with increments from :mod:`smecore.estimation.counter`:
the increment of path p, step k, coordinate j is a pure function of
``(key, p, k, j)``, key = ``counter_key(rng)``. The random numbers therefore
differ from those of the default ``backend="numpy"`` path (block-seeded
generators), but every path is reproducible on its own and results are
bit-identical for any ``chunk_size``, ``executor`` and numba thread count.

**What compiles.** The kernel runs in numba when the SDE is a
:class:`~smecore.sme.PolynomialDiagonalSDE`: coordinatewise
polynomial drift (affine drift, the double well of benchmark W1, ...) and
constant (additive) or affine diagonal noise, time independent. Any other
diagonal-noise SDE, or a machine without numba, runs the *same scheme on the
same counter streams* in numpy (:func:`counter_step`), calling the SDE's
``drift`` and ``diagonal_diffusion``; that numpy path is the reference the
kernel is tested against.

**One kernel call** advances all paths of a chunk from one record step to the
next, in parallel over paths (``numba.prange``; paths never interact, so the
thread count cannot change a result); per path and step it hashes the step
seed once, then for each coordinate draws its increment (one hash; Rademacher:
one hash per 64 coordinates), evaluates the drift by Horner's rule and updates
the state in a register. Euler with random signs and additive noise (the W1
case) instead runs tiles of ``TILE`` paths with the paths innermost, so the
update vectorises (same operations, same bits). Observables are reduced by
:class:`~smecore.estimation.StatsRecorder` at the record steps only (streamed
statistics: nothing path x step is stored), and no step after the last record
step is simulated.

**Agreement with the reference.** Both compute the same floating-point
operations in the same order (``(x + h b) + s dW``, Horner from the top
coefficient; LLVM does not contract them into fused multiply-adds without
fastmath, which is off), so states agree bit for bit, except where a Gaussian
draw reaches the ziggurat's wedge or tail and libm's exp/log1p differ in the last
bit between numpy and LLVM (relative 1e-14, see :mod:`smecore.estimation.counter_jit`).

Schemes: ``"euler"`` (weak order 1; discrete increments are random signs) and
``"weak2"`` for additive noise: stochastic Heun, Ybar = Y + a h + s dW,
Y' = Y + (a(Y) + a(Ybar)) h / 2 + s dW (Kloeden & Platen 1992, (15.1.5) with
constant sigma; weak order 2), discrete increments three-point
(+-sqrt(3) w.p. 1/6 each, 0 w.p. 2/3, from a counter uniform).

Each kernel variant (drift degree, scheme, increments, noise) is compiled on
its first use in a process (a few seconds); numba runs ``prange`` on all cores
by default, so with a process pool set ``NUMBA_NUM_THREADS=1`` in the workers.

References
----------
P. E. Kloeden and E. Platen, *Numerical Solution of Stochastic Differential
Equations*, Springer 1992, sections 14.2 and 15.1.
"""

from __future__ import annotations

import numpy as np

from .._validation import DivergenceError, check_finite_state, one_of, positive_float, positive_int
from ..estimation.counter import (
    counter_key,
    counter_normal,
    counter_rademacher,
    counter_uniform,
)
from ..estimation.counter_jit import (
    HAVE_NUMBA,
    jit_normal,
    jit_path_seed,
    jit_step_seed,
    jit_uniform,
    jit_word,
    tables,
)
from ..estimation.montecarlo import counter_monte_carlo
from ..estimation.observables import Statistics, StatsRecorder, normalize_observables, record_steps
from ..estimation.streams import DEFAULT_BLOCK_SIZE
from ..sme.polynomial import PolynomialDiagonalSDE
from .sde_solve import _check_sde, _check_t0, _initial_state

__all__ = ["BACKENDS", "fused_spec", "counter_step", "solve_sde_counter"]

#: ``"numba"``: compiled where :func:`fused_spec` allows, else the numpy reference;
#: ``"numpy"``: always the numpy reference of the same counter-based scheme.
BACKENDS = ("numba", "numpy")

_BOUND = 1e100  # as smecore._validation.check_finite_state
_SQRT3 = float(np.sqrt(3.0))
_WHAT = "SDE solve (counter streams)"

_KERNELS = {}


def _kernel(n_coef, heun, discrete, additive):
    """The fused kernel specialised (at compile time) to one drift degree, scheme and noise."""
    spec = (n_coef, heun, discrete, additive)
    if spec not in _KERNELS:
        _KERNELS[spec] = _make_kernel(*spec)
    return _KERNELS[spec]


def _make_kernel(n_coef, heun, discrete, additive):
    import numba
    from numba import prange

    rademacher = discrete and not heun and additive
    three_point = discrete and heun
    top = n_coef - 1

    @numba.njit(inline="always")
    def drift(coef, j, y):
        b = coef[top, j]
        for r in range(top - 1, -1, -1):  # constant trip count: unrolled
            b = b * y + coef[r, j]
        return b

    @numba.njit(parallel=True)
    def kernel(x, key, p0, k0, k1, h, sqrt_h, coef, ns, s0, s1, ki, wi, fi, bad):
        n, d = x.shape
        hh = 0.5 * h
        for a in prange(n):
            sp = jit_path_seed(key, p0 + a)
            for k in range(k0, k1):
                s = jit_step_seed(sp, k)
                ok = True
                if rademacher:  # one word per 64 coordinates; the inner loop vectorises
                    for j0 in range(0, d, 64):
                        w = jit_word(s, j0 >> 6)
                        for j in range(j0, min(d, j0 + 64)):
                            xi = 1.0 - 2.0 * np.float64((w >> np.uint64(j - j0)) & np.uint64(1))
                            xj = x[a, j]
                            xn = (xj + h * drift(coef, j, xj)) + ns[j] * xi
                            x[a, j] = xn
                            ok &= abs(xn) <= _BOUND
                    if not ok:
                        bad[a] = k + 1
                        break
                    continue
                for j in range(d):
                    if discrete and not heun:
                        w = jit_word(s, j >> 6)
                        xi = 1.0 - 2.0 * np.float64((w >> np.uint64(j & 63)) & np.uint64(1))
                    elif three_point:
                        u = jit_uniform(jit_word(s, j))
                        xi = _SQRT3 if u > 5.0 / 6.0 else (-_SQRT3 if u < 1.0 / 6.0 else 0.0)
                    else:
                        xi = jit_normal(jit_word(s, j), ki, wi, fi)
                    xj = x[a, j]
                    b = drift(coef, j, xj)
                    if additive:
                        inc = ns[j] * xi
                    else:
                        inc = (s0[j] + s1[j] * xj) * (sqrt_h * xi)
                    if heun:
                        yb = (xj + h * b) + inc
                        xn = (xj + hh * (b + drift(coef, j, yb))) + inc
                    else:
                        xn = (xj + h * b) + inc
                    x[a, j] = xn
                    ok &= abs(xn) <= _BOUND
                if not ok:
                    bad[a] = k + 1
                    break

    if rademacher:
        return _make_tiled_rademacher(drift)
    return kernel


#: Paths per tile of the random-sign kernel: its state (d x TILE) sits in L1, and the
#: innermost loop runs over the tile's paths, contiguous, so it vectorises.
TILE = 128


def _make_tiled_rademacher(drift):
    """Euler with random signs and additive noise, vectorised over the paths of a tile.

    The same operations as the row kernel, element by element (so the same bits); the
    divergence flag is per tile (``bad[tile]`` = first bad step), enough to raise at the
    first step at which any path leaves the bound.
    """
    import numba
    from numba import prange

    @numba.njit(parallel=True)
    def kernel(x, key, p0, k0, k1, h, sqrt_h, coef, ns, s0, s1, ki, wi, fi, bad):
        n, d = x.shape
        n_tiles = (n + TILE - 1) // TILE
        for t in prange(n_tiles):
            a0 = t * TILE
            m = min(TILE, n - a0)
            xt = np.empty((d, m))
            sp = np.empty(m, dtype=np.uint64)
            w = np.empty(m, dtype=np.uint64)
            for a in range(m):
                sp[a] = jit_path_seed(key, p0 + a0 + a)
                for j in range(d):
                    xt[j, a] = x[a0 + a, j]
            for k in range(k0, k1):
                ok = True
                for j0 in range(0, d, 64):
                    for a in range(m):
                        w[a] = jit_word(jit_step_seed(sp[a], k), j0 >> 6)
                    for j in range(j0, min(d, j0 + 64)):
                        shift = np.uint64(j - j0)
                        nsj = ns[j]
                        row = xt[j]
                        for a in range(m):
                            xi = 1.0 - 2.0 * np.float64((w[a] >> shift) & np.uint64(1))
                            xv = row[a]
                            xn = (xv + h * drift(coef, j, xv)) + nsj * xi
                            row[a] = xn
                            ok &= abs(xn) <= _BOUND
                if not ok:
                    bad[t] = k + 1
                    break
            for a in range(m):
                for j in range(d):
                    x[a0 + a, j] = xt[j, a]

    return kernel


def fused_spec(sde):
    """The compiled kernel's description of ``sde``, or None if it cannot be compiled.

    Parameters
    ----------
    sde : SDE

    Returns
    -------
    dict or None
        ``coef`` (R + 1, d), ``s0``, ``s1`` (d,), ``additive`` for a
        :class:`~smecore.sme.PolynomialDiagonalSDE`; None otherwise
        (then ``backend="numba"`` runs the numpy reference).

    Examples
    --------
    >>> from smecore.sme.polynomial import PolynomialDiagonalSDE
    >>> fused_spec(PolynomialDiagonalSDE([0.0, -1.0], dim=3, scale=1.0))["additive"]
    True
    """
    if not isinstance(sde, PolynomialDiagonalSDE):
        return None
    return {"coef": np.ascontiguousarray(sde.coefficients, dtype=float),
            "s0": np.ascontiguousarray(sde.noise_offset, dtype=float),
            "s1": np.ascontiguousarray(sde.noise_slope, dtype=float),
            "additive": sde.scale is not None}


def _unit_increments(key, p, k, d, scheme, increments, coarsen=1):
    if coarsen > 1:
        # The step k of a grid coarsened by ``coarsen`` carries the normalised sum of the
        # fine steps it spans: the same Brownian path, regenerated, not stored.
        fine = [_unit_increments(key, p, k * coarsen + r, d, scheme, increments)
                for r in range(coarsen)]
        return sum(fine[1:], fine[0]) / np.sqrt(coarsen)
    j = np.arange(d)
    if increments == "gaussian":
        return counter_normal(key, p, k, j)
    if scheme == "euler":
        return counter_rademacher(key, p, k, j)
    u = counter_uniform(key, p, k, j)
    return _SQRT3 * ((u > 5.0 / 6.0).astype(float) - (u < 1.0 / 6.0))


def counter_step(sde, x, t, h, key, p, k, *, scheme="euler", increments="gaussian", coarsen=1):
    """One step of the counter-based scheme in numpy (the reference of the kernel).

    Parameters
    ----------
    sde : DiagonalNoiseSDE
    x : ndarray, shape (n, sde.dim)
        States of paths ``p``; not modified.
    t, h : float
        Time and step.
    key : int
        Stream key (:func:`smecore.estimation.counter_key`).
    p : ndarray of int, shape (n,)
        Global path indices.
    k : int
        Step index (the counter of the step from t to t + h).
    scheme : {"euler", "weak2"}
    increments : {"gaussian", "discrete"}
    coarsen : int, default 1
        The step spans the fine steps ``k coarsen, ..., k coarsen + coarsen - 1`` of a
        grid ``coarsen`` times finer on the same key, and its unit increment is their
        sum divided by ``sqrt(coarsen)``: the Brownian increment of the same path. Exact
        in law for Gaussian increments only (the caller checks).

    Returns
    -------
    ndarray, shape (n, sde.dim)

    Examples
    --------
    >>> from smecore.sme.polynomial import PolynomialDiagonalSDE
    >>> ou = PolynomialDiagonalSDE([0.0, -1.0], dim=2, scale=1.0)
    >>> x = counter_step(ou, np.ones((3, 2)), 0.0, 0.01, 7, np.arange(3), 0)
    >>> x.shape
    (3, 2)
    """
    sqrt_h = float(np.sqrt(h))
    xi = _unit_increments(key, np.asarray(p)[:, None], k, x.shape[1], scheme, increments, coarsen)
    a = np.array(np.broadcast_to(sde.drift(t, x), x.shape), dtype=float)
    if sde.scale is not None:
        inc = (np.asarray(sde.scale, dtype=float) * sqrt_h) * xi
    else:
        inc = np.asarray(sde.diagonal_diffusion(t, x), dtype=float) * (sqrt_h * xi)
    if scheme == "euler":
        return (x + h * a) + inc
    y_bar = (x + h * a) + inc
    return (x + (0.5 * h) * (a + sde.drift(t + h, y_bar))) + inc


class _CounterChunk:
    """Picklable chunk of :func:`solve_sde_counter`: paths [p_start, p_start + sum(sizes))."""

    def __init__(self, sde, x0, t0, h, scheme, increments, steps, observables, key, compiled):
        self.sde, self.x0, self.t0, self.h = sde, x0, t0, h
        self.scheme, self.increments = scheme, increments
        self.steps, self.observables, self.key = steps, observables, key
        self.compiled = compiled

    def _advance(self, x, p_start, k0, k1):
        if self.compiled:
            spec = fused_spec(self.sde)
            sqrt_h = float(np.sqrt(self.h))
            ki, wi, fi = tables()
            bad = np.full(x.shape[0], -1, dtype=np.int64)
            kernel = _kernel(spec["coef"].shape[0], self.scheme == "weak2",
                             self.increments == "discrete", spec["additive"])
            kernel(x, np.uint64(self.key), p_start, k0, k1, self.h, sqrt_h, spec["coef"],
                   spec["s0"] * sqrt_h, spec["s0"], spec["s1"], ki, wi, fi, bad)
            if np.any(bad >= 0):
                raise DivergenceError(
                    f"{_WHAT} diverged at step {int(bad[bad >= 0].min())}: the state left "
                    f"|x| <= {_BOUND:g}; the step size is too large for this problem.")
            return x
        p = np.arange(p_start, p_start + x.shape[0])
        for k in range(k0, k1):
            with np.errstate(over="ignore", invalid="ignore"):
                x = counter_step(self.sde, x, self.t0 + k * self.h, self.h, self.key, p, k,
                                 scheme=self.scheme, increments=self.increments)
            check_finite_state(x, k + 1, _WHAT)
        return x

    def __call__(self, p_start, sizes):
        n = int(sum(sizes))
        recorder = StatsRecorder(self.observables, list(sizes))
        x = np.empty((n, self.x0.size))  # C order: np.array(broadcast_to(...)) keeps F order
        x[:] = self.x0
        k = 0
        for target in self.steps:
            if target > k:
                x = self._advance(x, p_start, k, int(target))
                k = int(target)
            recorder.record(x)
        return recorder.result()


def solve_sde_counter(sde, x0, T, *, n_steps, scheme="euler", increments="gaussian", n_paths,
                      rng=None, record=None, observables=None, t0=0.0,
                      block_size=DEFAULT_BLOCK_SIZE, chunk_size=None, executor=None,
                      backend="numba") -> Statistics:
    """Monte Carlo statistics of a diagonal-noise SDE on counter-based streams (fused kernel).

    Parameters
    ----------
    sde : DiagonalNoiseSDE
        Compiled when it is a :class:`~smecore.sme.PolynomialDiagonalSDE`
        (see :func:`fused_spec`); otherwise the numpy reference runs.
    x0, T, n_steps, n_paths, record, observables, t0
        As in :func:`smecore.solvers.solve_sde`.
    scheme : {"euler", "weak2"}
        ``weak2`` (stochastic Heun) needs additive noise.
    increments : {"gaussian", "discrete"}
        Ziggurat normals, or random signs (euler) / three-point variables (weak2).
    rng : seed-like, optional
        Gives the stream key through ``SeedSequence``.
    block_size : int
        Paths per block of the statistics (blocks are combined in order); the
        random numbers do not depend on it.
    chunk_size : int, optional
        Paths per unit of work, rounded up to whole blocks (default 16 blocks);
        does not change the result.
    executor : concurrent.futures.Executor, optional
        Runs chunks in parallel; the result is identical to the serial run.
    backend : {"numba", "numpy"}
        Compiled kernel where possible, or always the numpy reference.

    Returns
    -------
    Statistics

    Raises
    ------
    TypeError, ValueError
        Bad arguments (naming the argument), a non-diagonal SDE, or ``weak2``
        with multiplicative noise.
    smecore.DivergenceError
        If a path leaves ``|x|`` <= 1e100 (the message gives the step).

    Examples
    --------
    >>> from smecore.sme.polynomial import PolynomialDiagonalSDE
    >>> ou = PolynomialDiagonalSDE([0.0, -1.0], dim=1, scale=1.0)
    >>> st = solve_sde_counter(ou, [1.0], 1.0, n_steps=20, scheme="weak2", n_paths=20000,
    ...                        rng=0, record=[20])
    >>> bool(abs(st["x"].mean[-1, 0] - np.exp(-1)) < 4 * st["x"].stderr[-1, 0] + 2e-3)
    True
    """
    sde = _check_sde(sde)
    if getattr(sde, "noise_type", "general") != "diagonal":
        raise ValueError("counter-based kernels need a DiagonalNoiseSDE (diagonal noise); "
                         "use backend='numpy' for other SDEs")
    x0 = _initial_state(sde, x0)
    T = positive_float(T, "T")
    n_steps = positive_int(n_steps, "n_steps")
    n_paths = positive_int(n_paths, "n_paths")
    block_size = positive_int(block_size, "block_size")
    one_of(scheme, "scheme", ("euler", "weak2"))
    one_of(increments, "increments", ("gaussian", "discrete"))
    one_of(backend, "backend", BACKENDS)
    if scheme == "weak2" and sde.scale is None:
        raise ValueError("scheme='weak2' on counter streams needs additive noise (a constant scale)")
    t0 = _check_t0(t0)
    steps = record_steps(record, n_steps)
    observables = normalize_observables(observables)
    h = T / n_steps
    compiled = backend == "numba" and HAVE_NUMBA and fused_spec(sde) is not None
    chunk = _CounterChunk(sde, x0, t0, h, scheme, increments, steps, observables,
                          counter_key(rng), compiled)
    estimates = counter_monte_carlo(chunk, n_paths, block_size=block_size,
                                    chunk_size=chunk_size, executor=executor)
    return Statistics(t0 + steps * h, steps, estimates)
