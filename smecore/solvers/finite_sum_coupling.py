"""Coupling a finite sum's SGD to its SME: mini-batch indices drawn from the SME's normals.

For a finite sum f = sum_i p_i f_i sampled with replacement, SGD's step-k
indices can be generated *from* the standard normal z_k that drives the SME
over that step, without changing either law:

1. split z (shape (n, p), N(0, I)) into B i.i.d. normals zeta_1..zeta_B with
   sum_b zeta_b / sqrt(B) = z: zeta_b = z / sqrt(B) + e_b - mean_b e_b with
   e_b i.i.d. N(0, I) (jointly Gaussian, identity covariance, uncorrelated
   across b, hence i.i.d. N(0, I));
2. at the current SGD point x, let v be the leading eigenvector of Sigma(x) and
   sort the components by the projection of their gradient on v;
3. u_b = Phi(v . zeta_b) is uniform on (0, 1) and independent of the past (v
   depends on x only, zeta_b is fresh), so the component at the u_b-quantile of
   the sorted weights is an exact draw with probabilities p_i.

SGD then has exactly its law (i.i.d. indices with probabilities p_i) and the SME
exactly its own (z is untouched), so the coupled weak-error estimate is unbiased.
Along v the two noises are comonotone: the SGD gradient noise (g_i - grad f) . v
and the SME's L z . v = sqrt(lambda_v) v . z increase together (with the sign
convention of :func:`~smecore.solvers.coupled_sgd_sme`, where both processes
inject -lr times them), which is where most of
the variance is; in the other directions the coupling is partial. This is
variance reduction only, never an approximation: it is exact in law for any
finite sum, and in 1-D it is the comonotone (optimal) coupling.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

__all__ = ["QuantileCoupledSampler"]


class QuantileCoupledSampler:
    """``sampler(x, z, rand) -> (n, d)``: a finite sum's mini-batch gradient driven by the normals z.

    Parameters
    ----------
    problem : FiniteSumObjective
        Sampled with replacement.

    Examples
    --------
    >>> import numpy as np
    >>> from smecore.problems import LinearRegression
    >>> p = LinearRegression([[1.0], [2.0], [3.0]], [1.0, 0.0, 2.0])
    >>> s = QuantileCoupledSampler(p)
    >>> g = s(np.zeros((4, 1)), np.array([[-3.0], [-0.1], [0.1], [3.0]]), np.random.default_rng(0))
    >>> bool(np.all(np.diff(g[:, 0]) >= 0))   # larger z, larger gradient, as grad f + L z
    True
    """

    def __init__(self, problem):
        if getattr(problem, "sampling", "with_replacement") != "with_replacement":
            raise ValueError("quantile coupling needs sampling with replacement, got "
                             f"{problem.sampling!r}")
        self.problem = problem

    def __call__(self, x, z, rand):
        p = self.problem
        n, B = x.shape[0], p.batch_size
        grads = p.component_grads(x)  # (n, m, d)
        mean = np.einsum("m,nmd->nd", p.probs, grads)
        centred = grads - mean[:, None, :]
        cov = np.einsum("m,nmi,nmj->nij", p.probs, centred, centred)
        v = np.linalg.eigh(cov)[1][..., -1]  # (n, d), leading direction
        order = np.argsort(np.einsum("nmd,nd->nm", centred, v), axis=1, kind="stable")
        cdf = np.cumsum(p.probs[order], axis=1)
        cdf /= cdf[:, -1:]
        if B == 1:
            zeta = z[:, None, :]
        else:
            e = rand.standard_normal((n, B, z.shape[1]))
            zeta = z[:, None, :] / np.sqrt(B) + e - e.mean(axis=1, keepdims=True)
        u = ndtr(np.einsum("nbd,nd->nb", zeta, v))  # (n, B), uniform
        pos = np.minimum((cdf[:, None, :] < u[..., None]).sum(-1), cdf.shape[1] - 1)
        idx = np.take_along_axis(order, pos, axis=1)  # (n, B)
        picked = np.take_along_axis(grads, idx[..., None], axis=1)
        return picked.mean(axis=1)
