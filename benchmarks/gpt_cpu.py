"""Chapter 11's GPT trained with its device's preset, in one line: val_loss, baselines, tokens/s and MFU.

On the CPU: the CPU preset of ``course_lib.models.gpt.GPT_PRESETS`` on ``--threads`` threads (default 2),
for at most ``--seconds`` (default 60) of training, then the loss on the whole validation split of
``course_lib.corpus``. The MFU divides the model's FLOPs per second (``course_lib.hardware.gpt_flops_per_token``:
6 N_theta + 12 D T d_model per token, times tokens/s) by this CPU's float32 matmul peak, measured in the same run with
the same threads (the better of a measurement before and one after training, so a load that eases during the
run does not flatter the MFU). Target: val_loss at least 0.25 nats/char below the bigram baseline.

With CUDA (or ``--device cuda``): the GPU preset (bf16 autocast, torch.compile), and the MFU against the
device's dense bf16 peak looked up by its name (``course_lib.hardware.gpu_bf16_peak``); a device not in the
table says so and prints no MFU. Target on an H100/H200: MFU >= 40%.

    python benchmarks/gpt_cpu.py [--threads 2] [--seconds 60] [--steps N] [--device cpu|cuda] [--seed 0]
                                 [--eval-windows N] [--omp-wait passive|active]

OpenMP's idle threads spin by default; on a machine shared with other processes a spinning thread that
waits for a core turned a 0.14 s step into 0.33 s (load average 7, 2 cores), so the script asks for
``OMP_WAIT_POLICY=PASSIVE`` unless the environment sets it (``--omp-wait active`` to compare). The line ends
with the 1-minute load average: compare figures only at similar loads.
"""
from __future__ import annotations

import argparse
import os
import sys


def report_line(run, base: dict, where: str, peak: float | None, peak_text: str, preset_name: str, load: float) -> str:
    """The benchmark's one line, from a :class:`course_lib.models.gpt_training.GPTRun` and the baselines.

    ``peak`` in FLOP/s, or None where it is unknown (then "MFU n/a"); ``peak_text`` says where it comes from.
    """
    from course_lib.hardware import gpt_flops_per_token, mfu

    config = run.config
    achieved = run.tokens_per_s * gpt_flops_per_token(config)
    mfu_text = f"MFU {100 * mfu(achieved, peak):.1f}%" if peak is not None else "MFU n/a"
    margin = base["bigram"] - run.val_loss
    notes = f" | notes: {'; '.join(run.notes)}" if run.notes else ""
    return (f"gpt_cpu: {where} | preset {preset_name}: {run.model.num_params() / 1e6:.2f}M params, D={config.n_layer} "
            f"d_model={config.d_model} heads={config.n_head} T={config.context} B={run.preset.batch_size} | "
            f"{run.steps} steps in {run.seconds:.1f} s (+{run.first_step_seconds:.1f} s first step) | "
            f"val_loss {run.val_loss:.3f} | bigram {base['bigram']:.3f} | trigram {base['trigram']:.3f} | "
            f"bigram - val_loss {margin:.3f} (target >= 0.25: {'met' if margin >= 0.25 else 'MISSED'}) | "
            f"{run.tokens_per_s:,.0f} tokens/s | {achieved / 1e9:,.1f} GFLOP/s | {peak_text} | {mfu_text} | "
            f"load {load:.2f}{notes}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60.0, help="training time limit (the first step apart)")
    parser.add_argument("--steps", type=int, default=None, help="override the preset's max_steps")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: course_lib.device.pick_device)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-windows", type=int, default=None, help="score this many validation windows, not all")
    parser.add_argument("--omp-wait", choices=("passive", "active"), default="passive")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", args.omp_wait.upper())  # read once, when torch loads OpenMP
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    import torch

    from course_lib.corpus import load_corpus
    from course_lib.device import pick_device, torch_threads
    from course_lib.hardware import describe_gpu_peak, gpu_bf16_peak, measure_cpu_matmul_peak
    from course_lib.models.gpt import GPT_PRESETS
    from course_lib.models.gpt_training import train_gpt
    from course_lib.ngram import baselines

    device = pick_device(args.device)
    preset = GPT_PRESETS.for_device(device)
    corpus = load_corpus()
    base = baselines(corpus)
    on_cpu = device.type == "cpu"
    with torch_threads(args.threads if on_cpu else None):
        peak_before = measure_cpu_matmul_peak() if on_cpu else None
        run = train_gpt(corpus, preset, device, seed=args.seed, max_seconds=args.seconds, max_steps=args.steps,
                        eval_windows=args.eval_windows)
        peak = max(peak_before, measure_cpu_matmul_peak()) if on_cpu else None
    if on_cpu:
        threads = f"{args.threads} thread{'' if args.threads == 1 else 's'}"
        where = f"cpu ({threads}, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']})"
        peak_text = f"peak {peak / 1e9:.1f} GFLOP/s (fp32 matmul, measured)"
    else:
        where = torch.cuda.get_device_name(device) if device.type == "cuda" else str(device)
        peak, peak_text = gpu_bf16_peak(where) if device.type == "cuda" else None, describe_gpu_peak(where)
    print(report_line(run, base, where, peak, peak_text, "cpu" if preset is GPT_PRESETS.cpu else "gpu",
                      os.getloadavg()[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
