"""SVAG: simulating the SME of SGD by stochastic variance amplified gradients.

Li, Malladi & Arora (NeurIPS 2021), "On the Validity of Modeling SGD with Stochastic
Differential Equations". SVAG(l) takes the loss c1 L(B1) + c2 L(B2) on two independent
mini-batches of the original size, with c1,2 = (1 +/- sqrt(2l - 1))/2, and runs it with
learning rate lr/l for l times as many steps. The coefficients and the two-batch split
are those of the authors' public code (``pl_modules/exp_modules.py``,
``SDELimit1_*_Module``).

Why it works: c1 + c2 = 1, so the mean gradient is unchanged; c1^2 + c2^2 = l, so the
gradient noise covariance is l Sigma/B. Per unit time t = k lr/l, the drift is grad F and the
noise variance (lr/l)^2 * l Sigma/B / (lr/l) = lr Sigma/B, that of the SME of SGD at (lr, B).
As l -> infinity SVAG(l) converges weakly to that SME (their Theorem 4.3, order 1 in 1/l),
without ever forming Sigma^{1/2}. For exactly Gaussian gradient noise
(:class:`~.teacher.TeacherStudent`), one SVAG(l) step has the law of one Euler-Maruyama
step of the SME with dt = lr/l.
"""

from __future__ import annotations

import numpy as np

from .. import mutants

from .simulate import _check_pos, _run


def svag_coefficients(l):
    """SVAG's loss weights c1, c2 = (1 +/- sqrt(2l - 1)) / 2.

    Parameters
    ----------
    l : float
        Amplification, >= 1 (l = 1 gives c1 = 1, c2 = 0: plain SGD).

    Returns
    -------
    (float, float)

    References
    ----------
    Z. Li, S. Malladi, S. Arora, "On the Validity of Modeling SGD with Stochastic Differential
    Equations (SDEs)", NeurIPS 2021 (arXiv:2102.12470); public code: GitHub
    ``sadhikamalladi/svag``, ``pl_modules/exp_modules.py``.

    Examples
    --------
    >>> svag_coefficients(1)
    (1.0, 0.0)
    >>> c1, c2 = svag_coefficients(8)
    >>> round(c1 + c2, 12), round(c1**2 + c2**2, 12)
    (1.0, 8.0)
    """
    l = _check_pos(l, "l")
    if l < 1:
        raise ValueError(f"l must be >= 1, got {l}")
    c = np.sqrt(2 * l - 1)
    return float((1 + c) / 2), float((1 - c) / 2)


def simulate_svag(objective, theta0, lr, n_steps, l, *, batch=1, n_runs=64, n_records=20, rng=None,
                  executor=None, block_size=None, bound=1e6, amplify=True):
    """M independent runs of SVAG(l): lr/l, l * n_steps steps, loss c1 L(B1) + c2 L(B2).

    Parameters
    ----------
    objective : NetworkObjective
    theta0 : array_like, shape (dim,)
    lr : float
        The learning rate of the SGD being modelled, > 0.
    n_steps : int
        Number of SGD steps the run corresponds to (horizon T = n_steps * lr); a multiple of
        ``n_records``.
    l : int
        Amplification, >= 1. ``l = 1`` is SGD (the second batch gets weight 0).
    batch, n_runs, n_records, rng, executor, block_size, bound
        As in :func:`~.simulate.simulate`.
    amplify : bool, default True
        ``False`` is the **mutant "no amplification"**: c1 = c2 = 1/2 (the two batches are
        simply averaged) with the same lr/l and l times the steps. Its noise per unit time
        is lr Sigma/(2 B l) -> 0, so it converges to the gradient flow, not to the SME.

    Returns
    -------
    Trajectories
        Records at the same times t = k lr as SGD's (time step lr/l per SVAG step).

    Raises
    ------
    smecore.DivergenceError
        With the SVAG step at which a run diverged.

    References
    ----------
    Z. Li, S. Malladi, S. Arora, "On the Validity of Modeling SGD with Stochastic Differential
    Equations (SDEs)", NeurIPS 2021 (arXiv:2102.12470); public code: GitHub
    ``sadhikamalladi/svag``, ``pl_modules/exp_modules.py``.

    Examples
    --------
    >>> from smecore.networks import TeacherStudent
    >>> ts = TeacherStudent(50, (3, 8, 1), noise=0.5, rng=0)
    >>> tr = simulate_svag(ts, ts.model.init(1), 0.1, 20, 4, n_runs=8, n_records=4, rng=0)
    >>> float(tr.times[-1]), tr.info["n_steps"]
    (2.0, 80)
    """
    amplify = mutants.overrides("simulate_svag").get("amplify", amplify)
    if isinstance(l, bool) or not isinstance(l, (int, np.integer)):
        raise TypeError(f"l must be an int, got {type(l).__name__}")
    c1, c2 = svag_coefficients(l) if amplify else (0.5, 0.5)
    lr = _check_pos(lr, "lr")
    _check_pos(n_steps, "n_steps", integer=True)
    params = [lr / l, 0.0, c1, c2, 0.0, 0.0, 0.0]
    tr = _run(objective, "svag", theta0, params, n_steps * l, n_records, batch, n_runs, rng,
              executor, block_size, bound, lr / l, lr)
    tr.info.update(l=l, amplify=bool(amplify))
    return tr


mutants.register(mutants.Mutant(
    "NW1", "no-amplification", "simulate_svag", {"amplify": False},
    "SVAG without variance amplification: c1 = c2 = 1/2, plain SGD at lr / l"))
