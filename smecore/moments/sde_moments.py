"""Exact first and second moments of linear SDEs (the SMEs of affine problems).

An SDE with affine drift F(t) z and quadratic diffusion covariance
(sigma sigma^T)_ik = sum_jl C_ijkl z_j z_l has moments solving the linear ODE

    dS/dt = Ft S + S Ft^T + Ctilde(S)

for the augmented second moment S = E[z z^T] (Ft = F padded with a zero row).
:func:`sde_moments` integrates it exactly (matrix exponentials) for
time-homogeneous equations, and handles a time-dependent drift, including the
regular solution at the 3/t singularity of the Nesterov SME.
"""

from __future__ import annotations

import numpy as np
import scipy.integrate
import scipy.linalg

from .._validation import DivergenceError, finite_array, state_vector
from .recursions import Moments

__all__ = ["sde_moments"]


def _sde_operator(linear, t, n):
    """L(t) with d vec(S)/dt = L(t) vec(S) for the augmented second moment S.

    S = E[z z^T], z = [X; 1], row-major vec; dS/dt = Ft S + S Ft^T + Ctilde(S).
    """
    N = n + 1
    F = np.asarray(linear.drift_matrix(t), dtype=float)
    C = np.asarray(linear.noise_tensor(t), dtype=float)
    if F.shape != (n, N):
        raise ValueError(f"linear.drift_matrix(t) must have shape ({n}, {N}), got {F.shape}")
    if C.shape != (n, N, n, N):
        raise ValueError(f"linear.noise_tensor(t) must have shape ({n}, {N}, {n}, {N}), got {C.shape}")
    Ft = np.zeros((N, N))
    Ft[:n] = F
    eye = np.eye(N)
    L = np.kron(Ft, eye) + np.kron(eye, Ft)
    # Ctilde only feeds the top-left n x n block of dS/dt.
    Lc = np.zeros((N, N, N, N))
    Lc[:n, :n] = C.transpose(0, 2, 1, 3)
    return L + Lc.reshape(N * N, N * N)


def _initial_state(sde, x0, v0):
    """Full initial state and the number of position coordinates."""
    n = int(sde.dim)
    x0 = finite_array(x0, "x0")
    if x0.ndim == 0:
        x0 = x0.reshape(1)
    if x0.ndim != 1:
        raise ValueError(f"x0 must be a vector, got shape {x0.shape}")
    declared = getattr(sde, "position_dim", None)
    if x0.shape[0] == n and v0 is None:
        return x0, int(declared) if declared is not None else n
    if 2 * x0.shape[0] == n:
        v0 = np.zeros_like(x0) if v0 is None else state_vector(v0, x0.shape[0], "v0")
        return np.concatenate([x0, v0]), x0.shape[0]
    if v0 is not None:
        raise ValueError(
            f"v0 given: x0 must be the position of a [x; v] state of dimension {n}, "
            f"i.e. shape ({n // 2},), got {x0.shape}"
        )
    raise ValueError(f"x0 must have shape ({n},) (full state) or ({n // 2},) (position), got {x0.shape}")


def _validated_times(times, t0):
    times = finite_array(times, "times")
    if times.ndim == 0:
        times = times.reshape(1)
    if times.ndim != 1 or times.size == 0:
        raise ValueError(f"times must be a non-empty 1-d array, got shape {times.shape}")
    if np.any(np.diff(times) < 0):
        raise ValueError("times must be non-decreasing")
    if times[0] < t0:
        raise ValueError(f"times must be >= the SDE start time t0 = {t0}, got {times[0]}")
    return times


def sde_moments(sde, x0, times, *, v0=None) -> Moments:
    """Exact mean and second moment of a linear SDE (``sde.linear`` set).

    Parameters
    ----------
    sde : SDE
        With a :class:`~smecore.sme.LinearStructure` in ``sde.linear``:
        drift F(t) [x; 1] and (sigma sigma^T)_ik = sum_jl C_ijkl z_j z_l.
        Starts at ``getattr(sde, "t0", 0.0)``.
    x0 : array_like
        Deterministic initial state, shape (n,), or only the position, shape
        (n/2,), for a second-order SDE on [x; v] (then ``v0`` defaults to 0).
    times : array_like, shape (n_rec,)
        Non-decreasing output times >= t0.
    v0 : array_like, optional
        Initial velocity when ``x0`` is the position.

    Returns
    -------
    Moments
        ``steps`` is None. ``dim_x`` is ``len(x0)`` when ``x0`` is a position,
        else ``sde.position_dim`` if the SDE defines it, else n.

    Notes
    -----
    Time-homogeneous SDEs use the matrix exponential of the linear operator on
    vec(S), dimension (n+1)^2 (accurate to ~1e-12; fine up to n ~ 20).
    Time-dependent SDEs are integrated with DOP853 (rtol 1e-12). A drift
    singular at t0 = 0 of the form R/t + L1 (Nesterov's 3/t friction) is
    started with its Frobenius power series S(t) = sum_k S_k t^k,
    (k - R) S_k = L1 S_{k-1}, which requires R S_0 = 0 (e.g. v0 = 0).

    Raises
    ------
    TypeError
        If ``sde.linear`` is None.
    smecore.DivergenceError
        If the moments overflow.

    Examples
    --------
    An Ornstein-Uhlenbeck process dX = -X dt + dW: Var X_t = (1 - e^{-2t})/2.

    >>> import numpy as np
    >>> from smecore.sme.sde import FunctionSDE, LinearStructure
    >>> lin = LinearStructure(lambda t: np.array([[-1.0, 0.0]]),
    ...                       lambda t: np.array([[[[0.0, 0.0], [0.0, 1.0]]]]).reshape(1, 2, 1, 2),
    ...                       additive=True)
    >>> ou = FunctionSDE(lambda t, x: -x, lambda t, x: np.ones(x.shape + (1,)), 1, 1, linear=lin)
    >>> m = sde_moments(ou, [2.0], [0.0, 1.0])
    >>> round(float(m.cov[1, 0, 0]), 10), round(float((1 - np.exp(-2)) / 2), 10)
    (0.4323323584, 0.4323323584)
    """
    linear = getattr(sde, "linear", None)
    if linear is None:
        raise TypeError(
            f"sde ({type(sde).__name__}) has no linear structure (sde.linear is None); "
            "exact moments need an affine drift and a quadratic diffusion covariance"
        )
    state0, dim_x = _initial_state(sde, x0, v0)
    n = state0.shape[0]
    t0 = float(getattr(sde, "t0", 0.0) or 0.0)
    times = _validated_times(times, t0)
    z0 = np.append(state0, 1.0)
    S0 = np.outer(z0, z0)
    if linear.time_homogeneous:
        flat = _homogeneous_moments(linear, n, S0, times - t0)
    else:
        flat = _time_dependent_moments(linear, n, S0, times, t0)
    N = n + 1
    S = flat.reshape(-1, N, N)
    S = 0.5 * (S + np.swapaxes(S, 1, 2))
    if not np.all(np.isfinite(S)) or np.max(np.abs(S)) > 1e100:
        raise DivergenceError("sde_moments: the second moments overflowed (the SDE's moments explode)")
    return Moments(times.copy(), None, S[:, :n, n].copy(), S[:, :n, :n].copy(), dim_x)


def _homogeneous_moments(linear, n, S0, elapsed):
    """vec S(t) = expm(L t) vec S0, chained over record increments (expm cached per increment)."""
    L = _sde_operator(linear, 0.0, n)
    out = np.empty((elapsed.size, S0.size))
    cache = {}
    s, t_prev = S0.ravel(), 0.0
    for i, t in enumerate(elapsed):
        dt = t - t_prev
        if dt > 0:
            # Equal spacings that differ in the last bits share one exponential.
            key = float(np.format_float_positional(dt, precision=14, unique=False, fractional=False))
            if key not in cache:
                # Overflow here means exploding moments; it is reported as a DivergenceError.
                with np.errstate(over="ignore", invalid="ignore"):
                    cache[key] = scipy.linalg.expm(L * dt)
            with np.errstate(over="ignore", invalid="ignore"):
                s = cache[key] @ s
        out[i] = s
        t_prev = t
    return out


def _regular_at_zero(linear, n) -> bool:
    """Whether the moment operator is defined (finite) at t = 0."""
    try:
        with np.errstate(all="ignore"):
            return bool(np.all(np.isfinite(_sde_operator(linear, 0.0, n))))
    except (ValueError, ZeroDivisionError, FloatingPointError):
        return False


def _singular_split(linear, n, t_scale):
    """Write L(t) = R / t + L1 near t = 0 (for an operator singular at t = 0).

    Raises ValueError if L(t) is not of that form.
    """
    t1, t2, t3 = 1e-3 * t_scale, 2e-3 * t_scale, 3.7e-3 * t_scale
    with np.errstate(all="ignore"):
        L1_, L2_, L3_ = (_sde_operator(linear, t, n) for t in (t1, t2, t3))
    R = (L1_ - L2_) / (1 / t1 - 1 / t2)
    L1 = L1_ - R / t1
    if np.max(np.abs(R / t3 + L1 - L3_)) > 1e-9 * np.max(np.abs(L3_)):
        raise ValueError(
            "sde_moments: the linear SDE's drift is time dependent and singular at t0 = 0 but "
            "not of the form R/t + L1; start the SDE at t0 > 0"
        )
    return R, L1


def _split_holds(linear, n, R, L1, t_end) -> bool:
    """Whether L(t) = R/t + L1 holds (to rounding) at a few points up to ``t_end``."""
    for t in (0.31 * t_end, 0.77 * t_end, t_end):
        L = _sde_operator(linear, t, n)
        if np.max(np.abs(R / t + L1 - L)) > 1e-12 * max(np.max(np.abs(L)), 1.0):
            return False
    return True


def _frobenius_series(R, L1, s0, t):
    """sum_k S_k t^k with S_0 = s0, (k I - R) S_k = L1 S_{k-1} (regular solution)."""
    if np.max(np.abs(R @ s0)) > 1e-12 * max(np.max(np.abs(s0)), 1.0) * max(np.max(np.abs(R)), 1.0):
        raise ValueError(
            "sde_moments: the drift is singular at t0 = 0 (R/t term) and the initial state "
            "is not annihilated by it: start with zero velocity (v0 = 0) or at t0 > 0"
        )
    eye = np.eye(R.shape[0])
    total, term = s0.copy(), s0.copy()
    for k in range(1, 200):
        term = np.linalg.solve(k * eye - R, L1 @ term) * t
        total = total + term
        if np.max(np.abs(term)) <= 1e-18 * np.max(np.abs(total)):
            return total
    raise RuntimeError("sde_moments: the Frobenius series at t0 = 0 did not converge")


def _time_dependent_moments(linear, n, S0, times, t0):
    s0 = S0.ravel()
    out = np.empty((times.size, s0.size))
    at_start = times == t0
    out[at_start] = s0
    later = times[~at_start]
    if later.size == 0:
        return out
    t_start = t0

    def rhs(t, s):
        return _sde_operator(linear, t, n) @ s

    if t0 == 0.0 and not _regular_at_zero(linear, n):
        R, L1 = _singular_split(linear, n, later[-1])
        # Start inside the radius where a few series terms are exact to rounding.
        t_start = min(0.5 * later[0], 0.05 / max(np.linalg.norm(L1, 2), 1e-300))
        s0 = _frobenius_series(R, L1, s0, t_start)
        if _split_holds(linear, n, R, L1, later[-1]):
            # L(t) = R/t + L1 on the whole interval (Nesterov): skip rebuilding L at every step.
            def rhs(t, s):  # noqa: F811
                return R @ s / t + L1 @ s

    atol = 1e-15 * max(np.max(np.abs(s0)), 1.0)
    unique, index = np.unique(later, return_inverse=True)  # solve_ivp wants strictly increasing
    sol = scipy.integrate.solve_ivp(
        rhs, (t_start, unique[-1]), s0, method="DOP853", t_eval=unique, rtol=1e-12, atol=atol
    )
    if not sol.success:
        raise DivergenceError(f"sde_moments: the moment ODE solver failed: {sol.message}")
    out[~at_start] = sol.y.T[index]
    return out
