r"""Chapter 03 widgets: softmax temperature, a Gaussian's likelihood surface, a coin's posterior
(the evaluation widgets are in :mod:`~course_lib.widgets.ch03_probability_information_evaluation`).

Each compute function is pure and cheap: the random samples are drawn once (fixed seeds), so a
slider move only slices, sums and evaluates closed forms. The views render their static parts
once (:class:`~course_lib.widgets.ch01_linear_algebra.BlittedWidget`) and then only redraw
the bars, curves and markers that move.
"""
from __future__ import annotations

import numpy as np

from course_lib import probability as pr
from course_lib.widgets.base import LEGEND_FONTSIZE, PALETTE, BlittedWidget, register_widget

_BOX = {"fc": "white", "ec": "none", "alpha": 0.85, "pad": 1.5}


# -- 1. softmax temperature ------------------------------------------------------------------
LOGIT_SETS = {
    "close call": np.array([1.2, 1.0, 0.7, 0.1, -0.5]),
    "confident": np.array([4.0, 1.5, 0.5, -0.5, -2.0]),
    "tie at the top": np.array([2.0, 2.0, 0.5, -0.5, -1.0]),
    "huge logits (1000s)": np.array([1002.0, 1000.0, 997.0, 990.0, 900.0]),
}
LOG10_TAU_RANGE = (-2.0, 2.0)


@register_widget
class SoftmaxTemperature(BlittedWidget):
    """Bar chart of softmax(z / tau) for fixed logits; entropy against the temperature tau."""

    name = "03.softmax_temperature"
    figsize = (8.0, 3.3)

    @classmethod
    def defaults(cls) -> dict:
        return {"log10_tau": 0.0, "logits": "close call"}

    @staticmethod
    def compute(log10_tau: float, logits: str) -> dict:
        r"""Probabilities ``probs`` (K,) at :math:`\tau = 10^{\text{log10\_tau}}`, their ``entropy`` and
        ``max_prob``, the number of classes ``tied`` at the largest logit, and the entropy curve
        ``curve_tau``/``curve_H`` (161,) over the slider's range."""
        z = LOGIT_SETS[logits]
        tau = 10.0 ** float(log10_tau)
        probs = pr.softmax(z, temperature=tau)
        curve_tau = np.logspace(*LOG10_TAU_RANGE, 161)
        curve_H = pr.entropy(pr.softmax(z[None, :] / curve_tau[:, None]))
        top2 = np.sort(z)[-2:]
        return {"z": z, "tau": tau, "probs": probs, "entropy": float(pr.entropy(probs)),
                "max_prob": float(probs.max()), "argmax": int(np.argmax(probs)), "H_max": float(np.log(len(z))),
                "ratio": float(np.exp((top2[1] - top2[0]) / tau)) if top2[1] > top2[0] else 1.0,
                "tied": int(np.sum(z == z.max())), "curve_tau": curve_tau, "curve_H": curve_H, "logits": logits}

    def build(self, fig) -> None:
        k = len(next(iter(LOGIT_SETS.values())))
        ax, ax2 = self.ax, self.ax_h = fig.subplots(1, 2, width_ratios=[1.15, 1.0])
        self.bars = ax.bar(np.arange(k), np.zeros(k), color=PALETTE["blue"], width=0.7)
        ax.axhline(1.0 / k, color=PALETTE["grey"], ls="--", lw=1, label=f"uniform 1/{k}")
        ax.set(xticks=np.arange(k), xticklabels=[f"class {i + 1}" for i in range(k)], ylim=(0, 1.12),
               ylabel="probability softmax(z / τ)", xlabel="class (logits: see the readout)")
        ax.legend(loc="upper right", fontsize=LEGEND_FONTSIZE)
        ax2.set(xscale="log", xlim=10.0 ** np.array(LOG10_TAU_RANGE), ylim=(0, np.log(k) * 1.12),
                xlabel="temperature τ (log scale)", ylabel="entropy H[p] (nats)")
        ax2.axhline(np.log(k), color=PALETTE["grey"], ls="--", lw=1)
        ax2.text(0.012, np.log(k) * 1.02, f"ln {k}: uniform", fontsize=8, color="#555555", va="bottom")
        ax2.axvline(1.0, color="#dddddd", lw=1, zorder=0)
        ax2.grid(alpha=0.3)
        (self.curve,) = ax2.plot([], [], color=PALETTE["blue"], lw=2)
        (self.dot,) = ax2.plot([], [], "o", color=PALETTE["vermillion"], ms=8)
        # Moving text is the slowest thing to render: the numbers go to the readout instead.
        self.moving(*self.bars.patches, self.curve, self.dot)

    def draw(self, data) -> None:
        for i, (bar, p) in enumerate(zip(self.bars.patches, data["probs"])):
            bar.set_height(p)
            bar.set_color(PALETTE["vermillion"] if i == data["argmax"] else PALETTE["blue"])
        self.curve.set_data(data["curve_tau"], data["curve_H"])
        self.dot.set_data([data["tau"]], [data["entropy"]])
        probs = ", ".join(f"{p:.3f}" for p in data["probs"])
        logits = ", ".join(f"{z:g}" for z in data["z"])
        tied = data["tied"]
        limit = ("τ → 0 gives the one-hot argmax (the largest logit is unique)" if tied == 1 else
                 f"τ → 0 splits the probability evenly over the {tied} classes tied at the largest logit "
                 "(one-hot only without ties)")
        self.readout = (f"Logits z = ({logits}); <b>τ = {data['tau']:.3g}</b>: softmax(z / τ) = ({probs}). "
                        f"The largest probability is <b>{data['max_prob']:.3f}</b> "
                        f"(class {data['argmax'] + 1}); entropy H[p] = <b>{data['entropy']:.3f} nats</b> of at "
                        f"most ln {len(data['z'])} = {data['H_max']:.3f}. The top two probabilities stand in the "
                        f"ratio e<sup>(z₁ − z₂)/τ</sup> = {data['ratio']:.3g}: {limit}; "
                        "τ → ∞ gives the uniform distribution.")

    def controls(self) -> dict:
        import ipywidgets as w

        return {"log10_tau": w.FloatSlider(value=self.params["log10_tau"], min=LOG10_TAU_RANGE[0],
                                           max=LOG10_TAU_RANGE[1], step=0.05, description="log₁₀ τ",
                                           readout_format=".2f"),
                "logits": w.Dropdown(options=list(LOGIT_SETS), value=self.params["logits"], description="logits")}


# -- 2. maximum likelihood for a Gaussian ----------------------------------------------------
MU_TRUE = 1.0
N_MAX = 500
_STANDARD_SAMPLE = np.random.default_rng(3).standard_normal(N_MAX)  # fixed: a slider move re-slices it
_EDGES = np.linspace(-8.0, 10.0, 37)
_MU_GRID = np.linspace(-2.0, 4.0, 121)
_SD_GRID = np.linspace(0.2, 4.5, 111)  # sqrt(v)
LEVELS = (1.0, 4.0, 16.0)  # contours where log calL is this far below its maximum


def likelihood_contour(mu_hat: float, sd_hat: float, n: int, drop: float, points: int = 120) -> np.ndarray:
    r"""The closed curve :math:`\log\mathcal{L}(\mu, v) = \log\mathcal{L}(\hat\mu, \hat v) - c` in the
    :math:`(\mu, \sqrt{v})` plane, shape (2 * points, 2): columns :math:`\mu` and :math:`\sqrt v`.

    Notes
    -----
    With :math:`r = \sqrt{v}/\sqrt{\hat v}` and :math:`a = 2c/N`, the level set of the Gaussian
    log-likelihood is :math:`(\mu - \hat\mu)^2 = \hat v\,[r^2(1 + a - 2\ln r) - 1]`: for
    each :math:`r` between the two roots of the bracket, two values of :math:`\mu`. The roots are
    found by bisection (one in (0, 1), one in :math:`(1, e^{(1+a)/2})`). Exact, and cheaper than
    contouring a grid.
    """
    a = 2.0 * drop / n

    def g(s):
        return s * s * (1.0 + a - 2.0 * np.log(s)) - 1.0

    # Both roots at once: g rises through 0 in (0, 1) and falls through 0 in (1, e^((1+a)/2)).
    lo, hi = np.array([1e-9, 1.0]), np.array([1.0, np.exp((1.0 + a) / 2.0)])
    rising = np.array([True, False])
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        move_hi = (g(mid) > 0) == rising
        lo, hi = np.where(move_hi, lo, mid), np.where(move_hi, mid, hi)
    s_lo, s_hi = 0.5 * (lo + hi)
    t = 0.5 * (1.0 - np.cos(np.linspace(0.0, np.pi, points)))  # denser near the ends, where the curve turns
    s = s_lo + (s_hi - s_lo) * t
    d = sd_hat * np.sqrt(np.maximum(g(s), 0.0))
    right = np.column_stack([mu_hat + d, s * sd_hat])
    left = np.column_stack([mu_hat - d, s * sd_hat])[::-1]
    return np.vstack([right, left])


@register_widget
class GaussianMLE(BlittedWidget):
    """Samples of a Gaussian, the fitted and true densities, and the log-likelihood over (mu, sqrt(v))."""

    name = "03.gaussian_mle"
    figsize = (9.0, 3.6)

    @classmethod
    def defaults(cls) -> dict:
        return {"n": 20, "sd": 1.5, "probe_mu": -0.5, "probe_sd": 3.0}

    @staticmethod
    def compute(n: int, sd: float, probe_mu: float = -0.5, probe_sd: float = 3.0) -> dict:
        r"""The first ``n`` samples of :math:`\mathcal{N}(1, v)` with :math:`\sqrt{v}` = ``sd``, their histogram
        ``density`` (36,), the MLE ``mu_hat, sd_hat`` (:math:`\hat\mu, \sqrt{\hat v}`), the surface
        ``surface`` (111, 121) of :math:`\log\mathcal{L} - \max\log\mathcal{L}` over :math:`(\mu, \sqrt{v})`,
        the ``contours`` (a list of (240, 2) curves), and the log-likelihoods ``ll_hat``, ``ll_true``,
        ``ll_probe`` of the MLE, the truth and the probe."""
        n = int(n)
        x = MU_TRUE + float(sd) * _STANDARD_SAMPLE[:n]
        mu_hat, sd_hat = pr.gaussian_mle(x)
        counts, _ = np.histogram(x, _EDGES)
        ll_hat = float(pr.gaussian_log_likelihood(x, mu_hat, sd_hat))
        surface = pr.gaussian_log_likelihood(x, _MU_GRID[None, :], _SD_GRID[:, None]) - ll_hat
        return {"x": x, "n": n, "sd": float(sd), "mu_hat": mu_hat, "sd_hat": sd_hat,
                "sd_unbiased": float(np.std(x, ddof=1)) if n > 1 else float("nan"),
                "density": counts / (n * np.diff(_EDGES)), "surface": surface,
                "contours": [likelihood_contour(mu_hat, sd_hat, n, c) for c in LEVELS],
                "ll_hat": ll_hat, "ll_true": float(pr.gaussian_log_likelihood(x, MU_TRUE, sd)),
                "probe": (float(probe_mu), float(probe_sd)),
                "ll_probe": float(pr.gaussian_log_likelihood(x, probe_mu, probe_sd))}

    def build(self, fig) -> None:
        from matplotlib.lines import Line2D

        ax, ax2 = self.ax, self.ax_ll = fig.subplots(1, 2, width_ratios=[1.0, 1.0])
        widths = np.diff(_EDGES)
        self.bars = ax.bar(_EDGES[:-1], np.zeros(len(widths)), width=widths, align="edge",
                           color=PALETTE["sky"], edgecolor="white", lw=0.5)
        self.grid_x = np.linspace(_EDGES[0], _EDGES[-1], 300)
        (self.true_pdf,) = ax.plot([], [], color=PALETTE["black"], ls="--", lw=1.5)
        (self.fit_pdf,) = ax.plot([], [], color=PALETTE["vermillion"], lw=2)
        (self.probe_pdf,) = ax.plot([], [], color=PALETTE["orange"], lw=1.5, ls=":")
        ax.set(xlim=(_EDGES[0], _EDGES[-1]), ylim=(0, 1.0), xlabel="x", ylabel="density")
        ax.legend(handles=[Line2D([], [], color=PALETTE["sky"], lw=6, label="histogram of the sample"),
                           Line2D([], [], color=PALETTE["black"], ls="--", label="true density"),
                           Line2D([], [], color=PALETTE["vermillion"], lw=2, label="MLE fit"),
                           Line2D([], [], color=PALETTE["orange"], ls=":", label="your guess")],
                  loc="upper left", fontsize=LEGEND_FONTSIZE)
        extent = (_MU_GRID[0], _MU_GRID[-1], _SD_GRID[0], _SD_GRID[-1])
        self.image = ax2.imshow(np.zeros((len(_SD_GRID), len(_MU_GRID))), origin="lower", extent=extent,
                                aspect="auto", cmap="viridis_r", vmin=0.0, vmax=4.5, interpolation="bilinear")
        bar = fig.colorbar(self.image, ax=ax2, shrink=0.9)
        # The drop below the maximum spans 0 to ~10^4 nats as N grows: a log colour scale keeps the bowl visible.
        # A label along the bar: a title over the narrow bar stuck out of the figure and was clipped.
        bar.set_label("log₁₀(1 + drop)")
        self.contours = [ax2.plot([], [], color=PALETTE["black"], lw=0.9, alpha=0.8)[0] for _ in LEVELS]
        (self.truth,) = ax2.plot([MU_TRUE], [1.0], "o", mfc="none", mec=PALETTE["black"], mew=2, ms=9)
        (self.mle,) = ax2.plot([], [], "X", color=PALETTE["vermillion"], mec="white", ms=10)
        (self.probe,) = ax2.plot([], [], "D", color=PALETTE["orange"], mec="black", ms=7)
        # A legend inside this axes would sit under the (redrawn) image: the title explains instead.
        ax2.set(xlabel="μ", ylabel=r"$\sqrt{v}$ (standard deviation)", xlim=extent[:2], ylim=extent[2:])
        ax2.set_title(r"drop of $\log\mathcal{L}(\mu, v)$ below its max; contours at 1, 4, 16" "\n"
                      "✕ MLE   ○ truth   ◆ your guess (drag it)",
                      fontsize=8)
        self.moving(*self.bars.patches, self.true_pdf, self.fit_pdf, self.probe_pdf, self.image, *self.contours,
                    self.truth, self.mle, self.probe)

    def draw(self, data) -> None:
        for bar, h in zip(self.bars.patches, data["density"]):
            bar.set_height(h)
        g = self.grid_x
        self.true_pdf.set_data(g, pr.gaussian_pdf(g, MU_TRUE, data["sd"]))
        self.fit_pdf.set_data(g, pr.gaussian_pdf(g, data["mu_hat"], data["sd_hat"]))
        self.probe_pdf.set_data(g, pr.gaussian_pdf(g, *data["probe"]))
        self.image.set_data(np.log10(1.0 - np.minimum(data["surface"], 0.0)))
        for line, curve in zip(self.contours, data["contours"]):
            line.set_data(curve[:, 0], curve[:, 1])
        self.truth.set_data([MU_TRUE], [data["sd"]])
        self.mle.set_data([data["mu_hat"]], [data["sd_hat"]])
        self.probe.set_data([data["probe"][0]], [data["probe"][1]])
        self.readout = (f"N = {data['n']}: <b>μ̂ = {data['mu_hat']:.3f}</b>, <b>√v̂ = {data['sd_hat']:.3f}</b> "
                        f"(MLE, divides by N; with N − 1: {data['sd_unbiased']:.3f}); truth (μ, √v) = "
                        f"({MU_TRUE:g}, {data['sd']:.2f}). log ℒ: <b>{data['ll_hat']:.2f}</b> at the MLE, "
                        f"{data['ll_true']:.2f} at the truth, {data['ll_probe']:.2f} at your guess "
                        f"({data['probe'][0]:.2f}, {data['probe'][1]:.2f}). Nothing beats the MLE on its own sample.")

    def on_pointer(self, ax, x: float, y: float) -> dict | None:
        """Dragging on the log-likelihood panel moves the guess (the orange density follows)."""
        if ax is not self.ax_ll:
            return None
        return {"probe_mu": round(float(np.clip(x, _MU_GRID[0], _MU_GRID[-1])), 3),
                "probe_sd": round(float(np.clip(y, _SD_GRID[0], _SD_GRID[-1])), 3)}

    def controls(self) -> dict:
        import ipywidgets as w

        return {"n": w.IntSlider(value=self.params["n"], min=2, max=N_MAX, description="sample size N"),
                "sd": w.FloatSlider(value=self.params["sd"], min=0.5, max=3.0, step=0.05,
                                    description="true √v", readout_format=".2f")}


# -- 3. Bayesian updating of a coin's bias -----------------------------------------------------
PRIORS = {
    "uniform Beta(1, 1)": (1.0, 1.0),
    "Jeffreys Beta(½, ½)": (0.5, 0.5),
    "sure it is fair: Beta(20, 20)": (20.0, 20.0),
    "expects tails: Beta(2, 8)": (2.0, 8.0),
}
FLIPS_MAX = 200
_UNIFORMS = np.random.default_rng(7).uniform(size=FLIPS_MAX)  # flip i is heads when u_i < bias
_THETA = np.linspace(0.0005, 0.9995, 400)


@register_widget
class CoinPosterior(BlittedWidget):
    """Prior, likelihood and posterior of a coin's bias as the flips of a fixed sequence arrive."""

    name = "03.bayes_coin"
    figsize = (9.0, 5.0)

    @classmethod
    def defaults(cls) -> dict:
        return {"n": 10, "prior": "expects tails: Beta(2, 8)", "bias": 0.7}

    @staticmethod
    def compute(n: int, prior: str, bias: float) -> dict:
        """Beta posterior after the first ``n`` flips (:math:`N` in the text): densities on a grid (400,), ``mean``, 95% ``interval``,
        and the running posterior mean and MLE over all ``FLIPS_MAX`` flips (for the lower panel)."""
        n = int(n)
        a, b = PRIORS[prior]
        flips = (_UNIFORMS < bias).astype(int)
        a_post, b_post = pr.beta_posterior(a, b, flips[:n])
        heads = int(flips[:n].sum())
        seen = np.arange(FLIPS_MAX + 1)
        cum_heads = np.concatenate([[0], np.cumsum(flips)])
        with np.errstate(invalid="ignore", divide="ignore"):  # the MLE N_1 / N is undefined at N = 0
            running_mle = np.where(seen > 0, cum_heads / np.maximum(seen, 1), np.nan)
        posterior = pr.beta_pdf(_THETA, a_post, b_post)
        likelihood = pr.beta_pdf(_THETA, heads + 1.0, n - heads + 1.0)  # theta^N1 (1-theta)^N0, normalized in theta
        return {"n": n, "heads": heads, "prior_ab": (a, b), "post_ab": (a_post, b_post), "bias": float(bias),
                "flips": flips, "prior": pr.beta_pdf(_THETA, a, b), "likelihood": likelihood, "posterior": posterior,
                "peak": float(max(posterior.max(), likelihood.max(), 1.0)),
                "mean": pr.beta_mean(a_post, b_post), "interval": pr.beta_credible_interval(a_post, b_post),
                "running_mean": (a + cum_heads) / (a + b + seen), "running_mle": running_mle}

    def build(self, fig) -> None:
        from matplotlib.patches import Polygon

        # The posterior grows from height ~1 to ~20 as flips arrive. Rescaling the axis would force a
        # full re-render on most moves; instead the curves are scaled to fit a fixed axis (the same
        # factor for all three, so they stay comparable) and the readout gives the real peak height.
        ax, ax2 = self.ax, self.ax_run = fig.subplots(2, 1, height_ratios=[1.6, 1.0])
        self.band = ax.add_patch(Polygon(np.zeros((3, 2)), closed=True, color=PALETTE["sky"], alpha=0.35, lw=0,
                                         label="95% credible interval"))
        (self.prior_line,) = ax.plot([], [], color=PALETTE["grey"], ls="--", lw=1.5, label="prior")
        (self.lik_line,) = ax.plot([], [], color=PALETTE["green"], ls=":", lw=2, label="likelihood (normalized)")
        (self.post_line,) = ax.plot([], [], color=PALETTE["blue"], lw=2.2, label="posterior")
        self.mean_line = ax.axvline(0.5, color=PALETTE["blue"], lw=1, label="posterior mean")
        self.true_line = ax.axvline(0.5, color=PALETTE["black"], ls="--", lw=1, label="true bias")
        ax.set(xlim=(0, 1), ylim=(0, 1.0), xlabel="bias θ = P(heads)", ylabel="density (scaled to fit)",
               yticks=[])
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=LEGEND_FONTSIZE, frameon=False)
        seen = np.arange(FLIPS_MAX + 1)
        (self.run_mean,) = ax2.plot(seen, np.zeros_like(seen, dtype=float), color=PALETTE["blue"], lw=1.8,
                                    label="posterior mean")
        (self.run_mle,) = ax2.plot(seen, np.zeros_like(seen, dtype=float), color=PALETTE["green"], lw=1.2,
                                   label="MLE N₁ / N")
        self.run_true = ax2.axhline(0.5, color=PALETTE["black"], ls="--", lw=1, label="true bias")
        self.now = ax2.axvline(0, color=PALETTE["vermillion"], lw=1.5, label="N (the slider)")
        (self.heads_ticks,) = ax2.plot([], [], "|", color=PALETTE["orange"], ms=9, mew=1.5)
        (self.tails_ticks,) = ax2.plot([], [], "|", color=PALETTE["purple"], ms=9, mew=1.5)
        ax2.set(xlim=(0, FLIPS_MAX), ylim=(-0.08, 1.08), xlabel="flips seen N (ticks: heads at top, tails at bottom)",
                ylabel="estimate of θ")
        ax2.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=LEGEND_FONTSIZE, frameon=False)
        self.moving(self.band, self.prior_line, self.lik_line, self.post_line, self.mean_line, self.true_line,
                    self.run_mean, self.run_mle, self.run_true, self.now, self.heads_ticks,
                    self.tails_ticks)

    def draw(self, data) -> None:
        lo, hi = data["interval"]
        inside = (_THETA >= lo) & (_THETA <= hi)
        xs = np.concatenate([[lo], _THETA[inside], [hi]])
        a_post, b_post = data["post_ab"]
        scale = 0.9 / data["peak"]  # the taller of posterior and likelihood reaches 90% of the axis
        ys = scale * pr.beta_pdf(xs, a_post, b_post)
        self.band.set_xy(np.column_stack([np.concatenate([xs, xs[::-1]]), np.concatenate([ys, np.zeros_like(ys)])]))
        self.prior_line.set_data(_THETA, scale * data["prior"])
        self.lik_line.set_data(_THETA, scale * data["likelihood"])
        self.post_line.set_data(_THETA, scale * data["posterior"])
        self.mean_line.set_xdata([data["mean"]] * 2)
        self.true_line.set_xdata([data["bias"]] * 2)
        n, heads = data["n"], data["heads"]
        self.run_mean.set_ydata(data["running_mean"])
        self.run_mle.set_ydata(data["running_mle"])
        self.run_true.set_ydata([data["bias"]] * 2)
        self.now.set_xdata([n, n])
        seen = np.arange(1, n + 1)
        head = data["flips"][:n] == 1
        self.heads_ticks.set_data(seen[head], np.full(int(head.sum()), 1.04))
        self.tails_ticks.set_data(seen[~head], np.full(int((~head).sum()), -0.04))
        mle = f"{heads}/{n} = {heads / n:.3f}" if n else "undefined (no data)"
        self.readout = (f"After <b>N = {n}</b> flips (N₁ = {heads} heads, N₀ = {n - heads} tails): posterior "
                        f"Beta(α + N₁, β + N₀) = Beta({a_post:g}, {b_post:g}), <b>mean {data['mean']:.3f}</b> "
                        "(= P(next flip is heads)), "
                        f"<b>95% credible interval [{lo:.3f}, {hi:.3f}]</b>. MLE {mle}; prior mean "
                        f"{pr.beta_mean(*data['prior_ab']):.3f}; true bias {data['bias']:.2f}. The tallest curve "
                        f"peaks at density {data['peak']:.1f}.")

    def controls(self) -> dict:
        import ipywidgets as w

        return {"n": w.IntSlider(value=self.params["n"], min=0, max=FLIPS_MAX, description="flips seen N"),
                "prior": w.Dropdown(options=list(PRIORS), value=self.params["prior"], description="prior"),
                "bias": w.FloatSlider(value=self.params["bias"], min=0.05, max=0.95, step=0.05,
                                      description="true bias", readout_format=".2f")}
