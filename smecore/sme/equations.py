"""Stochastic modified equations (SMEs) of stochastic gradient algorithms.

Every SME is a :class:`smecore.sme.SDE` built from a
:class:`~smecore.problems.StochasticObjective`; it uses only the problem's
``grad``, ``hvp`` and ``noise_factor`` (and ``affine`` for the
:class:`~smecore.sme.LinearStructure` that unlocks exact moments and exact
sampling).

- :func:`sgd_sme`: SGD, orders 1 and 2 (Li, Tai & E 2019, the order-2 theorem and order-1 corollary), and the modified
  ODEs (``noise=False``).
- :func:`momentum_sme`: heavy-ball momentum (momentum chapter; the book's normalisation), state (X, V).
- :func:`nesterov_sme`: Nesterov with mu_k = k/(k+3) (Nesterov chapter),
  state (X, V), friction 3/t.

Momentum-type SMEs live in R^{2d}; start them with :func:`sme_initial_state`
(V0 = 0) and record observables of the position with :class:`OnPosition`.

Why this module is long (over 600 lines): the three SMEs share the problem
checks, the linear structure of their moment equations and the mutant hooks
(:mod:`smecore.mutants`), each constructor registering its wrong equations next
to it; splitting them would spread one family over several files.

References
----------
Li, Tai & E (2019), JMLR 20(40), sections 4-5; Su, Boyd & Candes (2016),
JMLR 17(153), for the Nesterov ODE.
"""

from __future__ import annotations

import numpy as np

from .._validation import finite_array, positive_float, state_vector
from ..problems.base import StochasticObjective
from .. import mutants
from .sde import SDE, LinearStructure

__all__ = ["SGDSME", "MomentumSME", "NesterovSME", "OnPosition", "sgd_sme", "momentum_sme", "nesterov_sme", "sme_initial_state", "momentum_state_map", "momentum_state_unmap"]


#: The paper's order-2 correction coefficient c in -grad(f + c lr |grad f|^2).
ORDER2_CORRECTION = 0.25


def _check_problem(problem) -> StochasticObjective:
    if not isinstance(problem, StochasticObjective):
        raise TypeError(
            f"problem must be a smecore StochasticObjective, got {type(problem).__name__}"
        )
    return problem


def _check_bool(value, name) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}")
    return bool(value)


def _noise_dim(problem) -> int:
    return int(problem.noise_dim if problem.noise_dim is not None else problem.dim)


def _offset_only(cov: np.ndarray) -> bool:
    """True when only the offset-offset block of an affine covariance is nonzero."""
    d = cov.shape[0]
    mask = np.ones(cov.shape, dtype=bool)
    mask[:, d, :, d] = False
    return not np.any(cov[mask])


class OnPosition:
    """An observable of the position block X of a state (X, V) (picklable).

    Parameters
    ----------
    g : callable
        Observable g(x) of states of shape ``(n, dim)``.
    dim : int
        Number of leading state coordinates that form the position.

    Examples
    --------
    >>> import numpy as np
    >>> from smecore.estimation.observables import identity
    >>> OnPosition(identity, 1)(np.array([[1.0, 5.0]]))
    array([[1.]])
    """

    def __init__(self, g, dim):
        if not callable(g):
            raise TypeError("g must be callable")
        self.g, self.dim = g, int(dim)

    def __call__(self, x):
        return self.g(x[..., : self.dim])


# ---------------------------------------------------------------------------
# SGD
# ---------------------------------------------------------------------------
class SGDSME(SDE):
    """dX = -s (grad f + 2 c lr Hess f grad f)(X) dt + a lr^p sqrt(s) L(X) dW.

    Built by :func:`sgd_sme`; see there for the meaning of the parameters
    (c = ``correction``, a = ``noise_scale``, p = ``noise_power``,
    s = ``time_scale``; the true SMEs have a = 1, p = 1/2, s = 1).
    """

    def __init__(self, problem, lr, correction, noise, noise_scale=1.0, noise_power=0.5,
                 time_scale=1.0):
        self.problem = problem
        self.lr = lr
        self.correction = correction
        self.noise = noise and noise_scale > 0
        self.noise_scale, self.noise_power, self.time_scale = noise_scale, noise_power, time_scale
        self.dim = problem.dim
        self.position_dim = problem.dim
        self.noise_dim = _noise_dim(problem) if self.noise else 0
        #: The factor multiplying L(X) dW.
        lr_power = np.sqrt(lr) if noise_power == 0.5 else lr**noise_power
        self.noise_coefficient = noise_scale * np.sqrt(time_scale) * lr_power
        # Its square, formed so that the true SME gets exactly lr * cov.
        self._noise_variance = noise_scale**2 * time_scale * (
            lr if noise_power == 0.5 else lr ** (2 * noise_power))
        wrong = (noise_scale, noise_power, time_scale) != (1.0, 0.5, 1.0)
        self.name = (f"SGD SME (lr={lr:g}, c={correction:g}{'' if self.noise else ', no noise'}"
                     f"{', wrong noise or time scale' if wrong else ''})")
        self.linear = self._linear_structure()

    def drift(self, t, x):
        g = self.problem.grad(x)
        if self.correction != 0.0:
            g = g + 2.0 * self.correction * self.lr * self.problem.hvp(x, g)
        return -self.time_scale * g

    def diffusion(self, t, x):
        if not self.noise:
            return np.zeros(x.shape + (0,))
        return self.noise_coefficient * self.problem.noise_factor(x)

    def initial_state(self, x0):
        """The state for a start at ``x0`` (here: x0 itself)."""
        return state_vector(x0, self.dim)

    def _linear_structure(self):
        affine = self.problem.affine
        if affine is None:
            return None
        mean = np.asarray(affine.mean, dtype=float)
        F = -self.time_scale * (mean + 2.0 * self.correction * self.lr * affine.hessian @ mean)
        cov = np.asarray(affine.cov, dtype=float)
        C = self._noise_variance * cov if self.noise else np.zeros(cov.shape)
        return LinearStructure(
            drift_matrix=_Constant(F),
            noise_tensor=_Constant(C),
            time_homogeneous=True,
            additive=_offset_only(C),
        )


class _Constant:
    """t -> a fixed array (picklable, returns a copy so callers cannot mutate it)."""

    def __init__(self, value):
        self.value = np.asarray(value, dtype=float)

    def __call__(self, t):
        return self.value.copy()


def sgd_sme(problem, lr, order=1, *, correction=None, noise=True, noise_scale=1.0,
            noise_power=0.5, time_scale=1.0) -> SGDSME:
    """The stochastic modified equation of SGD with learning rate ``lr``.

    .. math::

        dX = -\\nabla\\big(f + c\\,\\eta\\,``|\\nabla f|^2``\\big)(X)\\,dt
             + \\sqrt{\\eta}\\,\\Sigma(X)^{1/2}\\,dW
           = -\\big(\\nabla f + 2c\\eta\\,\\nabla^2 f\\,\\nabla f\\big)\\,dt
             + \\sqrt{\\eta}\\,L(X)\\,dW,

    with eta = ``lr``, L = ``problem.noise_factor`` (L L^T = Sigma/B) and
    c = 0 for ``order=1`` (Li, Tai & E 2019, order-1 corollary) or c = 1/4 for ``order=2`` (the order-2 theorem, the
    only c giving weak order 2). Time t corresponds to SGD step k = t / lr.

    Parameters
    ----------
    problem : StochasticObjective
    lr : float
        Learning rate eta > 0.
    order : {1, 2}
        Weak order of the approximation (sets c = 0 or 1/4).
    correction : float, optional
        Overrides c (e.g. 0 or 1/2, which give only order 1; the chapters
        show this).
    noise : bool, default True
        False drops the diffusion: the modified ODE (order 2 drift) or the
        gradient flow (order 1), both only weak order 1 (SGD chapter).
    noise_scale : float, default 1
        a >= 0 in front of the noise, a lr^p Sigma^{1/2} dW. Only 1 is the SME;
        2 is the mutant "noise doubled" (:mod:`smecore.mutants`).
    noise_power : float, default 1/2
        The exponent p of lr in the noise. Only 1/2 is the SME; 1 is the
        mutant "noise scaled by lr instead of sqrt(lr)".
    time_scale : float, default 1
        s > 0: the SME in the time variable s t, i.e. drift times s and noise
        times sqrt(s) (SGD step k read as time s k lr). Only 1 is the SME;
        2 is the mutant "wrong time scale t = 2 k lr".

    Returns
    -------
    SGDSME
        An SDE with ``dim = noise_dim`` of the problem (0 without noise), and
        ``linear`` set when ``problem.affine`` is not None: drift matrix
        F = -(M + 2c lr A M), M = [A, b] = ``affine.mean``; noise tensor
        C = lr * ``affine.cov``; additive when only the offset column of the
        covariance is nonzero.

    Raises
    ------
    TypeError
        If ``problem`` is not a StochasticObjective.
    ValueError
        If ``lr`` is not positive or ``order`` is not 1 or 2.

    Examples
    --------
    >>> import numpy as np
    >>> from smecore.problems import GaussianQuadratic
    >>> sde = sgd_sme(GaussianQuadratic([2.0]), lr=0.1, order=2)
    >>> sde.drift(0.0, np.array([[1.0]]))  # -(2 + 0.1/2 * 2 * 2) * 1
    array([[-2.2]])
    >>> sde.diffusion(0.0, np.array([[1.0]])).shape
    (1, 1, 1)
    >>> sde.linear.additive
    True
    """
    forced = mutants.overrides("sgd_sme")
    correction = forced.get("correction", correction)
    noise = forced.get("noise", noise)
    noise_scale = forced.get("noise_scale", noise_scale)
    noise_power = forced.get("noise_power", noise_power)
    time_scale = forced.get("time_scale", time_scale)
    problem = _check_problem(problem)
    lr = positive_float(lr, "lr")
    if isinstance(order, bool) or order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    if correction is None:
        correction = 0.0 if order == 1 else ORDER2_CORRECTION
    else:
        if isinstance(correction, bool):
            raise TypeError("correction must be a real number, got bool")
        correction = float(finite_array(correction, "correction", ndim=0))
    noise_scale, noise_power, time_scale = (
        positive_float(v, name, allow_zero=name == "noise_scale") for v, name in
        ((noise_scale, "noise_scale"), (noise_power, "noise_power"), (time_scale, "time_scale")))
    return SGDSME(problem, lr, correction, _check_bool(noise, "noise"), noise_scale,
                  noise_power, time_scale)


# ---------------------------------------------------------------------------
# Momentum-type SMEs: state (X, V) in R^{2d}
# ---------------------------------------------------------------------------
class _SecondOrderSME(SDE):
    """dX = V dt, dV = (-friction(t) V + F(X)) dt + lr^{1/4} L(X) dW, F = -grad f."""

    def __init__(self, problem, lr, noise=True, noise_exponent=0.25, time_scale=0.5):
        self.problem = problem
        self.lr = lr
        self.position_dim = problem.dim
        self.dim = 2 * problem.dim
        self.has_noise = noise
        self.noise_dim = _noise_dim(problem) if noise else 0
        self.noise_exponent = noise_exponent
        self.noise_scale = lr**noise_exponent
        self.time_scale = time_scale
        #: The SME time of one step of the algorithm: t = k * time_step (sqrt(lr)).
        self.time_step = lr**time_scale

    def times_of(self, steps):
        """The SME times t = k * ``time_step`` of algorithm steps k (k sqrt(lr))."""
        return np.asarray(steps, dtype=float) * self.time_step

    # The pieces a friction-aware solver needs.
    def force(self, t, x):
        """F(x) = -grad f(x) for positions ``x`` of shape (n, d)."""
        return -self.problem.grad(x)

    def noise(self, t, x):
        """lr^{1/4} L(x) for positions ``x`` of shape (n, d); shape (n, d, p)."""
        if not self.has_noise:
            return np.zeros(x.shape + (0,))
        return self.noise_scale * self.problem.noise_factor(x)

    def diffusion(self, t, y):
        d = self.position_dim
        out = np.zeros(y.shape + (self.noise_dim,))
        out[:, d:, :] = self.noise(t, y[:, :d])
        return out

    def initial_state(self, x0):
        """(x0, 0): the SME starts at rest, like the algorithm (v_0 = 0)."""
        x0 = state_vector(x0, self.position_dim)
        return np.concatenate([x0, np.zeros_like(x0)])

    def _blocks(self, friction):
        """Drift matrix and noise tensor in z = [x; v; 1] for a given friction."""
        affine = self.problem.affine
        d = self.position_dim
        A, b = affine.hessian, affine.offset
        F = np.zeros((2 * d, 2 * d + 1))
        F[:d, d : 2 * d] = np.eye(d)
        F[d:, :d] = -A
        F[d:, d : 2 * d] = -friction * np.eye(d)
        F[d:, 2 * d] = -b
        # x-coordinates keep their index, the offset moves from d to 2d.
        index = np.r_[np.arange(d), 2 * d]
        C = np.zeros((2 * d, 2 * d + 1, 2 * d, 2 * d + 1))
        if self.has_noise:
            C[np.ix_(np.arange(d, 2 * d), index, np.arange(d, 2 * d), index)] = (
                self.noise_scale**2 * affine.cov
            )
        return F, C


class MomentumSME(_SecondOrderSME):
    """Heavy-ball SME dX = V dt, dV = -(damping V + grad f) dt + lr^{1/4} L dW.

    Built by :func:`momentum_sme`.
    """

    def __init__(self, problem, lr, damping, noise=True, noise_exponent=0.25, time_scale=0.5):
        super().__init__(problem, lr, noise, noise_exponent, time_scale)
        self.damping = damping
        self.momentum = 1.0 - damping * np.sqrt(lr)
        self.name = f"momentum SME (lr={lr:g}, damping={damping:g})"
        self.linear = None
        if problem.affine is not None:
            F, C = self._blocks(damping)
            self.linear = LinearStructure(
                _Constant(F), _Constant(C), time_homogeneous=True,
                additive=_offset_only(C),
            )

    def drift(self, t, y):
        d = self.position_dim
        x, v = y[:, :d], y[:, d:]
        return np.concatenate([v, self.force(t, x) - self.damping * v], axis=1)


def momentum_sme(problem, lr, *, momentum=None, damping=None, noise=True, noise_exponent=0.25,
                 time_scale=0.5, friction_factor=1.0) -> MomentumSME:
    """The SME of heavy-ball momentum SGD (momentum chapter), state (X, V) in R^{2d}.

    .. math::

        dX = V\\,dt,\\qquad
        dV = -(\\lambda V + \\nabla f(X))\\,dt + \\eta^{1/4}\\,\\Sigma(X)^{1/2}\\,dW,

    with time t = k sqrt(eta) and mu = 1 - lambda sqrt(eta).

    Two normalisations of the same algorithm give this SME:

    1. Standard (PyTorch-style) heavy ball v_{k+1} = mu v_k - eta g(x_k),
       x_{k+1} = x_k + v_{k+1}, v_0 = 0. Put h = sqrt(eta) and V_k = v_k / h:
       V_{k+1} = (1 - lambda h) V_k - h g(x_k), x_{k+1} = x_k + h V_{k+1}.
       So X ~ x and V ~ v / sqrt(eta) (:func:`momentum_state_map`).
    2. The step-h form above, read as a discretisation with step h: the SME
       is a weak order-1 approximation in h = sqrt(eta); its noise intensity
       sqrt(h) = eta^{1/4} comes from the per-step noise h L z of variance
       h^2 Sigma over a time step h.

    Constant-mu Nesterov has the same SME at this order. With
    v_k = x_k - x_{k-1}, its update y_k = x_k + mu v_k,
    x_{k+1} = y_k - eta g(y_k) reads v_{k+1} = mu v_k - eta g(x_k + mu v_k).
    In the scaled variables V_{k+1} = mu V_k - h g(x_k + mu h V_k)
    = mu V_k - h g(x_k) - h^2 mu grad^2 f(x_k) V_k + O(h^3): the difference
    from heavy ball is O(h^2) per step, i.e. O(h) over a unit of time (and
    the noise is evaluated at a point O(h) away), which is within the O(h)
    weak error of the order-1 SME.

    Parameters
    ----------
    problem : StochasticObjective
    lr : float
        Learning rate eta > 0.
    momentum : float, optional
        mu in (-inf, 1); then lambda = (1 - mu) / sqrt(eta).
    damping : float, optional
        lambda >= 0 directly; exactly one of ``momentum``, ``damping``.
    noise : bool, default True
        False gives the deterministic ODE (``noise_dim = 0``).
    noise_exponent : float, default 0.25
        The noise coefficient is ``lr ** noise_exponent`` Sigma^{1/2}; 1/4 is
        the SME. Other values are wrong equations (mutant M1:noise-exponent-1/2).
    time_scale : float, default 0.5
        Step k of the algorithm is identified with SME time
        t = k ``lr ** time_scale`` (attribute ``time_step``, method
        ``times_of``); 1/2 is the SME, 1 (t = k lr) the mutant M1:time-scale-eta.
    friction_factor : float, default 1
        Multiplies the friction lambda; 2 is the mutant M1:friction-doubled.

    Returns
    -------
    MomentumSME
        ``dim = 2d``; ``linear`` set (time homogeneous) for affine problems.
        Compare step k of the algorithm with the SME at ``sde.times_of(k)``.

    Raises
    ------
    ValueError
        If neither or both of ``momentum``/``damping`` are given, they are
        out of range, or ``noise_exponent``, ``time_scale`` or
        ``friction_factor`` is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> from smecore.problems import GaussianQuadratic
    >>> sde = momentum_sme(GaussianQuadratic([1.0]), lr=0.01, momentum=0.9)
    >>> round(sde.damping, 6)
    1.0
    >>> sde.drift(0.0, np.array([[1.0, 2.0]]))
    array([[ 2., -3.]])
    """
    forced = mutants.overrides("momentum_sme")
    noise = forced.get("noise", noise)
    noise_exponent = forced.get("noise_exponent", noise_exponent)
    time_scale = forced.get("time_scale", time_scale)
    friction_factor = forced.get("friction_factor", friction_factor)
    problem = _check_problem(problem)
    lr = positive_float(lr, "lr")
    noise_exponent = positive_float(noise_exponent, "noise_exponent")
    time_scale = positive_float(time_scale, "time_scale")
    friction_factor = positive_float(friction_factor, "friction_factor")
    if (momentum is None) == (damping is None):
        raise ValueError("give exactly one of momentum (mu) and damping (lambda)")
    if momentum is not None:
        if isinstance(momentum, bool):
            raise TypeError("momentum must be a real number, got bool")
        mu = float(finite_array(momentum, "momentum", ndim=0))
        if mu >= 1:
            raise ValueError(f"momentum must be < 1, got {mu}")
        damping = (1.0 - mu) / np.sqrt(lr)
    else:
        damping = positive_float(damping, "damping", allow_zero=True)
    return MomentumSME(problem, lr, float(damping) * friction_factor, _check_bool(noise, "noise"),
                       noise_exponent, time_scale)


def momentum_state_map(x, v, lr):
    """Map heavy-ball iterates (x, v) to SME coordinates (X, V) = (x, v / sqrt(lr)).

    Parameters
    ----------
    x, v : array_like, shape (..., d)
    lr : float

    Returns
    -------
    X, V : ndarray

    Examples
    --------
    >>> momentum_state_map([1.0], [0.1], 0.01)
    (array([1.]), array([1.]))
    """
    lr = positive_float(lr, "lr")
    return np.asarray(x, dtype=float), np.asarray(v, dtype=float) / np.sqrt(lr)


def momentum_state_unmap(X, V, lr):
    """Inverse of :func:`momentum_state_map`: (x, v) = (X, sqrt(lr) V).

    Examples
    --------
    >>> momentum_state_unmap([1.0], [1.0], 0.01)
    (array([1.]), array([0.1]))
    """
    lr = positive_float(lr, "lr")
    return np.asarray(X, dtype=float), np.asarray(V, dtype=float) * np.sqrt(lr)


class _NesterovDriftMatrix:
    def __init__(self, sde):
        self.sde = sde

    def __call__(self, t):
        if not t > 0:
            raise ValueError(
                f"t must be > 0: the Nesterov friction {self.sde.friction:g}/t is singular at "
                f"t = 0, got t = {t}"
            )
        F, _ = self.sde._blocks(self.sde.friction / t)
        return F


class NesterovSME(_SecondOrderSME):
    """dX = V dt, dV = -((r/t) V + grad f) dt + lr^{1/4} L dW (r = ``friction``).

    Built by :func:`nesterov_sme`. The solvers in :mod:`smecore.solvers`
    recognise it (attribute ``friction``) and integrate the r/t friction
    exactly (see :func:`nesterov_sme`).
    """

    def __init__(self, problem, lr, friction, noise=True, noise_exponent=0.25):
        super().__init__(problem, lr, noise, noise_exponent)
        self.friction = friction
        self.name = f"Nesterov SME (lr={lr:g}, friction={friction:g}/t)"
        self.linear = None
        if problem.affine is not None:
            _, C = self._blocks(0.0)
            self.linear = LinearStructure(
                _NesterovDriftMatrix(self), _Constant(C), time_homogeneous=False,
                additive=_offset_only(C),
            )

    def drift(self, t, y):
        d = self.position_dim
        x, v = y[:, :d], y[:, d:]
        force = self.force(t, x)
        if t == 0:
            # Along solutions with V(0) = 0, V ~ F t / (1 + r), so (r/t) V -> r F / (1 + r).
            dv = force / (1.0 + self.friction)
        else:
            dv = force - (self.friction / t) * v
        return np.concatenate([v, dv], axis=1)


def nesterov_sme(problem, lr, *, friction=3.0, noise=True, noise_exponent=0.25) -> NesterovSME:
    """The SME of stochastic Nesterov acceleration (Nesterov chapter), state (X, V).

    .. math::

        dX = V\\,dt,\\qquad
        dV = -\\Big(\\frac{3}{t}V + \\nabla f(X)\\Big)dt
             + \\eta^{1/4}\\,\\Sigma(X)^{1/2}\\,dW,
        \\qquad X(0) = x_0,\\ V(0) = 0,

    the Su-Boyd-Candes ODE plus noise, for the algorithm y_0 = x_0,
    x_{k+1} = y_k - eta g(y_k), y_{k+1} = x_{k+1} + k/(k+3) (x_{k+1} - x_k),
    with time t = k sqrt(eta) and X ~ x, V ~ (x_{k+1} - x_k)/sqrt(eta).

    The singular friction. Without noise V(t) = -grad f(x0) t / 4 + O(t^3),
    so ``drift(0, y)`` uses the limit dV/dt(0) = -grad f(x0) / 4 (in general
    F/(1 + r)), valid for the start V(0) = 0 (the only start with finite
    energy). The solvers never evaluate r/t: with the integrating factor
    t^r, d(t^r V) = t^r (-grad f dt + lr^{1/4} L dW), so over a step
    [a, b] the friction acts through the exact kernels (u/b)^r (on V) and
    K(u) = int_u^b (u/s)^r ds (on X), and only the smooth forcing and noise
    coefficient are interpolated (exponential-integrator schemes in
    :mod:`smecore.solvers`, weak orders 1 and 2 uniformly down to t = 0).

    Parameters
    ----------
    problem : StochasticObjective
    lr : float
        Learning rate eta > 0.
    friction : float, default 3
        r in the friction r/t (r > 1; Nesterov's momentum k/(k+3) gives 3;
        2 and 4 are the mutants N1:friction-r2 and N1:friction-r4).
    noise : bool, default True
        False gives the Su-Boyd-Candes ODE (``noise_dim = 0``; mutant
        N1:no-noise).
    noise_exponent : float, default 0.25
        The noise coefficient is ``lr ** noise_exponent`` Sigma^{1/2}; 1/4 is
        the SME, 1/2 the mutant N1:noise-exponent-1/2.

    Returns
    -------
    NesterovSME
        ``dim = 2d``; for affine problems ``linear`` has a time-dependent
        ``drift_matrix(t)`` (defined for t > 0 only) and
        ``time_homogeneous=False``.

    Examples
    --------
    >>> import numpy as np
    >>> from smecore.problems import GaussianQuadratic
    >>> sde = nesterov_sme(GaussianQuadratic([2.0]), lr=0.01)
    >>> sde.drift(0.0, np.array([[1.0, 0.0]]))  # limit: dV = -grad f / 4
    array([[ 0. , -0.5]])
    >>> sde.linear.drift_matrix(1.0)
    array([[ 0.,  1.,  0.],
           [-2., -3., -0.]])
    """
    forced = mutants.overrides("nesterov_sme")
    friction = forced.get("friction", friction)
    noise = forced.get("noise", noise)
    noise_exponent = forced.get("noise_exponent", noise_exponent)
    problem = _check_problem(problem)
    lr = positive_float(lr, "lr")
    friction = positive_float(friction, "friction")
    noise_exponent = positive_float(noise_exponent, "noise_exponent")
    if friction <= 1:
        raise ValueError(f"friction must be > 1, got {friction}")
    return NesterovSME(problem, lr, friction, _check_bool(noise, "noise"), noise_exponent)


def sme_initial_state(sde, x0) -> np.ndarray:
    """The SDE state for an algorithm started at ``x0``.

    For SGD SMEs this is x0; for momentum and Nesterov SMEs it is (x0, 0),
    matching v_0 = 0 and y_0 = x_0. For other SDEs x0 must already be a state.

    Parameters
    ----------
    sde : SDE
    x0 : array_like, shape (d,)

    Returns
    -------
    ndarray, shape (sde.dim,)

    Examples
    --------
    >>> from smecore.problems import GaussianQuadratic
    >>> sme_initial_state(nesterov_sme(GaussianQuadratic([1.0, 2.0]), 0.01), [1.0, 2.0])
    array([1., 2., 0., 0.])
    """
    if not isinstance(sde, SDE):
        raise TypeError(f"sde must be a smecore SDE, got {type(sde).__name__}")
    if hasattr(sde, "initial_state"):
        return sde.initial_state(x0)
    return state_vector(x0, sde.dim)


# Wrong equations that the claims about the SMEs of SGD must reject (see smecore.mutants).
for _result in ("S1", "S2"):
    mutants.register(mutants.Mutant(_result, "no-noise", "sgd_sme", {"noise": False},
                                    "the SME without its noise term: the (modified) gradient flow"))
    mutants.register(mutants.Mutant(_result, "noise-doubled", "sgd_sme", {"noise_scale": 2.0},
                                    "the SME with noise 2 sqrt(eta) Sigma^{1/2} dW: four times "
                                    "the diffusion"))
mutants.register(mutants.Mutant("S2", "no-correction", "sgd_sme", {"correction": 0.0},
                                "order-2 SME with c = 0: no (eta/4) grad |grad f|^2 correction"))
mutants.register(mutants.Mutant("S2", "correction-1/2", "sgd_sme", {"correction": 0.5},
                                "order-2 SME with c = 1/2 in place of 1/4"))
mutants.register(mutants.Mutant("S1", "noise-eta", "sgd_sme", {"noise_power": 1.0},
                                "the SME with noise eta Sigma^{1/2} dW instead of sqrt(eta) "
                                "Sigma^{1/2} dW"))
mutants.register(mutants.Mutant("S1", "time-scale-2", "sgd_sme", {"time_scale": 2.0},
                                "the SME on the wrong time scale t = 2 k eta (drift doubled, "
                                "diffusion doubled)"))


# Wrong equations that the claims about the momentum and Nesterov SMEs must reject.
for _key, _kw, _text in [
    ("no-noise", {"noise": False}, "the heavy-ball SME without its noise: the damped ODE"),
    ("noise-exponent-1/2", {"noise_exponent": 0.5},
     "noise eta^{1/2} Sigma^{1/2} in place of eta^{1/4} Sigma^{1/2}"),
    ("time-scale-eta", {"time_scale": 1.0}, "step k read at time t = k eta in place of k sqrt(eta)"),
    ("friction-doubled", {"friction_factor": 2.0}, "friction 2 lambda in place of lambda"),
]:
    mutants.register(mutants.Mutant("M1", _key, "momentum_sme", _kw, _text))
for _key, _kw, _text in [
    ("no-noise", {"noise": False}, "the Nesterov SME without its noise: the Su-Boyd-Candes ODE"),
    ("friction-r2", {"friction": 2.0}, "friction 2/t in place of 3/t"),
    ("friction-r4", {"friction": 4.0}, "friction 4/t in place of 3/t"),
    ("noise-exponent-1/2", {"noise_exponent": 0.5},
     "noise eta^{1/2} Sigma^{1/2} in place of eta^{1/4} Sigma^{1/2}"),
]:
    mutants.register(mutants.Mutant("N1", _key, "nesterov_sme", _kw, _text))
# The same wrong equations for the chapter "Your own problem" (result U1: orders of the SMEs
# of SGD on a user's logistic regression).
for _name, _kw, _what in (("no-noise", {"noise": False}, "the SME without its noise term"),
                          ("no-correction", {"correction": 0.0}, "order-2 SME with c = 0"),
                          ("correction-1/2", {"correction": 0.5}, "order-2 SME with c = 1/2")):
    mutants.register(mutants.Mutant("U1", _name, "sgd_sme", _kw, _what))
