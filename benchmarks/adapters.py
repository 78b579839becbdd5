"""One adapter per tool and workload: the same computation, written as its users write it.

Every adapter has ``run(M, seed) -> (estimate, stderr)`` (``(None, None)`` for
the random-number floors) and is timed by :mod:`benchmarks.harness`. Peers
are optional: an adapter whose package is missing reports itself unavailable
and the run goes on without it.

All computations are in float64, as smecore's.
"""

from __future__ import annotations

import importlib
import importlib.util
import math

import numpy as np

from . import workloads as wl


class Adapter:
    """Base: name, workload, kind ("smecore", "peer" or "floor") and the packages it needs."""

    name = "adapter"
    workload = "W1"
    kind = "peer"
    requires: tuple = ()
    note = ""
    #: Largest M actually simulated; beyond it the time is extrapolated per path.
    max_paths = None

    def available(self):
        """(True, "") or (False, reason)."""
        missing = [m for m in self.requires if importlib.util.find_spec(m) is None]
        if missing:
            return False, "not installed: " + ", ".join(missing)
        return True, ""

    def setup(self, M, seed):
        """Build everything that is not part of the timed work (data, compiled functions)."""

    def run(self, M, seed):
        raise NotImplementedError

    def close(self):
        """Release pools and clusters."""

    def versions(self) -> dict:
        out = {}
        for module in self.requires:
            try:
                out[module] = importlib.import_module(module).__version__
            except Exception:  # noqa: BLE001 - a version string is informational only
                out[module] = "?"
        return out


# =====================================================================================
# W1: SME Monte Carlo
# =====================================================================================
class W1Smecore(Adapter):
    """smecore.solve_sde, Euler with random-sign increments (weak order 1), serial."""

    name = "smecore"
    workload = "W1"
    kind = "smecore"
    requires = ("smecore",)
    increments = "discrete"
    workers = 0
    note = "Euler, random-sign increments from random bits, in place, cache-sized tiles; 1 process"

    def setup(self, M, seed):
        self.sde = wl.DoubleWellSME()
        self.executor = None
        if self.workers:
            from concurrent.futures import ProcessPoolExecutor
            self.executor = ProcessPoolExecutor(self.workers)

    def chunk_size(self, M):
        # Enough chunks to balance the workers; whole blocks of 1024 paths.
        return None if not self.workers else max(1024, 1024 * (M // (1024 * 8 * self.workers)))

    def run(self, M, seed):
        from smecore.solvers import solve_sde
        stats = solve_sde(self.sde, wl.w1_x0(), wl.W1_T, n_steps=wl.W1_STEPS, scheme="euler",
                          increments=self.increments, n_paths=M, rng=seed, record=[wl.W1_STEPS],
                          observables={"msq": wl.mean_square}, chunk_size=self.chunk_size(M),
                          executor=self.executor)
        est = stats["msq"]
        return float(est.mean[-1]), float(est.stderr[-1])

    def close(self):
        if self.executor is not None:
            self.executor.shutdown()


class W1SmecoreGaussian(W1Smecore):
    name = "smecore-gaussian"
    increments = "gaussian"
    note = "as smecore, with Gaussian increments (for comparison)"


class W1SmecoreProcesses(W1Smecore):
    name = "smecore-2proc"
    workers = 2
    note = "as smecore, ProcessPoolExecutor with 2 workers (pool started before timing)"


class W1SmecoreNumba(W1Smecore):
    """solve_sde(backend="numba"): the fused kernel on counter-based streams."""

    name = "smecore-numba"
    requires = ("smecore", "numba")
    note = ("solve_sde(backend='numba'): fused numba kernel, random signs from a counter-based "
            "SplitMix64 hash, drift x - x^3 as polynomial coefficients; numba threads = cores")

    def setup(self, M, seed):
        super().setup(M, seed)
        self.sde = wl.w1_polynomial_sde()

    def run(self, M, seed):
        from smecore.solvers import solve_sde
        stats = solve_sde(self.sde, wl.w1_x0(), wl.W1_T, n_steps=wl.W1_STEPS, scheme="euler",
                          increments=self.increments, n_paths=M, rng=seed, record=[wl.W1_STEPS],
                          observables={"msq": wl.mean_square}, backend="numba")
        est = stats["msq"]
        return float(est.mean[-1]), float(est.stderr[-1])


class W1SmecoreNumbaGaussian(W1SmecoreNumba):
    name = "smecore-numba-gaussian"
    increments = "gaussian"
    note = "as smecore-numba, Gaussian increments from a ziggurat on the counter bits"


class W1ComputeFloor(Adapter):
    """The arithmetic of W1's Euler steps alone, compiled, with no random numbers."""

    name = "compute-floor"
    kind = "floor"
    requires = ("numba",)
    note = ("numba, one thread: x + h x (1 - x^2) + s xi per path, step and coordinate, with "
            "xi = +-1 from the parity of (p + k + j) instead of random bits; tiles of 128 paths "
            "innermost, as the fused kernel")

    def setup(self, M, seed):
        import numba

        @numba.njit
        def euler(M, d, n_steps, h, s, x0):
            tile = 128
            total = 0.0
            x = np.empty((d, tile))
            for p0 in range(0, M, tile):
                n = min(tile, M - p0)
                x[:, :] = x0
                for k in range(n_steps):
                    for j in range(d):
                        for t in range(n):
                            xi = 1.0 - 2.0 * ((p0 + t + k + j) & 1)
                            v = x[j, t]
                            x[j, t] = (v + h * (v * (1.0 - v * v))) + s * xi
                for j in range(d):
                    for t in range(n):
                        total += x[j, t] * x[j, t]
            return total

        self.euler = euler
        self.euler(8, wl.W1_DIM, 2, wl.W1_H, math.sqrt(wl.W1_ETA * wl.W1_H), wl.W1_X0)

    def run(self, M, seed):
        self.euler(M, wl.W1_DIM, wl.W1_STEPS, wl.W1_H, math.sqrt(wl.W1_ETA * wl.W1_H), wl.W1_X0)
        return None, None


class W1Numpy(Adapter):
    """The plain vectorised numpy loop a careful user writes."""

    name = "numpy-loop"
    requires = ("numpy",)
    note = "x += h b(x) + sqrt(eta h) N(0, 1), all paths at once"

    def run(self, M, seed):
        rng = np.random.default_rng(seed)
        h, noise = wl.W1_H, math.sqrt(wl.W1_ETA * wl.W1_H)
        x = np.full((M, wl.W1_DIM), wl.W1_X0)
        for _ in range(wl.W1_STEPS):
            x += h * wl.double_well_drift(x) + noise * rng.standard_normal(x.shape)
        return wl.mean_and_stderr(wl.mean_square(x))


class W1NormalFloor(Adapter):
    """Only draw the M * d * steps standard normals (into a cache-sized buffer)."""

    name = "normal-floor"
    kind = "floor"
    requires = ("numpy",)
    note = "numpy Generator.standard_normal, same count, no arithmetic"

    def run(self, M, seed):
        rng = np.random.default_rng(seed)
        total = M * wl.W1_DIM * wl.W1_STEPS
        buf = np.empty(min(total, 1 << 15))
        for _ in range(total // buf.size):
            rng.standard_normal(out=buf)
        rng.standard_normal(total % buf.size)
        return None, None


class W1DiscreteFloor(Adapter):
    """Only draw the random bits of M * d * steps random signs (one bit each)."""

    name = "discrete-floor"
    kind = "floor"
    requires = ("numpy",)
    note = "numpy PCG64 random_raw: M d steps / 64 words of 64 random bits, no arithmetic"

    def run(self, M, seed):
        bits = np.random.default_rng(seed).bit_generator
        words = -(-M * wl.W1_DIM * wl.W1_STEPS // 64)
        chunk = 1 << 15
        for _ in range(words // chunk):
            bits.random_raw(chunk)
        bits.random_raw(words % chunk)
        return None, None


class W1TorchSDE(Adapter):
    """torchsde.sdeint, Euler, diagonal noise, CPU, float64, no autograd."""

    name = "torchsde"
    requires = ("torch", "torchsde")
    note = "sdeint(method='euler', dt=1e-3), diagonal Ito SDE, BrownianInterval(dt=1e-3), CPU"

    def setup(self, M, seed):
        import torch

        class DoubleWell(torch.nn.Module):
            noise_type = "diagonal"
            sde_type = "ito"

            def __init__(self):
                super().__init__()
                self.sigma = math.sqrt(wl.W1_ETA)

            def f(self, t, y):
                return y * (1.0 - y * y)

            def g(self, t, y):
                return torch.full_like(y, self.sigma)

        self.sde = DoubleWell()

    def run(self, M, seed):
        import torch
        import torchsde
        y0 = torch.full((M, wl.W1_DIM), wl.W1_X0, dtype=torch.float64)
        ts = torch.tensor([0.0, wl.W1_T], dtype=torch.float64)
        # dt: torchsde's documented hint for fixed-step solvers (2-3x faster than without).
        bm = torchsde.BrownianInterval(t0=0.0, t1=wl.W1_T, size=(M, wl.W1_DIM),
                                       dtype=torch.float64, entropy=seed, dt=wl.W1_H)
        with torch.no_grad():
            ys = torchsde.sdeint(self.sde, y0, ts, bm=bm, method="euler", dt=wl.W1_H)
        x = ys[-1].numpy()
        return wl.mean_and_stderr(wl.mean_square(x))

    def versions(self):
        import torch
        out = super().versions()
        out["torch_threads"] = torch.get_num_threads()
        return out


class W1Diffrax(Adapter):
    """diffrax.diffeqsolve, Euler, fixed step, jax.jit(jax.vmap(...)) over paths, CPU, float64."""

    name = "diffrax"
    requires = ("jax", "diffrax", "lineax")
    note = "Euler, dt0=1e-3, UnsafeBrownianPath (its fastest, fixed-step Brownian motion), jit + vmap"

    def setup(self, M, seed):
        import jax
        jax.config.update("jax_enable_x64", True)
        jax.config.update("jax_platforms", "cpu")
        import diffrax
        import jax.numpy as jnp
        import lineax

        sigma = math.sqrt(wl.W1_ETA)

        def drift(t, y, args):
            return y * (1.0 - y * y)

        def diffusion(t, y, args):
            return lineax.DiagonalLinearOperator(jnp.full_like(y, sigma))

        def one_path(key):
            bm = diffrax.UnsafeBrownianPath(shape=(wl.W1_DIM,), key=key,
                                            levy_area=diffrax.BrownianIncrement)
            terms = diffrax.MultiTerm(diffrax.ODETerm(drift), diffrax.ControlTerm(diffusion, bm))
            sol = diffrax.diffeqsolve(terms, diffrax.Euler(), 0.0, wl.W1_T, dt0=wl.W1_H,
                                      y0=jnp.full((wl.W1_DIM,), wl.W1_X0),
                                      saveat=diffrax.SaveAt(t1=True), max_steps=wl.W1_STEPS + 8,
                                      adjoint=diffrax.ForwardMode())
            y = sol.ys[-1]
            return jnp.mean(y * y)

        self._solve = jax.jit(jax.vmap(one_path))
        self._compiled = {}
        self._compiled_for(M)  # compile for the timed shape outside the timing

    def _compiled_for(self, M):
        import jax
        if M not in self._compiled:
            keys = jax.random.split(jax.random.PRNGKey(0), M)
            self._compiled[M] = self._solve.lower(keys).compile()
        return self._compiled[M]

    def run(self, M, seed):
        import jax
        keys = jax.random.split(jax.random.PRNGKey(seed), M)
        values = np.asarray(self._compiled_for(M)(keys).block_until_ready())
        return wl.mean_and_stderr(values)


class W1Sdeint(Adapter):
    """sdeint.itoEuler, one path per call (its interface); time extrapolated per path."""

    name = "sdeint"
    requires = ("sdeint",)
    max_paths = 200
    note = "itoEuler, one path per call; time for M paths = M x time per path"

    def setup(self, M, seed):
        self.G = np.eye(wl.W1_DIM) * math.sqrt(wl.W1_ETA)
        self.tspan = np.linspace(0.0, wl.W1_T, wl.W1_STEPS + 1)

    def run(self, M, seed):
        import sdeint
        rng = np.random.default_rng(seed)
        G = self.G
        y0 = wl.w1_x0()
        values = np.empty(M)
        for p in range(M):
            y = sdeint.itoEuler(lambda y, t: y * (1.0 - y * y), lambda y, t: G, y0, self.tspan,
                                generator=rng)
            values[p] = np.mean(y[-1] ** 2)
        return wl.mean_and_stderr(values)


# =====================================================================================
# W2: SGD Monte Carlo
# =====================================================================================
class W2Smecore(Adapter):
    """smecore.algorithms.run(SGD, LinearRegression), serial."""

    name = "smecore"
    workload = "W2"
    kind = "smecore"
    requires = ("smecore",)
    workers = 0
    note = "algorithms.run(SGD(0.01), LinearRegression); in-place transposed fast path; 1 process"

    def setup(self, M, seed):
        self.problem = wl.w2_problem()
        self.executor = None
        if self.workers:
            from concurrent.futures import ProcessPoolExecutor
            self.executor = ProcessPoolExecutor(self.workers)

    def chunk_size(self, M):
        # One chunk per worker: SGD's per-step overhead is per tile, so fewer, larger chunks.
        blocks = -(-M // 1024)
        return None if not self.workers else 1024 * -(-blocks // self.workers)

    def run(self, M, seed):
        from smecore.algorithms import SGD, run
        stats = run(SGD(wl.W2_LR), self.problem, np.zeros(wl.W2_DIM), wl.W2_STEPS, n_paths=M,
                    rng=seed, record=[wl.W2_STEPS], observables={"f": self.problem.value},
                    chunk_size=self.chunk_size(M), executor=self.executor)
        est = stats["f"]
        return float(est.mean[-1]), float(est.stderr[-1])

    def close(self):
        if self.executor is not None:
            self.executor.shutdown()


class W2SmecoreProcesses(W2Smecore):
    name = "smecore-2proc"
    workers = 2
    note = "as smecore, ProcessPoolExecutor with 2 workers (pool started before timing)"


class W2SmecoreNumba(W2Smecore):
    """run(SGD, LinearRegression, backend="numba"): the fused kernel on counter-based indices."""

    name = "smecore-numba"
    requires = ("smecore", "numba")
    note = ("algorithms.run(..., backend='numba'): fused numba kernel over tiles of paths, "
            "sample indices from a counter-based SplitMix64 hash; numba threads = cores")

    def run(self, M, seed):
        from smecore.algorithms import SGD, run
        stats = run(SGD(wl.W2_LR), self.problem, np.zeros(wl.W2_DIM), wl.W2_STEPS, n_paths=M,
                    rng=seed, record=[wl.W2_STEPS], observables={"f": self.problem.value},
                    backend="numba")
        est = stats["f"]
        return float(est.mean[-1]), float(est.stderr[-1])


class W2Numpy(Adapter):
    name = "numpy-loop"
    workload = "W2"
    requires = ("numpy",)
    note = "gather rows, residuals by einsum, x -= lr r a; all runs at once"

    def setup(self, M, seed):
        self.A, self.y = wl.w2_data()

    def run(self, M, seed):
        rng = np.random.default_rng(seed)
        A, y, lr = self.A, self.y, wl.W2_LR
        x = np.zeros((M, wl.W2_DIM))
        for _ in range(wl.W2_STEPS):
            i = rng.integers(0, wl.W2_N, M)
            a = A[i]
            r = np.einsum("ij,ij->i", a, x) - y[i]
            x -= lr * r[:, None] * a
        return wl.mean_and_stderr(wl.least_squares_values(x, A, y))


class W2IndexFloor(Adapter):
    name = "index-floor"
    workload = "W2"
    kind = "floor"
    requires = ("numpy",)
    note = "numpy Generator.integers: the M x steps sample indices alone"

    def run(self, M, seed):
        rng = np.random.default_rng(seed)
        for _ in range(wl.W2_STEPS):
            rng.integers(0, wl.W2_N, M)
        return None, None


class W2ComputeFloor(Adapter):
    """The arithmetic of W2's SGD steps alone, compiled, with no random numbers."""

    name = "compute-floor"
    kind = "floor"
    requires = ("numba",)
    note = ("numba, one thread: residual, scaled, and x -= c a_i per path and step, with "
            "i = (7 p + 13 k) mod n instead of random indices; tiles of 64 paths innermost, "
            "as the fused kernel")

    def setup(self, M, seed):
        import numba

        @numba.njit
        def sgd(M, n_steps, lr, A, y):
            tile = 64
            m, d = A.shape
            x = np.empty((d, tile))
            c = np.empty(tile)
            idx = np.empty(tile, dtype=np.int64)
            total = 0.0
            for p0 in range(0, M, tile):
                n = min(tile, M - p0)
                x[:, :] = 0.0
                for k in range(n_steps):
                    for t in range(n):
                        idx[t] = (7 * (p0 + t) + 13 * k) % m
                    for t in range(n):
                        c[t] = A[idx[t], 0] * x[0, t]
                    for j in range(1, d):
                        for t in range(n):
                            c[t] = c[t] + A[idx[t], j] * x[j, t]
                    for t in range(n):
                        c[t] = lr * (c[t] - y[idx[t]])
                    for j in range(d):
                        for t in range(n):
                            x[j, t] = x[j, t] - c[t] * A[idx[t], j]
                for j in range(d):
                    for t in range(n):
                        total += x[j, t]
            return total

        self.A, self.y = wl.w2_data()
        self.sgd = sgd
        self.sgd(8, 2, wl.W2_LR, self.A, self.y)

    def run(self, M, seed):
        self.sgd(M, wl.W2_STEPS, wl.W2_LR, self.A, self.y)
        return None, None


class W2Torch(Adapter):
    name = "torch"
    workload = "W2"
    requires = ("torch",)
    note = "eager CPU tensors, float64, no autograd, addcmul_ update"

    def setup(self, M, seed):
        import torch
        A, y = wl.w2_data()
        self.A_np, self.y_np = A, y
        self.A, self.y = torch.from_numpy(A), torch.from_numpy(y)

    def run(self, M, seed):
        import torch
        gen = torch.Generator().manual_seed(seed)
        A, y, lr = self.A, self.y, wl.W2_LR
        x = torch.zeros((M, wl.W2_DIM), dtype=torch.float64)
        with torch.no_grad():
            for _ in range(wl.W2_STEPS):
                i = torch.randint(0, wl.W2_N, (M,), generator=gen)
                a = A[i]
                r = (a * x).sum(dim=1) - y[i]
                x.addcmul_(a, r.unsqueeze(1), value=-lr)
        return wl.mean_and_stderr(wl.least_squares_values(x.numpy(), self.A_np, self.y_np))

    def versions(self):
        import torch
        out = super().versions()
        out["torch_threads"] = torch.get_num_threads()
        return out


class W2Jax(Adapter):
    name = "jax"
    workload = "W2"
    requires = ("jax",)
    note = "jax.jit of a lax.scan over the steps, CPU, float64"

    def setup(self, M, seed):
        import jax
        jax.config.update("jax_enable_x64", True)
        jax.config.update("jax_platforms", "cpu")
        import jax.numpy as jnp
        A, y = wl.w2_data()
        self.A_np, self.y_np = A, y
        A_j, y_j, lr = jnp.asarray(A), jnp.asarray(y), wl.W2_LR

        def simulate(key, M):
            def step(x, k):
                i = jax.random.randint(k, (M,), 0, wl.W2_N)
                a = A_j[i]
                r = jnp.sum(a * x, axis=1) - y_j[i]
                return x - lr * r[:, None] * a, None

            keys = jax.random.split(key, wl.W2_STEPS)
            x, _ = jax.lax.scan(step, jnp.zeros((M, wl.W2_DIM)), keys)
            return x

        self._simulate = jax.jit(simulate, static_argnums=1)
        self._compiled = {}
        self._compiled_for(M)  # compile for the timed shape outside the timing

    def _compiled_for(self, M):
        import jax
        if M not in self._compiled:
            self._compiled[M] = self._simulate.lower(jax.random.PRNGKey(0), M).compile()
        return self._compiled[M]

    def run(self, M, seed):
        import jax
        x = np.asarray(self._compiled_for(M)(jax.random.PRNGKey(seed)).block_until_ready())
        return wl.mean_and_stderr(wl.least_squares_values(x, self.A_np, self.y_np))


ADAPTERS = {
    "W1": [W1Smecore, W1SmecoreGaussian, W1SmecoreProcesses, W1SmecoreNumba,
           W1SmecoreNumbaGaussian, W1Numpy, W1NormalFloor, W1DiscreteFloor, W1ComputeFloor,
           W1TorchSDE, W1Diffrax, W1Sdeint],
    "W2": [W2Smecore, W2SmecoreProcesses, W2SmecoreNumba, W2Numpy, W2IndexFloor, W2ComputeFloor,
           W2Torch, W2Jax],
}


def get_adapter(workload, name) -> Adapter:
    for cls in ADAPTERS[workload]:
        if cls.name == name:
            return cls()
    raise KeyError(f"no adapter {name!r} for {workload}")
