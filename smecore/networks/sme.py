"""The SME of SGD on a network, by Euler-Maruyama with exact-in-law noise."""

from __future__ import annotations

import numpy as np

from .. import mutants

from .simulate import _check_pos, _run


def simulate_sme(objective, theta0, lr, n_steps, *, batch=1, order=1, substeps=1, noise=True,
                 n_runs=64, n_records=20, rng=None, executor=None, block_size=None, bound=1e6):
    """Euler-Maruyama paths of the SME of SGD (learning rate ``lr``, batch ``batch``).

    Order 1 (Li, Tai & E 2019, the order-1 corollary of their SGD approximation theorem):
    dX = -grad F(X) dt + sqrt(lr / B) Sigma(X)^{1/2} dW.
    Order 2 (their order-2 theorem for SGD): the drift becomes
    -grad(F + (lr/4)``|grad F|^2)`` = -(grad F + (lr/2) H grad F), with the Hessian-vector product
    from ``jax.jvp`` of the gradient.

    The step is dt = lr / substeps; Sigma^{1/2} xi is sampled exactly in law by the objective
    (:meth:`~.mlp.DigitsObjective.noise_sample`), never forming a dim x dim matrix:
    X <- X - dt b(X) + sqrt(lr dt / B) Sigma(X)^{1/2} xi.

    Parameters
    ----------
    objective : NetworkObjective
    theta0 : array_like, shape (dim,)
    lr : float
        Learning rate of the SGD being modelled, > 0.
    n_steps : int
        Horizon T = n_steps * lr; a multiple of ``n_records``.
    batch : int, default 1
    order : {1, 2}
    substeps : int, default 1
        Euler-Maruyama steps per unit lr of time.
    noise : bool, default True
        ``False`` is the **mutant "no noise"**: the diffusion is removed and the paths are the
        Euler discretisation of the gradient flow dX = -grad F dt (order 1) or of the modified
        flow (order 2). Used to show that the claim checks can fail.
    n_runs, n_records, rng, executor, block_size, bound
        As in :func:`~.simulate.simulate`.

    Returns
    -------
    Trajectories
        Records at times t = k lr.

    Raises
    ------
    smecore.DivergenceError
        With the Euler-Maruyama step at which a path diverged.

    Notes
    -----
    The weak order of Euler-Maruyama is 1 in dt, so with ``substeps = 1`` the order-2 drift
    correction competes with an O(lr) solver error; use ``substeps >= 4`` when the order-2
    SME itself is the object of study.

    References
    ----------
    Q. Li, C. Tai, W. E, "Stochastic Modified Equations and Dynamics of Stochastic Gradient
    Algorithms I: Mathematical Foundations", JMLR 20(40), 2019.

    Examples
    --------
    >>> from smecore.networks import TeacherStudent
    >>> ts = TeacherStudent(50, (3, 8, 1), noise=0.5, rng=0)
    >>> tr = simulate_sme(ts, ts.model.init(1), 0.1, 20, substeps=2, n_runs=8, n_records=4, rng=0)
    >>> tr.metrics["train_loss"].shape
    (5, 8)
    """
    noise = mutants.overrides("simulate_sme").get("noise", noise)
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    if not isinstance(noise, (bool, np.bool_)):
        raise TypeError(f"noise must be a bool, got {type(noise).__name__}")
    lr = _check_pos(lr, "lr")
    _check_pos(n_steps, "n_steps", integer=True)
    _check_pos(substeps, "substeps", integer=True)
    _check_pos(batch, "batch", integer=True)
    dt = lr / substeps
    scale = float(np.sqrt(lr * dt / batch)) if noise else 0.0
    params = [lr, 0.0, 0.0, 0.0, dt, scale, lr]
    tr = _run(objective, f"sme{order}", theta0, params, n_steps * substeps, n_records, batch, n_runs,
              rng, executor, block_size, bound, dt, lr)
    tr.info.update(order=order, substeps=substeps, noise=bool(noise))
    return tr


mutants.register(mutants.Mutant(
    "NW2", "no-noise", "simulate_sme", {"noise": False},
    "the SME on the network without its noise: the gradient flow"))
