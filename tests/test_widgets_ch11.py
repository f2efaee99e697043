"""Chapter 11 widgets: the explorer's weights are course_lib.attention's softmax with the causal mask, each built
head shows its mechanism, temperature orders the entropy; the PE view's similarity depends on t - s only and its
shift error is rounding; bad settings are shown in the readout."""
from __future__ import annotations

import numpy as np

from course_lib import attention as A
from course_lib.widgets.base import all_widgets
from course_lib.widgets.ch11_attention_transformers import (
    HEADS, SENTENCE, T_MAP, AttentionMap, PESimilarity, attention_map, pe_view)


def test_registered():
    widgets = all_widgets()
    assert widgets["11.attention_map"] is AttentionMap and widgets["11.pe_similarity"] is PESimilarity


def test_weights_are_a_masked_softmax():
    for head in HEADS:
        d = attention_map(10, 1.0, head, causal=True)
        w = d["weights"]
        assert np.all(np.isnan(w[~A.causal_mask(T_MAP)])) and not np.any(np.isnan(w[A.causal_mask(T_MAP)]))
        np.testing.assert_allclose(np.nansum(w, axis=1), 1.0)
        assert np.all(d["row"][11:] == 0) and np.isclose(d["row"].sum(), 1)
        free = attention_map(10, 1.0, head, causal=False)
        assert not np.any(np.isnan(free["weights"])) and free["row"][11:].sum() > 0


def test_each_built_head_shows_its_mechanism():
    for t in range(1, T_MAP):
        assert attention_map(t, 1.0, HEADS[0])["top"][0] == t - 1     # previous token
        row = attention_map(t, 0.3, HEADS[1])["row"]                     # same character, sharpened
        same = [s for s in range(t + 1) if SENTENCE[s] == SENTENCE[t]]
        assert row[same].sum() > 0.99, (t, row[same])


def test_temperature_orders_the_entropy_and_tends_to_uniform():
    entropies = [attention_map(20, tau, HEADS[2])["entropy"] for tau in (0.1, 0.5, 1.0, 2.0, 50.0)]
    assert entropies == sorted(entropies)
    d = attention_map(20, 1e4, HEADS[2])
    assert abs(d["entropy"] - d["max_entropy"]) < 1e-3


def test_bad_settings_are_shown_in_the_readout():
    w = AttentionMap()
    w._apply({"temperature": 0.0})
    assert isinstance(w.error, ValueError) and "temperature" in w.readout
    w._apply({"temperature": 0.5, "head": HEADS[1]})
    assert w.error is None and "same character" in w.readout
    before = w.png()
    w.update(query=5)
    assert w.png() != before


def test_pe_view():
    d = pe_view(32, 1e4, 20, 5)
    cos = d["cos"]
    np.testing.assert_allclose(np.diag(cos), 1.0)
    np.testing.assert_allclose(cos[3:, 3:], cos[:-3, :-3], atol=1e-12)   # Toeplitz: a function of t - s
    assert d["shift_error"] < 1e-12 and np.isclose(d["cos_offset"], cos[20, 25])
    w = PESimilarity()
    w._apply({"d_model": 7})
    assert isinstance(w.error, ValueError)
    w._apply({"d_model": 8, "offset": 60})   # t + k past the picture: the check still runs
    assert w.error is None and "M<sub>k</sub>" in w.readout
