"""Numba versions of the counter-based streams of :mod:`smecore.estimation.counter`.

Scalar device functions (``jit_mix64``, ``jit_path_seed``, ``jit_step_seed``,
``jit_word``, ``jit_uniform``, ``jit_normal``) for fused kernels, and array
functions over a (paths x coordinates) grid at one step that mirror the numpy
reference (tested against it). ``HAVE_NUMBA`` is False where numba is not
installed; callers then use the numpy reference.

All integer arithmetic is on uint64 with wrap-around, as in the reference, so
words, uniforms and signs agree bit for bit; normals agree bit for bit except
where the wedge/tail tests call exp/log1p, whose last bits may differ between
numpy's and LLVM's libm (relative difference below 1e-14, tested).
"""

from __future__ import annotations

import numpy as np

from .counter import G_J, G_K, G_P, G_R, M1, M2, TWO_M53, ZIG_R, ZIGGURAT

__all__ = ["HAVE_NUMBA", "jit_mix64", "jit_path_seed", "jit_step_seed", "jit_word",
           "jit_uniform", "jit_normal", "grid_words", "grid_uniform", "grid_rademacher",
           "grid_normal"]

try:  # pragma: no cover - exercised where numba is installed
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    numba = None
    HAVE_NUMBA = False


def _njit(*args, **kwargs):
    if not HAVE_NUMBA:  # pragma: no cover
        return (lambda f: f) if not args or not callable(args[0]) else args[0]
    return numba.njit(*args, **kwargs)


_KI = ZIGGURAT[0].copy()
_WI = ZIGGURAT[1].copy()
_FI = ZIGGURAT[2].copy()
_ONE = np.uint64(1)
_MASK52 = np.uint64((1 << 52) - 1)
_INV_R = 1.0 / ZIG_R


@_njit(inline="always")
def jit_mix64(z):
    z = (z ^ (z >> np.uint64(30))) * M1
    z = (z ^ (z >> np.uint64(27))) * M2
    return z ^ (z >> np.uint64(31))


@_njit(inline="always")
def jit_path_seed(key, p):
    """s_p = mix64(key + (p + 1) G_P)."""
    return jit_mix64(key + (np.uint64(p) + _ONE) * G_P)


@_njit(inline="always")
def jit_step_seed(s_p, k):
    """s_pk = mix64(s_p + (k + 1) G_K)."""
    return jit_mix64(s_p + (np.uint64(k) + _ONE) * G_K)


@_njit(inline="always")
def jit_word(s_pk, j):
    """w = mix64(s_pk + (j + 1) G_J)."""
    return jit_mix64(s_pk + (np.uint64(j) + _ONE) * G_J)


@_njit(inline="always")
def jit_uniform(w):
    return np.float64(w >> np.uint64(11)) * TWO_M53


@_njit(inline="always")
def _jit_next(w):
    return jit_mix64(w + G_R)


@_njit
def _jit_normal_slow(w, ki, wi, fi):
    while True:
        i = np.intp(w & np.uint64(255))
        neg = (w >> np.uint64(8)) & _ONE
        r = (w >> np.uint64(9)) & _MASK52
        x = np.float64(r) * wi[i]
        if neg:
            x = -x
        if r < ki[i]:
            return x
        if i == 0:
            while True:
                w = _jit_next(w)
                a = -np.log1p(-jit_uniform(w)) * _INV_R
                w = _jit_next(w)
                b = -np.log1p(-jit_uniform(w))
                if b + b > a * a:
                    return -(ZIG_R + a) if neg else ZIG_R + a
        w = _jit_next(w)
        if fi[i] + jit_uniform(w) * (fi[i - 1] - fi[i]) < np.exp(-0.5 * x * x):
            return x
        w = _jit_next(w)


@_njit(inline="always")
def jit_normal(w, ki, wi, fi):
    """Ziggurat normal of the word w (fast path inline, rejections out of line)."""
    i = np.intp(w & np.uint64(255))
    r = (w >> np.uint64(9)) & _MASK52
    if r < ki[i]:
        x = np.float64(r) * wi[i]
        return -x if (w >> np.uint64(8)) & _ONE else x
    return _jit_normal_slow(w, ki, wi, fi)


def tables():
    """(ki, wi, fi) as contiguous arrays for the kernels."""
    return _KI, _WI, _FI


@_njit
def _grid_words(key, p0, n, k, m):
    out = np.empty((n, m), dtype=np.uint64)
    for a in range(n):
        s = jit_step_seed(jit_path_seed(key, p0 + a), k)
        for j in range(m):
            out[a, j] = jit_word(s, j)
    return out


@_njit
def _grid_uniform(key, p0, n, k, m):
    out = np.empty((n, m))
    for a in range(n):
        s = jit_step_seed(jit_path_seed(key, p0 + a), k)
        for j in range(m):
            out[a, j] = jit_uniform(jit_word(s, j))
    return out


@_njit
def _grid_rademacher(key, p0, n, k, m):
    out = np.empty((n, m))
    for a in range(n):
        s = jit_step_seed(jit_path_seed(key, p0 + a), k)
        for j0 in range(0, m, 64):
            w = jit_word(s, j0 >> 6)
            for j in range(j0, min(m, j0 + 64)):
                out[a, j] = 1.0 - 2.0 * np.float64((w >> np.uint64(j - j0)) & _ONE)
    return out


@_njit
def _grid_normal(key, p0, n, k, m, ki, wi, fi):
    out = np.empty((n, m))
    for a in range(n):
        s = jit_step_seed(jit_path_seed(key, p0 + a), k)
        for j in range(m):
            out[a, j] = jit_normal(jit_word(s, j), ki, wi, fi)
    return out


def grid_words(key, p0, n, k, m):
    """Words of paths p0..p0+n-1, step k, coordinates 0..m-1 (numba), shape (n, m)."""
    return _grid_words(np.uint64(key), int(p0), int(n), int(k), int(m))


def grid_uniform(key, p0, n, k, m):
    """Uniforms on the grid of :func:`grid_words` (numba)."""
    return _grid_uniform(np.uint64(key), int(p0), int(n), int(k), int(m))


def grid_rademacher(key, p0, n, k, m):
    """Random signs on the grid of :func:`grid_words` (numba)."""
    return _grid_rademacher(np.uint64(key), int(p0), int(n), int(k), int(m))


def grid_normal(key, p0, n, k, m):
    """Ziggurat normals on the grid of :func:`grid_words` (numba)."""
    return _grid_normal(np.uint64(key), int(p0), int(n), int(k), int(m), _KI, _WI, _FI)
