"""Monte Carlo solution of Itô SDEs: streamed statistics and paths.

:func:`solve_sde` streams statistics of observables of the solution, vectorised
over paths and split into blocks through
:func:`smecore.estimation.monte_carlo` (bit-identical for any
``chunk_size`` and ``executor``); :func:`sample_sde_paths` returns paths. The
schemes are those of :mod:`smecore.solvers.steppers`.
"""

from __future__ import annotations

import numpy as np

from .._validation import (
    check_finite_state,
    finite_array,
    one_of,
    positive_float,
    positive_int,
)
from ..estimation.montecarlo import BlockStats, monte_carlo
from ..estimation.observables import (
    Statistics,
    StatsRecorder,
    normalize_observables,
    record_steps,
)
from ..estimation.streams import DEFAULT_BLOCK_SIZE, PathRandom
from ..sme.sde import SDE
from .steppers import INCREMENTS, SCHEMES, _make_stepper

__all__ = ["solve_sde", "sample_sde_paths"]


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------
def _check_sde(sde):
    if not isinstance(sde, SDE):
        raise TypeError(f"sde must be a smecore.sme.SDE, got {type(sde).__name__}")
    return sde


def _initial_state(sde, x0):
    """x0 as a state of shape (sde.dim,); a position suffices for momentum-type SMEs."""
    arr = finite_array(x0, "x0")
    if arr.ndim == 0 and sde.dim == 1:
        arr = arr.reshape(1)
    position_dim = getattr(sde, "position_dim", sde.dim)
    if arr.shape == (sde.dim,):
        return arr
    if arr.shape == (position_dim,) and hasattr(sde, "initial_state"):
        return sde.initial_state(arr)
    want = f"({sde.dim},)" + (f" or ({position_dim},)" if position_dim != sde.dim else "")
    raise ValueError(f"x0 must have shape {want}, got {arr.shape}")


def _check_scheme(sde, scheme, increments, allowed=SCHEMES):
    one_of(scheme, "scheme", allowed)
    one_of(increments, "increments", INCREMENTS)
    if scheme != "exact":
        return
    linear = getattr(sde, "linear", None)
    if linear is None or not linear.time_homogeneous or not linear.additive:
        raise ValueError(
            "scheme='exact' needs an SDE whose `linear` structure is time homogeneous "
            "and additive (constant diffusion); use scheme='weak2' instead"
        )
    if increments != "gaussian":
        raise ValueError("scheme='exact' samples the Gaussian transition: use increments='gaussian'")


def _check_t0(t0):
    if isinstance(t0, bool):
        raise TypeError("t0 must be a real number, got bool")
    return float(finite_array(t0, "t0", ndim=0))


# ---------------------------------------------------------------------------
# Path simulation
# ---------------------------------------------------------------------------
def _simulate(stepper, x0, t0, h, n_steps, rand, n, steps, on_record, what="SDE solve"):
    """Run n_steps steps from x0 for n paths, calling on_record(x) at ``steps``."""
    wanted = np.zeros(n_steps + 1, dtype=bool)
    wanted[steps] = True
    x = np.broadcast_to(x0, (n, x0.size)).copy()
    if wanted[0]:
        on_record(x)
    for k in range(n_steps):
        xi = stepper.draw_base(rand, n)
        rest = stepper.draw_rest(rand, n)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            x = stepper.step(t0 + k * h, x, xi, rest)
        check_finite_state(x, k + 1, what)
        if wanted[k + 1]:
            on_record(x)
    return x


#: Floats per tile of paths in the in-place path (at least one block): a few arrays of
#: this size stay in L2, and a user drift's temporaries stay below glibc's 128 KiB mmap
#: threshold, which matters where it is fixed (Dask workers set MALLOC_TRIM_THRESHOLD_,
#: and larger temporaries then cost a fresh mmap and page faults on every step).
TILE_FLOATS = 1 << 14


_BOUND_SQ = 1e200  # check_finite_state's bound, squared


def _check_finite_fast(x, step, what):
    """check_finite_state at the cost of one reduction.

    If every ``|x_i|`` <= 1e100 then sum x_i^2 <= size * 1e200, and a NaN or inf
    makes the sum NaN or inf; so only when the sum exceeds 1e200 (rare: the
    run is diverging) is the exact entrywise check needed.
    """
    flat = x.reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.einsum("i,i->", flat, flat)
    if not total <= _BOUND_SQ:
        check_finite_state(x, step, what)


def _simulate_tiles(stepper, x0, t0, h, n_steps, rand, steps, observables, what="SDE solve"):
    """The in-place path: each tile of whole blocks runs all its steps while it sits in cache.

    Every block keeps its own generator, so the result equals one pass over
    the chunk, bit for bit.
    """
    wanted = np.zeros(n_steps + 1, dtype=bool)
    wanted[steps] = True
    results = []
    for tile in rand.tiles(max(1, TILE_FLOATS // max(1, x0.size))):
        recorder = StatsRecorder(observables, tile.sizes)
        x = np.broadcast_to(x0, (tile.n_paths, x0.size)).copy()
        buf = np.empty_like(x)
        if wanted[0]:
            recorder.record(x)
        for k in range(n_steps):
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                stepper.advance(t0 + k * h, x, tile, buf)
            _check_finite_fast(x, k + 1, what)
            if wanted[k + 1]:
                recorder.record(x)
        results.append(recorder.result())
    return {name: BlockStats.concat(r[name] for r in results) for name in results[0]}


class _SolveChunk:
    """Picklable chunk function of :func:`solve_sde`."""

    def __init__(self, sde, x0, t0, h, n_steps, scheme, increments, steps, observables):
        self.sde, self.x0, self.t0, self.h, self.n_steps = sde, x0, t0, h, n_steps
        self.scheme, self.increments = scheme, increments
        self.steps, self.observables = steps, observables

    def __call__(self, rand):
        stepper = _make_stepper(self.sde, self.h, self.scheme, self.increments, self.t0)
        if hasattr(stepper, "advance"):
            return _simulate_tiles(stepper, self.x0, self.t0, self.h, self.n_steps, rand,
                                   self.steps, self.observables)
        recorder = StatsRecorder(self.observables, rand.sizes)
        _simulate(stepper, self.x0, self.t0, self.h, self.n_steps, rand, rand.n_paths,
                  self.steps, recorder.record)
        return recorder.result()


def solve_sde(
    sde,
    x0,
    T,
    *,
    n_steps,
    scheme="euler",
    increments="gaussian",
    n_paths,
    rng=None,
    record=None,
    observables=None,
    t0=0.0,
    block_size=DEFAULT_BLOCK_SIZE,
    chunk_size=None,
    executor=None,
    progress=None,
    backend="numpy",
) -> Statistics:
    """Monte Carlo statistics of observables of an SDE solved on [t0, t0 + T].

    Parameters
    ----------
    sde : SDE
    x0 : array_like, shape (sde.dim,)
        Start (the same for every path). For momentum and Nesterov SMEs the
        position alone, shape (d,), is accepted and V0 = 0 is added.
    T : float
        Length of the time interval, > 0; the step is h = T / n_steps.
    n_steps : int
        Number of steps, >= 1.
    scheme : {"euler", "weak2", "exact"}
        Euler-Maruyama (weak order 1), Kloeden-Platen explicit weak order 2.0
        (see :class:`_Weak2Stepper`), or the exact Gaussian transition
        (time-homogeneous, additive ``sde.linear`` only). Nesterov SMEs use
        exponential-integrator versions of ``euler``/``weak2`` that treat the
        r/t friction exactly (:class:`_PowerFrictionStepper`).
        Cost of one step on n paths: ``euler``, one drift and one diffusion
        evaluation on n points; ``weak2``, two drift evaluations, and one diffusion
        evaluation for time-homogeneous additive noise, or for multiplicative noise one
        on n points and four on m n points (m the noise dimension); ``exact``, one
        matrix-vector product. A user's drift and diffusion are called on all paths of
        a block at once, so their cost, not the solver's, dominates.
    increments : {"gaussian", "discrete"}
        Gaussian increments, or (weak schemes only) discrete ones: two-point
        for ``euler`` (random signs from random bits for a
        :class:`~smecore.sme.DiagonalNoiseSDE`, the fastest choice); three-point
        dW and two-point auxiliary V for ``weak2``.
    n_paths : int
        Number of independent paths.
    rng : seed-like, optional
        Anything ``numpy.random.default_rng`` accepts.
    record : sequence of int, optional
        Step indices in [0, n_steps] at which to record; default every step.
    observables : callable or dict of name -> callable, optional
        g(x) on states (n, sde.dim); default ``{"x": identity}``. For
        (X, V) states use :class:`smecore.sme.OnPosition` to look at X only.
    t0 : float, default 0
        Start time (the drift and diffusion may depend on t).
    block_size, chunk_size, executor, progress
        See :func:`smecore.estimation.monte_carlo`; results do not depend on
        ``chunk_size``, ``executor`` or ``progress`` (a tqdm bar for long runs).
    backend : {"numpy", "numba"}, default "numpy"
        ``"numba"``: diagonal-noise SDEs on counter-based random streams, in a
        fused compiled kernel where the SDE allows (different random numbers
        from the default; see :func:`smecore.solvers.solve_sde_counter`).

    Returns
    -------
    Statistics
        ``times = t0 + steps * h``, ``steps`` the recorded step indices, and
        an :class:`~smecore.estimation.MCEstimate` per observable.

    Raises
    ------
    TypeError, ValueError
        For bad arguments (each message names the argument).
    smecore.DivergenceError
        If a path leaves every bounded set (step too large).

    Examples
    --------
    Ornstein-Uhlenbeck dX = -X dt + dW from 1: E X_1 = exp(-1) = 0.3679.

    >>> import numpy as np
    >>> from smecore.sme.sde import FunctionSDE
    >>> ou = FunctionSDE(lambda t, x: -x, lambda t, x: np.ones(x.shape + (1,)), dim=1, noise_dim=1)
    >>> stats = solve_sde(ou, [1.0], 1.0, n_steps=20, scheme="weak2", n_paths=4000, rng=0,
    ...                   record=[20])
    >>> est = stats["x"]
    >>> bool(abs(est.mean[-1, 0] - np.exp(-1)) < 4 * est.stderr[-1, 0] + 1e-3)
    True
    """
    if one_of(backend, "backend", ("numpy", "numba")) == "numba":
        from .kernels import solve_sde_counter
        return solve_sde_counter(sde, x0, T, n_steps=n_steps, scheme=scheme, increments=increments,
                                 n_paths=n_paths, rng=rng, record=record, observables=observables,
                                 t0=t0, block_size=block_size, chunk_size=chunk_size,
                                 executor=executor)
    sde = _check_sde(sde)
    x0 = _initial_state(sde, x0)
    T = positive_float(T, "T")
    n_steps = positive_int(n_steps, "n_steps")
    _check_scheme(sde, scheme, increments)
    t0 = _check_t0(t0)
    steps = record_steps(record, n_steps)
    observables = normalize_observables(observables)
    h = T / n_steps
    chunk = _SolveChunk(sde, x0, t0, h, n_steps, scheme, increments, steps, observables)
    estimates = monte_carlo(chunk, n_paths, rng=rng, block_size=block_size,
                            chunk_size=chunk_size, executor=executor, progress=progress,
                            desc=f"solve_sde ({scheme}): {n_steps} steps")
    return Statistics(t0 + steps * h, steps, estimates)


def sample_sde_paths(
    sde,
    x0,
    T,
    *,
    n_steps,
    scheme="euler",
    increments="gaussian",
    n_paths=1,
    rng=None,
    record=None,
    t0=0.0,
):
    """Sample whole paths of an SDE (for plots and small runs).

    Parameters are those of :func:`solve_sde`.

    Returns
    -------
    times : ndarray, shape (n_rec,)
    paths : ndarray, shape (n_rec, n_paths, sde.dim)

    Examples
    --------
    >>> import numpy as np
    >>> from smecore.sme.sde import FunctionSDE
    >>> ou = FunctionSDE(lambda t, x: -x, lambda t, x: np.ones(x.shape + (1,)), dim=1, noise_dim=1)
    >>> times, paths = sample_sde_paths(ou, [1.0], 1.0, n_steps=10, n_paths=3, rng=0)
    >>> times.shape, paths.shape
    ((11,), (11, 3, 1))
    """
    sde = _check_sde(sde)
    x0 = _initial_state(sde, x0)
    T = positive_float(T, "T")
    n_steps = positive_int(n_steps, "n_steps")
    n_paths = positive_int(n_paths, "n_paths")
    _check_scheme(sde, scheme, increments)
    t0 = _check_t0(t0)
    steps = record_steps(record, n_steps)
    h = T / n_steps
    rand = PathRandom.from_rng(rng, n_paths)
    stepper = _make_stepper(sde, h, scheme, increments, t0)
    recorded = []
    _simulate(stepper, x0, t0, h, n_steps, rand, n_paths, steps,
              lambda x: recorded.append(x.copy()))
    return t0 + steps * h, np.stack(recorded)
