"""Chapter 05 widgets: step through a small graph's forward and backward pass; gradient norms by depth.

Both compute with the tensor engine, :mod:`course_lib.autograd`: the graph stepper reads every
node's value and gradient after one ``backward()`` (the engine keeps intermediate gradients),
and the depth explorer backpropagates through a real MLP at initialization.
"""
from __future__ import annotations

import functools

import numpy as np
from matplotlib.collections import PathCollection
from matplotlib.font_manager import FontProperties
from matplotlib.path import Path
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D, IdentityTransform

from course_lib.autograd import Tensor, nn
from course_lib.autograd import functional as F
from course_lib.widgets.base import LEGEND_FONTSIZE, PALETTE, BlittedWidget, register_widget

# -- the graph: L = (tanh(w x + b) - y)^2, a neuron with one input and its squared error ------------------

# (node, op, inputs, forward formula, local derivatives): the forward order; leaves are x, w, b, y.
GRAPH_OPS = [
    ("u", "×", ("w", "x"), "u = w·x", {"w": ("∂u/∂w = x", lambda v: v["x"]), "x": ("∂u/∂x = w", lambda v: v["w"])}),
    ("z", "+", ("u", "b"), "z = u + b", {"u": ("∂z/∂u = 1", lambda v: 1.0), "b": ("∂z/∂b = 1", lambda v: 1.0)}),
    ("a", "tanh", ("z",), "a = tanh z", {"z": ("∂a/∂z = 1 − a²", lambda v: 1 - v["a"] ** 2)}),
    ("e", "−", ("a", "y"), "e = a − y", {"a": ("∂e/∂a = 1", lambda v: 1.0), "y": ("∂e/∂y = −1", lambda v: -1.0)}),
    ("L", "( )²", ("e",), "L = e²", {"e": ("∂L/∂e = 2e", lambda v: 2 * v["e"])}),
]
LEAVES = ("x", "w", "b", "y")
NODES = LEAVES + tuple(op[0] for op in GRAPH_OPS)
POSITIONS = {"x": (0.0, 1.9), "w": (0.0, 0.1), "u": (1.3, 1.0), "b": (1.3, -0.6), "z": (2.6, 1.0),
             "a": (3.9, 1.0), "y": (3.9, -0.6), "e": (5.2, 1.0), "L": (6.5, 1.0)}
N_STEPS = 1 + len(GRAPH_OPS) + 1 + len(GRAPH_OPS)  # inputs, forward ops, seed dL/dL = 1, backward ops


def neuron_graph(w: float, x: float, b: float, y: float) -> tuple[dict, dict]:
    r"""Values and gradients :math:`\partial L/\partial\,\text{node}` of every node, from one engine backward pass."""
    leaves = {name: Tensor(np.float64(v), requires_grad=True) for name, v in zip(LEAVES, (x, w, b, y))}
    u = leaves["w"] * leaves["x"]
    z = u + leaves["b"]
    a = z.tanh()
    e = a - leaves["y"]
    L = e ** 2
    L.backward()
    nodes = {**leaves, "u": u, "z": z, "a": a, "e": e, "L": L}
    return ({k: float(t.data) for k, t in nodes.items()}, {k: float(t.grad) for k, t in nodes.items()})


def _centred_text(lines: list[str], size_px: float) -> Path:
    """Bold ``lines`` as one path in pixels, centred on (0, 0): a label drawn like a marker."""
    prop = FontProperties(family="DejaVu Sans", weight="bold")
    step = 1.15 * size_px  # line height
    parts = []
    for i, line in enumerate(lines):
        path = TextPath((0, 0), line, size=size_px, prop=prop)
        box = path.get_extents()
        y = (len(lines) - 1) / 2 * step - i * step  # first line on top
        parts.append(path.transformed(Affine2D().translate(-(box.x0 + box.x1) / 2, y - 0.35 * size_px)))
    return Path.make_compound_path(*parts)


def _f(v: float) -> str:
    return f"{round(v, 3) + 0.0:.3f}"


def _factor(derivative: str) -> str:
    """The right-hand side of "∂a/∂z = 1 − a²", in parentheses when it is a sum."""
    rhs = derivative.split(" = ")[1]
    return f"({rhs})" if " " in rhs else rhs


def graph_step(step: int, values: dict, grads: dict) -> dict:
    """What step ``step`` of the walk shows: known values and gradients, highlighted nodes and edges, the text."""
    n_ops = len(GRAPH_OPS)
    step = int(np.clip(step, 0, N_STEPS - 1))
    done_forward = min(step, n_ops)  # ops whose value is computed
    known_values = set(LEAVES) | {op[0] for op in GRAPH_OPS[:done_forward]}
    known_grads, edges, current = set(), [], set()
    if step == 0:
        phase, current = "inputs", set(LEAVES)
        title = "Inputs: " + ", ".join(f"{k} = {_f(values[k])}" for k in LEAVES)
        detail = "The leaves of the graph: the input x, the parameters w and b, the target y."
    elif step <= n_ops:
        node, _, inputs, formula, _ = GRAPH_OPS[step - 1]
        phase, current = "forward", {node}
        edges = [(i, node) for i in inputs]
        args = ", ".join(f"{i} = {_f(values[i])}" for i in inputs)
        title = f"Forward {step}/{n_ops}: {formula} = {_f(values[node])}"
        detail = f"<b>{formula}</b> with {args} gives <b>{node} = {_f(values[node])}</b>."
    else:
        phase = "backward"
        known_grads = {"L"}
        back = step - n_ops - 1  # 0: the seed; k: backward through the k-th op from the end
        for node, _, inputs, _, _ in reversed(GRAPH_OPS[n_ops - back:]):
            known_grads.update(inputs)
        if back == 0:
            current = {"L"}
            title = "Backward: start with ∂L/∂L = 1"
            detail = "The backward pass starts at the loss with <b>∂L/∂L = 1</b> and walks the graph in reverse."
        else:
            node, _, inputs, formula, local = GRAPH_OPS[n_ops - back]
            current = {node, *inputs}
            edges = [(node, i) for i in inputs]
            parts = [f"∂L/∂{i} = ∂L/∂{node} · {_factor(local[i][0])} = {_f(grads[node])} · "
                     f"{_f(local[i][1](values))} = <b>{_f(grads[i])}</b>" for i in inputs]
            title = f"Backward {back}/{n_ops}: through {formula}: " + ", ".join(
                f"∂L/∂{i} = {_f(grads[i])}" for i in inputs)
            detail = (f"Through <b>{formula}</b>, local derivative{'s' if len(inputs) > 1 else ''} "
                      + ", ".join(local[i][0] for i in inputs) + ": " + "; ".join(parts)
                      + " (chain rule: upstream gradient times local derivative).")
    return {"step": step, "phase": phase, "known_values": known_values, "known_grads": known_grads,
            "current": current, "edges": edges, "title": title, "detail": detail}


@register_widget
class GraphStepper(BlittedWidget):
    """Walk a neuron's computational graph: forward values, then backward gradients, node by node."""

    name = "05.graph_stepper"
    figsize = (8.0, 3.6)
    B, Y = 0.1, 0.5  # the bias and the target stay fixed: two sliders are enough to explore

    @classmethod
    def defaults(cls) -> dict:
        return {"step": 0, "w": 0.8, "x": 1.5}

    @staticmethod
    def compute(step: int, w: float, x: float) -> dict:
        """Values and gradients of all nodes (engine) and what step ``step`` highlights (see :func:`graph_step`)."""
        values, grads = neuron_graph(w, x, GraphStepper.B, GraphStepper.Y)
        return {"values": values, "grads": grads, **graph_step(step, values, grads)}

    def build(self, fig) -> None:
        from matplotlib.patches import FancyArrowPatch

        ax = self.ax = fig.add_subplot()
        ax.set(xlim=(-0.6, 7.1), ylim=(-1.35, 2.75), aspect="equal")
        ax.axis("off")
        xy = np.array([POSITIONS[n] for n in NODES])
        for node, op, inputs, _, _ in GRAPH_OPS:
            for i in inputs:
                (x0, y0), (x1, y1) = POSITIONS[i], POSITIONS[node]
                ax.plot([x0, x1], [y0, y1], color=PALETTE["grey"], lw=1.2, zorder=1)
        self.dots = ax.scatter(xy[:, 0], xy[:, 1], s=1500, facecolors="white", edgecolors=PALETTE["grey"],
                               linewidths=1.5, zorder=3)
        # The names sit on the (moving) dots, so they are redrawn with them: as glyph outlines in one
        # collection, which costs a fraction of nine text renders (the widget's slowest part).
        labels = []
        for n in NODES:
            op = next((o[1] for o in GRAPH_OPS if o[0] == n), None)
            labels.append(([n], 12) if op is None else ([n, op], 10))
        names = ax.add_collection(PathCollection([_centred_text(lines, size * self.dpi / 72) for lines, size in labels],
                                                 offsets=xy, offset_transform=ax.transData,
                                                 transform=IdentityTransform(), facecolors="black",
                                                 edgecolors="none", zorder=4))
        self.value_texts = {n: ax.text(px, py + 0.4, "", ha="center", va="bottom", fontsize=10, zorder=4)
                            for n, (px, py) in zip(NODES, xy)}
        self.grad_texts = {n: ax.text(px, py - 0.4, "", ha="center", va="top", fontsize=10, zorder=4, weight="bold",
                                      color=PALETTE["vermillion"]) for n, (px, py) in zip(NODES, xy)}
        self.arrows = [ax.add_patch(FancyArrowPatch((0, 0), (1, 1), arrowstyle="-|>", mutation_scale=16, lw=2.5,
                                                    shrinkA=20, shrinkB=20, zorder=2)) for _ in range(2)]
        self.title = ax.text(0.0, 1.0, "", transform=ax.transAxes, ha="left", va="top", fontsize=10, weight="bold")
        ax.text(1.0, 0.0, "above a node: its value;  below: ∂L/∂node", transform=ax.transAxes, ha="right",
                va="bottom", fontsize=8, color=PALETTE["grey"])
        self.moving(self.dots, names, *self.value_texts.values(), *self.grad_texts.values(), *self.arrows, self.title)

    def draw(self, data) -> None:
        phase = data["phase"]
        colour = PALETTE["vermillion"] if phase == "backward" else PALETTE["orange"]
        faces, edges, widths = [], [], []
        for n in NODES:
            faces.append("#fde7d6" if n in data["known_grads"] else "#dbeef8" if n in data["known_values"] else "white")
            edges.append(colour if n in data["current"] else PALETTE["grey"])
            widths.append(3.5 if n in data["current"] else 1.5)
            self.value_texts[n].set_text(_f(data["values"][n]) if n in data["known_values"] else "?")
            self.grad_texts[n].set_text(_f(data["grads"][n]) if n in data["known_grads"] else "")
        self.dots.set_facecolors(faces)
        self.dots.set_edgecolors(edges)
        self.dots.set_linewidths(widths)
        for arrow, edge in zip(self.arrows, data["edges"] + [None] * 2):
            arrow.set_visible(edge is not None)
            if edge is not None:
                arrow.set_positions(POSITIONS[edge[0]], POSITIONS[edge[1]])
                arrow.set_color(colour)
        self.title.set_text(data["title"])
        self.readout = (f"<b>Step {data['step']}/{N_STEPS - 1} ({data['phase']})</b>: {data['detail']} "
                        f"&nbsp;·&nbsp; L = {_f(data['values']['L'])}, ∂L/∂w = {_f(data['grads']['w'])}")

    def controls(self) -> dict:
        import ipywidgets as w

        return {"step": w.IntSlider(value=self.params["step"], min=0, max=N_STEPS - 1, description="step"),
                "w": w.FloatSlider(value=self.params["w"], min=-2.0, max=2.0, step=0.05, description="weight w"),
                "x": w.FloatSlider(value=self.params["x"], min=-2.0, max=2.0, step=0.05, description="input x")}


# -- gradient norms against depth, activation and initialization ----------------------------------------------

WIDTH, BATCH, CLASSES, MAX_DEPTH = 64, 64, 10, 30


@functools.lru_cache(maxsize=256)  # a learner goes back and forth between settings
def layer_statistics(depth: int, activation: str, init: str, scale: float, seed: int = 0) -> dict:
    r"""Forward spread, backpropagated error and weight-gradient norm of every layer of a fresh MLP.

    Parameters
    ----------
    depth : int
        Number :math:`D` of dense layers (``depth - 1`` hidden layers of width 64, then 10 outputs).
    activation : {"sigmoid", "tanh", "relu"}
    init : {"pytorch", "xavier", "he"}
    scale : float
        Multiplies every initial weight.

    Returns
    -------
    dict of arrays of shape (depth,), layer :math:`\ell = 1, \dots, D`, with :math:`\ell = 1` next to the input:

    - ``std``: standard deviation of each layer's output :math:`\mathbf{A}_\ell` (the logits for the last);
    - ``delta_norm``: :math:`\lVert\partial L/\partial\mathbf{Z}_\ell\rVert_F`, the error backpropagated to the
      pre-activation :math:`\mathbf{Z}_\ell = \mathbf{A}_{\ell-1}\mathbf{W}_\ell^\top + \mathbf{b}_\ell` (one example
      per row, :math:`\mathbf{A}_0 = \mathbf{X}`);
    - ``grad_norm``: :math:`\lVert\partial L/\partial\mathbf{W}_\ell\rVert_F
      = \lVert(\partial L/\partial\mathbf{Z}_\ell)^\top\mathbf{A}_{\ell-1}\rVert_F`;

    and ``loss``, the cross-entropy of random labels for random inputs (batch 64), which the
    engine backpropagates.
    """
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((BATCH, WIDTH)), rng.integers(0, CLASSES, BATCH)
    model = nn.MLP([WIDTH] * depth + [CLASSES], activation, init=init, scale=scale, dtype=np.float64, rng=seed)
    h, stds, pre = Tensor(X), [], []
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):  # the exploding settings overflow on purpose
        for layer in model:
            h = layer(h)
            if isinstance(layer, nn.Linear):
                pre.append(h)  # the engine keeps its gradient after backward()
            if not isinstance(layer, nn.Linear) or layer is model[-1]:
                stds.append(float(h.data.std()))
        loss = F.cross_entropy(h, y)
        loss.backward()
        return {"std": np.array(stds), "delta_norm": np.array([float(np.linalg.norm(z.grad)) for z in pre]),
                "grad_norm": np.array([float(np.linalg.norm(lin.weight.grad)) for lin in model.linear_layers()]),
                "loss": float(loss.item())}


@register_widget
class GradientNormsByDepth(BlittedWidget):
    """Per-layer activation spread and gradient norms of a deep MLP at initialization."""

    name = "05.gradient_norms"
    figsize = (8.4, 3.5)
    YLIM = (1e-12, 1e12)

    @classmethod
    def defaults(cls) -> dict:
        return {"depth": 12, "activation": "sigmoid", "init": "pytorch", "scale": 1.0}

    @staticmethod
    def compute(depth: int, activation: str, init: str, scale: float) -> dict:
        """:func:`layer_statistics`, and how much the backpropagated error grows from the last layer to the first."""
        stats = layer_statistics(int(depth), activation, init, float(scale))
        d = stats["delta_norm"]
        finite = np.all(np.isfinite(d)) and np.all(np.isfinite(stats["std"])) and d[-1] > 0
        ratio = float(d[0] / d[-1]) if finite else float("nan")
        verdict = ("overflow" if not finite else "vanishing" if ratio < 1e-2 else "exploding" if ratio > 1e2
                   else "stable")
        return {**stats, "depth": int(depth), "ratio": ratio, "verdict": verdict, "activation": activation,
                "init": init, "scale": float(scale)}

    def build(self, fig) -> None:
        from matplotlib.lines import Line2D

        self.axes = fig.subplots(1, 2)
        titles = ["forward: spread of each layer's output\n", "backward: gradient norms per layer\n"]
        labels = ["std of the layer's output", "norm (Frobenius)"]
        for ax, title, label in zip(self.axes, titles, labels):
            ax.set(yscale="log", ylim=self.YLIM, xlim=(0.5, MAX_DEPTH + 0.5),
                   xlabel=r"layer $\ell$ (1 = next to the input)",
                   ylabel=label)
            ax.set_title(title, fontsize=10)
            ax.grid(alpha=0.3, which="major")
            ax.axhline(1.0, color=PALETTE["grey"], lw=0.8)
        style = [(self.axes[0], PALETTE["blue"], "-"), (self.axes[1], PALETTE["vermillion"], "-"),
                 (self.axes[1], PALETTE["orange"], "--")]
        self.lines = [ax.plot([], [], "o" + ls, color=c, ms=3.5, lw=1.8)[0] for ax, c, ls in style]
        self.axes[1].legend(handles=[Line2D([], [], color=PALETTE["vermillion"], marker="o", ms=3.5,
                                            label=r"$\|\partial L/\partial \mathbf{W}_\ell\|$"),
                                     Line2D([], [], color=PALETTE["orange"], ls="--", marker="o", ms=3.5,
                                            label=r"$\|\partial L/\partial \mathbf{z}_\ell\|$ (error signal)")],
                            loc="lower right", fontsize=LEGEND_FONTSIZE, framealpha=0.9)
        self.note = self.axes[1].title  # the ratio and the verdict, in the title where no curve can hide it
        self.moving(*self.lines, self.note)

    def draw(self, data) -> None:
        layers = np.arange(1, data["depth"] + 1)
        for line, key in zip(self.lines, ["std", "grad_norm", "delta_norm"]):
            line.set_data(layers, np.clip(np.nan_to_num(data[key], nan=self.YLIM[1]), *self.YLIM))
        ratio, depth = data["ratio"], data["depth"]
        self.note.set_text(f"backward: gradient norms per layer\nerror at layer 1 / layer {depth}: {ratio:.1e} "
                           f"({data['verdict']})")
        init_name = {"pytorch": "PyTorch default", "xavier": "Xavier", "he": "He"}[data["init"]]
        hidden = data["std"][-2] if depth > 1 else data["std"][0]
        self.readout = (f"<b>{depth} layers, {data['activation']}, {init_name} init × {data['scale']:.2f}</b>: "
                        f"the error signal ∂L/∂z reaching layer 1 is <b>{ratio:.2e}</b> times the one at layer "
                        f"{depth} (<b>{data['verdict']}</b>); ‖∂L/∂W‖ ranges from {data['grad_norm'].min():.1e} "
                        f"to {data['grad_norm'].max():.1e}; the last hidden layer's output has spread {hidden:.1e}; "
                        f"loss {data['loss']:.3g} (ln 10 = {np.log(10):.3f} for a uniform guess).")

    def controls(self) -> dict:
        import ipywidgets as w

        p = self.params
        return {"depth": w.IntSlider(value=p["depth"], min=2, max=MAX_DEPTH, description="layers"),
                "activation": w.Dropdown(options=["sigmoid", "tanh", "relu"], value=p["activation"],
                                         description="activation"),
                "init": w.Dropdown(options=[("PyTorch default", "pytorch"), ("Xavier", "xavier"), ("He", "he")],
                                   value=p["init"], description="init"),
                "scale": w.FloatLogSlider(value=p["scale"], base=2, min=-2, max=2, step=0.25,
                                          description="init scale")}
