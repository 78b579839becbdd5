"""Random streams for blocks of sample paths.

A Monte Carlo run splits its ``n_paths`` paths into *blocks* of a fixed size
(``block_size``); block ``b`` draws all its random numbers from its own
generator, seeded by the ``b``-th child of ``SeedSequence.spawn``. Chunks (the
unit of work handed to a worker) are made of whole blocks, so the numbers a
path sees depend only on the seed and the block size, never on the chunk size
or on the number of workers.

:class:`PathRandom` draws arrays whose first axis runs over the paths of a
chunk, filling them block by block. It offers the subset of the
``numpy.random.Generator`` interface the simulators use, so problem samplers
accept either a ``Generator`` or a ``PathRandom``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import positive_int

DEFAULT_BLOCK_SIZE = 1024


def as_seed_sequence(rng) -> np.random.SeedSequence:
    """Turn anything ``numpy.random.default_rng`` accepts into a ``SeedSequence``.

    A ``Generator`` or ``BitGenerator`` contributes fresh entropy drawn from it
    (so the caller's generator advances, as with any random call); ``None``
    gives OS entropy.

    Examples
    --------
    >>> a = as_seed_sequence(42).generate_state(1)
    >>> b = as_seed_sequence(42).generate_state(1)
    >>> bool((a == b).all())
    True
    """
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence(rng.integers(0, 2**63, size=4, dtype=np.int64).tolist())
    if isinstance(rng, np.random.BitGenerator):
        return as_seed_sequence(np.random.Generator(rng))
    if rng is None or isinstance(rng, (int, np.integer)) or (
        isinstance(rng, (list, tuple, np.ndarray))
    ):
        if isinstance(rng, (bool, np.bool_)):
            raise TypeError("rng must be None, an int seed, a SeedSequence or a Generator, got bool")
        if isinstance(rng, (int, np.integer)) and rng < 0:
            raise ValueError(f"rng must be a non-negative seed, got {rng}")
        return np.random.SeedSequence(rng)
    raise TypeError(
        "rng must be None, an int seed, a SeedSequence, a BitGenerator or a Generator, "
        f"got {type(rng).__name__}"
    )


@dataclass(frozen=True)
class BlockPlan:
    """How ``n_paths`` paths are split into seeded blocks and chunks."""

    seeds: tuple  # one SeedSequence per block
    sizes: tuple  # paths in each block
    chunks: tuple  # (first_block, stop_block) per chunk

    @property
    def n_paths(self) -> int:
        return int(sum(self.sizes))


def plan_blocks(rng, n_paths, *, block_size=DEFAULT_BLOCK_SIZE, chunk_size=None) -> BlockPlan:
    """Split ``n_paths`` into seeded blocks and group the blocks into chunks.

    Parameters
    ----------
    rng : seed-like
        Anything ``numpy.random.default_rng`` accepts.
    n_paths : int
        Number of sample paths, >= 1.
    block_size : int
        Paths per seeded block. Results depend on it (it fixes which numbers
        each path draws), so keep it fixed when comparing runs.
    chunk_size : int, optional
        Paths per chunk of work, rounded up to whole blocks. Results do not
        depend on it. Default: about 16 blocks.

    Returns
    -------
    BlockPlan

    Examples
    --------
    >>> plan = plan_blocks(0, 2500, block_size=1000, chunk_size=2000)
    >>> plan.sizes, plan.chunks
    ((1000, 1000, 500), ((0, 2), (2, 3)))
    """
    n_paths = positive_int(n_paths, "n_paths")
    block_size = positive_int(block_size, "block_size")
    if chunk_size is None:
        chunk_size = 16 * block_size
    chunk_size = positive_int(chunk_size, "chunk_size")
    n_blocks = -(-n_paths // block_size)
    seeds = tuple(as_seed_sequence(rng).spawn(n_blocks))
    sizes = tuple([block_size] * (n_blocks - 1) + [n_paths - block_size * (n_blocks - 1)])
    per_chunk = max(1, -(-chunk_size // block_size))
    chunks = tuple((b, min(b + per_chunk, n_blocks)) for b in range(0, n_blocks, per_chunk))
    return BlockPlan(seeds, sizes, chunks)


class PathRandom:
    """Random numbers for a chunk of paths, drawn block by block.

    Each method takes a ``size`` whose first entry is the number of paths in
    the chunk and returns an array of that shape; rows belonging to block
    ``b`` come from block ``b``'s generator only.

    Parameters
    ----------
    seeds : sequence of SeedSequence
        One per block.
    sizes : sequence of int
        Paths per block.

    Examples
    --------
    >>> plan = plan_blocks(1, 6, block_size=3)
    >>> r = PathRandom(plan.seeds, plan.sizes)
    >>> r.standard_normal((6, 2)).shape
    (6, 2)
    """

    def __init__(self, seeds, sizes):
        self.generators = [np.random.default_rng(s) for s in seeds]
        self.sizes = [int(s) for s in sizes]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.n_paths = int(self.offsets[-1])

    @classmethod
    def from_rng(cls, rng, n_paths, *, block_size=DEFAULT_BLOCK_SIZE) -> "PathRandom":
        """All blocks of a fresh plan in one chunk (for small runs)."""
        plan = plan_blocks(rng, n_paths, block_size=block_size)
        return cls(plan.seeds, plan.sizes)

    def _size(self, size):
        size = (size,) if np.isscalar(size) else tuple(size)
        if not size or size[0] != self.n_paths:
            raise ValueError(
                f"size must start with the number of paths {self.n_paths}, got {size}"
            )
        return size

    def _fill(self, size, draw, dtype=float):
        size = self._size(size)
        out = np.empty(size, dtype=dtype)
        for g, a, b in zip(self.generators, self.offsets[:-1], self.offsets[1:]):
            out[a:b] = draw(g, (b - a,) + size[1:])
        return out

    def standard_normal(self, size):
        """Standard normal numbers of shape ``size``."""
        size = self._size(size)
        out = np.empty(size)
        for g, a, b in zip(self.generators, self.offsets[:-1], self.offsets[1:]):
            g.standard_normal(out=out[a:b])
        return out

    def random(self, size):
        """Uniform numbers on [0, 1) of shape ``size``."""
        size = self._size(size)
        out = np.empty(size)
        for g, a, b in zip(self.generators, self.offsets[:-1], self.offsets[1:]):
            g.random(out=out[a:b])
        return out

    def integers(self, low, high=None, size=None):
        """Integers in ``[low, high)`` (or ``[0, low)``) of shape ``size``."""
        return self._fill(size, lambda g, s: g.integers(low, high, size=s), dtype=np.int64)

    def choice(self, a, size=None, p=None):
        """Draws from the values ``a`` with probabilities ``p``."""
        return self._fill(size, lambda g, s: g.choice(a, size=s, p=p), dtype=np.asarray(a).dtype)


def as_path_random(rng, n_paths, *, block_size=DEFAULT_BLOCK_SIZE) -> PathRandom:
    """Return ``rng`` if it is a :class:`PathRandom`, else a fresh one for ``n_paths``."""
    if isinstance(rng, PathRandom):
        if rng.n_paths != n_paths:
            raise ValueError(f"rng covers {rng.n_paths} paths, but n_paths is {n_paths}")
        return rng
    return PathRandom.from_rng(rng, n_paths, block_size=block_size)
