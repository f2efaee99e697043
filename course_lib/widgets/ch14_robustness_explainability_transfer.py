r"""Chapter 14 widgets: an attack explorer (the budget :math:`\epsilon_{\text{adv}}` as a slider: the attacked image, the
perturbation, the predicted probabilities) and an attribution viewer (a digit, a method, the trained or a
weight-randomized network).

Both follow the course's pattern (:mod:`course_lib.widgets.base`): the trained CNN
(:func:`course_lib.models.digit_classifiers.trained`, cached: the notebook's run is reused) attacks or explains
:data:`N_DIGITS` test digits once per process, for every setting the controls can take (precomputed with
:mod:`course_lib.robustness` and :mod:`course_lib.explain`), so a move only looks up arrays and moves artists.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from course_lib.widgets.base import PALETTE, BlittedWidget, register_widget

N_DIGITS = 20  # the first test digits of split 0
EPS_GRID = np.round(np.arange(0, 0.301, 0.01), 2)  # the slider's values
ATTACKS = ("fgsm", "pgd")
MAP_METHODS = ("saliency", "gradient_x_input", "integrated_gradients")


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@lru_cache(maxsize=1)
def _attacks() -> dict:
    """Every (attack, eps) on the :data:`N_DIGITS` digits: adversarial images (A, E, N, 8, 8), probabilities
    (A, E, N, 10); PGD with 10 steps and a seeded random start."""
    import torch

    from course_lib import robustness as R
    from course_lib.device import torch_threads
    from course_lib.models.digit_classifiers import digits01, trained

    model = trained("cnn")
    _, _, X, y = digits01()
    x, yt = torch.tensor(X[:N_DIGITS]), torch.tensor(y[:N_DIGITS])
    images = np.zeros((len(ATTACKS), len(EPS_GRID), N_DIGITS, 8, 8), dtype=np.float32)
    probs = np.zeros((len(ATTACKS), len(EPS_GRID), N_DIGITS, 10))
    with torch_threads(1):
        for a, attack in enumerate(ATTACKS):
            for e, eps in enumerate(EPS_GRID):
                xa = R.fgsm(model, x, yt, float(eps)) if attack == "fgsm" else \
                    R.pgd(model, x, yt, float(eps), n_steps=10, generator=torch.Generator().manual_seed(0))
                images[a, e] = xa[:, 0].numpy()
                with torch.no_grad():
                    probs[a, e] = _softmax(model(xa).double().numpy())
    return {"clean": X[:N_DIGITS, 0], "labels": y[:N_DIGITS], "images": images, "probs": probs}


def attack_view(index: int = 0, eps: float = 0.1, attack: str = "pgd") -> dict:
    r"""Test digit ``index`` attacked by ``attack`` at budget ``eps`` (snapped to :data:`EPS_GRID`).

    Returns
    -------
    dict
        ``clean``, ``adv``, ``delta`` (8, 8) with ``delta = adv - clean``; ``probs_clean``, ``probs`` (10,);
        ``label``, ``pred``; ``linf`` and ``l2``: the perturbation's sizes (``linf <= eps``); ``eps`` as used.
    """
    if attack not in ATTACKS:
        raise ValueError(f"attack must be one of {ATTACKS}, got {attack!r}")
    d = _attacks()
    i = int(index) % N_DIGITS
    e = int(np.argmin(np.abs(EPS_GRID - float(eps))))
    a = ATTACKS.index(attack)
    clean, adv = d["clean"][i], d["images"][a, e, i]
    delta = adv - clean
    probs = d["probs"][a, e, i]
    return {"index": i, "eps": float(EPS_GRID[e]), "attack": attack, "clean": clean, "adv": adv, "delta": delta,
            "probs_clean": d["probs"][a, 0, i], "probs": probs, "label": int(d["labels"][i]),
            "pred": int(np.argmax(probs)), "linf": float(np.abs(delta).max()),
            "l2": float(np.linalg.norm(delta))}


@register_widget
class AttackExplorer(BlittedWidget):
    """The budget eps as a slider: the attacked digit, the perturbation, and the network's probabilities."""

    name = "14.attack"
    figsize = (8.4, 3.2)
    compute = staticmethod(attack_view)

    @classmethod
    def defaults(cls) -> dict:
        return {"index": 0, "eps": 0.1, "attack": "pgd"}

    def build(self, fig) -> None:
        axes = fig.subplots(1, 4, width_ratios=[1, 1, 1, 1.5])
        self.ax_x, self.ax_a, self.ax_d, self.ax_p = axes
        zero = np.zeros((8, 8))
        self.img_x = self.ax_x.imshow(zero, cmap="gray_r", vmin=0, vmax=1)
        self.img_a = self.ax_a.imshow(zero, cmap="gray_r", vmin=0, vmax=1)
        self.img_d = self.ax_d.imshow(zero, cmap="RdBu_r", vmin=-EPS_GRID[-1], vmax=EPS_GRID[-1])
        for ax, title in ((self.ax_x, "clean digit"), (self.ax_a, "attacked"), (self.ax_d, "perturbation δ")):
            ax.set(xticks=[], yticks=[])
            ax.set_title(title, fontsize=9)
        cbar = fig.colorbar(self.img_d, ax=self.ax_d, fraction=0.046, pad=0.04)
        cbar.ax.tick_params(labelsize=8)
        cbar.set_label("pixel change", fontsize=8)
        k = np.arange(10)
        self.bars_clean = self.ax_p.barh(k - 0.2, np.zeros(10), height=0.4, color=PALETTE["grey"], label="clean")
        self.bars = self.ax_p.barh(k + 0.2, np.zeros(10), height=0.4, color=PALETTE["vermillion"], label="attacked")
        self.ax_p.set(xlim=(0, 1), yticks=k, ylim=(9.7, -0.7), xlabel="probability", ylabel="class")
        # above the axes, off the bars (a legend inside would cover the winning class's bar)
        self.ax_p.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
        self.moving(self.img_x, self.img_a, self.img_d, *self.bars_clean, *self.bars)

    def draw(self, d) -> None:
        self.img_x.set_data(d["clean"])
        self.img_a.set_data(d["adv"])
        self.img_d.set_data(d["delta"])
        for k in range(10):
            self.bars_clean[k].set_width(d["probs_clean"][k])
            self.bars[k].set_width(d["probs"][k])
            self.bars[k].set_color(PALETTE["green"] if k == d["label"] else PALETTE["vermillion"])
        verdict = "still correct" if d["pred"] == d["label"] else "<b>fooled</b>"
        self.readout = (f"test digit {d['index']} (label {d['label']}), {d['attack'].upper()} at ε_adv = {d['eps']:.2f}: "
                        f"predicted {d['pred']} with p = {d['probs'][d['pred']]:.3f}, {verdict}; p(label) "
                        f"{d['probs_clean'][d['label']]:.3f} → {d['probs'][d['label']]:.3f}. ‖δ‖∞ = {d['linf']:.3f} "
                        f"≤ ε_adv, ‖δ‖₂ = {d['l2']:.3f}; pixels stay in [0, 1] (green bar: the label).")

    def controls(self) -> dict:
        import ipywidgets as w

        p = self.params
        return {"index": w.IntSlider(value=p["index"], min=0, max=N_DIGITS - 1, description="test digit"),
                "eps": w.FloatSlider(value=p["eps"], min=0, max=float(EPS_GRID[-1]), step=0.01,
                                     description="budget ε_adv", readout_format=".2f"),
                "attack": w.Dropdown(options=list(ATTACKS), value=p["attack"], description="attack")}


# -- attributions ---------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _maps() -> dict:
    """Maps (M, 2, N, 8, 8) for each method, for the trained network and one with every layer re-drawn; the
    target is each digit's label. IG: 50 midpoint steps from the blank image, with its completeness errors."""
    import copy

    import torch

    from course_lib import explain as E
    from course_lib.device import torch_threads
    from course_lib.models.digit_classifiers import digits01, trained

    model = trained("cnn")
    random = copy.deepcopy(model)
    torch.manual_seed(0)
    for m in random.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    _, _, X, y = digits01()
    x, t = torch.tensor(X[:N_DIGITS]), torch.tensor(y[:N_DIGITS])
    maps = np.zeros((len(MAP_METHODS), 2, N_DIGITS, 8, 8))
    with torch_threads(1):
        for j, net in enumerate((model, random)):
            for m, method in enumerate(MAP_METHODS):
                maps[m, j] = E.attribute(net, x, t, method, 0.0, 50).detach()[:, 0].double().numpy()
        _, delta = E.integrated_gradients(copy.deepcopy(model).double(), x.double(), 0.0, t.long(), 50,
                                          return_convergence_delta=True)
        with torch.no_grad():
            probs = _softmax(model(x).double().numpy())
    corr = np.array([[E.rank_correlation(np.abs(maps[m, 0, i]), np.abs(maps[m, 1, i])) for i in range(N_DIGITS)]
                     for m in range(len(MAP_METHODS))])
    return {"images": X[:N_DIGITS, 0], "labels": y[:N_DIGITS], "maps": maps, "ig_delta": delta.detach().numpy(),
            "probs": probs, "rank_corr": corr}


def attribution_view(index: int = 0, method: str = "integrated_gradients", weights: str = "trained") -> dict:
    r"""Test digit ``index``'s attribution map by ``method`` for its label, on the ``"trained"`` or the
    ``"randomized"`` network.

    Returns
    -------
    dict
        ``image``, ``map`` (8, 8); ``scale``: the map's largest absolute value (the colour range);
        ``rank_corr``: Spearman's rank correlation of the absolute maps, trained vs randomized (Adebayo et al.);
        ``ig_delta``: IG's completeness error on the trained network (float64, 50 steps); ``label``, ``p_label``.
    """
    if method not in MAP_METHODS:
        raise ValueError(f"method must be one of {MAP_METHODS}, got {method!r}")
    if weights not in ("trained", "randomized"):
        raise ValueError(f"weights must be 'trained' or 'randomized', got {weights!r}")
    d = _maps()
    i = int(index) % N_DIGITS
    m = MAP_METHODS.index(method)
    pair = d["maps"][m, :, i]
    amap = pair[0 if weights == "trained" else 1]
    return {"index": i, "method": method, "weights": weights, "image": d["images"][i], "map": amap,
            "scale": float(np.abs(amap).max()), "rank_corr": float(d["rank_corr"][m, i]),
            "ig_delta": float(d["ig_delta"][i]), "label": int(d["labels"][i]),
            "p_label": float(d["probs"][i, d["labels"][i]])}


@register_widget
class AttributionMaps(BlittedWidget):
    """A digit, a method, trained or randomized weights: which pixels the prediction of its label rests on."""

    name = "14.attributions"
    figsize = (6.4, 3.2)
    compute = staticmethod(attribution_view)

    @classmethod
    def defaults(cls) -> dict:
        return {"index": 0, "method": "integrated_gradients", "weights": "trained"}

    def build(self, fig) -> None:
        self.ax_x, self.ax_m = fig.subplots(1, 2)
        self.img = self.ax_x.imshow(np.zeros((8, 8)), cmap="gray_r", vmin=0, vmax=1)
        self.amap = self.ax_m.imshow(np.zeros((8, 8)), cmap="RdBu_r", vmin=-1, vmax=1)
        self.ax_x.set_title("test digit", fontsize=9)
        self.ax_m.set_title("attribution (scaled to ±max)", fontsize=9)
        for ax in (self.ax_x, self.ax_m):
            ax.set(xticks=[], yticks=[])
        cbar = fig.colorbar(self.amap, ax=self.ax_m, fraction=0.046, pad=0.04)
        cbar.ax.tick_params(labelsize=8)
        cbar.set_label("share of the largest |attribution|", fontsize=8)
        self.moving(self.img, self.amap)

    def draw(self, d) -> None:
        self.img.set_data(d["image"])
        self.amap.set_data(d["map"] / d["scale"] if d["scale"] > 0 else d["map"])
        names = {"saliency": "saliency |∂f/∂x|", "gradient_x_input": "gradient × input",
                 "integrated_gradients": "integrated gradients (50 steps, blank baseline)"}
        ig = (f" IG's completeness error on the trained network: {d['ig_delta']:.1e} (sum of attributions − "
              f"(f(x) − f(blank)))." if d["method"] == "integrated_gradients" else "")
        self.readout = (f"digit {d['index']}, label {d['label']} (p = {d['p_label']:.3f}); {names[d['method']]} of "
                        f"the label's logit, {d['weights']} weights; largest |attribution| {d['scale']:.3g}. "
                        f"Rank correlation of |map|, trained vs randomized: {d['rank_corr']:.2f}.{ig}")

    def controls(self) -> dict:
        import ipywidgets as w

        p = self.params
        return {"index": w.IntSlider(value=p["index"], min=0, max=N_DIGITS - 1, description="test digit"),
                "method": w.Dropdown(options=list(MAP_METHODS), value=p["method"], description="method"),
                "weights": w.Dropdown(options=["trained", "randomized"], value=p["weights"], description="weights")}
