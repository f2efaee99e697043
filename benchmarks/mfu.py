"""Model FLOP utilization of chapter 11's GPT training on the device course_lib.device picks: one line, `MFU <x>%`.

    python benchmarks/mfu.py [--steps 30] [--threads 2] [--device cpu|cuda] [--preset cpu|gpu] [--scale-down]

Trains the device's preset (``course_lib.models.gpt.GPT_PRESETS``) with ``course_lib.models.gpt_training.train_gpt``
(AdamW, clipping, bf16 autocast and torch.compile where the preset asks) for ``--steps`` steps on the course's
corpus, and divides the model's FLOPs per second (tokens/s times ``course_lib.hardware.gpt_flops_per_token``,
6 N_theta + 12 D T d_model) by the peak:

- on the CPU, the float32 matmul peak measured in the same run with the same threads (the better of a
  measurement before and one after training);
- on CUDA, the device's dense bf16 peak looked up by its name (``course_lib.hardware.gpu_bf16_peak``); a
  device missing from the table says so and prints ``MFU n/a`` instead of guessing.

Unlike ``benchmarks/gpt_cpu.py`` (the loss target), this measures throughput only: no validation pass. The
first step (compilation, allocation) is not timed. ``--preset gpu --device cpu --scale-down`` runs the GPU
preset's code path (bf16 autocast) on the CPU at a small size, as the test does; its MFU is then against
the CPU's float32 peak, which the line says. The line ends with the 1-minute load average.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys


def measure(device=None, preset_name: str | None = None, steps: int = 30, threads: int = 2,
            scale_down: bool = False, seed: int = 0) -> dict:
    """Train for ``steps`` and return tokens/s, FLOP/s, the peak and the MFU (None where the peak is unknown)."""
    import torch

    from course_lib.corpus import load_corpus
    from course_lib.device import pick_device, torch_threads
    from course_lib.hardware import describe_gpu_peak, gpt_flops_per_token, gpu_bf16_peak, measure_cpu_matmul_peak, mfu
    from course_lib.models.gpt import GPT_PRESETS
    from course_lib.models.gpt_training import train_gpt

    device = pick_device(device)
    preset = GPT_PRESETS.for_device(device) if preset_name is None else getattr(GPT_PRESETS, preset_name)
    if scale_down:  # the same code path (autocast, compile flag, dropout) at a size a busy CPU runs in seconds
        preset = dataclasses.replace(preset, context=32, n_layer=1, n_head=2, d_model=32, batch_size=4, warmup_steps=1)
    on_cpu = device.type == "cpu"
    with torch_threads(threads if on_cpu else None):
        peak_before = measure_cpu_matmul_peak() if on_cpu else None
        run = train_gpt(load_corpus(), preset, device, seed=seed, max_steps=steps + 1, max_seconds=600.0,
                        eval_windows=1, log_every=10 ** 9)
        peak = max(peak_before, measure_cpu_matmul_peak()) if on_cpu else None
    achieved = run.tokens_per_s * gpt_flops_per_token(run.config)
    if on_cpu:
        name = f"cpu ({threads} thread{'' if threads == 1 else 's'})"
        peak_text = f"peak {peak / 1e9:.1f} GFLOP/s (fp32 matmul, measured in this run)"
    else:
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else str(device)
        peak = gpu_bf16_peak(name) if device.type == "cuda" else None
        peak_text = describe_gpu_peak(name) if device.type == "cuda" else f"no peak known for {device.type}"
    return {"device": name, "preset": preset, "config": run.config, "steps": run.steps - 1, "seconds": run.seconds,
            "tokens_per_s": run.tokens_per_s, "achieved": achieved, "peak": peak, "peak_text": peak_text,
            "mfu": None if peak is None else mfu(achieved, peak), "notes": run.notes}


def report_line(r: dict) -> str:
    """The one line: device, model, tokens/s, FLOP/s, peak, ``MFU <x>%`` (or ``MFU n/a``) and the load."""
    c, p = r["config"], r["preset"]
    mfu_text = "MFU n/a" if r["mfu"] is None else f"MFU {100 * r['mfu']:.2f}%"
    autocast = f", {p.autocast} autocast" if p.autocast else ""
    notes = f" | notes: {'; '.join(r['notes'])}" if r["notes"] else ""
    return (f"mfu: {r['device']} | D={c.n_layer} d_model={c.d_model} heads={c.n_head} T={c.context} B={p.batch_size}"
            f"{autocast} | {r['steps']} steps in {r['seconds']:.2f} s | {r['tokens_per_s']:,.0f} tokens/s | "
            f"{r['achieved'] / 1e9:,.2f} GFLOP/s | {r['peak_text']} | {mfu_text} | load {os.getloadavg()[0]:.2f}{notes}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default=None)
    parser.add_argument("--preset", choices=("cpu", "gpu"), default=None, help="default: the device's")
    parser.add_argument("--scale-down", action="store_true", help="the preset's code path at a tiny size")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP threads spin otherwise (gpt_cpu.py's note)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    print(report_line(measure(args.device, args.preset, args.steps, args.threads, args.scale_down, args.seed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
