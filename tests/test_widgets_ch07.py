"""Chapter 07 widgets and experiment: their compute functions agree with course_lib.regularization,
the views move artists and change readout and image, dragging moves the unpenalized minimum, and
the digits experiment trains, records its curves and switches layers between train and eval."""
from __future__ import annotations

import io

import numpy as np
import pytest

from course_lib import regularization as R
from course_lib.widgets.base import all_widgets
from course_lib.widgets.ch07_regularization import (
    LAMS,
    MAX_DEGREE,
    ActivationStats,
    ConstraintGeometry,
    PolynomialFit,
    _poly_data,
    activation_stats,
    constraint_geometry,
    polynomial_fit,
)


def pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def test_the_three_widgets_are_registered():
    widgets = all_widgets()
    assert widgets["07.polynomial_fit"] is PolynomialFit and widgets["07.constraint_geometry"] is ConstraintGeometry
    assert widgets["07.activation_stats"] is ActivationStats


# -- polynomial fit ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("degree,lam,n", [(3, 1e-6, 20), (12, 1e-2, 40), (0, 1.0, 5)])
def test_polynomial_fit_is_ridge_on_legendre_features(degree, lam, n):
    d = polynomial_fit(degree, lam, n)
    data = _poly_data()
    w = R.ridge(R.polynomial_features(data["x"][:n], degree), data["y"][:n], lam)
    assert np.allclose(d["w"], w) and np.allclose(d["fit"], R.polynomial_features(d["grid"], degree) @ w)
    val = np.mean((R.polynomial_features(data["xv"], degree) @ w - data["yv"]) ** 2)
    assert np.isclose(d["val_mse"], val) and np.isclose(d["by_degree"][degree, 1], val)
    assert d["by_degree"].shape == (MAX_DEGREE + 1, 2) and d["by_lam"].shape == (len(LAMS), 2)


def test_overfitting_shows_in_the_curves():
    d = polynomial_fit(9, 1e-8, 20)
    train, val = d["by_degree"].T
    assert np.all(np.diff(train) <= 1e-9)  # more degrees never fit the training points worse
    assert val[12] > 10 * val.min()  # but high degrees generalize badly
    assert polynomial_fit(12, 1e-2, 20)["val_mse"] < polynomial_fit(12, 1e-8, 20)["val_mse"] / 10  # lambda helps
    assert polynomial_fit(12, 1e-8, 100)["val_mse"] < polynomial_fit(12, 1e-8, 20)["val_mse"]  # so does data


def test_polynomial_view_updates():
    w = PolynomialFit()
    w.widget()
    readout, png = w.readout, w.png()
    w._get_controls()["lam"].value = 1e-2
    assert w.readout != readout and w.png() != png and f"{w.data['val_mse']:.4f}" in w.readout
    assert np.array_equal(pixels(w.png()), pixels(PolynomialFit(lam=1e-2).png()))


# -- constraint geometry -------------------------------------------------------------------------------------
def test_the_solutions_touch_their_ball_and_l1_finds_zeros():
    d = constraint_geometry(1.0, 2.0, 0.4, 20.0)
    assert d["l1"]["zeros"] == 1 and d["l1"]["w"][1] == 0.0 and d["l2"]["zeros"] == 0
    for norm, p in [("l2", 2), ("l1", 1)]:
        w, ball = d[norm]["w"], d[norm]["ball"]
        assert np.isclose(np.linalg.norm(w, p), d[norm]["radius"])
        assert np.allclose(np.linalg.norm(ball, p, axis=0), d[norm]["radius"])  # the ball's boundary
        # w* minimizes the loss over the ball: no boundary point does better
        a = np.radians(20.0)
        Rm = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        H = Rm @ np.diag([1.0, 4.0]) @ Rm.T
        loss = lambda v: 0.5 * np.einsum("i...,ij,j...->...", v - d["w_ls"][:, None], H, v - d["w_ls"][:, None])  # noqa
        assert loss(ball).min() >= d[norm]["loss"] - 1e-6
        contour = d[norm]["contours"][0]  # the level through w*
        assert np.allclose(loss(contour), d[norm]["loss"])
    assert np.allclose(d["l2"]["path"][0], R.quadratic_penalized(H, d["w_ls"], 0.01, "l2"))


def test_dragging_moves_the_unpenalized_minimum():
    w = ConstraintGeometry()
    w.widget()
    png = w.png()
    ax = w.axes["l1"]
    px, py = ax.transData.transform((-1.0, 2.0))
    changes = w.pointer(px, w.fig.canvas.get_width_height()[1] - py)
    assert changes and abs(changes["w1"] + 1.0) < 0.05 and abs(changes["w2"] - 2.0) < 0.05
    assert abs(w._get_controls()["w1"].value - changes["w1"]) < 0.03
    assert w.png() != png and np.allclose(w.data["w_ls"], [changes["w1"], changes["w2"]])
    assert f"({changes['w1']:.2f}, {changes['w2']:.2f})" in w.readout


# -- activations ---------------------------------------------------------------------------------------------
def test_batch_norm_keeps_the_spread_and_small_weights_shrink_it():
    plain = activation_stats("tanh", 0.5)
    normed = activation_stats("tanh", 0.5, batch_norm=True)
    assert plain["std"][-1] < plain["std"][0] / 2  # small weights: the signal fades with depth
    assert np.ptp(normed["std"]) < 0.1 and normed["std"].min() > 0.5  # batch norm restores it at every layer
    big = activation_stats("tanh", 3.0)
    assert big["saturated"][-1] > 0.2  # large weights: tanh units stuck at +-1
    relu = activation_stats("relu", 1.0)
    assert relu["std"][-1] < relu["std"][0]
    for d in (plain, normed, big, relu):
        widths = np.diff(d["bins"])
        assert np.allclose((d["hist"] * widths).sum(axis=1), 1)  # densities


def test_dropout_preserves_the_mean_of_the_first_layer_and_is_off_in_eval():
    d = activation_stats("relu", 1.0, dropout=0.5)
    assert abs(d["mean_train"][0] - d["mean_eval"][0]) < 0.1 * d["mean_eval"][0]
    ev = activation_stats("relu", 1.0, dropout=0.5, training=False)
    plain = activation_stats("relu", 1.0, training=False)
    assert np.allclose(ev["std"], plain["std"])  # evaluation mode: no dropout


def test_activation_statistics_are_computed_once_per_setting():
    """The slowest widget under load (issue 8): a setting seen before, or the other mode, costs no pass."""
    first = activation_stats("tanh", 1.3, batch_norm=True, dropout=0.25)
    again = activation_stats("tanh", 1.3, batch_norm=True, dropout=0.25)
    assert again["hist"] is first["hist"] and not first["hist"].flags.writeable  # shared, so read-only
    ev = activation_stats("tanh", 1.3, batch_norm=True, dropout=0.25, training=False)
    assert ev["mean"] is first["mean_eval"] and ev["mean_train"] is first["mean"]
    # Without batch norm or dropout both modes are the same network: one pass serves both.
    plain, plain_eval = activation_stats("relu", 0.7), activation_stats("relu", 0.7, training=False)
    assert plain_eval["hist"] is plain["hist"] and np.array_equal(plain["mean_eval"], plain["mean_train"])


def test_activation_view_updates_and_redraws_only_on_a_new_activation():
    w = ActivationStats()
    w.widget()
    readout, png = w.readout, w.png()
    w._get_controls()["batch_norm"].value = True
    assert w.readout != readout and w.png() != png and "batch norm" in w.title.get_text()
    w._get_controls()["activation"].value = "relu"
    assert w.ax.get_xlim() == (0.0, 3.0)
    assert np.array_equal(pixels(w.png()), pixels(ActivationStats(batch_norm=True, activation="relu").png()))


# -- the digits experiment -----------------------------------------------------------------------------------
def test_the_digits_experiment_trains_and_records():
    from course_lib.regularization_experiment import digits_split, evaluate, make_model, train_classifier

    data = digits_split(100, 100, seed=1)
    assert data[0].shape == (100, 64) and data[2].shape == (100, 64) and data[0].dtype == np.float32
    model = make_model(hidden=(32,), batch_norm=True, dropout=0.3, seed=0)
    hist = train_classifier(model, data, epochs=5, batch_size=25, lr=1e-2, augment=True)
    assert len(hist.train_loss) == len(hist.val_acc) == 6
    assert hist.train_loss[-1] < hist.train_loss[0] and hist.val_acc[-1] > 0.5
    assert model[1].training and model[3].training  # back in training mode after each evaluation
    again = train_classifier(make_model(hidden=(32,), batch_norm=True, dropout=0.3, seed=0), data, epochs=5,
                             batch_size=25, lr=1e-2, augment=True)
    assert np.allclose(again.val_loss, hist.val_loss)  # seeded: repeatable
    loss, acc = evaluate(model, *data[2:])
    assert np.isclose(loss, hist.val_loss[-1]) and np.isclose(acc, hist.val_acc[-1])


def test_early_stopping_in_training_restores_the_best_weights():
    from course_lib.regularization_experiment import digits_split, evaluate, make_model, train_classifier

    data = digits_split(150, 200, seed=2)
    model = make_model(hidden=(64,), batch_norm=True, seed=1)
    hist = train_classifier(model, data, epochs=200, batch_size=50, lr=1e-2, patience=5)
    assert hist.stopped_at is not None and hist.stopped_at - hist.restored == 5
    assert len(hist.val_loss) == hist.stopped_at + 1
    assert hist.restored == int(np.argmin(hist.val_loss))
    loss, acc = evaluate(model, *data[2:])  # the model now holds the best epoch's weights and statistics
    assert np.isclose(loss, hist.val_loss[hist.restored]) and np.isclose(acc, hist.val_acc[hist.restored])
