"""Weak solvers for Itô SDEs, and SGD coupled to its SME.

Schemes (step h = T / n_steps):

- ``"euler"``: Euler-Maruyama, weak order 1.
- ``"weak2"``: the explicit (derivative-free) weak order-2.0 scheme of
  Kloeden & Platen (1992), eq. (15.1.5) with the increments of (15.1.3)/(14.2.3),
  valid for multi-dimensional, state-dependent diffusion. With additive
  noise (``sde.linear.additive``) it reduces to the stochastic Heun method.
- ``"exact"``: the exact Gaussian transition of a time-homogeneous linear SDE
  with additive noise (matrix exponential and Van Loan's formula).

Diagonal-noise SDEs (:class:`smecore.sme.DiagonalNoiseSDE`) take a fast path:
``euler`` updates tiles of paths in place, sized to stay in cache, with the
noise applied entrywise and discrete increments drawn as random signs from
random bits; ``weak2`` with additive diagonal noise is the stochastic Heun
method. Results do not depend on the tiling.

Nesterov SMEs (:class:`smecore.sme.NesterovSME`, friction r/t) are recognised
and stepped with exponential-integrator versions of ``euler`` and ``weak2``
that integrate the friction exactly, so the singularity at t = 0 does not
spoil the orders (see :class:`_PowerFrictionStepper`).

Monte Carlo runs go through :func:`smecore.estimation.monte_carlo`; the
results are bit-identical whatever ``chunk_size`` and ``executor``.

References
----------
P. E. Kloeden and E. Platen, *Numerical Solution of Stochastic Differential
Equations*, Springer 1992, sections 14.2 and 15.1.
C. F. Van Loan, Computing integrals involving the matrix exponential,
IEEE Trans. Automat. Control 23 (1978).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from ..problems.base import symmetric_sqrt_factor

__all__ = ["SCHEMES", "INCREMENTS"]


SCHEMES = ("euler", "weak2", "exact")


INCREMENTS = ("gaussian", "discrete")


# ---------------------------------------------------------------------------
# Random variables
# ---------------------------------------------------------------------------
def _two_point(rand, size):
    """+-1 with probability 1/2 each (mean 0, variance 1)."""
    return np.where(rand.random(size) < 0.5, -1.0, 1.0)


def _three_point(rand, size):
    """+-sqrt(3) with probability 1/6 each, 0 with probability 2/3.

    Its moments up to order 5 equal those of N(0, 1).
    """
    u = rand.random(size)
    return np.sqrt(3.0) * ((u > 5.0 / 6.0).astype(float) - (u < 1.0 / 6.0))


def _einsum_bw(b, dw):
    """sum_j b[n, i, j] dw[n, j]."""
    return np.einsum("nij,nj->ni", b, dw)


# ---------------------------------------------------------------------------
# Steppers: draw_base gives the variables shared with SGD in a coupling
# (standard normals, or their discrete stand-ins); draw_rest any auxiliary ones.
# ---------------------------------------------------------------------------
class _EulerStepper:
    """Euler-Maruyama; discrete increments are two-point +-sqrt(h)."""

    def __init__(self, sde, h, increments):
        self.sde, self.h, self.increments = sde, h, increments
        self.m = sde.noise_dim

    def draw_base(self, rand, n):
        size = (n, self.m)
        return rand.standard_normal(size) if self.increments == "gaussian" else _two_point(rand, size)

    def draw_rest(self, rand, n):
        return None

    def step(self, t, x, xi, rest):
        x_new = x + self.h * self.sde.drift(t, x)
        if self.m:
            x_new += np.sqrt(self.h) * _einsum_bw(self.sde.diffusion(t, x), xi)
        return x_new


class _Weak2Stepper:
    """Kloeden-Platen explicit weak order-2.0 scheme (15.1.5), Itô form.

    With Y the state, a = a(t, Y), b^j = b^j(t, Y), D = h, dW^j the increments:

    - Ybar = Y + a D + sum_j b^j dW^j,
    - R^j_{+-} = Y + a D +- b^j sqrt(D)   (coefficients at t + D),
    - U^j_{+-} = Y +- b^j sqrt(D)         (coefficients at t),
    - Y' = Y + (a(Ybar) + a) D / 2
      + 1/4 sum_j [b^j(R^j_+) + b^j(R^j_-) + 2 b^j
                   + sum_{r != j} (b^j(U^r_+) + b^j(U^r_-) - 2 b^j)] dW^j
      + 1/4 sum_j [(b^j(R^j_+) - b^j(R^j_-)) (dW_j^2 - D)
                   + sum_{r != j} (b^j(U^r_+) - b^j(U^r_-)) (dW^j dW^r + V_{r,j})] / sqrt(D).

    Time enters as an extra state coordinate with drift 1, which is why
    a(Ybar) and b(R) are taken at t + D.

    Cost of one step on n paths (d state and m noise dimensions): two drift evaluations
    on n points; with additive noise (``sde.linear.additive``) one diffusion evaluation on
    n points, or two when the noise depends on time (``time_homogeneous`` False); with
    multiplicative noise one diffusion evaluation on n points and four on m n points
    (the supporting values R^j and U^r), plus O(n d m^2) arithmetic. Euler-Maruyama costs
    one drift and one diffusion evaluation on n points.

    Increments: ``"discrete"`` uses three-point dW^j (+-sqrt(3 D) with
    probability 1/6 each, 0 with 2/3) and two-point V_{r,j} = +-D for r < j,
    V_{j,r} = -V_{r,j} (KP 14.2.3); ``"gaussian"`` uses dW^j = sqrt(D) N(0, 1)
    and V_{r,j} = D N(0, 1) (the same first and second moments).
    """

    def __init__(self, sde, h, increments):
        self.sde, self.h, self.increments = sde, h, increments
        self.m = sde.noise_dim
        linear = getattr(sde, "linear", None)
        self.additive = bool(linear is not None and linear.additive)
        # Additive, time-homogeneous noise: b(t + h) = b(t), so one evaluation serves both.
        self.constant_noise = self.additive and bool(linear.time_homogeneous)
        self.pairs = np.triu_indices(self.m, k=1)

    def draw_base(self, rand, n):
        size = (n, self.m)
        return rand.standard_normal(size) if self.increments == "gaussian" else _three_point(rand, size)

    def draw_rest(self, rand, n):
        n_pairs = self.pairs[0].size
        if self.additive or n_pairs == 0:
            return None
        size = (n, n_pairs)
        aux = rand.standard_normal(size) if self.increments == "gaussian" else _two_point(rand, size)
        v = np.zeros((n, self.m, self.m))
        v[:, self.pairs[0], self.pairs[1]] = self.h * aux
        v[:, self.pairs[1], self.pairs[0]] = -self.h * aux
        return v

    def step(self, t, x, xi, rest):
        sde, h = self.sde, self.h
        a = sde.drift(t, x)
        if self.m == 0:
            return x + 0.5 * h * (a + sde.drift(t + h, x + h * a))
        dw = np.sqrt(h) * xi
        b = sde.diffusion(t, x)
        y_bar = x + h * a + _einsum_bw(b, dw)
        drift_part = 0.5 * h * (a + sde.drift(t + h, y_bar))
        if self.additive:
            b_next = b if self.constant_noise else sde.diffusion(t + h, x)
            return x + drift_part + 0.5 * _einsum_bw(b + b_next, dw)
        return x + drift_part + self._noise_part(t, x, a, b, dw, rest)

    def _noise_part(self, t, x, a, b, dw, v):
        sde, h, m = self.sde, self.h, self.m
        n, d = x.shape
        sqrt_h = np.sqrt(h)
        shift = sqrt_h * np.moveaxis(b, -1, 0)  # (m, n, d): sqrt(h) b^j
        base_r = x + h * a

        def diffusion_at(time, points):  # points (m, n, d) -> (m, n, d, m)
            return sde.diffusion(time, points.reshape(m * n, d)).reshape(m, n, d, m)

        jj = np.arange(m)
        # b^j at R^j: the diagonal of the (point r, column j) array, shape (n, d, m).
        b_rp = np.moveaxis(diffusion_at(t + h, base_r + shift)[jj, :, :, jj], 0, -1)
        b_rm = np.moveaxis(diffusion_at(t + h, base_r - shift)[jj, :, :, jj], 0, -1)
        b_up = diffusion_at(t, x + shift)  # (r, n, d, j)
        b_um = diffusion_at(t, x - shift)
        off = 1.0 - np.eye(m)  # (r, j): r != j

        first = b_rp + b_rm + 2.0 * b + np.einsum("rnij,rj->nij", b_up + b_um - 2.0 * b, off)
        cross = (dw[:, :, None] * dw[:, None, :]) * off  # (n, r, j)
        if v is not None:
            cross = cross + v
        second = _einsum_bw(b_rp - b_rm, dw**2 - h) + np.einsum(
            "rnij,nrj->ni", b_up - b_um, cross
        )
        return 0.25 * _einsum_bw(first, dw) + 0.25 * second / sqrt_h


class _ExactStepper:
    """Exact transition X' = Phi X + c + Q^{1/2} N(0, I) of dX = (A X + c) dt + S dW."""

    def __init__(self, sde, h):
        linear = sde.linear
        d = sde.dim
        F = np.asarray(linear.drift_matrix(0.0), dtype=float)
        C = np.asarray(linear.noise_tensor(0.0), dtype=float)
        A, c = F[:, :d], F[:, d]
        S = C[:, d, :, d]  # sigma sigma^T: only the offset column is nonzero
        aug = np.zeros((d + 1, d + 1))
        aug[:d, :d], aug[:d, d] = A, c
        mean_map = scipy.linalg.expm(h * aug)
        self.phi, self.shift = mean_map[:d, :d], mean_map[:d, d]
        # Van Loan: expm(h [[-A, S], [0, A^T]]) = [[., Phi^{-1} Q], [0, Phi^T]].
        van_loan = np.zeros((2 * d, 2 * d))
        van_loan[:d, :d], van_loan[:d, d:], van_loan[d:, d:] = -A, S, A.T
        blocks = scipy.linalg.expm(h * van_loan)
        Q = blocks[d:, d:].T @ blocks[:d, d:]
        self.factor = symmetric_sqrt_factor(0.5 * (Q + Q.T))
        self.d = d

    def draw_base(self, rand, n):
        return rand.standard_normal((n, self.d))

    def draw_rest(self, rand, n):
        return None

    def step(self, t, x, xi, rest):
        return x @ self.phi.T + self.shift + xi @ self.factor.T


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(8)


_GL_NODES = 0.5 * (_GL_NODES + 1.0)  # on [0, 1]


_GL_WEIGHTS = 0.5 * _GL_WEIGHTS


def _power_friction_kernels(a, b, r):
    """Kernels of one step [a, b] of dX = V dt, dV = -(r/t) V dt + (F dt + s dW).

    Exact solution: V(b) = (a/b)^r V(a) + int_a^b E(u) (F du + s dW_u) with
    E(u) = (u/b)^r, and X(b) = X(a) + phi V(a) + int_a^b K(u) (F du + s dW_u)
    with K(u) = int_u^b (u/s)^r ds = u (1 - (u/b)^(r-1)) / (r - 1).

    Returns decay (a/b)^r, phi, the weights int k_p for the kernels
    k = (E, E s, K, K s), s = (u - a)/h, and their Gram matrix int k_p k_q
    (all polynomial for r = 3, integrated exactly by 8-point Gauss-Legendre).
    """
    h = b - a
    u = a + h * _GL_NODES
    s = _GL_NODES
    log_ratio = np.log1p(-(b - u) / b)  # log(u / b), accurate when u ~ b
    E = np.exp(r * log_ratio)
    K = u * (-np.expm1((r - 1.0) * log_ratio)) / (r - 1.0)
    kernels = np.stack([E, E * s, K, K * s])
    weights = h * (kernels @ _GL_WEIGHTS)
    gram = h * (kernels * _GL_WEIGHTS) @ kernels.T
    if a == 0:
        decay, phi = 0.0, 0.0
    else:
        log_ab = np.log1p(-h / b)
        decay = np.exp(r * log_ab)
        phi = a * (-np.expm1((r - 1.0) * log_ab)) / (r - 1.0)
    return decay, phi, weights, gram


class _PowerFrictionStepper:
    """Exponential integrators for dX = V dt, dV = (-(r/t) V + F(X)) dt + s(X) dW.

    The friction is integrated exactly through the variation-of-constants
    formula (:func:`_power_friction_kernels`); only the smooth forcing F and
    noise coefficient s are approximated. Over [a, b], with F0 = F(X_a),
    s0 = s(X_a):

    - ``euler``: F and s frozen at a:
      V' = decay V + w_E F0 + s0 I_E, X' = X + phi V + w_K F0 + s0 I_K,
      (I_E, I_K) = int (E, K) dW exactly jointly Gaussian.
    - ``weak2``: F and s interpolated linearly between a and b, using a
      predictor X~ = X + phi V + w_K F0 (the noise moves X by O(h^{3/2}) only):
      V' = decay V + w_E F0 + w_Es (F~ - F0) + s0 I_E + (s~ - s0) I_Es, and
      likewise for X with K, Ks. The four stochastic integrals
      int (E, E s, K, K s) dW are drawn with their exact 4 x 4 covariance.

    The interpolation error of the smooth integrands is O(h^2) uniformly in
    t, so the orders 1 and 2 hold down to t = 0 (where r/t is infinite, but
    never evaluated). Discrete increments: the correlated variables are the
    4 x 4 (or 2 x 2) covariance factor applied to independent three-point
    (weak2) or two-point (euler) variables, whose moments match N(0, 1) as
    far as each order needs.
    """

    def __init__(self, sde, h, increments, scheme, t0):
        self.sde, self.h, self.increments, self.scheme = sde, h, increments, scheme
        self.m = sde.noise_dim
        self.d = sde.position_dim
        self.r = float(sde.friction)
        self.n_vars = 4 if scheme == "weak2" else 2
        if t0 < 0:
            raise ValueError(f"t0 must be >= 0 for a friction r/t, got {t0}")

    def draw_base(self, rand, n):
        size = (n, self.m, self.n_vars)
        if self.increments == "gaussian":
            return rand.standard_normal(size)
        return _three_point(rand, size) if self.scheme == "weak2" else _two_point(rand, size)

    def draw_rest(self, rand, n):
        return None

    def step(self, t, y, xi, rest):
        sde, d, h = self.sde, self.d, self.h
        a, b = t, t + h
        decay, phi, w, gram = _power_friction_kernels(a, b, self.r)
        x, v = y[:, :d], y[:, d:]
        f0 = sde.force(a, x)
        s0 = sde.noise(a, x) if self.m else None
        x_pred = x + phi * v + w[2] * f0
        if self.scheme == "euler":
            v_new = decay * v + w[0] * f0
            x_new = x_pred
            if self.m:
                ints = xi @ symmetric_sqrt_factor(gram[np.ix_([0, 2], [0, 2])]).T
                v_new = v_new + _einsum_bw(s0, ints[..., 0])
                x_new = x_new + _einsum_bw(s0, ints[..., 1])
            return np.concatenate([x_new, v_new], axis=1)
        df = sde.force(b, x_pred) - f0
        v_new = decay * v + w[0] * f0 + w[1] * df
        x_new = x_pred + w[3] * df
        if self.m:
            ints = xi @ symmetric_sqrt_factor(gram).T  # (n, m, 4)
            ds = sde.noise(b, x_pred) - s0
            v_new = v_new + _einsum_bw(s0, ints[..., 0]) + _einsum_bw(ds, ints[..., 1])
            x_new = x_new + _einsum_bw(s0, ints[..., 2]) + _einsum_bw(ds, ints[..., 3])
        return np.concatenate([x_new, v_new], axis=1)


def _fresh_like(value, x):
    """``value`` as a writeable float64 array of ``x``'s shape that shares no memory with x
    (user coefficients may return x itself, a read-only view, a scalar or a broadcastable)."""
    if not isinstance(value, np.ndarray) or value.dtype != np.float64 \
            or not value.flags.writeable or np.may_share_memory(value, x) \
            or value.shape != x.shape:
        value = np.array(np.broadcast_to(np.asarray(value, dtype=float), x.shape))
    return value


class _DiagonalEulerStepper:
    """Euler-Maruyama for diagonal noise (:class:`smecore.sme.DiagonalNoiseSDE`).

    sigma = diag(s) never becomes a matrix: the noise is s * dW entrywise.
    Discrete increments are random signs made from random bits
    (:meth:`smecore.estimation.PathRandom.rademacher`), far cheaper than Gaussians
    and enough for weak order 1 (mean 0, variance 1).

    :meth:`advance` updates a tile of paths in place (the fast path of
    :func:`solve_sde`); :meth:`step` is the out-of-place protocol of the other
    steppers. Both round identically: the increment is ``(s sqrt(h)) * xi``
    for additive noise and ``s(t, x) * (sqrt(h) * xi)`` otherwise, and the
    update is ``(x + h b) + increment``.
    """

    def __init__(self, sde, h, increments):
        self.sde, self.h, self.increments = sde, h, increments
        self.m = sde.dim
        self.sqrt_h = float(np.sqrt(h))
        self.noise_scale = None
        if getattr(sde, "scale", None) is not None:
            self.noise_scale = np.asarray(sde.scale, dtype=float) * self.sqrt_h
        self.scalar_noise = self.noise_scale is not None and bool(
            np.all(self.noise_scale == self.noise_scale[0])
        )

    def _unit(self, rand, size, out=None):
        if self.increments == "gaussian":
            return rand.standard_normal(size)
        return rand.rademacher(size, out=out)

    def draw_base(self, rand, n):
        return self._unit(rand, (n, self.m))

    def draw_rest(self, rand, n):
        return None

    def _drift_times_h(self, t, x):
        """h b(t, x) as a fresh array (a user drift may return x itself or a read-only view)."""
        b = _fresh_like(self.sde.drift(t, x), x)
        b *= self.h
        return b

    def _diffusion_at(self, t, x):
        return _fresh_like(self.sde.diagonal_diffusion(t, x), x)

    def step(self, t, x, xi, rest):
        if self.noise_scale is not None:
            increment = self.noise_scale * xi
        else:
            increment = self._diffusion_at(t, x)
            increment *= xi * self.sqrt_h
        x_new = x + self._drift_times_h(t, x)
        x_new += increment
        return x_new

    def advance(self, t, x, rand, buf):
        """x <- x + h b(t, x) + s(t, x) dW in place; ``buf`` is scratch of x's shape."""
        size = x.shape
        if self.noise_scale is None:
            increment = self._diffusion_at(t, x)  # before x moves
            dw = self._unit(rand, size, out=buf)
            dw *= self.sqrt_h
            increment *= dw
        x += self._drift_times_h(t, x)
        if self.noise_scale is None:
            x += increment
        elif self.increments == "discrete" and self.scalar_noise:
            x += rand.rademacher(size, scale=self.noise_scale[0], out=buf)
        else:
            xi = self._unit(rand, size, out=buf)
            xi *= self.noise_scale
            x += xi


class _DiagonalHeunStepper:
    """Weak order 2 for additive diagonal noise: the stochastic Heun method.

    This is the Kloeden-Platen scheme of :class:`_Weak2Stepper` for a constant
    sigma = diag(s): Ybar = Y + a h + s dW, Y' = Y + (a(Y) + a(t + h, Ybar)) h / 2
    + s dW, with three-point (discrete) or Gaussian dW.
    """

    def __init__(self, sde, h, increments):
        self.sde, self.h, self.increments = sde, h, increments
        self.m = sde.dim
        self.noise_scale = np.asarray(sde.scale, dtype=float) * np.sqrt(h)

    def draw_base(self, rand, n):
        size = (n, self.m)
        return rand.standard_normal(size) if self.increments == "gaussian" else _three_point(rand, size)

    def draw_rest(self, rand, n):
        return None

    def step(self, t, x, xi, rest):
        a = self.sde.drift(t, x)
        increment = self.noise_scale * xi
        y_bar = x + self.h * a + increment
        return x + 0.5 * self.h * (a + self.sde.drift(t + self.h, y_bar)) + increment


def _make_stepper(sde, h, scheme, increments, t0):
    if scheme == "exact":
        return _ExactStepper(sde, h)
    if getattr(sde, "friction", None) is not None and hasattr(sde, "force"):
        return _PowerFrictionStepper(sde, h, increments, scheme, t0)
    if getattr(sde, "noise_type", "general") == "diagonal":
        if scheme == "euler":
            return _DiagonalEulerStepper(sde, h, increments)
        if getattr(sde, "scale", None) is not None:
            return _DiagonalHeunStepper(sde, h, increments)
    if scheme == "euler":
        return _EulerStepper(sde, h, increments)
    return _Weak2Stepper(sde, h, increments)
