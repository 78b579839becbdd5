"""Random streams for blocks of sample paths.

A Monte Carlo run splits its ``n_paths`` paths into *blocks* of a fixed size
(``block_size``); block ``b`` draws all its random numbers from its own
generator, seeded by the ``b``-th child of ``SeedSequence.spawn``. Chunks (the
unit of work handed to a worker) are made of whole blocks, so the numbers a
path sees depend only on the seed and the block size, never on the chunk size
or on the number of workers.

:class:`PathRandom` draws arrays whose first axis runs over the paths of a
chunk, filling them block by block. It offers the sampling methods of
``numpy.random.Generator`` (``normal``, ``uniform``, ``choice``, ``poisson``,
``multivariate_normal``, ...; every method with a ``size``), so problem
samplers accept either a ``Generator`` or a ``PathRandom``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np

from .._validation import positive_int

__all__ = ["DEFAULT_BLOCK_SIZE", "as_seed_sequence", "BlockPlan", "plan_blocks", "PathRandom", "as_path_random"]


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

    Besides the methods below, every sampling method of
    ``numpy.random.Generator`` that takes ``size`` (``normal``, ``uniform``,
    ``exponential``, ``poisson``, ``binomial``, ``gamma``, ``beta``,
    ``multivariate_normal``, ``dirichlet``, ...) is available with the
    Generator's signature: ``size`` (required) must start with the number
    of paths, each block draws its rows with its own generator, and an array
    parameter with one row per path (``ndim == len(size)`` and first axis the
    number of paths, e.g. ``loc=x``) is split with the rows. So the numbers
    of a path never depend on the chunk size or the executor. Methods
    without a per-path ``size`` (``permutation``, ``permuted``, ``shuffle``,
    ``bytes``, ``spawn``) and ``choice(..., replace=False)`` (which couples
    rows) raise ``TypeError``; per-path permutations of m items are
    ``rng.random((n, m)).argsort(axis=1)``.

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
    >>> r.normal(loc=np.zeros((6, 1)), scale=2.0, size=(6, 3)).shape
    (6, 3)
    >>> r.permutation(6)
    Traceback (most recent call last):
        ...
    TypeError: PathRandom.permutation is not supported: it has no per-path size (use rng.random((n, m)).argsort(axis=1) for one permutation of m items per path)
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

    def __getattr__(self, name):
        # Only reached for names not defined here: delegate Generator methods block by block.
        if name.startswith("_"):
            raise AttributeError(name)
        method = getattr(np.random.Generator, name, None)
        if not callable(method):
            raise AttributeError(f"'PathRandom' object has no attribute {name!r}")
        try:
            signature = inspect.signature(method)
        except (TypeError, ValueError):  # pragma: no cover - numpy without text signatures
            signature = None
        if signature is None or "size" not in signature.parameters:
            raise TypeError(
                f"PathRandom.{name} is not supported: it has no per-path size (use "
                "rng.random((n, m)).argsort(axis=1) for one permutation of m items per path)"
            )
        return _BlockwiseMethod(self, name, signature)

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

    def integers_for_steps(self, low, high, size, n_steps):
        """The next ``n_steps`` calls ``integers(low, high, size)``, drawn at once.

        Returns an array of shape ``(n_steps, *size)`` whose ``[k]`` is what the
        k-th of ``n_steps`` successive calls would return: each block makes
        one call of shape ``(n_steps, rows, ...)``, and numpy's bounded
        integers consume the bit stream the same way whether drawn in one call
        or several (tested), so batching saves the per-call overhead only.

        Examples
        --------
        >>> plan = plan_blocks(5, 6, block_size=4)
        >>> ahead = PathRandom(plan.seeds, plan.sizes).integers_for_steps(0, 10, (6, 2), 3)
        >>> one = PathRandom(plan.seeds, plan.sizes)
        >>> bool(all((ahead[k] == one.integers(0, 10, (6, 2))).all() for k in range(3)))
        True
        """
        size = self._size(size)
        n_steps = positive_int(n_steps, "n_steps")
        out = np.empty((n_steps,) + size, dtype=np.int64)
        for g, a, b in zip(self.generators, self.offsets[:-1], self.offsets[1:]):
            out[:, a:b] = g.integers(low, high, size=(n_steps, b - a) + size[1:])
        return out

    def rademacher(self, size, scale=1.0, out=None):
        """Random signs ``+-scale`` (probability 1/2 each) of shape ``size``, from random bits.

        Each block draws ``ceil(count / 64)`` raw 64-bit words from its own
        generator (``count`` = the block's entries) and spends one bit per
        entry, least significant bit first, so the draw costs a fraction of a
        Gaussian one and still depends on the block alone, never on the chunk.
        The bits become floats through a 256 x 8 table: one lookup per byte.

        Parameters
        ----------
        size : int or tuple of int
            Shape, starting with the number of paths of the chunk.
        scale : float, default 1
            Magnitude of the signs (folded into the table: no extra pass).
        out : ndarray of float64, optional
            C-contiguous array of shape ``size`` to fill.

        Returns
        -------
        ndarray of float64

        Examples
        --------
        >>> plan = plan_blocks(0, 4, block_size=2)
        >>> signs = PathRandom(plan.seeds, plan.sizes).rademacher((4, 3), scale=0.5)
        >>> sorted(set(signs.ravel().tolist()))
        [-0.5, 0.5]
        """
        size = self._size(size)
        if out is None:
            out = np.empty(size)
        elif out.shape != size or out.dtype != np.float64 or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous float64 array of shape {size}")
        table = _sign_table(float(scale))
        per_path = int(np.prod(size[1:], dtype=np.int64))
        pieces = []
        for g, rows in zip(self.generators, self.sizes):
            count = rows * per_path
            # Little-endian bytes, so that the signs do not depend on the platform.
            words = g.bit_generator.random_raw(-(-count // 64)).astype("<u8", copy=False)
            pieces.append(words.view(np.uint8)[: -(-count // 8)])
        flat = out.reshape(-1)
        if all(rows * per_path % 8 == 0 for rows in self.sizes):
            # Every block fills whole bytes: one lookup for the whole chunk.
            np.take(table, np.concatenate(pieces), axis=0, out=flat.reshape(-1, 8), mode="wrap")
        else:
            for piece, a, b in zip(pieces, self.offsets[:-1], self.offsets[1:]):
                count = (b - a) * per_path
                flat[a * per_path : b * per_path] = np.take(table, piece, axis=0).reshape(-1)[:count]
        return out

    def tiles(self, max_paths):
        """Split the chunk into consecutive groups of whole blocks of at most ``max_paths`` paths.

        The tiles share this object's generators (nothing is re-seeded), so
        simulating tile after tile draws exactly the numbers one pass over
        the chunk would; a tile holds at least one block.

        Examples
        --------
        >>> plan = plan_blocks(0, 10, block_size=3)
        >>> [t.sizes for t in PathRandom(plan.seeds, plan.sizes).tiles(6)]
        [[3, 3], [3, 1]]
        """
        max_paths = positive_int(max_paths, "max_paths")
        start = 0
        while start < len(self.sizes):
            stop, total = start + 1, self.sizes[start]
            while stop < len(self.sizes) and total + self.sizes[stop] <= max_paths:
                total += self.sizes[stop]
                stop += 1
            yield self._subset(start, stop)
            start = stop

    def _subset(self, start, stop) -> "PathRandom":
        sub = object.__new__(PathRandom)
        sub.generators = self.generators[start:stop]
        sub.sizes = self.sizes[start:stop]
        sub.offsets = np.concatenate([[0], np.cumsum(sub.sizes)]).astype(int)
        sub.n_paths = int(sub.offsets[-1])
        return sub


#: Parameters never split by rows (populations, weights, means and covariances of one draw).
_WHOLE_PARAMETERS = frozenset({"a", "p", "mean", "cov", "pvals", "alpha", "colors"})


class _BlockwiseMethod:
    """A ``numpy.random.Generator`` method run block by block over the paths of a PathRandom."""

    def __init__(self, rand, name, signature):
        self.rand, self.name, self.signature = rand, name, signature

    def __call__(self, *args, **kwargs):
        name = self.name
        try:
            bound = self.signature.bind(None, *args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"PathRandom.{name}: {exc}") from None
        arguments = dict(bound.arguments)
        arguments.pop(next(iter(self.signature.parameters)))  # self
        if arguments.get("size") is None:
            raise TypeError(f"PathRandom.{name} needs size=(n_paths, ...) with n_paths = {self.rand.n_paths}")
        if arguments.get("out") is not None:
            raise TypeError(f"PathRandom.{name} does not support out=")
        if name == "choice" and not arguments.get("replace", True):
            raise TypeError("PathRandom.choice(replace=False) is not supported: it couples the rows; "
                            "use rng.random((n, m)).argsort(axis=1) for per-path draws without replacement")
        size = self.rand._size(arguments.pop("size"))
        n = self.rand.n_paths
        split = {}
        for key, value in arguments.items():
            if key in _WHOLE_PARAMETERS or np.isscalar(value) or value is None or isinstance(value, (str, type, np.dtype)):
                continue
            arr = np.asarray(value)
            if arr.ndim == len(size) and arr.ndim > 0 and arr.shape[0] == n:
                split[key] = arr
        pieces = []
        for g, a, b in zip(self.rand.generators, self.rand.offsets[:-1], self.rand.offsets[1:]):
            local = dict(arguments)
            for key, arr in split.items():
                local[key] = arr[a:b]
            pieces.append(getattr(g, name)(size=(b - a,) + size[1:], **local))
        return np.concatenate(pieces, axis=0)

    def __repr__(self) -> str:
        return f"<PathRandom.{self.name}, block by block>"


_SIGN_TABLES: dict = {}


def _sign_table(scale: float) -> np.ndarray:
    """(256, 8) table: row v holds +-scale for the bits of v, least significant first."""
    table = _SIGN_TABLES.get(scale)
    if table is None:
        bits = (np.arange(256)[:, None] >> np.arange(8)) & 1
        table = np.where(bits == 1, scale, -scale).astype(float)
        if len(_SIGN_TABLES) > 64:  # a few scales per run; keep the cache small
            _SIGN_TABLES.clear()
        _SIGN_TABLES[scale] = table
    return table


def as_path_random(rng, n_paths, *, block_size=DEFAULT_BLOCK_SIZE) -> PathRandom:
    """Return ``rng`` if it is a :class:`PathRandom`, else a fresh one for ``n_paths``."""
    if isinstance(rng, PathRandom):
        if rng.n_paths != n_paths:
            raise ValueError(f"rng covers {rng.n_paths} paths, but n_paths is {n_paths}")
        return rng
    return PathRandom.from_rng(rng, n_paths, block_size=block_size)
