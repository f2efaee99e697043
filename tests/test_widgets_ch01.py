"""Chapter 01 widgets: compute functions against linalg/NumPy, the view contract, the fast render."""
import io
import re

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from course_lib import linalg as la
from course_lib.widgets.base import all_widgets
from course_lib.widgets.ch01_linear_algebra import LinearSystemExplorer, MatrixOnPlane, PCAExplorer, digits_pca

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
entry = st.floats(-2, 2, allow_nan=False)


def pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


@pytest.fixture(scope="module")
def matrix_widget():
    return MatrixOnPlane()


@pytest.fixture(scope="module")
def pca_widget():
    return PCAExplorer()


def test_the_widgets_are_registered():
    widgets = all_widgets()
    assert widgets["01.matrix_2x2"] is MatrixOnPlane and widgets["01.pca_explorer"] is PCAExplorer
    assert widgets["01.linear_system"] is LinearSystemExplorer


# -- MatrixOnPlane --------------------------------------------------------------------------

@settings(deadline=None, max_examples=50)
@given(entry, entry, entry, entry)
# make fuzz: eigenvalues 1 and 3.9e-12; the eigenvector (b, lambda - a) was all rounding error
# (off by 1.5e-6); eig2x2 now takes the longer of its two candidate vectors.
@example(3.890382009071171e-12, 3.890382009071171e-12, 0.0, 1.0)
def test_matrix_compute_determinant_area_and_eigenpairs(a11, a12, a21, a22):
    data = MatrixOnPlane.compute(a11, a12, a21, a22)
    A = np.array([[a11, a12], [a21, a22]])
    assert np.isclose(data["det"], np.linalg.det(A), atol=1e-12)
    assert np.isclose(abs(data["area"]), abs(np.linalg.det(A)), atol=1e-12)  # area of the image of the square
    assert np.allclose(data["images"], data["lines"] @ A.T)
    assert np.allclose(data["ellipse"], la.unit_circle() @ A.T)
    assert np.isclose(np.prod(data["eigenvalues"]).real, data["det"], atol=1e-9)
    assert np.isclose(np.sum(data["eigenvalues"]).real, np.trace(A), atol=1e-9)
    if data["eigenvectors"] is None:
        assert np.all(np.abs(data["eigenvalues"].imag) > 0)
    else:
        V = data["eigenvectors"]
        assert np.allclose(A @ V, V * data["eigenvalues"].real, atol=1e-6)


def test_matrix_readout_shows_det_and_eigenvalues(matrix_widget):
    w = matrix_widget
    w.update(a11=1.0, a12=0.5, a21=0.0, a22=-2.0)
    det = np.linalg.det(w.data["A"])
    assert f"det A = {det:.2f}" in w.readout and "flips orientation" in w.readout
    assert "λ₁ = 1.00" in w.readout and "λ₂ = -2.00" in w.readout
    w.update(a11=0.0, a12=-1.0, a21=1.0, a22=0.0)  # a quarter turn
    assert "det A = 1.00" in w.readout and "complex eigenvalues: a rotation part" in w.readout
    w.update(a11=1.0, a12=2.0, a21=0.5, a22=1.0)  # singular
    assert "det A = 0.00" in w.readout and "-0.00" not in w.readout


def test_matrix_update_changes_png_and_readout(matrix_widget):
    w = matrix_widget
    w.update(**MatrixOnPlane.defaults())
    before_png, before_readout = w.png(), w.readout
    w.update(a11=-1.5)
    assert w.png() != before_png and w.readout != before_readout
    w.update(**MatrixOnPlane.defaults())
    assert np.array_equal(pixels(w.png()), pixels(before_png))  # nothing of the old frame is left


def test_matrix_controls_and_live_view(matrix_widget):
    w = matrix_widget
    box = w.widget()
    controls = w._get_controls()
    assert list(controls) == ["a11", "a12", "a21", "a22"]
    for key, control in controls.items():
        assert (control.min, control.max, control.step) == (-2.0, 2.0, 0.05)
        assert control.description == "a" + "".join("₀₁₂"[int(c)] for c in key[1:])
    before = w._readout_view.value
    controls["a11"].value = -0.75  # what a slider move in the browser does
    assert w._readout_view.value != before and "det A = " in w._readout_view.value
    assert "course-readout" in w._readout_view._dom_classes
    assert w.widget() is box
    bundle = w._repr_mimebundle_()
    assert "image/png" in bundle and WIDGET_MIME in bundle


# -- PCAExplorer ------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 2, 10, 64])
def test_pca_compute_matches_linalg(k):
    X, y, _ = digits_pca()
    data = PCAExplorer.compute(k=k, index=7)
    p = la.pca(X, k)
    assert np.isclose(data["ratio"], p.explained_variance_ratio.sum())
    assert np.allclose(data["reconstruction"].ravel(), p.inverse_transform(p.scores[7:8])[0])
    assert np.allclose(data["original"].ravel(), X[7]) and data["label"] == y[7]
    assert np.allclose(data["point"], la.pca(X, 2).scores[7])
    if k == 64:
        assert np.isclose(data["ratio"], 1.0) and data["error"] < 1e-10


def test_pca_error_shrinks_with_k():
    errors = [PCAExplorer.compute(k=k, index=3)["error"] for k in range(1, 65)]
    assert np.all(np.diff(errors) <= 1e-12)


def test_pca_update_changes_png_and_readout(pca_widget):
    w = pca_widget
    w.update(k=10, index=0)
    png, readout = w.png(), w.readout
    ratio = la.pca(digits_pca()[0], 10).explained_variance_ratio.sum()
    assert f"{ratio:.4f}" in readout
    w.update(k=3)
    assert w.png() != png and w.readout != readout
    w.update(index=100)
    assert re.search(r"Image #100 \(a \d\)", w.readout)
    # The fast render (background + moving artists) equals a fresh full render.
    assert np.array_equal(pixels(w.png()), pixels(PCAExplorer(k=3, index=100).png()))


def test_pca_controls_and_mimebundle(pca_widget):
    w = pca_widget
    w.widget()
    controls = w._get_controls()
    assert (controls["k"].min, controls["k"].max) == (1, 64)
    assert (controls["index"].min, controls["index"].max) == (0, 1796)
    bundle = w._repr_mimebundle_()
    assert "image/png" in bundle and WIDGET_MIME in bundle
    controls["k"].value = 20
    assert "<b>k = 20</b>" in w._readout_view.value


def test_digits_are_loaded_once():
    assert digits_pca() is digits_pca()


def _press(widget, ax, x, y):
    """Press at data point (x, y) of ``ax``, in browser pixels (origin top left)."""
    px, py = ax.transData.transform((x, y))
    return widget.pointer(px, widget.fig.canvas.get_width_height()[1] - py)


def test_dragging_a_basis_vector_sets_a_column():
    w = MatrixOnPlane()
    w.widget()
    changes = _press(w, w.ax, 0.1, 1.9)  # near the tip of A e2 = (0.6, 0.9)
    assert changes == {"a12": 0.1, "a22": 1.9}
    assert w._get_controls()["a12"].value == 0.1 and np.allclose(w.data["A"][:, 1], [0.1, 1.9])
    assert _press(w, w.ax, 3.0, -3.0) == {"a11": 2.0, "a21": -2.0}  # clipped to the sliders' range


def test_clicking_the_pca_figure_picks_image_and_k():
    w = PCAExplorer()
    w.widget()
    target = digits_pca()[2].scores[42, :2]
    assert _press(w, w.ax_scatter, *target) == {"index": 42}
    assert _press(w, w.ax_curve, 30.2, 0.5) == {"k": 30}
    assert w._get_controls()["k"].value == 30 and "<b>k = 30</b>" in w.readout


# -- LinearSystemExplorer ---------------------------------------------------------------------------

grid = st.integers(-40, 40).map(lambda k: k * 0.05)  # the sliders' values


def _on_segment(point, segment, atol=1e-9):
    """Whether ``point`` lies on the (long) line through ``segment``."""
    d = segment[1] - segment[0]
    rel = point - segment[0]
    return abs(d[0] * rel[1] - d[1] * rel[0]) <= atol * np.linalg.norm(d) * (1 + np.linalg.norm(rel))


@settings(deadline=None, max_examples=80)
@given(grid, grid, grid, grid, grid, grid, st.booleans())
def test_linear_system_compute_agrees_with_linalg_and_rouche_capelli(a11, a12, a21, a22, b1, b2, singular):
    if singular:  # make the second row a multiple of the first (a multiple on the grid), so rank <= 1
        a21, a22 = 0.5 * a11, 0.5 * a12
    data = LinearSystemExplorer.compute(a11, a12, a21, a22, b1, b2)
    A, b, sol = data["A"], data["b"], data["solution"]
    ref = la.solve_linear_system(A, b)
    assert (sol.status, sol.rank) == (ref.status, ref.rank) and np.allclose(sol.x, ref.x)
    assert sol.rank == np.linalg.matrix_rank(A)
    # Rouche-Capelli: a solution exists exactly when rank [A | b] = rank A (here b and A have comparable
    # sizes, so even the unscaled augmented matrix gives the same verdict).
    assert (sol.status != "none") == (data["augmented_rank"] == sol.rank) == \
        (la.rank(np.column_stack([A, b])) == sol.rank)
    # A x-hat is the point of col(A) closest to b: the residual is orthogonal to the columns.
    assert np.allclose(A.T @ (data["projection"] - b), 0.0, atol=1e-9)
    for kind, segment in data["equations"]:
        if kind == "line" and sol.status != "none":
            assert _on_segment(sol.x, segment)  # a solution satisfies every equation
    if sol.rank == 1:
        seg = data["solution_set"]
        for t in (0.0, 0.3, 1.0):  # every point of the drawn set has the same residual as x-hat
            point = seg[0] + t * (seg[1] - seg[0])
            assert np.isclose(np.linalg.norm(A @ point - b), sol.residual, atol=1e-8 * (1 + np.abs(point).max()))
        assert _on_segment(A @ np.array([1.0, -0.7]), data["column_line"])  # images lie in col(A)
    else:
        assert np.all(np.isnan(data["solution_set"])) and np.all(np.isnan(data["column_line"]))


def test_linear_system_readout_names_the_case():
    w = LinearSystemExplorer()
    assert "rank A = 1" in w.readout and "infinitely many solutions" in w.readout and "(here: s₂)" in w.readout
    w.update(b2=-1.0)  # off the column space: the two lines are parallel
    assert "no solution" in w.readout and "Least squares" in w.readout and "rank [A | b] = 2" in w.readout
    w.update(a21=-0.5)  # now invertible
    x = np.linalg.solve(w.data["A"], w.data["b"])
    assert "one solution" in w.readout and f"({x[0]:.2f}, {x[1]:.2f})" in w.readout and "(here: none)" in w.readout
    w.update(a11=0.0, a12=0.0, a21=0.0, a22=0.0, b1=0.0, b2=0.0)
    assert "rank A = 0" in w.readout and w.status_text.get_text() == "every x is a solution"
    w.update(b1=1.0)
    assert "no solution" in w.readout and w.row_plane.get_visible()


def test_linear_system_render_and_pointer():
    w = LinearSystemExplorer()
    w.widget()
    before = w.png()
    w.update(b1=-1.5)
    assert w.png() != before
    # The fast render (background + moving artists) equals a fresh full render.
    assert np.array_equal(pixels(w.png()), pixels(LinearSystemExplorer(b1=-1.5).png()))
    assert _press(w, w.ax_col, 1.0, -0.5) == {"b1": 1.0, "b2": -0.5}
    assert np.allclose(w.data["b"], [1.0, -0.5]) and w._get_controls()["b2"].value == -0.5
    w.update(a21=-0.5)  # invertible: a press at p in the row picture makes p the solution
    changes = _press(w, w.ax_row, 1.0, 0.5)
    assert changes == {"b1": 2.0, "b2": 0.0}  # A p = (1 + 1, -0.5 + 0.5)
    assert w.data["solution"].status == "unique" and np.allclose(w.data["solution"].x, [1.0, 0.5])
