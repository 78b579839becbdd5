"""One-step moments of SGD and of its SMEs (Li, Tai & E 2019, Lemmas 4 and 5).

Theorem 3 of Li, Tai & E (2019) reduces weak approximation to a comparison of
*one-step* moments: start the algorithm and the SDE at the same point x, run one
step (one iteration; time eta), and compare the moments of the increments
Delta = x_1 - x and Delta~ = X_eta - x. This module measures those moments
without sampling error and states the two lemmas' formulas:

* :func:`sgd_one_step_moments`: E Delta, E Delta Delta^T, E Delta^(x3) of SGD
  at x, exact (enumeration of a finite sum, or the Gaussian law).
* :func:`lemma5_moments`: Lemma 5, E Delta = -eta grad f,
  E Delta Delta^T = eta^2 (grad f grad f^T + Sigma).
* :func:`sde_one_step_moments`: the SDE's one-step moments, exact for a linear
  SDE (:func:`smecore.moments.sde_moments`) or from the Kolmogorov backward
  equation for a 1-D SDE (:func:`smecore.moments.sde_expectations`).
* :func:`lemma4_moments`: Lemma 4 for the SME of SGD,
  E Delta~ = a0 eta + [1/2 (grad a0) a0 + a1] eta^2,
  E Delta~ Delta~^T = [a0 a0^T + b0 b0^T] eta^2.
* :func:`gaussian_expectation`: E g(Z), Z ~ N(mean, var), by Gauss-Hermite
  quadrature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import mutants
from .._validation import finite_array, positive_float, positive_int, state_vector
from ..problems.custom import FiniteSumObjective
from ..problems.two_point import _Power
from ..sme.equations import SGDSME
from .backward import sde_expectations
from .sde_moments import sde_moments

__all__ = ["OneStepMoments", "sgd_one_step_moments", "lemma5_moments", "lemma4_moments", "sde_one_step_moments", "gaussian_expectation"]


@dataclass(frozen=True)
class OneStepMoments:
    """Moments of a one-step increment Delta = x_1 - x from a fixed start x.

    Attributes
    ----------
    mean : ndarray, shape (d,)
        E Delta.
    second : ndarray, shape (d, d)
        E Delta Delta^T (non-central).
    third : ndarray, shape (d, d, d), or None
        E Delta_i Delta_j Delta_k, when it was computed.
    """

    mean: np.ndarray
    second: np.ndarray
    third: np.ndarray | None = None

    def mismatch(self, other) -> dict:
        """Largest absolute entry of each moment difference, ``self - other``.

        Returns
        -------
        dict
            Keys ``"mean"``, ``"second"`` and, when both have it, ``"third"``.

        Examples
        --------
        >>> a = OneStepMoments(np.array([1.0]), np.array([[2.0]]))
        >>> b = OneStepMoments(np.array([1.5]), np.array([[2.0]]))
        >>> a.mismatch(b)
        {'mean': 0.5, 'second': 0.0}
        """
        out = {
            "mean": float(np.max(np.abs(self.mean - other.mean))),
            "second": float(np.max(np.abs(self.second - other.second))),
        }
        if self.third is not None and other.third is not None:
            out["third"] = float(np.max(np.abs(self.third - other.third)))
        return out


def _raw_from_cumulants(k1, k2, k3):
    """Raw moments E g, E g g^T, E g^(x3) from the first three cumulants."""
    m2 = k2 + np.outer(k1, k1)
    m3 = (
        k3
        + np.einsum("ij,k->ijk", k2, k1)
        + np.einsum("ik,j->ijk", k2, k1)
        + np.einsum("jk,i->ijk", k2, k1)
        + np.einsum("i,j,k->ijk", k1, k1, k1)
    )
    return k1, m2, m3


def _gradient_cumulants(problem, x):
    """First three cumulants of the mini-batch gradient at x (exact)."""
    batch = positive_int(getattr(problem, "batch_size", 1), "problem.batch_size")
    if isinstance(problem, FiniteSumObjective):
        grads = np.asarray(problem.component_grads(x), dtype=float)  # (m, d)
        p = np.asarray(problem.probs, dtype=float)
        k1 = p @ grads
        c = grads - k1
        k2 = np.einsum("m,mi,mj->ij", p, c, c)
        k3 = np.einsum("m,mi,mj,mk->ijk", p, c, c, c)
        # The mean of B i.i.d. draws: cumulant n is divided by B^(n-1).
        return k1, k2 / batch, k3 / batch**2
    if getattr(problem, "gaussian_noise", False):
        k1 = np.asarray(problem.grad(x), dtype=float)
        k2 = np.asarray(problem.noise_cov(x), dtype=float)  # already divided by B
        return k1, k2, np.zeros((x.size,) * 3)
    raise TypeError(
        f"sgd_one_step_moments needs a finite-sum problem (FiniteSumObjective) or one with "
        f"Gaussian gradient noise; {type(problem).__name__} is neither"
    )


def sgd_one_step_moments(problem, lr, x) -> OneStepMoments:
    """Exact moments of one SGD increment Delta = -lr g(x) from the point x.

    Parameters
    ----------
    problem : StochasticObjective
        A finite sum (:class:`~smecore.problems.FiniteSumObjective`: the
        component gradients are enumerated), or a problem with Gaussian
        gradient noise (``gaussian_noise``: the stochastic gradient at x is
        N(grad f(x), Sigma(x)/B)). Mini-batches of size B (with replacement)
        divide the n-th cumulant of the gradient by B^(n-1).
    lr : float
        Learning rate eta > 0.
    x : array_like, shape (d,)
        Start point.

    Returns
    -------
    OneStepMoments
        With ``third`` set. These are expectations, not estimates: no
        sampling is involved.

    Raises
    ------
    TypeError
        If the problem is neither a finite sum nor Gaussian.

    Examples
    --------
    The double well at x = 1 has component gradients (-0.5, -1, 1.5):

    >>> from smecore.problems import DoubleWell
    >>> m = sgd_one_step_moments(DoubleWell(), 0.1, [1.0])
    >>> [round(float(v), 10) for v in (m.mean[0], m.second[0, 0], m.third[0, 0, 0])]
    [0.0, 0.0116666667, -0.00075]
    """
    lr = positive_float(lr, "lr")
    x = state_vector(x, problem.dim, "x")
    k1, k2, k3 = _gradient_cumulants(problem, x)
    g1, g2, g3 = _raw_from_cumulants(k1, k2, k3)
    return OneStepMoments(-lr * g1, lr**2 * g2, -(lr**3) * g3)


def lemma5_moments(problem, lr, x, *, sigma=True) -> OneStepMoments:
    """Lemma 5: E Delta = -lr grad f(x), E Delta Delta^T = lr^2 (grad f grad f^T + Sigma(x)).

    For SGD these are not approximations: both identities hold exactly (the
    third moment, not given here, is O(lr^3)).

    Parameters
    ----------
    problem : StochasticObjective
    lr : float
    x : array_like, shape (d,)
    sigma : bool, default True
        False drops Sigma from the second moment: the mutant "L5:no-sigma"
        (a one-step second moment without Sigma, :mod:`smecore.mutants`),
        which the chapter's Lemma 5 verdicts must reject.

    Returns
    -------
    OneStepMoments
        ``third`` is None.

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> m = lemma5_moments(GaussianQuadratic([2.0]), 0.1, [1.0])
    >>> [round(float(v), 12) for v in (m.mean[0], m.second[0, 0])]
    [-0.2, 0.08]
    """
    sigma = mutants.overrides("lemma5_moments").get("sigma", sigma)
    lr = positive_float(lr, "lr")
    x = state_vector(x, problem.dim, "x")
    if not isinstance(sigma, (bool, np.bool_)):
        raise TypeError(f"sigma must be True or False, got {type(sigma).__name__}")
    g = np.asarray(problem.grad(x), dtype=float)
    cov = np.asarray(problem.noise_cov(x), dtype=float) if sigma else np.zeros((x.size, x.size))
    return OneStepMoments(-lr * g, lr**2 * (np.outer(g, g) + cov))


def lemma4_moments(sde, x, *, diffusion=True) -> OneStepMoments:
    """Lemma 4 for the SME of SGD, truncated after the eta^2 terms.

    The SME ``sgd_sme(problem, eta, correction=c, noise=...)`` has the form
    dX = (a0 + eta a1) dt + sqrt(eta) b0 dW with a0 = -grad f,
    a1 = -2 c Hess f grad f and b0 b0^T = Sigma (0 without noise). Lemma 4 gives

    * E Delta~ = a0 eta + [1/2 (grad a0) a0 + a1] eta^2
      = -eta grad f + (1/2 - 2c) eta^2 Hess f grad f,
    * E Delta~ Delta~^T = [a0 a0^T + b0 b0^T] eta^2
      = eta^2 (grad f grad f^T + Sigma),

    each up to O(eta^3). Against Lemma 5 the means agree to O(eta^3) only for
    c = 1/4, and the second moments only with the noise. (For the wrong
    equations of :func:`smecore.sme.sgd_sme`, a time scale s multiplies a0
    and a1 and the noise factor gives b0 b0^T.)

    Parameters
    ----------
    sde : SGDSME
        From :func:`smecore.sme.sgd_sme`.
    x : array_like, shape (d,)
    diffusion : bool, default True
        False drops the b0 b0^T term of the second moment: the mutant
        "L4:no-sigma" (:mod:`smecore.mutants`).

    Returns
    -------
    OneStepMoments
        ``third`` is None (Lemma 4: the third moments are O(eta^3)).

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> from smecore.sme import sgd_sme
    >>> m = lemma4_moments(sgd_sme(GaussianQuadratic([2.0]), 0.1, order=1), [1.0])
    >>> round(float(m.mean[0]), 12)   # -0.1*2 + 0.5 * 0.01 * 2 * 2
    -0.18
    """
    diffusion = mutants.overrides("lemma4_moments").get("diffusion", diffusion)
    if not isinstance(sde, SGDSME):
        raise TypeError(f"lemma4_moments needs an SGD SME (smecore.sme.sgd_sme), got {type(sde).__name__}")
    if not isinstance(diffusion, (bool, np.bool_)):
        raise TypeError(f"diffusion must be True or False, got {type(diffusion).__name__}")
    problem, lr, c = sde.problem, sde.lr, sde.correction
    s = getattr(sde, "time_scale", 1.0)
    x = state_vector(x, problem.dim, "x")
    g = np.asarray(problem.grad(x), dtype=float)
    hg = np.asarray(problem.hvp(x, g), dtype=float)
    a0, a1 = -s * g, -2.0 * c * s * hg
    # (grad a0) a0 = (-s Hess f)(-s grad f) = s^2 Hess f grad f.
    mean = a0 * lr + (0.5 * s**2 * hg + a1) * lr**2
    if sde.noise and diffusion:
        # b0 b0^T = (noise coefficient)^2 / lr * Sigma; Sigma itself for the true SME.
        scale = getattr(sde, "_noise_variance", lr) / lr
        noise = scale * np.asarray(problem.noise_cov(x), dtype=float)
    else:
        noise = np.zeros((x.size, x.size))
    second = (np.outer(a0, a0) + noise) * lr**2
    return OneStepMoments(mean, second)


def sde_one_step_moments(sde, x, h=None, *, domain=None, n_grid=256) -> OneStepMoments:
    """Moments of the SDE increment X_h - x from X_0 = x, without sampling.

    Parameters
    ----------
    sde : SDE
        A linear SDE (``sde.linear`` set: first and second moments exactly,
        by :func:`smecore.moments.sde_moments`), or a time-homogeneous 1-D SDE
        (first three moments from the backward equation,
        :func:`smecore.moments.sde_expectations`, with test functions
        (y - x)^p).
    x : array_like, shape (d,)
        Start point.
    h : float, optional
        Length of the step (default ``sde.lr``, one SGD step).
    domain : (float, float), optional
        Interval for the backward equation (1-D nonlinear SDEs only; required
        there). It must contain x well inside; see
        :func:`smecore.moments.sde_expectations` for the boundary treatment.
    n_grid : int, default 256
        Chebyshev points of the backward equation. The solution develops a
        layer of width ~sqrt(h) near the ends of the domain; for h ~ 2^-8 on
        an interval of length 4, 192 points or more are needed for 1e-10
        accuracy.

    Returns
    -------
    OneStepMoments
        ``third`` is set for the 1-D backward route, None for linear SDEs.

    Raises
    ------
    TypeError
        If the SDE is neither linear nor one-dimensional, or a 1-D nonlinear
        SDE comes without ``domain``.

    Examples
    --------
    Gradient flow dX = -X dt (no noise) from x = 1 over h = 0.5:

    >>> from smecore.problems import GaussianQuadratic
    >>> from smecore.sme import sgd_sme
    >>> sde = sgd_sme(GaussianQuadratic([1.0]), 0.5, noise=False)
    >>> m = sde_one_step_moments(sde, [1.0])
    >>> bool(np.isclose(m.mean[0], np.exp(-0.5) - 1, rtol=1e-12))
    True
    """
    lr = getattr(sde, "lr", None)
    h = positive_float(lr if h is None else h, "h")
    x = state_vector(x, sde.dim, "x")
    if getattr(sde, "linear", None) is not None:
        mom = sde_moments(sde, x, [0.0, h])
        mean_x = mom.mean[-1]
        second_x = mom.second[-1]
        # E (X - x)(X - x)^T = E X X^T - x E X^T - E X x^T + x x^T.
        second = second_x - np.outer(x, mean_x) - np.outer(mean_x, x) + np.outer(x, x)
        return OneStepMoments(mean_x - x, 0.5 * (second + second.T))
    if sde.dim != 1:
        raise TypeError(
            "sde_one_step_moments: a nonlinear SDE is handled only in one dimension (backward "
            f"equation); got dim={sde.dim} without a linear structure"
        )
    if domain is None:
        raise TypeError("sde_one_step_moments: a nonlinear 1-D SDE needs domain=(a, b) for the backward equation")
    x0 = float(x[0])
    values = []
    for p in (1, 2, 3):
        sol = sde_expectations(sde, _Power(x0, p), h, domain=domain, n_grid=n_grid)
        values.append(float(sol.at(x0)[-1]))
    return OneStepMoments(np.array([values[0]]), np.array([[values[1]]]), np.array([[[values[2]]]]))


def gaussian_expectation(g, mean, var, n_nodes=64):
    """E g(Z) for Z ~ N(mean, var) in one dimension, by Gauss-Hermite quadrature.

    Exact for polynomials g of degree < 2 n_nodes; spectrally accurate for
    smooth g of moderate growth.

    Parameters
    ----------
    g : callable
        Vectorised g on states of shape (n, 1), returning (n,) or (n, 1).
    mean, var : array_like
        Broadcastable arrays of means and variances (var >= 0).
    n_nodes : int, default 64

    Returns
    -------
    ndarray
        E g(Z), shape of the broadcast of ``mean`` and ``var``.

    Examples
    --------
    >>> float(gaussian_expectation(lambda y: y[:, 0] ** 4, 1.0, 2.0))  # m^4 + 6 m^2 v + 3 v^2
    25.0
    """
    if not callable(g):
        raise TypeError("g must be callable")
    n_nodes = positive_int(n_nodes, "n_nodes")
    mean, var = np.broadcast_arrays(finite_array(mean, "mean"), finite_array(var, "var"))
    if np.any(var < 0):
        raise ValueError("var must be >= 0")
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_nodes)
    weights = weights / weights.sum()
    points = mean[..., None] + np.sqrt(var)[..., None] * nodes  # (..., n_nodes)
    values = np.asarray(g(points.reshape(-1, 1)), dtype=float).reshape(points.shape)
    return values @ weights


# Wrong one-step moments that the claims about Lemmas 4 and 5 must reject (see smecore.mutants).
mutants.register(mutants.Mutant("L5", "no-sigma", "lemma5_moments", {"sigma": False},
                                "Lemma 5 with a one-step second moment without Sigma: "
                                "E Delta Delta^T = eta^2 grad f grad f^T"))
mutants.register(mutants.Mutant("L4", "no-sigma", "lemma4_moments", {"diffusion": False},
                                "Lemma 4 with a one-step second moment without b0 b0^T: "
                                "E Delta~ Delta~^T = eta^2 a0 a0^T"))
