"""Training runs on a network objective, vectorised over independent runs.

One compiled program per (objective, method, batch size, number of records, block size):
learning rate, momentum, SVAG coefficients and the number of steps between records are
traced arguments, so sweeping them does not recompile. Runs are mapped with
``jax.vmap``; steps run in ``jax.lax.fori_loop`` inside a ``jax.lax.scan`` over the
recorded times; the whole block is ``jax.jit``-compiled. The same code runs on a GPU
when JAX finds one.

Random numbers: ``rng`` (anything ``numpy.random.default_rng`` accepts) gives one root
JAX key (:func:`jax_key`); run ``i`` uses ``fold_in(root, i)`` and its step ``k`` uses
``fold_in(run_key, k)``. A run's random draws therefore depend only on ``rng`` and ``i``, not
on how the runs are split into blocks or spread over an executor; its path is the same up to
rounding (XLA may order a reduction differently for another block shape; the tests bound the
difference by 1e-12).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

import smecore as sc

from .objective import NetworkObjective

METHODS = ("sgd", "gd", "momentum", "nesterov", "svag", "sme1", "sme2")


def jax_key(rng):
    """A JAX PRNG key derived deterministically from ``rng``.

    Parameters
    ----------
    rng : None, int, sequence of int, SeedSequence or Generator
        Anything ``numpy.random.default_rng`` accepts (a Generator is advanced by one draw).

    Returns
    -------
    jax.Array
        ``jax.random.PRNGKey(s)`` with ``s = default_rng(rng).integers(2**63 - 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> bool(np.all(jax_key(7) == jax_key(7)))
    True
    """
    seed = int(np.random.default_rng(rng).integers(0, 2**63 - 1))
    return jax.random.PRNGKey(seed)


@dataclass
class Trajectories:
    """Recorded metrics of M independent runs.

    Attributes
    ----------
    times : ndarray, shape (R + 1,)
        Times t = k * time_step of the records (record 0 is the initial point).
    metrics : dict of str -> ndarray, shape (R + 1, M)
        One row per recorded time, one column per run.
    final : ndarray, shape (M, dim)
        Parameters at the end of each run.
    method : str
    lr : float
    batch : int
    """

    times: np.ndarray
    metrics: dict
    final: np.ndarray
    method: str
    lr: float
    batch: int
    info: dict = field(default_factory=dict)

    @property
    def n_runs(self) -> int:
        return int(self.final.shape[0])

    def estimate(self, name):
        """Monte Carlo mean and standard error of a metric over runs, as ``sc.MCEstimate``."""
        if name not in self.metrics:
            raise ValueError(f"unknown metric {name!r}; available: {sorted(self.metrics)}")
        vals = self.metrics[name]
        se = vals.std(axis=1, ddof=1) / np.sqrt(vals.shape[1]) if vals.shape[1] > 1 else 0 * vals[:, 0]
        return sc.MCEstimate(vals.mean(axis=1), se, vals.shape[1])


def _check_pos(value, name, integer=False, allow_zero=False):
    if integer:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    else:
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a number, got {value!r}") from None
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")
    return value


def _stepper(objective, method, capacity):
    """step(state, key, p) -> state; state = (x, aux); p = traced parameter vector.

    p = [lr, momentum, c1, c2, drift_dt, noise_scale, lr_order2, batch].
    """
    def mb(x, key, p):
        return objective.minibatch_grad(x, key, p[7], capacity)

    def sgd_like(x, key, p):
        if method == "gd":
            return objective.grad(x)
        if method == "svag":
            k1, k2 = jax.random.split(key)
            return p[2] * mb(x, k1, p) + p[3] * mb(x, k2, p)
        return mb(x, key, p)

    def step(state, key, p):
        x, aux = state
        if method in ("sgd", "gd", "svag"):
            return x - p[0] * sgd_like(x, key, p), aux
        if method == "momentum":
            v = p[1] * aux - p[0] * mb(x, key, p)
            return x + v, v
        if method == "nesterov":  # aux holds y_k; x_{k+1} = y_k - lr g(y_k)
            x_new = aux - p[0] * mb(aux, key, p)
            return x_new, x_new + p[1] * (x_new - x)
        order2 = p[6] if method == "sme2" else None
        return x + objective.sme_increment(x, key, p[4], p[5], order2), aux

    return step


def _block_program(objective, method, capacity, n_records, bound):
    cache = objective.__dict__.setdefault("_program_cache", {})
    ckey = (method, capacity, n_records, float(bound))
    if ckey in cache:
        return cache[ckey]
    step = _stepper(objective, method, capacity)

    def one_run(key, x0, p, every):
        aux0 = jnp.zeros_like(x0) if method != "nesterov" else x0

        def inner(k, carry):
            state, bad = carry
            new = step(state, jax.random.fold_in(key, k), p)
            x = new[0]
            isbad = ~(jnp.max(jnp.abs(x)) <= bound)  # also True for NaN and inf
            bad = jnp.where((bad < 0) & isbad, k + 1, bad)
            return new, bad

        def outer(carry, j):
            carry = jax.lax.fori_loop(j * every, (j + 1) * every, inner, carry)
            return carry, objective.metrics(carry[0][0])

        (state, bad), mets = jax.lax.scan(outer, ((x0, aux0), jnp.int64(-1)), jnp.arange(n_records))
        return mets, bad, state[0]

    @jax.jit
    def program(root, run_ids, x0, p, every):
        keys = jax.vmap(lambda i: jax.random.fold_in(root, i))(run_ids)
        return jax.vmap(one_run, in_axes=(0, None, None, None))(keys, x0, p, every)

    cache[ckey] = program
    return program


def _run(objective, method, theta0, params, n_steps, n_records, batch, n_runs, rng, executor,
         block_size, bound, time_step, lr, batch_capacity=None):
    """Shared driver for :func:`simulate`, :func:`~.svag.simulate_svag` and :func:`~.sme.simulate_sme`."""
    if not isinstance(objective, NetworkObjective):
        raise TypeError(f"objective must be a network objective, got {type(objective).__name__}")
    x0 = objective.check_theta(theta0)
    _check_pos(n_steps, "n_steps", integer=True)
    _check_pos(n_records, "n_records", integer=True)
    _check_pos(n_runs, "n_runs", integer=True)
    _check_pos(batch, "batch", integer=True)
    if n_steps % n_records:
        raise ValueError(f"n_steps ({n_steps}) must be a multiple of n_records ({n_records})")
    block_size = n_runs if block_size is None else _check_pos(block_size, "block_size", integer=True)
    if batch_capacity is None:
        batch_capacity = batch
    elif _check_pos(batch_capacity, "batch_capacity", integer=True) < batch:
        raise ValueError(f"batch_capacity ({batch_capacity}) must be >= batch ({batch})")
    every = n_steps // n_records
    capacity = 1 if method.startswith("sme") or method == "gd" else int(batch_capacity)
    program = _block_program(objective, method, capacity, int(n_records), bound)
    root = jax_key(rng)
    p = jnp.asarray(list(params) + [float(batch)], dtype=jnp.float64)
    mets, bad, final = run_blocks(lambda ids: program(root, ids, x0, p, every), n_runs,
                                  block_size, executor)
    mets = {k: v.T for k, v in mets.items()}
    if np.any(bad >= 0):
        run = int(np.argmin(np.where(bad >= 0, bad, np.iinfo(np.int64).max)))
        raise sc.DivergenceError(
            f"{method} diverged at step {int(bad[run])} (run {run}, lr={lr:g}, batch={batch}): "
            f"the parameters left the box |theta_j| <= {bound:g}; reduce the learning rate")
    m0 = {k: np.full((1, n_runs), float(v)) for k, v in objective.metrics(x0).items()}
    metrics = {k: np.concatenate([m0[k], mets[k]], axis=0) for k in mets}
    times = np.arange(n_records + 1) * every * time_step
    return Trajectories(times, metrics, final, method, float(lr), int(batch),
                        {"n_steps": n_steps, "n_runs": n_runs})


def run_blocks(call, n_runs, block_size, executor=None):
    """``call(ids)`` on blocks of run indices; the outputs joined along the run axis.

    Every block has ``block_size`` runs, so one compiled program serves them all: the last
    block is padded with copies of its last run, whose outputs are dropped. ``call`` takes
    a jax array of run indices and returns a pytree of arrays whose first axis is the run.
    Blocks run in order, or through ``executor.map`` (the result is the same).
    """
    blocks = [np.arange(s, min(s + block_size, n_runs)) for s in range(0, n_runs, block_size)]

    def run_block(ids):
        if len(ids) < block_size:
            ids = np.concatenate([ids, np.full(block_size - len(ids), ids[-1])])
        return jax.tree_util.tree_map(np.asarray, call(jnp.asarray(ids)))

    results = list(executor.map(run_block, blocks)) if executor is not None else [run_block(b) for b in blocks]
    trimmed = [jax.tree_util.tree_map(lambda a, k=len(b): a[:k], r) for r, b in zip(results, blocks)]
    return jax.tree_util.tree_map(lambda *a: np.concatenate(a, axis=0), *trimmed)


def simulate(objective, method, theta0, lr, n_steps, *, batch=1, n_runs=64, momentum=0.0,
             n_records=20, rng=None, executor=None, block_size=None, bound=1e6, batch_capacity=None):
    """M independent runs of SGD, GD, heavy-ball momentum or Nesterov on a network objective.

    Parameters
    ----------
    objective : NetworkObjective
        E.g. :class:`~.mlp.DigitsObjective` or :class:`~.teacher.TeacherStudent`.
    method : {"sgd", "gd", "momentum", "nesterov"}
        ``sgd``: x - lr g(x), g a mini-batch gradient (``batch`` samples with replacement).
        ``gd``: full gradient. ``momentum``: v <- mu v - lr g(x), x <- x + v.
        ``nesterov``: x_{k+1} = y_k - lr g(y_k), y_{k+1} = x_{k+1} + mu (x_{k+1} - x_k).
    theta0 : array_like, shape (dim,)
    lr : float
        Learning rate, > 0.
    n_steps : int
        Number of steps, a multiple of ``n_records``.
    batch : int, default 1
    n_runs : int, default 64
    momentum : float, default 0
        mu in [0, 1) for ``momentum`` and ``nesterov``.
    n_records : int, default 20
        Metrics are recorded every ``n_steps // n_records`` steps (and at step 0).
    rng
        Anything ``numpy.random.default_rng`` accepts.
    executor : object with a ``map`` method, optional
        Maps the run blocks (e.g. ``concurrent.futures.ThreadPoolExecutor``); the result
        does not depend on it nor on ``block_size`` (same random draws; equal up to rounding).
    block_size : int, optional
        Runs per compiled block (default: all runs in one block).
    bound : float, default 1e6
        A run whose parameters leave ``|theta_j| <= bound`` (or become non-finite) diverged.
    batch_capacity : int, optional
        Compile for this many samples per batch (>= ``batch``) and use the first ``batch``:
        runs with different batch sizes then share one compiled program (default ``batch``).
        The law of the runs is the same; the random draws are not.

    Returns
    -------
    Trajectories
        Time step of the records is ``lr`` (t = k lr).

    Raises
    ------
    smecore.DivergenceError
        If a run diverged; the message gives the first step at which it happened.
    ValueError, TypeError
        On invalid arguments.

    References
    ----------
    Q. Li, C. Tai, W. E, "Stochastic Modified Equations and Dynamics of Stochastic Gradient
    Algorithms I: Mathematical Foundations", JMLR 20(40), 2019.

    Examples
    --------
    >>> from smecore.networks import TeacherStudent
    >>> ts = TeacherStudent(50, (3, 8, 1), noise=0.5, rng=0)
    >>> tr = simulate(ts, "sgd", ts.model.init(1), 0.1, 40, n_runs=8, n_records=4, rng=0)
    >>> tr.metrics["train_loss"].shape, float(tr.times[-1])
    ((5, 8), 4.0)
    """
    if method not in ("sgd", "gd", "momentum", "nesterov"):
        raise ValueError(f"method must be one of 'sgd', 'gd', 'momentum', 'nesterov', got {method!r}")
    lr = _check_pos(lr, "lr")
    mu = _check_pos(momentum, "momentum", allow_zero=True)
    if mu >= 1:
        raise ValueError(f"momentum must be in [0, 1), got {mu}")
    params = [lr, mu, 1.0, 0.0, 0.0, 0.0, 0.0]
    return _run(objective, method, theta0, params, n_steps, n_records, batch, n_runs, rng,
                executor, block_size, bound, lr, lr, batch_capacity)
