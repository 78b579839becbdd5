"""Input checks shared by the public functions.

Every check raises ``TypeError`` or ``ValueError`` with a message that names the
argument and says what was expected, so that bad input never becomes a silent NaN.
"""

from __future__ import annotations

import numbers

import numpy as np


class DivergenceError(ValueError):
    """Raised when an iteration or an SDE solve leaves every bounded set.

    It subclasses ``ValueError`` because the usual cause is a bad argument
    (a learning rate or a step size too large for the problem).
    """


def positive_float(value, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a finite positive float, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return value


def positive_int(value, name: str, *, allow_zero: bool = False) -> int:
    """Return ``value`` as a positive int, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else ">= 1"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return value


def finite_array(value, name: str, *, shape=None, ndim=None, dtype=float) -> np.ndarray:
    """Return ``value`` as a finite float array, checking its shape.

    ``shape`` may contain ``None`` for a free axis.
    """
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be array-like of numbers: {exc}") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if shape is not None:
        ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
        if not ok:
            want = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values")
    return arr


def state_vector(x0, dim: int, name: str = "x0") -> np.ndarray:
    """A starting point of length ``dim`` (a scalar is accepted when ``dim == 1``)."""
    arr = finite_array(x0, name)
    if arr.ndim == 0 and dim == 1:
        arr = arr.reshape(1)
    if arr.shape != (dim,):
        raise ValueError(f"{name} must have shape ({dim},), got {arr.shape}")
    return arr


def one_of(value, name: str, options) -> str:
    """Check that ``value`` is one of ``options`` (strings)."""
    if value not in options:
        raise ValueError(f"{name} must be one of {sorted(options)!r}, got {value!r}")
    return value


def steps_in_horizon(T: float, step: float) -> int:
    """The number of steps of size ``step`` that make up the horizon ``T`` exactly.

    Raises
    ------
    ValueError
        If ``T`` is not a whole (positive) number of steps, to relative 1e-9.

    Examples
    --------
    >>> steps_in_horizon(1.0, 0.125)
    8
    """
    n = int(round(T / step))
    if n < 1 or abs(n * step - T) > 1e-9 * T:
        raise ValueError(f"T = {T:g} must be a whole number of steps (a multiple of the step "
                         f"size {step:g})")
    return n


def check_finite_state(x: np.ndarray, step, what: str, *, bound: float = 1e100) -> None:
    """Raise :class:`~smecore.DivergenceError` if any entry of ``x`` is non-finite or huge."""
    if not np.all(np.isfinite(x)) or np.max(np.abs(x), initial=0.0) > bound:
        raise DivergenceError(
            f"{what} diverged at step {step}: the state left |x| <= {bound:g}. "
            "The learning rate (or step size) is too large for this problem; "
            "for a quadratic it must satisfy lr * lambda_max < 2."
        )


def generator(rng, name: str = "rng") -> np.random.Generator:
    """``numpy.random.default_rng(rng)``, with errors that name the argument.

    Accepts what ``default_rng`` accepts (None, a non-negative int or a sequence of them, a
    ``SeedSequence``, a ``BitGenerator``, a ``Generator``); a Generator is returned as is.

    Examples
    --------
    >>> float(generator(0).standard_normal()) == float(np.random.default_rng(0).standard_normal())
    True
    >>> generator(-1)
    Traceback (most recent call last):
    ...
    ValueError: rng must be a non-negative integer seed (or a sequence of them), got -1
    """
    if isinstance(rng, (bool, np.bool_)):
        raise TypeError(f"{name} must be None, a seed, a SeedSequence, a BitGenerator or a "
                        "Generator, got bool")
    if isinstance(rng, (np.random.Generator, np.random.BitGenerator, np.random.SeedSequence)) \
            or rng is None:
        return np.random.default_rng(rng)
    if isinstance(rng, (numbers.Integral, list, tuple, np.ndarray)):
        try:
            return np.random.default_rng(rng)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{name} must be a non-negative integer seed (or a sequence of them), "
                             f"got {rng!r}") from None
    raise TypeError(f"{name} must be None, a seed, a SeedSequence, a BitGenerator or a "
                    f"Generator, got {type(rng).__name__}")


def symmetric_matrix(value, name: str, *, rtol: float = 1e-12) -> np.ndarray:
    """A finite square matrix that is symmetric to ``rtol`` of its largest entry, symmetrised.

    The tolerance is relative to the matrix's scale (an exact zero next to 1e-17 is
    rounding, not asymmetry).

    Examples
    --------
    >>> float(symmetric_matrix([[1.0, 1e-17], [0.0, 2.0]], "H")[0, 1])
    5e-18
    >>> symmetric_matrix([[1.0, 0.1], [0.0, 2.0]], "H")
    Traceback (most recent call last):
    ...
    ValueError: H must be symmetric: max |H - H^T| = 0.1 exceeds 1e-12 * max |H| = 2e-12
    """
    arr = finite_array(value, name)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square matrix, got shape {arr.shape}")
    scale = float(np.max(np.abs(arr), initial=0.0))
    gap = float(np.max(np.abs(arr - arr.T), initial=0.0))
    if gap > rtol * scale:
        raise ValueError(f"{name} must be symmetric: max |{name} - {name}^T| = {gap:.3g} exceeds "
                         f"{rtol:g} * max |{name}| = {rtol * scale:.3g}")
    return 0.5 * (arr + arr.T)
