"""Deterministic expectations E g(x_k) and E g(X_t) in one dimension (no Monte Carlo).

Two backward equations (the book's deterministic route to weak errors; SGD chapter), solved on a grid in x:

* SGD with finitely many component functions (a finite-sum problem): the
  function w_j(x) = E[g(x_j) | x_0 = x] obeys, forward in j,
  ``w_{j+1}(x) = sum_i p_i w_j(x - lr f_i'(x))``, ``w_0 = g``.
  On a grid with an interpolation rule the right-hand side is a fixed linear
  map of the nodal values (the maps x -> x - lr f_i'(x) do not depend on j), so
  the whole recursion is repeated multiplication by one precomputed matrix.
* A time-homogeneous 1-D SDE dX = b(X) dt + sigma(X) dW: the function
  w(s, x) = E[g(X_s) | X_0 = x] solves the Kolmogorov backward equation
  ``dw/ds = b w' + 1/2 sigma^2 w''``, ``w(0, .) = g``. It is discretised by
  Chebyshev collocation in x and integrated exactly in s with a matrix
  exponential.

One solve gives the expectation at every recorded step (or time) and from
every start point in the domain: :meth:`BackwardSolution.at` interpolates.

The only approximations are the interpolation in x and, for the SDE, the
truncation of the real line to the domain (see ``boundary`` in
:func:`sde_expectations`); both are controlled by ``n_grid`` and ``domain``,
and a self-convergence check (double ``n_grid``) measures the first.

Why this module is long: the two backward equations share the Chebyshev grid,
the interpolation matrices and the domain and test-function validation; split,
each half would import the other's private helpers.
"""

from __future__ import annotations

import itertools
import math
import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from scipy.interpolate import make_interp_spline

from .._validation import (
    DivergenceError,
    finite_array,
    one_of,
    positive_float,
    positive_int,
)
from ..estimation.observables import record_steps
from ..sme.sde import SDE

__all__ = ["BackwardSolution", "sgd_expectations", "sde_expectations", "chebyshev_grid"]


#: Largest number of mini-batch compositions enumerated for batch sizes B > 1.
MAX_BATCH_COMPOSITIONS = 20_000


#: Largest polynomial degree of g handled by the exact polynomial-space solve.
MAX_EXACT_POLY_DEGREE = 8


_SPLINE_DEGREE = 5


# --------------------------------------------------------------------------
# grids and interpolation
# --------------------------------------------------------------------------
def chebyshev_grid(domain, n_grid) -> np.ndarray:
    """Chebyshev–Lobatto points on ``domain = (a, b)``, ascending.

    Parameters
    ----------
    domain : (float, float)
        The interval [a, b], a < b.
    n_grid : int
        Number of points, >= 2 (the interpolant has degree ``n_grid - 1``).

    Returns
    -------
    ndarray, shape (n_grid,)

    Examples
    --------
    >>> chebyshev_grid((-1.0, 1.0), 3)
    array([-1.,  0.,  1.])
    """
    a, b = _domain(domain)
    n = positive_int(n_grid, "n_grid")
    if n < 2:
        raise ValueError(f"n_grid must be >= 2, got {n}")
    # sin form of cos(pi j / (n-1)): exact symmetry and an exact 0 at the midpoint.
    j = np.arange(n)
    unit = np.sin(np.pi * (2 * j - (n - 1)) / (2 * (n - 1)))
    return 0.5 * (a + b) + 0.5 * (b - a) * unit


def _chebyshev_weights(n: int) -> np.ndarray:
    w = (-1.0) ** np.arange(n)
    w[0] *= 0.5
    w[-1] *= 0.5
    return w


def _barycentric_matrix(nodes: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Matrix E with (E v)_r = p(points_r), p the Chebyshev interpolant of v at nodes."""
    weights = _chebyshev_weights(nodes.size)
    diff = points[:, None] - nodes[None, :]
    exact = diff == 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = weights / diff
        matrix = terms / terms.sum(axis=1, keepdims=True)
    hit = exact.any(axis=1)
    matrix[hit] = exact[hit].astype(float)
    return matrix


def _spline_matrix(nodes: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Matrix of the quintic not-a-knot spline interpolant evaluated at points."""
    spline = make_interp_spline(nodes, np.eye(nodes.size), k=_SPLINE_DEGREE)
    return spline(points)


def _interpolation_matrix(kind: str, nodes: np.ndarray, points: np.ndarray) -> np.ndarray:
    if kind == "chebyshev":
        return _barycentric_matrix(nodes, points)
    return _spline_matrix(nodes, points)


def _chebyshev_diff_matrix(nodes: np.ndarray) -> np.ndarray:
    """First-derivative matrix at Chebyshev–Lobatto nodes (any interval, ascending)."""
    n = nodes.size
    c = np.ones(n)
    c[0] = c[-1] = 2.0
    c *= (-1.0) ** np.arange(n)
    dx = nodes[:, None] - nodes[None, :]
    D = np.outer(c, 1.0 / c) / (dx + np.eye(n))
    # Diagonal by the negative-sum trick: rows annihilate constants exactly.
    D -= np.diag(D.sum(axis=1))
    return D


def _chebyshev_degree(values: np.ndarray, rel_tol: float = 1e-11) -> int:
    """Degree of the Chebyshev interpolant of nodal values (trailing zeros dropped)."""
    n = values.size
    unit = np.sin(np.pi * (2 * np.arange(n) - (n - 1)) / (2 * (n - 1)))
    coef = np.polynomial.chebyshev.chebfit(unit, values, n - 1)
    scale = np.max(np.abs(coef))
    if scale == 0.0:
        return 0
    big = np.nonzero(np.abs(coef) > rel_tol * scale)[0]
    return int(big[-1])


# --------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class BackwardSolution:
    """Expectations w(t, x) = E[g(state at t) | state at 0 = x] on a grid.

    Attributes
    ----------
    times : ndarray, shape (n_rec,)
        Recorded times (``k * lr`` for SGD).
    steps : ndarray or None
        Recorded iteration counts (SGD), or the indices of ``times`` on a
        uniform time grid for an SDE solved with ``n_steps``; otherwise None.
    grid : ndarray, shape (n_grid,)
        Start points (interpolation nodes), ascending.
    values : ndarray, shape (n_rec, n_grid)
        ``values[r, j]`` = E[g at ``times[r]`` | start ``grid[j]``].
    domain : tuple of float
        The interval [a, b] spanned by ``grid``.
    interpolation : str
        ``"chebyshev"`` (barycentric, degree n_grid - 1) or ``"spline"``
        (quintic not-a-knot spline); :meth:`at` uses the same rule.
    """

    times: np.ndarray
    steps: np.ndarray | None
    grid: np.ndarray
    values: np.ndarray
    domain: tuple
    interpolation: str

    @property
    def n_grid(self) -> int:
        return self.grid.size

    def at(self, x0) -> np.ndarray:
        """E g at every recorded time from start point(s) ``x0``.

        Parameters
        ----------
        x0 : float, array of shape (1,), or array of shape (n, 1)
            A start point (a scalar or a point of dimension 1), or a batch
            of n start points. Must lie in ``domain``.

        Returns
        -------
        ndarray
            Shape (n_rec,) for one start point, (n_rec, n) for a batch.

        Raises
        ------
        ValueError
            If a start point lies outside ``domain`` (no extrapolation).
        """
        x = finite_array(x0, "x0")
        single = x.ndim == 0 or x.shape == (1,)
        if not single and (x.ndim != 2 or x.shape[1] != 1):
            raise ValueError(f"x0 must be a scalar, shape (1,) or shape (n, 1), got {x.shape}")
        points = x.reshape(-1)
        a, b = self.domain
        slack = 1e-12 * (b - a)
        if np.any(points < a - slack) or np.any(points > b + slack):
            raise ValueError(
                f"x0 must lie in the domain [{a:g}, {b:g}] of the solution; "
                "solve again with a wider domain"
            )
        points = np.clip(points, a, b)
        out = self.values @ _interpolation_matrix(self.interpolation, self.grid, points).T
        return out[:, 0] if single else out


# --------------------------------------------------------------------------
# shared validation
# --------------------------------------------------------------------------
def _domain(domain) -> tuple:
    if domain is None or isinstance(domain, (str, bytes)):
        raise TypeError("domain must be a pair of numbers (a, b)")
    try:
        a, b = domain
    except (TypeError, ValueError):
        raise TypeError(f"domain must be a pair of numbers (a, b), got {domain!r}") from None
    for v in (a, b):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"domain must be a pair of real numbers, got {domain!r}")
    a, b = float(a), float(b)
    if not (np.isfinite(a) and np.isfinite(b)) or not a < b:
        raise ValueError(f"domain must be a finite interval (a, b) with a < b, got ({a}, {b})")
    return a, b


def _grid_size(n_grid, minimum: int) -> int:
    n = positive_int(n_grid, "n_grid")
    if n < minimum:
        raise ValueError(f"n_grid must be >= {minimum}, got {n}")
    return n


def _test_function_values(g, grid: np.ndarray) -> np.ndarray:
    """g at the grid points, as states of shape (n, 1); one finite value per point."""
    if not callable(g):
        raise TypeError(f"g must be a callable g(x) on states of shape (n, 1), got {type(g).__name__}")
    values = np.asarray(g(grid[:, None]), dtype=float)
    if values.shape == (grid.size, 1):
        values = values[:, 0]
    if values.shape != (grid.size,):
        raise ValueError(
            f"g must return one scalar per state: shape ({grid.size},) for states of shape "
            f"({grid.size}, 1), got {values.shape}"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError("g returned non-finite values on the grid")
    return values


def _check_values(values: np.ndarray, where) -> None:
    if not np.all(np.isfinite(values)) or np.max(np.abs(values), initial=0.0) > 1e100:
        raise DivergenceError(
            f"the backward solution blew up at {where}; the grid or domain does not resolve "
            "this problem (try a wider domain, a different n_grid, or a smaller step)"
        )


# --------------------------------------------------------------------------
# SGD
# --------------------------------------------------------------------------
def _finite_sum_problem(problem):
    if not (hasattr(problem, "probs") and hasattr(problem, "component_grads")):
        raise TypeError(
            "sgd_expectations needs a finite-sum 1-D problem exposing probs (m,) and "
            f"component_grads(x) -> (..., m, 1); {type(problem).__name__} has no "
            "component_grads/probs"
        )
    if getattr(problem, "dim", 1) != 1:
        raise ValueError(f"problem must be one-dimensional (dim == 1), got dim={problem.dim}")
    probs = finite_array(problem.probs, "problem.probs", ndim=1)
    if np.any(probs < 0) or not np.isclose(probs.sum(), 1.0, rtol=0, atol=1e-12):
        raise ValueError("problem.probs must be non-negative and sum to 1")
    return probs


def _batch_gradient_law(problem, probs: np.ndarray, grid: np.ndarray):
    """Mini-batch gradients at the grid, one row per batch composition, and their probabilities.

    A batch of B indices drawn with replacement is summarised by its counts
    (n_1..n_m), which have the multinomial law; the batch gradient is
    sum_i n_i f_i'(x) / B.
    """
    grads = np.asarray(problem.component_grads(grid[:, None]), dtype=float)
    m = probs.size
    if grads.shape != (grid.size, m, 1):
        raise ValueError(
            f"problem.component_grads(x) must return shape (n, {m}, 1) for x of shape (n, 1), "
            f"got {grads.shape}"
        )
    grads = grads[:, :, 0].T  # (m, n_grid)
    batch = positive_int(getattr(problem, "batch_size", 1), "problem.batch_size")
    if batch == 1:
        return grads, probs
    n_comp = math.comb(m + batch - 1, batch)
    if n_comp > MAX_BATCH_COMPOSITIONS:
        raise ValueError(
            f"problem.batch_size={batch} with {m} components gives {n_comp} batch compositions, "
            f"more than {MAX_BATCH_COMPOSITIONS} that can be enumerated; use Monte Carlo instead"
        )
    rows, weights = [], []
    for combo in itertools.combinations_with_replacement(range(m), batch):
        counts = np.bincount(combo, minlength=m)
        used = counts > 0
        if np.any(probs[used] == 0):
            continue
        log_weight = math.lgamma(batch + 1) + sum(
            c * math.log(q) - math.lgamma(c + 1) for c, q in zip(counts[used], probs[used])
        )
        rows.append(counts @ grads / batch)
        weights.append(math.exp(log_weight))
    return np.array(rows), np.array(weights)


def _check_images(images: np.ndarray, domain: tuple, n_grid: int, outside: str) -> np.ndarray:
    """Keep the SGD images of the grid inside the domain (or refuse).

    An interpolant of degree n-1 evaluated a relative distance delta outside
    its interval amplifies errors by about ``|T_{n-1}(1 + delta)|``; allowing
    delta <= 1 / n^2 keeps that factor below cosh(sqrt(2)) ~ 2.2.
    """
    a, b = domain
    slack = 0.5 * (b - a) / n_grid**2
    low, high = images.min(), images.max()
    if outside == "clamp":
        return np.clip(images, a, b)
    if low < a - slack or high > b + slack:
        raise ValueError(
            f"the SGD step maps grid points to [{low:.4g}, {high:.4g}], outside the domain "
            f"[{a:g}, {b:g}]; interpolating there would be extrapolation. Choose a domain the "
            "maps x -> x - lr f_i'(x) send into itself (wider, or narrower for steep "
            "gradients), a smaller lr, or outside='clamp'"
        )
    # Within the slack, evaluate the interpolant as is: clipping would break exactness on polynomials.
    return images


def _invariant_domain(grads_fn, lr: float, n_grid: int) -> tuple:
    """The smallest [-2^k, 2^k], k = 0..10, that the SGD maps send into itself."""
    for k in range(11):
        domain = (-(2.0**k), 2.0**k)
        grid = chebyshev_grid(domain, n_grid)
        images = grid[None, :] - lr * grads_fn(grid)
        if images.min() >= domain[0] and images.max() <= domain[1]:
            return domain
    raise ValueError(
        "domain=None: no interval [-2^k, 2^k] (k <= 10) is mapped into itself by the SGD step; "
        "pass domain=(a, b) explicitly"
    )


def sgd_expectations(
    problem,
    lr,
    g,
    n_steps,
    *,
    grid="chebyshev",
    domain=None,
    n_grid=64,
    record=None,
    outside="raise",
) -> BackwardSolution:
    """E g(x_k) for SGD on a 1-D finite-sum problem, by the backward recursion.

    With w_j(x) = E[g(x_j) | x_0 = x], one SGD step gives
    ``w_{j+1}(x) = E_B w_j(x - lr * (mean of the batch's f_i'(x)))``; for batch
    size 1 this is ``sum_i p_i w_j(x - lr f_i'(x))``. The recursion runs
    forward in j on a grid, so one sweep yields E g(x_k) for every k <= n_steps
    and every start point in the domain. Mini-batches of size B > 1 (sampling
    with replacement) are handled exactly by enumerating the multinomial law
    of the batch counts.

    Parameters
    ----------
    problem : finite-sum objective
        One-dimensional, exposing ``probs`` (m,) and ``component_grads(x)``
        (shape (..., m, 1)); ``batch_size`` is honoured.
    lr : float
        Learning rate, > 0.
    g : callable
        Test function on states of shape (n, 1), returning shape (n,)
        (or (n, 1)).
    n_steps : int
        Number of SGD steps, >= 0.
    grid : {"chebyshev", "spline"}
        Interpolation rule: barycentric Chebyshev interpolation of degree
        ``n_grid - 1`` (spectral accuracy for smooth w; exact for polynomials
        of degree < n_grid) or a quintic spline on a uniform grid (exact for
        polynomials of degree <= 5, error O(h^6)).
    domain : (float, float), optional
        The interval of start points. The SGD maps x -> x - lr f_i'(x) must
        send it into itself (otherwise ``outside`` decides). None picks the
        smallest [-2^k, 2^k] (k = 0..10) that they do.
    n_grid : int, default 64
        Number of grid points (>= 4 for Chebyshev, >= 6 for the spline).
    record : sequence of int, optional
        Steps at which to keep w; default every step 0..n_steps.
    outside : {"raise", "clamp"}
        What to do when a step maps a grid point outside the domain by more
        than (b - a) / (2 n_grid^2): raise a ValueError (default), or clamp
        the image to the nearest end point (as if the boundary absorbed it;
        accurate only if such points carry negligible probability).

    Returns
    -------
    BackwardSolution
        ``times = steps * lr``; ``.at(x0)`` gives E g(x_k) at every recorded k.

    Raises
    ------
    TypeError
        If ``problem`` is not a finite-sum problem or ``g`` is not callable.
    ValueError
        For invalid arguments, a domain the SGD step leaves, or an
        unenumerably large batch.
    smecore.DivergenceError
        If the recursion blows up.

    References
    ----------
    Q. Li, C. Tai, W. E, *Stochastic modified equations and dynamics of
    stochastic gradient algorithms I: mathematical foundations*, JMLR 20(40),
    2019 (weak approximation of order alpha: max_k ``|E g(x_k) - E g(X_{k lr})|``
    = O(lr^alpha), the quantity these expectations measure without Monte Carlo).

    Examples
    --------
    Linear regression f_i(x) = (a_i x - y_i)^2 / 2 with three data points:

    >>> import numpy as np
    >>> class Regression1D:
    ...     dim, batch_size = 1, 1
    ...     a, y = np.array([1.0, 2.0, 0.5]), np.array([1.0, -1.0, 2.0])
    ...     probs = np.full(3, 1 / 3)
    ...     def component_grads(self, x):
    ...         return (self.a * (self.a * x - self.y))[..., None]
    >>> sol = sgd_expectations(Regression1D(), 0.1, lambda x: x[:, 0], 50, domain=(-5, 5))
    >>> mean = sol.at(1.5)                      # E x_k for k = 0..50, from x_0 = 1.5
    >>> mean.shape, round(float(mean[1]), 10)   # one step: 1.5 - 0.1 * mean_i f_i'(1.5)
    ((51,), 1.2375)
    """
    probs = _finite_sum_problem(problem)
    lr = positive_float(lr, "lr")
    if not callable(g):
        raise TypeError(f"g must be a callable g(x) on states of shape (n, 1), got {type(g).__name__}")
    n_steps = positive_int(n_steps, "n_steps", allow_zero=True)
    kind = one_of(grid, "grid", ("chebyshev", "spline"))
    n_grid = _grid_size(n_grid, 4 if kind == "chebyshev" else _SPLINE_DEGREE + 1)
    outside = one_of(outside, "outside", ("raise", "clamp"))
    steps = record_steps(record, n_steps)

    if domain is None:

        def _all_grads(x):
            grads, _ = _batch_gradient_law(problem, probs, x)
            return grads

        domain = _invariant_domain(_all_grads, lr, n_grid)
    domain = _domain(domain)
    nodes = chebyshev_grid(domain, n_grid) if kind == "chebyshev" else np.linspace(*domain, n_grid)

    grads, weights = _batch_gradient_law(problem, probs, nodes)
    images = _check_images(nodes[None, :] - lr * grads, domain, n_grid, outside)
    transfer = np.zeros((n_grid, n_grid))
    for weight, image in zip(weights, images):
        transfer += weight * _interpolation_matrix(kind, nodes, image)

    w = _test_function_values(g, nodes)
    values = np.empty((steps.size, n_grid))
    recorded = 0
    for step in range(n_steps + 1):
        if step > 0:
            w = transfer @ w
            _check_values(w, f"step {step}")
        if recorded < steps.size and steps[recorded] == step:
            values[recorded] = w
            recorded += 1
    return BackwardSolution(steps * lr, steps, nodes, values, domain, kind)


# --------------------------------------------------------------------------
# SDE
# --------------------------------------------------------------------------
def _drift_and_variance(sde_or_pair, T: float):
    """Vectorised b(x) and sigma^2(x) for x of shape (n,), from an SDE or a pair of callables."""
    if isinstance(sde_or_pair, SDE) or all(
        hasattr(sde_or_pair, name) for name in ("dim", "drift", "diffusion")
    ):
        sde = sde_or_pair
        if sde.dim != 1:
            raise ValueError(f"sde must be one-dimensional (dim == 1), got dim={sde.dim}")
        linear = getattr(sde, "linear", None)
        if linear is not None and not linear.time_homogeneous:
            raise ValueError("sde must be time homogeneous (its linear structure says it is not)")
        t0 = float(getattr(sde, "t0", 0.0))

        def drift(x):
            return np.asarray(sde.drift(t0, x[:, None]), dtype=float).reshape(x.size)

        def variance(x):
            sig = np.asarray(sde.diffusion(t0, x[:, None]), dtype=float).reshape(x.size, -1)
            return np.sum(sig**2, axis=1)

        def late(x):
            """b and sigma^2 at t0 + T, to check time homogeneity."""
            b = np.asarray(sde.drift(t0 + T, x[:, None]), dtype=float).reshape(x.size)
            sig = np.asarray(sde.diffusion(t0 + T, x[:, None]), dtype=float).reshape(x.size, -1)
            return b, np.sum(sig**2, axis=1)

        return drift, variance, late
    if isinstance(sde_or_pair, tuple) and len(sde_or_pair) == 2 and all(map(callable, sde_or_pair)):
        b, sigma = sde_or_pair

        def drift(x):
            return np.broadcast_to(np.asarray(b(x), dtype=float), x.shape).copy()

        def variance(x):
            return np.broadcast_to(np.asarray(sigma(x), dtype=float) ** 2, x.shape).copy()

        return drift, variance, None
    raise TypeError(
        "sde must be a smecore.sme.SDE of dimension 1 or a pair (drift, diffusion) of "
        f"callables of x with shape (n,), got {type(sde_or_pair).__name__}"
    )


def _record_times(T: float, n_steps, times):
    if n_steps is not None and times is not None:
        raise ValueError("give n_steps or times, not both")
    if times is not None:
        times = finite_array(times, "times", ndim=1)
        if times.size == 0 or np.any(np.diff(times) <= 0) or times[0] < 0 or times[-1] > T * (1 + 1e-12):
            raise ValueError(f"times must be strictly increasing and lie in [0, T] = [0, {T:g}]")
        return times, None
    if n_steps is None:
        return np.array([0.0, T]), None
    n_steps = positive_int(n_steps, "n_steps")
    return T * np.arange(n_steps + 1) / n_steps, np.arange(n_steps + 1)


def _is_polynomial_of_degree(values: np.ndarray, degree: int) -> bool:
    """Nodal values at Chebyshev points are those of a polynomial of degree <= ``degree``."""
    return _chebyshev_degree(values, rel_tol=1e-10) <= degree


def sde_expectations(
    sde,
    g,
    T,
    *,
    domain,
    n_steps=None,
    times=None,
    n_grid=96,
    boundary="auto",
) -> BackwardSolution:
    """E g(X_t) for a 1-D time-homogeneous SDE, from the Kolmogorov backward equation.

    ``w(s, x) = E[g(X_s) | X_0 = x]`` solves ``dw/ds = b(x) w' + 1/2 sigma(x)^2 w''``,
    ``w(0, x) = g(x)``. In x the equation is discretised by Chebyshev
    collocation on ``domain``; in s it is solved exactly,
    ``w(s) = expm(s L) g``, so the only errors are spatial (spectral in
    ``n_grid``) and the truncation of the line to the domain.

    Parameters
    ----------
    sde : smecore.sme.SDE or (callable, callable)
        A 1-D SDE, read at its start time ``t0`` (default 0) as
        ``b(x) = drift(t0, x)`` and ``sigma^2(x) = |diffusion(t0, x)|^2``; it must be
        time homogeneous (a linear structure saying otherwise, or a drift
        that differs at t0 + T, raises). Or a pair ``(b, sigma)`` of vectorised
        functions of x of shape (n,).
    g : callable
        Test function on states of shape (n, 1), returning (n,) or (n, 1).
    T : float
        Final time, > 0.
    domain : (float, float)
        The interval of start points [a, b]; it should hold the paths of
        interest with overwhelming probability.
    n_steps : int, optional
        Record at ``T * k / n_steps``, k = 0..n_steps (e.g. ``T = n_steps * lr``
        to compare with SGD step by step).
    times : array_like, optional
        Increasing record times in [0, T] (instead of ``n_steps``). With
        neither, the record times are 0 and T.
    n_grid : int, default 96
        Number of Chebyshev points (>= 4).
    boundary : {"auto", "none", "outflow", "dirichlet"}
        How the real line is truncated to [a, b].

        * ``"none"``: no boundary condition and no truncation error. Valid,
          and exact, when b is affine, sigma^2 quadratic and g a polynomial of
          degree p <= 8 (checked on the grid): the generator then maps
          polynomials of degree <= p to themselves, so w(s, .) is such a
          polynomial; it is solved on p + 1 Chebyshev nodes.
        * ``"outflow"``: the PDE at interior nodes, and dw/ds = b w' at the two
          end nodes, i.e. the diffusion switched off at a and b. With an
          inward drift at both ends this is the backward equation of a process
          that never leaves [a, b]; it differs from the true one only on
          paths that reach the ends, and needs no artificial boundary value
          (no boundary layer). Requires b(a) >= 0 >= b(b).
        * ``"dirichlet"``: w = g at both ends, the process stopped on leaving
          (a, b): w = E g(X_{s ^ tau}), off by at most P(tau <= s) osc g.
          It creates a boundary layer of width ~ sigma^2 / ``|b|`` that n_grid must
          resolve; use it when the drift points outward.
        * ``"auto"`` (default): ``"none"`` when exact, else ``"outflow"`` when
          the drift points inward at both ends, else ``"dirichlet"`` with a
          warning.

    Returns
    -------
    BackwardSolution
        ``.at(x0)`` gives E g(X_t) at every recorded time from x0.

    Raises
    ------
    TypeError
        If ``sde`` is neither an SDE nor a pair of callables, or ``g`` is not
        callable.
    ValueError
        For invalid arguments, a non-homogeneous SDE, negative diffusion,
        ``boundary="none"`` where it is not exact, or ``boundary="outflow"``
        with an outward drift.
    smecore.DivergenceError
        If the solution blows up.

    Warns
    -----
    UserWarning
        When the drift points outward at an end of the domain (the
        truncation is then doubtful; ``"auto"`` falls back to ``"dirichlet"``).

    References
    ----------
    Q. Li, C. Tai, W. E, *Stochastic modified equations and dynamics of
    stochastic gradient algorithms I: mathematical foundations*, JMLR 20(40),
    2019 (weak approximation of order alpha: max_k ``|E g(x_k) - E g(X_{k lr})|``
    = O(lr^alpha), the quantity these expectations measure without Monte Carlo).

    Examples
    --------
    Ornstein–Uhlenbeck dX = -X dt + 0.5 dW: E X_t^2 = x0^2 e^{-2t} + 0.125 (1 - e^{-2t}).

    >>> import numpy as np
    >>> ou = (lambda x: -x, lambda x: 0.5 + 0 * x)
    >>> sol = sde_expectations(ou, lambda x: x[:, 0] ** 2, 1.0, domain=(-4, 4), n_steps=4)
    >>> exact = 4 * np.exp(-2 * sol.times) + 0.125 * (1 - np.exp(-2 * sol.times))
    >>> bool(np.allclose(sol.at(2.0), exact, rtol=1e-12, atol=1e-12))
    True
    """
    if not callable(g):
        raise TypeError(f"g must be a callable g(x) on states of shape (n, 1), got {type(g).__name__}")
    T = positive_float(T, "T")
    domain = _domain(domain)
    n_grid = _grid_size(n_grid, 4)
    boundary = one_of(boundary, "boundary", ("auto", "none", "outflow", "dirichlet"))
    record, steps = _record_times(T, n_steps, times)
    drift, variance, late = _drift_and_variance(sde, T)

    nodes = chebyshev_grid(domain, n_grid)
    b = drift(nodes)
    s2 = variance(nodes)
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(s2))):
        raise ValueError("the drift or diffusion of sde is not finite on the domain")
    if late is not None:
        b_late, s2_late = late(nodes)
        if not (np.allclose(b_late, b, rtol=1e-12, atol=1e-14) and np.allclose(s2_late, s2, rtol=1e-12, atol=1e-14)):
            raise ValueError(
                "sde must be time homogeneous: its drift or diffusion at t0 + T differs from that at t0"
            )
    g_nodes = _test_function_values(g, nodes)

    degree = _chebyshev_degree(g_nodes)
    exact_possible = (
        _is_polynomial_of_degree(b, 1)
        and _is_polynomial_of_degree(s2, 2)
        and degree <= min(MAX_EXACT_POLY_DEGREE, n_grid - 1)
    )
    if boundary == "none" and not exact_possible:
        raise ValueError(
            "boundary='none' is exact only for an affine drift, a quadratic sigma^2 and a "
            f"polynomial g of degree <= {MAX_EXACT_POLY_DEGREE}; use boundary='outflow' or 'dirichlet'"
        )
    inward = b[0] >= 0 and b[-1] <= 0
    if boundary == "outflow" and not inward:
        raise ValueError(
            f"boundary='outflow' needs a drift pointing inward at both ends of the domain, got "
            f"b({domain[0]:g}) = {b[0]:.3g}, b({domain[1]:g}) = {b[-1]:.3g}; use boundary='dirichlet'"
        )
    if boundary == "auto":
        boundary = "none" if exact_possible else ("outflow" if inward else "dirichlet")
    if not inward and boundary != "none":
        warnings.warn(
            f"the drift points outward at an end of the domain {domain} (b(a) = {b[0]:.3g}, "
            f"b(b) = {b[-1]:.3g}); paths leave it and the stopped-process approximation "
            "(boundary='dirichlet') may be poor: widen the domain",
            stacklevel=2,
        )

    if boundary == "none":
        # w stays a polynomial of g's degree: solve on the smallest grid that holds it.
        small = chebyshev_grid(domain, max(degree + 1, 2))
        generator = _generator(small, drift(small), variance(small))
        small_values = _evolve(generator, _test_function_values(g, small), record)
        values = small_values @ _barycentric_matrix(small, nodes).T
    else:
        generator = _generator(nodes, b, s2)
        if boundary == "outflow":
            ends = [0, -1]
            generator[ends] = b[ends, None] * _chebyshev_diff_matrix(nodes)[ends]
        else:
            generator[[0, -1]] = 0.0  # the end values stay g(a), g(b)
        values = _evolve(generator, g_nodes, record)
    return BackwardSolution(record, steps, nodes, values, domain, "chebyshev")


def _generator(nodes: np.ndarray, b: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """Collocation matrix of L w = b w' + 1/2 sigma^2 w''."""
    if np.any(s2 < 0):
        raise ValueError("sigma^2 must be non-negative")
    D = _chebyshev_diff_matrix(nodes)
    return b[:, None] * D + 0.5 * s2[:, None] * (D @ D)


def _evolve(generator: np.ndarray, w0: np.ndarray, record: np.ndarray) -> np.ndarray:
    """w(s) = expm(s L) w0 at the record times; one exponential per distinct gap."""
    values = np.empty((record.size, w0.size))
    propagators = {}
    w, current = w0, 0.0
    for r, s in enumerate(record):
        gap = s - current
        if gap > 0:
            key = round(gap, 14)
            if key not in propagators:
                propagators[key] = scipy.linalg.expm(gap * generator)
            w = propagators[key] @ w
            _check_values(w, f"time {s:g}")
        values[r] = w
        current = s
    return values
