"""Streaming (online) SGD in dimension N, many independent runs at once.

Three models share one compiled loop (:mod:`smecore.highdim._kernel`). Every step
draws a fresh sample: a data vector a ~ N(0, K) in R^N and a label.

* ``"lsq"`` -- online least squares, y = <a, x*> + xi, loss (<a, x> - y)^2 / 2.
* ``"neuron"`` -- a teacher-student single neuron, y = phi(<a, x*>) + xi,
  loss (phi(<a, x>) - y)^2 / 2, with phi(z) = erf(z / sqrt 2) or tanh(z).
* ``"adversarial"`` -- l2-adversarial least squares with budget epsilon,
  loss max_{``|delta|`` <= eps} (<a + delta, x> - y)^2 / 2 = (``|<a, x> - y|`` + eps ``|x|``)^2 / 2.

The step is lr = c / N. The runs are the real algorithm in R^N (the full iterate is
updated with the full data vector); what is kept are summary statistics at the
recorded steps: ``|x|^2``, the overlap <x, x*> and (x - x*)^T K (x - x*). The
covariance K is handled in its eigenbasis, which changes none of these.

Each run has its own random stream, seeded from ``rng``, so results do not depend
on threads or on how the time axis is chunked.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._validation import DivergenceError, finite_array, one_of, positive_float, positive_int
from ..estimation import MCEstimate
from . import _kernel

__all__ = ["StreamingRuns", "streaming_sgd", "critical_multiplier", "data_covariance"]

_MODELS = {"lsq": _kernel.LSQ, "neuron": _kernel.NEURON, "adversarial": _kernel.ADVERSARIAL}
_ACTIVATIONS = {"erf": 1, "tanh": 2}
#: |x|^2 above this counts as divergence
DIVERGENCE_BOUND = 1e12


def critical_multiplier(N):
    """The largest stable multiplier 2N / (N + 2) of online least squares, isotropic data.

    The exact mean recursion D_{k+1} = rho D_k + c^2 sigma^2 / N has
    rho = 1 - 2c/N + c^2 (N + 2)/N^2, and rho < 1 exactly when c < 2N/(N + 2),
    which tends to the critical value 2 of the limit ODE.

    Parameters
    ----------
    N : int or array_like
        Dimension(s), >= 1.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> critical_multiplier(1000)
    1.996007984031936
    """
    N = np.asarray(N, dtype=float)
    if np.any(N < 1):
        raise ValueError(f"N must be >= 1, got {N}")
    out = 2 * N / (N + 2)
    return float(out) if out.ndim == 0 else out


def data_covariance(cov, N):
    """Eigenvalues and eigenvectors of a data covariance, checked to be positive definite.

    Parameters
    ----------
    cov : None, array_like (N,) or (N, N)
        None: the identity. A vector: the eigenvalues of a diagonal covariance. A
        matrix: a symmetric positive-definite covariance.
    N : int
        Dimension.

    Returns
    -------
    lam : ndarray, shape (N,)
        Eigenvalues, > 0.
    basis : ndarray (N, N) or None
        Orthonormal eigenvectors (columns), or None for a diagonal covariance.

    Raises
    ------
    ValueError
        If ``cov`` has the wrong shape, is not symmetric or not positive definite.

    Examples
    --------
    >>> lam, basis = data_covariance([[2.0, 0.0], [0.0, 1.0]], 2)
    >>> lam.tolist(), basis is not None
    ([1.0, 2.0], True)
    """
    if cov is None:
        return np.ones(N), None
    arr = finite_array(cov, "cov")
    if arr.ndim == 1:
        if arr.shape != (N,):
            raise ValueError(f"cov must have shape ({N},) or ({N}, {N}), got {arr.shape}")
        if np.any(arr <= 0):
            raise ValueError("cov must be positive definite: its eigenvalues must be > 0")
        return arr.copy(), None
    if arr.shape != (N, N):
        raise ValueError(f"cov must have shape ({N},) or ({N}, {N}), got {arr.shape}")
    if not np.allclose(arr, arr.T, rtol=1e-12, atol=1e-12 * np.max(np.abs(arr))):
        raise ValueError("cov must be symmetric")
    lam, basis = np.linalg.eigh(arr)
    if np.any(lam <= 0):
        raise ValueError(f"cov must be positive definite: smallest eigenvalue {lam[0]:.3g}")
    return lam, basis


@dataclass(frozen=True)
class StreamingRuns:
    """Summary statistics of M independent runs of streaming SGD.

    Attributes
    ----------
    steps : ndarray, shape (R,)
        Recorded step numbers (0 is the start).
    sq_norm, overlap, risk_term : ndarray, shape (M, R)
        ``|x_k|^2``, <x_k, x*> and (x_k - x*)^T K (x_k - x*) per run and record.
    dim : int
        N.
    teacher_sq_norm : float
        ``|x*|^2.``
    noise_var : float
        Label-noise variance sigma^2.
    final : ndarray, shape (M, N)
        The iterates after the last step (in the original coordinates).
    """

    steps: np.ndarray
    sq_norm: np.ndarray
    overlap: np.ndarray
    risk_term: np.ndarray
    dim: int
    teacher_sq_norm: float
    noise_var: float
    final: np.ndarray

    @property
    def times(self) -> np.ndarray:
        """t = k / N."""
        return self.steps / self.dim

    @property
    def n_runs(self) -> int:
        return self.sq_norm.shape[0]

    @property
    def distance2(self) -> np.ndarray:
        """D = ``|x - x*|^2`` per run and record."""
        return self.sq_norm - 2 * self.overlap + self.teacher_sq_norm

    @property
    def perp2(self) -> np.ndarray:
        """r_perp^2 = ``|x|^2`` - <x, x*>^2 / ``|x*|^2``, the squared radius orthogonal to x*."""
        return self.sq_norm - self.overlap**2 / self.teacher_sq_norm

    @property
    def risk(self) -> np.ndarray:
        """Population least-squares risk (x - x*)^T K (x - x*) / 2 + sigma^2 / 2."""
        return 0.5 * (self.risk_term + self.noise_var)

    def mean(self, name) -> MCEstimate:
        """Mean over runs of a statistic, with its standard error.

        Parameters
        ----------
        name : str
            An attribute: ``"distance2"``, ``"perp2"``, ``"risk"``, ``"sq_norm"``,
            ``"overlap"`` or ``"risk_term"``.

        Returns
        -------
        MCEstimate
            Per record.
        """
        values = getattr(self, name)
        m = values.shape[0]
        if m > 1:
            stderr = values.std(axis=0, ddof=1) / np.sqrt(m)
        else:
            stderr = np.full(values.shape[1], np.inf)
        return MCEstimate(values.mean(axis=0), stderr, m)


def _seeds(rng, n_runs):
    gen = np.random.default_rng(rng)
    return gen.integers(0, 2**63, size=n_runs, dtype=np.int64).astype(np.uint64)


def streaming_sgd(model, N, c, n_steps, *, n_runs, x_star, x0=None, noise_var=0.0, cov=None,
                  epsilon=0.0, activation="erf", record_every=None, rng=None, progress=False):
    """Run M independent copies of streaming SGD with step c / N in R^N.

    Parameters
    ----------
    model : {"lsq", "neuron", "adversarial"}
        The loss (see the module docstring).
    N : int
        Dimension, >= 1.
    c : float
        Step multiplier, > 0; the learning rate is c / N.
    n_steps : int
        Number of steps, >= 1.
    n_runs : int
        Number of independent runs M, >= 1.
    x_star : array_like, shape (N,)
        The teacher (target) vector.
    x0 : array_like, shape (N,), optional
        Common starting point (default 0).
    noise_var : float, default 0
        Variance sigma^2 of the Gaussian label noise.
    cov : None, array_like (N,) or (N, N)
        Data covariance K (see :func:`data_covariance`); default the identity.
    epsilon : float, default 0
        Adversarial budget (``model="adversarial"`` only).
    activation : {"erf", "tanh"}
        phi for ``model="neuron"``: erf(z / sqrt 2) or tanh(z).
    record_every : int, optional
        Record the statistics every this many steps (default: about 200 records);
        ``n_steps`` must be a multiple of it.
    rng : seed-like
        Anything ``numpy.random.default_rng`` accepts.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    StreamingRuns

    Raises
    ------
    ValueError
        On bad sizes, shapes or options, a non-positive-definite ``cov``.
    DivergenceError
        If a run's ``|x|^2`` exceeds 1e12 (the step at which it did is named).

    Warns
    -----
    UserWarning
        For ``model="lsq"`` or ``"adversarial"`` with c >= 2N/(tr K + 2 lambda_max), which is
        2N/(N + 2) for K = I: the mean error of least squares grows.

    Examples
    --------
    >>> import numpy as np
    >>> runs = streaming_sgd("lsq", 50, 0.5, 100, n_runs=4, x_star=np.ones(50) / np.sqrt(50),
    ...                      noise_var=0.1, record_every=50, rng=0)
    >>> runs.distance2.shape, runs.steps.tolist()
    ((4, 3), [0, 50, 100])
    """
    one_of(model, "model", _MODELS)
    one_of(activation, "activation", _ACTIVATIONS)
    N = positive_int(N, "N")
    n_runs = positive_int(n_runs, "n_runs")
    n_steps = positive_int(n_steps, "n_steps")
    c = positive_float(c, "c")
    noise_var = positive_float(noise_var, "noise_var", allow_zero=True)
    epsilon = positive_float(epsilon, "epsilon", allow_zero=True)
    if epsilon > 0 and model != "adversarial":
        raise ValueError(f"epsilon is only used by model='adversarial', got epsilon={epsilon} "
                         f"with model={model!r}")
    x_star = finite_array(x_star, "x_star", shape=(N,))
    x0 = np.zeros(N) if x0 is None else finite_array(x0, "x0", shape=(N,))
    if record_every is None:
        record_every = max(1, n_steps // 200)
        while n_steps % record_every:
            record_every -= 1
    record_every = positive_int(record_every, "record_every")
    if n_steps % record_every:
        raise ValueError(f"n_steps ({n_steps}) must be a multiple of record_every ({record_every})")
    lam, basis = data_covariance(cov, N)
    if basis is not None:
        x_star, x0 = basis.T @ x_star, basis.T @ x0
    # 2N / (tr K + 2 lam_max): exactly the critical multiplier 2N/(N + 2) for K = I
    c_crit = 2 * N / (lam.sum() + 2 * lam.max())
    if model in ("lsq", "adversarial") and c >= c_crit:
        warnings.warn(f"c = {c:g} >= 2N/(tr K + 2 lambda_max) = {c_crit:.4g}: the mean squared "
                      "error of online least squares grows geometrically (the limit ODE's "
                      "critical value is c = 2 for K = I); the run stops with DivergenceError "
                      "if it leaves |x|^2 <= 1e12", UserWarning, stacklevel=2)

    n_rec = n_steps // record_every
    stats = np.empty((n_runs, n_rec + 1, _kernel.N_STATS))
    e0 = x0 - x_star
    stats[:, 0] = [x0 @ x0, x0 @ x_star, np.sum(lam * e0 * e0)]
    x = np.ascontiguousarray(np.broadcast_to(x0, (n_runs, N)))
    states = _seeds(rng, n_runs)
    diverged = np.zeros(n_runs, dtype=np.int64)
    sqrt_lam = np.sqrt(lam)
    # Chunks of whole records (about 20 for a progress bar); chunking does not change results.
    per_chunk = n_rec if not progress else max(1, n_rec // 20)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=n_steps, desc=f"streaming {model}, N={N}")
    done = 0
    while done < n_rec:
        todo = min(per_chunk, n_rec - done)
        chunk = np.empty((n_runs, todo, _kernel.N_STATS))
        _kernel.run_chunk(_MODELS[model], _ACTIVATIONS[activation], x, x_star, sqrt_lam, lam,
                          c / N, np.sqrt(noise_var), epsilon, todo * record_every, record_every,
                          states, chunk, diverged, DIVERGENCE_BOUND,
                          _kernel.KN, _kernel.WN, _kernel.FN)
        if np.any(diverged):
            step = done * record_every + int(np.min(diverged[diverged > 0]))
            if bar is not None:
                bar.close()
            raise DivergenceError(
                f"streaming SGD ({model}, N = {N}, c = {c:g}) diverged at step {step} "
                f"(t = {step / N:.3g}): |x|^2 left [0, {DIVERGENCE_BOUND:g}]. For least squares "
                "the step multiplier must satisfy c < 2N/(N + 2) < 2.")
        stats[:, 1 + done:1 + done + todo] = chunk
        done += todo
        if bar is not None:
            bar.update(todo * record_every)
    if bar is not None:
        bar.close()
    steps = np.arange(n_rec + 1) * record_every
    final = x if basis is None else x @ basis.T
    return StreamingRuns(steps, stats[..., 0], stats[..., 1], stats[..., 2], N,
                         float(x_star @ x_star), noise_var, final)


