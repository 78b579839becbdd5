"""Compiled inner loop of streaming SGD in dimension N, vectorised over runs.

Each run owns a SplitMix64 stream (Steele, Lea & Flood 2014) seeded once, and
draws its Gaussians with the 256-layer ziggurat of Marsaglia & Tsang (2000):
one 64-bit draw per normal on the fast path (8 bits choose the layer, 1 bit the
sign, 52 bits the magnitude). Runs are independent, so the result does not
depend on the number of threads or on how the time axis is chunked.

Every step draws a fresh data vector a = sqrt(lambda) * z, z ~ N(0, I_N), in the
eigenbasis of the data covariance, and updates the full iterate x in R^N. The
summary statistics are accumulated in the same pass as the update.
"""

from __future__ import annotations

import math

import numba
import numpy as np

# --------------------------------------------------------------------------
# Ziggurat tables (256 layers), built once in numpy.
# --------------------------------------------------------------------------
_R = 3.6541528853610088
_V = 0.00492867323399
_M52 = float(2**52)


def _tables():
    kn = np.zeros(256, dtype=np.int64)
    wn = np.zeros(256)
    fn = np.zeros(256)
    dn = tn = _R
    q = _V / math.exp(-0.5 * dn * dn)
    kn[0] = int((dn / q) * _M52)
    kn[1] = 0
    wn[0] = q / _M52
    wn[255] = dn / _M52
    fn[0] = 1.0
    fn[255] = math.exp(-0.5 * dn * dn)
    for i in range(254, 0, -1):
        dn = math.sqrt(-2.0 * math.log(_V / dn + math.exp(-0.5 * dn * dn)))
        kn[i + 1] = int((dn / tn) * _M52)
        tn = dn
        fn[i] = math.exp(-0.5 * dn * dn)
        wn[i] = dn / _M52
    return kn, wn, fn


KN, WN, FN = _tables()

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0


@numba.njit(inline="always")
def _next(state):
    state[0] = state[0] + _GAMMA
    z = state[0]
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@numba.njit(inline="always")
def _uniform(state):
    """Uniform on (0, 1): 53 random bits, never 0."""
    return ((_next(state) >> _S11) + 0.5) * _INV53


@numba.njit
def _normal_slow(state, idx, rabs, negative, x, kn, wn, fn):
    while True:
        if idx == 0:  # the tail beyond R
            while True:
                xx = -math.log(_uniform(state)) / _R
                yy = -math.log(_uniform(state))
                if yy + yy > xx * xx:
                    return -(_R + xx) if negative else _R + xx
        if (fn[idx - 1] - fn[idx]) * _uniform(state) + fn[idx] < math.exp(-0.5 * x * x):
            return x
        r = np.int64(_next(state))
        idx = r & 255
        negative = (r >> 8) & 1
        rabs = (r >> 9) & 0x000FFFFFFFFFFFFF
        x = rabs * wn[idx]
        if negative:
            x = -x
        if rabs < kn[idx]:
            return x


@numba.njit(inline="always")
def _normal(state, kn, wn, fn):
    """One standard normal; ``kn`` is the int64 table of layer thresholds."""
    r = np.int64(_next(state))
    idx = r & 255
    negative = (r >> 8) & 1
    rabs = (r >> 9) & 0x000FFFFFFFFFFFFF
    x = rabs * wn[idx]
    if negative:
        x = -x
    if rabs < kn[idx]:
        return x
    return _normal_slow(state, idx, rabs, negative, x, kn, wn, fn)


@numba.njit(cache=True)
def normals(seed, n, kn, wn, fn):
    """n standard normals from one SplitMix64 stream (for testing the sampler)."""
    state = np.array([seed], dtype=np.uint64)
    out = np.empty(n)
    for i in range(n):
        out[i] = _normal(state, kn, wn, fn)
    return out


# --------------------------------------------------------------------------
# Activations of the single neuron (code 1: erf(z / sqrt 2), code 2: tanh)
# --------------------------------------------------------------------------
_SQRT1_2 = 1.0 / math.sqrt(2.0)
_SQRT2_PI = math.sqrt(2.0 / math.pi)


@numba.njit(inline="always")
def _act(code, z):
    if code == 1:
        return math.erf(z * _SQRT1_2)
    return math.tanh(z)


@numba.njit(inline="always")
def _dact(code, z):
    if code == 1:
        return _SQRT2_PI * math.exp(-0.5 * z * z)
    t = math.tanh(z)
    return 1.0 - t * t


# --------------------------------------------------------------------------
# The SGD loop
# --------------------------------------------------------------------------
#: model codes
LSQ, NEURON, ADVERSARIAL = 0, 1, 2
#: columns of the statistics array: |x|^2, <x, x*>, sum_i lam_i (x_i - x*_i)^2
N_STATS = 3


@numba.njit(parallel=True, cache=True)
def run_chunk(model, activation, x, x_star, sqrt_lam, lam, lr, noise_sd, epsilon, n_steps,
              record_every, states, stats, diverged, bound, kn, wn, fn):
    """Advance every run by ``n_steps`` steps, in place.

    x : (M, N) iterates; states : (M,) uint64 streams; stats : (M, n_steps // record_every, 3)
    written after every ``record_every``-th step; diverged : (M,) int64, set to the step
    (1-based within the chunk) at which a run left ``|x|^2`` <= bound, else 0.
    """
    M, N = x.shape
    for j in numba.prange(M):
        state = states[j:j + 1]
        xj = x[j]
        z = np.empty(N)
        # the current |x|^2 (needed by the adversarial step)
        sq = 0.0
        for i in range(N):
            sq += xj[i] * xj[i]
        for k in range(n_steps):
            p = 0.0
            q = 0.0
            a2 = 0.0
            for i in range(N):
                zi = _normal(state, kn, wn, fn) * sqrt_lam[i]
                z[i] = zi
                p += zi * xj[i]
                q += zi * x_star[i]
                a2 += zi * zi
            xi = noise_sd * _normal(state, kn, wn, fn) if noise_sd > 0 else 0.0
            shrink = 1.0
            if model == LSQ:
                coef = lr * (p - q - xi)
            elif model == NEURON:
                coef = lr * (_act(activation, p) - _act(activation, q) - xi) * _dact(activation, p)
            else:  # adversarial: grad = (|r| + eps |x|) (sign(r) a + eps x / |x|)
                r = p - q - xi
                rho = math.sqrt(sq)
                G = abs(r) + epsilon * rho
                coef = lr * G * (1.0 if r > 0 else (-1.0 if r < 0 else 0.0))
                if rho > 0:
                    shrink = 1.0 - lr * G * epsilon / rho
            record = (k + 1) % record_every == 0
            sq = 0.0
            if record:
                ov = 0.0
                risk = 0.0
                for i in range(N):
                    v = xj[i] * shrink - coef * z[i]
                    xj[i] = v
                    sq += v * v
                    ov += v * x_star[i]
                    e = v - x_star[i]
                    risk += lam[i] * e * e
                r_idx = (k + 1) // record_every - 1
                stats[j, r_idx, 0] = sq
                stats[j, r_idx, 1] = ov
                stats[j, r_idx, 2] = risk
            elif model == ADVERSARIAL:
                for i in range(N):
                    v = xj[i] * shrink - coef * z[i]
                    xj[i] = v
                    sq += v * v
            else:
                for i in range(N):
                    xj[i] = xj[i] * shrink - coef * z[i]
                    sq += xj[i] * xj[i]  # also the divergence check
            if not (sq <= bound):
                diverged[j] = k + 1
                break
