"""Kernel-side cost of a slider move, for every widget in the course.

For each registered widget: build it at its defaults, then time ``update(**move)``
(compute + move artists + render the PNG the front end receives) over simulated
control moves: random values each control can take (a slider's values lie on its step
grid, as in the browser). Prints one row per widget with the median and the 95th
percentile; the design's budget is a median of 50 ms. The machine's load average is
printed first: on a shared machine the figures move with it.

    python benchmarks/widget_latency.py [--moves 60] [--seed 0]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from course_lib.widgets.base import all_widgets

BUDGET_MS = 50.0


def measure(cls, moves: int, seed: int) -> list[float]:
    widget = cls()
    widget.widget()  # as in JupyterLab: every update now also renders the PNG the browser receives
    rng = np.random.default_rng(seed)
    widget.update(**widget.benchmark_moves(1, rng)[0])  # warm caches and fonts once
    times = []
    for move in widget.benchmark_moves(moves, rng):
        start = time.perf_counter()
        widget.update(**move)
        times.append((time.perf_counter() - start) * 1e3)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=60, help="simulated slider moves per widget (>= 50)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    widgets = all_widgets()
    if hasattr(os, "getloadavg"):
        print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
              + f" on {os.cpu_count()} CPUs")
    print(f"{'widget':<28} {'median':>12} {'p95':>12}  budget {BUDGET_MS:g} ms  ({args.moves} moves each)")
    over = 0
    for name, cls in widgets.items():
        times = measure(cls, max(args.moves, 50), args.seed)
        median = statistics.median(times)
        p95 = float(np.percentile(times, 95))
        verdict = "ok" if median <= BUDGET_MS else "OVER"
        over += median > BUDGET_MS
        print(f"{name:<28} median {median:5.1f} ms  p95 {p95:5.1f} ms  {verdict}")
    print(f"{len(widgets)} widgets, {over} over budget")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
