"""Heavy-ball momentum in three normalisations, and its relaxation rates (momentum chapter).

The library's :class:`~smecore.algorithms.MomentumSGD` is the standard heavy ball

    v_{k+1} = mu v_k - lr g(x_k),   x_{k+1} = x_k + v_{k+1},   v_0 = 0.

This module adds the two other ways the same algorithm is usually written, so
that a chapter can check numerically that they are one algorithm:

* :class:`TorchMomentumSGD`, PyTorch's ``torch.optim.SGD(lr, momentum=mu)``
  (``dampening=0``, ``nesterov=False``, ``weight_decay=0``):
  buf_{k+1} = mu buf_k + g(x_k), x_{k+1} = x_k - lr buf_{k+1}, so v_k = -lr buf_k.
* :class:`ScaledMomentumSGD`, the step-h form behind the SME (paper.md M1):
  V_{k+1} = (1 - damping h) V_k - h g(x_k), x_{k+1} = x_k + h V_{k+1},
  which is the heavy ball with lr = h^2, mu = 1 - damping h and V = v / h.

:func:`scaled_momentum_moments` is an exact moment recursion written directly
in the step-h variables (independent of :func:`smecore.moments.momentum_moments`,
which works in the standard ones). The rate functions give, on the quadratic
1/2 lam x^2, how fast the mean of the iterates decays per step: exactly
(:func:`heavy_ball_rate`), as the heavy-ball SME predicts
(:func:`momentum_sme_rate`), and as the effective-learning-rate picture
predicts (:func:`effective_sgd_rate`).
"""

from __future__ import annotations

import numpy as np

from dataclasses import dataclass

from ._validation import (finite_array, positive_float, positive_int, state_vector,
                          steps_in_horizon)
from .algorithms import Algorithm, MomentumSGD, run
from .closed_forms import msgd_stationary_variance
from .montecarlo import MCEstimate
from .moments import Moments, momentum_moments, sde_moments
from .observables import record_steps
from .random import as_seed_sequence
from .sme import OnPosition, momentum_sme
from .solvers import solve_sde
from .weak import weak_error

__all__ = [
    "TorchMomentumSGD",
    "ScaledMomentumSGD",
    "scaled_momentum_moments",
    "exact_momentum_weak_errors",
    "MCWeakErrors",
    "mc_momentum_weak_errors",
    "sme_expectation",
    "heavy_ball_rate",
    "momentum_sme_rate",
    "effective_sgd_rate",
    "msgd_quadratic_stationary_value",
    "settling_step",
]


class TorchMomentumSGD(MomentumSGD):
    """PyTorch-style momentum: buf_{k+1} = mu buf_k + g(x_k), x_{k+1} = x_k - lr buf_{k+1}.

    This is ``torch.optim.SGD(params, lr, momentum=mu)`` with the defaults
    ``dampening=0``, ``nesterov=False``, ``weight_decay=0``. PyTorch sets the
    buffer to the first gradient (``buf = g.clone()``); with buf_0 = 0 the
    update mu buf_0 + g_0 gives the same value. The state is (x, buf), and
    buf_k = -v_k / lr in terms of the standard heavy ball's velocity.

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    momentum : float
        mu in [0, 1).
    time_step : float, optional
        Time per iteration (default ``sqrt(lr)``, as for the heavy ball).

    Examples
    --------
    >>> import numpy as np
    >>> torch_like = TorchMomentumSGD(0.01, 0.9)
    >>> state = torch_like.init_state(np.ones((1, 1)))
    >>> state = torch_like.apply(state, 0, np.ones((1, 1)))   # buf = 1, x = 1 - 0.01
    >>> state = torch_like.apply(state, 1, np.ones((1, 1)))   # buf = 1.9, x = 0.99 - 0.019
    >>> [round(float(s[0, 0]), 10) for s in state]
    [0.971, 1.9]
    >>> round(float(torch_like.velocity(state)[0, 0]), 10)    # V = -sqrt(lr) buf
    -0.19
    """

    name = "TorchMomentumSGD"

    # Hyper-parameters, time step, state layout and stability limit are the heavy ball's;
    # only the update (in terms of buf = -v / lr) and the velocity read-out differ.
    def apply(self, state, k, grad):
        x, buf = state
        buf = self.momentum * buf + grad
        return (x - self.lr * buf, buf)

    def velocity(self, state):
        """V = v / time_step with v = -lr buf."""
        return -self.lr * state[1] / self.time_step


class ScaledMomentumSGD(Algorithm):
    """The step-h form: V_{k+1} = (1 - damping h) V_k - h g(x_k), x_{k+1} = x_k + h V_{k+1}.

    With h = sqrt(lr) this is the standard heavy ball with momentum
    mu = 1 - damping h and velocity v = h V; time t = k h. The state is (x, V).

    Parameters
    ----------
    step : float
        h > 0 (the time step of the SME, h = sqrt(lr)).
    damping : float
        The friction lambda >= 0 of the SME; damping * step must be <= 1.

    Attributes
    ----------
    lr : float
        h^2, the learning rate of the equivalent standard heavy ball.
    momentum : float
        1 - damping h.

    Examples
    --------
    >>> import numpy as np
    >>> scaled = ScaledMomentumSGD(0.1, 1.0)
    >>> round(scaled.lr, 12), round(scaled.momentum, 12), scaled.time_step
    (0.01, 0.9, 0.1)
    >>> state = scaled.apply(scaled.init_state(np.ones((1, 1))), 0, np.ones((1, 1)))
    >>> [round(float(s[0, 0]), 10) for s in state]   # V = -0.1, x = 1 - 0.01
    [0.99, -0.1]
    """

    name = "ScaledMomentumSGD"
    has_velocity = True

    def __init__(self, step, damping):
        step = positive_float(step, "step")
        damping = positive_float(damping, "damping", allow_zero=True)
        if damping * step > 1.0:
            raise ValueError(
                f"damping * step must be <= 1 so that the momentum 1 - damping * step is >= 0, "
                f"got damping={damping:g}, step={step:g}"
            )
        super().__init__(step**2, time_step=step)
        self.step_size = step
        self.damping = damping
        self.momentum = 1.0 - damping * step

    def init_state(self, x0):
        x0 = np.array(x0, dtype=float)
        return (x0, np.zeros_like(x0))

    def apply(self, state, k, grad):
        x, V = state
        h = self.step_size
        V = (1.0 - self.damping * h) * V - h * grad
        return (x + h * V, V)

    def velocity(self, state):
        return state[1]

    def stability_limit(self, n_steps):
        return 2.0 * (1.0 + self.momentum)

    def _params(self):
        return f"step={self.step_size:g}, damping={self.damping:g}"

    def __repr__(self) -> str:
        return f"{self.name}({self._params()})"


def scaled_momentum_moments(problem, step, damping, x0, n_steps, *, record=None) -> Moments:
    """Exact mean and second moment of the step-h form of heavy ball, state [x; V].

    For an affine stochastic gradient g(x) = G [x; 1] (``problem.affine``), the
    augmented state z = [x; V; 1] evolves as z' = (M0 - P G Q) z with
    M0 = [[I, h mu I, 0], [0, mu I, 0], [0, 0, 1]], mu = 1 - damping h,
    P = [h^2 I; h I; 0] and Q z = [x; 1]; hence, exactly,
    E z' = (M0 - P Gbar Q) E z and
    E z'z'^T = Mbar S Mbar^T + P Sigtilde(Q S Q^T) P^T with
    Sigtilde(W)_ik = sum_jl Cov(G_ij, G_kl) W_jl.

    Written in the step-h variables, it is an independent check of
    :func:`smecore.moments.momentum_moments` (standard variables [x; v]).

    Parameters
    ----------
    problem : StochasticObjective
        With ``problem.affine`` set.
    step : float
        h > 0.
    damping : float
        lambda >= 0, with damping * step <= 1.
    x0 : array_like, shape (d,)
        Start; V_0 = 0.
    n_steps : int
    record : sequence of int, optional
        Steps to record (default every step).

    Returns
    -------
    Moments
        State [x; V] (n = 2d), ``times = steps * step``.

    Examples
    --------
    >>> import numpy as np
    >>> from smecore.problems import GaussianQuadratic
    >>> from smecore.moments import momentum_moments
    >>> p = GaussianQuadratic([1.0, 0.5])
    >>> a = scaled_momentum_moments(p, 0.1, 2.0, [1.0, 1.0], 30)
    >>> b = momentum_moments(p, 0.01, 0.8, [1.0, 1.0], 30).scaled_velocity(1 / 0.1)
    >>> bool(np.allclose(a.second, b.second, rtol=1e-12, atol=1e-15))
    True
    """
    affine = getattr(problem, "affine", None)
    if affine is None:
        raise TypeError(
            f"problem ({type(problem).__name__}) has no affine gradient (problem.affine is None)"
        )
    algorithm = ScaledMomentumSGD(step, damping)  # validates step and damping
    h, mu = algorithm.step_size, algorithm.momentum
    n_steps = positive_int(n_steps, "n_steps", allow_zero=True)
    steps = record_steps(record, n_steps)
    d = affine.dim
    x0 = state_vector(x0, d)
    N = 2 * d + 1
    eye = np.eye(d)
    M0 = np.eye(N)
    M0[:d, d : 2 * d] = h * mu * eye
    M0[d : 2 * d, d : 2 * d] = mu * eye
    P = np.zeros((N, d))
    P[:d], P[d : 2 * d] = h**2 * eye, h * eye
    Q = np.zeros((d + 1, N))
    Q[:d, :d] = eye
    Q[d, 2 * d] = 1.0
    Gbar = np.asarray(affine.mean, dtype=float)
    cov = np.asarray(affine.cov, dtype=float)
    Mbar = M0 - P @ Gbar @ Q
    z = np.concatenate([x0, np.zeros(d), [1.0]])
    m, S = z.copy(), np.outer(z, z)
    mean, second = np.empty((steps.size, N)), np.empty((steps.size, N, N))
    j = 0
    for k in range(n_steps + 1):
        if j < steps.size and steps[j] == k:
            mean[j], second[j] = m, S
            j += 1
        if k == n_steps:
            break
        noise = np.einsum("ijkl,jl->ik", cov, Q @ S @ Q.T)
        m = Mbar @ m
        S = Mbar @ S @ Mbar.T + P @ noise @ P.T
        S = 0.5 * (S + S.T)
    n = 2 * d
    return Moments(steps * h, steps, mean[:, :n], second[:, :n, :n], d)


def _rate_args(lam, lr, momentum):
    lam = finite_array(lam, "lam")
    lr = finite_array(lr, "lr")
    mu = finite_array(momentum, "momentum")
    if np.any(lam <= 0) or np.any(lr <= 0):
        raise ValueError("lam and lr must be > 0")
    if np.any(mu < 0) or np.any(mu >= 1):
        raise ValueError("momentum must lie in [0, 1)")
    return lam, lr, mu


def heavy_ball_rate(lam, lr, momentum):
    """Exact decay rate per step of the mean of heavy ball on 1/2 lam x^2.

    E x_k solves x_{k+1} = (1 + mu - lr lam) x_k - mu x_{k-1}, whose
    characteristic roots z satisfy z^2 - (1 + mu - lr lam) z + mu = 0. The rate
    is -log max|z|: E x_k decays like exp(-rate k) (times a power of k at a
    double root). Complex roots (underdamped) have |z| = sqrt(mu), rate
    -log(mu)/2; the double root at mu = (1 - sqrt(lr lam))^2 gives the largest
    rate, -log(1 - sqrt(lr lam)) (Polyak's optimal momentum).

    Parameters
    ----------
    lam, lr, momentum : array_like
        Curvature > 0, learning rate > 0, mu in [0, 1); broadcast together.

    Returns
    -------
    ndarray
        The rate; <= 0 means the mean does not decay (lr lam >= 2 (1 + mu)).

    Examples
    --------
    >>> round(float(heavy_ball_rate(1.0, 0.1, 0.0)), 10)   # SGD: -log(1 - lr lam)
    0.1053605157
    >>> round(float(heavy_ball_rate(1.0, 0.01, 0.81)), 6)  # double root 0.9
    0.105361
    >>> round(float(heavy_ball_rate(1.0, 0.01, 0.99)), 10) # underdamped: -log(0.99)/2
    0.0050251679
    """
    lam, lr, mu = _rate_args(lam, lr, momentum)
    b = 1.0 + mu - lr * lam
    disc = np.sqrt((b**2 - 4.0 * mu).astype(complex))
    radius = np.maximum(np.abs((b + disc) / 2), np.abs((b - disc) / 2))
    return -np.log(radius)


def momentum_sme_rate(lam, lr, momentum):
    """Decay rate per step of E X for the heavy-ball SME on 1/2 lam x^2.

    The mean solves X'' + gamma X' + lam X = 0, gamma = (1 - mu)/sqrt(lr), in
    time t = k sqrt(lr); it decays like exp(-r t) with
    r = (gamma - Re sqrt(gamma^2 - 4 lam)) / 2, i.e. r sqrt(lr) per step.
    Critical damping gamma = 2 sqrt(lam) gives the largest r, sqrt(lam).

    Parameters
    ----------
    lam, lr, momentum : array_like
        Broadcast together; mu in [0, 1).

    Returns
    -------
    ndarray

    Examples
    --------
    >>> round(float(momentum_sme_rate(1.0, 0.01, 0.99)), 10)   # underdamped: (1 - mu)/2
    0.005
    >>> round(float(momentum_sme_rate(1.0, 0.01, 0.8)), 10)    # critical: sqrt(lr lam)
    0.1
    """
    lam, lr, mu = _rate_args(lam, lr, momentum)
    gamma = (1.0 - mu) / np.sqrt(lr)
    root = np.real(np.sqrt((gamma**2 - 4.0 * lam).astype(complex)))
    return np.sqrt(lr) * (gamma - root) / 2.0


def effective_sgd_rate(lam, lr, momentum):
    """Decay rate per step of E X predicted by the SGD SME at lr_eff = lr / (1 - mu): lam lr_eff.

    The SME dX = -lam X dt + ... in time t = k lr_eff gives E X = exp(-lam lr_eff k) x0.

    Examples
    --------
    >>> float(effective_sgd_rate(1.0, 0.01, 0.9))
    0.1
    """
    lam, lr, mu = _rate_args(lam, lr, momentum)
    return lam * lr / (1.0 - mu)


def msgd_quadratic_stationary_value(eigenvalues, lr, momentum, noise_var):
    """lim E f(x_k) = 1/2 sum_i lam_i Var_inf(x_i) for heavy ball on 1/2 x^T H x (H diagonalised).

    Var_inf is :func:`smecore.closed_forms.msgd_stationary_variance` per
    eigen-direction, with gradient-noise variance ``noise_var`` (lam_i^2 / B
    for the Gaussian quadratic with batch size B).

    Parameters
    ----------
    eigenvalues : array_like, shape (d,)
    lr : float
    momentum : float or array_like
        mu; an array gives one value per entry.
    noise_var : array_like, shape (d,)

    Returns
    -------
    ndarray, shape of ``momentum``

    Examples
    --------
    >>> round(float(msgd_quadratic_stationary_value([1.0], 0.01, 0.9, [1.0])), 10)
    0.025065963
    """
    lam = finite_array(eigenvalues, "eigenvalues", ndim=1)
    s2 = finite_array(noise_var, "noise_var", shape=lam.shape)
    mu = np.asarray(finite_array(momentum, "momentum"))
    var = msgd_stationary_variance(lam, lr, mu[..., None], s2)
    return 0.5 * np.sum(lam * var, axis=-1)


def settling_step(steps, values, threshold):
    """The first recorded step from which on every value is <= ``threshold``.

    For an oscillating (underdamped) curve this is the time it settles below
    the threshold, not the first crossing.

    Parameters
    ----------
    steps : array_like, shape (n,)
        Recorded steps, increasing.
    values : array_like, shape (n,)
    threshold : float

    Returns
    -------
    float
        The step, or ``inf`` if the last value is above the threshold.

    Examples
    --------
    >>> settling_step([0, 1, 2, 3, 4], [5.0, 0.5, 2.0, 0.5, 0.1], 1.0)
    3.0
    >>> settling_step([0, 1], [5.0, 2.0], 1.0)
    inf
    """
    steps = finite_array(steps, "steps", ndim=1)
    values = finite_array(values, "values", shape=steps.shape)
    above = np.flatnonzero(values > threshold)
    if above.size == 0:
        return float(steps[0])
    if above[-1] == steps.size - 1:
        return float("inf")
    return float(steps[above[-1] + 1])


# --------------------------------------------------------------------------
# weak errors of heavy ball against its SME, as h = sqrt(lr) shrinks
# --------------------------------------------------------------------------


def _step_sizes(step_sizes, damping):
    h = finite_array(step_sizes, "step_sizes", ndim=1)
    if h.size == 0 or np.any(h <= 0):
        raise ValueError("step_sizes must be a non-empty array of positive numbers")
    damping = positive_float(damping, "damping")
    if np.any(damping * h > 1):
        raise ValueError(
            f"damping * step must be <= 1 for every step (momentum 1 - damping * step >= 0); "
            f"largest step allowed {1 / damping:g}"
        )
    return h, damping


def exact_momentum_weak_errors(problem, step_sizes, damping, x0, T) -> dict:
    """Weak errors of heavy ball against its SME from exact moments (affine gradients).

    For each h, heavy ball with lr = h^2 and mu = 1 - damping h runs
    N = T / h steps (:func:`smecore.moments.momentum_moments`), and its SME
    (:func:`smecore.sme.momentum_sme` with the same damping) is evaluated at
    t = k h (:func:`smecore.moments.sde_moments`). The weak error is the
    paper's max over 0 <= k <= N of |E g(x_k) - E g(X_{kh})|.

    Parameters
    ----------
    problem : StochasticObjective
        With ``problem.affine``.
    step_sizes : array_like
        h values, > 0, each dividing T.
    damping : float
        lambda > 0, with damping * h <= 1.
    x0 : array_like, shape (d,)
        Start (V_0 = 0 for both).
    T : float
        Horizon.

    Returns
    -------
    dict
        ``"x"``: errors for g(x) = x_i (maximised over coordinates i too);
        ``"f"``: errors for g = f. Arrays of shape (len(step_sizes),).

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> err = exact_momentum_weak_errors(GaussianQuadratic([1.0]), [0.2, 0.1], 1.0, [1.0], 2.0)
    >>> [round(float(r), 2) for r in err["x"][0] / err["x"]]   # halving h halves the error
    [1.0, 2.0]
    """
    h_all, damping = _step_sizes(step_sizes, damping)
    T = positive_float(T, "T")
    out = {"x": np.empty(h_all.size), "f": np.empty(h_all.size)}
    for i, h in enumerate(h_all):
        lr = float(h) ** 2
        alg = momentum_moments(problem, lr, 1.0 - damping * h, x0, steps_in_horizon(T, h))
        sme = sde_moments(momentum_sme(problem, lr, damping=damping), x0, alg.times)
        out["x"][i] = weak_error(alg.position_mean, sme.position_mean).value
        out["f"][i] = weak_error(alg.expect_value(problem), sme.expect_value(problem)).value
    return out


def sme_expectation(problem, step, damping, x0, T, observable, *, n_paths, substeps=4,
                    rng=None) -> MCEstimate:
    """Monte Carlo E g(X_T) for the heavy-ball SME with lr = step^2, by the weak order-2 scheme.

    The SME dX = V dt, dV = -(damping V + grad f) dt + step^{1/2} Sigma^{1/2} dW
    is solved with :func:`smecore.solvers.solve_sde` (``scheme="weak2"``) at
    the solver step ``step / substeps``.

    Parameters
    ----------
    problem : StochasticObjective
    step : float
        h = sqrt(lr).
    damping : float
    x0 : array_like, shape (d,)
    T : float
        A multiple of ``step``.
    observable : callable
        g(x) on positions of shape (n, d), returning (n,).
    n_paths : int
    substeps : int, default 4
    rng : seed-like, optional

    Returns
    -------
    MCEstimate
        Scalar mean and standard error of g(X_T).
    """
    step, damping = _step_sizes([step], damping)
    step = float(step[0])
    n = steps_in_horizon(positive_float(T, "T"), step) * positive_int(substeps, "substeps")
    sde = momentum_sme(problem, step**2, damping=damping)
    stats = solve_sde(sde, x0, T, n_steps=n, scheme="weak2", n_paths=n_paths, rng=rng, record=[n],
                      observables={"g": OnPosition(observable, sde.position_dim)})
    est = stats["g"]
    return MCEstimate(np.asarray(est.mean[-1]).reshape(()), np.asarray(est.stderr[-1]).reshape(()),
                      est.n_paths)


@dataclass(frozen=True)
class MCWeakErrors:
    """Monte Carlo weak errors at time T of heavy ball against its SME.

    Attributes
    ----------
    step_sizes : ndarray, shape (n,)
        h = sqrt(lr).
    algorithm : list of MCEstimate
        E g(x_N) of heavy ball, N = T / h.
    sme : list of MCEstimate
        E g(X_T) of the SME.
    errors, stderr : ndarray, shape (n,)
        |difference| and its standard error (independent runs).
    """

    step_sizes: np.ndarray
    algorithm: list
    sme: list
    errors: np.ndarray
    stderr: np.ndarray


def mc_momentum_weak_errors(problem, step_sizes, damping, x0, T, observable, *, n_paths,
                            substeps=4, rng=None) -> MCWeakErrors:
    """Weak errors |E g(x_N) - E g(X_T)|, N = T / h, by independent Monte Carlo runs.

    Heavy ball (:class:`smecore.algorithms.MomentumSGD` with lr = h^2,
    mu = 1 - damping h) and its SME (:func:`sme_expectation`, weak order-2
    solver at step h / ``substeps``) use independent random streams spawned
    from ``rng``, so the standard error of the difference is the root sum of
    squares of the two.

    Parameters
    ----------
    problem : StochasticObjective
        Any problem with ``noise_factor`` (the SME needs Sigma^{1/2}).
    step_sizes : array_like
        h values dividing T.
    damping : float
    x0 : array_like, shape (d,)
    T : float
    observable : callable
        g(x) on positions (n, d) -> (n,); must be picklable for process pools.
    n_paths : int
    substeps : int, default 4
    rng : seed-like, optional

    Returns
    -------
    MCWeakErrors

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> res = mc_momentum_weak_errors(GaussianQuadratic([1.0]), [0.2], 1.0, [1.0], 1.0,
    ...                               lambda x: x[:, 0], n_paths=2000, rng=0)
    >>> res.errors.shape, bool(res.stderr[0] > 0)
    ((1,), True)
    """
    h_all, damping = _step_sizes(step_sizes, damping)
    T = positive_float(T, "T")
    streams = as_seed_sequence(rng).spawn(2 * h_all.size)
    algorithm, sme = [], []
    for i, h in enumerate(h_all):
        h = float(h)
        N = steps_in_horizon(T, h)
        stats = run(MomentumSGD.from_damping(h**2, damping), problem, x0, N, n_paths=n_paths,
                    rng=streams[2 * i], record=[N], observables={"g": observable})
        est = stats["g"]
        algorithm.append(MCEstimate(np.asarray(est.mean[-1]).reshape(()),
                                    np.asarray(est.stderr[-1]).reshape(()), est.n_paths))
        sme.append(sme_expectation(problem, h, damping, x0, T, observable, n_paths=n_paths,
                                   substeps=substeps, rng=streams[2 * i + 1]))
    errors = np.array([abs(float(a.mean - b.mean)) for a, b in zip(algorithm, sme)])
    stderr = np.array([float(np.hypot(a.stderr, b.stderr)) for a, b in zip(algorithm, sme)])
    return MCWeakErrors(h_all, algorithm, sme, errors, stderr)
