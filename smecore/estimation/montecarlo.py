"""Monte Carlo over sample paths: chunked, seeded per block, with standard errors.

The unit of randomness is a *block* of paths (see :mod:`smecore.estimation.streams`); the
unit of work is a *chunk* of whole blocks. A chunk function receives a
:class:`~smecore.estimation.PathRandom` for its paths and returns, for each named
quantity, per-block means and sums of squared deviations
(:class:`BlockStats`). Blocks are combined in block order with the pairwise
(Chan et al.) formula, so the estimate is bit-for-bit the same whatever the
chunk size, the number of workers or the executor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import positive_int
from .streams import DEFAULT_BLOCK_SIZE, PathRandom, plan_blocks

__all__ = ["MCEstimate", "BlockStats", "monte_carlo"]


@dataclass(frozen=True)
class MCEstimate:
    """A Monte Carlo mean with its standard error.

    Attributes
    ----------
    mean : ndarray
        Sample mean of the quantity (any shape).
    stderr : ndarray
        Standard error of the mean, ``std / sqrt(n_paths)``.
    n_paths : int
        Number of independent paths behind the estimate.
    """

    mean: np.ndarray
    stderr: np.ndarray
    n_paths: int

    @property
    def std(self) -> np.ndarray:
        """Sample standard deviation of one path's value."""
        return self.stderr * np.sqrt(self.n_paths)

    def interval(self, z: float = 1.96):
        """Normal-approximation confidence interval ``mean -/+ z * stderr``."""
        return self.mean - z * self.stderr, self.mean + z * self.stderr

    def __getitem__(self, index) -> "MCEstimate":
        return MCEstimate(self.mean[index], self.stderr[index], self.n_paths)


@dataclass(frozen=True)
class BlockStats:
    """Per-block count, mean and sum of squared deviations of a quantity.

    ``mean`` and ``m2`` have shape ``(n_blocks, *shape)``.
    """

    count: np.ndarray
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def from_values(cls, values, sizes) -> "BlockStats":
        """Reduce per-path ``values`` (first axis: paths, in block order) to block stats."""
        values = np.asarray(values, dtype=float)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        if values.shape[0] != offsets[-1]:
            raise ValueError(f"values has {values.shape[0]} rows, expected {offsets[-1]} paths")
        means = np.empty((len(sizes),) + values.shape[1:])
        m2 = np.empty_like(means)
        for i, (a, b) in enumerate(zip(offsets[:-1], offsets[1:])):
            block = values[a:b]
            means[i] = block.mean(axis=0)
            m2[i] = ((block - means[i]) ** 2).sum(axis=0)
        return cls(np.asarray(sizes, dtype=float), means, m2)

    @classmethod
    def stack(cls, stats, axis: int = 1) -> "BlockStats":
        """Stack stats of several quantities (e.g. record times) along a new axis."""
        stats = list(stats)
        return cls(
            stats[0].count,
            np.stack([s.mean for s in stats], axis=axis),
            np.stack([s.m2 for s in stats], axis=axis),
        )

    @classmethod
    def concat(cls, stats) -> "BlockStats":
        """Join the blocks of several chunks, in order."""
        stats = list(stats)
        return cls(
            np.concatenate([s.count for s in stats]),
            np.concatenate([s.mean for s in stats]),
            np.concatenate([s.m2 for s in stats]),
        )

    def estimate(self) -> MCEstimate:
        """Combine all blocks into a mean and its standard error."""
        n = float(self.count.sum())
        w = self.count.reshape((-1,) + (1,) * (self.mean.ndim - 1))
        mean = (w * self.mean).sum(axis=0) / n
        m2 = self.m2.sum(axis=0) + (w * (self.mean - mean) ** 2).sum(axis=0)
        if n > 1:
            stderr = np.sqrt(m2 / (n - 1) / n)
        else:
            stderr = np.full_like(mean, np.inf)
        return MCEstimate(mean, stderr, int(n))


def _run_chunk(simulate_chunk, seeds, sizes):
    out = simulate_chunk(PathRandom(seeds, sizes))
    if not isinstance(out, dict) or not all(isinstance(v, BlockStats) for v in out.values()):
        raise TypeError("simulate_chunk must return a dict of BlockStats")
    return out


def monte_carlo(
    simulate_chunk,
    n_paths,
    *,
    rng=None,
    block_size=DEFAULT_BLOCK_SIZE,
    chunk_size=None,
    executor=None,
) -> dict:
    """Run ``simulate_chunk`` over ``n_paths`` paths and combine the estimates.

    Parameters
    ----------
    simulate_chunk : callable
        ``simulate_chunk(rand) -> dict[str, BlockStats]`` where ``rand`` is a
        :class:`~smecore.estimation.PathRandom` for the chunk's paths (its
        ``sizes`` give the blocks). Must be picklable to run in a process pool.
    n_paths : int
        Total number of independent paths, >= 1.
    rng : seed-like, optional
        Anything ``numpy.random.default_rng`` accepts.
    block_size : int
        Paths per seeded block (fixes the random numbers of each path).
    chunk_size : int, optional
        Paths per unit of work, rounded up to whole blocks; does not change
        the result.
    executor : concurrent.futures.Executor, optional
        Runs chunks in parallel (threads, processes, or a Dask client's
        ``get_executor()``). The result is identical to the serial run.

    Returns
    -------
    dict of str to MCEstimate

    Examples
    --------
    >>> def chunk(rand):
    ...     z = rand.standard_normal((rand.n_paths,))
    ...     return {"z2": BlockStats.from_values(z**2, rand.sizes)}
    >>> est = monte_carlo(chunk, 10_000, rng=1)["z2"]
    >>> bool(abs(est.mean - 1) < 4 * est.stderr)
    True
    """
    if not callable(simulate_chunk):
        raise TypeError("simulate_chunk must be callable")
    n_paths = positive_int(n_paths, "n_paths")
    plan = plan_blocks(rng, n_paths, block_size=block_size, chunk_size=chunk_size)
    args = [(plan.seeds[a:b], plan.sizes[a:b]) for a, b in plan.chunks]
    if executor is None:
        results = [_run_chunk(simulate_chunk, s, z) for s, z in args]
    else:
        if not hasattr(executor, "map"):
            raise TypeError("executor must be a concurrent.futures.Executor (with .map)")
        results = list(
            executor.map(_run_chunk, [simulate_chunk] * len(args), *zip(*args))
        )
    keys = results[0].keys()
    return {k: BlockStats.concat(r[k] for r in results).estimate() for k in keys}
