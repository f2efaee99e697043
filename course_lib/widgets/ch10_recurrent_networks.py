r"""Chapter 10 widgets: gradient flow through time, and a trained LSTM's gates over a sequence you pick.

``10.gradient_flow``: :math:`\|\partial\mathbf{h}_t/\partial\mathbf{h}_0\|_2` against t for a
16-unit RNN with :math:`\mathbf{W}_{hh} = \rho\mathbf{U}` (U a fixed random orthogonal matrix, so
the linear RNN's norm is exactly :math:`\rho^t`), linear or tanh, with an input drive that moves
tanh's operating point (:func:`course_lib.recurrent.jacobian_norms`).

``10.lstm_gates``: the chapter's trained character LSTM (:func:`course_lib.models.char_rnn.trained_char_lm`,
cached per process) read along a few fixed snippets of the validation text; every gate of every
snippet is computed once (:func:`course_lib.models.char_rnn.lstm_gates`), and the static figure of every
snippet and colour range is rendered once, at the first view, so a move only draws the moving artists.
torch is imported only when that widget is first built.
"""
from __future__ import annotations

import functools

import numpy as np

from course_lib import recurrent as R
from course_lib.widgets.base import PALETTE, BlittedWidget, encode_png, register_widget

# -- gradient flow -------------------------------------------------------------------------------------------
N_UNITS, T_MAX = 16, 60


@functools.lru_cache(maxsize=1)
def _fixed_draws():
    """One orthogonal U, one input pattern and one initial state for every move (only the controls change)."""
    rng = np.random.default_rng(10)
    U = R.scaled_orthogonal(N_UNITS, 1.0, rng)
    return U, rng.standard_normal((T_MAX, N_UNITS)), 0.1 * rng.standard_normal(N_UNITS)


def gradient_flow(rho: float = 0.9, activation: str = "linear", drive: float = 0.5) -> dict:
    r"""State-Jacobian norms :math:`\|\partial\mathbf{h}_t/\partial\mathbf{h}_0\|_2`, t = 0..T_MAX, of an RNN with :math:`\mathbf{W}_{hh} = \rho\mathbf{U}`.

    Parameters
    ----------
    rho : float > 0
        Spectral radius of :math:`\mathbf{W}_{hh}` (every eigenvalue has modulus rho).
    activation : {"linear", "tanh"}
    drive : float >= 0
        Scale of the input term :math:`\mathbf{W}_{ih}\mathbf{x}_t` (a fixed random pattern); it
        pushes tanh towards saturation, where :math:`\tanh' \to 0`. The linear RNN ignores it.

    Returns
    -------
    dict
        ``t`` (T_MAX + 1,), ``norms``, ``reference`` (:math:`\rho^t`), ``slope`` (least squares of
        log-norm on t over t >= 1), ``log_rho``, ``mean_dtanh`` (mean :math:`\tanh'` along the run; 1 if linear).
    """
    if rho <= 0:
        raise ValueError(f"the spectral radius must be positive, got {rho}")
    if drive < 0:
        raise ValueError(f"the input drive must be >= 0, got {drive}")
    U, pattern, h0 = _fixed_draws()
    W = rho * U
    norms = R.jacobian_norms(W, T_MAX, activation, drive * pattern, h0)
    t = np.arange(T_MAX + 1)
    tiny = np.finfo(float).tiny
    slope = R.log_slope(t[1:], np.maximum(norms[1:], tiny))
    if activation == "tanh":
        hs = R.rnn_forward(drive * pattern, h0, np.eye(N_UNITS), W)[1:]
        mean_dtanh = float(np.mean(1 - hs ** 2))
    else:
        mean_dtanh = 1.0
    return {"t": t, "norms": norms, "reference": rho ** t.astype(float), "slope": slope, "log_rho": float(np.log(rho)),
            "rho": rho, "activation": activation, "mean_dtanh": mean_dtanh}


@register_widget
class GradientFlow(BlittedWidget):
    """Spectral radius and activation: how ||dh_t/dh_0|| vanishes or explodes with the number of steps."""

    name = "10.gradient_flow"
    figsize = (7.0, 3.4)
    compute = staticmethod(gradient_flow)

    @classmethod
    def defaults(cls) -> dict:
        return {"rho": 0.9, "activation": "linear", "drive": 0.5}

    def build(self, fig) -> None:
        ax = self.ax = fig.subplots()
        ax.set(yscale="log", xlim=(0, T_MAX), ylim=(1e-12, 1e12), xlabel="time steps t",
               ylabel=r"$\|\partial \mathbf{h}_t / \partial \mathbf{h}_0\|_2$")
        ax.grid(alpha=0.3)
        ax.axhline(1.0, color=PALETTE["grey"], lw=0.8)
        (self.ref,) = ax.plot([], [], "--", color=PALETTE["grey"], lw=1.5, label=r"$\rho^t$")
        (self.line,) = ax.plot([], [], color=PALETTE["blue"], lw=2.2, label="measured")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
        self.moving(self.ref, self.line)

    def draw(self, d) -> None:
        floor = 1e-12  # below the axis: drawn at its edge rather than lost to log(0)
        self.ref.set_data(d["t"], np.clip(d["reference"], floor, 1e12))
        self.line.set_data(d["t"], np.clip(d["norms"], floor, 1e12))
        kind = ("linear RNN: the norm is exactly rho^t" if d["activation"] == "linear" else
                f"tanh RNN: each step also multiplies by diag(tanh') (mean tanh' here {d['mean_dtanh']:.2f} <= 1)")
        self.readout = (f"<b>slope of log-norm per step {d['slope']:+.3f}</b> vs log rho = {d['log_rho']:+.3f}; "
                        f"after {T_MAX} steps the norm is {d['norms'][-1]:.2e} (rho^{T_MAX} = {d['reference'][-1]:.2e}). "
                        f"{kind}.")

    def controls(self) -> dict:
        import ipywidgets as w

        p = self.params
        return {
            "rho": w.FloatSlider(value=p["rho"], min=0.5, max=1.5, step=0.05, description="spectral radius rho"),
            "activation": w.Dropdown(options=["linear", "tanh"], value=p["activation"], description="activation"),
            "drive": w.FloatSlider(value=p["drive"], min=0.0, max=3.0, step=0.25, description="input drive"),
        }


# -- LSTM gates ----------------------------------------------------------------------------------------------
#: Snippets of the validation split's kind of text (numpy source): code, prose, a docstring, nesting.
SEQUENCES = {
    "code: def": "def mean(a, axis=None, dtype=None):",
    "code: nested call": "return np.asarray(a).reshape((n, -1))",
    "docstring prose": "Return the sum of the array elements.",
    "parameters block": "    axis : int, optional\n        Axis",
    "quotes and brackets": "x = [\"a\", ('b', \"c\")]; y = {1: [2]}",
}
GATES = {"f": "forget gate f", "i": "input gate i", "o": "output gate o", "g": "candidate g", "c": "cell state c",
         "h": "hidden state h"}
#: Colour range of each gate's heat map: sigmoid gates in (0, 1), tanh outputs in (-1, 1), the cell state unbounded.
CLIMS = {"f": (0.0, 1.0), "i": (0.0, 1.0), "o": (0.0, 1.0), "g": (-1.0, 1.0), "h": (-1.0, 1.0), "c": (-3.0, 3.0)}
N_SHOWN = 24  # units drawn in the heat map
MAX_LEN = max(len(s) for s in SEQUENCES.values())


@functools.lru_cache(maxsize=1)
def _all_gates() -> dict:
    """Every gate of every snippet, from the trained character LSTM (trained once per process)."""
    from course_lib.corpus import load_corpus
    from course_lib.models.char_rnn import lstm_gates, trained_char_lm

    corpus = load_corpus()
    model = trained_char_lm("cpu")["model"]
    gates = {name: lstm_gates(model, corpus, text) for name, text in SEQUENCES.items()}
    # The units whose cell state moves most over all snippets: the ones worth looking at.
    spread = np.concatenate([g["c"] for g in gates.values()]).std(axis=0)
    units = np.sort(np.argsort(spread)[::-1][:N_SHOWN])
    return {"gates": gates, "units": units}


def lstm_gate_view(sequence: str = "code: def", gate: str = "f", unit: int = 0) -> dict:
    r"""One gate of the trained LSTM along one snippet, for the :data:`N_SHOWN` most active units.

    Parameters
    ----------
    sequence : a key of :data:`SEQUENCES`
    gate : a key of :data:`GATES`
    unit : int
        Index into the shown units (0..N_SHOWN - 1) whose cell state and forget gate are traced.

    Returns
    -------
    dict
        ``text``; ``values`` (N_SHOWN, MAX_LEN): the gate (NaN past the text's end); ``unit_id``;
        ``c`` and ``f`` (len(text),) of that unit; ``mean_f``: the forget gate's mean over all units.
    """
    if sequence not in SEQUENCES:
        raise ValueError(f"sequence must be one of {list(SEQUENCES)}, got {sequence!r}")
    if gate not in GATES:
        raise ValueError(f"gate must be one of {list(GATES)}, got {gate!r}")
    data = _all_gates()
    g = data["gates"][sequence]
    units = data["units"]
    unit = int(unit) % len(units)
    text = SEQUENCES[sequence]
    values = np.full((len(units), MAX_LEN), np.nan)
    values[:, :len(text)] = g[gate][:, units].T
    uid = int(units[unit])
    return {"text": text, "values": values, "unit_id": uid, "unit": unit, "gate": gate, "c": g["c"][:, uid],
            "f": g["f"][:, uid], "mean_f": float(g["f"].mean()), "max_h_error": g["max_h_error"]}


@register_widget
class LSTMGates(BlittedWidget):
    """Pick a snippet and a gate: the trained character LSTM's gate values per unit and character."""

    name = "10.lstm_gates"
    figsize = (8.4, 4.2)
    compute = staticmethod(lstm_gate_view)

    @classmethod
    def defaults(cls) -> dict:
        return {"sequence": "code: def", "gate": "f", "unit": 0}

    def build(self, fig) -> None:
        self.ax_map, self.ax_unit = fig.subplots(2, 1, height_ratios=[2.2, 1], sharex=True)
        self.image = self.ax_map.imshow(np.zeros((N_SHOWN, MAX_LEN)), aspect="auto", cmap="viridis", vmin=-1, vmax=1,
                                        interpolation="nearest")
        self.ax_map.set(ylabel=f"{N_SHOWN} most active units", yticks=[])
        self.ax_map.yaxis.labelpad = 10  # room for the traced unit's marker
        cbar = fig.colorbar(self.image, ax=self.ax_map, pad=0.01, fraction=0.03)
        cbar.set_label("gate value", fontsize=8)
        (self.marker,) = self.ax_map.plot([], [], ">", color=PALETTE["vermillion"], ms=6, clip_on=False)
        (self.c_line,) = self.ax_unit.plot([], [], color=PALETTE["blue"], lw=2, label="tanh(cell state c)")
        (self.f_line,) = self.ax_unit.plot([], [], color=PALETTE["orange"], lw=1.5, ls="--", label="forget gate f")
        self.ax_unit.set(xlim=(-0.5, MAX_LEN - 0.5), ylim=(-1.1, 1.1), ylabel="traced unit")
        self.ax_unit.axhline(0, color=PALETTE["grey"], lw=0.6)
        self.ax_unit.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        self.ax_unit.set_xticks(range(MAX_LEN))
        self.ax_unit.tick_params(axis="x", length=0, labelsize=8)
        self.title = self.ax_map.set_title("", fontsize=9)
        # One static background per (snippet, colour range): the snippet's characters are tick labels and
        # the colour bar shows the range; all are rendered at the first view (see png).
        self._backgrounds: dict = {}
        self._labelled = None  # the snippet whose characters the tick labels show
        self.moving(self.image, self.marker, self.c_line, self.f_line, self.title)

    def _label(self, text: str) -> None:
        """The snippet's characters as the x tick labels (newline and space made visible)."""
        self.ax_unit.set_xticklabels([{"\n": "⏎", " ": "·"}.get(ch, ch) for ch in text]
                                     + [""] * (MAX_LEN - len(text)), family="monospace")
        self._labelled = text

    def _render_backgrounds(self) -> None:
        """Render every snippet's static figure for every colour range once, so that no move pays a full redraw."""
        canvas, text, clim = self.fig.canvas, self._labelled, self.image.get_clim()
        canvas.draw()
        # Freeze the layout after the first render, so every background has the same axes.
        self.fig.set_layout_engine("none")
        for snippet in SEQUENCES.values():
            self._label(snippet)
            for lo, hi in sorted(set(CLIMS.values())):
                self.image.set_clim(lo, hi)  # the image is a moving artist; the colour bar is static and follows it
                canvas.draw()
                self._backgrounds[(snippet, (lo, hi))] = canvas.copy_from_bbox(self.fig.bbox)
        self._label(text)
        self.image.set_clim(*clim)

    def png(self) -> bytes:
        """As :meth:`BlittedWidget.png`, with the background chosen by the snippet and the gate's colour range."""
        if not self._backgrounds:
            self._render_backgrounds()
        canvas = self.fig.canvas
        canvas.restore_region(self._backgrounds[(self._labelled, tuple(map(float, self.image.get_clim())))])
        for artist in self._moving:
            self.fig.draw_artist(artist)
        return encode_png(np.asarray(canvas.buffer_rgba()))

    def draw(self, d) -> None:
        lo, hi = CLIMS[d["gate"]]
        self.image.set_data(d["values"])
        self.image.set_clim(lo, hi)
        self.marker.set_data([-0.9], [d["unit"]])
        k = np.arange(len(d["text"]))
        self.c_line.set_data(k, np.tanh(d["c"]))  # what the output gate sees, in (-1, 1)
        self.f_line.set_data(k, d["f"])
        if self._labelled != d["text"]:
            self._label(d["text"])
        self.title.set_text(f"{GATES[d['gate']]} per unit along the text (colour range [{lo:g}, {hi:g}])")
        self.readout = (f"traced unit {d['unit_id']} (row {d['unit']}, marked ▸): forget gate between "
                        f"{d['f'].min():.2f} and {d['f'].max():.2f}; mean forget gate over all units {d['mean_f']:.2f}. "
                        f"Where f stays near 1 the cell state carries its value on (and its gradient back) "
                        f"unchanged; a dip to 0 erases it.")

    def controls(self) -> dict:
        import ipywidgets as w

        p = self.params
        return {
            "sequence": w.Dropdown(options=list(SEQUENCES), value=p["sequence"], description="text"),
            "gate": w.Dropdown(options=[(v, k) for k, v in GATES.items()], value=p["gate"], description="show"),
            "unit": w.IntSlider(value=p["unit"], min=0, max=N_SHOWN - 1, description="traced unit"),
        }
