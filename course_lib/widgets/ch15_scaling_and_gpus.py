r"""Chapter 15 widgets: the roofline with the course's measured kernels, and a compute and memory calculator.

Both follow the course's pattern (:mod:`course_lib.widgets.base`): a pure ``compute`` and a view that only
moves artists. The roofline draws measurements made beforehand (:func:`course_lib.roofline.measure_roofline`,
passed as ``measurement=``; the default is :data:`MEASURED_HERE`, one such run on the course's 2-core machine);
it never measures, so a slider move costs no benchmark. The calculator is :mod:`course_lib.scaling`'s
arithmetic.
"""
from __future__ import annotations

import numpy as np

from course_lib import scaling as S
from course_lib.roofline import attainable, ridge_point
from course_lib.widgets.base import LEGEND_FONTSIZE, PALETTE, BlittedWidget, register_widget

# -- the roofline ----------------------------------------------------------------------------------------------
#: ``measure_roofline(threads=1)`` on the course's machine (2 cores shared with other processes, 2026-11-30, the
#: load average beside it): the default the widget draws. The chapter passes its own fresh measurement.
MEASURED_HERE = {
    "peak": 1.6562e+11, "bandwidth": 3.1177e+09, "bandwidth_cache": 3.0086e+10,
    "threads": 1, "load": 8.36,
    "kernels": [
        {"name": "matmul 64", "group": "matmul", "flops": 524288, "bytes": 49152, "seconds": 7.1570e-06},
        {"name": "matmul 256", "group": "matmul", "flops": 3.35544e+07, "bytes": 786432, "seconds": 2.3705e-04},
        {"name": "matmul 1024", "group": "matmul", "flops": 2.14748e+09, "bytes": 1.25829e+07, "seconds": 5.7528e-02},
        {"name": "add 4,194,304", "group": "element-wise", "flops": 4.1943e+06, "bytes": 5.03316e+07, "seconds": 2.7967e-03},
        {"name": "gelu 4,194,304", "group": "element-wise", "flops": 3.35544e+07, "bytes": 3.35544e+07, "seconds": 3.7053e-03},
        {"name": "softmax 4096x256", "group": "softmax", "flops": 5.24288e+06, "bytes": 8.38861e+06, "seconds": 7.4096e-04},
        {"name": "conv im2col 1->16 k3 28x28 B64", "group": "convolution", "flops": 1.246e+07, "bytes": 2.97018e+06,
         "seconds": 1.1354e-03},
        {"name": "conv im2col 16->32 k3 14x14 B64", "group": "convolution", "flops": 8.49347e+07, "bytes": 2.0009e+06,
         "seconds": 9.3025e-03},
        {"name": "attention 4h T64 d16", "group": "attention", "flops": 1.1305e+06, "bytes": 65536, "seconds": 3.8138e-05},
        {"name": "attention 8h T512 d64", "group": "attention", "flops": 5.47357e+08, "bytes": 4.1943e+06,
         "seconds": 3.2572e-02},
    ],
}

INTENSITY_RANGE = (1e-2, 1e3)  # FLOP/byte on the x axis
GROUP_COLORS = {"matmul": PALETTE["blue"], "element-wise": PALETTE["orange"], "softmax": PALETTE["green"],
                "convolution": PALETTE["purple"], "attention": PALETTE["sky"]}


def roofline_view(kernel: str = "matmul 256", measurement: dict | None = None) -> dict:
    r"""The roofs and every kernel's point, with ``kernel`` picked out.

    Parameters
    ----------
    kernel : str
        A kernel's ``name`` in the measurement.
    measurement : dict, optional
        :func:`course_lib.roofline.measure_roofline`'s result (``peak``, ``bandwidth``, optionally
        ``bandwidth_cache``, and ``kernels`` with ``name``, ``group``, ``flops``, ``bytes``, ``seconds``);
        default :data:`MEASURED_HERE`.

    Returns
    -------
    dict
        ``intensity`` and ``attained`` per kernel (arrays), ``groups``, ``names``, ``index`` of the picked
        kernel, ``roof_cache_here`` (the L3 roof at its intensity, or None), ``grid`` with ``roof`` (:math:`\min(R_\text{peak}, I R_\text{mem})`) and ``roof_cache`` (with the
        L3 bandwidth, or None), ``ridge``, and for the picked kernel its ``roof_here``, ``fraction`` of that
        roof attained, and ``bound`` ("memory" below the ridge point, "compute" above).
    """
    m = MEASURED_HERE if measurement is None else measurement
    rows = m["kernels"]
    names = [r["name"] for r in rows]
    if kernel not in names:
        raise ValueError(f"unknown kernel {kernel!r}; measured: {names}")
    flops = np.array([r["flops"] for r in rows], dtype=float)
    nbytes = np.array([r["bytes"] for r in rows], dtype=float)
    seconds = np.array([r["seconds"] for r in rows], dtype=float)
    intensity, attained = flops / nbytes, flops / seconds
    peak, bw = float(m["peak"]), float(m["bandwidth"])
    grid = np.logspace(np.log10(INTENSITY_RANGE[0]), np.log10(INTENSITY_RANGE[1]), 200)
    bw_cache = m.get("bandwidth_cache")
    i = names.index(kernel)
    roof_here = attainable(intensity[i], peak, bw)
    roof_cache_here = None if bw_cache is None else attainable(intensity[i], peak, float(bw_cache))
    ridge = ridge_point(peak, bw)
    return {"names": names, "groups": [r["group"] for r in rows], "intensity": intensity, "attained": attained,
            "index": i, "grid": grid, "roof": attainable(grid, peak, bw),
            "roof_cache": None if bw_cache is None else attainable(grid, peak, float(bw_cache)),
            "peak": peak, "bandwidth": bw, "bandwidth_cache": bw_cache, "ridge": ridge, "roof_here": roof_here,
            "roof_cache_here": roof_cache_here,
            "fraction": attained[i] / roof_here, "bound": "memory" if intensity[i] < ridge else "compute",
            "flops": flops[i], "bytes": nbytes[i], "seconds": seconds[i], "load": m.get("load")}


@register_widget
class Roofline(BlittedWidget):
    """This machine's roofline with the course's kernels; pick one to see its intensity and attained FLOP/s."""

    name = "15.roofline"
    figsize = (7.2, 4.2)
    compute = staticmethod(roofline_view)

    @classmethod
    def defaults(cls) -> dict:
        return {"kernel": "matmul 256", "measurement": None}

    def build(self, fig) -> None:
        d = roofline_view(self.params["kernel"], self.params["measurement"])  # the static parts: roofs and points
        self.ax = fig.subplots()
        self.ax.set(xscale="log", yscale="log", xlim=INTENSITY_RANGE, xlabel="arithmetic intensity I (FLOP/byte)",
                    ylabel="FLOP/s (float32)")
        self.ax.plot(d["grid"], d["roof"], color="black", lw=2,
                     label=f"roof, main memory\n{d['bandwidth'] / 1e9:.1f} GB/s")
        if d["roof_cache"] is not None:
            self.ax.plot(d["grid"], d["roof_cache"], color=PALETTE["grey"], lw=1.5, ls="--",
                         label=f"roof, L3 cache\n{d['bandwidth_cache'] / 1e9:.1f} GB/s")
        self.ax.axvline(d["ridge"], color=PALETTE["grey"], lw=0.8, ls=":")
        for group, color in GROUP_COLORS.items():
            sel = [j for j, g in enumerate(d["groups"]) if g == group]
            if sel:
                self.ax.scatter(d["intensity"][sel], d["attained"][sel], s=40, color=color, edgecolors="black",
                                linewidths=0.5, zorder=3, label=group)
        lo = min(d["attained"].min(), d["roof"].min()) / 3
        self.ax.set_ylim(lo, d["peak"] * 3)
        self.ax.grid(alpha=0.3, which="both")
        self.ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=LEGEND_FONTSIZE, frameon=False)
        (self.pick,) = self.ax.plot([], [], "o", ms=14, mfc="none", mec=PALETTE["vermillion"], mew=2.5, zorder=4)
        (self.stem,) = self.ax.plot([], [], color=PALETTE["vermillion"], lw=1.5, ls="--", zorder=2)
        self.moving(self.pick, self.stem)

    def draw(self, d) -> None:
        i = d["index"]
        x, y = d["intensity"][i], d["attained"][i]
        self.pick.set_data([x], [y])
        self.stem.set_data([x, x], [y, d["roof_here"]])
        load = "" if d["load"] is None else f" (measured at load {d['load']:.1f})"
        cache = ""
        if d["fraction"] > 1 and d["roof_cache_here"] is not None:
            cache = (f" It runs above the main-memory roof: its {d['bytes'] / 2 ** 20:.3g} MiB stay in the L3 "
                     f"cache, whose roof here is {d['roof_cache_here'] / 1e9:.3g} GFLOP/s "
                     f"({y / d['roof_cache_here']:.0%} of it).")
        self.readout = (
            f"<b>{d['names'][i]}</b>: {d['flops']:.3g} FLOPs over at least {d['bytes']:.3g} bytes, so I = "
            f"{x:.3g} FLOP/byte; {d['seconds'] * 1e3:.3g} ms, so {y / 1e9:.3g} GFLOP/s attained{load}. "
            f"The roof at this I is {d['roof_here'] / 1e9:.3g} GFLOP/s ({d['fraction']:.0%} reached): "
            f"{d['bound']}-bound (ridge point I* = R_peak / R_mem = {d['ridge']:.3g} FLOP/byte; peak "
            f"{d['peak'] / 1e9:.1f} GFLOP/s).{cache}")

    def controls(self) -> dict:
        import ipywidgets as w

        names = [r["name"] for r in (self.params["measurement"] or MEASURED_HERE)["kernels"]]
        return {"kernel": w.Dropdown(options=names, value=self.params["kernel"], description="kernel")}


# -- the compute and memory calculator ----------------------------------------------------------------------------
#: name -> (dense bf16 FLOP/s, memory in bytes). Peaks from course_lib.hardware's datasheet table.
ACCELERATORS = {
    "H100 SXM, 80 GB": ("NVIDIA H100 80GB HBM3", 80e9),
    "H200, 141 GB": ("NVIDIA H200", 141e9),
    "A100, 80 GB": ("NVIDIA A100-SXM4-80GB", 80e9),
    "1e14 FLOP/s, 80 GB": (None, 80e9),  # the chapter's round figure
}
GPU_COUNTS = 2.0 ** np.arange(0, 15)  # 1 ... 16384


def _peak(accelerator: str) -> tuple[float, float]:
    from course_lib.hardware import gpu_bf16_peak

    if accelerator not in ACCELERATORS:
        raise ValueError(f"unknown accelerator {accelerator!r}; choose one of {list(ACCELERATORS)}")
    device_name, memory = ACCELERATORS[accelerator]
    return (1e14 if device_name is None else gpu_bf16_peak(device_name)), memory


def calculator(log10_params: float = 11.243, log10_tokens: float = 11.477, precision: str = "mixed",
               log2_gpus: int = 10, stage: int = 0, mfu: float = 0.4, accelerator: str = "H100 SXM, 80 GB") -> dict:
    r"""Training compute, days and model-state memory per GPU for a model of :math:`10^{\text{log10\_params}}` parameters.

    Returns
    -------
    dict
        ``n_params``, ``n_tokens``, ``n_gpu``, ``flops`` (:math:`6 N_\theta N_\text{tok}`), ``days`` on ``n_gpu``
        accelerators at ``mfu`` of their dense bf16 peak, ``parts`` (bytes per GPU: weights, gradients,
        optimizer, :func:`course_lib.scaling.sharded_components`), ``total``, ``memory`` (one GPU's),
        ``fits``, ``curves`` (bytes per GPU against :data:`GPU_COUNTS` for stages 0-3) and ``min_gpus`` (the
        fewest GPUs, a power of 2, whose memory holds the model states at this stage; None if none does).
    """
    if not 0 < mfu <= 1:
        raise ValueError(f"mfu is a fraction of the peak, in (0, 1], got {mfu}")
    n_params, n_tokens, n_gpu = 10.0 ** log10_params, 10.0 ** log10_tokens, int(2 ** int(log2_gpus))
    peak, memory = _peak(accelerator)
    flops = S.training_flops(n_params, n_tokens)
    parts = S.sharded_components(n_params, n_gpu, int(stage), precision)
    curves = np.array([[S.sharded_bytes_per_gpu(n_params, int(n), s, precision) for n in GPU_COUNTS] for s in range(4)])
    fitting = np.nonzero(curves[int(stage)] <= memory)[0]
    return {"n_params": n_params, "n_tokens": n_tokens, "n_gpu": n_gpu, "flops": flops, "peak": peak,
            "days": S.training_days(flops, peak, mfu, n_gpu), "parts": parts, "total": sum(parts.values()),
            "memory": memory, "fits": sum(parts.values()) <= memory, "curves": curves, "stage": int(stage),
            "min_gpus": int(GPU_COUNTS[fitting[0]]) if len(fitting) else None, "precision": precision, "mfu": mfu}


@register_widget
class Calculator(BlittedWidget):
    """Parameters, tokens, precision and GPUs in; FLOPs, days and memory per GPU out."""

    name = "15.calculator"
    figsize = (8.4, 3.8)
    compute = staticmethod(calculator)
    STAGE_COLORS = (PALETTE["vermillion"], PALETTE["orange"], PALETTE["green"], PALETTE["blue"])

    @classmethod
    def defaults(cls) -> dict:
        return {"log10_params": 11.243, "log10_tokens": 11.477, "precision": "mixed", "log2_gpus": 10, "stage": 0,
                "mfu": 0.4, "accelerator": "H100 SXM, 80 GB"}

    def build(self, fig) -> None:
        self.ax_b, self.ax_m = fig.subplots(1, 2, width_ratios=[1.0, 1.4])
        labels = ["weights", "gradients", "optimizer", "total"]
        self.bars = self.ax_b.barh(labels, [1, 1, 1, 1], color=[PALETTE["blue"], PALETTE["orange"], PALETTE["green"],
                                                                  PALETTE["black"]])
        self.ax_b.set(xscale="log", xlim=(1e-3, 1e5), xlabel="GB per GPU (model states)")
        self.ax_b.invert_yaxis()
        self.cap_b = self.ax_b.axvline(80, color=PALETTE["vermillion"], lw=1.5, ls="--")
        self.ax_m.set(xscale="log", yscale="log", xlim=(GPU_COUNTS[0], GPU_COUNTS[-1]), ylim=(1e-3, 1e5),
                      xlabel="number of GPUs n_gpu", ylabel="GB per GPU")
        self.ax_m.set_xscale("log", base=2)
        self.ax_m.grid(alpha=0.3, which="both")
        names = ["DDP (stage 0)", "ZeRO-1", "ZeRO-2", "ZeRO-3 / FSDP"]
        self.lines = [self.ax_m.plot(GPU_COUNTS, np.ones_like(GPU_COUNTS), color=c, lw=1.8, label=n)[0]
                      for c, n in zip(self.STAGE_COLORS, names)]
        (self.cap_m,) = self.ax_m.plot(GPU_COUNTS[[0, -1]], [80, 80], color=PALETTE["vermillion"], lw=1.5, ls="--",
                                       label="one GPU's memory")
        (self.dot,) = self.ax_m.plot([], [], "o", ms=9, mfc="none", mec="black", mew=2, label="this setting")
        self.ax_m.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=LEGEND_FONTSIZE, frameon=False)
        self.moving(*self.bars, self.cap_b, *self.lines, self.cap_m, self.dot)

    def draw(self, d) -> None:
        values = [d["parts"]["weights"], d["parts"]["gradients"], d["parts"]["optimizer"], d["total"]]
        for bar, v in zip(self.bars, values):
            bar.set_width(max(v / 1e9, 1e-3))
        gb = d["memory"] / 1e9
        self.cap_b.set_xdata([gb, gb])
        for s, line in enumerate(self.lines):
            line.set_ydata(np.maximum(d["curves"][s] / 1e9, 1e-3))
            line.set_linewidth(3.0 if s == d["stage"] else 1.2)
        self.cap_m.set_ydata([gb, gb])
        self.dot.set_data([d["n_gpu"]], [max(d["total"] / 1e9, 1e-3)])
        fit = "fits" if d["fits"] else "does <b>not</b> fit"
        need = (f"at this stage it fits from {d['min_gpus']:,} GPUs" if d["min_gpus"] else
                f"at this stage no count up to {int(GPU_COUNTS[-1]):,} GPUs holds it")
        years = f" ({d['days'] / 365.25:.3g} years)" if d["days"] > 365.25 else ""
        self.readout = (
            f"N_θ = {d['n_params']:.3g} parameters, N_tok = {d['n_tokens']:.3g} tokens: C = 6 N_θ N_tok = "
            f"{d['flops']:.3g} FLOPs; on {d['n_gpu']:,} GPUs at {d['mfu']:.0%} of {d['peak'] / 1e12:.0f} TFLOP/s: "
            f"<b>{d['days']:.3g} days</b>{years}. Model states per GPU ({d['precision']} Adam, stage {d['stage']}): "
            f"{d['total'] / 1e9:.3g} GB, which {fit} in {gb:.0f} GB; {need}. Activations come on top.")

    def controls(self) -> dict:
        import ipywidgets as w

        p = self.params
        return {
            "log10_params": w.FloatSlider(value=p["log10_params"], min=6, max=13, step=0.001, readout_format=".2f",
                                          description="log₁₀ N_θ"),
            "log10_tokens": w.FloatSlider(value=p["log10_tokens"], min=8, max=14, step=0.001, readout_format=".2f",
                                          description="log₁₀ N_tok"),
            "precision": w.Dropdown(options=[("mixed (16 B/param)", "mixed"), ("fp32 (16 B/param, no master)", "fp32")],
                                    value=p["precision"], description="precision"),
            "log2_gpus": w.IntSlider(value=p["log2_gpus"], min=0, max=len(GPU_COUNTS) - 1, description="log₂ n_gpu"),
            "stage": w.Dropdown(options=[("0: DDP", 0), ("1: ZeRO-1", 1), ("2: ZeRO-2", 2), ("3: ZeRO-3 / FSDP", 3)],
                                value=p["stage"], description="ZeRO stage"),
            "mfu": w.FloatSlider(value=p["mfu"], min=0.05, max=1.0, step=0.05, description="MFU"),
            "accelerator": w.Dropdown(options=list(ACCELERATORS), value=p["accelerator"], description="GPU"),
        }
