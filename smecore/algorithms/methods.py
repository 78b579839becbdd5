"""Stochastic gradient algorithms (SGD, heavy-ball momentum, Nesterov), vectorised over paths.

An algorithm object holds its hyper-parameters and its *time step* (the time
one iteration represents for its SME: lr for SGD, sqrt(lr) for the momentum
methods). Its state is a tuple of ``(n_paths, d)`` arrays; one step is split in
two so that callers can supply their own gradient samples (for instance
Gaussian gradients sharing Brownian increments with an SME)::

    point = algorithm.gradient_point(state, k)      # where the gradient is taken
    state = algorithm.apply(state, k, g(point))     # x_k -> x_{k+1}

Conventions (the setting, momentum and Nesterov chapters):

- SGD: x_{k+1} = x_k - lr g(x_k); t = k lr (Li, Tai & E 2019).
- Heavy ball: v_{k+1} = mu v_k - lr g(x_k), x_{k+1} = x_k + v_{k+1}, v_0 = 0;
  with mu = 1 - damping sqrt(lr), t = k sqrt(lr), X ~ x and V ~ v / sqrt(lr)
  (this book's normalisation; it is not confirmed from the paper's text).
- Nesterov (Su-Boyd-Candes): y_0 = x_0, x_{k+1} = y_k - lr g(y_k),
  y_{k+1} = x_{k+1} + mu_{k+1} (x_{k+1} - x_k) with mu_{k+1} = k / (k + 3) or a
  constant; t = k sqrt(lr).
"""

from __future__ import annotations

import numpy as np

from .._validation import DivergenceError, positive_float
from ..problems.base import StochasticObjective

__all__ = ["Algorithm", "SGD", "MomentumSGD", "Nesterov", "check_stability"]


#: Largest number of floats :func:`sample_paths` will hold in memory.
MAX_PATH_FLOATS = 200_000_000


_OBSERVE = ("position", "phase")


def _momentum(value, name="momentum") -> float:
    """A momentum coefficient in [0, 1)."""
    value = positive_float(value, name, allow_zero=True)
    if value >= 1.0:
        raise ValueError(f"{name} must be < 1 (the iteration does not damp otherwise), got {value}")
    return value


class Algorithm:
    """Base class of the stochastic gradient algorithms.

    Parameters
    ----------
    lr : float
        Learning rate eta > 0.
    time_step : float, optional
        Time represented by one iteration (default: ``default_time_step``).

    Attributes
    ----------
    lr : float
    time_step : float
        Iteration k is identified with time t = k * time_step.
    """

    name = "Algorithm"
    #: True for the momentum methods (they have a velocity, and ``observe="phase"`` works).
    has_velocity = False

    def __init__(self, lr, *, time_step=None):
        self.lr = positive_float(lr, "lr")
        self._time_step = None if time_step is None else positive_float(time_step, "time_step")

    @property
    def default_time_step(self) -> float:
        return self.lr

    @property
    def time_step(self) -> float:
        return self.default_time_step if self._time_step is None else self._time_step

    # -- the update --------------------------------------------------------------
    def init_state(self, x0) -> tuple:
        """The state at step 0 for starting points ``x0`` of shape (n_paths, d)."""
        raise NotImplementedError

    def gradient_point(self, state, k):
        """Where step k evaluates the stochastic gradient, shape (n_paths, d)."""
        return state[0]

    def apply(self, state, k, grad) -> tuple:
        """The state at step k + 1, given the gradient sample at ``gradient_point(state, k)``."""
        raise NotImplementedError

    def step(self, state, k, problem, rng) -> tuple:
        """One iteration k -> k + 1 with a fresh mini-batch gradient of ``problem``."""
        return self.apply(state, k, problem.sample_grad(self.gradient_point(state, k), rng))

    def position(self, state):
        """The iterate x_k, shape (n_paths, d)."""
        return state[0]

    def velocity(self, state):
        """The velocity V_k ~ dX/dt, shape (n_paths, d) (momentum methods only)."""
        raise TypeError(f"{self.name} has no velocity; use observe='position'")

    def stability_limit(self, n_steps) -> float | None:
        """lr * lambda must stay below this for the mean iteration on a quadratic to be stable.

        ``None`` when there is no fixed limit.
        """
        return None

    def _params(self) -> str:
        return f"lr={self.lr:g}"

    def __repr__(self) -> str:
        extra = "" if self._time_step is None else f", time_step={self._time_step:g}"
        return f"{self.name}({self._params()}{extra})"


class SGD(Algorithm):
    """Stochastic gradient descent x_{k+1} = x_k - lr g(x_k), time t = k lr.

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    time_step : float, optional
        Time per iteration (default ``lr``).

    Examples
    --------
    >>> import numpy as np
    >>> sgd = SGD(0.1)
    >>> state = sgd.init_state(np.ones((2, 1)))
    >>> sgd.apply(state, 0, np.ones((2, 1)))[0].ravel()
    array([0.9, 0.9])
    >>> sgd.time_step
    0.1
    """

    name = "SGD"

    def init_state(self, x0):
        return (np.array(x0, dtype=float),)

    def apply(self, state, k, grad):
        return (state[0] - self.lr * grad,)

    def stability_limit(self, n_steps):
        # E x_{k+1} = (I - lr A) E x_k - lr b: stable iff |1 - lr lambda| < 1.
        return 2.0


class MomentumSGD(Algorithm):
    """Heavy-ball momentum: v_{k+1} = mu v_k - lr g(x_k), x_{k+1} = x_k + v_{k+1}, v_0 = 0.

    Time t = k sqrt(lr) and velocity V = v / sqrt(lr), so that with
    mu = 1 - damping sqrt(lr) the SME is dX = V dt,
    dV = -(damping V + grad f) dt + lr^{1/4} Sigma^{1/2} dW (momentum chapter).

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    momentum : float
        mu in [0, 1).
    time_step : float, optional
        Time per iteration (default ``sqrt(lr)``); e.g. ``lr / (1 - momentum)``
        compares fixed-momentum MSGD with SGD at the effective learning rate.

    Examples
    --------
    >>> m = MomentumSGD.from_damping(0.01, 2.0)
    >>> m.momentum, m.time_step
    (0.8, 0.1)
    """

    name = "MomentumSGD"
    has_velocity = True

    def __init__(self, lr, momentum, *, time_step=None):
        super().__init__(lr, time_step=time_step)
        self.momentum = _momentum(momentum)

    @classmethod
    def from_damping(cls, lr, damping, *, time_step=None) -> "MomentumSGD":
        """Heavy ball with mu = 1 - damping * sqrt(lr) (the SME's friction is ``damping``)."""
        lr = positive_float(lr, "lr")
        damping = positive_float(damping, "damping")
        mu = 1.0 - damping * np.sqrt(lr)
        if mu < 0:
            raise ValueError(
                f"damping * sqrt(lr) must be <= 1 so that momentum = 1 - damping * sqrt(lr) >= 0, "
                f"got damping={damping:g}, lr={lr:g}"
            )
        return cls(lr, mu, time_step=time_step)

    @property
    def damping(self) -> float:
        """(1 - momentum) / sqrt(lr), the friction of the SME."""
        return (1.0 - self.momentum) / np.sqrt(self.lr)

    @property
    def default_time_step(self) -> float:
        return float(np.sqrt(self.lr))

    def init_state(self, x0):
        x0 = np.array(x0, dtype=float)
        return (x0, np.zeros_like(x0))

    def apply(self, state, k, grad):
        x, v = state
        v = self.momentum * v - self.lr * grad
        return (x + v, v)

    def velocity(self, state):
        return state[1] / self.time_step

    def stability_limit(self, n_steps):
        # z^2 - (1 + mu - a) z + mu = 0 has both roots inside the unit disc iff 0 < a < 2 (1 + mu).
        return 2.0 * (1.0 + self.momentum)

    def _params(self):
        return f"lr={self.lr:g}, momentum={self.momentum:g}"


class Nesterov(Algorithm):
    """Nesterov's accelerated gradient with stochastic gradients (SNAG).

    y_0 = x_0; x_{k+1} = y_k - lr g(y_k); y_{k+1} = x_{k+1} + mu_{k+1} (x_{k+1} - x_k),
    with mu_{k+1} = k / (k + 3) (Su-Boyd-Candes indexing: the first coefficient
    is 0) or a constant mu. Time t = k sqrt(lr); velocity V = (x_k - x_{k-1}) / sqrt(lr).

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    momentum : float, optional
        Constant mu in [0, 1); ``None`` (default) uses the schedule k / (k + 3).
    time_step : float, optional
        Time per iteration (default ``sqrt(lr)``).

    Examples
    --------
    >>> n = Nesterov(0.01)
    >>> [round(n.coefficient(k), 4) for k in range(4)]
    [0.0, 0.0, 0.25, 0.4]
    """

    name = "Nesterov"
    has_velocity = True

    def __init__(self, lr, momentum=None, *, time_step=None):
        super().__init__(lr, time_step=time_step)
        self.momentum = None if momentum is None else _momentum(momentum)

    @property
    def default_time_step(self) -> float:
        return float(np.sqrt(self.lr))

    def coefficient(self, k) -> float:
        """mu_k in y_k = x_k + mu_k (x_k - x_{k-1}); mu_k = (k - 1) / (k + 2) for the schedule."""
        if k == 0:
            return 0.0  # y_0 = x_0
        if self.momentum is not None:
            return self.momentum
        return (k - 1) / (k + 2)

    # The state is (x_k, x_k - x_{k-1}); y_k is rebuilt from it.
    def init_state(self, x0):
        x0 = np.array(x0, dtype=float)
        return (x0, np.zeros_like(x0))

    def gradient_point(self, state, k):
        x, dx = state
        return x + self.coefficient(k) * dx

    def apply(self, state, k, grad):
        x = self.gradient_point(state, k) - self.lr * grad
        return (x, x - state[0])

    def velocity(self, state):
        return state[1] / self.time_step

    def stability_limit(self, n_steps):
        # Constant mu: x_{k+1} = (1 - a)((1 + mu) x_k - mu x_{k-1}) is stable iff
        # 0 < a < 2 (1 + mu) / (1 + 2 mu) (Jury criterion). The schedule has no fixed limit.
        if self.momentum is None:
            return None
        return 2.0 * (1.0 + self.momentum) / (1.0 + 2.0 * self.momentum)

    def _params(self):
        mu = "'k/(k+3)'" if self.momentum is None else f"{self.momentum:g}"
        return f"lr={self.lr:g}, momentum={mu}"


def _check_algorithm_and_problem(algorithm, problem):
    if not isinstance(algorithm, Algorithm):
        raise TypeError(f"algorithm must be an SGD, MomentumSGD or Nesterov instance, got {type(algorithm).__name__}")
    if not isinstance(problem, StochasticObjective):
        raise TypeError(f"problem must be a StochasticObjective, got {type(problem).__name__}")


def check_stability(algorithm, problem, n_steps=None) -> None:
    """Raise :class:`~smecore.DivergenceError` if the mean iteration diverges on an affine problem.

    For a problem with an affine gradient grad f(x) = A x + b, the mean of the
    iterates follows the deterministic algorithm on the quadratic, which
    diverges when lr * lambda_max(A) reaches the algorithm's
    :meth:`~Algorithm.stability_limit` (2 for SGD, 2 (1 + mu) for the heavy
    ball, 2 (1 + mu) / (1 + 2 mu) for Nesterov with constant mu). Other
    problems are not checked here; their runs stop with
    :class:`~smecore.DivergenceError` when the state blows up.

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> check_stability(SGD(0.5), GaussianQuadratic([1.0, 4.0]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    smecore._validation.DivergenceError: SGD(lr=0.5) is unstable on this problem: ...
    """
    limit = algorithm.stability_limit(n_steps)
    if problem.affine is None or limit is None:
        return
    A = problem.affine.hessian
    lam_max = float(np.linalg.eigvalsh(0.5 * (A + A.T))[-1])
    if algorithm.lr * lam_max >= limit:
        raise DivergenceError(
            f"{algorithm!r} is unstable on this problem: lr * lambda_max = {algorithm.lr:g} * "
            f"{lam_max:g} = {algorithm.lr * lam_max:g} >= {limit:g}, so the mean of the iterates "
            f"diverges; use lr < {limit / lam_max:g}"
        )
