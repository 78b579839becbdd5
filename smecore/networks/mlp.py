"""A smooth multilayer perceptron on a flat parameter vector, and the digits objective."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .data import DataError, DigitsData
from .objective import NetworkObjective

_ACTIVATIONS = {"tanh": jnp.tanh, "softplus": jax.nn.softplus}


class MLP:
    """Fully connected network ``sizes[0] -> ... -> sizes[-1]`` with a smooth activation.

    The parameters are one flat float64 vector: for each layer the weight matrix
    (row-major, shape ``(fan_in, fan_out)``) followed by the bias.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, at least two, all >= 1.
    activation : {"tanh", "softplus"}
        Smooth activation of the hidden layers (the output layer is linear).

    Examples
    --------
    >>> net = MLP((64, 32, 10))
    >>> net.dim
    2410
    >>> theta = net.init(0)
    >>> net.apply(theta, np.zeros((3, 64))).shape
    (3, 10)
    """

    def __init__(self, sizes=(64, 32, 10), activation="tanh"):
        sizes = tuple(sizes)
        if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1
                                 for s in sizes):
            raise ValueError(f"sizes must be at least two positive ints, got {sizes}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        self.sizes = tuple(int(s) for s in sizes)
        self.activation = activation
        self._act = _ACTIVATIONS[activation]
        self.shapes = [(a, b) for a, b in zip(self.sizes[:-1], self.sizes[1:])]
        self.dim = sum(a * b + b for a, b in self.shapes)

    def unflatten(self, theta):
        """Split the flat vector into ``[(W, b), ...]``."""
        layers, i = [], 0
        for a, b in self.shapes:
            W = theta[i:i + a * b].reshape(a, b)
            i += a * b
            layers.append((W, theta[i:i + b]))
            i += b
        return layers

    def apply(self, theta, X):
        """Network outputs for inputs ``X`` of shape ``(n, sizes[0])``: shape ``(n, sizes[-1])``."""
        h = X
        layers = self.unflatten(theta)
        for W, b in layers[:-1]:
            h = self._act(h @ W + b)
        W, b = layers[-1]
        return h @ W + b

    def init(self, rng, scale=1.0):
        """LeCun-normal weights (variance scale/fan_in), zero biases, as a float64 numpy vector.

        ``rng`` is anything ``numpy.random.default_rng`` accepts.
        """
        gen = np.random.default_rng(rng)
        parts = []
        for a, b in self.shapes:
            parts.append(gen.standard_normal(a * b) * np.sqrt(scale / a))
            parts.append(np.zeros(b))
        return np.concatenate(parts)


@jax.jit
def _centred_sq_norms(G):
    return jnp.mean(jnp.sum((G - G.mean(axis=0)) ** 2, axis=1))


def _sigma_trace(objective, theta):
    cache = objective.__dict__.setdefault("_program_cache", {})
    if "per_sample_grads" not in cache:
        cache["per_sample_grads"] = jax.jit(objective.per_sample_grads)
    return _centred_sq_norms(cache["per_sample_grads"](theta))


class DigitsObjective(NetworkObjective):
    """Mean cross-entropy of an :class:`MLP` on the training part of a :class:`DigitsData`.

    F(theta) = (1/n) sum_i l_i(theta), l_i the cross-entropy of sample i. A mini-batch
    gradient averages ``batch`` per-sample gradients drawn uniformly WITH replacement, so
    its covariance is Sigma(theta)/batch with

        Sigma(theta) = (1/n) sum_i (g_i - gbar)(g_i - gbar)^T,  g_i = grad l_i(theta).

    Parameters
    ----------
    model : MLP
        Its input width must equal the number of features and its output width the
        number of classes.
    data : DigitsData

    Raises
    ------
    DataError
        If the model's input or output width does not match the data.

    Notes
    -----
    **Sigma^{1/2} xi exactly in law, without a d x d matrix.** With z_1..z_n iid N(0, 1),
    v = n^{-1/2} sum_i (g_i - gbar) z_i is Gaussian (a linear map of z) with covariance
    n^{-1} sum_i (g_i - gbar)(g_i - gbar)^T = Sigma. Since sum_i (g_i - gbar) z_i =
    sum_i g_i (z_i - zbar), v is the gradient of the weighted loss
    sum_i w_i l_i(theta) with w_i = (z_i - zbar)/sqrt(n): ONE reverse-mode pass, no
    per-sample gradients stored (the same weights appear in the public code of
    Li, Malladi & Arora 2021, ``NGD_Module``). For batch B multiply by B^{-1/2}.
    Sigma v = (1/n) sum_i (g_i . v - mean) g_i costs one ``jvp`` (all g_i . v) and one
    ``vjp``.

    References
    ----------
    Q. Li, C. Tai, W. E, "Stochastic Modified Equations and Dynamics of Stochastic Gradient
    Algorithms I: Mathematical Foundations", JMLR 20(40), 2019.

    Z. Li, S. Malladi, S. Arora, "On the Validity of Modeling SGD with Stochastic Differential
    Equations (SDEs)", NeurIPS 2021 (arXiv:2102.12470); public code: GitHub
    ``sadhikamalladi/svag``, ``pl_modules/exp_modules.py``.

    Examples
    --------
    >>> from smecore.networks import load_digits_split
    >>> obj = DigitsObjective(MLP((64, 32, 10)), load_digits_split(1000))
    >>> theta = obj.model.init(0)
    >>> round(float(obj.loss(theta)), 1) > 0
    True
    >>> obj.per_sample_grads(theta).shape
    (1000, 2410)
    """

    metric_names = ("train_loss", "test_loss", "test_accuracy")

    def __init__(self, model: MLP, data: DigitsData):
        if not isinstance(model, MLP):
            raise TypeError(f"model must be an MLP, got {type(model).__name__}")
        if not isinstance(data, DigitsData):
            raise TypeError(f"data must be a DigitsData, got {type(data).__name__}")
        if model.sizes[0] != data.n_features:
            raise DataError(f"model input width {model.sizes[0]} does not match the data's "
                            f"{data.n_features} features")
        if model.sizes[-1] != data.n_classes:
            raise DataError(f"model output width {model.sizes[-1]} does not match the labels "
                            f"({data.n_classes} classes)")
        self.model, self.data = model, data
        self.dim = model.dim
        self.n = int(data.X_train.shape[0])
        self.X = jnp.asarray(data.X_train)
        self.y = jnp.asarray(data.y_train)
        self.X_test = jnp.asarray(data.X_test)
        self.y_test = jnp.asarray(data.y_test)

    # per-sample losses ---------------------------------------------------------------------
    def _losses(self, theta, X, y):
        logits = self.model.apply(theta, X)
        return jax.nn.logsumexp(logits, axis=1) - jnp.take_along_axis(logits, y[:, None], 1)[:, 0]

    def per_sample_losses(self, theta):
        """The n training losses l_i(theta)."""
        return self._losses(theta, self.X, self.y)

    def loss(self, theta):
        """Mean training cross-entropy F(theta)."""
        return jnp.mean(self.per_sample_losses(theta))

    def per_sample_grads(self, theta):
        """All n per-sample gradients, shape (n, dim), by ``jax.vmap(jax.grad)`` (tests, small n)."""
        one = lambda th, x, y: self._losses(th, x[None], y[None])[0]  # noqa: E731
        return jax.vmap(jax.grad(one), in_axes=(None, 0, 0))(theta, self.X, self.y)

    def weighted_grad(self, theta, w):
        """Gradient of sum_i w_i l_i(theta) (one reverse pass)."""
        return jax.grad(lambda th: jnp.dot(w, self.per_sample_losses(th)))(theta)

    # noise ---------------------------------------------------------------------------------
    def minibatch_grad(self, theta, key, batch, capacity=None):
        """Mean gradient over ``batch`` samples drawn uniformly with replacement.

        ``capacity`` (static, >= batch) fixes the array shape so that ``batch`` may be a
        traced value: ``capacity`` indices are drawn and the first ``batch`` are used.
        """
        cap = batch if capacity is None else capacity
        idx = jax.random.randint(key, (cap,), 0, self.n)
        w = (jnp.arange(cap) < batch) / batch
        return jax.grad(lambda th: jnp.dot(w, self._losses(th, self.X[idx], self.y[idx])))(theta)

    def _noise_weights(self, key):
        z = jax.random.normal(key, (self.n,))
        return (z - jnp.mean(z)) / jnp.sqrt(self.n)

    def noise_sample(self, theta, key):
        """Sigma(theta)^{1/2} xi exactly in law (see Notes of the class)."""
        return self.weighted_grad(theta, self._noise_weights(key))

    def sme_increment(self, theta, key, drift_dt, noise_scale, lr_order2=None):
        """-drift_dt b(theta) + noise_scale Sigma^{1/2} xi in one reverse pass (order 1)."""
        if lr_order2 is not None:
            return super().sme_increment(theta, key, drift_dt, noise_scale, lr_order2)
        w = -drift_dt / self.n + noise_scale * self._noise_weights(key)
        return self.weighted_grad(theta, w)

    def sigma_product(self, theta, v):
        """Sigma(theta) v without forming Sigma."""
        dots = jax.jvp(self.per_sample_losses, (theta,), (v,))[1]
        return self.weighted_grad(theta, (dots - jnp.mean(dots)) / self.n)

    def sigma_trace(self, theta):
        """tr Sigma(theta) = (1/n) sum_i ``|g_i - gbar|^2`` (per-sample gradients, chunk-free)."""
        return _sigma_trace(self, theta)

    # metrics -------------------------------------------------------------------------------
    def metrics(self, theta):
        """Training loss, test loss and test accuracy (a dict of scalars)."""
        logits = self.model.apply(theta, self.X_test)
        test_losses = jax.nn.logsumexp(logits, axis=1) - jnp.take_along_axis(
            logits, self.y_test[:, None], 1)[:, 0]
        acc = jnp.mean(jnp.argmax(logits, axis=1) == self.y_test)
        return {"train_loss": self.loss(theta), "test_loss": jnp.mean(test_losses),
                "test_accuracy": acc.astype(jnp.float64)}
