"""Other normalisations of momentum and Nesterov, to check that they are one algorithm.

The library's :class:`~smecore.algorithms.MomentumSGD` is the standard heavy ball
v_{k+1} = mu v_k - lr g(x_k), x_{k+1} = x_k + v_{k+1}. Here:

* :class:`TorchMomentumSGD`, PyTorch's ``torch.optim.SGD(lr, momentum=mu)``
  (``dampening=0``, ``nesterov=False``): buf_{k+1} = mu buf_k + g(x_k),
  x_{k+1} = x_k - lr buf_{k+1}, so v_k = -lr buf_k.
* :class:`ScaledMomentumSGD`, the step-h form behind the momentum SME (momentum
  chapter): V_{k+1} = (1 - damping h) V_k - h g(x_k), x_{k+1} = x_k + h V_{k+1},
  the heavy ball with lr = h^2, mu = 1 - damping h and V = v / h.
* Nesterov as plain reference loops driven by a
  :class:`~smecore.problems.GradientSequence`: :func:`paper_form` (coefficient
  (k-1)/(k+2), k from 1; its x_{k+1} is the library's x_k) and
  :func:`pytorch_form` (``torch.optim.SGD(momentum=mu, nesterov=True)``, whose
  parameter is the library's look-ahead point y_k; :func:`pytorch_to_positions`
  maps back). :func:`drive` runs any :class:`~smecore.algorithms.Algorithm` on the
  same oracle.
"""

from __future__ import annotations

import numpy as np

from .._validation import finite_array, positive_float, positive_int
from .methods import Algorithm, MomentumSGD

__all__ = ["TorchMomentumSGD", "ScaledMomentumSGD", "drive", "paper_form", "pytorch_form", "pytorch_to_positions"]


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


def _check_oracle(oracle):
    if not callable(oracle):
        raise TypeError("oracle must be callable as oracle(y, j)")
    return oracle


def drive(algorithm, oracle, x0, n_steps):
    """Iterates x_0, ..., x_N of a smecore algorithm fed the gradients ``oracle(y, k)``.

    Uses the algorithm's own update (``gradient_point`` and ``apply``), so the
    result is the library's iteration, only with prescribed gradients.

    Parameters
    ----------
    algorithm : smecore.algorithms.Algorithm
        E.g. :class:`~smecore.algorithms.Nesterov`.
    oracle : callable
        ``oracle(y, k)`` -> gradient at y (shape (d,)) for step k.
    x0 : array_like, shape (d,)
    n_steps : int

    Returns
    -------
    ndarray, shape (n_steps + 1, d)
        Row k is x_k.

    Examples
    --------
    Deterministic Nesterov on 1/2 x^2 with lr = 0.01 (compare
    :func:`smecore.moments.nesterov_moments`):

    >>> from smecore.algorithms import Nesterov
    >>> xs = drive(Nesterov(0.01), lambda y, k: y, [1.0], 3)
    >>> [round(float(v), 6) for v in xs[:, 0]]
    [1.0, 0.99, 0.9801, 0.967849]
    """
    if not isinstance(algorithm, Algorithm):
        raise TypeError(f"algorithm must be a smecore Algorithm, got {type(algorithm).__name__}")
    oracle = _check_oracle(oracle)
    x0 = finite_array(x0, "x0", ndim=1)
    n_steps = positive_int(n_steps, "n_steps", allow_zero=True)
    state = algorithm.init_state(x0[None, :])
    out = np.empty((n_steps + 1, x0.size))
    out[0] = algorithm.position(state)[0]
    for k in range(n_steps):
        y = algorithm.gradient_point(state, k)
        g = np.asarray(oracle(y[0], k), dtype=float)[None, :]
        state = algorithm.apply(state, k, g)
        out[k + 1] = algorithm.position(state)[0]
    return out


def paper_form(oracle, lr, x0, n_steps):
    """Nesterov with coefficient (k-1)/(k+2), k from 1 (the SNAG form of the Nesterov chapter).

    x_1 = y_1 = x_0; for k = 1, 2, ...:
    x_{k+1} = y_k - lr g(y_k), y_{k+1} = x_{k+1} + (k-1)/(k+2) (x_{k+1} - x_k),
    where the gradient of step k is ``oracle(y_k, k - 1)`` (the (k-1)-th draw).

    Parameters
    ----------
    oracle : callable
        ``oracle(y, j)`` -> gradient, j = 0, 1, ... in order of use.
    lr : float
    x0 : array_like, shape (d,)
    n_steps : int
        Number of gradient steps.

    Returns
    -------
    ndarray, shape (n_steps + 1, d)
        Row i is the paper's x_{i+1}, which equals the library's x_i
        (:class:`smecore.algorithms.Nesterov`, time t = i sqrt(lr)).

    Examples
    --------
    >>> xs = paper_form(lambda y, j: y, 0.01, [1.0], 3)
    >>> [round(float(v), 6) for v in xs[:, 0]]
    [1.0, 0.99, 0.9801, 0.967849]
    """
    oracle = _check_oracle(oracle)
    lr = positive_float(lr, "lr")
    x0 = finite_array(x0, "x0", ndim=1)
    n_steps = positive_int(n_steps, "n_steps", allow_zero=True)
    out = np.empty((n_steps + 1, x0.size))
    x, y = x0.copy(), x0.copy()  # x_1, y_1
    out[0] = x
    for k in range(1, n_steps + 1):
        x_new = y - lr * np.asarray(oracle(y, k - 1), dtype=float)
        y = x_new + (k - 1) / (k + 2) * (x_new - x)
        x = x_new
        out[k] = x
    return out


def pytorch_form(oracle, lr, momentum, x0, n_steps):
    """PyTorch's ``SGD(momentum=mu, nesterov=True, dampening=0)`` with prescribed gradients.

    b_{k+1} = mu b_k + g_k, theta_{k+1} = theta_k - lr (g_k + mu b_{k+1}),
    g_k = ``oracle(theta_k, k)``, theta_0 = x_0, b_0 = 0 (PyTorch initialises
    the buffer with the first gradient, which is the same thing).

    Parameters
    ----------
    oracle : callable
    lr : float
    momentum : float
        mu in [0, 1).
    x0 : array_like, shape (d,)
    n_steps : int

    Returns
    -------
    theta, buffer : ndarray, shape (n_steps + 1, d)
        The parameters theta_k (= the library's look-ahead points y_k) and
        momentum buffers b_k.

    Examples
    --------
    >>> theta, buf = pytorch_form(lambda y, k: y, 0.1, 0.5, [1.0], 2)
    >>> [round(float(v), 6) for v in theta[:, 0]]
    [1.0, 0.85, 0.6975]
    """
    oracle = _check_oracle(oracle)
    lr = positive_float(lr, "lr")
    mu = float(finite_array(momentum, "momentum", ndim=0))
    if not 0.0 <= mu < 1.0:
        raise ValueError(f"momentum must lie in [0, 1), got {momentum!r}")
    x0 = finite_array(x0, "x0", ndim=1)
    n_steps = positive_int(n_steps, "n_steps", allow_zero=True)
    theta = np.empty((n_steps + 1, x0.size))
    buf = np.zeros_like(theta)
    theta[0] = x0
    for k in range(n_steps):
        g = np.asarray(oracle(theta[k], k), dtype=float)
        buf[k + 1] = mu * buf[k] + g
        theta[k + 1] = theta[k] - lr * (g + mu * buf[k + 1])
    return theta, buf


def pytorch_to_positions(theta, buffer, lr, momentum):
    """The library's iterates x_k = theta_k + lr mu b_k from PyTorch's state.

    With v_k = x_k - x_{k-1} = -lr b_k, the look-ahead is y_k = x_k + mu v_k =
    theta_k, hence x_k = theta_k - mu v_k.

    Examples
    --------
    >>> pytorch_to_positions([[0.85]], [[1.0]], 0.1, 0.5)
    array([[0.9]])
    """
    lr = positive_float(lr, "lr")
    mu = float(finite_array(momentum, "momentum", ndim=0))
    theta = finite_array(theta, "theta")
    buffer = finite_array(buffer, "buffer")
    return theta + lr * mu * buffer
