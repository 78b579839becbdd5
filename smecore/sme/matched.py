"""The SME of a general one-step method, derived by moment matching (Lemmas 4 and 5).

A one-step method x_{k+1} = x_k + lr h(x_k, gamma_k) has the increment
Delta = lr h, so exactly

    E Delta = lr m(x),    E Delta Delta^T = lr^2 (m m^T + S)(x),

with m = E h and S = Cov h (the recipe of Lemma 5 of Li, Tai & E 2019, which
never uses that h is a gradient). An SDE dX = (a0 + lr a1) dt + sqrt(lr) b0 dW
has, by Lemma 4, E Delta~ = a0 lr + [1/2 (grad a0) a0 + a1] lr^2 + O(lr^3) and
E Delta~ Delta~^T = (a0 a0^T + b0 b0^T) lr^2 + O(lr^3). Matching term by term:

    a0 = m,    a1 = -1/2 (grad m) m,    b0 b0^T = S,

and Theorem 3 makes dX = (m - lr/2 (grad m) m) dt + sqrt(lr) S^{1/2} dW a weak
order-2 approximation, dX = m dt + sqrt(lr) S^{1/2} dW one of order 1.
:func:`moment_matched_sme` builds these equations from the method's law,
given as a stochastic objective whose stochastic gradient is -h (for SGD,
h = -grad f_gamma, and the result is :func:`smecore.sme.sgd_sme`).
"""

from __future__ import annotations

import numpy as np

from .. import mutants
from .._validation import positive_float, state_vector
from ..problems.base import StochasticObjective
from .equations import _Constant, _offset_only
from .sde import SDE, LinearStructure

__all__ = ["MatchedSME", "moment_matched_sme"]


class MatchedSME(SDE):
    """dX = (m + lr a1)(X) dt + sqrt(lr) S(X)^{1/2} dW, matched to a one-step method.

    Built by :func:`moment_matched_sme`.
    """

    def __init__(self, method, lr, order, second_moment_sigma):
        self.problem = method
        self.lr, self.order = lr, order
        self.noise = second_moment_sigma
        self.dim = self.position_dim = method.dim
        self.noise_dim = int(method.noise_dim or method.dim) if self.noise else 0
        self.name = f"moment-matched SME (lr={lr:g}, order {order}" \
                    f"{'' if self.noise else ', without Sigma'})"
        self.linear = None
        affine = method.affine
        if affine is not None:
            mean = np.asarray(affine.mean, dtype=float)  # [-B, -c]: the pseudo-gradient
            # m z = -mean z; (grad m) m z = (-A)(-mean z) = A mean z, A = affine.hessian.
            F = -mean - (0.5 * lr * affine.hessian @ mean if order == 2 else 0.0)
            cov = np.asarray(affine.cov, dtype=float)
            C = lr * cov if self.noise else np.zeros(cov.shape)
            self.linear = LinearStructure(_Constant(F), _Constant(C), time_homogeneous=True,
                                          additive=_offset_only(C))

    def drift(self, t, x):
        m = -self.problem.grad(x)
        if self.order == 1:
            return m
        # (grad m) m = (-J)(-g) = J g with J the Jacobian of the pseudo-gradient g = -m.
        return m - 0.5 * self.lr * self.problem.hvp(x, -m)

    def diffusion(self, t, x):
        if not self.noise:
            return np.zeros(x.shape + (0,))
        return np.sqrt(self.lr) * self.problem.noise_factor(x)

    def initial_state(self, x0):
        """The state for a start at ``x0`` (here: x0 itself)."""
        return state_vector(x0, self.dim)


def moment_matched_sme(method, lr, order=2, *, second_moment_sigma=True) -> MatchedSME:
    """The SME of the one-step method x + lr h(x, gamma), by matching one-step moments.

    .. math::

        dX = \\Big(m - \\frac{\\eta}{2}(\\nabla m)\\,m\\Big)(X)\\,dt
             + \\sqrt{\\eta}\\,S(X)^{1/2}\\,dW
        \\quad(\\text{order } 2),\\qquad
        dX = m(X)\\,dt + \\sqrt{\\eta}\\,S(X)^{1/2}\\,dW\\quad(\\text{order } 1),

    with m = E h, S = Cov h and (grad m)_{il} = d m_i / d x_l; derived from
    Lemmas 4 and 5 of Li, Tai & E (2019) in the module docstring. For SGD
    (h = -grad f_gamma) it is :func:`smecore.sme.sgd_sme`.

    Parameters
    ----------
    method : StochasticObjective
        The method's law, with the pseudo-gradient -h in the place of the
        stochastic gradient (``grad`` = -m, ``hvp`` its Jacobian-vector
        product, ``noise_factor`` a factor of S), e.g.
        :class:`~smecore.problems.AffineStochasticField` or any objective.
    lr : float
        Learning rate eta > 0.
    order : {1, 2}
    second_moment_sigma : bool, default True
        False matches a one-step second moment *without* S, E Delta Delta^T =
        eta^2 m m^T, which gives b0 = 0: the mutant "T1:no-sigma"
        (:mod:`smecore.mutants`), weak order 1 only.

    Returns
    -------
    MatchedSME
        With ``linear`` set for affine laws (``method.affine``).

    Raises
    ------
    TypeError
        If ``method`` is not a StochasticObjective.
    ValueError
        If ``lr`` is not positive or ``order`` is not 1 or 2.

    Examples
    --------
    >>> import numpy as np
    >>> from smecore.problems import AffineStochasticField
    >>> field = AffineStochasticField([[-1.0, -2.0], [2.0, -1.0]], v=[[0.5, 0.0]])
    >>> sde = moment_matched_sme(field, 0.1)
    >>> sde.drift(0.0, np.array([[1.0, 0.0]]))   # m - 0.05 B m = (-1, 2) - 0.05 (-3, -4)
    array([[-0.85,  2.2 ]])
    """
    forced = mutants.overrides("moment_matched_sme")
    second_moment_sigma = forced.get("second_moment_sigma", second_moment_sigma)
    if not isinstance(method, StochasticObjective):
        raise TypeError(f"method must be a smecore StochasticObjective, got {type(method).__name__}")
    lr = positive_float(lr, "lr")
    if isinstance(order, bool) or order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    if not isinstance(second_moment_sigma, (bool, np.bool_)):
        raise TypeError("second_moment_sigma must be True or False")
    return MatchedSME(method, lr, int(order), bool(second_moment_sigma))


mutants.register(mutants.Mutant(
    "T1", "no-sigma", "moment_matched_sme", {"second_moment_sigma": False},
    "the SME of a one-step method matched to a one-step second moment without Sigma "
    "(E Delta Delta^T = eta^2 m m^T): no noise"))
