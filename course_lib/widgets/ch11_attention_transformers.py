r"""Chapter 11 widgets: an attention-map explorer, and the similarity of sinusoidal positional encodings.

Both follow the course's pattern (:mod:`course_lib.widgets.base`): a pure ``compute`` on
:mod:`course_lib.attention`, and a view that only moves artists over a background rendered once.

The explorer's three heads are built, not trained, so that each shows one mechanism a trained head is known to
learn, and none costs a training run: a **previous-token** head (its query is the positional encoding rotated one
step back, :math:`\mathbf q_t = \mathbf M_{-1}\mathrm{PE}(t) = \mathrm{PE}(t-1)`, its key :math:`\mathrm{PE}(s)`: the
dot product peaks at :math:`s = t - 1`), a **same-character** head (query and key are the character's embedding:
it attends to earlier copies of the current character) and a **random** head (random projections of embedding plus
position, what a head looks like at initialization).
"""
from __future__ import annotations

import numpy as np

from course_lib import attention as A
from course_lib.widgets.base import LEGEND_FONTSIZE, PALETTE, BlittedWidget, register_widget

# -- the attention-map explorer ------------------------------------------------------------------------------
SENTENCE = "the cat sat on the mat; the rat ate."
T_MAP = len(SENTENCE)
D_HEAD = 16
PE_BASE = 100.0   # a small base: neighbouring positions' encodings differ enough for a sharp previous-token head
GAIN = 6.0        # sharpens the built heads, so that at tau = 1 each shows its mechanism clearly
HEADS = ("previous token", "same character", "random (untrained)")


def _head_projections() -> dict:
    """Queries and keys (T_MAP, D_HEAD) of each head, fixed by a seed: built once, sliced by every move."""
    rng = np.random.default_rng(11)
    chars = sorted(set(SENTENCE))
    table = rng.standard_normal((len(chars), D_HEAD))
    table /= np.linalg.norm(table, axis=1, keepdims=True)
    emb = table[[chars.index(c) for c in SENTENCE]] * np.sqrt(D_HEAD)        # |e| = sqrt(d_k)
    pe = A.sinusoidal_encoding(T_MAP, D_HEAD, base=PE_BASE)                    # |PE(t)| = sqrt(d_k / 2)
    x = emb + pe
    Wq, Wk = (rng.standard_normal((D_HEAD, D_HEAD)) / np.sqrt(D_HEAD) for _ in range(2))
    return {
        HEADS[0]: (pe @ A.pe_shift_matrix(-1, D_HEAD, PE_BASE).T * GAIN * np.sqrt(2), pe * np.sqrt(2)),
        HEADS[1]: (emb * GAIN / np.sqrt(D_HEAD) ** 0.5, emb / np.sqrt(D_HEAD) ** 0.5),
        HEADS[2]: (x @ Wq.T, x @ Wk.T),
    }


_QK = _head_projections()


def attention_map(query: int = 30, temperature: float = 1.0, head: str = HEADS[0], causal: bool = True) -> dict:
    r"""The attention weights of one built head over :data:`SENTENCE`, with the chosen query highlighted.

    Parameters
    ----------
    query : int
        The query position :math:`t`, ``0 .. T - 1``.
    temperature : float, > 0
        :math:`\tau` multiplies the scale: weights :math:`\operatorname{softmax}(\mathbf q_t\cdot\mathbf k_s/(\tau\sqrt{d_k}))`.
    head : str
        One of :data:`HEADS`.
    causal : bool
        Apply the causal mask (key :math:`s \le t`).

    Returns
    -------
    dict
        ``weights`` (T, T): rows are queries, NaN where masked; ``row`` (T,): the query's weights (0 where
        masked); ``mask`` (T, T) bool; ``top`` (3,): the keys with the largest weights; ``entropy`` of the row
        in nats, and ``max_entropy`` :math:`\log(\text{number of visible keys})`.
    """
    if head not in _QK:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")
    if not 0 <= int(query) < T_MAP:
        raise ValueError(f"query must be a position 0..{T_MAP - 1}, got {query}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    q, k = _QK[head]
    mask = A.causal_mask(T_MAP) if causal else np.ones((T_MAP, T_MAP), dtype=bool)
    w = A.attention_weights(q, k, mask, scale=1.0 / (temperature * np.sqrt(D_HEAD)))
    row = w[int(query)]
    visible = row[mask[int(query)]]
    entropy = float(-np.sum(visible * np.log(np.where(visible > 0, visible, 1.0))))
    return {"weights": np.where(mask, w, np.nan), "row": row, "mask": mask, "query": int(query),
            "top": np.argsort(row)[::-1][:3], "entropy": entropy, "max_entropy": float(np.log(mask[int(query)].sum())),
            "temperature": float(temperature), "head": head, "causal": bool(causal)}


@register_widget
class AttentionMap(BlittedWidget):
    """Pick a query, a temperature and a head: the attention matrix (causal mask greyed) and the query's row."""

    name = "11.attention_map"
    figsize = (8.8, 3.9)
    compute = staticmethod(attention_map)

    @classmethod
    def defaults(cls) -> dict:
        return {"query": 30, "temperature": 1.0, "head": HEADS[0], "causal": True}

    def build(self, fig) -> None:
        import matplotlib
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        self.ax_m, self.ax_r = fig.subplots(1, 2, width_ratios=[1.0, 1.45])
        # The map is coloured here, to RGBA bytes: an image of bytes skips matplotlib's norm and colormap at draw
        # time (a third of a move's cost); grey marks the masked entries.
        self._cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#DDDDDD")
        labels = [c if c != " " else "␣" for c in SENTENCE]
        self.img = self.ax_m.imshow(np.zeros((T_MAP, T_MAP, 4), dtype=np.uint8), interpolation="nearest")
        self.ax_m.set(xticks=range(T_MAP), yticks=range(T_MAP), xlabel="key position s",
                      ylabel="query position t")
        self.ax_m.set_xticklabels(labels, fontsize=6)
        self.ax_m.set_yticklabels(labels, fontsize=6)
        self.ax_m.set_title("weights (grey: masked)", fontsize=9)
        (self.frame,) = self.ax_m.plot([], [], color=PALETTE["vermillion"], lw=1.5)
        fig.colorbar(ScalarMappable(Normalize(0, 1), self._cmap), ax=self.ax_m, fraction=0.046, pad=0.02,
                     label="attention weight")
        # One step patch for all the bars (one artist to draw, not T), and one bar over it for the largest weight.
        self.bars = self.ax_r.stairs(np.zeros(T_MAP), np.arange(T_MAP + 1) - 0.5, fill=True, color=PALETTE["blue"])
        self.top = self.ax_r.bar([0], [0], width=1.0, color=PALETTE["vermillion"], label="largest weight")[0]
        self.ax_r.set(xlim=(-0.5, T_MAP - 0.5), ylim=(0, 1.05), xticks=range(T_MAP), xlabel="key (character)",
                      ylabel="attention weight")
        self.ax_r.set_xticklabels(labels, fontsize=7)
        self.ax_r.grid(axis="y", alpha=0.3)
        self.ax_r.set_title("the query's row: a distribution over keys", fontsize=9)
        (self.qline,) = self.ax_r.plot([], [], color=PALETTE["grey"], lw=1.2, ls="--", label="query t")
        self.ax_r.legend(loc="upper left", fontsize=LEGEND_FONTSIZE)
        self.moving(self.img, self.frame, self.bars, self.top, self.qline)

    def draw(self, d) -> None:
        self.img.set_data(self._cmap(d["weights"], bytes=True))
        t = d["query"]
        self.frame.set_data([-0.5, T_MAP - 0.5, T_MAP - 0.5, -0.5, -0.5], [t - 0.5, t - 0.5, t + 0.5, t + 0.5, t - 0.5])
        self.bars.set_data(d["row"])
        best = int(d["top"][0])
        self.top.set_x(best - 0.5)
        self.top.set_height(d["row"][best])
        self.qline.set_data([t, t], [0, 1.05])
        top = ", ".join(f"s = {s} '{SENTENCE[s]}' ({d['row'][s]:.2f})" for s in d["top"] if d["row"][s] > 0)
        self.readout = (f"Head <b>{d['head']}</b>, query t = {t} ('{SENTENCE[t]}'), τ = {d['temperature']:.2f}"
                        f"{', causal mask' if d['causal'] else ', no mask: the query sees the future too'}. "
                        f"Largest weights: {top}. The row sums to {d['row'].sum():.3f}; its entropy is "
                        f"<b>{d['entropy']:.2f} nats</b> of at most ln {int(d['mask'][t].sum())} = "
                        f"{d['max_entropy']:.2f} (uniform over the visible keys). Lower τ sharpens the row "
                        "towards a hard lookup, higher τ flattens it.")

    def controls(self) -> dict:
        import ipywidgets as w

        p = self.params
        return {
            "query": w.IntSlider(value=p["query"], min=0, max=T_MAP - 1, description="query position t"),
            "temperature": w.FloatSlider(value=p["temperature"], min=0.1, max=5.0, step=0.05,
                                         description="temperature τ", readout_format=".2f"),
            "head": w.Dropdown(options=list(HEADS), value=p["head"], description="head"),
            "causal": w.Checkbox(value=p["causal"], description="causal mask"),
        }


# -- positional-encoding similarity ------------------------------------------------------------------------------
T_PE = 64


def pe_view(d_model: int = 32, base: float = 10_000.0, position: int = 20, offset: int = 5) -> dict:
    r"""The cosine similarity of sinusoidal encodings, and the shift map :math:`\mathbf M_k` checked at one position.

    Parameters
    ----------
    d_model : int, even
    base : float
        The wavelengths run from :math:`2\pi` to :math:`2\pi\cdot\text{base}` (about; the last is
        :math:`2\pi\,\text{base}^{(d-2)/d}`).
    position : int
        :math:`t`, ``0 .. 63``.
    offset : int
        :math:`k`: compares :math:`\mathrm{PE}(t+k)` with :math:`\mathbf M_k\mathrm{PE}(t)`.

    Returns
    -------
    dict
        ``cos`` (64, 64): cosine similarity of every pair of positions (a function of :math:`t - s` alone);
        ``row`` (64,): position ``t``'s row; ``shift_error``: :math:`\max_j|\mathrm{PE}(t+k) - \mathbf M_k\mathrm{PE}(t)|_j`;
        ``cos_offset``: the similarity at distance :math:`k`.
    """
    if d_model < 2 or d_model % 2:
        raise ValueError(f"d_model must be a positive even number, got {d_model}")
    if not 0 <= int(position) < T_PE:
        raise ValueError(f"position must be 0..{T_PE - 1}, got {position}")
    sim = A.pe_similarity(T_PE, d_model, base) / (d_model / 2)   # every PE(t) has squared norm d_model / 2
    t, k = int(position), int(offset)
    pair = A.sinusoidal_encoding(1, d_model, base, start=t)[0], A.sinusoidal_encoding(1, d_model, base, start=t + k)[0]
    err = float(np.abs(pair[1] - A.pe_shift_matrix(k, d_model, base) @ pair[0]).max())
    return {"cos": sim, "row": sim[t], "position": t, "offset": k, "shift_error": err,
            "cos_offset": float(pair[0] @ pair[1] / (d_model / 2)), "d_model": d_model, "base": float(base),
            "wavelengths": (2 * np.pi, float(2 * np.pi / A.pe_frequencies(d_model, base)[-1]))}


@register_widget
class PESimilarity(BlittedWidget):
    """d_model, base, a position and an offset: how alike two positions' encodings are, and the map M_k."""

    name = "11.pe_similarity"
    figsize = (8.8, 3.8)
    compute = staticmethod(pe_view)

    @classmethod
    def defaults(cls) -> dict:
        return {"d_model": 32, "base": 10_000.0, "position": 20, "offset": 5}

    def build(self, fig) -> None:
        import matplotlib
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        self.ax_m, self.ax_r = fig.subplots(1, 2, width_ratios=[1.0, 1.35])
        self._cmap = matplotlib.colormaps["RdBu_r"]   # applied in draw, to bytes (see AttentionMap.build)
        self.img = self.ax_m.imshow(np.zeros((T_PE, T_PE, 4), dtype=np.uint8), interpolation="nearest")
        self.ax_m.set(xlabel="position s", ylabel="position t")
        self.ax_m.set_title("cos(PE(t), PE(s))", fontsize=9)
        fig.colorbar(ScalarMappable(Normalize(-1, 1), self._cmap), ax=self.ax_m, fraction=0.046, pad=0.02,
                     label="cosine similarity")
        (self.hline,) = self.ax_m.plot([], [], color=PALETTE["orange"], lw=1.2)
        self.ax_r.set(xlim=(0, T_PE - 1), ylim=(-1.05, 1.05), xlabel="position s",
                      ylabel="cosine similarity with PE(t)")
        self.ax_r.axhline(0, color=PALETTE["grey"], lw=0.8)
        self.ax_r.grid(alpha=0.3)
        (self.curve,) = self.ax_r.plot([], [], color=PALETTE["blue"], lw=1.8, label="cos(PE(t), PE(s))")
        (self.tdot,) = self.ax_r.plot([], [], "o", color=PALETTE["orange"], ms=7, label="s = t")
        (self.kdot,) = self.ax_r.plot([], [], "s", color=PALETTE["vermillion"], ms=7, label="s = t + k")
        self.ax_r.legend(loc="lower left", fontsize=LEGEND_FONTSIZE, ncols=3, bbox_to_anchor=(0.0, 1.0),
                         frameon=False)
        self.moving(self.img, self.hline, self.curve, self.tdot, self.kdot)

    def draw(self, d) -> None:
        self.img.set_data(self._cmap((d["cos"] + 1) / 2, bytes=True))
        t, k = d["position"], d["offset"]
        self.hline.set_data([-0.5, T_PE - 0.5], [t, t])
        self.curve.set_data(np.arange(T_PE), d["row"])
        self.tdot.set_data([t], [1.0])
        self.kdot.set_data([t + k] if t + k < T_PE else [], [d["cos_offset"]] if t + k < T_PE else [])
        lo, hi = d["wavelengths"]
        self.readout = (f"d_model = {d['d_model']}, base = {d['base']:.3g}: wavelengths from {lo:.2f} to {hi:.3g} "
                        f"positions. The similarity depends on t − s only (every diagonal of the map is constant), "
                        f"so distance k = {k} gives cos = <b>{d['cos_offset']:.3f}</b> at every t. "
                        f"PE(t + k) = M<sub>k</sub> PE(t) at t = {t}: largest error "
                        f"<b>{d['shift_error']:.1e}</b> (rounding).")

    def controls(self) -> dict:
        import ipywidgets as w

        p = self.params
        return {
            "d_model": w.IntSlider(value=p["d_model"], min=2, max=128, step=2, description="d_model"),
            "base": w.FloatLogSlider(value=p["base"], base=10, min=1, max=5, step=0.25, description="base"),
            "position": w.IntSlider(value=p["position"], min=0, max=T_PE - 1, description="position t"),
            "offset": w.IntSlider(value=p["offset"], min=0, max=T_PE - 1, description="offset k"),
        }
