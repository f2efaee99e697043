r"""Chapter 09 widgets: a convolution-arithmetic explorer, and a feature-map viewer of the trained digits CNN.

Both follow the course's pattern (:mod:`course_lib.widgets.base`): a pure ``compute`` on
:mod:`course_lib.convolution` and :mod:`course_lib.cnn_experiment`, and a view that only moves
artists over a background rendered once. The CNN is trained once per process
(:func:`course_lib.cnn_experiment.trained_cnn`, cached: the notebook's own run is reused).
"""
from __future__ import annotations

import numpy as np

from course_lib import cnn_experiment as E
from course_lib import convolution as C
from course_lib.widgets.base import PALETTE, BlittedWidget, register_widget

# -- the arithmetic explorer ---------------------------------------------------------------------------------
MAX_N, MAX_PAD = 9, 2
CANVAS = MAX_N + 2 * MAX_PAD  # the padded input never exceeds this


def conv_arithmetic(n: int = 7, kernel: int = 3, stride: int = 1, padding: int = 0, dilation: int = 1,
                    position: int = 0) -> dict:
    r"""One output position of a 2-D convolution on an ``n`` x ``n`` input: the window it reads, the sizes.

    Parameters
    ----------
    n, kernel, stride, padding, dilation : int
        A square input and kernel, the same settings along both axes.
    position : int
        Which output cell, counted row-major; wrapped around the number of output cells.

    Returns
    -------
    dict
        ``out`` (:func:`course_lib.convolution.conv_output_size`), ``cell`` (i, j), ``taps`` (k², 2): the
        padded-input coordinates (row, column) it reads, ``padded`` = n + 2p, ``field2`` and ``field3``: the
        receptive field of 2 and 3 such layers stacked (:func:`course_lib.convolution.receptive_field`),
        ``transposed``: the size a transposed convolution with these settings gives back from ``out``.
    """
    out = C.conv_output_size(n, kernel, stride, padding, dilation)
    i, j = divmod(int(position) % (out * out), out)
    a, b = np.meshgrid(np.arange(kernel), np.arange(kernel), indexing="ij")
    taps = np.stack([i * stride + a.ravel() * dilation, j * stride + b.ravel() * dilation], axis=1)
    fields = C.receptive_field([kernel] * 3, [stride] * 3, [dilation] * 3)
    extra = (n + 2 * padding - dilation * (kernel - 1) - 1) % stride  # the rows the floor dropped
    back = C.conv_transpose_output_size(out, kernel, stride, padding, extra, dilation) \
        if extra < max(stride, dilation) else None  # PyTorch's limit on output_padding
    return {"n": n, "kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation, "out": out,
            "cell": (i, j), "taps": taps, "padded": n + 2 * padding, "field2": int(fields[1]),
            "field3": int(fields[2]), "transposed": back}


@register_widget
class ConvArithmetic(BlittedWidget):
    """Kernel, stride, padding, dilation: the sliding window on the padded input and the output it fills."""

    name = "09.conv_arithmetic"
    figsize = (7.4, 3.8)
    compute = staticmethod(conv_arithmetic)

    @classmethod
    def defaults(cls) -> dict:
        return {"n": 7, "kernel": 3, "stride": 1, "padding": 0, "dilation": 1, "position": 0}

    def build(self, fig) -> None:
        from matplotlib.colors import ListedColormap

        self.ax_in, self.ax_out = fig.subplots(1, 2, width_ratios=[1, 1])
        cmap = ListedColormap(["white", "#DDDDDD", PALETTE["sky"]])  # outside, padding, input
        for ax, title in ((self.ax_in, "padded input: the window's taps"), (self.ax_out, "output: the cell it fills")):
            ax.set(xlim=(-0.5, CANVAS - 0.5), ylim=(CANVAS - 0.5, -0.5), xticks=[], yticks=[], aspect="equal")
            ax.set_title(title, fontsize=9)
        self.grid_in = self.ax_in.imshow(np.zeros((CANVAS, CANVAS)), cmap=cmap, vmin=0, vmax=2)
        self.grid_out = self.ax_out.imshow(np.zeros((CANVAS, CANVAS)), cmap=cmap, vmin=0, vmax=2)
        self.taps = self.ax_in.scatter([], [], s=60, color=PALETTE["vermillion"], marker="s", label="taps")
        (self.span,) = self.ax_in.plot([], [], color=PALETTE["vermillion"], lw=1.5)
        (self.cell,) = self.ax_out.plot([], [], "s", color=PALETTE["vermillion"], ms=11)
        self.moving(self.grid_in, self.grid_out, self.taps, self.span, self.cell)

    def draw(self, d) -> None:
        p, n, out = d["padding"], d["n"], d["out"]
        grid = np.zeros((CANVAS, CANVAS))
        grid[:d["padded"], :d["padded"]] = 1
        grid[p:p + n, p:p + n] = 2
        self.grid_in.set_data(grid)
        outgrid = np.zeros((CANVAS, CANVAS))
        outgrid[:out, :out] = 2
        self.grid_out.set_data(outgrid)
        self.taps.set_offsets(d["taps"][:, ::-1])
        lo, hi = d["taps"].min(axis=0) - 0.5, d["taps"].max(axis=0) + 0.5
        self.span.set_data([lo[1], hi[1], hi[1], lo[1], lo[1]], [lo[0], lo[0], hi[0], hi[0], lo[0]])
        self.cell.set_data([d["cell"][1]], [d["cell"][0]])
        k, s, dil = d["kernel"], d["stride"], d["dilation"]
        back = f"; a transposed convolution with these settings maps {out} back to {d['transposed']}" \
            if d["transposed"] is not None else ""
        self.readout = (
            f"<b>n_out = ⌊(n + 2p − d(k−1) − 1)/s⌋ + 1 = ⌊({n} + {2 * p} − {dil * (k - 1)} − 1)/{s}⌋ + 1 = {out}</b> "
            f"per axis; the window spans d(k−1)+1 = {dil * (k - 1) + 1} pixels; output cell {d['cell']} of {out}×{out}"
            f"{back}. Receptive field of 2 and 3 such layers stacked: {d['field2']} and {d['field3']} pixels.")

    def benchmark_moves(self, n: int, rng) -> list[dict]:
        """Random moves that keep the window inside the padded input (the others only show the error)."""
        moves, params = [], dict(self.params)
        while len(moves) < n:
            move = super().benchmark_moves(1, rng)[0]
            trial = {**params, **move}
            if trial["n"] + 2 * trial["padding"] >= trial["dilation"] * (trial["kernel"] - 1) + 1:
                moves.append(move)
                params = trial
        return moves

    def controls(self) -> dict:
        import ipywidgets as w

        p = self.params
        return {
            "n": w.IntSlider(value=p["n"], min=3, max=MAX_N, description="input size n"),
            "kernel": w.IntSlider(value=p["kernel"], min=1, max=5, description="kernel k"),
            "stride": w.IntSlider(value=p["stride"], min=1, max=3, description="stride s"),
            "padding": w.IntSlider(value=p["padding"], min=0, max=MAX_PAD, description="padding p"),
            "dilation": w.IntSlider(value=p["dilation"], min=1, max=3, description="dilation d"),
            "position": w.IntSlider(value=p["position"], min=0, max=80, description="output cell"),
        }


# -- the feature-map viewer ----------------------------------------------------------------------------------
def _mosaic(maps: np.ndarray, cols: int) -> np.ndarray:
    """Maps (K, h, w) tiled into a (rows (h+1), cols (w+1)) image with NaN gutters (drawn blank)."""
    k, h, w = maps.shape
    rows = -(-k // cols)
    out = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)
    for idx in range(k):
        r, c = divmod(idx, cols)
        m = maps[idx]
        span = np.abs(m).max()
        out[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = m / span if span > 0 else m
    return out


def feature_view(index: int = 0) -> dict:
    r"""A test digit through the trained CNN: its input, each convolution's maps (after ReLU), the prediction.

    Parameters
    ----------
    index : int
        A test image, ``0..449`` (wrapped).

    Returns
    -------
    dict
        ``image`` (8, 8); ``maps1`` (16, 8, 8) and ``maps2`` (32, 4, 4): the ReLU outputs of the two
        convolutions; ``mosaic1``, ``mosaic2``: the same tiled, each map scaled to its own maximum;
        ``probs`` (10,); ``label`` and ``pred``; ``filters`` (16, 3, 3): the first layer's kernels.
    """
    model, _ = E.trained_cnn()
    _, _, X, y = E.digits_images()
    i = int(index) % len(X)
    outs = E.feature_maps(model, X[i:i + 1])
    logits = outs[-1][0].astype(np.float64)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    maps1, maps2 = outs[1][0], outs[4][0]
    return {"index": i, "image": X[i, 0], "maps1": maps1, "maps2": maps2, "mosaic1": _mosaic(maps1, 4),
            "mosaic2": _mosaic(maps2, 8), "probs": probs, "label": int(y[i]), "pred": int(np.argmax(probs)),
            "filters": model[0].weight.data[:, 0]}


@register_widget
class FeatureMaps(BlittedWidget):
    """Pick a test digit: the trained CNN's first-layer filters, its feature maps at both layers, its prediction."""

    name = "09.feature_maps"
    figsize = (8.4, 3.4)
    compute = staticmethod(feature_view)

    @classmethod
    def defaults(cls) -> dict:
        return {"index": 0}

    def build(self, fig) -> None:
        d = feature_view(0)
        axes = fig.subplots(1, 5, width_ratios=[1, 1.1, 1.4, 2.2, 1.2])
        self.ax_f, self.ax_x, self.ax_1, self.ax_2, self.ax_p = axes
        self.ax_f.imshow(_mosaic(d["filters"], 4), cmap="RdBu_r", vmin=-1, vmax=1)
        self.ax_f.set_title("layer-1 filters", fontsize=9)
        self.img = self.ax_x.imshow(d["image"], cmap="gray_r")
        self.ax_x.set_title("input", fontsize=9)
        self.m1 = self.ax_1.imshow(d["mosaic1"], cmap="magma", vmin=0, vmax=1)
        self.ax_1.set_title("conv 1 maps (16)", fontsize=9)
        self.m2 = self.ax_2.imshow(d["mosaic2"], cmap="magma", vmin=0, vmax=1)
        self.ax_2.set_title("conv 2 maps (32)", fontsize=9)
        for ax in axes[:4]:
            ax.set(xticks=[], yticks=[])
        self.bars = self.ax_p.barh(np.arange(10), np.zeros(10), color=PALETTE["blue"])
        self.ax_p.set(xlim=(0, 1), yticks=range(10), ylim=(9.5, -0.5), xlabel="probability")
        self.ax_p.set_title("prediction", fontsize=9)
        self.moving(self.img, self.m1, self.m2, *self.bars)

    def draw(self, d) -> None:
        self.img.set_data(d["image"])
        self.img.set_clim(d["image"].min(), d["image"].max())
        self.m1.set_data(d["mosaic1"])
        self.m2.set_data(d["mosaic2"])
        for k, bar in enumerate(self.bars):
            bar.set_width(d["probs"][k])
            bar.set_color(PALETTE["green"] if k == d["label"] else
                          PALETTE["vermillion"] if k == d["pred"] else PALETTE["grey"])
        verdict = "correct" if d["pred"] == d["label"] else "<b>wrong</b>"
        active1 = int((d["maps1"].reshape(16, -1).max(axis=1) > 0).sum())
        self.readout = (f"test digit {d['index']}: label {d['label']}, predicted {d['pred']} "
                        f"(p = {d['probs'][d['pred']]:.3f}, {verdict}). {active1} of 16 first-layer maps and "
                        f"{int((d['maps2'].reshape(32, -1).max(axis=1) > 0).sum())} of 32 second-layer maps fire "
                        f"somewhere; each map is scaled to its own maximum (green bar: the label).")

    def controls(self) -> dict:
        import ipywidgets as w

        return {"index": w.IntSlider(value=self.params["index"], min=0, max=449, description="test digit")}
