"""The weak error of SGD against its SME on a network, with SGD and the SME coupled.

For an objective whose gradient noise is exactly Gaussian with a known factor
(:class:`~.teacher.TeacherStudent`: Sigma = G G^T with G = -(sigma/n) J^T, dim x n), one SGD
step with batch 1 is

    x - lr grad F(x) + lr G(x) z,        z ~ N(0, I_n),

and the order-1 SME dX = -grad F dt + sqrt(lr) G(X) dW (W an n-dimensional Brownian motion)
has the same diffusion generator as the SME with Sigma^{1/2}. Both can therefore be driven by
the same Brownian path: the SME is solved by Euler-Maruyama with m substeps of size
h = lr/m per SGD step, using increments sqrt(h) z_1, ..., sqrt(h) z_m, and SGD uses
z = (z_1 + ... + z_m)/sqrt(m), which is again N(0, I_n). The law of each is unchanged, but the
two paths stay close (their difference is O(lr) in mean square), so the Monte Carlo error of
E phi(SGD) - E phi(SME) is O(lr / sqrt(M)) instead of O(sqrt(lr / M)): the weak error, itself
O(lr), is resolved at every lr with the same number of runs.

The reference has its own Euler-Maruyama error, order 1 in h. With ``richardson=True`` the
SME is also solved with 2m substeps on the same path and the reference is the extrapolation
2 phi(X^{h/2}) - phi(X^h), whose error is O(h^2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

import smecore as sc

from .. import mutants
from ..estimation import fit_order
from .objective import NetworkObjective
from .simulate import _check_pos, jax_key, run_blocks


@dataclass
class CoupledRuns:
    """Final metrics of M coupled runs of SGD and of its SME.

    Attributes
    ----------
    sgd : dict of str -> ndarray, shape (M,)
        Metrics of SGD after ``n_steps`` steps.
    sme : dict of str -> ndarray, shape (M,)
        Metrics of the Euler-Maruyama SME (``substeps`` per SGD step) at T = n_steps * lr.
    sme_fine : dict of str -> ndarray, shape (M,), or None
        The same with ``2 * substeps`` (when ``richardson``).
    lr, n_steps, substeps, order, time_scale
        The arguments of :func:`coupled_weak_error`.
    """

    sgd: dict
    sme: dict
    sme_fine: dict | None
    lr: float
    n_steps: int
    substeps: int
    order: int
    time_scale: float
    info: dict = field(default_factory=dict)

    def reference(self, name):
        """Per-run phi of the reference: the SME path, or 2 phi(fine) - phi(coarse) with Richardson."""
        if self.sme_fine is None:
            return self.sme[name]
        return 2 * self.sme_fine[name] - self.sme[name]

    def error(self, name):
        """E phi(SGD) - E phi(SME) as an ``sc.MCEstimate`` (mean and standard error over runs)."""
        if name not in self.sgd:
            raise ValueError(f"unknown metric {name!r}; available: {sorted(self.sgd)}")
        diff = self.sgd[name] - self.reference(name)
        return sc.MCEstimate(float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(diff.size)), diff.size)

    def solver_error(self, name):
        """E phi(SME, h) - E phi(SME, h/2) (needs ``richardson``): the Euler-Maruyama error of the
        coarse reference, to leading order; the extrapolated one is O(h^2)."""
        if self.sme_fine is None:
            raise ValueError("solver_error needs richardson=True")
        diff = self.sme[name] - self.sme_fine[name]
        return sc.MCEstimate(float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(diff.size)), diff.size)


def _program(objective, substeps, order, richardson):
    cache = objective.__dict__.setdefault("_program_cache", {})
    ckey = ("coupled", substeps, order, richardson)
    if ckey in cache:
        return cache[ckey]
    n_fine = 2 * substeps if richardson else substeps

    def drift(x, lr):
        return objective.grad(x) if order == 1 else objective.modified_gradient(x, lr)

    def em(x, zs, lr, h):
        # zs: (k, n) standard normals; increments sqrt(h) z_j; diffusion sqrt(lr) G(x)
        def body(j, x):
            return x - h * drift(x, lr) + jnp.sqrt(lr * h) * objective.noise_from_normal(x, zs[j])
        return jax.lax.fori_loop(0, zs.shape[0], body, x)

    def one_run(key, x0, lr, tscale, n_steps):
        def step(k, state):
            x, y, yf = state
            z = jax.random.normal(jax.random.fold_in(key, k), (n_fine, objective.noise_dim))
            zc = z.reshape(substeps, -1, z.shape[1]).sum(axis=1) / np.sqrt(n_fine // substeps)
            x = x - lr * objective.grad(x) + lr * objective.noise_from_normal(x, zc.sum(0) / np.sqrt(substeps))
            y = em(y, zc, lr, tscale * lr / substeps)
            if richardson:
                yf = em(yf, z, lr, tscale * lr / n_fine)
            return x, y, yf

        x, y, yf = jax.lax.fori_loop(0, n_steps, step, (x0, x0, x0))
        return objective.metrics(x), objective.metrics(y), objective.metrics(yf), jnp.stack([x, y, yf])

    @jax.jit
    def program(root, ids, x0, lr, tscale, n_steps):
        keys = jax.vmap(lambda i: jax.random.fold_in(root, i))(ids)
        return jax.vmap(one_run, in_axes=(0, None, None, None, None))(keys, x0, lr, tscale, n_steps)

    cache[ckey] = program
    return program


def coupled_weak_error(objective, theta0, lr, n_steps, *, substeps=8, order=1, richardson=False,
                       n_runs=256, rng=None, block_size=None, bound=1e6, time_scale=1.0):
    """SGD (batch 1) and the Euler-Maruyama SME of SGD driven by the same Brownian path.

    Parameters
    ----------
    objective : NetworkObjective
        With exactly Gaussian gradient noise and a factor of its covariance: it must provide
        ``noise_dim`` and ``noise_from_normal(theta, z)`` (:class:`~.teacher.TeacherStudent`).
    theta0 : array_like, shape (dim,)
    lr : float
        Learning rate of SGD, > 0.
    n_steps : int
        SGD steps; the horizon is T = n_steps * lr.
    substeps : int, default 8
        Euler-Maruyama steps of the SME per SGD step (h = lr / substeps).
    order : {1, 2}
        The order-1 SME or the order-2 SME (drift grad F + (lr/2) H grad F).
    richardson : bool, default False
        Also solve the SME with 2 * substeps steps on the same path; the reference becomes the
        extrapolation 2 phi(X^{h/2}) - phi(X^h).
    n_runs : int, default 256
    rng
        Anything ``numpy.random.default_rng`` accepts; run i uses ``fold_in(root, i)``.
    block_size : int, optional
        Runs per compiled block (default all).
    bound : float, default 1e6
        A run whose parameters leave ``|theta_j| <= bound`` diverged.
    time_scale : float, default 1
        The SME is solved up to time ``time_scale * T`` (step ``time_scale * h``, increments
        scaled by ``sqrt(time_scale)``). Anything but 1 is the **mutant "wrong time scale"**
        (SGD step k compared with the SME at t = time_scale * k * lr).

    Returns
    -------
    CoupledRuns

    Raises
    ------
    ValueError
        If the objective has no Gaussian noise factor, or on invalid arguments.
    smecore.DivergenceError
        If a run left the box ``|theta_j| <= bound``.

    References
    ----------
    Q. Li, C. Tai, W. E, "Stochastic Modified Equations and Dynamics of Stochastic Gradient
    Algorithms I: Mathematical Foundations", JMLR 20(40), 2019.

    Examples
    --------
    >>> from smecore.networks import TeacherStudent
    >>> ts = TeacherStudent(50, (3, 8, 1), noise=0.5, rng=0)
    >>> runs = coupled_weak_error(ts, ts.model.init(1), 0.1, 10, substeps=4, n_runs=8, rng=0)
    >>> runs.sgd["train_loss"].shape, runs.error("train_loss").n_paths
    ((8,), 8)
    """
    time_scale = mutants.overrides("coupled_weak_error").get("time_scale", time_scale)
    if not isinstance(objective, NetworkObjective):
        raise TypeError(f"objective must be a network objective, got {type(objective).__name__}")
    if not hasattr(objective, "noise_from_normal") or not hasattr(objective, "noise_dim"):
        raise ValueError("objective must have exactly Gaussian noise with a known factor "
                         "(noise_dim, noise_from_normal), e.g. TeacherStudent")
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    if not isinstance(richardson, (bool, np.bool_)):
        raise TypeError(f"richardson must be a bool, got {type(richardson).__name__}")
    x0 = objective.check_theta(theta0)
    lr = _check_pos(lr, "lr")
    time_scale = _check_pos(time_scale, "time_scale")
    for value, name in ((n_steps, "n_steps"), (substeps, "substeps"), (n_runs, "n_runs")):
        _check_pos(value, name, integer=True)
    block_size = n_runs if block_size is None else _check_pos(block_size, "block_size", integer=True)
    program = _program(objective, int(substeps), int(order), bool(richardson))
    root = jax_key(rng)
    sgd, sme, fine, final = run_blocks(
        lambda ids: program(root, ids, x0, lr, time_scale, int(n_steps)), n_runs, block_size)
    bad = ~np.all(np.abs(final[:, :2 + bool(richardson)]) <= bound, axis=(1, 2))
    if np.any(bad):
        raise sc.DivergenceError(f"a coupled run diverged (run {int(np.argmax(bad))}, lr={lr:g}): the "
                                 f"parameters left the box |theta_j| <= {bound:g}; reduce the learning rate")
    return CoupledRuns(sgd, sme, fine if richardson else None, lr, int(n_steps), int(substeps),
                       int(order), float(time_scale), {"n_runs": n_runs})


mutants.register(mutants.Mutant(
    "NW4", "wrong-time-scale", "coupled_weak_error", {"time_scale": 2.0},
    "the SME of SGD read at the wrong time: SGD step k compared with X(2 k lr)"))


@dataclass
class WeakOrderStudy:
    """Weak errors of SGD against its SME on a ladder of learning rates, and the fitted order.

    Attributes
    ----------
    lrs : ndarray, shape (K,)
    errors : ndarray, shape (K,)
        E phi(SGD) - E phi(SME reference) at T.
    stderr : ndarray, shape (K,)
        Monte Carlo standard errors of ``errors`` (coupled runs).
    solver : ndarray, shape (K,)
        E phi(SME, h) - E phi(SME, h/2): the Euler-Maruyama error of the un-extrapolated reference.
    fit : smecore.estimation.OrderFit
        ``fit_order(lrs, |errors|, stderr)``.
    uncoupled_stderr : ndarray, shape (K,)
        The standard error the same number of runs would give without the coupling
        (independent SGD and SME runs): sqrt((var phi(SGD) + var phi(SME)) / M).
    """

    lrs: np.ndarray
    errors: np.ndarray
    stderr: np.ndarray
    solver: np.ndarray
    fit: object
    uncoupled_stderr: np.ndarray
    substeps: int = 4

    def reference_residual(self):
        """Estimated error of the extrapolated reference relative to the measured errors.

        Euler-Maruyama's weak error is c1 h + c2 h^2 + O(h^3), so the solver differences are
        E phi(X^h) - E phi(X^{h/2}) = c1 h / 2 + 3 c2 h^2 / 4 and the Richardson reference
        keeps -c2 h^2 / 2. Returns max over the ladder of ``|c2| h^2 / 2 / |error|``, with
        (c1, c2) fitted to the solver differences by least squares (h = lr / substeps).
        """
        h = self.lrs / self.substeps
        _, c = np.linalg.lstsq(np.c_[h, h**2], self.solver, rcond=None)[0]
        return float(np.max(abs(4 * c / 3) * h**2 / 2 / np.abs(self.errors)))


def weak_order_study(objective, theta0, lrs, horizon, *, order=1, substeps=4, n_runs=128, rng=None,
                     metric="train_loss"):
    """Fit the weak order of SGD against its order-1 or order-2 SME at a fixed horizon.

    For each learning rate, :func:`coupled_weak_error` with ``richardson=True`` (reference:
    the Richardson extrapolation of Euler-Maruyama with ``substeps`` and ``2 * substeps`` steps
    per SGD step) and ``n_steps = round(horizon / lr)``; then
    :func:`smecore.estimation.fit_order` on the absolute errors with their standard errors.

    Parameters
    ----------
    objective, theta0
        As in :func:`coupled_weak_error`.
    lrs : array_like, shape (K,)
        Learning rates, > 0, with ``horizon / lr`` an integer for each.
    horizon : float
        T > 0.
    order : {1, 2}
    substeps : int, default 4
    n_runs : int, default 128
    rng
        Anything ``numpy.random.default_rng`` accepts; it draws one seed per learning rate
        (independent runs across learning rates).
    metric : str, default "train_loss"
        The test function phi.

    Returns
    -------
    WeakOrderStudy

    Examples
    --------
    >>> from smecore.networks import TeacherStudent
    >>> ts = TeacherStudent(50, (3, 8, 1), noise=0.5, rng=0)
    >>> st = weak_order_study(ts, ts.model.init(1), [0.2, 0.1], 0.4, n_runs=8, rng=0)
    >>> st.errors.shape
    (2,)
    """
    lrs = np.asarray(lrs, dtype=float)
    if lrs.ndim != 1 or lrs.size < 2 or np.any(~np.isfinite(lrs)) or np.any(lrs <= 0):
        raise ValueError(f"lrs must be at least two positive learning rates, got {lrs}")
    horizon = _check_pos(horizon, "horizon")
    steps = np.rint(horizon / lrs).astype(int)
    if np.any(steps < 1) or np.any(np.abs(steps * lrs - horizon) > 1e-9 * horizon):
        raise ValueError(f"horizon / lr must be a positive integer for each lr, got {horizon / lrs}")
    seeds = np.random.default_rng(rng).integers(0, 2**63 - 1, size=lrs.size)
    runs = [coupled_weak_error(objective, theta0, lr, int(n), substeps=substeps, order=order,
                               richardson=True, n_runs=n_runs, rng=int(s))
            for lr, n, s in zip(lrs, steps, seeds)]
    est = [r.error(metric) for r in runs]
    errors = np.array([e.mean for e in est])
    stderr = np.array([e.stderr for e in est])
    solver = np.array([r.solver_error(metric).mean for r in runs])
    uncoupled = np.array([np.sqrt((r.sgd[metric].var(ddof=1) + r.reference(metric).var(ddof=1))
                                  / r.sgd[metric].size) for r in runs])
    return WeakOrderStudy(lrs, errors, stderr, solver, fit_order(lrs, np.abs(errors), stderr), uncoupled,
                          int(substeps))
