"""course_lib.autograd against PyTorch eager on CPU: one SGD step of chapter 09's digits CNN, timed as a user runs it.

The step: ``opt.zero_grad()``; conv 1→16 (3x3, padding 1), ReLU, max-pool 2, conv 16→32 (3x3,
padding 1), ReLU, flatten, linear to 10; mean cross-entropy; ``loss.backward()``; ``opt.step()``
with plain SGD. Batch 128 of 8x8 images, float32, the same initial weights and batch in both.

Each framework runs in a process of its own, with the same thread count, alternating engine,
torch, engine, ... (the reasons, and the worker and parent machinery this script uses, are in
``_per_process.py``). Prints the median per step of each framework, their ratio (target: at
most 1.5), the fastest runs, and each step's share of the machine's measured float32 matmul
peak (the step's FLOPs counted as the three matrix products per layer that im2col turns it into).

    python benchmarks/cnn_vs_torch.py [--threads 2] [--rounds 4] [--repeats 15] [--steps 10]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _per_process import (alternate, check_isolated, check_same_loss, load_average, matmul_flops_per_s,  # noqa: E402
                          run_worker, set_threads, time_step)

BATCH = 128
CHANNELS = (1, 16, 32)
TARGET_RATIO = 1.5
LR = 0.01


def initial_weights(seed: int = 0):
    r"""PyTorch's default initialization, :math:`\mathcal U(-1/\sqrt{n_\text{in}}, 1/\sqrt{n_\text{in}})` with the
    fan-in :math:`C_\text{in}k_hk_w` (or the linear layer's inputs), drawn with NumPy: the same for both workers."""
    import numpy as np

    rng = np.random.default_rng(seed)
    shapes = [(CHANNELS[1], CHANNELS[0], 3, 3), (CHANNELS[2], CHANNELS[1], 3, 3), (10, CHANNELS[2] * 16)]
    out = []
    for shape in shapes:
        k = 1.0 / np.sqrt(np.prod(shape[1:]))
        out += [rng.uniform(-k, k, shape).astype(np.float32), rng.uniform(-k, k, shape[0]).astype(np.float32)]
    return out


def batch_data(seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed + 1)
    return rng.standard_normal((BATCH, 1, 8, 8), dtype=np.float32), rng.integers(0, 10, BATCH)


def engine_step():
    import numpy as np

    from course_lib.autograd import Tensor, nn, optim
    from course_lib.autograd import functional as F

    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1),
                          nn.ReLU(), nn.Flatten(), nn.Linear(32 * 16, 10))
    for p, w in zip(model.parameters(), initial_weights()):
        p.data[...] = w
    opt = optim.SGD(model.parameters(), lr=LR)
    X, y = batch_data()
    Xt = Tensor(X)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(Xt), y)
        loss.backward()
        opt.step()
        return loss

    loss = step()
    assert Xt.grad is None, "the input batch must not get a gradient"
    assert all(a.dtype == np.float32 for p in model.parameters() for a in (p.data, p.grad)), "float32 throughout"
    return step, loss.item()


def torch_step():
    import torch

    model = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(32 * 16, 10))
    with torch.no_grad():
        for p, w in zip(model.parameters(), initial_weights()):
            p.copy_(torch.from_numpy(w))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    X, y = batch_data()
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(tX), ty)
        loss.backward()
        opt.step()
        return loss

    return step, step().item()


def step_flops(batch: int = BATCH) -> int:
    """Matmul FLOPs of one step as im2col GEMMs: forward, weight gradient, and input gradient (all but conv 1)."""
    macs = [(batch * 64, 9, 16), (batch * 16, 16 * 9, 32), (batch, 32 * 16, 10)]  # (rows, inner, outputs)
    per = [2 * m * k * n for m, k, n in macs]
    return sum(per) * 2 + sum(per[1:])


def worker(framework: str, threads: int, repeats: int, steps: int) -> dict:
    pool = set_threads(framework, threads)  # before NumPy or PyTorch is imported in this process
    step, first_loss = (torch_step if framework == "torch" else engine_step)()
    times = time_step(step, repeats, steps)
    check_isolated(framework)
    return {"threads": pool, "matmul_flops": matmul_flops_per_s(framework), "first_loss": first_loss,
            "seconds_per_step": times}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--worker", choices=("engine", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.threads, args.repeats, args.steps)))
        return 0
    runs = alternate(lambda framework: run_worker(__file__, framework, args.threads, "--repeats", str(args.repeats),
                                                  "--steps", str(args.steps)), args.rounds)
    check_same_loss([run["first_loss"] for rs in runs.values() for run in rs])
    loadavg = load_average()
    times = {f: [t for run in rs for t in run["seconds_per_step"]] for f, rs in runs.items()}
    med = {f: statistics.median(t) for f, t in times.items()}
    best = {f: min(t) for f, t in times.items()}
    peak = max(run["matmul_flops"] for rs in runs.values() for run in rs)
    flops = step_flops()
    ratio = med["engine"] / med["torch"]
    print(f"step: digits CNN (conv 1-16 3x3 p1, ReLU, maxpool 2, conv 16-32 3x3 p1, ReLU, flatten, linear 10), "
          f"batch {BATCH}, cross-entropy, backward, SGD; float32; {args.threads} thread(s); {args.rounds} alternating "
          f"rounds, {args.repeats} timed runs of {args.steps} steps each")
    print(f"threads seen by the workers: engine: {runs['engine'][0]['threads']}; torch: {runs['torch'][0]['threads']}")
    print(f"float32 matmul peak at {args.threads} thread(s), the best either measured: {peak / 1e9:.1f} GFLOP/s; "
          f"load average (1 min) after the runs: {loadavg:.2f}; the step's GEMM work: {flops / 1e6:.1f} MFLOP")
    print(f"median per step: course_lib {med['engine'] * 1e3:.3f} ms, PyTorch {med['torch'] * 1e3:.3f} ms, "
          f"ratio {ratio:.2f}x")
    print(f"fastest run:     course_lib {best['engine'] * 1e3:.3f} ms, PyTorch {best['torch'] * 1e3:.3f} ms, "
          f"ratio {best['engine'] / best['torch']:.2f}x")
    print(f"share of the matmul peak (median): course_lib {100 * flops / med['engine'] / peak:.1f}%, "
          f"PyTorch {100 * flops / med['torch'] / peak:.1f}%")
    verdict = "within" if ratio <= TARGET_RATIO else "ABOVE"
    print(f"\nbatch {BATCH}, {args.threads} thread(s): course_lib / PyTorch = {ratio:.2f}x ({verdict} the "
          f"{TARGET_RATIO}x target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
