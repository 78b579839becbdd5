"""W5 - a newcomer's own problem: ``python benchmarks/w5_own_problem.py [--quick]``.

The newcomer's problem of issue 15: an L2-regularised 2-D logistic regression on 50 points
(two standardised features of scikit-learn's breast-cancer data, every 11th sample, no
intercept, lambda = 0.1), SGD against its SMEs of orders 1 and 2 at
eta in {0.4, 0.2, 0.1, 0.05}, g = f, x0 = (2, -2). T = 1.2 (the smallest horizon near 1 that
is a whole number of steps for every eta; T = 1 is not a multiple of 0.4).

- smecore: the public API as a user writes it, ``sc.LogisticRegression`` ->
  ``sc.FunctionObjective(..., noise="gaussian")`` -> the coupled estimator
  (``smecore.studies.own_problem.coupled_weak_errors``), weak order 2 SME solver with 2
  substeps.
- numpy: the loop a user would write for the same estimate without coupling: SGD on the
  finite sum and Euler-Maruyama for the SME (4 substeps), independent paths, the same
  number of paths.

Targets (issue 15): coupled estimator under 30 s on 2 cores; order-1 interval narrower
than 0.3; order-2 interval excluding 1. Writes ``benchmarks/results/w5_own_problem.json``.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import smecore as sc  # noqa: E402
from smecore.studies.own_problem import coupled_weak_errors  # noqa: E402

LRS = np.array([0.4, 0.2, 0.1, 0.05])
T = 1.2
X0 = np.array([2.0, -2.0])


def newcomer_problem():
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    X = data.data[::11, :2][:50]
    X = (X - X.mean(0)) / X.std(0)
    return sc.LogisticRegression(X, data.target[::11][:50], l2=0.1, intercept=False)


def smecore_coupled(problem, n_paths, seed):
    gauss = sc.FunctionObjective(2, value=problem.value, grad=problem.grad, hessian=problem.hessian,
                                 noise_cov=problem.noise_cov, noise="gaussian")
    out = {}
    for order in (1, 2):
        sweep = coupled_weak_errors(gauss, LRS, T, X0, problem.value, order=order, n_paths=n_paths,
                                    rng=[seed, order], substeps=2, progress=False)
        out[order] = sweep
    return out


def numpy_loop(problem, n_paths, seed, substeps=4):
    """Independent SGD (finite sum) and Euler-Maruyama SME runs, in plain numpy."""
    A, t, lam = problem.features, (problem.codes == 1).astype(float), problem.l2
    m = len(t)
    rng = np.random.default_rng(seed)

    def f(x):
        z = x @ A.T
        return (np.logaddexp(0, z) - t * z).mean(1) + 0.5 * lam * (x**2).sum(1)

    def grad_hess_cov(x):
        s = 1 / (1 + np.exp(-(x @ A.T)))
        r = s - t
        g = r @ A / m + lam * x
        H = np.einsum("nm,mi,mj->nij", s * (1 - s), A, A) / m + lam * np.eye(2)
        gb = r @ A / m
        S = np.einsum("nm,mi,mj->nij", r * r, A, A) / m - gb[:, :, None] * gb[:, None, :]
        return g, H, S

    out = {}
    for order in (1, 2):
        c = 0.0 if order == 1 else 0.25
        errs, ses = [], []
        for lr in LRS:
            n = int(round(T / lr))
            x = np.tile(X0, (n_paths, 1))
            for _ in range(n):
                idx = rng.integers(0, m, n_paths)
                s = 1 / (1 + np.exp(-np.einsum("ni,ni->n", A[idx], x)))
                x = x - lr * ((s - t[idx])[:, None] * A[idx] + lam * x)
            y = np.tile(X0, (n_paths, 1))
            h = lr / substeps
            for _ in range(n * substeps):
                g, H, S = grad_hess_cov(y)
                w, v = np.linalg.eigh(S)
                L = (v * np.sqrt(np.clip(w, 0, None))[:, None, :]) @ np.swapaxes(v, 1, 2)
                drift = -(g + 2 * c * lr * np.einsum("nij,nj->ni", H, g))
                y = y + h * drift + np.sqrt(lr * h) * np.einsum("nij,nj->ni", L, rng.standard_normal((n_paths, 2)))
            a, b = f(x), f(y)
            errs.append(a.mean() - b.mean())
            ses.append(np.hypot(a.std(), b.std()) / np.sqrt(n_paths))
        out[order] = (np.array(errs), np.array(ses))
    return out


def main(quick=False):
    problem = newcomer_problem()
    n_paths = 1_000 if quick else 4_000
    record = {"workload": "W5", "quick": quick, "n_paths": n_paths, "lrs": LRS.tolist(), "T": T}
    start = time.perf_counter()
    coupled = smecore_coupled(problem, n_paths, 1)
    record["smecore_coupled_seconds"] = time.perf_counter() - start
    for order, sweep in coupled.items():
        record[f"smecore_order{order}"] = {"order": sweep.fit.order, "interval": list(sweep.fit.interval),
                                           "errors": sweep.errors.tolist(), "stderr": sweep.stderr.tolist()}
    start = time.perf_counter()
    loop = numpy_loop(problem, n_paths, 2)
    record["numpy_loop_seconds"] = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for order, (errs, ses) in loop.items():
            entry = {"errors": errs.tolist(), "stderr": ses.tolist()}
            try:
                fit = sc.fit_order(LRS, np.abs(errs), ses)
                entry.update(order=fit.order, interval=list(fit.interval))
            except ValueError as exc:
                entry["fit"] = f"no fit: {exc}"
            record[f"numpy_order{order}"] = entry
    o1, o2 = record["smecore_order1"], record["smecore_order2"]
    record["targets"] = {
        "coupled_under_30s": record["smecore_coupled_seconds"] < 30,
        "order1_interval_width_below_0.3": o1["interval"][1] - o1["interval"][0] < 0.3,
        "order2_interval_excludes_1": o2["interval"][0] > 1,
    }
    out = Path(__file__).resolve().parent / "results" / "w5_own_problem.json"
    if not quick:
        out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
