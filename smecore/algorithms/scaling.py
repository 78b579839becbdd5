"""The linear scaling rule: the batch size that goes with a learning rate.

A mini-batch of B samples drawn with replacement divides the gradient-noise
covariance by B, so the order-1 SME of SGD with learning rate lr and batch size B
depends on (lr, B) only through rho = lr / B (the dynamics chapter, result D2).
:func:`scaled_batch_size` returns the batch size that keeps rho fixed as lr grows.

Its keyword ``batch_exponent`` p (B = (lr / rho)^p) writes down the wrong rules a
claim must reject: p = 0 keeps B = 1 while lr grows (mutant ``D2:batch-not-scaled``),
p = 1/2 scales lr with B^2 (mutant ``D2:lr-with-batch-squared``); see
:mod:`smecore.mutants`. The network chapter's scaled runs take their batch size from here
too, so ``NW3:lr-with-batch-squared`` is the same wrong rule on the digits MLP.
"""

from __future__ import annotations

import numpy as np

from .. import mutants
from .._validation import positive_float

__all__ = ["scaled_batch_size"]


def scaled_batch_size(lr, rho, *, batch_exponent=1.0) -> int:
    """The batch size B = lr / rho of the linear scaling rule, as an integer.

    Parameters
    ----------
    lr : float
        Learning rate, >= rho.
    rho : float
        The ratio lr / B to keep fixed, > 0.
    batch_exponent : float
        p in B = (lr / rho)^p, rounded to the nearest integer. p = 1 (default)
        is the linear scaling rule; other values are wrong rules, kept to test
        that the claims reject them.

    Returns
    -------
    int
        B >= 1.

    Raises
    ------
    ValueError
        If lr < rho, a value is not positive, or ``batch_exponent`` is negative
        or not finite.

    Examples
    --------
    >>> scaled_batch_size(0.08, 0.01)
    8
    >>> scaled_batch_size(0.08, 0.01, batch_exponent=0.5)   # lr grows like B^2: wrong
    3
    """
    p = mutants.overrides("scaled_batch_size").get("batch_exponent", batch_exponent)
    lr = positive_float(lr, "lr")
    rho = positive_float(rho, "rho")
    p = positive_float(p, "batch_exponent", allow_zero=True)
    ratio = lr / rho
    if ratio < 1 - 1e-9:
        raise ValueError(f"lr must be >= rho (batch size >= 1), got lr = {lr:g}, rho = {rho:g}")
    return max(1, int(np.rint(max(ratio, 1.0) ** p)))


# Wrong scaling rules that the D2 claims must reject (see smecore.mutants).
mutants.register(mutants.Mutant(
    "D2", "batch-not-scaled", "scaled_batch_size", {"batch_exponent": 0.0},
    "the learning rate raised without raising the batch size (B = 1 for every lr)"))
mutants.register(mutants.Mutant(
    "D2", "lr-with-batch-squared", "scaled_batch_size", {"batch_exponent": 0.5},
    "the learning rate scaled with B^2 instead of B (B = sqrt(lr / rho))"))
mutants.register(mutants.Mutant(
    "NW3", "lr-with-batch-squared", "scaled_batch_size", {"batch_exponent": 0.5},
    "on the network, the learning rate scaled with B^2 instead of B (B = sqrt(kappa))"))
