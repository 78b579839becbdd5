"""The interface every network objective offers to the simulators.

An objective is a finite sum (or an expectation) F(theta) = E f_gamma(theta) over a
flat float64 parameter vector theta. The simulators in :mod:`.simulate`,
:mod:`.svag` and :mod:`.sme` use only the methods below; all are pure JAX
functions, so they can be traced by ``jax.jit`` and mapped over runs by ``jax.vmap``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


class NetworkObjective:
    """Base class: loss, gradient, Hessian-vector and Sigma products, gradient noise.

    Subclasses define :meth:`loss`, :meth:`minibatch_grad`, :meth:`noise_sample`,
    :meth:`sigma_product` and :meth:`metrics`, and set ``dim`` and ``metric_names``.
    ``Sigma(theta)`` always denotes the covariance of the gradient noise of ONE sample
    (batch size 1); a batch of ``B`` independent samples has covariance ``Sigma / B``.
    """

    dim: int
    metric_names: tuple = ()

    # -- deterministic parts --------------------------------------------------------------
    def loss(self, theta):  # pragma: no cover - abstract
        raise NotImplementedError

    def grad(self, theta):
        """Gradient of the full objective F."""
        return jax.grad(self.loss)(theta)

    def hvp(self, theta, v):
        """Hessian-vector product H(theta) v, forward-over-reverse (``jax.jvp`` of the gradient)."""
        return jax.jvp(self.grad, (theta,), (v,))[1]

    def modified_gradient(self, theta, lr):
        """Gradient of the order-2 modified loss F + (lr/4)``|grad F|^2``, i.e. grad F + (lr/2) H grad F."""
        g = self.grad(theta)
        return g + 0.5 * lr * self.hvp(theta, g)

    # -- noise ------------------------------------------------------------------------------
    def minibatch_grad(self, theta, key, batch, capacity=None):  # pragma: no cover - abstract
        """Mini-batch gradient; ``batch`` may be traced when the static ``capacity`` is given."""
        raise NotImplementedError

    def noise_sample(self, theta, key):  # pragma: no cover - abstract
        """A sample of Sigma(theta)^{1/2} xi, xi ~ N(0, I), exact in law."""
        raise NotImplementedError

    def sigma_product(self, theta, v):  # pragma: no cover - abstract
        raise NotImplementedError

    def sme_increment(self, theta, key, drift_dt, noise_scale, lr_order2=None):
        """Euler-Maruyama increment -drift_dt * b(theta) + noise_scale * Sigma^{1/2} xi.

        ``b = grad F`` (order 1) or ``grad F + (lr/2) H grad F`` (order 2, ``lr_order2`` given).
        """
        drift = self.grad(theta) if lr_order2 is None else self.modified_gradient(theta, lr_order2)
        return -drift_dt * drift + noise_scale * self.noise_sample(theta, key)

    def metrics(self, theta):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- helpers ----------------------------------------------------------------------------
    def check_theta(self, theta, name="theta0"):
        """Validate a parameter vector (shape ``(dim,)``, finite) and return it as float64."""
        arr = np.asarray(theta, dtype=float)
        if arr.shape != (self.dim,):
            raise ValueError(f"{name} must have shape ({self.dim},), got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must contain only finite values")
        return jnp.asarray(arr)
