"""course_lib.autograd against PyTorch eager on CPU: one training step of an MLP, timed as a user runs it.

The step is the same in both, written the idiomatic way in each: ``opt.zero_grad()``, forward
through an MLP 784-256-256-10 (``nn`` layers, ReLU), mean cross-entropy against integer
labels, ``loss.backward()``, ``opt.step()`` with plain ``optim.SGD``; float32, the same initial
weights and the same batch.

Each framework runs in a process of its own, as a user runs it. In one process, NumPy's BLAS
threads and PyTorch's thread pool compete for the same cores and both figures lie (PyTorch's
step about doubled on a 2-core machine). So this script only starts workers,
``python autograd_vs_torch.py --worker engine|torch``, alternating engine, torch, engine,
torch, ... for ``--rounds`` rounds so that both see the same machine state on average. A
worker sets its thread count before its framework is imported (``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``; and ``torch.set_num_threads``), imports only
its framework, checks the traps below, and prints JSON: the time per step of each repeat, the
first loss, and its framework's measured float32 matmul FLOP/s at the same thread count. The
script prints the median per step of each framework and their ratio (the figure to quote), the
fastest timed run of each (a check on a busy machine, where medians drift with the load), and
each step's share of the machine's matmul peak, at batch 256, 64 and 1.

Two traps are checked, not just avoided: the input batch gets no gradient (that would add a
784-wide matmul to every backward pass), and every parameter, gradient and loss stays float32
(a float64 constant sneaking in would double the cost of every op after it). The two workers'
first losses must agree, which shows that they ran the same step.

    python benchmarks/autograd_vs_torch.py [--threads 2] [--rounds 6] [--repeats 15] [--steps 10]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SIZES = (784, 256, 256, 10)
BATCHES = (256, 64, 1)
TARGET_RATIO = 1.2
LR = 0.01
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# -- the worker: one framework, one process ---------------------------------------------------------------
def initial_weights(seed: int = 0):
    r"""The same weights and batch for both workers: PyTorch's default ``nn.Linear`` initialization,
    :math:`\mathcal U(-1/\sqrt{n_\text{in}}, 1/\sqrt{n_\text{in}})`, drawn with NumPy from ``seed``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        k = 1.0 / np.sqrt(n_in)
        layers.append((rng.uniform(-k, k, (n_out, n_in)).astype(np.float32),
                       rng.uniform(-k, k, n_out).astype(np.float32)))
    return layers


def batch_data(batch: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed + 1)
    return rng.standard_normal((batch, SIZES[0]), dtype=np.float32), rng.integers(0, SIZES[-1], batch)


def engine_step(batch: int):
    """The engine's training step (a closure) on the shared weights and batch, with the traps checked."""
    import numpy as np

    from course_lib.autograd import Tensor, nn, optim
    from course_lib.autograd import functional as F

    model = nn.MLP(SIZES)
    for layer, (w, b) in zip(model.linear_layers(), initial_weights()):
        layer.weight.data[...], layer.bias.data[...] = w, b
    opt = optim.SGD(model.parameters(), lr=LR)
    X, y = batch_data(batch)
    Xt = Tensor(X)  # data: requires_grad=False, so no gradient is computed for it

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(Xt), y)
        loss.backward()
        opt.step()
        return loss

    loss = step()
    assert Xt.grad is None and not Xt.requires_grad, "the input batch must not get a gradient"
    arrays = [loss.data] + [a for p in model.parameters() for a in (p.data, p.grad)]
    assert all(a.dtype == np.float32 for a in arrays), "everything must stay float32"
    return step, loss.item()


def torch_step(batch: int):
    """PyTorch's training step (a closure) on the shared weights and batch."""
    import torch

    layers = []
    for w, b in initial_weights():
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        layers += [lin, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    X, y = batch_data(batch)
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(tX), ty)
        loss.backward()
        opt.step()
        return loss

    return step, step().item()


def matmul_flops_per_s(framework: str, sizes=(512, 1024), repeats: int = 10) -> float:
    """This framework's float32 matmul FLOP/s: the best over square sizes and ``repeats``."""
    import numpy as np

    if framework == "torch":
        import torch
        matmul, convert = torch.matmul, torch.from_numpy
    else:
        matmul, convert = np.matmul, np.asarray
    best = 0.0
    for n in sizes:
        a = convert(np.random.default_rng(0).standard_normal((n, n), dtype=np.float32))
        matmul(a, a)
        for _ in range(repeats):
            start = time.perf_counter()
            matmul(a, a)
            best = max(best, 2 * n**3 / (time.perf_counter() - start))
    return best


def worker(framework: str, threads: int, batches, repeats: int, steps: int) -> dict:
    """Time ``repeats`` runs of ``steps`` training steps per batch size; everything a parent needs, as a dict."""
    for var in THREAD_VARIABLES:  # before NumPy (and its BLAS) or PyTorch is imported in this process
        os.environ[var] = str(threads)
    if framework == "torch":
        import torch
        torch.set_num_threads(threads)
        make_step, pool = torch_step, f"torch.get_num_threads() = {torch.get_num_threads()}"
    else:
        import numpy  # noqa: F401 - loads the BLAS, so that its thread count can be read
        make_step, pool = engine_step, blas_threads()
    result = {"framework": framework, "threads": pool, "matmul_flops": matmul_flops_per_s(framework), "batches": {}}
    for batch in batches:
        step, first_loss = make_step(batch)
        n = steps * (10 if batch == 1 else 1)  # a batch of one is short: more steps per timed run
        for _ in range(3):  # warm caches, allocators, thread pools
            step()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(n):
                step()
            times.append((time.perf_counter() - start) / n)
        result["batches"][str(batch)] = {"first_loss": first_loss, "seconds_per_step": times}
    other = "course_lib" if framework == "torch" else "torch"
    assert other not in sys.modules, f"the {framework} worker imported {other}: its thread pool would compete"
    return result


def blas_threads() -> str:
    """The thread count NumPy's BLAS reports (threadpoolctl), to confirm that the setting took."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
    return f"{blas[0]['internal_api']} num_threads = {blas[0]['num_threads']}" if blas else "no BLAS found"


# -- the parent: alternate the workers, summarize ---------------------------------------------------------
def step_flops(batch: int, sizes=SIZES) -> int:
    """Matmul FLOPs of one step: forward X W^T, backward G^T X for every layer, G W for all but the first."""
    macs = [n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    return 2 * batch * (sum(macs) + sum(macs) + sum(macs[1:]))


def run_worker(framework: str, args) -> dict:
    env = dict(os.environ, **{var: str(args.threads) for var in THREAD_VARIABLES})
    command = [sys.executable, os.path.abspath(__file__), "--worker", framework, "--threads", str(args.threads),
               "--repeats", str(args.repeats), "--steps", str(args.steps),
               "--batches", ",".join(map(str, args.batches))]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {framework} worker failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="threads for each framework (default 2)")
    parser.add_argument("--rounds", type=int, default=6,
                        help="alternating rounds, each one engine and one torch process")
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per batch size in each process")
    parser.add_argument("--steps", type=int, default=10, help="training steps per timed run (batch 1: 10x as many)")
    parser.add_argument("--batches", type=lambda s: tuple(int(b) for b in s.split(",")), default=BATCHES,
                        help="comma-separated batch sizes (default 256,64,1)")
    parser.add_argument("--worker", choices=("engine", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.threads, args.batches, args.repeats, args.steps)))
        return 0

    runs = {"engine": [], "torch": []}
    for r in range(args.rounds):
        for framework in (("engine", "torch") if r % 2 == 0 else ("torch", "engine")):
            runs[framework].append(run_worker(framework, args))
    loadavg = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    print(f"step: MLP {'-'.join(map(str, SIZES))}, ReLU, cross-entropy, backward, SGD; float32; {args.threads} "
          f"thread(s); {args.rounds} alternating rounds of one process per framework, {args.repeats} timed runs each")
    print(f"threads seen by the workers: engine: {runs['engine'][0]['threads']}; torch: {runs['torch'][0]['threads']}")
    peak = max(run["matmul_flops"] for rs in runs.values() for run in rs)
    print(f"machine's float32 matmul peak at {args.threads} thread(s), the best either framework measured: "
          f"{peak / 1e9:.1f} GFLOP/s; load average (1 min) after the runs: {loadavg:.2f}\n")
    print(f"{'':>5} {'median per step':^32} {'fastest timed run':^32}")
    columns = f"{'course_lib':>11} {'PyTorch':>11} {'ratio':>7}"
    print(f"{'batch':>5} {columns}  {columns}  {'ours % peak':>11} {'torch % peak':>12}")
    ratios = {}
    for batch in map(str, args.batches):
        losses = [run["batches"][batch]["first_loss"] for rs in runs.values() for run in rs]
        if max(losses) - min(losses) > 1e-4 * max(1.0, abs(losses[0])):
            raise SystemExit(f"batch {batch}: the workers' first losses differ ({min(losses)} .. {max(losses)}): "
                             "they did not run the same step")
        times = {f: [t for run in rs for t in run["batches"][batch]["seconds_per_step"]] for f, rs in runs.items()}
        med = {f: statistics.median(t) for f, t in times.items()}
        best = {f: min(t) for f, t in times.items()}
        ratios[batch] = med["engine"] / med["torch"]
        flops = step_flops(int(batch))
        print(f"{batch:>5} {med['engine'] * 1e3:>8.3f} ms {med['torch'] * 1e3:>8.3f} ms {ratios[batch]:>6.2f}x  "
              f"{best['engine'] * 1e3:>8.3f} ms {best['torch'] * 1e3:>8.3f} ms {best['engine'] / best['torch']:>6.2f}x"
              f"  {100 * flops / med['engine'] / peak:>10.1f}% {100 * flops / med['torch'] / peak:>11.1f}%")
    if "256" in ratios:
        verdict = "within" if ratios["256"] <= TARGET_RATIO else "ABOVE"
        print(f"\nbatch 256, {args.threads} thread(s): course_lib / PyTorch = {ratios['256']:.2f}x "
              f"({verdict} the {TARGET_RATIO}x target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
