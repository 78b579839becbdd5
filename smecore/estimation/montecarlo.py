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

import os
import sys
import time
from dataclasses import dataclass

import numpy as np

from .._validation import positive_int
from .streams import DEFAULT_BLOCK_SIZE, PathRandom, plan_blocks

__all__ = ["MCEstimate", "BlockStats", "monte_carlo", "counter_monte_carlo"]


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
        sizes = np.asarray(sizes, dtype=int).reshape(-1)
        means = np.empty((len(sizes),) + values.shape[1:])
        m2 = np.empty_like(means)
        # Blocks of equal size (all but perhaps the last) are reduced together through a
        # reshape: the same summation, block by block, as reducing each block on its own
        # (so the result is bit for bit that of a per-block loop), without a Python
        # iteration per block.
        first = 0
        while first < len(sizes):
            size = sizes[first]
            last = first + 1
            while last < len(sizes) and sizes[last] == size:
                last += 1
            if size > 0:
                group = values[offsets[first]:offsets[last]].reshape(
                    (last - first, size) + values.shape[1:])
                group_means = group.mean(axis=1)
                means[first:last] = group_means
                m2[first:last] = ((group - group_means[:, None]) ** 2).sum(axis=1)
            else:
                means[first:last] = np.nan
                m2[first:last] = 0.0
            first = last
        return cls(sizes.astype(float), means, m2)

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
    progress=None,
    desc=None,
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
    progress : bool, optional
        A tqdm progress bar over the paths (on stderr), advanced chunk by
        chunk. ``False``: never; ``True``: always; ``None`` (default): the
        environment variable ``SMECORE_PROGRESS`` decides if set (``"0"`` or
        ``"1"``), else the bar appears only when the run is predicted to take
        more than ``PROGRESS_SECONDS`` (10 s), so quick runs stay silent.
        Unless ``progress=False``, a run predicted to take more than
        ``COST_NOTICE_SECONDS`` (60 s) first prints one line with its cost.
        The prediction times the first block alone (then the rest of the
        chunks run as planned; the result does not depend on it):
        time of one block x number of blocks / workers. With the default,
        a run of a single chunk is not timed (no bar, no cost line).
    desc : str, optional
        What is simulated (e.g. ``"SGD(lr=0.1): 1000 steps"``), for the bar and
        the cost line.

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
    if executor is not None and not hasattr(executor, "map"):
        raise TypeError("executor must be a concurrent.futures.Executor (with .map)")
    if progress is not None and not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress must be True, False or None, got {type(progress).__name__}")
    show = _progress_setting(progress)
    if show is False or (show is None and len(plan.chunks) == 1):
        # One chunk (<= 16 blocks by default): not worth a bar nor an extra timing chunk.
        results = _run_chunks(simulate_chunk, plan, plan.chunks, executor)
    else:
        results = _run_with_progress(simulate_chunk, plan, executor, show, desc)
    keys = results[0].keys()
    return {k: BlockStats.concat(r[k] for r in results).estimate() for k in keys}


#: A run predicted to last longer than this shows a progress bar (``progress=None``).
PROGRESS_SECONDS = 10.0
#: A run predicted to last longer than this first prints its cost (unless ``progress=False``).
COST_NOTICE_SECONDS = 60.0


def _progress_setting(progress):
    """True / False, or None for "decide from the predicted run time"."""
    if progress is not None:
        return bool(progress)
    env = os.environ.get("SMECORE_PROGRESS", "").strip()
    if env in ("0", "1"):
        return env == "1"
    return None


def _run_chunks(simulate_chunk, plan, chunks, executor, on_done=None):
    """Results of the chunks (first_block, stop_block), in order."""
    args = [(plan.seeds[a:b], plan.sizes[a:b]) for a, b in chunks]
    if not args:
        return []
    if executor is None:
        results = []
        for s, z in args:
            results.append(_run_chunk(simulate_chunk, s, z))
            if on_done is not None:
                on_done(sum(z))
        return results
    results = []
    for r, (_, z) in zip(executor.map(_run_chunk, [simulate_chunk] * len(args), *zip(*args)), args):
        results.append(r)
        if on_done is not None:
            on_done(sum(z))
    return results


def _run_with_progress(simulate_chunk, plan, executor, show, desc):
    """Time the first block alone, print the cost if long, then run the rest under a tqdm bar."""
    first, stop = plan.chunks[0]
    chunks = ([(0, 1), (1, stop)] if stop > 1 else [(0, 1)]) + list(plan.chunks[1:])
    start = time.perf_counter()
    results = _run_chunks(simulate_chunk, plan, chunks[:1], None)
    seconds = time.perf_counter() - start
    done, total = plan.sizes[0], plan.n_paths
    workers = max(1, int(getattr(executor, "_max_workers", 1) or 1)) if executor is not None else 1
    predicted = seconds * (total - done) / done / workers
    label = desc or "monte_carlo"
    if predicted > COST_NOTICE_SECONDS:
        print(f"{label}: {total:,} paths in {len(plan.sizes)} blocks; the first block "
              f"({done:,} paths) took {seconds:.2g} s, so about {predicted + seconds:.0f} s in all "
              "(progress=False silences this)", file=sys.stderr, flush=True)
    if show is None:
        show = predicted > PROGRESS_SECONDS
    if not show:
        return results + _run_chunks(simulate_chunk, plan, chunks[1:], executor)
    from tqdm import tqdm

    with tqdm(total=total, initial=done, desc=label, unit="path", file=sys.stderr,
              dynamic_ncols=True, mininterval=0.5) as bar:
        results += _run_chunks(simulate_chunk, plan, chunks[1:], executor, on_done=bar.update)
    return results


def _run_counter_chunk(chunk, p_start, sizes):
    return chunk(p_start, sizes)


def counter_monte_carlo(chunk, n_paths, *, block_size=DEFAULT_BLOCK_SIZE, chunk_size=None,
                        executor=None) -> dict:
    """Run a counter-stream chunk function over ``n_paths`` paths and combine the estimates.

    With counter-based streams (``smecore.estimation.counter``) a path's random numbers
    depend only on its global index, so a chunk needs no generator, only where its paths
    start: ``chunk(p_start, sizes) -> dict[str, BlockStats]`` for the paths
    ``p_start, ..., p_start + sum(sizes) - 1`` in blocks of ``sizes``. Blocks are combined
    in order, so the result does not depend on ``chunk_size`` or ``executor``.

    Parameters
    ----------
    chunk : callable
        Picklable for a process pool.
    n_paths : int
    block_size : int
        Paths per block of the statistics.
    chunk_size : int, optional
        Paths per unit of work, rounded up to whole blocks (default 16 blocks).
    executor : concurrent.futures.Executor, optional

    Returns
    -------
    dict of str to MCEstimate

    Examples
    --------
    >>> from smecore.estimation.counter import counter_normal
    >>> def chunk(p0, sizes):
    ...     z = counter_normal(7, np.arange(p0, p0 + sum(sizes)), 0, 0)
    ...     return {"z": BlockStats.from_values(z, sizes)}
    >>> a = counter_monte_carlo(chunk, 5000, block_size=512)["z"]
    >>> b = counter_monte_carlo(chunk, 5000, block_size=512, chunk_size=1000)["z"]
    >>> bool(a.mean == b.mean and abs(a.mean) < 4 * a.stderr)
    True
    """
    n_paths = positive_int(n_paths, "n_paths")
    block_size = positive_int(block_size, "block_size")
    chunk_size = 16 * block_size if chunk_size is None else positive_int(chunk_size, "chunk_size")
    n_blocks = -(-n_paths // block_size)
    sizes = [block_size] * (n_blocks - 1) + [n_paths - block_size * (n_blocks - 1)]
    per_chunk = max(1, -(-chunk_size // block_size))
    tasks = [(b * block_size, sizes[b:b + per_chunk]) for b in range(0, n_blocks, per_chunk)]
    if executor is None:
        results = [_run_counter_chunk(chunk, p, s) for p, s in tasks]
    else:
        if not hasattr(executor, "map"):
            raise TypeError("executor must be a concurrent.futures.Executor (with .map)")
        results = list(executor.map(_run_counter_chunk, [chunk] * len(tasks), *zip(*tasks)))
    return {name: BlockStats.concat(r[name] for r in results).estimate() for name in results[0]}
