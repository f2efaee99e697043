r"""Chapter 03 widgets on evaluating a classifier: how sure a measured accuracy is and whether a
gap between two classifiers is real (bootstrap and permutation test), and whether a classifier's
confidence means what it says (reliability diagram, ECE, temperature).

Both use the logistic regressions of :mod:`course_lib.evaluation_experiment`, fitted once per
process on scikit-learn's digits and scored on the same 897 test digits as the chapter. The
random resamples use fixed seeds, so a setting always shows the same picture; a move only
resamples, bins and sums.
"""
from __future__ import annotations

import functools

import numpy as np

from course_lib import calibration as cal
from course_lib import probability as pr
from course_lib import uncertainty as unc
from course_lib.evaluation_experiment import MODELS, digits_evaluation
from course_lib.widgets.base import LEGEND_FONTSIZE, PALETTE, BlittedWidget, register_widget

# -- 1. a bootstrap interval and a permutation test ---------------------------------------------------
PAIRS = {  # name -> (model A, model B)
    "C = 1 vs C = 100 (64 pixels)": ("64 pixels, C = 1", "64 pixels, C = 100"),
    "C = 1 vs C = 10⁴ (64 pixels)": ("64 pixels, C = 1", "64 pixels, C = 10⁴"),
    "64 pixels vs 16 pooled": ("64 pixels, C = 1", "16 pooled pixels, C = 100"),
}
N_BOOT = N_PERM = 1000
N_MIN = 20
ACC_RANGE = (0.6, 1.0)
DIFF_RANGE = (-0.15, 0.15)


def _shares(values: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values on a grid of ``step`` (the k/N an accuracy takes), and the share of ``values`` at each."""
    k, counts = np.unique(np.round(values / step).astype(int), return_counts=True)
    return k * step, counts / values.size


@register_widget
class AccuracySignificance(BlittedWidget):
    """Bootstrap distributions of two classifiers' accuracies; the permutation null of their difference."""

    name = "03.significance"
    figsize = (9.0, 3.7)

    @classmethod
    def defaults(cls) -> dict:
        return {"pair": "C = 1 vs C = 10⁴ (64 pixels)", "n_test": 897}

    @staticmethod
    def compute(pair: str, n_test: int) -> dict:
        r"""On the first ``n_test`` test digits: each model's accuracy, standard error, percentile interval
        and bootstrap distribution (values :math:`k/N` and their shares); the paired permutation test of A
        against B (``N_PERM`` relabellings): observed ``difference``, Monte-Carlo and exact ``p``, and the
        null distribution of the difference (values and shares)."""
        name_a, name_b = PAIRS[pair]
        ev = digits_evaluation()
        n = int(n_test)
        if not N_MIN <= n <= ev.y_test.size:
            raise ValueError(f"n_test must be between {N_MIN} and {ev.y_test.size}, got {n}")
        models = {}
        for key, name, seed in (("a", name_a, 0), ("b", name_b, 1)):
            c = ev.correct(name)[:n]
            # The accuracy of a resample (N draws with replacement) has exactly the law Binomial(N, a_hat)/N
            # (uncertainty.bootstrap_accuracy, tested): drawn directly, a move costs O(N_BOOT), not O(N_BOOT N).
            boot = np.random.default_rng(seed).binomial(n, c.mean(), N_BOOT) / n
            models[key] = {"name": name, "accuracy": float(c.mean()), "se": unc.accuracy_standard_error(c),
                           "interval": unc.percentile_interval(boot), "boot": _shares(boot, 1.0 / n)}
        a, b = ev.correct(name_a)[:n], ev.correct(name_b)[:n]
        test = unc.paired_permutation_test(a, b, N_PERM, rng=2)
        return {"pair": pair, "n": n, "a": models["a"], "b": models["b"], "difference": test.difference,
                "p_value": test.p_value, "p_exact": unc.exact_paired_p_value(a, b),
                "only_a": int(np.sum(a > b)), "only_b": int(np.sum(b > a)), "null": _shares(test.null, 1.0 / n)}

    def build(self, fig) -> None:
        from matplotlib.lines import Line2D

        ax, ax2 = self.ax, self.ax_null = fig.subplots(1, 2, width_ratios=[1.1, 1.0])
        colours = {"a": PALETTE["blue"], "b": PALETTE["orange"]}
        # Each resampled accuracy is some k/N: vertical lines at those values, as tall as their share.
        self.boot_lines = {k: ax.plot([], [], color=c, lw=1.4, alpha=0.85)[0] for k, c in colours.items()}
        self.ci_lines = {k: [ax.axvline(0.8, color=c, ls="--", lw=1) for _ in range(2)] for k, c in colours.items()}
        ax.set(xlim=ACC_RANGE, ylim=(0, 1.0), yticks=[], xlabel="accuracy of a resample",
               ylabel="share of resamples (scaled)")
        ax.set_title(f"bootstrap: {N_BOOT} resamples of the test set per model", fontsize=9)
        ax.legend(handles=[Line2D([], [], color=colours["a"], label="model A"),
                           Line2D([], [], color=colours["b"], label="model B"),
                           Line2D([], [], color=PALETTE["grey"], ls="--", label="95% percentile interval")],
                  loc="upper left", fontsize=LEGEND_FONTSIZE)
        (self.null_line,) = ax2.plot([], [], color=PALETTE["grey"], lw=1.6)
        (self.extreme_line,) = ax2.plot([], [], color=PALETTE["vermillion"], lw=1.6)
        self.observed = [ax2.axvline(0.0, color=PALETTE["vermillion"], ls=":", lw=1.2) for _ in range(2)]
        ax2.set(xlim=DIFF_RANGE, ylim=(0, 1.0), yticks=[], xlabel="accuracy difference A − B after relabelling",
                ylabel="share (scaled)")
        ax2.set_title(f"paired permutation test: {N_PERM} relabellings\n"
                      "vermillion: at least as extreme as the observed ± difference", fontsize=9)
        self.moving(*self.boot_lines.values(), *[line for pair in self.ci_lines.values() for line in pair],
                    self.null_line, self.extreme_line, *self.observed)

    @staticmethod
    def _spikes(x: np.ndarray, height: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One polyline drawing a vertical segment of ``height`` at each ``x`` (nan breaks between them)."""
        xs = np.repeat(x, 3)
        ys = np.column_stack([np.zeros_like(height), height, np.full_like(height, np.nan)]).ravel()
        return xs, ys

    def draw(self, data) -> None:
        peak = max(data["a"]["boot"][1].max(), data["b"]["boot"][1].max())
        for key in ("a", "b"):
            model = data[key]
            x, share = model["boot"]
            self.boot_lines[key].set_data(*self._spikes(x, 0.9 * share / peak))
            for line, v in zip(self.ci_lines[key], model["interval"]):
                line.set_xdata([v, v])
        d = data["difference"]
        x, share = data["null"]
        height = 0.9 * share / share.max()
        extreme = np.abs(x) >= abs(d) - 1e-12
        self.null_line.set_data(*self._spikes(x[~extreme], height[~extreme]))
        self.extreme_line.set_data(*self._spikes(x[extreme], height[extreme]))
        for line, v in zip(self.observed, (d, -d)):
            line.set_xdata([v, v])
        a, b = data["a"], data["b"]
        verdict = ("a difference this large would be rare if the models were equally good"
                   if data["p_exact"] < 0.05 else "no evidence that either model is better on these examples")
        lines = [f"On the first <b>N = {data['n']}</b> test digits. "]
        for label, m in (("A", a), ("B", b)):
            lo, hi = m["interval"]
            lines.append(f"{label} ({m['name']}): accuracy <b>{m['accuracy']:.3f}</b>, SE {m['se']:.4f}, "
                         f"95% bootstrap interval [{lo:.3f}, {hi:.3f}]. ")
        lines.append(f"Difference A − B = <b>{d:+.4f}</b> ({data['only_a']} digits only A gets right, "
                     f"{data['only_b']} only B); permutation p = (r + 1)/(n + 1) = <b>{data['p_value']:.4f}</b> "
                     f"(exact {data['p_exact']:.2g}): {verdict}.")
        self.readout = "".join(lines)

    def controls(self) -> dict:
        import ipywidgets as w

        n_max = digits_evaluation().y_test.size
        return {"pair": w.Dropdown(options=list(PAIRS), value=self.params["pair"], description="models A vs B"),
                "n_test": w.IntSlider(value=self.params["n_test"], min=N_MIN, max=n_max, step=1,
                                      description="test digits N", continuous_update=False)}


# -- 2. calibration: a reliability diagram with temperature ---------------------------------------------
LOG10_TAU_RANGE = (-1.0, 1.0)
MAX_BINS = 30
_TAUS = np.logspace(*LOG10_TAU_RANGE, 81)


@functools.lru_cache(maxsize=8)
def _fitted_temperature(model: str) -> tuple[float, float, float]:
    """The temperature fitted on the validation digits, and the test NLL at it and at tau = 1."""
    ev = digits_evaluation()
    tau_star = cal.fit_temperature(ev.val_logits[model], ev.y_val)
    Z, y = ev.test_logits[model], ev.y_test
    return tau_star, cal.temperature_nll(Z, y, tau_star), cal.temperature_nll(Z, y, 1.0)


@functools.lru_cache(maxsize=8)
def _confidences(model: str) -> tuple[np.ndarray, np.ndarray]:
    r"""Test confidences at every temperature of :data:`_TAUS`, shape (81, N), and correctness (N,).

    Dividing the logits by tau never changes the argmax, so ``correct`` is the same for every
    tau; the confidence is :math:`1/\sum_k e^{(z_k - z_{\max})/\tau}`.
    """
    ev = digits_evaluation()
    Z = ev.test_logits[model]
    shifted = Z - Z.max(axis=1, keepdims=True)
    with np.errstate(under="ignore"):  # exp(-large) rounds to 0: exact to rounding
        conf = 1.0 / np.exp(shifted[None, :, :] / _TAUS[:, None, None]).sum(axis=2)
    return conf, (Z.argmax(axis=1) == ev.y_test).astype(float)


@functools.lru_cache(maxsize=64)
def _ece_curve(model: str, n_bins: int) -> np.ndarray:
    """Test ECE at each temperature of :data:`_TAUS`, shape (81,), all temperatures at once."""
    conf, correct = _confidences(model)
    flat = (np.arange(_TAUS.size)[:, None] * n_bins + cal.bin_index(conf, n_bins)).ravel()
    size = _TAUS.size * n_bins
    gap = np.bincount(flat, weights=(correct[None, :] - conf).ravel(), minlength=size)
    # sum_m (n_m / N) |acc_m - conf_m| = sum_m |sum over bin m of (correct - conf)| / N
    return np.abs(gap).reshape(_TAUS.size, n_bins).sum(axis=1) / conf.shape[1]


@functools.lru_cache(maxsize=256)
def _ece_at(model: str, n_bins: int, tau: float) -> float:
    ev = digits_evaluation()
    return cal.expected_calibration_error(pr.softmax(ev.test_logits[model] / tau), ev.y_test, n_bins)


def _rectangles(left: np.ndarray, width: float, bottom: np.ndarray, top: np.ndarray) -> list[np.ndarray]:
    """Closed rectangles (4, 2) for a PolyCollection."""
    return [np.array([[x, b], [x + width, b], [x + width, t], [x, t]]) for x, b, t in zip(left, bottom, top)]


@register_widget
class ReliabilityDiagram(BlittedWidget):
    """Reliability diagram and confidence histogram of a digits classifier at temperature tau; ECE against tau."""

    name = "03.reliability"
    figsize = (9.0, 4.4)

    @classmethod
    def defaults(cls) -> dict:
        return {"model": "64 pixels, C = 10⁴", "log10_tau": 0.0, "n_bins": 10}

    @staticmethod
    def compute(model: str, log10_tau: float, n_bins: int) -> dict:
        r"""The test predictions ``softmax(z / tau)`` of ``model``: its reliability ``bins``, ``ece``,
        ``nll`` and ``accuracy`` (which :math:`\tau` never changes), the ECE curve over :data:`_TAUS`,
        and the temperature ``tau_star`` fitted on the validation digits with its test ECE and NLL."""
        n_bins = int(n_bins)
        if not 1 <= n_bins <= MAX_BINS:
            raise ValueError(f"n_bins must be between 1 and {MAX_BINS}, got {n_bins}")
        ev = digits_evaluation()
        Z, y = ev.test_logits[model], ev.y_test
        tau = 10.0 ** float(log10_tau)
        log_probs = pr.log_softmax(Z / tau)
        conf, correct = cal.confidence_and_correct(np.exp(log_probs), y)
        bins = cal.reliability_bins(conf, correct, n_bins)
        full = bins.counts > 0
        tau_star, nll_star, nll_one = _fitted_temperature(model)
        return {"model": model, "tau": tau, "n_bins": n_bins, "bins": bins,
                "ece": float(np.sum(bins.counts[full] * np.abs(bins.accuracy[full] - bins.confidence[full])) / y.size),
                "nll": float(-np.mean(log_probs[np.arange(y.size), y])),
                "accuracy": float(correct.mean()), "mean_confidence": float(conf.mean()),
                "curve": _ece_curve(model, n_bins), "tau_star": tau_star,
                "ece_star": _ece_at(model, n_bins, tau_star), "nll_star": nll_star, "nll_one": nll_one}

    def build(self, fig) -> None:
        grid = fig.add_gridspec(2, 2, height_ratios=[3.0, 1.0], width_ratios=[1.0, 1.0])
        ax = self.ax = fig.add_subplot(grid[0, 0])
        counts = self.ax_counts = fig.add_subplot(grid[1, 0], sharex=ax)
        right = self.ax_tau = fig.add_subplot(grid[:, 1])
        ax.plot([0, 1], [0, 1], color=PALETTE["grey"], ls="--", lw=1, label="calibrated: accuracy = confidence")
        from matplotlib.collections import PolyCollection

        # One collection per kind of bar: a move redraws three artists, not 90 rectangles.
        self.acc_bars = ax.add_collection(PolyCollection([], facecolors=PALETTE["blue"], edgecolors="white",
                                                         linewidths=0.5, label="accuracy in the bin"))
        self.gap_bars = ax.add_collection(PolyCollection([], facecolors=PALETTE["vermillion"], alpha=0.35,
                                                         linewidths=0, label="gap to the mean confidence"))
        ax.set(xlim=(0, 1), ylim=(0, 1), ylabel="accuracy")
        ax.set_title("reliability diagram (test digits)", fontsize=9)
        ax.tick_params(labelbottom=False)
        ax.legend(loc="upper left", fontsize=LEGEND_FONTSIZE)
        self.count_bars = counts.add_collection(PolyCollection([], facecolors=PALETTE["sky"], linewidths=0))
        counts.set(ylim=(0, 1), xlabel="confidence max_k p̂_k", ylabel="share")
        (self.curve,) = right.plot(_TAUS, np.ones_like(_TAUS), color=PALETTE["blue"], lw=2)
        (self.dot,) = right.plot([], [], "o", color=PALETTE["vermillion"], ms=8)
        self.star = right.axvline(1.0, color=PALETTE["green"], lw=1.5)
        right.axvline(1.0, color="#dddddd", lw=1, zorder=0)
        right.set(xscale="log", yscale="log", xlim=(_TAUS[0], _TAUS[-1]), ylim=(2e-3, 1.0),
                  xlabel="temperature τ (log scale)", ylabel="ECE (log scale)")
        right.set_title("ECE of softmax(z / τ); green: τ fitted on validation digits", fontsize=9)
        right.grid(alpha=0.3)
        self.moving(self.acc_bars, self.gap_bars, self.count_bars, self.curve, self.dot, self.star)

    def draw(self, data) -> None:
        bins = data["bins"]
        m, n = data["n_bins"], bins.counts.sum()
        full = bins.counts > 0
        left = bins.edges[:-1][full]
        acc, conf = bins.accuracy[full], bins.confidence[full]
        self.acc_bars.set_verts(_rectangles(left, 1.0 / m, np.zeros_like(acc), acc))
        self.gap_bars.set_verts(_rectangles(left, 1.0 / m, acc, conf))
        self.count_bars.set_verts(_rectangles(left, 1.0 / m, np.zeros_like(acc), bins.counts[full] / n))
        self.curve.set_ydata(np.maximum(data["curve"], 2e-3))  # the axis starts at 2e-3
        self.dot.set_data([data["tau"]], [max(data["ece"], 2e-3)])
        self.star.set_xdata([data["tau_star"]] * 2)
        side = ("overconfident (mean confidence above the accuracy)" if data["mean_confidence"] > data["accuracy"]
                else "underconfident (mean confidence below the accuracy)")
        self.readout = (f"{data['model']} at <b>τ = {data['tau']:.3g}</b>: accuracy {data['accuracy']:.4f} (the same "
                        f"at every τ), mean confidence {data['mean_confidence']:.4f}: {side}. "
                        f"<b>ECE with M = {m} bins: {data['ece']:.4f}</b>; mean NLL {data['nll']:.4f} "
                        f"(at τ = 1: {data['nll_one']:.4f}). Fitted on the validation digits, τ* = "
                        f"{data['tau_star']:.3g} gives test ECE {data['ece_star']:.4f} and NLL {data['nll_star']:.4f}.")

    def controls(self) -> dict:
        import ipywidgets as w

        return {"model": w.Dropdown(options=list(MODELS), value=self.params["model"], description="model"),
                "log10_tau": w.FloatSlider(value=self.params["log10_tau"], min=LOG10_TAU_RANGE[0],
                                           max=LOG10_TAU_RANGE[1], step=0.02, description="log₁₀ τ",
                                           readout_format=".2f"),
                "n_bins": w.IntSlider(value=self.params["n_bins"], min=1, max=MAX_BINS, description="bins M")}
