"""Stochastic gradient algorithms (SGD, heavy-ball momentum, Nesterov), vectorised over paths.

An algorithm object holds its hyper-parameters and its *time step* (the time
one iteration represents for its SME: lr for SGD, sqrt(lr) for the momentum
methods). Its state is a tuple of ``(n_paths, d)`` arrays; one step is split in
two so that callers can supply their own gradient samples (for instance
Gaussian gradients sharing Brownian increments with an SME)::

    point = algorithm.gradient_point(state, k)      # where the gradient is taken
    state = algorithm.apply(state, k, g(point))     # x_k -> x_{k+1}

:func:`run` streams Monte Carlo statistics of observables through
:func:`smecore.montecarlo.monte_carlo` (bit-identical for any chunk size or
executor); :func:`sample_paths` returns whole paths for small runs. Plain SGD
on a problem with ``grad_transposed_at`` (linear regression) takes a fast
path: paths along the last axis, updated in place tile by tile, mini-batch
indices drawn many steps at a time (the same draws as the generic loop).

Conventions (paper.md, table of results; engine brief):

- SGD: x_{k+1} = x_k - lr g(x_k); t = k lr.
- Heavy ball: v_{k+1} = mu v_k - lr g(x_k), x_{k+1} = x_k + v_{k+1}, v_0 = 0;
  with mu = 1 - damping sqrt(lr), t = k sqrt(lr), X ~ x and V ~ v / sqrt(lr).
- Nesterov (Su-Boyd-Candes): y_0 = x_0, x_{k+1} = y_k - lr g(y_k),
  y_{k+1} = x_{k+1} + mu_{k+1} (x_{k+1} - x_k) with mu_{k+1} = k / (k + 3) or a
  constant; t = k sqrt(lr).
"""

from __future__ import annotations

import numpy as np

from ._validation import (
    DivergenceError,
    check_finite_state,
    one_of,
    positive_float,
    positive_int,
    state_vector,
)
from .montecarlo import BlockStats, monte_carlo
from .observables import Statistics, StatsRecorder, normalize_observables, record_steps
from .problems.base import StochasticObjective
from .random import DEFAULT_BLOCK_SIZE, PathRandom

#: Largest number of floats :func:`sample_paths` will hold in memory.
MAX_PATH_FLOATS = 200_000_000

_OBSERVE = ("position", "phase")


def _momentum(value, name="momentum") -> float:
    """A momentum coefficient in [0, 1)."""
    value = positive_float(value, name, allow_zero=True)
    if value >= 1.0:
        raise ValueError(f"{name} must be < 1 (the iteration does not damp otherwise), got {value}")
    return value


class Algorithm:
    """Base class of the stochastic gradient algorithms.

    Parameters
    ----------
    lr : float
        Learning rate eta > 0.
    time_step : float, optional
        Time represented by one iteration (default: ``default_time_step``).

    Attributes
    ----------
    lr : float
    time_step : float
        Iteration k is identified with time t = k * time_step.
    """

    name = "Algorithm"
    #: True for the momentum methods (they have a velocity, and ``observe="phase"`` works).
    has_velocity = False

    def __init__(self, lr, *, time_step=None):
        self.lr = positive_float(lr, "lr")
        self._time_step = None if time_step is None else positive_float(time_step, "time_step")

    @property
    def default_time_step(self) -> float:
        return self.lr

    @property
    def time_step(self) -> float:
        return self.default_time_step if self._time_step is None else self._time_step

    # -- the update --------------------------------------------------------------
    def init_state(self, x0) -> tuple:
        """The state at step 0 for starting points ``x0`` of shape (n_paths, d)."""
        raise NotImplementedError

    def gradient_point(self, state, k):
        """Where step k evaluates the stochastic gradient, shape (n_paths, d)."""
        return state[0]

    def apply(self, state, k, grad) -> tuple:
        """The state at step k + 1, given the gradient sample at ``gradient_point(state, k)``."""
        raise NotImplementedError

    def step(self, state, k, problem, rng) -> tuple:
        """One iteration k -> k + 1 with a fresh mini-batch gradient of ``problem``."""
        return self.apply(state, k, problem.sample_grad(self.gradient_point(state, k), rng))

    def position(self, state):
        """The iterate x_k, shape (n_paths, d)."""
        return state[0]

    def velocity(self, state):
        """The velocity V_k ~ dX/dt, shape (n_paths, d) (momentum methods only)."""
        raise TypeError(f"{self.name} has no velocity; use observe='position'")

    def stability_limit(self, n_steps) -> float | None:
        """lr * lambda must stay below this for the mean iteration on a quadratic to be stable.

        ``None`` when there is no fixed limit.
        """
        return None

    def _params(self) -> str:
        return f"lr={self.lr:g}"

    def __repr__(self) -> str:
        extra = "" if self._time_step is None else f", time_step={self._time_step:g}"
        return f"{self.name}({self._params()}{extra})"


class SGD(Algorithm):
    """Stochastic gradient descent x_{k+1} = x_k - lr g(x_k), time t = k lr.

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    time_step : float, optional
        Time per iteration (default ``lr``).

    Examples
    --------
    >>> import numpy as np
    >>> sgd = SGD(0.1)
    >>> state = sgd.init_state(np.ones((2, 1)))
    >>> sgd.apply(state, 0, np.ones((2, 1)))[0].ravel()
    array([0.9, 0.9])
    >>> sgd.time_step
    0.1
    """

    name = "SGD"

    def init_state(self, x0):
        return (np.array(x0, dtype=float),)

    def apply(self, state, k, grad):
        return (state[0] - self.lr * grad,)

    def stability_limit(self, n_steps):
        # E x_{k+1} = (I - lr A) E x_k - lr b: stable iff |1 - lr lambda| < 1.
        return 2.0


class MomentumSGD(Algorithm):
    """Heavy-ball momentum: v_{k+1} = mu v_k - lr g(x_k), x_{k+1} = x_k + v_{k+1}, v_0 = 0.

    Time t = k sqrt(lr) and velocity V = v / sqrt(lr), so that with
    mu = 1 - damping sqrt(lr) the SME is dX = V dt,
    dV = -(damping V + grad f) dt + lr^{1/4} Sigma^{1/2} dW (paper.md M1).

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    momentum : float
        mu in [0, 1).
    time_step : float, optional
        Time per iteration (default ``sqrt(lr)``); e.g. ``lr / (1 - momentum)``
        compares fixed-momentum MSGD with SGD at the effective learning rate.

    Examples
    --------
    >>> m = MomentumSGD.from_damping(0.01, 2.0)
    >>> m.momentum, m.time_step
    (0.8, 0.1)
    """

    name = "MomentumSGD"
    has_velocity = True

    def __init__(self, lr, momentum, *, time_step=None):
        super().__init__(lr, time_step=time_step)
        self.momentum = _momentum(momentum)

    @classmethod
    def from_damping(cls, lr, damping, *, time_step=None) -> "MomentumSGD":
        """Heavy ball with mu = 1 - damping * sqrt(lr) (the SME's friction is ``damping``)."""
        lr = positive_float(lr, "lr")
        damping = positive_float(damping, "damping")
        mu = 1.0 - damping * np.sqrt(lr)
        if mu < 0:
            raise ValueError(
                f"damping * sqrt(lr) must be <= 1 so that momentum = 1 - damping * sqrt(lr) >= 0, "
                f"got damping={damping:g}, lr={lr:g}"
            )
        return cls(lr, mu, time_step=time_step)

    @property
    def damping(self) -> float:
        """(1 - momentum) / sqrt(lr), the friction of the SME."""
        return (1.0 - self.momentum) / np.sqrt(self.lr)

    @property
    def default_time_step(self) -> float:
        return float(np.sqrt(self.lr))

    def init_state(self, x0):
        x0 = np.array(x0, dtype=float)
        return (x0, np.zeros_like(x0))

    def apply(self, state, k, grad):
        x, v = state
        v = self.momentum * v - self.lr * grad
        return (x + v, v)

    def velocity(self, state):
        return state[1] / self.time_step

    def stability_limit(self, n_steps):
        # z^2 - (1 + mu - a) z + mu = 0 has both roots inside the unit disc iff 0 < a < 2 (1 + mu).
        return 2.0 * (1.0 + self.momentum)

    def _params(self):
        return f"lr={self.lr:g}, momentum={self.momentum:g}"


class Nesterov(Algorithm):
    """Nesterov's accelerated gradient with stochastic gradients (SNAG).

    y_0 = x_0; x_{k+1} = y_k - lr g(y_k); y_{k+1} = x_{k+1} + mu_{k+1} (x_{k+1} - x_k),
    with mu_{k+1} = k / (k + 3) (Su-Boyd-Candes indexing: the first coefficient
    is 0) or a constant mu. Time t = k sqrt(lr); velocity V = (x_k - x_{k-1}) / sqrt(lr).

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    momentum : float, optional
        Constant mu in [0, 1); ``None`` (default) uses the schedule k / (k + 3).
    time_step : float, optional
        Time per iteration (default ``sqrt(lr)``).

    Examples
    --------
    >>> n = Nesterov(0.01)
    >>> [round(n.coefficient(k), 4) for k in range(4)]
    [0.0, 0.0, 0.25, 0.4]
    """

    name = "Nesterov"
    has_velocity = True

    def __init__(self, lr, momentum=None, *, time_step=None):
        super().__init__(lr, time_step=time_step)
        self.momentum = None if momentum is None else _momentum(momentum)

    @property
    def default_time_step(self) -> float:
        return float(np.sqrt(self.lr))

    def coefficient(self, k) -> float:
        """mu_k in y_k = x_k + mu_k (x_k - x_{k-1}); mu_k = (k - 1) / (k + 2) for the schedule."""
        if k == 0:
            return 0.0  # y_0 = x_0
        if self.momentum is not None:
            return self.momentum
        return (k - 1) / (k + 2)

    # The state is (x_k, x_k - x_{k-1}); y_k is rebuilt from it.
    def init_state(self, x0):
        x0 = np.array(x0, dtype=float)
        return (x0, np.zeros_like(x0))

    def gradient_point(self, state, k):
        x, dx = state
        return x + self.coefficient(k) * dx

    def apply(self, state, k, grad):
        x = self.gradient_point(state, k) - self.lr * grad
        return (x, x - state[0])

    def velocity(self, state):
        return state[1] / self.time_step

    def stability_limit(self, n_steps):
        # Constant mu: x_{k+1} = (1 - a)((1 + mu) x_k - mu x_{k-1}) is stable iff
        # 0 < a < 2 (1 + mu) / (1 + 2 mu) (Jury criterion). The schedule has no fixed limit.
        if self.momentum is None:
            return None
        return 2.0 * (1.0 + self.momentum) / (1.0 + 2.0 * self.momentum)

    def _params(self):
        mu = "'k/(k+3)'" if self.momentum is None else f"{self.momentum:g}"
        return f"lr={self.lr:g}, momentum={mu}"


# -- simulation ----------------------------------------------------------------------


def _check_algorithm_and_problem(algorithm, problem):
    if not isinstance(algorithm, Algorithm):
        raise TypeError(f"algorithm must be an SGD, MomentumSGD or Nesterov instance, got {type(algorithm).__name__}")
    if not isinstance(problem, StochasticObjective):
        raise TypeError(f"problem must be a StochasticObjective, got {type(problem).__name__}")


def check_stability(algorithm, problem, n_steps=None) -> None:
    """Raise :class:`DivergenceError` if the mean iteration diverges on an affine problem.

    For a problem with an affine gradient grad f(x) = A x + b, the mean of the
    iterates follows the deterministic algorithm on the quadratic, which
    diverges when lr * lambda_max(A) reaches the algorithm's
    :meth:`~Algorithm.stability_limit` (2 for SGD, 2 (1 + mu) for the heavy
    ball, 2 (1 + mu) / (1 + 2 mu) for Nesterov with constant mu). Other
    problems are not checked here; their runs stop with
    :class:`DivergenceError` when the state blows up.

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> check_stability(SGD(0.5), GaussianQuadratic([1.0, 4.0]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    smecore._validation.DivergenceError: SGD(lr=0.5) is unstable on this problem: ...
    """
    limit = algorithm.stability_limit(n_steps)
    if problem.affine is None or limit is None:
        return
    A = problem.affine.hessian
    lam_max = float(np.linalg.eigvalsh(0.5 * (A + A.T))[-1])
    if algorithm.lr * lam_max >= limit:
        raise DivergenceError(
            f"{algorithm!r} is unstable on this problem: lr * lambda_max = {algorithm.lr:g} * "
            f"{lam_max:g} = {algorithm.lr * lam_max:g} >= {limit:g}, so the mean of the iterates "
            f"diverges; use lr < {limit / lam_max:g}"
        )


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
    """Chunk function for :func:`smecore.montecarlo.monte_carlo` (module level: picklable)."""

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


def _prepare(algorithm, problem, x0, n_steps, record, observe):
    _check_algorithm_and_problem(algorithm, problem)
    x0 = state_vector(x0, problem.dim, "x0")
    n_steps = positive_int(n_steps, "n_steps", allow_zero=True)
    steps = record_steps(record, n_steps)
    one_of(observe, "observe", _OBSERVE)
    if observe == "phase" and not algorithm.has_velocity:
        raise ValueError(f"observe='phase' needs a momentum method; {algorithm.name} has no velocity")
    check_stability(algorithm, problem, n_steps)
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
    block_size, chunk_size, executor
        As in :func:`smecore.montecarlo.monte_carlo`; the result does not
        depend on ``chunk_size`` or ``executor``.

    Returns
    -------
    Statistics
        ``times = steps * algorithm.time_step``; ``estimates[name]`` has
        mean and stderr of shape (n_rec, ...).

    Raises
    ------
    DivergenceError
        Up front if the mean iteration diverges on an affine problem
        (:func:`check_stability`), or as soon as a path leaves
        |x| <= 1e100 or becomes non-finite.
    ValueError, TypeError
        On bad arguments, naming them.

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
    chunk = _SimulateChunk(algorithm, problem, x0, steps, observables, observe)
    estimates = monte_carlo(
        chunk, n_paths, rng=rng, block_size=block_size, chunk_size=chunk_size, executor=executor
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
    DivergenceError
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
