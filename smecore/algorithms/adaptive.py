"""cSGD and cMSGD with online estimators, as the authors implement them.

Li, Tai & E (ICML 2017) turn the SME of a local quadratic model into two feedback
controllers: cSGD scales the learning rate by u in [0, 1], cMSGD sets the momentum
parameter mu. Their implementation (GitHub ``LiQianxiao/cSGD-cMSGD``, file
``src/csgd.py``, classes ``CSGDOptimizer`` and ``CMSGDOptimizer``) estimates the model
per coordinate online. This module restates that implementation as pure array
functions (numpy by default; pass ``xp=jax.numpy`` to trace them under JAX, as
``smecore.networks.control`` does), so that one formula serves both the
quadratic reference loop :func:`run_quadratic` and the network loops.

**What the source determines** (every constant below is read from ``src/csgd.py``).
Per coordinate i, with g the mini-batch gradient and x the parameter:

* Exponential moving averages (``_ema_mean``, ``_ema_var``, ``_ema_covar``) of the
  mean of g and of x, the variance of g and of x and their covariance, all started
  at 0. The (co)variances are updated first, from the old means:
  ``V <- V - (1 - beta) (V - beta (v - mean)(w - mean'))``; then the means,
  ``mean <- mean - (1 - beta)(mean - v)``.
* The decay ``beta`` starts at ``beta_min`` and is reset after every step
  (``_update_beta``) to ``beta_min + (beta_max - beta_min) r``,
  ``r = clip(var g / (mean g^2 + var g), 0, 1)``: a noisy coordinate averages longer.
  Defaults ``beta_min = 0.9``, ``beta_max = 0.99``.
* The regression of g on x (``_update_u``, ``_update_mu``):
  ``a = cov(g, x) / var x``, ``Sigma = var g``, ``m = (mean g^2 + var g) / (2 a)``.
  The intercept b is never formed.
* cSGD (``_update_u``): target ``u* = 2 m / (eta_max Sigma)``, then ``min(u*, 1)``,
  and ``u* = 1`` wherever it is not positive (a <= 0, or 0/0). The multiplier is
  itself averaged, ``u <- u - (1 - beta)(u - u*)``, and the step is
  ``x <- x - eta_max u g`` with the u of the previous step. Defaults
  ``eta_max = 0.1``, initial ``u = learning_rate = 1.0``.
* cMSGD (``_update_mu``): ``mu* = min(relu(1 - 2 sqrt(lr |a|)), relu(1 - lr Sigma /
  (4 m)))`` (critical damping, and the stationary level), ``mu* = 1`` wherever a is
  not positive; ``mu <- mu - (1 - beta)(mu - mu*)``; the step is
  ``v <- mu v - lr g``, ``x <- x + v`` with the mu of the previous step. Defaults
  ``lr = 0.1``, initial ``mu = 0.9``. (The second term never binds, see
  :func:`cmsgd_online_target`: mu* is critical damping at the estimated curvature.)

On a direction the estimator sees as non-convex (a <= 0) both controllers move
towards their largest value: cSGD towards the full rate eta_max (u* = 1), cMSGD
towards mu* = 1, no friction.

**What the source leaves open.**

* The EMA update and the parameter update carry no control dependency on each other
  in ``_train_ops``, so whether the x fed to the regression is the parameter before
  or after the step is not fixed by the graph. Here it is the parameter *before* the
  step, the point at which g was evaluated (the regression model g = a (x - b) + noise).
* A coordinate whose gradient is exactly 0 at every step gives 0/0 in ``r`` and in
  the estimates; the TensorFlow result of clipping NaN is not specified. Here r = 1
  is used there (so beta = beta_max) and the targets fall back to 1 as for a <= 0.
* The source has no warm-up: the controller acts from the first step, on estimates
  started at 0. ``warmup`` (default 0, the source) holds the multiplier at its
  initial value for that many steps; it is provided to study the start-up, and the
  book uses 0.

References
----------
Li, Q., Tai, C. & E, W. (2017). Stochastic modified equations and adaptive stochastic
gradient algorithms. ICML, PMLR 70, 2101-2110. Implementation: GitHub
``LiQianxiao/cSGD-cMSGD``, ``src/csgd.py`` (``CSGDOptimizer._update_ema``,
``_update_beta``, ``_update_u``; ``CMSGDOptimizer._update_mu``, ``_update_params``).
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import mutants
from .._validation import positive_float, positive_int

__all__ = ["AdaptiveSettings", "ema_init", "ema_update", "online_estimates", "adapt_decay",
           "csgd_online_target", "cmsgd_online_target", "adaptive_init", "adaptive_step",
           "run_quadratic", "plugin_quadratic", "compare_with_plugin"]


class AdaptiveSettings:
    """Validated hyper-parameters of cSGD / cMSGD (defaults of ``src/csgd.py``).

    Parameters
    ----------
    method : {"csgd", "cmsgd"}
    lr : float
        cSGD: ``eta_max``, the largest rate (source default 0.1); cMSGD: the fixed
        learning rate (source default 0.1). Must be > 0.
    init : float
        cSGD: the initial multiplier u0 (source ``learning_rate``, default 1.0), in (0, 1];
        cMSGD: the initial momentum mu0 (source ``momentum``, default 0.9), in [0, 1).
        ``None`` takes the source default.
    beta_min, beta_max : float
        Bounds of the EMA decay, 0 < beta_min <= beta_max < 1 (source: 0.9, 0.99).
    warmup : int
        Steps during which the multiplier is held at ``init`` (not in the source; 0).

    Raises
    ------
    ValueError
        Naming the argument: a non-positive ``lr``, an ``init`` out of range, a decay rate
        outside (0, 1) or ``beta_min > beta_max``, a negative ``warmup``, an unknown method.
    TypeError
        If an argument is not a number.

    Examples
    --------
    >>> s = AdaptiveSettings("csgd", lr=0.2, init=0.01)
    >>> s.lr, s.init, s.beta_min, s.beta_max
    (0.2, 0.01, 0.9, 0.99)
    >>> AdaptiveSettings("cmsgd").init
    0.9
    """

    def __init__(self, method, lr=0.1, init=None, beta_min=0.9, beta_max=0.99, warmup=0):
        if method not in ("csgd", "cmsgd"):
            raise ValueError(f"method must be 'csgd' or 'cmsgd', got {method!r}")
        self.method = method
        self.lr = positive_float(lr, "lr")
        if init is None:
            init = 1.0 if method == "csgd" else 0.9
        name = "init (initial multiplier u0)" if method == "csgd" else "init (initial momentum mu0)"
        if isinstance(init, bool) or not isinstance(init, numbers.Real) or not np.isfinite(init):
            raise TypeError(f"{name} must be a finite real number, got {init!r}")
        if method == "csgd" and not 0 < init <= 1:
            raise ValueError(f"{name} must lie in (0, 1], got {init}")
        if method == "cmsgd" and not 0 <= init < 1:
            raise ValueError(f"{name} must lie in [0, 1), got {init}")
        self.init = float(init)
        for nm, val in (("beta_min", beta_min), ("beta_max", beta_max)):
            if isinstance(val, bool) or not isinstance(val, numbers.Real):
                raise TypeError(f"{nm} must be a real number, got {type(val).__name__}")
            if not 0 < val < 1:
                raise ValueError(f"{nm} must lie in (0, 1), got {val}")
        if beta_min > beta_max:
            raise ValueError(f"beta_min must be <= beta_max, got {beta_min} > {beta_max}")
        self.beta_min, self.beta_max = float(beta_min), float(beta_max)
        self.warmup = positive_int(warmup, "warmup", allow_zero=True)

    def __repr__(self):
        return (f"AdaptiveSettings({self.method!r}, lr={self.lr}, init={self.init}, "
                f"beta_min={self.beta_min}, beta_max={self.beta_max}, warmup={self.warmup})")


def ema_init(x0, beta_min=0.9, xp=np):
    """Zero moving averages and decay ``beta_min`` for parameters shaped like ``x0``.

    Returns
    -------
    dict
        Keys ``g, g_var, x, x_var, gx_cov, beta`` (``_set_ema_vars`` of the source).

    Examples
    --------
    >>> sorted(ema_init(np.zeros(3)))
    ['beta', 'g', 'g_var', 'gx_cov', 'x', 'x_var']
    """
    z = xp.zeros_like(x0)
    return {"g": z, "g_var": z, "x": z, "x_var": z, "gx_cov": z, "beta": z + beta_min}


def ema_update(ema, grad, x):
    """One update of the moving (co)variances, then of the means (``_update_ema``).

    ``V <- V - (1 - beta)(V - beta (g - gbar)(x - xbar))`` with the old means, then
    ``gbar <- gbar - (1 - beta)(gbar - g)``, likewise ``xbar``. Returns a new dict.

    Examples
    --------
    >>> e = ema_update(ema_init(np.zeros(1)), np.array([1.0]), np.array([2.0]))
    >>> [round(float(e[k][0]), 4) for k in ("g", "x", "g_var", "gx_cov")]
    [0.1, 0.2, 0.09, 0.18]
    """
    beta = ema["beta"]
    dg, dx = grad - ema["g"], x - ema["x"]
    out = dict(ema)
    out["g_var"] = ema["g_var"] - (1 - beta) * (ema["g_var"] - beta * dg * dg)
    out["x_var"] = ema["x_var"] - (1 - beta) * (ema["x_var"] - beta * dx * dx)
    out["gx_cov"] = ema["gx_cov"] - (1 - beta) * (ema["gx_cov"] - beta * dg * dx)
    out["g"] = ema["g"] + (1 - beta) * dg
    out["x"] = ema["x"] + (1 - beta) * dx
    return out


def online_estimates(ema, xp=np):
    """Curvature a, intercept b, noise Sigma and the quantity m of the source, per coordinate.

    ``a = cov(g, x) / var x`` (slope of the regression of g on x), ``Sigma = var g``,
    ``m = (gbar^2 + var g) / (2 a)``. Where ``var x = 0`` a is NaN (as in the source).
    ``b = xbar - gbar / a`` (the minimiser of the fitted model) is not used by the source's
    laws; it is returned for the tests of the regression.

    Note that ``Sigma`` is the moving variance of the gradient *stream*: it contains the
    gradient noise plus a^2 times the moving variance of x (the source uses it as the
    noise level).

    Examples
    --------
    >>> e = {"g": np.array([1.0]), "g_var": np.array([2.0]), "x": np.array([1.0]),
    ...      "x_var": np.array([0.5]), "gx_cov": np.array([1.0])}
    >>> {k: float(v[0]) for k, v in online_estimates(e).items()}
    {'a': 2.0, 'b': 0.5, 'sigma': 2.0, 'm': 0.75}
    """
    # The mutant C2:regression-on-g divides by the gradient's variance instead of x's.
    spread = ema["g_var"] if mutants.overrides("adaptive_regression").get("over_g") else ema["x_var"]
    with np.errstate(divide="ignore", invalid="ignore"):
        a = ema["gx_cov"] / spread
        m = 0.5 * (ema["g"] ** 2 + ema["g_var"]) / a
        b = ema["x"] - ema["g"] / a
    return {"a": a, "b": b, "sigma": ema["g_var"], "m": m}


def adapt_decay(ema, beta_min, beta_max, xp=np):
    """The next decay: ``beta_min + (beta_max - beta_min) clip(var g/(gbar^2 + var g), 0, 1)``.

    Where gbar = var g = 0 the ratio is taken as 1 (the source leaves 0/0 open).

    Examples
    --------
    >>> e = {"g": np.array([0.0, 1.0]), "g_var": np.array([1.0, 0.0])}
    >>> [round(float(b), 6) for b in adapt_decay(e, 0.9, 0.99)]
    [0.99, 0.9]
    """
    total = ema["g"] ** 2 + ema["g_var"]
    safe = xp.where(total > 0, total, 1.0)
    r = xp.where(total > 0, ema["g_var"] / safe, 1.0)
    return beta_min + (beta_max - beta_min) * xp.clip(r, 0.0, 1.0)


def _feedback_law(law):
    law = mutants.overrides("csgd_online_feedback").get("law", law)
    if law not in ("source", "inverted", "no-extra-term"):
        raise ValueError(f"law must be 'source', 'inverted' or 'no-extra-term', got {law!r}")
    return law


def csgd_online_target(a, g_mean, g_var, eta_max, *, law="source", xp=np):
    """cSGD's target multiplier u* from the online estimates (``CSGDOptimizer._update_u``).

    ``u* = min(1, 2 m / (eta_max Sigma)) = min(1, (gbar^2 + var g) / (a eta_max var g))``,
    and ``u* = 1`` wherever this is not positive: a direction with a <= 0 (non-convex as
    far as the estimator can tell) or with 0/0 gets the full rate eta_max.

    Parameters
    ----------
    a, g_mean, g_var : array_like
        Estimated curvature, moving mean and moving variance of the gradient.
    eta_max : float
        The largest learning rate.
    law : {"source", "inverted", "no-extra-term"}
        "source" is the law above. Two wrong laws are kept for mutants (see
        :mod:`smecore.mutants`; an active mutant's law takes precedence): "inverted",
        ``u* = min(1, eta_max a var g / (gbar^2 + var g))`` (``C1:wrong-feedback``), and
        "no-extra-term", ``u* = min(1, gbar^2 / (a eta_max var g))``, the source's law without
        its term ``1 / (a eta_max)`` (``C1:no-extra-term``).

    Returns
    -------
    ndarray

    Examples
    --------
    >>> [float(u) for u in csgd_online_target(np.array([1.0, 50.0, -1.0]), 0.0, 1.0, 0.1)]
    [1.0, 0.2, 1.0]
    """
    law = _feedback_law(law)
    with np.errstate(divide="ignore", invalid="ignore"):
        if law == "source":
            u = (g_mean ** 2 + g_var) / (a * eta_max * g_var)
        elif law == "inverted":
            u = a * eta_max * g_var / (g_mean ** 2 + g_var)
        else:
            u = g_mean ** 2 / (a * eta_max * g_var)
    u = xp.minimum(u, 1.0)
    return xp.where(u > 0, u, 1.0)


def cmsgd_online_target(a, g_mean, g_var, lr, xp=np):
    """cMSGD's target momentum mu* from the online estimates (``CMSGDOptimizer._update_mu``).

    ``mu* = min(relu(1 - 2 sqrt(lr |a|)), relu(1 - lr Sigma / (4 m)))`` with
    ``m = (gbar^2 + var g)/(2a)``: the first term is critical damping of the
    heavy-ball SME on curvature a, the second the level at which the stationary
    fluctuation balances the remaining decrease. Wherever ``a`` is not positive
    (or NaN) ``mu* = 1``.

    As written, the second term never binds: since var g <= gbar^2 + var g, it is at
    least ``1 - lr a / 2``, and wherever ``1 - 2 sqrt(lr a) >= 0`` (lr a <= 1/4),
    ``2 sqrt(lr a) >= 4 lr a > lr a / 2``. So for a > 0, ``mu* = max(0, 1 - 2 sqrt(lr a))``:
    critical damping at the estimated curvature (checked in ``tests/test_control.py``).

    Examples
    --------
    >>> [round(float(m), 6) for m in cmsgd_online_target(np.array([0.01, -1.0]), 1.0, 1.0, 0.01)]
    [0.98, 1.0]
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = xp.maximum(1 - 2 * xp.sqrt(lr * xp.abs(a)), 0.0)
        m = 0.5 * (g_mean ** 2 + g_var) / a
        f2 = xp.maximum(1 - 0.25 * lr * g_var / m, 0.0)
    return xp.where(a > 0, xp.minimum(f1, f2), 1.0)


def adaptive_step(state, grad, x, settings, step, xp=np):
    """One step of cSGD or cMSGD: returns ``(x_new, state_new)``.

    ``state`` holds the EMA dict under ``"ema"``, the multiplier ``"c"`` (u or mu) and,
    for cMSGD, the velocity ``"v"``. The order is the source's: moving averages with
    (grad, x) and the current beta; the parameter step with the current multiplier;
    the new target and the multiplier's average with the current beta; then beta.
    """
    s = settings
    ema = ema_update(state["ema"], grad, x)
    if s.method == "csgd":
        x_new, v = x - s.lr * state["c"] * grad, state["v"]
    else:
        v = state["c"] * state["v"] - s.lr * grad
        x_new = x + v
    est = online_estimates(ema, xp)
    if s.method == "csgd":
        target = csgd_online_target(est["a"], ema["g"], ema["g_var"], s.lr, xp=xp)
    else:
        target = cmsgd_online_target(est["a"], ema["g"], ema["g_var"], s.lr, xp=xp)
    c = state["c"] - (1 - ema["beta"]) * (state["c"] - target)
    frozen = mutants.overrides("adaptive_feedback").get("frozen", False)  # mutant C3:no-feedback
    c = xp.where((step < s.warmup) | frozen, state["c"], c)
    ema["beta"] = adapt_decay(ema, s.beta_min, s.beta_max, xp)
    return x_new, {"ema": ema, "c": c, "v": v}


def adaptive_init(x0, settings, xp=np):
    """Initial state of :func:`adaptive_step` for parameters ``x0``."""
    return {"ema": ema_init(x0, settings.beta_min, xp), "c": xp.zeros_like(x0) + settings.init,
            "v": xp.zeros_like(x0)}


def run_quadratic(settings, a, b, noise_var, x0, n_steps, n_runs, rng, *, every=1):
    """cSGD / cMSGD on f(x) = sum_i a_i (x_i - b_i)^2 / 2 with Gaussian gradient noise.

    The sampled gradient is ``a (x - b) + sqrt(noise_var) z``, z standard normal, so the
    true curvature, minimiser and noise variance of each coordinate are known.
    All ``n_runs`` runs advance together (numpy, vectorised over runs).

    Parameters
    ----------
    settings : AdaptiveSettings
    a, b, noise_var : array_like, shape (d,)
        Curvatures (> 0), minimisers and noise variances (> 0).
    x0 : array_like, shape (d,)
    n_steps, n_runs : int
    rng : None, int, SeedSequence or Generator
        Anything ``numpy.random.default_rng`` accepts.
    every : int
        Record every ``every`` steps.

    Returns
    -------
    dict
        ``steps`` (R + 1,), ``sq`` (R + 1, n_runs, d): (x - b)^2, ``c`` (R + 1, n_runs, d):
        the multiplier u or momentum mu, and ``a_hat``, ``sigma_hat`` (n_runs, d): the
        final estimates.

    Raises
    ------
    TypeError, ValueError
        Naming the argument.

    Examples
    --------
    >>> s = AdaptiveSettings("csgd", lr=0.1)
    >>> out = run_quadratic(s, [1.0], [0.0], [1.0], [1.0], 100, 4, rng=0)
    >>> out["sq"].shape, out["c"].shape
    ((101, 4, 1), (101, 4, 1))
    """
    if not isinstance(settings, AdaptiveSettings):
        raise TypeError(f"settings must be an AdaptiveSettings, got {type(settings).__name__}")
    a, b, s2, x0 = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (a, b, noise_var, x0))
    if not (a.shape == b.shape == s2.shape == x0.shape and a.ndim == 1):
        raise ValueError("a, b, noise_var and x0 must be 1-d arrays of the same length")
    if np.any(a <= 0) or not np.all(np.isfinite(a)):
        raise ValueError("a must be finite and > 0")
    if np.any(s2 <= 0) or not np.all(np.isfinite(s2)):
        raise ValueError("noise_var must be finite and > 0")
    n_steps = positive_int(n_steps, "n_steps")
    n_runs = positive_int(n_runs, "n_runs")
    every = positive_int(every, "every")
    gen = np.random.default_rng(rng)
    x = np.broadcast_to(x0, (n_runs, a.size)).copy()
    state = adaptive_init(x, settings)
    sq, cs, steps = [(x - b) ** 2], [state["c"].copy()], [0]
    for k in range(n_steps):
        g = a * (x - b) + np.sqrt(s2) * gen.standard_normal(x.shape)
        x, state = adaptive_step(state, g, x, settings, k)
        if (k + 1) % every == 0:
            sq.append((x - b) ** 2)
            cs.append(state["c"].copy())
            steps.append(k + 1)
    est = online_estimates(state["ema"])
    return {"steps": np.array(steps), "sq": np.array(sq), "c": np.array(cs),
            "a_hat": est["a"], "sigma_hat": est["sigma"]}


def plugin_quadratic(method, a, noise_var, lr, m0, n_steps, *, variance="stream", a_law=None):
    """The source's feedback law fed with exact inputs instead of estimates: exact moments.

    On f = a (x - b)^2 / 2 with gradient noise of variance Sigma, started at a deterministic
    x0 with (x0 - b)^2 = m0, the mean mu_k = E(x_k - b) and m_k = E(x_k - b)^2 follow exactly
    for a deterministic control, and so do the population values of what the source's moving
    averages estimate: E g = a mu, Var g = a^2 (m - mu^2) + Sigma, E g^2 = a^2 m + Sigma.
    Feeding these to the law (no estimation, no averaging lag) gives the *plug-in oracle*.
    The source's "Sigma" is the moving variance of the gradient stream (see
    :func:`online_estimates`), so two readings of "the true Sigma" exist:

    * ``variance="stream"`` (default): Sigma_law = Var g, the population value of the
      quantity the code estimates. cSGD: u = min(1, E g^2 / (a lr Var g)); once the mean has
      decayed (E g)^2 << Var g and u -> min(1, 1 / (a lr)).
    * ``variance="noise"``: Sigma_law = Sigma, the gradient-noise variance of the paper's
      model. cSGD: u = min(1, (a^2 m + Sigma) / (a lr Sigma)) = min(1, a m/(lr Sigma) +
      1/(a lr)). From any m0 >= the constant-rate level lr Sigma / (a (2 - a lr)) this stays
      >= 2 / (a lr (2 - a lr)) >= 2: u = 1 at every step, whatever a lr < 2.

    Both readings give u = 1 at every step when a lr <= 1 (u* >= 1/(a lr) in both).
    Then m <- (1 - lr u a)^2 m + lr^2 u^2 Sigma. cMSGD: mu = :func:`cmsgd_online_target`
    at the exact values, and the moments (E y^2, E y v, E v^2) of y = x - b,
    v <- mu v - lr g, y <- y + v, from v = 0 (its law depends on a alone, see there).

    The true formulas are used whatever mutant is active.

    Parameters
    ----------
    method : {"csgd", "cmsgd"}
    a, noise_var, lr, m0 : float
        Curvature, noise variance, learning rate (cSGD: eta_max), (x0 - b)^2; all > 0.
    n_steps : int
    variance : {"stream", "noise"}
        What the law is fed as its Sigma (above).
    a_law : float, optional
        The curvature fed to the law (default ``a``); the dynamics always use ``a``. Feeding
        an estimate here measures how much a bias of the curvature estimate matters.

    Returns
    -------
    m, c : ndarray, shape (n_steps + 1,)
        E(x_k - b)^2 and the control (u or mu) in force at step k.

    Examples
    --------
    >>> m, u = plugin_quadratic("csgd", 1.0, 1.0, 0.1, 9.0, 5000)
    >>> round(float(m[-1]), 6), float(u.min())        # lr Sigma / (a (2 - a lr)), u = 1
    (0.052632, 1.0)
    >>> m, u = plugin_quadratic("csgd", 15.0, 1.0, 0.1, 9.0, 5000)   # a lr = 1.5
    >>> round(float(u[-1]), 6), round(float(m[-1] * 15 ** 2), 6)  # u -> 1/(a lr), m -> Sigma/a^2
    (0.666667, 1.0)
    >>> float(plugin_quadratic("csgd", 15.0, 1.0, 0.1, 9.0, 5000, variance="noise")[1].min())
    1.0
    """
    if method not in ("csgd", "cmsgd"):
        raise ValueError(f"method must be 'csgd' or 'cmsgd', got {method!r}")
    if variance not in ("stream", "noise"):
        raise ValueError(f"variance must be 'stream' or 'noise', got {variance!r}")
    a, s2, lr = positive_float(a, "a"), positive_float(noise_var, "noise_var"), positive_float(lr, "lr")
    al = a if a_law is None else positive_float(a_law, "a_law")
    m = positive_float(m0, "m0", allow_zero=True)
    n_steps = positive_int(n_steps, "n_steps")
    mean = np.sqrt(m)  # deterministic start: E(x0 - b)^2 = (x0 - b)^2
    ms, cs = [m], []
    yv = vv = 0.0
    for _ in range(n_steps):
        eg2 = a * a * m + s2
        s_law = a * a * max(m - mean * mean, 0.0) + s2 if variance == "stream" else s2
        if method == "csgd":
            c = min(1.0, eg2 / (al * lr * s_law))
            mean = (1 - lr * c * a) * mean
            m = (1 - lr * c * a) ** 2 * m + lr * lr * c * c * s2
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                f1 = max(1 - 2 * np.sqrt(lr * al), 0.0)
                f2 = max(1 - 0.25 * lr * s_law / (0.5 * eg2 / al), 0.0)
            c = min(f1, f2)
            # v' = -lr a y + c v - lr xi ; y' = (1 - lr a) y + c v - lr xi
            p1, p2, d1 = -lr * a, c, 1 - lr * a
            vv_new = p1 * p1 * m + 2 * p1 * p2 * yv + p2 * p2 * vv + lr * lr * s2
            yv_new = d1 * p1 * m + (d1 * p2 + p2 * p1) * yv + p2 * p2 * vv + lr * lr * s2
            m = d1 * d1 * m + 2 * d1 * p2 * yv + p2 * p2 * vv + lr * lr * s2
            yv, vv = yv_new, vv_new
        ms.append(m)
        cs.append(c)
    cs.append(cs[-1])
    return np.array(ms), np.array(cs)


def compare_with_plugin(settings, a, noise_var, x0, n_steps, n_runs, rng, *, variance="stream"):
    """Online controller against its plug-in oracle on a one-dimensional quadratic.

    Runs :func:`run_quadratic` (b = 0) and :func:`plugin_quadratic` and compares the
    final second moments E(x_N - b)^2.

    Parameters
    ----------
    settings : AdaptiveSettings
    a, noise_var, x0 : float
    n_steps, n_runs : int
    rng
        Anything ``numpy.random.default_rng`` accepts.
    variance : {"stream", "noise"}
        The plug-in oracle's reading of Sigma (see :func:`plugin_quadratic`).

    Returns
    -------
    dict
        ``m_online`` and its standard error ``se``, ``m_plugin``, ``rel_gap`` =
        m_online / m_plugin - 1 and its standard error ``se_rel``, the mean final control
        ``c_online`` with its standard error ``se_c`` and the plug-in's ``c_plugin``, the
        median estimate ``a_hat`` over runs, the plug-in's paths ``m_plugin_path`` and
        ``c_plugin_path`` and the full ``run`` output.

    Examples
    --------
    >>> out = compare_with_plugin(AdaptiveSettings("csgd", lr=0.1), 1.0, 1.0, 3.0, 500, 200, rng=0)
    >>> bool(abs(out["rel_gap"]) < 5 * out["se_rel"] + 0.25)
    True
    """
    run = run_quadratic(settings, [a], [0.0], [noise_var], [x0], n_steps, n_runs, rng,
                        every=max(1, n_steps // 400))
    m_plug, c_plug = plugin_quadratic(settings.method, a, noise_var, settings.lr, x0 ** 2, n_steps,
                                      variance=variance)
    final, c_end = run["sq"][-1, :, 0], run["c"][-1, :, 0]
    m, se = float(final.mean()), float(final.std(ddof=1) / np.sqrt(final.size))
    return {"m_online": m, "se": se, "m_plugin": float(m_plug[-1]), "rel_gap": float(m / m_plug[-1] - 1),
            "se_rel": float(se / m_plug[-1]), "c_online": float(c_end.mean()),
            "se_c": float(c_end.std(ddof=1) / np.sqrt(c_end.size)), "c_plugin": float(c_plug[-1]),
            "a_hat": float(np.median(run["a_hat"])), "m_plugin_path": m_plug, "c_plugin_path": c_plug,
            "run": run}


mutants.register(mutants.Mutant(
    "C1", "wrong-feedback", "csgd_online_feedback", {"law": "inverted"},
    "cSGD with the feedback ratio inverted: u* = min(1, eta_max a Sigma / E g^2) in place "
    "of min(1, E g^2 / (a eta_max Sigma))"))
mutants.register(mutants.Mutant(
    "C1", "no-extra-term", "csgd_online_feedback", {"law": "no-extra-term"},
    "cSGD without the term 1/(a eta_max) by which the source's law exceeds the optimal "
    "control: u* = min(1, gbar^2 / (a eta_max var g)) in place of "
    "min(1, (gbar^2 + var g) / (a eta_max var g))"))
mutants.register(mutants.Mutant(
    "C2", "regression-on-g", "adaptive_regression", {"over_g": True},
    "the online curvature as the slope of x on g, cov(g, x) / var g, in place of the slope of "
    "g on x, cov(g, x) / var x"))
mutants.register(mutants.Mutant(
    "C3", "no-feedback", "adaptive_feedback", {"frozen": True},
    "cSGD and cMSGD without feedback: the multiplier u (momentum mu) keeps its initial value"))
