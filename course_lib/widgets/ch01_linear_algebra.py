"""Chapter 01 widgets: a 2x2 matrix acting on the plane, and a PCA explorer on digits."""
from __future__ import annotations

import functools

import numpy as np

from course_lib import linalg as la
from course_lib.widgets.base import LEGEND_FONTSIZE, PALETTE, BlittedWidget, register_widget

# Ten classes need ten colours: the eight Okabe-Ito hues, grey, and a brown.
DIGIT_COLOURS = [PALETTE[c] for c in ("blue", "orange", "green", "vermillion", "sky", "purple", "yellow",
                                      "black", "grey")] + ["#8C510A"]


def _fmt(x: float, digits: int = 2) -> str:
    """A number rounded for display, without a stray '-0.00'."""
    return f"{round(float(x), digits) + 0.0:.{digits}f}"


@register_widget
class MatrixOnPlane(BlittedWidget):
    """A 2x2 matrix acting on the plane: grid, unit circle, basis vectors, eigenvectors, determinant."""

    name = "01.matrix_2x2"
    figsize = (5.2, 5.6)
    LIM = 3.5  # fixed view, so that stretching and squashing are visible as such

    @classmethod
    def defaults(cls) -> dict:
        return {"a11": 1.2, "a12": 0.6, "a21": 0.3, "a22": 0.9}

    @staticmethod
    def compute(a11: float, a12: float, a21: float, a22: float) -> dict:
        r"""Everything the picture shows, for :math:`\mathbf{A} = [[a_{11}, a_{12}], [a_{21}, a_{22}]]`.

        Returns a dict with ``A`` (2, 2); ``lines``/``images`` (18, 2, 2) grid segments before
        and after; ``ellipse`` (129, 2) the image of the unit circle; ``square`` (4, 2) the image
        of the unit square; ``det`` and ``area`` (its signed area, equal to det A); ``eigenvalues``
        (2,) complex; ``eigenvectors`` (2, 2) columns or ``None`` when the eigenvalues are complex.
        """
        A = np.array([[a11, a12], [a21, a22]], dtype=np.float64)
        lines, images = la.transform_grid(A, lim=2.0, n_lines=9)
        square = la.unit_square() @ A.T
        lam, V = la.eig2x2(A)
        return {"A": A, "lines": lines, "images": images, "ellipse": la.unit_circle() @ A.T,
                "square": square, "det": la.det2x2(A), "area": la.signed_area(square),
                "eigenvalues": lam, "eigenvectors": V}

    def build(self, fig) -> None:
        from matplotlib.collections import LineCollection
        from matplotlib.lines import Line2D
        from matplotlib.patches import Polygon

        ax = self.ax = fig.add_subplot()
        ax.set(xlim=(-self.LIM, self.LIM), ylim=(-self.LIM, self.LIM), aspect="equal", xlabel="$x_1$",
               ylabel="$x_2$")
        ax.axhline(0, color=PALETTE["grey"], lw=0.8)
        ax.axvline(0, color=PALETTE["grey"], lw=0.8)
        lines, _ = la.transform_grid(np.eye(2), lim=2.0, n_lines=9)
        ax.add_collection(LineCollection(lines, colors="#dddddd", linewidths=0.8, zorder=0))
        circle = la.unit_circle()
        ax.plot(circle[:, 0], circle[:, 1], color=PALETTE["grey"], ls="--", lw=1)
        self.grid = ax.add_collection(LineCollection(lines, colors=PALETTE["sky"], linewidths=1.0, zorder=1))
        self.square = ax.add_patch(Polygon(la.unit_square(), closed=True, alpha=0.35, lw=1.5, zorder=2))
        (self.ellipse,) = ax.plot([], [], color=PALETTE["orange"], lw=2, zorder=3)
        self.basis = ax.quiver([0, 0], [0, 0], [1, 0], [0, 1], color=[PALETTE["vermillion"], PALETTE["green"]],
                               angles="xy", scale_units="xy", scale=1, width=0.012, zorder=5)
        self.eig_lines = [ax.plot([], [], color=PALETTE["purple"], lw=2, ls=ls, zorder=4)[0] for ls in ("-", ":")]
        box = {"fc": "white", "ec": "none", "alpha": 0.85, "pad": 1.5}
        self.det_text = ax.text(0.03, 0.97, "", transform=ax.transAxes, ha="left", va="top", fontsize=12,
                                weight="bold", bbox=box, zorder=6)
        self.note = ax.text(0.03, 0.89, "", transform=ax.transAxes, ha="left", va="top", fontsize=10,
                            color=PALETTE["purple"], bbox=box, zorder=6)
        self.moving(self.grid, self.square, self.ellipse, self.basis, *self.eig_lines, self.det_text, self.note)
        handles = [Line2D([], [], color=PALETTE["sky"], label="grid after A"),
                   Line2D([], [], color=PALETTE["orange"], lw=2, label="image of unit circle"),
                   Line2D([], [], color=PALETTE["vermillion"], lw=2, label="$A e_1$"),
                   Line2D([], [], color=PALETTE["green"], lw=2, label="$A e_2$"),
                   Line2D([], [], color=PALETTE["purple"], lw=2, label="eigenvector directions")]
        # Under the plane: inside, the legend covered the grid and the eigenvector lines.
        fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=LEGEND_FONTSIZE, frameon=False,
                   columnspacing=1.0)

    def draw(self, data) -> None:
        A, det, lam, V = data["A"], data["det"], data["eigenvalues"], data["eigenvectors"]
        self.grid.set_segments(data["images"])
        self.ellipse.set_data(data["ellipse"][:, 0], data["ellipse"][:, 1])
        self.square.set_xy(data["square"])
        colour = PALETTE["blue"] if det > 1e-9 else PALETTE["vermillion"] if det < -1e-9 else PALETTE["grey"]
        self.square.set_facecolor(colour)
        self.square.set_edgecolor(colour)
        self.basis.set_UVC(A[0], A[1])  # the columns A e1, A e2
        self.det_text.set_text(f"det A = {_fmt(det)}  (signed shaded area)")
        self.det_text.set_color(colour)
        if V is None:
            for line in self.eig_lines:
                line.set_data([], [])
            self.note.set_text("complex eigenvalues: a rotation part")
            eig = f"λ = {_fmt(lam[0].real)} ± {_fmt(abs(lam[0].imag))}i (complex eigenvalues: a rotation part)"
        else:
            for line, v in zip(self.eig_lines, V.T):
                span = 2 * self.LIM * np.array([-1.0, 1.0])  # the whole line through 0 along v
                line.set_data(span * v[0], span * v[1])
            self.note.set_text("")
            eig = f"λ₁ = {_fmt(lam[0].real)}, λ₂ = {_fmt(lam[1].real)}"
        orientation = ("keeps orientation" if det > 1e-9 else "flips orientation" if det < -1e-9
                       else "squashes the plane")
        self.readout = (f"<b>det A = {_fmt(det)}</b> (signed area of the unit square's image: A {orientation}) "
                        f"&nbsp;·&nbsp; eigenvalues: {eig}")

    def on_pointer(self, ax, x: float, y: float) -> dict:
        """Dragging moves the nearer of the tips of A e1, A e2: that column of A follows the pointer
        (snapped to the sliders' 0.05 grid and range by :meth:`FigureWidget.pointer`)."""
        A = self.data["A"]
        j = int(np.argmin(np.hypot(A[0] - x, A[1] - y)))  # column j ends at (A[0, j], A[1, j])
        return {f"a1{j + 1}": x, f"a2{j + 1}": y}

    def controls(self) -> dict:
        import ipywidgets as w

        labels = {"a11": "a₁₁", "a12": "a₁₂", "a21": "a₂₁", "a22": "a₂₂"}
        return {key: w.FloatSlider(value=self.params[key], min=-2.0, max=2.0, step=0.05, description=label,
                                   continuous_update=True, readout_format=".2f")
                for key, label in labels.items()}


@functools.lru_cache(maxsize=1)
def digits_pca() -> tuple[np.ndarray, np.ndarray, la.PCA]:
    """scikit-learn's bundled digits ``(1797, 64)``, their labels, and their full PCA (computed once)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = digits.data.astype(np.float64)
    return X, digits.target, la.pca(X, X.shape[1])


@register_widget
class PCAExplorer(BlittedWidget):
    """PCA of 8x8 digit images: 2-D projection, reconstruction with k components, explained variance."""

    name = "01.pca_explorer"
    figsize = (9.0, 3.3)

    @classmethod
    def defaults(cls) -> dict:
        return {"k": 10, "index": 0}

    @staticmethod
    def compute(k: int, index: int) -> dict:
        """Reconstruct image ``index`` from its first ``k`` principal components.

        Returns a dict with ``scores2`` (1797, 2), ``labels`` (1797,), ``point`` (2,) the chosen
        image's coordinates, ``original``/``reconstruction`` (8, 8), ``cumulative`` (64,) the
        cumulative explained variance ratio, ``ratio`` its value at ``k``, ``error`` the relative
        reconstruction error, ``label`` the digit.
        """
        X, y, p = digits_pca()
        k, index = int(k), int(index)
        z = p.scores[index, :k]
        reconstruction = p.mean + z @ p.components[:k]  # x_hat = mean + sum_i z_i v_i
        cumulative = np.cumsum(p.explained_variance_ratio)
        centred = X[index] - p.mean
        return {"scores2": p.scores[:, :2], "labels": y, "point": p.scores[index, :2],
                "original": X[index].reshape(8, 8), "reconstruction": reconstruction.reshape(8, 8),
                "cumulative": cumulative, "ratio": float(cumulative[k - 1]), "k": k, "index": index,
                "label": int(y[index]),
                "error": float(np.linalg.norm(X[index] - reconstruction) / max(np.linalg.norm(centred), 1e-12))}

    def build(self, fig) -> None:
        X, y, p = digits_pca()
        gs = fig.add_gridspec(1, 4, width_ratios=[3.0, 1.2, 1.2, 2.6])
        ax = self.ax_scatter = fig.add_subplot(gs[0])
        ax.scatter(p.scores[:, 0], p.scores[:, 1], c=[DIGIT_COLOURS[c] for c in y], s=4, alpha=0.6, lw=0)
        for digit in range(10):  # label each class at its centre, instead of a ten-entry legend
            cx, cy = np.median(p.scores[y == digit, :2], axis=0)
            ax.text(cx, cy, str(digit), fontsize=11, weight="bold", ha="center", va="center",
                    color=DIGIT_COLOURS[digit], bbox={"fc": "white", "ec": "none", "alpha": 0.7, "pad": 0.5})
        self.marker = ax.scatter([0], [0], s=90, facecolor="none", edgecolor="black", lw=2)
        ax.set(xlabel="PC 1 score", ylabel="PC 2 score", title="2-D projection")
        self.images = []
        for i, title in enumerate(["original", "reconstruction"]):
            axi = fig.add_subplot(gs[1 + i])
            self.images.append(axi.imshow(np.zeros((8, 8)), cmap="gray_r", vmin=0, vmax=16))
            axi.set(xticks=[], yticks=[])
            axi.set_title(title)
            self.moving(self.images[-1], *axi.spines.values())  # spines after the image, on top of it
        self.recon_title = self.images[1].axes.title
        ax = self.ax_curve = fig.add_subplot(gs[3])
        ks = np.arange(1, 65)
        ax.plot(ks, np.cumsum(p.explained_variance_ratio), color=PALETTE["blue"], lw=2)
        ax.set(xlabel="components k", ylabel="cumulative explained variance", ylim=(0, 1.02), xlim=(0, 65),
               title="explained variance")
        ax.grid(alpha=0.3)
        (self.k_marker,) = ax.plot([], [], "o", color=PALETTE["vermillion"], ms=8)
        self.k_line = ax.axvline(1, color=PALETTE["vermillion"], lw=1, ls="--")
        self.moving(self.marker, self.recon_title, self.k_line, self.k_marker)

    def draw(self, data) -> None:
        self.marker.set_offsets(data["point"][None, :])
        self.images[0].set_data(data["original"])
        self.images[1].set_data(data["reconstruction"])
        self.recon_title.set_text(f"with k = {data['k']}")
        self.k_marker.set_data([data["k"]], [data["ratio"]])
        self.k_line.set_xdata([data["k"], data["k"]])
        self.readout = (f"<b>k = {data['k']}</b> components explain <b>{100 * data['ratio']:.1f}%</b> of the "
                        f"variance (explained variance ratio {data['ratio']:.4f}). Image #{data['index']} "
                        f"(a {data['label']}): relative reconstruction error {100 * data['error']:.1f}%.")

    def on_pointer(self, ax, x: float, y: float) -> dict | None:
        """A click on the scatter picks the nearest image; on the curve it sets k."""
        if ax is self.ax_scatter:
            scores = digits_pca()[2].scores[:, :2]
            return {"index": int(np.argmin(np.hypot(scores[:, 0] - x, scores[:, 1] - y)))}
        if ax is self.ax_curve:
            return {"k": int(np.clip(round(x), 1, 64))}
        return None

    def controls(self) -> dict:
        import ipywidgets as w

        X, _, _ = digits_pca()
        return {"k": w.IntSlider(value=self.params["k"], min=1, max=64, description="components k"),
                "index": w.IntSlider(value=self.params["index"], min=0, max=X.shape[0] - 1,
                                     description="image #")}


def _equation_line(row: np.ndarray, rhs: float, tol: float, far: float) -> tuple[str, np.ndarray]:
    """The solutions of one equation ``row @ x = rhs`` in the plane, for drawing.

    Returns ``("line", segment (2, 2))`` for a non-zero row (the point of the line closest to 0,
    plus and minus ``far`` along its direction), and for a row at or below ``tol`` (it counts as
    zero, as in the rank) ``("plane", nan)`` when 0 = rhs holds for every x or ``("empty", nan)``.
    """
    norm = float(np.linalg.norm(row))
    if norm <= tol:
        return ("plane" if rhs == 0 else "empty"), np.full((2, 2), np.nan)
    closest = rhs * row / norm**2
    direction = np.array([-row[1], row[0]]) / norm
    return "line", np.array([closest - far * direction, closest + far * direction])


@register_widget
class LinearSystemExplorer(BlittedWidget):
    """Solve A x = b in the plane: the row picture (one line per equation) and the column picture
    (b against the column space), with the rank, the solution set and least squares."""

    name = "01.linear_system"
    figsize = (8.4, 4.9)
    LIM = 4.0
    FAR = 100.0  # half-length of drawn lines: far outside the view, which clips them

    @classmethod
    def defaults(cls) -> dict:
        # Rank 1 (the second row is half the first) and b in the column space: a line of solutions.
        return {"a11": 1.0, "a12": 2.0, "a21": 0.5, "a22": 1.0, "b1": 2.0, "b2": 1.0}

    @staticmethod
    def compute(a11: float, a12: float, a21: float, a22: float, b1: float, b2: float) -> dict:
        r"""The solution set of :math:`\mathbf{A}\mathbf{x} = \mathbf{b}` for a 2x2 ``A``, for both pictures.

        Returns a dict with ``A`` (2, 2), ``b`` (2,); ``s`` (2,) the singular values and ``tol``
        the rank tolerance; ``solution`` the :class:`~course_lib.linalg.LinearSystem` (status,
        minimum-norm x, null-space basis (2, 2 - r), rank, residual); ``augmented_rank``, the
        rank of :math:`[\mathbf{A}\mid\beta\mathbf{b}]` (b scaled to the size of A); ``equations``, for each row the kind
        (``"line"``, ``"plane"``, ``"empty"``) and a segment (2, 2); ``solution_set`` (2, 2),
        the segment :math:`\hat{\mathbf{x}} \pm` far along the null space when r = 1 (nan
        otherwise); ``column_line`` (2, 2), the column space when r = 1 (nan otherwise);
        ``projection`` (2,), :math:`\mathbf{A}\hat{\mathbf{x}}`, the point of the column space
        closest to b.
        """
        A = np.array([[a11, a12], [a21, a22]], dtype=np.float64)
        b = np.array([b1, b2], dtype=np.float64)
        far = LinearSystemExplorer.FAR
        solution = la.solve_linear_system(A, b)
        s = np.linalg.svd(A, compute_uv=False)
        tol = la.rank_tolerance(s, A.shape)
        nan_segment = np.full((2, 2), np.nan)
        solution_set = column_line = nan_segment
        if solution.rank == 1:
            v0 = solution.null_basis[:, 0]
            solution_set = solution.x + np.outer([-far, far], v0)
            column_line = np.outer([-far, far], la.column_space(A)[:, 0])
        return {"A": A, "b": b, "s": s, "tol": tol, "solution": solution,
                "augmented_rank": solution.augmented_rank,
                "equations": [_equation_line(A[i], b[i], tol, far) for i in range(2)],
                "solution_set": solution_set, "column_line": column_line, "projection": A @ solution.x}

    def build(self, fig) -> None:
        from matplotlib.lines import Line2D
        from matplotlib.patches import Rectangle

        lim = self.LIM
        self.ax_row, self.ax_col = fig.subplots(1, 2)
        for ax, title, (xl, yl) in [(self.ax_row, "row picture: one line per equation", ("$x_1$", "$x_2$")),
                                    (self.ax_col, "column picture: $x_1 a_1 + x_2 a_2 = b$", ("$b_1$", "$b_2$"))]:
            ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xlabel=xl, ylabel=yl, title=title)
            ax.axhline(0, color=PALETTE["grey"], lw=0.8)
            ax.axvline(0, color=PALETTE["grey"], lw=0.8)
        ax = self.ax_row
        self.row_plane = ax.add_patch(Rectangle((-lim, -lim), 2 * lim, 2 * lim, color=PALETTE["purple"], alpha=0.2,
                                                lw=0, zorder=0))
        # Equation 2 dashed: when the two lines coincide (a rank-1 system with solutions) both stay visible.
        self.eq_lines = [ax.plot([], [], color=PALETTE[c], lw=2, ls=ls, zorder=2)[0]
                         for c, ls in (("blue", "-"), ("orange", (0, (4, 3))))]
        (self.sol_line,) = ax.plot([], [], color=PALETTE["purple"], lw=5, alpha=0.8, zorder=1)
        (self.sol_point,) = ax.plot([], [], "o", color="black", ms=7, zorder=4)
        box = {"fc": "white", "ec": "none", "alpha": 0.85, "pad": 1.5}
        self.status_text = ax.text(0.03, 0.97, "", transform=ax.transAxes, ha="left", va="top", fontsize=11,
                                   weight="bold", bbox=box, zorder=6)
        ax = self.ax_col
        self.col_plane = ax.add_patch(Rectangle((-lim, -lim), 2 * lim, 2 * lim, color=PALETTE["sky"], alpha=0.2,
                                                lw=0, zorder=0))
        (self.col_line,) = ax.plot([], [], color=PALETTE["sky"], lw=5, alpha=0.8, zorder=1)
        self.columns = ax.quiver([0, 0], [0, 0], [1, 0], [0, 1], color=[PALETTE["vermillion"], PALETTE["green"]],
                                 angles="xy", scale_units="xy", scale=1, width=0.012, zorder=3)
        (self.residual_line,) = ax.plot([], [], color="black", ls="--", lw=1.5, zorder=2)
        (self.b_point,) = ax.plot([], [], "s", color="black", ms=7, zorder=5)
        (self.proj_point,) = ax.plot([], [], "o", mfc="white", mec="black", mew=2, ms=8, zorder=4)
        self.col_text = ax.text(0.03, 0.97, "", transform=ax.transAxes, ha="left", va="top", fontsize=11,
                                weight="bold", bbox=box, zorder=6)
        # Blitting draws the moving artists in this order (not by zorder): back to front.
        self.moving(self.row_plane, self.sol_line, *self.eq_lines, self.sol_point, self.status_text,
                    self.col_plane, self.col_line, self.columns, self.residual_line, self.proj_point, self.b_point,
                    self.col_text)
        handles = [Line2D([], [], color=PALETTE["blue"], lw=2, label="equation 1"),
                   Line2D([], [], color=PALETTE["orange"], lw=2, ls=(0, (4, 3)), label="equation 2"),
                   Line2D([], [], color=PALETTE["purple"], lw=5, alpha=0.8, label="solutions (or least squares)"),
                   Line2D([], [], marker="o", color="black", lw=0, label="minimum-norm x̂"),
                   Line2D([], [], color=PALETTE["vermillion"], lw=2, label="$a_1$ (column 1)"),
                   Line2D([], [], color=PALETTE["green"], lw=2, label="$a_2$ (column 2)"),
                   Line2D([], [], color=PALETTE["sky"], lw=5, alpha=0.8, label="column space col(A)"),
                   Line2D([], [], marker="s", color="black", lw=0, label="b"),
                   Line2D([], [], marker="o", mfc="white", mec="black", mew=2, lw=0, label="A x̂, closest to b")]
        fig.legend(handles=handles, loc="outside lower center", ncols=5, fontsize=LEGEND_FONTSIZE, frameon=False,
                   columnspacing=1.0)

    def draw(self, data) -> None:
        A, b, sol, s, tol = data["A"], data["b"], data["solution"], data["s"], data["tol"]
        r, x = sol.rank, sol.x
        for line, (kind, segment) in zip(self.eq_lines, data["equations"]):
            line.set_data(segment[:, 0], segment[:, 1])  # nan (nothing drawn) unless kind == "line"
        every_x = r == 0  # 0 x = b: every x solves it (b = 0) or is a least-squares solution
        self.row_plane.set_visible(every_x)
        self.sol_line.set_data(data["solution_set"][:, 0], data["solution_set"][:, 1])
        self.sol_line.set_linestyle("-" if sol.status != "none" else (0, (2, 1)))
        self.sol_point.set_data([x[0]], [x[1]])
        self.col_plane.set_visible(r == 2)
        self.col_line.set_data(data["column_line"][:, 0], data["column_line"][:, 1])
        self.columns.set_UVC(A[0], A[1])  # the columns a_1, a_2
        p = data["projection"]
        self.b_point.set_data([b[0]], [b[1]])
        self.proj_point.set_data([p[0]], [p[1]])
        self.residual_line.set_data([p[0], b[0]], [p[1], b[1]])
        words = {"unique": "one solution", "none": "no solution: least squares",
                 "infinite": "infinitely many: a line" if r == 1 else "every x is a solution"}
        self.status_text.set_text(words[sol.status])
        self.col_text.set_text(f"rank A = {r}: col(A) is " + ("the plane" if r == 2 else "a line" if r == 1
                                                             else "the point 0"))
        vec = lambda v: f"({_fmt(v[0])}, {_fmt(v[1])})"  # noqa: E731
        zero = " and ".join(f"s{'₁₂'[i]}" for i in range(2) if s[i] <= tol) or "none"
        rank_line = (f"<b>rank A = {r}</b>: singular values s₁ = {s[0]:.3g}, s₂ = {s[1]:.3g}; those at or below "
                     f"tol = 2·ε<sub>mach</sub>·s₁ = {tol:.1e} count as 0 (here: {zero}). "
                     f"rank [A | b] = {data['augmented_rank']}.")
        null = (f"null(A) = span{{{', '.join(vec(v) for v in sol.null_basis.T)}}}" if r < 2 else "null(A) = {0}")
        if sol.status == "unique":
            verdict = f"b is in col(A) and null(A) = {{0}}: <b>one solution</b> x = {vec(x)}."
        elif sol.status == "infinite":
            verdict = (f"b is in col(A): <b>infinitely many solutions</b> x̂ + null(A), with the minimum-norm "
                       f"x̂ = {vec(x)} and {null}.")
        else:
            verdict = (f"b is not in col(A) (rank [A | b] > rank A): <b>no solution</b>. Least squares: x̂ = {vec(x)} "
                       f"minimizes ‖Ax − b‖ = {sol.residual:.3g}" + (f", and so does every x̂ + null(A), {null}."
                                                                       if r < 2 else "."))
        self.readout = f"{rank_line}<br>{verdict} Residual ‖Ax̂ − b‖ = {sol.residual:.2g}."

    def on_pointer(self, ax, x: float, y: float) -> dict | None:
        """A press on the column picture puts b there; on the row picture at a point p, it sets
        b = A p, so that p solves the system (up to the sliders' 0.05 grid)."""
        if ax is self.ax_col:
            return {"b1": x, "b2": y}
        if ax is self.ax_row:
            b = self.data["A"] @ np.array([x, y])
            return {"b1": float(b[0]), "b2": float(b[1])}
        return None

    def controls(self) -> dict:
        import ipywidgets as w

        labels = {"a11": "a₁₁", "a12": "a₁₂", "a21": "a₂₁", "a22": "a₂₂", "b1": "b₁", "b2": "b₂"}
        return {key: w.FloatSlider(value=self.params[key], min=-2.0, max=2.0, step=0.05, description=label,
                                   continuous_update=True, readout_format=".2f")
                for key, label in labels.items()}
