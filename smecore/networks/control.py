"""cSGD, cMSGD and their baselines on a network, vectorised over runs.

The ICML 2017 experiment of Li, Tai & E at laptop scale: train the same network from
several initial learning rates and seeds with constant SGD, a 1/t schedule, Adagrad,
Adam (optax's implementations), cSGD and cMSGD (:mod:`smecore.algorithms.adaptive`,
the authors' ``src/csgd.py`` restated), and record the losses and what the
controllers do.

One compiled program per (objective, method, batch, number of records, active
mutant); the initial learning rate of every run, ``eta_max``, ``tau`` and the decay
bounds are traced, so a sweep compiles once per method. Runs are mapped with
``jax.vmap``, steps run in ``jax.lax.fori_loop`` inside a ``jax.lax.scan`` over the
records, as in ``smecore.networks.simulate``. Random numbers: run ``i`` uses
``fold_in(jax_key(rng), i)`` and its step ``k`` ``fold_in(run_key, k)``.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

import smecore as sc
from smecore import mutants
from smecore.algorithms import adaptive

from .objective import NetworkObjective
from .simulate import _check_pos, jax_key

__all__ = ["CONTROL_METHODS", "ControlRuns", "spread_ratio", "train_controlled"]

#: The methods of :func:`train_controlled`.
CONTROL_METHODS = ("sgd", "inverse_time", "adagrad", "adam", "csgd", "cmsgd")


@dataclass
class ControlRuns:
    """Recorded metrics of runs of one method.

    Attributes
    ----------
    steps : ndarray, shape (R + 1,)
        Step numbers of the records (record 0 is the initial point).
    metrics : dict of str -> ndarray, shape (R + 1, M)
        ``train_loss``, ``test_loss``, ``test_accuracy``; ``rate``: the median over
        coordinates of the step size applied to a gradient (cSGD ``eta_max u``, cMSGD the
        effective rate ``eta_max / (1 - mu)``, the schedule's rate for ``sgd`` and
        ``inverse_time``, NaN for Adagrad and Adam); ``momentum``: the median mu (cMSGD),
        else NaN.
    method : str
    lr : ndarray, shape (M,)
        The initial learning rate of each run.
    """

    steps: np.ndarray
    metrics: dict
    method: str
    lr: np.ndarray
    info: dict = field(default_factory=dict)

    def final(self, name):
        """The metric ``name`` at the last record, shape (M,)."""
        return self.metrics[name][-1]


def _optax(method, lr):
    import optax

    return optax.adagrad(lr) if method == "adagrad" else optax.adam(lr)


def _program(objective, method, batch, n_records):
    mutant = mutants.active()
    cache = objective.__dict__.setdefault("_program_cache", {})
    ckey = ("control", method, batch, n_records, None if mutant is None else mutant.key)
    if ckey in cache:
        return cache[ckey]

    def one_run(key, x0, lr, hp, every):
        eta_max, tau, beta_min, beta_max = hp[0], hp[1], hp[2], hp[3]
        nan = jnp.array(jnp.nan)
        if method in ("csgd", "cmsgd"):
            # cSGD: rate eta_max, u0 = lr / eta_max; cMSGD: rate eta_max, mu0 = 1 - eta_max / lr.
            s = types.SimpleNamespace(method=method, lr=eta_max,
                                      init=lr / eta_max if method == "csgd" else 1 - eta_max / lr,
                                      beta_min=beta_min, beta_max=beta_max, warmup=0)
            aux0 = adaptive.adaptive_init(x0, s, xp=jnp)
        elif method in ("adagrad", "adam"):
            opt = _optax(method, lr)
            aux0 = opt.init(x0)
        else:
            aux0 = jnp.zeros(())

        def step(k, carry):
            x, aux = carry
            g = objective.minibatch_grad(x, jax.random.fold_in(key, k), batch)
            if method == "sgd":
                return x - lr * g, aux
            if method == "inverse_time":
                return x - lr / (1.0 + k / tau) * g, aux
            if method in ("adagrad", "adam"):
                upd, aux = opt.update(g, aux, x)
                return x + upd, aux
            return adaptive.adaptive_step(aux, g, x, s, k, xp=jnp)

        def summary(x, aux, k):
            mets = objective.metrics(x)
            if method == "csgd":
                rate, mom = jnp.median(eta_max * aux["c"]), nan
            elif method == "cmsgd":
                rate, mom = jnp.median(eta_max / (1 - aux["c"])), jnp.median(aux["c"])
            elif method == "sgd":
                rate, mom = lr, nan
            elif method == "inverse_time":
                rate, mom = lr / (1.0 + k / tau), nan
            else:
                rate, mom = nan, nan
            return {**mets, "rate": jnp.asarray(rate, jnp.float64),
                    "momentum": jnp.asarray(mom, jnp.float64)}

        def outer(carry, j):
            carry = jax.lax.fori_loop(j * every, (j + 1) * every, step, carry)
            return carry, summary(carry[0], carry[1], (j + 1) * every)

        first = summary(x0, aux0, 0)
        _, mets = jax.lax.scan(outer, (x0, aux0), jnp.arange(n_records))
        return jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b]), first, mets)

    @jax.jit
    def program(root, run_ids, x0s, lrs, hp, every):
        keys = jax.vmap(lambda i: jax.random.fold_in(root, i))(run_ids)
        return jax.vmap(one_run, in_axes=(0, 0, 0, None, None))(keys, x0s, lrs, hp, every)

    cache[ckey] = program
    return program


def train_controlled(objective, method, theta0, lr, n_steps, *, batch=32, n_records=20, rng=None,
                     eta_max=None, tau=None, beta_min=0.9, beta_max=0.99):
    """Train M runs of one method, each from its own start and initial learning rate.

    Parameters
    ----------
    objective : NetworkObjective
        E.g. :class:`~smecore.networks.DigitsObjective`.
    method : {"sgd", "inverse_time", "adagrad", "adam", "csgd", "cmsgd"}
        ``sgd``: x - lr g. ``inverse_time``: x - lr/(1 + k/tau) g. ``adagrad``, ``adam``:
        ``optax.adagrad(lr)``, ``optax.adam(lr)`` (optax's defaults otherwise).
        ``csgd``: the authors' cSGD with the largest rate ``eta_max`` and initial
        multiplier u0 = lr / eta_max, so that the initial rate is ``lr`` (the authors' MNIST
        notebook sweeps u0 at fixed eta_max). ``cmsgd``: the authors' cMSGD with the fixed
        learning rate ``eta_max`` and initial momentum mu0 = 1 - eta_max / lr, so that the
        initial effective rate eta_max / (1 - mu0) is ``lr`` (the authors' MNIST notebook
        sweeps mu0 at a fixed learning rate).
        See :mod:`smecore.algorithms.adaptive` for the laws and their source.
    theta0 : array_like, shape (M, dim) or (dim,)
        Starting points (one per run, or one for all).
    lr : float or array_like, shape (M,)
        Initial learning rate of each run, > 0.
    n_steps : int
        A multiple of ``n_records``.
    batch : int, default 32
        Mini-batch size (samples drawn with replacement).
    n_records : int, default 20
    rng
        Anything ``numpy.random.default_rng`` accepts.
    eta_max : float, optional
        cSGD: the largest rate (>= every ``lr``), default ``max(lr)``; cMSGD: the fixed
        learning rate (<= every ``lr``), default ``min(lr)``.
    tau : float, optional
        ``inverse_time`` only: the decay time in steps, > 0.
    beta_min, beta_max : float
        cSGD / cMSGD: bounds of the EMA decay in (0, 1) (source defaults 0.9, 0.99).

    Returns
    -------
    ControlRuns

    Raises
    ------
    TypeError, ValueError
        Naming the argument: an unknown method, a non-positive ``lr`` (or ``eta_max``,
        ``tau``), ``lr > eta_max`` (cSGD) or ``lr < eta_max`` (cMSGD), decay rates outside
        (0, 1), a shape mismatch.
    smecore.DivergenceError
        If a run's training loss becomes non-finite.

    Examples
    --------
    >>> from smecore.networks import MLP, DigitsObjective, load_digits_split
    >>> obj = DigitsObjective(MLP((64, 8, 10)), load_digits_split(200))
    >>> x0 = MLP((64, 8, 10)).init(0)
    >>> out = train_controlled(obj, "csgd", x0, [0.01, 0.1], 20, n_records=2, rng=0)
    >>> out.metrics["train_loss"].shape, out.metrics["rate"].shape
    ((3, 2), (3, 2))
    """
    if not isinstance(objective, NetworkObjective):
        raise TypeError(f"objective must be a network objective, got {type(objective).__name__}")
    if method not in CONTROL_METHODS:
        raise ValueError(f"method must be one of {CONTROL_METHODS}, got {method!r}")
    lrs = np.atleast_1d(np.asarray(lr, dtype=float))
    if lrs.ndim != 1 or not np.all(np.isfinite(lrs)) or np.any(lrs <= 0):
        raise ValueError(f"lr must be finite and > 0 (a float or a 1-d array), got {lr!r}")
    x0 = np.asarray(theta0, dtype=float)
    if x0.ndim == 1:
        x0 = np.broadcast_to(objective.check_theta(x0), (lrs.size, objective.dim))
    if x0.ndim != 2 or x0.shape[1] != objective.dim:
        raise ValueError(f"theta0 must have shape (M, {objective.dim}) or ({objective.dim},), "
                         f"got {x0.shape}")
    if lrs.size == 1:
        lrs = np.full(x0.shape[0], lrs[0])
    if lrs.size != x0.shape[0]:
        raise ValueError(f"lr has {lrs.size} entries for {x0.shape[0]} starting points")
    n_steps = _check_pos(n_steps, "n_steps", integer=True)
    n_records = _check_pos(n_records, "n_records", integer=True)
    batch = _check_pos(batch, "batch", integer=True)
    if n_steps % n_records:
        raise ValueError(f"n_steps ({n_steps}) must be a multiple of n_records ({n_records})")
    default = lrs.min() if method == "cmsgd" else lrs.max()
    eta = float(default) if eta_max is None else _check_pos(eta_max, "eta_max")
    if method == "csgd" and np.any(lrs > eta * (1 + 1e-12)):
        raise ValueError(f"lr must be <= eta_max ({eta}) for cSGD (u0 = lr / eta_max <= 1)")
    if method == "cmsgd" and np.any(lrs < eta * (1 - 1e-12)):
        raise ValueError(f"lr must be >= eta_max ({eta}) for cMSGD (mu0 = 1 - eta_max / lr >= 0)")
    tau = 1.0 if tau is None else _check_pos(tau, "tau")
    if method in ("csgd", "cmsgd"):  # validates the decay bounds and the initial momentum
        adaptive.AdaptiveSettings(method, lr=eta, beta_min=beta_min, beta_max=beta_max)
    program = _program(objective, method, batch, n_records)
    hp = jnp.asarray([eta, tau, float(beta_min), float(beta_max)], dtype=jnp.float64)
    out = program(jax_key(rng), jnp.arange(x0.shape[0]), jnp.asarray(x0), jnp.asarray(lrs), hp,
                  n_steps // n_records)
    metrics = {k: np.asarray(v).T for k, v in out.items()}
    loss = metrics["train_loss"]
    if not np.all(np.isfinite(loss)):
        run = int(np.argmax(~np.all(np.isfinite(loss), axis=0)))
        raise sc.DivergenceError(f"{method} diverged (run {run}, lr={lrs[run]:g}): the training "
                                 f"loss became non-finite; reduce the learning rate")
    steps = np.arange(n_records + 1) * (n_steps // n_records)
    return ControlRuns(steps, metrics, method, lrs, {"eta_max": eta, "tau": tau, "batch": batch})


def _spread(values):
    """Standard deviation over rates (axis 0) of the mean over seeds (axis 1)."""
    return np.std(values.mean(axis=-1), axis=-1, ddof=1)


def spread_ratio(reference, other, n_boot=2000, rng=None):
    """How much less ``other``'s final loss varies across initial rates than ``reference``'s.

    The spread of a method is the standard deviation, over the initial learning rates,
    of its final loss averaged over seeds. The ratio spread(reference)/spread(other) and
    its standard error come from a paired bootstrap over seeds (seed s shares its start
    and its mini-batches' key across methods and rates, so seeds are resampled jointly).

    Parameters
    ----------
    reference, other : array_like, shape (L, S)
        Final losses, one row per initial rate, one column per seed (L >= 2, S >= 2).
    n_boot : int, default 2000
    rng
        Anything ``numpy.random.default_rng`` accepts.

    Returns
    -------
    ratio, log10_ratio, se_log10 : float
        The ratio, its decimal logarithm and the bootstrap standard error of the latter.

    Raises
    ------
    ValueError
        If the shapes differ or are too small.

    Examples
    --------
    >>> ref = np.array([[1.0, 1.2], [2.0, 2.1], [3.0, 3.3]])
    >>> r, lg, se = spread_ratio(ref, ref / 10, rng=0)
    >>> round(r, 6), round(lg, 6)
    (10.0, 1.0)
    """
    ref, oth = np.asarray(reference, dtype=float), np.asarray(other, dtype=float)
    if ref.shape != oth.shape or ref.ndim != 2 or min(ref.shape) < 2:
        raise ValueError(f"reference and other must have the same shape (L, S), L, S >= 2; "
                         f"got {ref.shape} and {oth.shape}")
    n_boot = _check_pos(n_boot, "n_boot", integer=True)
    ratio = float(_spread(ref) / _spread(oth))
    idx = np.random.default_rng(rng).integers(0, ref.shape[1], (n_boot, ref.shape[1]))
    boot = np.log10(_spread(ref[:, idx].transpose(1, 0, 2)) / _spread(oth[:, idx].transpose(1, 0, 2)))
    return ratio, float(np.log10(ratio)), float(np.std(boot[np.isfinite(boot)], ddof=1))
