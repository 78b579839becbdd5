"""Deterministic diagnostics of a network objective: curvature and noise-to-signal ratio."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .simulate import _check_pos


def top_hessian_eigenvalue(objective, theta, *, n_iter=50, rng=0):
    """Largest-magnitude Hessian eigenvalue of F at ``theta`` by power iteration on HVPs.

    Parameters
    ----------
    objective : NetworkObjective
    theta : array_like, shape (dim,)
    n_iter : int, default 50
    rng
        Seed of the starting vector.

    Returns
    -------
    float
        The Rayleigh quotient v^T H v of the final iterate (signed).

    Examples
    --------
    >>> from smecore.networks import TeacherStudent
    >>> ts = TeacherStudent(50, (3, 8, 1), noise=0.5, rng=0)
    >>> top_hessian_eigenvalue(ts, ts.model.init(1)) > 0
    True
    """
    theta = objective.check_theta(theta, "theta")
    _check_pos(n_iter, "n_iter", integer=True)
    v = jnp.asarray(np.random.default_rng(rng).standard_normal(objective.dim))
    v = v / jnp.linalg.norm(v)
    hvp = jax.jit(objective.hvp)

    def body(_, v):
        w = hvp(theta, v)
        return w / jnp.linalg.norm(w)

    v = jax.lax.fori_loop(0, n_iter, body, v)
    return float(jnp.dot(v, hvp(theta, v)))


def noise_to_signal(objective, theta, batch=1):
    """Noise-to-signal ratio tr(Sigma(theta)) / (batch ``|grad F(theta)|^2).``

    Parameters
    ----------
    objective : DigitsObjective
        Must provide ``sigma_trace``.
    theta : array_like, shape (dim,)
    batch : int, default 1

    Returns
    -------
    float

    Examples
    --------
    >>> from smecore.networks import DigitsObjective, MLP, load_digits_split
    >>> obj = DigitsObjective(MLP((64, 32, 10)), load_digits_split(200))
    >>> noise_to_signal(obj, obj.model.init(0)) > 1
    True
    """
    theta = objective.check_theta(theta, "theta")
    _check_pos(batch, "batch", integer=True)
    g = objective.grad(theta)
    return float(objective.sigma_trace(theta) / (batch * jnp.sum(g**2)))
