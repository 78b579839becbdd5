"""Counter-based streams: purity, numba = numpy reference, statistical quality."""

import numpy as np
import pytest
from scipy import stats

from smecore.estimation import counter as C
from smecore.estimation import counter_jit as J


def test_known_values_of_mix64():
    # SplitMix64 with seed 0 outputs mix64(0x9e3779b97f4a7c15) = 0xe220a8397b1dcdaf.
    assert int(C.mix64(np.uint64(0x9E3779B97F4A7C15))) == 0xE220A8397B1DCDAF


def test_key_from_seed_like():
    assert C.counter_key(1) == C.counter_key(np.random.SeedSequence(1))
    assert C.counter_key(1) != C.counter_key(2)
    with pytest.raises(TypeError):
        C.counter_key("a")


def test_pure_function_and_chunk_independence():
    key = C.counter_key(11)
    p, k, j = np.arange(300)[:, None, None], np.arange(5)[None, :, None], np.arange(7)
    whole = C.counter_normal(key, p, k, j)
    # any split over paths, steps and coordinates, in any order, gives the same numbers
    parts = np.empty_like(whole)
    for ps in (slice(200, 300), slice(0, 37), slice(37, 200)):
        for ks in (slice(3, 5), slice(0, 3)):
            parts[ps, ks] = C.counter_normal(key, p[ps], k[:, ks], j)
    np.testing.assert_array_equal(parts, whole)
    single = C.counter_normal(key, 123, 4, 6)
    assert single == whole[123, 4, 6]


def test_bad_counters():
    with pytest.raises(ValueError, match="p"):
        C.counter_words(1, -1, 0, 0)
    with pytest.raises(TypeError, match="k"):
        C.counter_words(1, 0, 0.5, 0)
    with pytest.raises(TypeError, match="key"):
        C.counter_words(1.0, 0, 0, 0)
    with pytest.raises(ValueError, match="key"):
        C.counter_words(2**64, 0, 0, 0)


@pytest.mark.skipif(not J.HAVE_NUMBA, reason="numba not installed")
@pytest.mark.parametrize("k", [0, 1, 999])
def test_numba_agrees_with_numpy_reference(k):
    key = C.counter_key(5)
    p0, n, m = 1000, 2000, 70  # m > 64: two Rademacher words per (p, k)
    p, j = np.arange(p0, p0 + n)[:, None], np.arange(m)
    np.testing.assert_array_equal(J.grid_words(key, p0, n, k, m), C.counter_words(key, p, k, j))
    np.testing.assert_array_equal(J.grid_uniform(key, p0, n, k, m), C.counter_uniform(key, p, k, j))
    np.testing.assert_array_equal(J.grid_rademacher(key, p0, n, k, m),
                                  C.counter_rademacher(key, p, k, j))
    a, b = J.grid_normal(key, p0, n, k, m), C.counter_normal(key, p, k, j)
    # equal except for possible last-bit differences of exp/log1p in wedge/tail draws
    assert np.all(np.abs(a - b) <= 1e-14 * np.abs(b))


N = 400_000


def _moments_z(samples, exact):
    """z-scores of the sample moments 1..4 against the exact ones."""
    zs = []
    for r in range(1, 5):
        v = samples**r
        zs.append((v.mean() - exact[r]) / (v.std() / np.sqrt(v.size)))
    return np.array(zs)


def _stream(kind, seed, n=N):
    key = C.counter_key(seed)
    # a mix of paths, steps and coordinates
    p = np.arange(n // 40)[:, None, None]
    k = np.arange(4)[None, :, None]
    j = np.arange(10)
    return getattr(C, "counter_" + kind)(key, p, k, j)


NORMAL_MOMENTS = {1: 0.0, 2: 1.0, 3: 0.0, 4: 3.0}
UNIFORM_MOMENTS = {r: 1.0 / (r + 1) for r in range(1, 5)}


@pytest.mark.parametrize("kind, exact", [("normal", NORMAL_MOMENTS), ("uniform", UNIFORM_MOMENTS)])
def test_moments_up_to_order_4(kind, exact):
    passed = sum(np.all(np.abs(_moments_z(_stream(kind, s, 100_000).ravel(), exact)) < 4)
                 for s in range(20))
    assert passed >= 19


def test_rademacher_mean_and_balance():
    s = _stream("rademacher", 0)
    assert set(np.unique(s)) == {-1.0, 1.0}
    z = s.mean() * np.sqrt(s.size)
    assert abs(z) < 4


def test_correlations_across_paths_steps_coordinates():
    for kind in ("normal", "rademacher"):
        x = _stream(kind, 3)  # (paths, steps, coords)
        n = x.shape[0]
        pairs = [
            (x[:-1], x[1:]),  # neighbouring paths
            (x[:, :-1], x[:, 1:]),  # neighbouring steps
            (x[..., :-1], x[..., 1:]),  # neighbouring coordinates
            (x[: n // 2], x[n // 2:]),  # far paths
        ]
        for a, b in pairs:
            r = np.mean(a * b) * np.sqrt(a.size)  # ~ N(0, 1) under independence
            assert abs(r) < 4.5, (kind, r)


def test_neighbouring_counter_words_are_uncorrelated_bitwise():
    # adjacent j, k and p must not share bits: each bit agrees with probability 1/2
    key = C.counter_key(9)
    w = C.counter_words(key, np.arange(20_000)[:, None], 0, np.arange(2))
    w_next_step = C.counter_words(key, np.arange(20_000)[:, None], 1, np.arange(2))
    for a, b in ((w[:, 0], w[:, 1]), (w[:-1, 0], w[1:, 0]), (w, w_next_step)):
        same = np.unpackbits((~(a ^ b)).view(np.uint8)).mean()
        n_bits = a.size * 64
        assert abs(same - 0.5) < 4 * 0.5 / np.sqrt(n_bits)


def test_chi_square_of_uniform_bins():
    passed = 0
    for seed in range(20):
        u = _stream("uniform", seed, 200_000).ravel()
        counts = np.bincount((u * 100).astype(int), minlength=100)
        passed += stats.chisquare(counts).pvalue > 1e-3
    assert passed >= 19


def test_normal_distribution_ks_and_tail():
    z = _stream("normal", 4, 1_000_000).ravel()
    assert stats.kstest(z, "norm").pvalue > 1e-3
    # the tail beyond the ziggurat's R = 3.654 is sampled: P(|Z| > R) = 2.58e-4
    tail = np.mean(np.abs(z) > C.ZIG_R)
    expected = 2 * stats.norm.sf(C.ZIG_R)
    assert abs(tail - expected) < 4 * np.sqrt(expected / z.size)
