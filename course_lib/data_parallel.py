r"""Data parallelism on a real distributed engine: torch.distributed and DDP on chapter 11's GPT (chapter 15).

API::

    from course_lib.data_parallel import ddp_gradients, single_process_gradients, measure_scaling
    grads = ddp_gradients(config, idx, targets, world_size=2)     # one dict per rank: name -> gradient (float64)
    ref = single_process_gradients(config, idx, targets)          # the whole batch in one process
    rows = measure_scaling(config, layouts=((1, 2), (2, 1)))      # tokens/s per (processes, threads each)

Each of ``world_size`` processes builds the same model (same seed), wraps it in
``torch.nn.parallel.DistributedDataParallel`` and runs forward and backward on its own :math:`1/n_\text{gpu}`
of the batch; during backward DDP all-reduces (sums, then divides by :math:`n_\text{gpu}`) every gradient,
so each rank ends with

.. math::

    \frac{1}{n_\text{gpu}} \sum_{r=1}^{n_\text{gpu}} \nabla_{\boldsymbol\theta} L^{(r)}
    = \nabla_{\boldsymbol\theta} \frac{1}{n_\text{gpu}} \sum_{r} \frac{1}{B_r} \sum_{i \in \mathcal{B}_r} L_i
    = \nabla_{\boldsymbol\theta} \frac{1}{B} \sum_{i \in \mathcal{B}} L_i

when the shards have equal size :math:`B_r = B/n_\text{gpu}`: the gradient of the mean loss on the
concatenated batch, which one process would compute. ``tests/test_data_parallel.py`` checks it in float64.

Backends: ``gloo`` with processes on the CPU (here: 2); with CUDA, ``nccl`` and one process per visible
GPU, the same code (``backend=None`` picks). Processes are started with ``torch.multiprocessing.spawn``
and meet through a file store in a temporary directory (no port to pick); ``spawn`` re-imports the
caller's ``__main__``, so a script that calls these functions needs ``if __name__ == "__main__":`` (a
notebook does not). Under ``torchrun`` the module
runs as a script on the environment's ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``::

    torchrun --standalone --nproc_per_node=gpu -m course_lib.data_parallel --steps 50
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from course_lib.models.gpt import GPT, GPTConfig

__all__ = ["default_backend", "ddp_gradients", "single_process_gradients", "measure_scaling", "shard",
           "single_process_throughput", "ddp_check_and_time"]


def default_backend() -> str:
    """``"nccl"`` when CUDA is available, else ``"gloo"``."""
    return "nccl" if torch.cuda.is_available() else "gloo"


def shard(tensor: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """Rank ``rank``'s contiguous slice of the batch axis; the batch must split evenly (see module docstring)."""
    if tensor.shape[0] % world_size:
        raise ValueError(f"the batch of {tensor.shape[0]} does not split into {world_size} equal shards; the "
                         "all-reduced mean equals the whole batch's only for equal shards")
    n = tensor.shape[0] // world_size
    return tensor[rank * n:(rank + 1) * n]


def _build(config: GPTConfig, seed: int, dtype: torch.dtype, device: torch.device) -> GPT:
    torch.manual_seed(seed)
    return GPT(config).to(device=device, dtype=dtype)


def _device_for(rank: int, backend: str) -> torch.device:
    return torch.device("cuda", rank) if backend == "nccl" else torch.device("cpu")


def _worker(rank: int, world_size: int, backend: str, init_file: str, out_dir: str, task: str, kw: dict) -> None:
    torch.set_num_threads(kw.get("threads", 1))
    dist.init_process_group(backend, init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        device = _device_for(rank, backend)
        if device.type == "cuda":
            torch.cuda.set_device(device)
        result = {}
        for job in task.split(","):  # several jobs share one start-up (importing torch dominates it)
            dtype = kw["dtype"] if job == "grad" else torch.float32
            model = _build(kw["config"], kw["seed"], dtype, device)
            ddp = DDP(model, device_ids=[rank] if device.type == "cuda" else None)
            if job == "grad":
                idx = shard(kw["idx"], rank, world_size).to(device)
                targets = shard(kw["targets"], rank, world_size).to(device)
                _, loss = ddp(idx, targets)
                loss.backward()  # the all-reduce happens here, bucket by bucket, overlapped with backward
                result["grads"] = {n: p.grad.detach().cpu() for n, p in model.named_parameters()}
                result["loss"] = loss.item()
            elif job == "train":
                result.update(_timed_steps(ddp, model, kw, rank, device))
            else:
                raise ValueError(f"unknown task {job!r}")
        torch.save(result, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def _timed_steps(ddp, model, kw, rank, device) -> dict:
    config, B, steps = kw["config"], kw["batch_per_rank"], kw["steps"]
    g = torch.Generator().manual_seed(1000 + rank)  # each rank draws its own data, as a sampler would shard it
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=kw.get("bf16", False))

    def step():
        idx = torch.randint(0, config.vocab_size, (B, config.context + 1), generator=g).to(device)
        with amp:
            _, loss = ddp(idx[:, :-1], idx[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(kw.get("warmup", 2)):
        step()
    if dist.is_initialized():
        dist.barrier()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - t0
    # Every rank must hold the same weights after the same all-reduced steps
    checksum = sum(float(p.detach().double().sum()) for p in model.parameters())
    return {"seconds": seconds, "tokens": steps * B * config.context, "checksum": checksum}


def _spawn(task: str, world_size: int, backend: str | None, kw: dict) -> list[dict]:
    backend = backend or default_backend()
    if backend == "nccl" and world_size > torch.cuda.device_count():
        raise ValueError(f"nccl needs one GPU per process: {world_size} processes, "
                         f"{torch.cuda.device_count()} GPUs visible")
    import torch.multiprocessing as mp

    # OpenMP's idle threads spin by default; on a shared machine a spinning thread waiting for a core slowed a
    # 2-thread step 28x (benchmarks/gpt_cpu.py measured the same effect). Children inherit this at creation.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    with tempfile.TemporaryDirectory(prefix="ddp_") as tmp:
        init_file = os.path.join(tmp, "store")
        mp.spawn(_worker, args=(world_size, backend, init_file, tmp, task, kw), nprocs=world_size, join=True)
        return [torch.load(os.path.join(tmp, f"rank{r}.pt")) for r in range(world_size)]


def ddp_gradients(config: GPTConfig, idx: torch.Tensor, targets: torch.Tensor, world_size: int = 2,
                  backend: str | None = None, seed: int = 0, dtype: torch.dtype = torch.float64) -> list[dict]:
    r"""The gradient each DDP rank holds after one backward on its shard of ``(idx, targets)``.

    Parameters
    ----------
    config : GPTConfig
        Chapter 11's GPT; every rank builds it after ``torch.manual_seed(seed)``.
    idx, targets : int64 tensors, shape (B, T)
        The whole batch; rank :math:`r` takes rows :math:`rB/n \dots (r+1)B/n - 1`. :math:`B` must be a
        multiple of ``world_size``.
    world_size : int
        :math:`n_\text{gpu}`, the number of processes.
    backend : {"gloo", "nccl"}, optional
        Default :func:`default_backend`.
    dtype : torch.dtype
        float64 by default, so that the only difference from one process is the order of additions.

    Returns
    -------
    list of dict
        Per rank, ``{"grads": {name: tensor}, "loss": float}`` with the shard's loss.
    """
    return _spawn("grad", world_size, backend, dict(config=config, idx=idx, targets=targets, seed=seed, dtype=dtype))


def single_process_gradients(config: GPTConfig, idx: torch.Tensor, targets: torch.Tensor, seed: int = 0,
                             dtype: torch.dtype = torch.float64) -> dict:
    """The gradient of the mean loss on the whole batch in this process, named as :func:`ddp_gradients`'."""
    model = _build(config, seed, dtype, torch.device("cpu"))
    _, loss = model(idx, targets)
    loss.backward()
    return {n: p.grad.detach().clone() for n, p in model.named_parameters()}


def measure_scaling(config: GPTConfig, layouts=((1, 2), (2, 1)), batch_per_rank: int = 8, steps: int = 10,
                    backend: str | None = None, bf16: bool = False) -> list[dict]:
    r"""Training throughput for each layout ``(processes, threads per process)``, weak scaling.

    Each process trains on ``batch_per_rank`` sequences of ``config.context`` tokens per step (so
    :math:`n_\text{gpu}` processes see :math:`n_\text{gpu}` times the tokens per step), AdamW, after 2
    warm-up steps.

    Returns
    -------
    list of dict
        Per layout: ``processes``, ``threads``, ``tokens_per_s`` (all ranks' tokens over the slowest rank's
        time), ``step_s`` (the slowest rank's seconds per step), ``same_weights`` (every rank's weight
        checksum equal after training: DDP kept the replicas identical).
    """
    rows = []
    for processes, threads in layouts:
        res = _spawn("train", processes, backend, dict(config=config, seed=0, dtype=torch.float32, threads=threads,
                                                        batch_per_rank=batch_per_rank, steps=steps, bf16=bf16))
        slowest = max(r["seconds"] for r in res)
        rows.append({"processes": processes, "threads": threads,
                     "tokens_per_s": sum(r["tokens"] for r in res) / slowest, "step_s": slowest / steps,
                     "same_weights": len({r["checksum"] for r in res}) == 1})
    return rows


def single_process_throughput(config: GPTConfig, batch_size: int = 8, steps: int = 10, threads: int = 1,
                              seed: int = 0) -> dict:
    """The same timed training loop as :func:`measure_scaling`'s ranks, in this process, without DDP: the
    one-process baseline (no process to start). Returns ``tokens_per_s`` and ``step_s``."""
    from course_lib.device import torch_threads

    with torch_threads(threads):
        model = _build(config, seed, torch.float32, torch.device("cpu"))
        r = _timed_steps(model, model, dict(config=config, batch_per_rank=batch_size, steps=steps), 0,
                         torch.device("cpu"))
    return {"tokens_per_s": r["tokens"] / r["seconds"], "step_s": r["seconds"] / steps}


def ddp_check_and_time(config: GPTConfig, idx: torch.Tensor, targets: torch.Tensor, world_size: int = 2,
                       batch_per_rank: int = 8, steps: int = 10, backend: str | None = None, seed: int = 0) -> dict:
    """:func:`ddp_gradients` and one layout of :func:`measure_scaling` (one thread per process) with one start-up.

    Returns ``{"ranks": [per-rank {"grads", "loss"}], "tokens_per_s", "step_s", "same_weights"}``.
    """
    res = _spawn("grad,train", world_size, backend, dict(config=config, idx=idx, targets=targets, seed=seed,
                                                          dtype=torch.float64, threads=1,
                                                          batch_per_rank=batch_per_rank, steps=steps))
    slowest = max(r["seconds"] for r in res)
    return {"ranks": [{"grads": r["grads"], "loss": r["loss"]} for r in res],
            "tokens_per_s": sum(r["tokens"] for r in res) / slowest, "step_s": slowest / steps,
            "same_weights": len({r["checksum"] for r in res}) == 1}


def _torchrun_main(argv=None) -> int:
    """Entry point under torchrun: each process trains ``--steps`` steps of the GPU preset's model size."""
    parser = argparse.ArgumentParser(description="DDP on chapter 11's GPT under torchrun")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-per-rank", type=int, default=16)
    args = parser.parse_args(argv)
    from course_lib.models.gpt import GPT_PRESETS

    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    backend = default_backend()
    dist.init_process_group(backend)
    try:
        local = int(os.environ.get("LOCAL_RANK", rank))
        device = _device_for(local, backend)
        if device.type == "cuda":
            torch.cuda.set_device(device)
        preset = GPT_PRESETS.for_device(device)
        config = preset.config(vocab_size=96)
        model = _build(config, 0, torch.float32, device)
        ddp = DDP(model, device_ids=[local] if device.type == "cuda" else None)
        kw = dict(config=config, batch_per_rank=args.batch_per_rank, steps=args.steps, bf16=device.type == "cuda")
        res = _timed_steps(ddp, model, kw, rank, device)
        if rank == 0:
            print(f"data_parallel: {world_size} x {backend} on {device.type} | "
                  f"{world_size * res['tokens'] / res['seconds']:,.0f} tokens/s | {res['seconds'] / args.steps:.3f} s/step")
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(_torchrun_main())
