"""course_lib.autograd against PyTorch eager on CPU: one training step of an MLP, timed.

The step is the same in both: ``zero_grad``, forward through an MLP 784-256-256-10 (ReLU),
mean cross-entropy against integer labels, backward, plain SGD update, all in float32,
with the same initial weights and the same batch. Both run in this one process with the
same number of threads (PyTorch is set to the number of threads NumPy's BLAS uses, read
with threadpoolctl), in alternating rounds so that both see the same machine state; the
script prints the median time per step of each, their ratio, and the fraction of the
machine's measured float32 matmul FLOP/s that each step achieves, at batch 256, 64 and 1.

Two traps are checked, not just avoided: the input batch gets no gradient (that would add
a 784-wide matmul to every backward pass), and every parameter, gradient and loss stays
float32 (a float64 constant sneaking in would double the cost of every op after it).

    python benchmarks/autograd_vs_torch.py [--rounds 30] [--steps 10] [--threads N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch

from course_lib.autograd import Tensor, nn, optim
from course_lib.autograd import functional as F

SIZES = (784, 256, 256, 10)
BATCHES = (256, 64, 1)
TARGET_RATIO = 1.2


def blas_threads() -> tuple[int, str]:
    """Threads NumPy's BLAS uses, and where the number came from."""
    try:
        from threadpoolctl import threadpool_info

        blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
        if blas:
            return int(blas[0]["num_threads"]), f"threadpoolctl ({blas[0]['internal_api']})"
    except ImportError:
        pass
    # Without threadpoolctl: OpenBLAS and MKL default to one thread per core unless told otherwise.
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(var):
            return int(os.environ[var]), var
    return os.cpu_count() or 1, "os.cpu_count() (threadpoolctl not installed)"


def step_flops(batch: int, sizes=SIZES) -> int:
    """Matmul FLOPs of one step: forward X W^T, backward G^T X for every layer, G W for all but the first."""
    macs = [n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    return 2 * batch * (sum(macs) + sum(macs) + sum(macs[1:]))


def matmul_flops_per_s(sizes=(512, 1024), repeats: int = 20) -> tuple[float, float]:
    """Measured float32 matmul FLOP/s of NumPy and of PyTorch: the best over square sizes and ``repeats``."""
    rates = [0.0, 0.0]
    for n in sizes:
        a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
        for k, (mm, x) in enumerate([(np.matmul, a), (torch.matmul, torch.from_numpy(a))]):
            mm(x, x)
            best = min(_time(lambda: mm(x, x)) for _ in range(repeats))
            rates[k] = max(rates[k], 2 * n**3 / best)
    return rates[0], rates[1]


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def make_steps(batch: int, seed: int = 0):
    """The two training steps (closures) on the same weights and data, and a check of the traps."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], batch)

    model = nn.MLP(SIZES, rng=seed)
    opt = optim.SGD(model.parameters(), lr=0.01)
    Xt = Tensor(X)  # data: requires_grad=False, so no gradient is computed for it

    layers = []
    for layer in model.linear_layers():
        lin = torch.nn.Linear(layer.in_features, layer.out_features)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(layer.weight.data))
            lin.bias.copy_(torch.from_numpy(layer.bias.data))
        layers += [lin, torch.nn.ReLU()]
    tmodel = torch.nn.Sequential(*layers[:-1])
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.01)
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)

    def ours():
        opt.zero_grad()
        loss = F.cross_entropy(model(Xt), y)
        loss.backward()
        opt.step()
        return loss

    def theirs():
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(tmodel(tX), ty)
        loss.backward()
        topt.step()
        return loss

    loss, tloss = ours(), theirs()
    assert abs(loss.item() - tloss.item()) < 1e-4 * max(1.0, abs(tloss.item())), (loss.item(), tloss.item())
    assert Xt.grad is None and not Xt.requires_grad, "the input batch must not get a gradient"
    arrays = [loss.data] + [a for p in model.parameters() for a in (p.data, p.grad)]
    assert all(a.dtype == np.float32 for a in arrays), "everything must stay float32"
    return ours, theirs


def measure(batch: int, rounds: int, steps: int) -> tuple[float, float]:
    """Median seconds per step of (ours, PyTorch), alternating which goes first in each round."""
    ours, theirs = make_steps(batch)
    for _ in range(3):  # warm caches, allocators, thread pools
        ours(), theirs()
    times = {ours: [], theirs: []}
    for r in range(rounds):
        for fn in ((ours, theirs) if r % 2 == 0 else (theirs, ours)):
            start = time.perf_counter()
            for _ in range(steps):
                fn()
            times[fn].append((time.perf_counter() - start) / steps)
    return statistics.median(times[ours]), statistics.median(times[theirs])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="alternating rounds per batch size")
    parser.add_argument("--steps", type=int, default=10, help="training steps per round (batch 1: 10x as many)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both (default: as many as NumPy's BLAS already uses)")
    args = parser.parse_args()

    threads, source = blas_threads()
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads, user_api="blas")
        threads, source = args.threads, "--threads"
    torch.set_num_threads(threads)
    np_rate, torch_rate = matmul_flops_per_s()
    print(f"threads: {threads} (NumPy's BLAS, from {source}); torch.set_num_threads({threads})")
    print(f"measured float32 matmul (best of 512^3 and 1024^3): NumPy {np_rate / 1e9:.1f} GFLOP/s, "
          f"PyTorch {torch_rate / 1e9:.1f} GFLOP/s")
    print(f"step: MLP {'-'.join(map(str, SIZES))}, ReLU, cross-entropy, backward, SGD; float32; "
          f"{args.rounds} alternating rounds")
    results = {batch: measure(batch, args.rounds, args.steps * (10 if batch == 1 else 1)) for batch in BATCHES}
    # The machine's matmul rate, measured again after the runs (the best of both measurements): on a
    # shared machine a single measurement can land in a busy moment.
    peak = max(np_rate, torch_rate, *matmul_flops_per_s())
    print(f"machine's matmul peak taken as {peak / 1e9:.1f} GFLOP/s (the best measured, before or after)\n")
    print(f"{'batch':>5} {'course_lib':>12} {'PyTorch':>12} {'ratio':>7} {'MFLOP':>7} {'ours % peak':>12} "
          f"{'torch % peak':>13}")
    ratios = {}
    for batch, (ours, theirs) in results.items():
        flops = step_flops(batch)
        ratios[batch] = ours / theirs
        print(f"{batch:>5} {ours * 1e3:>9.3f} ms {theirs * 1e3:>9.3f} ms {ours / theirs:>6.2f}x {flops / 1e6:>7.1f} "
              f"{100 * flops / ours / peak:>11.1f}% {100 * flops / theirs / peak:>12.1f}%")
    verdict = "within" if ratios[256] <= TARGET_RATIO else "ABOVE"
    print(f"\nbatch 256: course_lib / PyTorch = {ratios[256]:.2f}x ({verdict} the {TARGET_RATIO}x target); "
          f"batch 64: {ratios[64]:.2f}x; batch 1: {ratios[1]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
