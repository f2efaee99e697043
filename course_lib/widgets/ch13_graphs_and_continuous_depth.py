r"""Chapter 13 widgets: message passing step by step on a small graph, and ODE solvers on the spiral's field.

Both follow the course's pattern (:mod:`course_lib.widgets.base`): a pure ``compute`` on
:mod:`course_lib.graphs` and :mod:`course_lib.neural_ode`'s step rules, and a view that only moves
artists. The ODE widget steps in NumPy (the step rules are written for any array type): a torch call
per stage would cost more than the 50 ms budget at the smallest step.
"""
from __future__ import annotations

import functools

import numpy as np

from course_lib import graphs as G
from course_lib import neural_ode as N
from course_lib.widgets.base import LEGEND_FONTSIZE, PALETTE, BlittedWidget, register_widget

# -- message passing -------------------------------------------------------------------------------------------
EDGES = [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (3, 4), (4, 5), (5, 6), (5, 7), (6, 7), (6, 8), (7, 8), (8, 9)]
N_NODES = 10
RULES = {"gcn": "GCN: Â x (self-loops, symmetric)", "mean": "mean of neighbours", "sum": "sum of neighbours",
         "max": "max of neighbours"}
SIGNALS = ("one node", "two groups", "random")
MAX_STEPS = 12


@functools.lru_cache(maxsize=1)
def small_graph() -> tuple[np.ndarray, np.ndarray]:
    """The widget's graph (adjacency (10, 10)): two clusters joined by a path, a pendant node 9; fixed 2-D positions."""
    A = np.zeros((N_NODES, N_NODES))
    for i, j in EDGES:
        A[i, j] = A[j, i] = 1
    pos = np.array([[-3.0, 0.7], [-2.2, 1.1], [-2.6, -0.5], [-1.6, 0.2], [-0.5, 0.0], [0.6, 0.0], [1.5, 0.8],
                    [1.5, -0.6], [2.5, 0.1], [3.5, 0.6]])
    return A, pos


def _signal(kind: str) -> np.ndarray:
    if kind == "one node":
        return np.eye(N_NODES)[0]
    if kind == "two groups":
        return np.r_[np.ones(4), 0.5, 0.5, -np.ones(4)]
    if kind == "random":
        return np.random.default_rng(13).standard_normal(N_NODES)
    raise ValueError(f"unknown signal {kind!r}; choose one of {SIGNALS}")


def _propagate(A: np.ndarray, x: np.ndarray, rule: str) -> np.ndarray:
    if rule == "gcn":
        return G.normalized_adjacency(A) @ x
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; choose one of {list(RULES)}")
    return G.aggregate(A, x[:, None], rule)[:, 0]


def message_passing(step: int = 1, rule: str = "gcn", node: int = 3, signal: str = "one node") -> dict:
    r"""One scalar feature per node after ``step`` rounds of a message-passing rule on the widget's graph.

    Parameters
    ----------
    step : int
        Rounds, 0..12.
    rule : {"gcn", "mean", "sum", "max"}
        ``gcn``: :math:`\mathbf x \leftarrow \hat{\mathbf A}\mathbf x` (:func:`course_lib.graphs.normalized_adjacency`);
        the others: :func:`course_lib.graphs.aggregate` over the neighbours (no self-loop).
    node : int
        The node whose update is spelled out.
    signal : {"one node", "two groups", "random"}
        The starting features.

    Returns
    -------
    dict
        ``x`` (10,) after ``step`` rounds, ``prev`` (10,) before the last one, ``history`` (13, 10) every round,
        ``energy`` (13,): the normalized Dirichlet energy :math:`\mathbf x^\top\tilde{\mathbf L}_\text{sym}\mathbf x`
        per round, ``neighbours`` of ``node`` and the ``weights`` its update gives them (``max``: 1 on the argmax).
    """
    A, pos = small_graph()
    step, node = int(step), int(node) % N_NODES
    if not 0 <= step <= MAX_STEPS:
        raise ValueError(f"step must be in 0..{MAX_STEPS}")
    history = [_signal(signal)]
    for _ in range(MAX_STEPS):
        history.append(_propagate(A, history[-1], rule))
    history = np.array(history)
    L = G.normalized_laplacian(A, self_loops=True)
    energy = np.array([G.dirichlet_energy(h, L) for h in history])
    prev = history[max(step - 1, 0)]
    if rule == "gcn":
        nb = np.flatnonzero(A[node] + np.eye(N_NODES)[node])
        weights = G.normalized_adjacency(A)[node, nb]
    else:
        nb = np.flatnonzero(A[node])
        weights = {"sum": np.ones(len(nb)), "mean": np.full(len(nb), 1 / len(nb)),
                   "max": (prev[nb] == prev[nb].max()).astype(float)}[rule]
    return {"x": history[step], "prev": prev, "history": history, "energy": energy, "neighbours": nb,
            "weights": weights, "step": step, "node": node, "rule": rule, "pos": pos, "A": A}


@register_widget
class MessagePassing(BlittedWidget):
    """Features as colours on a small graph; each step replaces every node's value by its neighbours' aggregate."""

    name = "13.message_passing"
    figsize = (8.4, 3.6)
    compute = staticmethod(message_passing)

    @classmethod
    def defaults(cls) -> dict:
        return {"step": 1, "rule": "gcn", "node": 3, "signal": "one node"}

    def build(self, fig) -> None:
        from matplotlib.collections import LineCollection

        A, pos = small_graph()
        self.ax, self.ax_e = fig.subplots(1, 2, width_ratios=[1.6, 1.0])
        segs = [[pos[i], pos[j]] for i, j in EDGES]
        self.ax.add_collection(LineCollection(segs, colors=PALETTE["grey"], linewidths=1.2, zorder=1))
        self.hot = self.ax.add_collection(LineCollection([], colors=PALETTE["vermillion"], linewidths=3, zorder=2))
        self.nodes = self.ax.scatter(pos[:, 0], pos[:, 1], c=np.zeros(N_NODES), cmap="cividis", vmin=-1, vmax=1,
                                     s=420, edgecolors="black", linewidths=0.8, zorder=3)
        self.ring = self.ax.scatter([], [], s=900, facecolors="none", edgecolors=PALETTE["vermillion"], linewidths=2.5,
                                    zorder=4)
        for i in range(N_NODES):  # static node numbers; the values go to the readout (moving text renders slowly)
            self.ax.text(*(pos[i] + [0, 0.3]), str(i), ha="center", va="bottom", fontsize=8, zorder=5)
        self.ax.set(xlim=(-3.5, 4.0), ylim=(-1.0, 1.7), xticks=[], yticks=[], aspect="equal")
        self.ax.set_title("node features as colours (ring: the node spelled out below)", fontsize=9)
        fig.colorbar(self.nodes, ax=self.ax, fraction=0.04, pad=0.01, label="x_i / max_j |x_j| at this step")
        self.ax_e.set(yscale="log", xlim=(-0.3, MAX_STEPS + 0.3), ylim=(1e-8, 10), xlabel="step ℓ",
                      ylabel="Dirichlet energy xᵀ L̃_sym x")
        self.ax_e.grid(alpha=0.3)
        (self.curve,) = self.ax_e.plot([], [], "o-", color=PALETTE["blue"], ms=3, label="energy per step")
        (self.dot,) = self.ax_e.plot([], [], "o", color=PALETTE["vermillion"], ms=8, label="this step")
        self.ax_e.legend(loc="lower left", fontsize=LEGEND_FONTSIZE)
        self.moving(self.hot, self.nodes, self.ring, self.curve, self.dot)

    def draw(self, d) -> None:
        x, pos, node = d["x"], d["pos"], d["node"]
        span = max(np.abs(x).max(), 1e-300)  # colours show the shape; the labels show the size
        self.nodes.set_array(np.clip(x / span, -1, 1))
        self.ring.set_offsets(pos[[node]])
        self.hot.set_segments([[pos[j], pos[node]] for j in d["neighbours"] if j != node])
        e = np.maximum(d["energy"], 1e-30)
        self.curve.set_data(np.arange(MAX_STEPS + 1), e)
        self.dot.set_data([d["step"]], [e[d["step"]]])
        terms = " + ".join(f"{w:.2f}·{d['prev'][j]:.2f}" for j, w in zip(d["neighbours"], d["weights"]) if w)
        how = {"gcn": "Σ_j Â_ij x_j (j = i and its neighbours)", "sum": "Σ_{j~i} x_j", "mean": "mean_{j~i} x_j",
               "max": "max_{j~i} x_j"}[d["rule"]]
        update = (f"node {node}: x ← {how} = {terms} = {x[node]:.3f}" if d["step"] else
                  f"step 0: the starting features (node {node}: {x[node]:.3f})")
        values = ", ".join(f"{v:.2f}" for v in x)
        self.readout = (f"{update}. Dirichlet energy {d['energy'][d['step']]:.3g} "
                        f"(step 0: {d['energy'][0]:.3g}); {RULES[d['rule']]}. Features x<sub>0..9</sub>: {values}.")

    def controls(self) -> dict:
        import ipywidgets as w

        p = self.params
        return {
            "step": w.IntSlider(value=p["step"], min=0, max=MAX_STEPS, description="step ℓ"),
            "rule": w.Dropdown(options=[(v, k) for k, v in RULES.items()], value=p["rule"], description="rule"),
            "node": w.IntSlider(value=p["node"], min=0, max=N_NODES - 1, description="spell out node"),
            "signal": w.Dropdown(options=list(SIGNALS), value=p["signal"], description="start"),
        }


# -- ODE solvers on the spiral ---------------------------------------------------------------------------------
SPIRAL_A = np.array(N.SPIRAL_A)
Y0 = np.array([1.0, 0.0])
T_END = 2.0
LOG10_DT = (-1.7, -0.5)  # dt from 0.02 to 0.32
METHODS = ("euler", "midpoint", "rk4", "rk4_classic")


def _spiral_np(t, y):
    return (y ** 3) @ SPIRAL_A


def _solve_np(method: str, dt: float, t_end: float = T_END, y0=Y0) -> tuple[np.ndarray, np.ndarray]:
    """Fixed steps of ``method`` (course_lib.neural_ode's step rules, on NumPy arrays) from 0 to t_end; stops
    early if the state leaves |y| < 100 (a blow-up)."""
    step = N.STEPS[method]
    n = int(np.ceil(t_end / dt - 1e-9))
    ts, ys = [0.0], [np.array(y0, dtype=float)]
    y = ys[0]
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(n):
            h = min(dt, t_end - k * dt)
            y = y + step(_spiral_np, k * dt, h, y)
            if not np.all(np.abs(y) < 100):
                break
            ts.append(k * dt + h)
            ys.append(y)
    return np.array(ts), np.array(ys)


@functools.lru_cache(maxsize=1)
def _reference() -> tuple[np.ndarray, np.ndarray]:
    """The 'exact' path: classical RK4 at dt = 1e-3 (its error at t = 2 is below 1e-11)."""
    return _solve_np("rk4_classic", 1e-3)


@functools.lru_cache(maxsize=1)
def error_curves() -> dict:
    """Error at t = 2 against dt for every method, over the slider's range (9 step sizes)."""
    dts = 10.0 ** np.linspace(*LOG10_DT, 9)
    exact = _reference()[1][-1]
    out = {}
    for m in METHODS:
        errs = []
        for dt in dts:
            ts, ys = _solve_np(m, dt)
            errs.append(float(np.linalg.norm(ys[-1] - exact)) if np.isclose(ts[-1], T_END) else np.nan)
        out[m] = np.array(errs)
    return {"dt": dts, **out}


@functools.lru_cache(maxsize=1)
def _field_grid():
    g = np.linspace(-1.15, 1.15, 15)
    X, Y = np.meshgrid(g, g)
    F = _spiral_np(0, np.stack([X, Y], -1))
    norm = np.hypot(F[..., 0], F[..., 1]) + 1e-12
    return X, Y, F[..., 0] / norm, F[..., 1] / norm  # directions only: the speed varies by 1000x


def ode_solver(method: str = "rk4", log10_dt: float = -1.0) -> dict:
    r"""The spiral :math:`d\mathbf y/dt = \mathbf y^{3}\mathbf B` from :math:`\mathbf y_0 = (1, 0)` to :math:`t = 2` by a fixed-step method.

    Parameters
    ----------
    method : {"euler", "midpoint", "rk4", "rk4_classic"}
        ``rk4`` is Kutta's 3/8 rule (torchdiffeq's), ``rk4_classic`` the classical one.
    log10_dt : float
        :math:`\log_{10}\Delta t`, in [-1.7, -0.5].

    Returns
    -------
    dict
        ``ts``, ``ys`` (steps + 1, 2): the solver's path; ``exact`` (M, 2): the reference path; ``error`` at
        :math:`t = 2` (None if the path blew up), ``steps`` and ``evals`` (function evaluations: steps times
        stages), ``curves``: :func:`error_curves`.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    dt = 10.0 ** float(log10_dt)
    ts, ys = _solve_np(method, dt)
    exact = _reference()[1]
    done = bool(np.isclose(ts[-1], T_END))
    stages = {"euler": 1, "midpoint": 2, "rk4": 4, "rk4_classic": 4}[method]
    return {"method": method, "dt": dt, "ts": ts, "ys": ys, "exact": exact, "done": done,
            "error": float(np.linalg.norm(ys[-1] - exact[-1])) if done else None, "steps": len(ts) - 1,
            "evals": (len(ts) - 1) * stages, "curves": error_curves()}


@register_widget
class ODESolver(BlittedWidget):
    """The spiral's vector field, the exact path and a fixed-step solver's path; its error against the step size."""

    name = "13.ode_solver"
    figsize = (8.4, 3.7)
    compute = staticmethod(ode_solver)
    COLORS = {"euler": PALETTE["vermillion"], "midpoint": PALETTE["orange"], "rk4": PALETTE["blue"],
              "rk4_classic": PALETTE["green"]}

    @classmethod
    def defaults(cls) -> dict:
        return {"method": "rk4", "log10_dt": -1.0}

    def build(self, fig) -> None:
        from matplotlib.ticker import NullFormatter

        self.ax, self.ax_err = fig.subplots(1, 2, width_ratios=[1.0, 1.05])
        X, Y, U, V = _field_grid()
        self.ax.quiver(X, Y, U, V, color=PALETTE["grey"], alpha=0.6, width=0.004)
        ex = _reference()[1]
        self.ax.plot(ex[:, 0], ex[:, 1], color="black", lw=1.2, label="exact (RK4, Δt = 0.001)")
        (self.path,) = self.ax.plot([], [], "o-", ms=2.5, lw=1.2, color=PALETTE["vermillion"], label="solver")
        self.ax.set(xlim=(-1.25, 1.25), ylim=(-1.25, 1.25), aspect="equal", xlabel="y₁", ylabel="y₂")
        self.ax.set_title("dy/dt = y³B: field directions and paths", fontsize=9)
        self.ax.legend(loc="upper left", fontsize=LEGEND_FONTSIZE, framealpha=0.9)
        c = error_curves()
        for m in METHODS:
            self.ax_err.loglog(c["dt"], c[m], ".-", color=self.COLORS[m], label=f"{m} (order {N.ORDERS[m]})")
        self.ax_err.set(xlabel="step size Δt", ylabel="error |y(2) − exact|", ylim=(1e-8, 10))
        self.ax_err.grid(alpha=0.3, which="both")
        self.ax_err.xaxis.set_minor_formatter(NullFormatter())  # 2x10^-2, 3x10^-2, ... overlapped
        self.ax_err.legend(loc="lower right", fontsize=LEGEND_FONTSIZE)
        (self.dot,) = self.ax_err.plot([], [], "o", ms=9, mfc="none", mew=2, color="black")
        self.moving(self.path, self.dot)

    def draw(self, d) -> None:
        self.path.set_data(d["ys"][:, 0], d["ys"][:, 1])
        self.path.set_color(self.COLORS[d["method"]])
        if d["done"]:
            self.dot.set_data([d["dt"]], [max(d["error"], 1e-8)])
            result = f"error at t = 2: <b>{d['error']:.2e}</b>"
        else:
            self.dot.set_data([], [])
            result = f"<b>the path blew up</b> (|y| > 100 at t = {d['ts'][-1]:.2f}): the step is too large for {d['method']}"
        self.readout = (f"{d['method']}, Δt = {d['dt']:.3f}: {d['steps']} steps, {d['evals']} evaluations of f; {result}. "
                        f"Halving Δt divides the error by about 2<sup>r</sup>, r the method's order.")

    def controls(self) -> dict:
        import ipywidgets as w

        p = self.params
        return {"method": w.Dropdown(options=list(METHODS), value=p["method"], description="solver"),
                "log10_dt": w.FloatSlider(value=p["log10_dt"], min=LOG10_DT[0], max=LOG10_DT[1], step=0.05,
                                          description="log₁₀ Δt")}
