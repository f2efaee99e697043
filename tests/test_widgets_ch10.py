"""Chapter 10 widgets: the gradient-flow curve is course_lib.recurrent's Jacobian norm (exactly rho^t for
the linear RNN); the LSTM-gate view shows the trained model's own gates, precomputed so a move only redraws."""
from __future__ import annotations

import numpy as np
import pytest

from course_lib import recurrent as R
from course_lib.widgets.base import all_widgets
from course_lib.widgets import ch10_recurrent_networks as W


def test_registered():
    widgets = all_widgets()
    assert widgets["10.gradient_flow"] is W.GradientFlow and widgets["10.lstm_gates"] is W.LSTMGates


@pytest.mark.parametrize("rho", [0.7, 1.0, 1.3])
def test_linear_flow_is_exactly_rho_to_the_t(rho):
    d = W.gradient_flow(rho, "linear", 2.0)
    np.testing.assert_allclose(d["norms"], rho ** np.arange(W.T_MAX + 1), rtol=1e-10)
    assert d["slope"] == pytest.approx(np.log(rho), abs=1e-10) and d["mean_dtanh"] == 1.0


def test_tanh_flow_is_the_jacobian_of_the_driven_rnn():
    d = W.gradient_flow(1.2, "tanh", 1.5)
    U, pattern, h0 = W._fixed_draws()
    np.testing.assert_allclose(d["norms"], R.jacobian_norms(1.2 * U, W.T_MAX, "tanh", 1.5 * pattern, h0))
    assert d["slope"] < np.log(1.2) and 0 < d["mean_dtanh"] < 1
    # More drive, more saturation, faster vanishing.
    assert W.gradient_flow(1.2, "tanh", 3.0)["slope"] < d["slope"]
    with pytest.raises(ValueError, match="spectral radius"):
        W.gradient_flow(0.0)


def test_flow_widget_moves_and_reads_out():
    w = W.GradientFlow()
    before = w.png()
    w.update(rho=1.1, activation="tanh")
    assert w.png() != before and "slope of log-norm" in w.readout and "tanh" in w.readout


def test_lstm_gate_view_is_the_trained_models_gates():
    from course_lib.corpus import load_corpus
    from course_lib.models.char_rnn import lstm_gates, trained_char_lm

    d = W.lstm_gate_view("docstring prose", "f", 3)
    text = W.SEQUENCES["docstring prose"]
    g = lstm_gates(trained_char_lm("cpu")["model"], load_corpus(), text)
    units = W._all_gates()["units"]
    np.testing.assert_allclose(d["values"][:, :len(text)], g["f"][:, units].T)
    assert np.isnan(d["values"][:, len(text):]).all()
    np.testing.assert_allclose(d["c"], g["c"][:, units[3]])
    assert d["max_h_error"] < 1e-4 and ((d["f"] > 0) & (d["f"] < 1)).all()
    with pytest.raises(ValueError, match="gate"):
        W.lstm_gate_view(gate="q")
    w = W.LSTMGates()
    before = w.png()
    w.update(sequence="quotes and brackets", gate="c")
    assert w.png() != before and "traced unit" in w.readout


def test_lstm_gate_backgrounds_follow_the_snippet_and_the_colour_range():
    w = W.LSTMGates()
    first = w.png()
    # Every snippet and colour range is rendered once, at the first view: no later move redraws the figure.
    assert set(w._backgrounds) == {(s, c) for s in W.SEQUENCES.values() for c in set(W.CLIMS.values())}
    text = W.SEQUENCES["code: def"]
    # The static colour bar differs between ranges, so a gate's heat map is never read against another's scale.
    assert bytes(w._backgrounds[(text, (0.0, 1.0))]) != bytes(w._backgrounds[(text, (-3.0, 3.0))])
    w.update(gate="c")
    assert w.png() != first
    w.update(sequence="parameters block")
    w.update(sequence="code: def", gate="f")
    assert w.png() == first  # back to the start: the same image, nothing stale
