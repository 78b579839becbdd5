"""Monte Carlo drivers of the algorithms: streamed statistics (:func:`run`) and paths.

:func:`run` streams Monte Carlo statistics of observables through
:func:`smecore.estimation.monte_carlo` (bit-identical for any chunk size or
executor); :func:`sample_paths` returns whole paths for small runs. Plain SGD
on a problem with ``grad_transposed_at`` (linear regression) takes a fast
path: paths along the last axis, updated in place tile by tile, mini-batch
indices drawn many steps at a time (the same draws as the generic loop).
"""

from __future__ import annotations

import numpy as np

from .._validation import DivergenceError, check_finite_state, one_of, positive_int, state_vector
from ..estimation.montecarlo import BlockStats, monte_carlo
from ..estimation.observables import (
    Statistics,
    StatsRecorder,
    normalize_observables,
    record_steps,
)
from ..estimation.streams import DEFAULT_BLOCK_SIZE, PathRandom
from .counter_sgd import counter_sgd_supported, run_sgd_counter
from .methods import (
    _OBSERVE,
    MAX_PATH_FLOATS,
    SGD,
    _check_algorithm_and_problem,
    check_stability,
)

__all__ = ["run", "sample_paths", "second_moment_growth"]


def _observer(algorithm, observe):
    if observe == "position":
        return algorithm.position
    return _PhaseView(algorithm)


class _PhaseView:
    """[x, V] of shape (n_paths, 2 d); a class so that it pickles."""

    def __init__(self, algorithm):
        self.algorithm = algorithm

    def __call__(self, state):
        return np.concatenate([self.algorithm.position(state), self.algorithm.velocity(state)], axis=1)


def _iterate(algorithm, problem, x0, steps, rand, view):
    """Yield ``view(state)`` at each record step, checking the state for divergence."""
    state = algorithm.init_state(np.broadcast_to(x0, (rand.n_paths, x0.shape[0])))
    record = iter(steps)
    target = next(record)
    for k in range(int(steps[-1]) + 1):
        if k == target:
            yield view(state)
            target = next(record, None)
            if target is None:
                return
        # Overflow is caught by the state check below, with a clearer message.
        with np.errstate(over="ignore", invalid="ignore"):
            state = algorithm.step(state, k, problem, rand)
        for part in state:
            check_finite_state(part, k + 1, repr(algorithm))


#: Floats per tile of paths in SGD's in-place path (its few arrays stay in L2).
TILE_FLOATS = 1 << 16


_BOUND_SQ = 1e200  # check_finite_state's bound, squared


def _check_finite_fast(x, step, what):
    """check_finite_state at the cost of one reduction.

    A NaN or inf makes sum x_i^2 NaN or inf, and an entry above 1e100 makes
    it exceed 1e200; only then (the run is diverging) is the exact entrywise
    check needed, which raises exactly when check_finite_state does.
    """
    flat = x.reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.einsum("i,i->", flat, flat)
    if not total <= _BOUND_SQ:
        check_finite_state(x, step, what)


#: SGD's fast path draws the mini-batch indices of this many steps at once (per block).
INDEX_STEPS = 16


def _has_fast_sgd(algorithm, problem, observe):
    """Plain SGD on a problem that computes gradients in the transposed layout."""
    return (type(algorithm) is SGD and observe == "position"
            and callable(getattr(problem, "grad_transposed_at", None))
            and callable(getattr(problem, "draw_indices_transposed", None)))


def _run_sgd_tiles(algorithm, problem, x0, steps, observables, rand):
    """SGD in place, x^T of shape (d, n), tile after tile of whole blocks.

    Each block keeps its generator and draws its mini-batch indices
    ``INDEX_STEPS`` steps at a time, the very numbers the generic loop draws
    one step at a time; so the paths are the generic loop's (up to the
    rounding of the arithmetic) and the result does not depend on the
    tiling, the chunks or the executor.
    """
    d = x0.shape[0]
    n_steps = int(steps[-1])
    wanted = np.zeros(n_steps + 1, dtype=bool)
    wanted[steps] = True
    what = repr(algorithm)
    results = []
    for tile in rand.tiles(max(1, TILE_FLOATS // d)):
        recorder = StatsRecorder(observables, tile.sizes)
        x_t = np.empty((d, tile.n_paths))
        x_t[:] = x0[:, None]
        work = np.empty((d + 1, tile.n_paths))
        if wanted[0]:
            recorder.record(x_t.T)
        for k in range(n_steps):
            if k % INDEX_STEPS == 0:
                indices = problem.draw_indices_transposed(tile, tile.n_paths, INDEX_STEPS)
            with np.errstate(over="ignore", invalid="ignore"):
                x_t -= problem.grad_transposed_at(x_t, indices[k % INDEX_STEPS], out=work,
                                                  scale=algorithm.lr)
            _check_finite_fast(x_t, k + 1, what)
            if wanted[k + 1]:
                recorder.record(x_t.T)
        results.append(recorder.result())
    return {name: BlockStats.concat(r[name] for r in results) for name in results[0]}


class _SimulateChunk:
    """Chunk function for :func:`smecore.estimation.monte_carlo` (module level: picklable)."""

    def __init__(self, algorithm, problem, x0, steps, observables, observe):
        self.algorithm, self.problem, self.x0 = algorithm, problem, x0
        self.steps, self.observables, self.observe = steps, observables, observe

    def __call__(self, rand):
        if _has_fast_sgd(self.algorithm, self.problem, self.observe):
            return _run_sgd_tiles(self.algorithm, self.problem, self.x0, self.steps,
                                  self.observables, rand)
        recorder = StatsRecorder(self.observables, rand.sizes)
        view = _observer(self.algorithm, self.observe)
        for observed in _iterate(self.algorithm, self.problem, self.x0, self.steps, rand, view):
            recorder.record(observed)
        return recorder.result()


#: Up to this dimension the second-moment map (a d^2 x d^2 matrix) is built densely.
_DENSE_MOMENT_DIM = 10


def _second_moment_map(affine, lr):
    """The map S -> B S B^T + lr^2 Sigma_0(S) of SGD's second moments (homogeneous part).

    For an affine law, x' = x - lr G [x; 1] gives E[x' x'^T] = B S B^T + lr^2 Sigma_0(S) plus
    terms in the mean and constants, with B = I - lr A, S = E[x x^T] and Sigma_0 the part of
    the noise covariance quadratic in x. The mean follows B; so the second moments stay
    bounded iff the spectral radius of this map is at most 1.
    """
    d = affine.dim
    B = np.eye(d) - lr * affine.hessian
    cov = affine.cov[:, :d, :, :d]  # cov[i, j, k, l]: Sigma_0(S)_ik = sum_jl cov[i, j, k, l] S_jl

    def apply(vec):
        S = vec.reshape(d, d)
        return (B @ S @ B.T + lr**2 * np.einsum("ijkl,jl->ik", cov, S)).reshape(-1)

    if d <= _DENSE_MOMENT_DIM:
        return np.kron(B, B) + lr**2 * cov.transpose(0, 2, 1, 3).reshape(d * d, d * d)
    return apply


def _spectral_radius(op, n):
    if isinstance(op, np.ndarray):
        return float(np.max(np.abs(np.linalg.eigvals(op))))
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigs

    try:
        value = eigs(LinearOperator((n, n), matvec=op, dtype=float), k=1, which="LM",
                     return_eigenvectors=False, tol=1e-10, maxiter=max(1000, 20 * n))
    except ArpackNoConvergence:
        return None
    return float(np.max(np.abs(value)))


def second_moment_growth(algorithm, problem):
    """Factor by which plain SGD's second moments grow per step on an affine problem.

    The spectral radius of the exact second-moment recursion (its part quadratic in x);
    values above 1 mean E|x_k|^2 grows geometrically although the mean may converge, so
    Monte Carlo averages of quadratic observables are dominated by rare huge paths.

    Parameters
    ----------
    algorithm : SGD
    problem : StochasticObjective
        With an affine gradient law (``problem.affine``).

    Returns
    -------
    float or None
        The growth factor, or None if the problem is not affine, the algorithm is not plain
        SGD, or (for d > 10) the iterative eigenvalue solver did not converge.

    Examples
    --------
    >>> from smecore.problems import MultiplicativeQuadratic
    >>> round(second_moment_growth(SGD(1.5), MultiplicativeQuadratic([1.0])), 12)  # (1 - 1.5)^2 + 1.5^2
    2.5
    """
    if type(algorithm) is not SGD or getattr(problem, "affine", None) is None:
        return None
    d = problem.affine.dim
    return _spectral_radius(_second_moment_map(problem.affine, algorithm.lr), d * d)


def _check_second_moments(algorithm, problem, n_steps):
    """Raise DivergenceError if SGD's second moments grow geometrically (affine laws)."""
    if n_steps == 0:
        return
    rho = second_moment_growth(algorithm, problem)
    if rho is None or rho <= 1 + 1e-9:
        return
    hint = ""
    if problem.affine.dim <= _DENSE_MOMENT_DIM:  # the largest stable lr, by bisection
        lo, hi = 0.0, algorithm.lr
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            if _spectral_radius(_second_moment_map(problem.affine, mid), 0) <= 1 + 1e-9:
                lo = mid
            else:
                hi = mid
        hint = f"; use lr < {lo:.4g}"
    raise DivergenceError(
        f"{algorithm!r} is unstable in mean square on this problem: lr = {algorithm.lr:g} makes "
        f"the second moments of the iterates grow by a factor {rho:.4g} per step (the mean "
        f"converges), so after {n_steps} steps Monte Carlo averages are dominated by rare huge "
        f"paths and their standard errors are meaningless{hint}. The exact moments are "
        "smecore.moments.sgd_moments."
    )


def warn_single_path(n_paths, stacklevel=2):
    """Warn that one path gives no standard error (the statistics report stderr = inf)."""
    if isinstance(n_paths, (int, np.integer)) and not isinstance(n_paths, bool) and n_paths == 1:
        import warnings

        warnings.warn("n_paths=1: one path has no standard error, so every stderr is inf; "
                      "use n_paths >= 2 for error bars", UserWarning, stacklevel=stacklevel + 1)


def _prepare(algorithm, problem, x0, n_steps, record, observe):
    _check_algorithm_and_problem(algorithm, problem)
    x0 = state_vector(x0, problem.dim, "x0")
    n_steps = positive_int(n_steps, "n_steps", allow_zero=True)
    steps = record_steps(record, n_steps)
    one_of(observe, "observe", _OBSERVE)
    if observe == "phase" and not algorithm.has_velocity:
        raise ValueError(f"observe='phase' needs a momentum method; {algorithm.name} has no velocity")
    check_stability(algorithm, problem, n_steps)
    _check_second_moments(algorithm, problem, n_steps)
    return x0, n_steps, steps


def run(
    algorithm,
    problem,
    x0,
    n_steps,
    *,
    n_paths,
    rng=None,
    record=None,
    observables=None,
    observe="position",
    block_size=DEFAULT_BLOCK_SIZE,
    chunk_size=None,
    executor=None,
    progress=None,
    backend="numpy",
) -> Statistics:
    """Monte Carlo statistics of observables along ``n_paths`` runs of an algorithm.

    Parameters
    ----------
    algorithm : Algorithm
        :class:`SGD`, :class:`MomentumSGD` or :class:`Nesterov`.
    problem : StochasticObjective
        Supplies the mini-batch gradients (``sample_grad``).
    x0 : array_like, shape (d,)
        Common starting point of all paths.
    n_steps : int
        Number of iterations, >= 0.
    n_paths : int
        Number of independent paths, >= 1.
    rng : seed-like, optional
        Anything ``numpy.random.default_rng`` accepts.
    record : sequence of int, optional
        Steps at which to record (default: every step 0..n_steps). The run
        stops at the last record step.
    observables : callable or dict of str to callable, optional
        Test functions g(x) mapping (n_paths, d) (or (n_paths, 2 d) with
        ``observe="phase"``) to (n_paths,) or (n_paths, k). Default
        ``{"x": identity}``. Must be picklable for a process pool.
    observe : {"position", "phase"}
        What the observables see: x_k, or [x_k, V_k] for the momentum methods.
    block_size, chunk_size, executor, progress
        As in :func:`smecore.estimation.monte_carlo`; the result does not
        depend on ``chunk_size``, ``executor`` or ``progress`` (a tqdm bar for long runs).
    backend : {"numpy", "numba"}, default "numpy"
        ``"numba"``: plain :class:`SGD` on a :class:`~smecore.problems.LinearRegression`
        in a fused compiled kernel with counter-based sample indices
        (``smecore.algorithms.counter_sgd``; other random numbers than ``"numpy"``,
        the same law; no progress bar). Other combinations raise ``ValueError``.

    Returns
    -------
    Statistics
        ``times = steps * algorithm.time_step``; ``estimates[name]`` has
        mean and stderr of shape (n_rec, ...).

    Raises
    ------
    smecore.DivergenceError
        Up front if the mean iteration diverges on an affine problem
        (:func:`check_stability`), or if plain SGD's second moments do
        (:func:`second_moment_growth` above 1), naming the largest stable ``lr``; or
        as soon as a path leaves ``|x|`` <= 1e100 or becomes non-finite.
    ValueError, TypeError
        On bad arguments, naming them (an observable that returns no numbers is named).

    Warns
    -----
    UserWarning
        With ``n_paths=1``: one path has no standard error (every stderr is inf).

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> stats = run(SGD(0.1), GaussianQuadratic([1.0]), [1.0], 10, n_paths=4000, rng=0, record=[0, 10])
    >>> stats.times
    array([0., 1.])
    >>> est = stats["x"]
    >>> bool(abs(est.mean[1, 0] - 0.9**10) < 4 * est.stderr[1, 0])
    True
    """
    x0, n_steps, steps = _prepare(algorithm, problem, x0, n_steps, record, observe)
    observables = normalize_observables(observables)
    warn_single_path(n_paths)
    if one_of(backend, "backend", ("numpy", "numba")) == "numba":
        reason = counter_sgd_supported(algorithm, problem, observe)
        if reason is not None:
            raise ValueError(f"backend='numba': {reason}; use backend='numpy'")
        estimates = run_sgd_counter(algorithm.lr, problem, x0, steps, observables,
                                    n_paths=n_paths, rng=rng, block_size=block_size,
                                    chunk_size=chunk_size, executor=executor)
        return Statistics(steps * algorithm.time_step, steps, estimates)
    chunk = _SimulateChunk(algorithm, problem, x0, steps, observables, observe)
    estimates = monte_carlo(
        chunk, n_paths, rng=rng, block_size=block_size, chunk_size=chunk_size, executor=executor,
        progress=progress, desc=f"{algorithm!r}: {n_steps} steps",
    )
    return Statistics(steps * algorithm.time_step, steps, estimates)


def sample_paths(
    algorithm,
    problem,
    x0,
    n_steps,
    *,
    n_paths,
    rng=None,
    record=None,
    observe="position",
    block_size=DEFAULT_BLOCK_SIZE,
):
    """Whole sample paths of an algorithm (for plots and small experiments).

    The paths use the same random numbers as :func:`run` with the same
    ``rng`` and ``block_size``.

    Parameters
    ----------
    algorithm, problem, x0, n_steps, n_paths, rng, record, observe, block_size
        As in :func:`run`.

    Returns
    -------
    times : ndarray, shape (n_rec,)
        ``steps * algorithm.time_step``.
    paths : ndarray, shape (n_rec, n_paths, d)
        The iterates (or (n_rec, n_paths, 2 d) phase states) at the record steps.

    Raises
    ------
    ValueError
        If the paths would hold more than ``MAX_PATH_FLOATS`` (2e8) numbers;
        use :func:`run` for statistics instead.
    smecore.DivergenceError
        As in :func:`run`.

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> t, paths = sample_paths(SGD(0.1), GaussianQuadratic([1.0, 2.0]), [1.0, 1.0], 5,
    ...                         n_paths=3, rng=0)
    >>> t.round(6), paths.shape
    (array([0. , 0.1, 0.2, 0.3, 0.4, 0.5]), (6, 3, 2))
    """
    x0, n_steps, steps = _prepare(algorithm, problem, x0, n_steps, record, observe)
    n_paths = positive_int(n_paths, "n_paths")
    width = problem.dim * (2 if observe == "phase" else 1)
    size = steps.size * n_paths * width
    if size > MAX_PATH_FLOATS:
        raise ValueError(
            f"sample_paths would store {size:.3g} numbers (n_rec={steps.size} x n_paths={n_paths} "
            f"x {width}), more than {MAX_PATH_FLOATS:.0e}; record fewer steps or use run() for statistics"
        )
    rand = PathRandom.from_rng(rng, n_paths, block_size=block_size)
    view = _observer(algorithm, observe)
    paths = np.stack([np.array(v) for v in _iterate(algorithm, problem, x0, steps, rand, view)])
    return steps * algorithm.time_step, paths
