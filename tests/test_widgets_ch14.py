"""Chapter 14 widgets: the attack explorer shows course_lib.robustness's attack on the trained CNN (in the
eps-ball and the pixel range, the probabilities the network gives), the attribution viewer course_lib.explain's
maps (IG complete to rounding in float64, the randomized network's maps differ), both redraw on a move."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib import explain as E
from course_lib import robustness as R
from course_lib.models.digit_classifiers import digits01, trained
from course_lib.widgets.base import all_widgets
from course_lib.widgets.ch14_robustness_explainability_transfer import (EPS_GRID, AttackExplorer, AttributionMaps,
                                                                         attack_view, attribution_view)


def test_registered():
    widgets = all_widgets()
    assert widgets["14.attack"] is AttackExplorer and widgets["14.attributions"] is AttributionMaps


def test_attack_view_is_the_librarys_attack_on_the_trained_cnn():
    model = trained("cnn")
    _, _, X, y = digits01()
    for index, eps, attack in [(3, 0.1, "fgsm"), (7, 0.2, "pgd"), (0, 0.0, "pgd")]:
        d = attack_view(index, eps, attack)
        x, t = torch.tensor(X[index:index + 1]), torch.tensor(y[index:index + 1])
        if attack == "fgsm":
            np.testing.assert_array_equal(d["adv"], R.fgsm(model, x, t, eps)[0, 0].numpy())
        assert d["linf"] <= eps + 1e-6 and d["adv"].min() >= 0 and d["adv"].max() <= 1
        with torch.no_grad():
            p = torch.softmax(model(torch.tensor(d["adv"])[None, None]).double(), 1)[0].numpy()
        np.testing.assert_allclose(d["probs"], p, rtol=1e-5, atol=1e-7)
        assert d["label"] == y[index] and np.isclose(d["probs"].sum(), 1)
    assert attack_view(2, 0.0, "pgd")["linf"] == 0
    assert attack_view(0, 0.123)["eps"] == 0.12 and len(EPS_GRID) == 31
    with pytest.raises(ValueError, match="attack"):
        attack_view(0, 0.1, "cw")


def test_pgd_fools_more_digits_than_fgsm_at_the_largest_budget():
    eps = float(EPS_GRID[-1])
    fooled = {a: sum(attack_view(i, eps, a)["pred"] != attack_view(i, eps, a)["label"] for i in range(20))
              for a in ("fgsm", "pgd")}
    assert fooled["pgd"] >= fooled["fgsm"] and fooled["pgd"] >= 15, fooled


def test_attribution_view_is_the_librarys_maps():
    model = trained("cnn")
    _, _, X, y = digits01()
    for index, method in [(1, "saliency"), (4, "gradient_x_input"), (5, "integrated_gradients")]:
        d = attribution_view(index, method, "trained")
        ref = E.attribute(model, torch.tensor(X[index:index + 1]), int(y[index]), method, 0.0, 50)
        np.testing.assert_allclose(d["map"], ref[0, 0].detach().numpy(), rtol=1e-5, atol=1e-6)
        r = attribution_view(index, method, "randomized")
        assert not np.allclose(r["map"], d["map"]) and r["rank_corr"] == d["rank_corr"]
    # IG in float64 on the trained (ReLU) CNN, 50 steps: the completeness error is small against the logit gap
    d = attribution_view(5, "integrated_gradients")
    assert abs(d["ig_delta"]) < 0.05 * np.abs(d["map"]).sum(), d["ig_delta"]
    # saliency on a randomized network is a different map (Adebayo et al.'s check passes for it)
    assert np.mean([attribution_view(i, "saliency")["rank_corr"] for i in range(20)]) < 0.6


def test_widgets_redraw_on_a_move():
    w = AttackExplorer()
    before = w.png()
    w.update(eps=0.25)
    assert w.png() != before and "ε_adv = 0.25" in w.readout and "≤ ε_adv" in w.readout
    v = AttributionMaps()
    before = v.png()
    v.update(method="saliency", weights="randomized")
    assert v.png() != before and "randomized weights" in v.readout
    v.update(method="integrated_gradients", weights="trained")
    assert "completeness error" in v.readout
