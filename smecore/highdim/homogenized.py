"""Homogenized SGD for streaming least squares and the Volterra equation of its risk.

Data a ~ N(0, K) in R^N, y = <a, x*> + xi, step lr = c / N, time t = k / N. In the
eigenbasis of K (eigenvalues lambda_i) let r_i = E (x - x*)_i^2 and write
psi = 2R = sum_i lambda_i r_i + sigma^2 for twice the population risk.

* Exact SGD: because E[a a^T S a a^T] = 2KSK + tr(KS) K for Gaussian a, the diagonal of
  the second moment closes (:func:`sgd_risk`):
  r_i <- (1 - 2 lr lambda_i + 2 lr^2 lambda_i^2) r_i + lr^2 lambda_i psi.
* Homogenized SGD (Paquette, Paquette, Adlam & Pennington 2022, in its streaming form,
  derived in the chapter ``homogenization``): dX = -c K (X - x*) dt + c sqrt(2 R(X) K / N) dB.
  Its expectations obey dr_i/dt = -2c lambda_i r_i + (c^2 / N) lambda_i psi, and psi solves
  the Volterra equation psi(t) = F(t) + int_0^t k(t - s) psi(s) ds (:func:`volterra_risk`)
  with forcing F(t) = sigma^2 + sum_i lambda_i r_i(0) exp(-2c lambda_i t) (the gradient
  flow) and kernel k(tau) = (c^2 / N) sum_i lambda_i^2 exp(-2c lambda_i tau).

Mutants: ``noise="none"`` (the gradient flow, kernel 0) and ``noise="isotropic"``
(noise covariance 2R (tr K / N) I in place of 2R K).
"""

from __future__ import annotations

import numpy as np
import scipy.integrate

from .. import mutants
from .._validation import finite_array, one_of, positive_float, positive_int

__all__ = ["sgd_risk", "hsgd_risk_ode", "volterra_risk", "volterra_limit", "hsgd_paths",
           "hsgd_fixed_point", "NOISE_MODELS"]

NOISE_MODELS = ("homogenized", "isotropic", "none")


def _spectrum(lam, r0):
    lam = finite_array(lam, "lam", ndim=1)
    if np.any(lam <= 0):
        raise ValueError("lam (the eigenvalues of the data covariance) must be > 0")
    r0 = finite_array(r0, "r0", shape=lam.shape)
    if np.any(r0 < 0):
        raise ValueError("r0 (squared initial errors per eigen-direction) must be >= 0")
    return lam, r0


def sgd_risk(lam, c, noise_var, r0, n_steps, *, record_every=1):
    """Exact population risk E R(x_k) = psi_k / 2 of streaming SGD with step c / N.

    Parameters
    ----------
    lam : array_like, shape (N,)
        Eigenvalues of the data covariance K, > 0.
    c : float
        Step multiplier (lr = c / N).
    noise_var : float
        sigma^2.
    r0 : array_like, shape (N,)
        (x_0 - x*)_i^2 in the eigenbasis of K.
    n_steps : int
        Number of steps.
    record_every : int
        Keep every this-many steps (n_steps must be a multiple).

    Returns
    -------
    ndarray, shape (n_steps // record_every + 1,)

    Examples
    --------
    >>> import numpy as np
    >>> from smecore import closed_forms
    >>> N = 100
    >>> risk = sgd_risk(np.ones(N), 0.5, 0.2, np.full(N, 0.01), 10)
    >>> D = closed_forms.online_lsq_discrete(0.5, N, 0.2, 1.0, 10)
    >>> bool(abs(risk[-1] - (D + 0.2) / 2) < 1e-12)
    True
    """
    lam, r = _spectrum(lam, r0)
    c = positive_float(c, "c")
    s2 = positive_float(noise_var, "noise_var", allow_zero=True)
    n_steps = positive_int(n_steps, "n_steps")
    record_every = positive_int(record_every, "record_every")
    if n_steps % record_every:
        raise ValueError("n_steps must be a multiple of record_every")
    lr = c / lam.size
    a = 1 - 2 * lr * lam + 2 * lr**2 * lam**2
    b = lr**2 * lam
    out = [lam @ r + s2]
    r = r.copy()
    for k in range(1, n_steps + 1):
        psi = lam @ r + s2
        r = a * r + b * psi
        if k % record_every == 0:
            out.append(lam @ r + s2)
    return 0.5 * np.array(out)


def _rhs_coeffs(lam, c, noise):
    N = lam.size
    if noise == "homogenized":
        return c**2 * lam / N
    if noise == "isotropic":
        return np.full(N, c**2 * lam.mean() / N)
    return np.zeros(N)


def hsgd_risk_ode(lam, c, noise_var, r0, t, *, noise="homogenized", rtol=1e-10):
    """E R(X_t) of homogenized SGD by integrating dr_i/dt = -2c lam_i r_i + q_i psi.

    q_i = c^2 lam_i / N (homogenized SGD), c^2 mean(lam) / N (mutant ``"isotropic"``)
    or 0 (mutant ``"none"``, the gradient flow).

    Parameters
    ----------
    lam, c, noise_var, r0
        As in :func:`sgd_risk`.
    t : array_like
        Increasing output times starting at 0.
    noise : {"homogenized", "isotropic", "none"}
    rtol : float
        Integrator tolerance.

    Returns
    -------
    ndarray
        Risk psi(t) / 2 at ``t``.

    Examples
    --------
    >>> import numpy as np
    >>> float(np.round(hsgd_risk_ode(np.ones(10), 1.0, 0.5, np.zeros(10), [0, 100])[-1], 6))
    0.5
    """
    noise = mutants.overrides("hsgd").get("noise", noise)
    lam, r0 = _spectrum(lam, r0)
    c = positive_float(c, "c")
    s2 = positive_float(noise_var, "noise_var", allow_zero=True)
    one_of(noise, "noise", NOISE_MODELS)
    t = finite_array(t, "t", ndim=1)
    q = _rhs_coeffs(lam, c, noise)

    def rhs(_, r):
        return -2 * c * lam * r + q * (lam @ r + s2)

    jac = np.outer(q, lam)
    jac[np.diag_indices_from(jac)] -= 2 * c * lam
    sol = scipy.integrate.solve_ivp(rhs, (t[0], t[-1]), r0, t_eval=t, rtol=rtol,
                                    atol=rtol * 1e-3 * max(1e-300, float(lam @ r0 + s2)),
                                    method="LSODA", jac=lambda *_: jac)
    return 0.5 * (lam @ sol.y + s2)


def volterra_risk(lam, c, noise_var, r0, T, n_grid, *, noise="homogenized"):
    """Solve the risk's Volterra equation psi = F + k * psi by the trapezoidal rule.

    Parameters
    ----------
    lam, c, noise_var, r0
        As in :func:`sgd_risk`.
    T : float
        Horizon (in t = k / N).
    n_grid : int
        Number of intervals; the error is O((T / n_grid)^2).
    noise : {"homogenized", "isotropic", "none"}
        The kernel k(tau) = sum_i q_i lam_i exp(-2c lam_i tau) with q_i as in
        :func:`hsgd_risk_ode`.

    Returns
    -------
    t, risk : ndarray, shape (n_grid + 1,)

    Examples
    --------
    >>> import numpy as np
    >>> t, risk = volterra_risk(np.ones(50), 1.0, 0.5, np.zeros(50), 40.0, 400)
    >>> round(float(risk[-1]), 4)                       # sigma^2 / (2 (1 - c/2))
    0.5
    """
    noise = mutants.overrides("hsgd").get("noise", noise)
    lam, r0 = _spectrum(lam, r0)
    c = positive_float(c, "c")
    s2 = positive_float(noise_var, "noise_var", allow_zero=True)
    one_of(noise, "noise", NOISE_MODELS)
    T = positive_float(T, "T")
    n = positive_int(n_grid, "n_grid")
    q = _rhs_coeffs(lam, c, noise)
    t = np.linspace(0.0, T, n + 1)
    h = T / n
    decay = np.exp(-2 * c * np.outer(t, lam))  # (n + 1, N)
    F = s2 + decay @ (lam * r0)
    k = decay @ (q * lam)
    psi = np.empty(n + 1)
    psi[0] = F[0]
    denom = 1 - 0.5 * h * k[0]
    for j in range(1, n + 1):
        conv = 0.5 * k[j] * psi[0] + k[j - 1:0:-1] @ psi[1:j]
        psi[j] = (F[j] + h * conv) / denom
    return t, 0.5 * psi


def volterra_limit(lam, c, noise_var, *, noise="homogenized"):
    """The limiting risk sigma^2 / (2 (1 - int k)), int_0^inf k = c tr(K) / (2N) (homogenized).

    Finite only when int k < 1, i.e. c < 2N / tr K: the critical step size.

    Parameters
    ----------
    lam : array_like, shape (N,)
        Eigenvalues of K, > 0.
    c, noise_var : float
    noise : {"homogenized", "isotropic", "none"}

    Returns
    -------
    float
        The limiting risk, ``inf`` at or beyond the critical step.

    Examples
    --------
    >>> volterra_limit([1.0, 1.0], 1.0, 0.5)
    0.5
    """
    noise = mutants.overrides("hsgd").get("noise", noise)
    lam, _ = _spectrum(lam, np.zeros(np.size(lam)))
    c = positive_float(c, "c")
    s2 = positive_float(noise_var, "noise_var", allow_zero=True)
    one_of(noise, "noise", NOISE_MODELS)
    mass = float(np.sum(_rhs_coeffs(lam, c, noise) * lam / (2 * c * lam)))
    if mass >= 1:
        return float("inf")
    return 0.5 * s2 / (1 - mass)


def hsgd_paths(lam, c, noise_var, e0, T, n_steps, *, n_runs, rng=None):
    """Euler-Maruyama paths of homogenized SGD in the eigenbasis of K; returns risks.

    dE = -c lam E dt + c sqrt(2 R(E) lam / N) dB, R(E) = (sum_i lam_i E_i^2 + sigma^2) / 2.

    Parameters
    ----------
    lam : array_like, shape (N,)
    c, noise_var
        As in :func:`sgd_risk`.
    e0 : array_like, shape (N,)
        Initial error x_0 - x* in the eigenbasis.
    T : float
        Horizon.
    n_steps : int
        Euler-Maruyama steps (the drift is integrated exactly per step).
    n_runs : int
        Independent paths.
    rng : seed-like

    Returns
    -------
    t, risk : ndarray, shapes (n_steps + 1,) and (n_runs, n_steps + 1)

    Examples
    --------
    >>> import numpy as np
    >>> t, risk = hsgd_paths(np.ones(20), 1.0, 0.5, np.zeros(20), 1.0, 10, n_runs=3, rng=0)
    >>> risk.shape
    (3, 11)
    """
    lam = finite_array(lam, "lam", ndim=1)
    n_runs = positive_int(n_runs, "n_runs")
    e = np.array(np.broadcast_to(finite_array(e0, "e0", shape=lam.shape), (n_runs, lam.size)))
    c = positive_float(c, "c")
    s2 = positive_float(noise_var, "noise_var", allow_zero=True)
    n_steps = positive_int(n_steps, "n_steps")
    dt = positive_float(T, "T") / n_steps
    gen = np.random.default_rng(rng)
    N = lam.size
    decay = np.exp(-c * lam * dt)
    # variance of the exactly integrated OU noise per unit of 2R:
    # c^2 lam / N * (1 - decay^2) / (2 c lam)
    scale = np.sqrt(c * (1 - decay**2) / (2 * N))
    out = np.empty((e.shape[0], n_steps + 1))
    out[:, 0] = 0.5 * (e**2 @ lam + s2)
    for k in range(1, n_steps + 1):
        two_r = e**2 @ lam + s2
        e = e * decay + np.sqrt(two_r)[:, None] * scale * gen.standard_normal(e.shape)
        out[:, k] = 0.5 * (e**2 @ lam + s2)
    return np.linspace(0.0, T, n_steps + 1), out


def hsgd_fixed_point(lam, c, noise_var):
    """Stationary risk of homogenized SGD from its moment ODE, by a linear solve.

    Solves 0 = -2c lam_i r_i + (c^2 / N) lam_i psi for r (a dense N x N system), and
    returns psi / 2; :func:`volterra_limit` gives the same number from the kernel's mass.

    Parameters
    ----------
    lam : array_like, shape (N,)
        Eigenvalues of K, > 0.
    c, noise_var : float

    Returns
    -------
    float

    Examples
    --------
    >>> round(hsgd_fixed_point([1.0, 1.0], 1.0, 0.5), 12)
    0.5
    """
    lam, _ = _spectrum(lam, np.zeros(np.size(lam)))
    c = positive_float(c, "c")
    s2 = positive_float(noise_var, "noise_var", allow_zero=True)
    q = _rhs_coeffs(lam, c, "homogenized")
    A = np.outer(q, lam)
    A[np.diag_indices_from(A)] -= 2 * c * lam
    r = np.linalg.solve(A, -q * s2)
    return 0.5 * float(lam @ r + s2)


# Wrong equations the chapters' claims must reject (smecore.mutants).
mutants.register(mutants.Mutant(
    "HS1", "no-noise", "hsgd", {"noise": "none"},
    "homogenized SGD without its noise term: the gradient flow of the risk"))
mutants.register(mutants.Mutant(
    "HS1", "isotropic-noise", "hsgd", {"noise": "isotropic"},
    "homogenized SGD with isotropic noise in place of the data covariance"))
