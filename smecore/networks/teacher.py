"""Teacher-student regression with Gaussian label noise: gradient noise known exactly."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .mlp import MLP
from .objective import NetworkObjective


class TeacherStudent(NetworkObjective):
    """A student :class:`MLP` fits a teacher MLP's outputs on fixed Gaussian inputs.

    Inputs x_1..x_n ~ N(0, I_p) and a teacher with the same architecture (weights drawn
    once) give targets t_i. One stochastic sample is the whole input set with fresh
    Gaussian label noise, f(theta; eps) = (1/2n) sum_i (s_theta(x_i) - t_i - sigma eps_i)^2,
    eps ~ N(0, I_n). Its mean is F(theta) + sigma^2/2 with
    F(theta) = (1/2n) sum_i (s_theta(x_i) - t_i)^2, and

        grad f = grad F - (sigma/n) J(theta)^T eps,   J = d s_theta(x_i) / d theta  (n x dim),

    so the gradient noise is EXACTLY Gaussian, N(0, Sigma(theta)) with
    Sigma(theta) = (sigma/n)^2 J^T J. A batch of B samples averages B independent noise
    vectors: N(0, Sigma/B), again exactly.

    Consequence: the Euler-Maruyama step of the order-1 SME with step dt = lr,
    theta - lr grad F + sqrt(lr * lr / B) Sigma^{1/2} xi, has the same law as one SGD step.

    Parameters
    ----------
    n_inputs : int
        Number of input points n.
    sizes : sequence of int
        Architecture (last width must be 1).
    noise : float
        Label-noise standard deviation sigma >= 0.
    rng
        Seed for the inputs, the test inputs and the teacher's weights.
    activation : {"tanh", "softplus"}

    References
    ----------
    Q. Li, C. Tai, W. E, "Stochastic Modified Equations and Dynamics of Stochastic Gradient
    Algorithms I: Mathematical Foundations", JMLR 20(40), 2019.

    Examples
    --------
    >>> ts = TeacherStudent(50, (3, 8, 1), noise=0.5, rng=0)
    >>> theta = ts.model.init(1)
    >>> ts.sigma_product(theta, jnp.ones(ts.dim)).shape
    (41,)
    """

    metric_names = ("train_loss", "test_loss")

    def __init__(self, n_inputs=200, sizes=(8, 16, 1), noise=0.5, rng=0, activation="tanh"):
        model = MLP(sizes, activation)
        if model.sizes[-1] != 1:
            raise ValueError(f"sizes must end with output width 1, got {model.sizes[-1]}")
        if isinstance(n_inputs, bool) or not isinstance(n_inputs, (int, np.integer)) or n_inputs < 1:
            raise ValueError(f"n_inputs must be a positive int, got {n_inputs!r}")
        noise = float(noise)
        if not np.isfinite(noise) or noise < 0:
            raise ValueError(f"noise must be finite and >= 0, got {noise}")
        gen = np.random.default_rng(rng)
        self.model, self.noise, self.n = model, noise, int(n_inputs)
        self.dim = model.dim
        self.X = jnp.asarray(gen.standard_normal((self.n, model.sizes[0])))
        self.X_test = jnp.asarray(gen.standard_normal((1000, model.sizes[0])))
        self.teacher = model.init(gen)
        self.t = model.apply(jnp.asarray(self.teacher), self.X)[:, 0]
        self.t_test = model.apply(jnp.asarray(self.teacher), self.X_test)[:, 0]

    def outputs(self, theta):
        """Student outputs s_theta(x_i), shape (n,)."""
        return self.model.apply(theta, self.X)[:, 0]

    def loss(self, theta):
        """F(theta) = (1/2n) sum_i (s_theta(x_i) - t_i)^2 (the noise-free part)."""
        return 0.5 * jnp.mean((self.outputs(theta) - self.t) ** 2)

    def _jt(self, theta, u):
        """J(theta)^T u by one reverse pass."""
        return jax.vjp(self.outputs, theta)[1](u)[0]

    @property
    def noise_dim(self):
        """Dimension of the Gaussian vector z behind one noise sample (n)."""
        return self.n

    def noise_from_normal(self, theta, z):
        """The noise sample -(sigma/n) J^T z for a given z ~ N(0, I_n): Sigma^{1/2} xi in law.

        With z the increment of an n-dimensional Brownian motion, this is the diffusion of the
        SME written with the (dim x n) factor -(sigma/n) J^T of Sigma; SGD and Euler-Maruyama
        solutions driven by the same z are then coupled (see
        :func:`smecore.networks.coupled_weak_error`).
        """
        return -(self.noise / self.n) * self._jt(theta, z)

    def noise_sample(self, theta, key):
        """Sigma^{1/2} xi in law: -(sigma/n) J^T z, z ~ N(0, I_n)."""
        return self.noise_from_normal(theta, jax.random.normal(key, (self.n,)))

    def minibatch_grad(self, theta, key, batch, capacity=None):
        """grad f averaged over ``batch`` independent label-noise draws (exactly Gaussian)."""
        return self.grad(theta) + self.noise_sample(theta, key) / jnp.sqrt(batch)

    def sigma_product(self, theta, v):
        """Sigma v = (sigma/n)^2 J^T (J v)."""
        Jv = jax.jvp(self.outputs, (theta,), (v,))[1]
        return (self.noise / self.n) ** 2 * self._jt(theta, Jv)

    def jacobian(self, theta):
        """J(theta), shape (n, dim) (for tests on small networks)."""
        return jax.jacfwd(self.outputs)(theta)

    def metrics(self, theta):
        """Training loss F and the test loss on 1000 fresh inputs."""
        test = 0.5 * jnp.mean((self.model.apply(theta, self.X_test)[:, 0] - self.t_test) ** 2)
        return {"train_loss": self.loss(theta), "test_loss": test}
