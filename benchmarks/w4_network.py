"""W4 - SGD on the digits MLP: ``python benchmarks/w4_network.py [--quick]``.

Workload: M = 64 independent SGD runs x 2000 steps of the 64-32-10 tanh MLP with cross-entropy
on scikit-learn's digits (1000 training images), batch 8 with replacement, lr 0.1, float64,
final training loss of every run. Contenders, each written as a user would:

* ``smecore``: :func:`smecore.networks.simulate` (vmap over runs, steps inside one jit).
* ``jax_loop``: a jitted SGD step, Python loop over steps, one run at a time.
* ``jax_vmap``: the same step ``jax.vmap``-ed over the 64 runs, Python loop over steps.
* ``torch_loop``: a plain PyTorch loop (``nn.Sequential``, ``torch.optim.SGD``), one run at a time.
* ``torch_vmap``: ``torch.func.vmap`` of ``torch.func.grad`` over the 64 runs, Python loop over steps.

One-run-at-a-time contenders are timed on ``--loop-runs`` runs (default 8) and scaled to 64:
the runs are independent and sequential, so the time is linear in their number. Every
contender is warmed up (compiled) first; the time is the best of ``--repeats``. Results go to
``benchmarks/results/w4.json``. Target (issue): smecore at least 2x the best peer.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

M, STEPS, BATCH, LR = 64, 2000, 8, 0.1


def setup():
    import smecore.networks as nw

    data = nw.load_digits_split(1000)
    obj = nw.DigitsObjective(nw.MLP((64, 32, 10), "tanh"), data)
    return nw, obj, obj.model.init(0)


def run_smecore(nw, obj, theta0, runs, steps):
    tr = nw.simulate(obj, "sgd", theta0, LR, steps, batch=BATCH, n_runs=runs, n_records=1, rng=0)
    return tr.metrics["train_loss"][-1]


def make_jax(obj):
    import jax
    import jax.numpy as jnp

    X, y, n = obj.X, obj.y, obj.n

    def loss(p, idx):
        (W1, b1), (W2, b2) = p
        h = jnp.tanh(X[idx] @ W1 + b1)
        z = h @ W2 + b2
        return jnp.mean(jax.nn.logsumexp(z, 1) - jnp.take_along_axis(z, y[idx][:, None], 1)[:, 0])

    def step(p, key):
        idx = jax.random.randint(key, (BATCH,), 0, n)
        g = jax.grad(loss)(p, idx)
        return jax.tree_util.tree_map(lambda a, b: a - LR * b, p, g)

    full = jax.jit(lambda p: loss(p, jnp.arange(n)))
    return jax.jit(step), jax.jit(jax.vmap(step)), full, jax.vmap(full)


def params_jax(obj, theta0, runs):
    import jax.numpy as jnp
    layers = obj.model.unflatten(jnp.asarray(theta0))
    return [tuple(jnp.broadcast_to(a, (runs,) + a.shape) for a in l) for l in layers] if runs else layers


def run_jax_loop(obj, theta0, runs, steps, fns):
    import jax
    step, _, full, _ = fns
    out = []
    for r in range(runs):
        p = params_jax(obj, theta0, 0)
        keys = jax.random.split(jax.random.PRNGKey(r), steps)
        for k in range(steps):
            p = step(p, keys[k])
        out.append(float(full(p)))
    return np.array(out)


def run_jax_vmap(obj, theta0, runs, steps, fns):
    import jax
    _, vstep, _, vfull = fns
    p = params_jax(obj, theta0, runs)
    keys = jax.random.split(jax.random.PRNGKey(0), (steps, runs))
    for k in range(steps):
        p = vstep(p, keys[k])
    return np.asarray(vfull(p))


def torch_setup(obj, theta0):
    import torch
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)  # tiny matrices: extra intra-op threads only contend on 2 shared cores
    X = torch.tensor(np.asarray(obj.X))
    y = torch.tensor(np.asarray(obj.y))
    layers = obj.model.unflatten(np.asarray(theta0))
    return torch, X, y, layers


def run_torch_loop(obj, theta0, runs, steps):
    torch, X, y, layers = torch_setup(obj, theta0)
    out = []
    for r in range(runs):
        gen = torch.Generator().manual_seed(r)
        net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.Tanh(), torch.nn.Linear(32, 10))
        with torch.no_grad():
            for lin, (W, b) in zip((net[0], net[2]), layers):
                lin.weight.copy_(torch.tensor(W.T)); lin.bias.copy_(torch.tensor(b))
        opt = torch.optim.SGD(net.parameters(), lr=LR)
        lossf = torch.nn.CrossEntropyLoss()
        for _ in range(steps):
            idx = torch.randint(0, obj.n, (BATCH,), generator=gen)
            opt.zero_grad()
            lossf(net(X[idx]), y[idx]).backward()
            opt.step()
        with torch.no_grad():
            out.append(float(lossf(net(X), y)))
    return np.array(out)


def run_torch_vmap(obj, theta0, runs, steps):
    torch, X, y, layers = torch_setup(obj, theta0)
    from torch.func import grad, vmap
    import torch.nn.functional as F

    def loss(W1, b1, W2, b2, idx):
        return F.cross_entropy(torch.tanh(X[idx] @ W1 + b1) @ W2 + b2, y[idx])

    g = vmap(grad(loss, argnums=(0, 1, 2, 3)))
    p = [torch.tensor(a).expand((runs,) + a.shape).clone() for l in layers for a in l]
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        idx = torch.randint(0, obj.n, (runs, BATCH), generator=gen)
        grads = g(*p, idx)
        p = [a - LR * b for a, b in zip(p, grads)]
    full = vmap(lambda W1, b1, W2, b2: F.cross_entropy(torch.tanh(X @ W1 + b1) @ W2 + b2, y))
    return full(*p).numpy()


def timed(fn, repeats):
    best, out = np.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200 steps instead of 2000")
    ap.add_argument("--loop-runs", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "w4.json"))
    args = ap.parse_args()
    steps = 200 if args.quick else STEPS
    nw, obj, theta0 = setup()
    fns = make_jax(obj)
    contenders = {
        "smecore": (lambda r, s: run_smecore(nw, obj, theta0, r, s), M),
        "jax_vmap": (lambda r, s: run_jax_vmap(obj, theta0, r, s, fns), M),
        "jax_loop": (lambda r, s: run_jax_loop(obj, theta0, r, s, fns), args.loop_runs),
    }
    try:
        import torch  # noqa: F401
        contenders["torch_vmap"] = (lambda r, s: run_torch_vmap(obj, theta0, r, s), M)
        contenders["torch_loop"] = (lambda r, s: run_torch_loop(obj, theta0, r, s), args.loop_runs)
    except ImportError:
        pass
    results = {}
    for name, (fn, runs) in contenders.items():
        fn(runs, 20 if runs == M else 2)  # warm-up / compile (smecore compiles per step count: see below)
        if name == "smecore":
            fn(runs, steps)  # smecore's program is compiled for the record layout, not the step count
        t, out = timed(lambda: fn(runs, steps), args.repeats)
        results[name] = {"seconds_measured": t, "runs_measured": runs,
                         "seconds_for_64_runs": t * M / runs,
                         "mean_final_train_loss": float(np.mean(out))}
        print(f"{name:11s} {t * M / runs:8.2f} s for {M} runs x {steps} steps (measured {runs} runs)",
              flush=True)
    peers = {k: v["seconds_for_64_runs"] for k, v in results.items() if k != "smecore"}
    best = min(peers, key=peers.get)
    speedup = peers[best] / results["smecore"]["seconds_for_64_runs"]
    import jax
    record = {
        "workload": "W4", "runs": M, "steps": steps, "batch": BATCH, "lr": LR, "dtype": "float64",
        "results": results, "best_peer": best, "speedup_vs_best_peer": speedup,
        "target": "smecore >= 2x the best peer", "target_met": bool(speedup >= 2),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "load_average_1min": os.getloadavg()[0], "jax": jax.__version__,
                    "device": jax.devices()[0].platform},
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
    print(f"best peer {best}: smecore speed-up {speedup:.2f}x (target 2x: "
          f"{'met' if speedup >= 2 else 'NOT met'}); written to {args.out}")


if __name__ == "__main__":
    main()
