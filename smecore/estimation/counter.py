"""Counter-based random streams: the numbers of (path p, step k, coordinate j) from a hash.

A counter-based stream has no state: the random word of path ``p``, step ``k`` and
coordinate ``j`` is a pure function of ``(key, p, k, j)``. Results therefore do not
depend on chunking, tiling, thread count or evaluation order, and any path's
increments can be regenerated instead of stored.

**The hash** (documented, 64-bit). ``mix64`` is the SplitMix64 output function
(Steele, Lea & Flood 2014; the finaliser constants of Stafford's "Mix13"), a
bijection of 64-bit words with full avalanche::

    mix64(z) = z3 ^ (z3 >> 31),  z3 = (z2 ^ (z2 >> 27)) * 0x94d049bb133111eb,
                                 z2 = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9   (mod 2^64)

and the word of ``(key, p, k, j)`` is three chained mixes, one per counter
level, each adding the counter times its own odd constant (Weyl increments)::

    s_p  = mix64(key  + (p + 1) * G_P)
    s_pk = mix64(s_p  + (k + 1) * G_K)
    w    = mix64(s_pk + (j + 1) * G_J)

so a kernel computes ``s_p`` once per path and ``s_pk`` once per step. The key is
``SeedSequence(rng).generate_state(1, uint64)`` (:func:`counter_key`).

**Outputs** (all from the word ``w``):

- uniform on [0, 1): ``(w >> 11) * 2**-53`` (53 random bits, exact multiple of 2^-53);
- Rademacher (+-1): coordinate ``j`` uses bit ``j % 64`` of the word of
  ``(key, p, k, j // 64)``, so one hash gives 64 signs (1 bit -> -1, 0 bit -> +1);
- standard normal: the Marsaglia & Tsang (2000) ziggurat with 256 layers, in the
  layout of numpy's ``Generator.standard_normal``: bits 0-7 of ``w`` pick the
  layer, bit 8 the sign, bits 9-60 a 52-bit magnitude. 99.3% of the draws are one
  multiply; the wedge and tail rejections take further words along the chain
  ``w <- mix64(w + G_R)`` (still a pure function of ``(key, p, k, j)``). The
  ziggurat is an *exact* sampler of N(0, 1) given exact uniforms: its only
  approximations are the 52/53-bit resolution of the uniforms and the rounding of
  the tables and of exp/log1p.

The numpy functions here are the vectorised reference; :mod:`smecore.solvers.kernels`
holds numba versions that agree bit for bit on the integer words, the uniforms and
the Rademacher signs, and on the normals up to the last bits of libm's exp/log1p in
the 0.7% of draws that reach a wedge or the tail (tested: relative difference below
1e-14).

References
----------
G. L. Steele, D. Lea and C. H. Flood, Fast splittable pseudorandom number
generators, OOPSLA 2014.
G. Marsaglia and W. W. Tsang, The ziggurat method for generating random
variables, J. Statist. Software 5(8), 2000.
J. K. Salmon, M. A. Moraes, R. O. Dror and D. E. Shaw, Parallel random numbers:
as easy as 1, 2, 3, SC 2011 (counter-based generators).
"""

from __future__ import annotations

import numpy as np

from .streams import as_seed_sequence

__all__ = [
    "counter_key",
    "mix64",
    "counter_words",
    "counter_uniform",
    "counter_rademacher",
    "counter_normal",
    "ZIGGURAT",
]

_U = np.uint64
M1 = _U(0xBF58476D1CE4E5B9)
M2 = _U(0x94D049BB133111EB)
G_P = _U(0x9E3779B97F4A7C15)  # the golden-ratio Weyl increment of SplitMix64
G_K = _U(0xC2B2AE3D27D4EB4F)  # odd constants of xxHash64
G_J = _U(0x165667B19E3779F9)
G_R = _U(0xD6E8FEB86659FD93)  # the rejection chain
_S30, _S27, _S31 = _U(30), _U(27), _U(31)
_S11 = _U(11)
TWO_M53 = 2.0 ** -53


def counter_key(rng) -> int:
    """The 64-bit key of a counter-based stream, from anything ``default_rng`` accepts.

    Parameters
    ----------
    rng : seed-like
        Through :func:`smecore.estimation.as_seed_sequence` (a Generator contributes
        fresh entropy and advances).

    Returns
    -------
    int
        ``SeedSequence(rng).generate_state(1, numpy.uint64)[0]``.

    Examples
    --------
    >>> counter_key(7) == counter_key(7)
    True
    """
    return int(as_seed_sequence(rng).generate_state(1, dtype=np.uint64)[0])


def mix64(z):
    """The SplitMix64 output function on uint64 arrays (wrapping arithmetic).

    Examples
    --------
    >>> hex(int(mix64(np.uint64(0))))
    '0x0'
    >>> hex(int(mix64(np.uint64(1))))
    '0x5692161d100b05e5'
    """
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> _S30)) * M1
        z = (z ^ (z >> _S27)) * M2
    return z ^ (z >> _S31)


def _as_counter(a, name):
    arr = np.asarray(a)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be integers, got dtype {arr.dtype}")
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} must be >= 0")
    return arr.astype(np.uint64)


def _key(key):
    if isinstance(key, (bool, np.bool_)) or not isinstance(key, (int, np.integer)):
        raise TypeError(f"key must be an integer (see counter_key), got {type(key).__name__}")
    if not 0 <= int(key) < 2**64:
        raise ValueError(f"key must lie in [0, 2**64), got {key}")
    return np.uint64(key)


def counter_words(key, p, k, j):
    """The 64-bit words of ``(key, p, k, j)``; ``p, k, j`` broadcast against each other.

    Parameters
    ----------
    key : int
        From :func:`counter_key`.
    p, k, j : array_like of int, >= 0
        Path, step and coordinate (or word) indices.

    Returns
    -------
    ndarray of uint64

    Examples
    --------
    >>> w = counter_words(1, np.arange(3)[:, None], 0, np.arange(2))
    >>> w.shape, w.dtype
    ((3, 2), dtype('uint64'))
    """
    key = _key(key)
    p, k, j = (_as_counter(a, n) for a, n in ((p, "p"), (k, "k"), (j, "j")))
    with np.errstate(over="ignore"):
        s_p = mix64(key + (p + _U(1)) * G_P)
        s_pk = mix64(s_p + (k + _U(1)) * G_K)
        return mix64(s_pk + (j + _U(1)) * G_J)


def _uniform_of(w):
    return (w >> _S11).astype(np.float64) * TWO_M53


def counter_uniform(key, p, k, j):
    """Uniform numbers on [0, 1) of ``(key, p, k, j)``: ``(w >> 11) * 2**-53``.

    Examples
    --------
    >>> u = counter_uniform(3, np.arange(1000), 0, 0)
    >>> bool(((u >= 0) & (u < 1)).all())
    True
    """
    return _uniform_of(counter_words(key, p, k, j))


def counter_rademacher(key, p, k, j):
    """Random signs +-1.0 of ``(key, p, k, j)``: bit ``j % 64`` of the word of ``j // 64``.

    Examples
    --------
    >>> s = counter_rademacher(3, np.arange(4)[:, None], 5, np.arange(3))
    >>> sorted(set(s.ravel().tolist())) in ([-1.0, 1.0], [-1.0], [1.0])
    True
    """
    j = _as_counter(j, "j")
    w = counter_words(key, p, k, j >> _U(6))
    bit = (w >> (j & _U(63))) & _U(1)
    return 1.0 - 2.0 * bit.astype(np.float64)


# ---------------------------------------------------------------------------
# The ziggurat (Marsaglia & Tsang 2000, 256 layers, 52-bit magnitudes)
# ---------------------------------------------------------------------------
ZIG_R = 3.6541528853610088  # start of the tail
ZIG_V = 4.92867323399e-3  # area of each layer
_M52 = 2.0 ** 52


def _ziggurat_tables():
    """Tables (ki, wi, fi) of Marsaglia & Tsang's setup, for 52-bit magnitudes."""
    ki = np.zeros(256, dtype=np.uint64)
    wi = np.zeros(256)
    fi = np.zeros(256)
    dn = tn = ZIG_R
    q = ZIG_V / np.exp(-0.5 * dn * dn)
    ki[0] = np.uint64(int((dn / q) * _M52))
    ki[1] = 0
    wi[0] = q / _M52
    wi[255] = dn / _M52
    fi[0] = 1.0
    fi[255] = np.exp(-0.5 * dn * dn)
    for i in range(254, 0, -1):
        dn = np.sqrt(-2.0 * np.log(ZIG_V / dn + np.exp(-0.5 * dn * dn)))
        ki[i + 1] = np.uint64(int((dn / tn) * _M52))
        tn = dn
        fi[i] = np.exp(-0.5 * dn * dn)
        wi[i] = dn / _M52
    return ki, wi, fi


#: (ki, wi, fi): acceptance bounds, layer widths / 2^52, density at the layer edges.
ZIGGURAT = _ziggurat_tables()
_KI, _WI, _FI = ZIGGURAT
_MASK52 = _U((1 << 52) - 1)
_INV_R = 1.0 / ZIG_R


def _next(w):
    with np.errstate(over="ignore"):
        return mix64(w + G_R)


def ziggurat_normal(words):
    """Standard normals from 64-bit words by the ziggurat (vectorised reference).

    Rejected draws continue along ``w <- mix64(w + G_R)``, so each output is a
    pure function of its word. The scalar algorithm (mirrored by the numba kernel):

    1. ``i = w & 255``, ``s = (w >> 8) & 1``, ``r = (w >> 9) & (2^52 - 1)``,
       ``x = r * wi[i]`` negated if ``s``; return ``x`` if ``r < ki[i]``;
    2. if ``i == 0`` (base strip, tail): repeat ``w <- next(w); a = -log1p(-U(w)) / R;
       w <- next(w); b = -log1p(-U(w))`` until ``2 b > a^2``; return ``+-(R + a)``;
    3. else ``w <- next(w)``; return ``x`` if ``fi[i] + U(w) (fi[i-1] - fi[i]) < exp(-x^2/2)``;
    4. ``w <- next(w)`` and go to 1.

    Examples
    --------
    >>> z = ziggurat_normal(counter_words(0, np.arange(20000), 0, 0))
    >>> bool(abs(z.mean()) < 0.05 and abs(z.var() - 1) < 0.05)
    True
    """
    w = np.array(words, dtype=np.uint64).ravel()
    out = np.empty(w.shape)
    pending = np.arange(w.size)
    while pending.size:
        wp = w[pending]
        i = (wp & _U(255)).astype(np.intp)
        neg = ((wp >> _U(8)) & _U(1)).astype(bool)
        r = (wp >> _U(9)) & _MASK52
        x = r.astype(np.float64) * _WI[i]
        x = np.where(neg, -x, x)
        done = r < _KI[i]
        out[pending[done]] = x[done]
        tail = ~done & (i == 0)
        if tail.any():
            out[pending[tail]] = _tail(wp[tail], neg[tail])
        wedge = ~done & (i != 0)
        iw, xw = i[wedge], x[wedge]
        w1 = _next(wp[wedge])
        ok = _FI[iw] + _uniform_of(w1) * (_FI[iw - 1] - _FI[iw]) < np.exp(-0.5 * xw * xw)
        out[pending[wedge][ok]] = xw[ok]
        pending = pending[wedge][~ok]
        w[pending] = _next(w1[~ok])
    return out.reshape(np.shape(words))


def _tail(w, neg):
    out = np.empty(w.shape)
    todo = np.arange(w.size)
    while todo.size:
        w1 = _next(w[todo])
        a = -np.log1p(-_uniform_of(w1)) * _INV_R
        w2 = _next(w1)
        b = -np.log1p(-_uniform_of(w2))
        ok = b + b > a * a
        val = ZIG_R + a[ok]
        out[todo[ok]] = np.where(neg[todo[ok]], -val, val)
        w[todo] = w2
        todo = todo[~ok]
    return out


def counter_normal(key, p, k, j):
    """Standard normals of ``(key, p, k, j)`` (ziggurat on the counter words).

    Examples
    --------
    >>> z = counter_normal(5, np.arange(3)[:, None], 2, np.arange(4))
    >>> z.shape
    (3, 4)
    >>> bool((z == counter_normal(5, np.arange(3)[:, None], 2, np.arange(4))).all())
    True
    """
    return ziggurat_normal(counter_words(key, p, k, j))
