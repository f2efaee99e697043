"""What the engine-vs-PyTorch benchmarks share: one framework per process, alternated, timed alike.

In one process NumPy's BLAS threads and PyTorch's thread pool compete for the same cores and
both figures lie, so a benchmark script starts itself as a worker per framework
(``script --worker engine|torch ...``), alternating engine, torch, engine, ... so that both see
the same machine state on average. Its worker:

1. :func:`set_threads` before anything imports NumPy or PyTorch (returns the pool size the
   framework reports, to show that the setting took);
2. builds a step closure and times it with :func:`time_step`;
3. :func:`check_isolated`: the other framework was never imported;
4. prints a JSON dict as its last line, which the parent's :func:`run_worker` reads back.

The parent runs :func:`alternate` and reports the medians, with :func:`load_average` beside them
and :func:`check_same_loss` as the proof that both workers ran the same step.
:func:`matmul_flops_per_s` gives the machine's float32 matmul peak, for a step's share of it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
FRAMEWORKS = ("engine", "torch")


# -- in the worker ---------------------------------------------------------------------------------------
def set_threads(framework: str, threads: int) -> str:
    """Pin this process's thread pool to ``threads``; must run before NumPy or PyTorch is imported.

    Returns the count the framework reports afterwards (``threadpoolctl`` for NumPy's BLAS).
    """
    for var in THREAD_VARIABLES:
        os.environ[var] = str(threads)
    if framework == "torch":
        import torch
        torch.set_num_threads(threads)
        return f"torch.get_num_threads() = {torch.get_num_threads()}"
    import numpy  # noqa: F401 - loads the BLAS, so that its thread count can be read
    return blas_threads()


def blas_threads() -> str:
    """The thread count NumPy's BLAS reports (threadpoolctl), to confirm that the setting took."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
    return f"{blas[0]['internal_api']} num_threads = {blas[0]['num_threads']}" if blas else "no BLAS found"


def time_step(step, repeats: int, steps: int, warmup: int = 3) -> list[float]:
    """Seconds per call of ``step()``, one figure per timed run of ``steps`` calls, after ``warmup`` calls
    (caches, allocators and thread pools warm)."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - start) / steps)
    return times


def check_isolated(framework: str, engine: str = "course_lib") -> None:
    """Fail if this worker imported the other framework (its thread pool would compete).

    ``engine`` is the module the PyTorch worker must not have imported: by default all of
    ``course_lib``; ``"course_lib.autograd"`` where the PyTorch worker uses the course's torch models
    (the engine's allocator settings, ``autograd/memory.py``, would change PyTorch's memory behaviour).
    """
    other = engine if framework == "torch" else "torch"
    assert other not in sys.modules, f"the {framework} worker imported {other}: its thread pool would compete"


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


# -- in the parent ---------------------------------------------------------------------------------------
def run_worker(script: str, framework: str, threads: int, *args: str) -> dict:
    """Run ``script --worker framework --threads threads *args`` with the thread variables set; its
    last stdout line, parsed as JSON."""
    env = dict(os.environ, **{var: str(threads) for var in THREAD_VARIABLES})
    command = [sys.executable, os.path.abspath(script), "--worker", framework, "--threads", str(threads), *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {framework} worker failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def alternate(run_one, rounds: int) -> dict[str, list[dict]]:
    """``run_one(framework)`` for ``rounds`` rounds, engine first in even rounds and torch first in odd
    ones; each framework's results in order."""
    runs = {f: [] for f in FRAMEWORKS}
    for r in range(rounds):
        for framework in (FRAMEWORKS if r % 2 == 0 else FRAMEWORKS[::-1]):
            runs[framework].append(run_one(framework))
    return runs


def check_same_loss(losses, what: str = "") -> None:
    """Stop if the workers' first losses differ by more than float32 round-off: they ran different steps."""
    if max(losses) - min(losses) > 1e-4 * max(1.0, abs(losses[0])):
        raise SystemExit(f"{what}the workers' first losses differ ({min(losses)} .. {max(losses)}): they did not "
                         "run the same step")


def load_average() -> float:
    """The 1-minute load average (NaN where the OS has none): the figure to print beside any timing."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
