"""Chapter 05 widgets: the graph stepper's values and gradients (engine against the chain rule by hand),
its walk through the steps; the per-layer statistics against PyTorch and the textbook behaviours
(vanishing with sigmoid, stable with He + ReLU, exploding and vanishing with a bad scale); the view."""
from __future__ import annotations

import io
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.autograd import nn
from course_lib.widgets.base import all_widgets
from course_lib.widgets.ch05_backpropagation import (
    BATCH, CLASSES, GRAPH_OPS, LEAVES, N_STEPS, NODES, WIDTH, GradientNormsByDepth, GraphStepper, graph_step,
    layer_statistics, neuron_graph)

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
value = st.floats(-2, 2, allow_nan=False)


def pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def test_registered():
    widgets = all_widgets()
    assert widgets["05.graph_stepper"] is GraphStepper and widgets["05.gradient_norms"] is GradientNormsByDepth


# -- the graph stepper ------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(value, value, value, value)
def test_neuron_graph_is_the_chain_rule(w, x, b, y):
    values, grads = neuron_graph(w, x, b, y)
    a = np.tanh(w * x + b)
    assert np.isclose(values["L"], (a - y) ** 2) and np.isclose(values["u"], w * x)
    dz = 2 * (a - y) * (1 - a**2)
    expected = {"L": 1.0, "e": 2 * (a - y), "a": 2 * (a - y), "y": -2 * (a - y), "z": dz, "u": dz, "b": dz,
                "w": dz * x, "x": dz * w}
    for node, g in expected.items():
        assert np.isclose(grads[node], g, atol=1e-12), node


def test_the_walk_goes_forward_then_backward():
    values, grads = neuron_graph(0.8, 1.5, 0.1, 0.5)
    steps = [graph_step(s, values, grads) for s in range(N_STEPS)]
    assert [s["phase"] for s in steps] == ["inputs"] + ["forward"] * 5 + ["backward"] * 6
    assert steps[0]["known_values"] == set(LEAVES) and not steps[0]["known_grads"]
    for k, op in enumerate(GRAPH_OPS, start=1):  # forward: one new value per step, arrows into it
        assert steps[k]["known_values"] - steps[k - 1]["known_values"] == {op[0]}
        assert steps[k]["edges"] == [(i, op[0]) for i in op[2]]
        assert f"= {values[op[0]]:.3f}" in steps[k]["title"]
    assert steps[6]["known_grads"] == {"L"} and "∂L/∂L = 1" in steps[6]["title"]
    for k in range(7, N_STEPS):  # backward: arrows out of the op towards its inputs, which get gradients
        node, _, inputs, _, _ = GRAPH_OPS[N_STEPS - 1 - k]
        assert steps[k]["edges"] == [(node, i) for i in inputs]
        assert steps[k]["known_grads"] - steps[k - 1]["known_grads"] == set(inputs)
    assert steps[-1]["known_grads"] == set(NODES) and steps[-1]["known_values"] == set(NODES)
    assert graph_step(99, values, grads)["step"] == N_STEPS - 1 and graph_step(-3, values, grads)["step"] == 0


def test_backward_readout_multiplies_upstream_by_local():
    w = GraphStepper(step=9, w=0.8, x=1.5)  # backward through a = tanh z
    v, g = w.data["values"], w.data["grads"]
    numbers = [float(n) for n in re.findall(r"-?\d+\.\d+", w.data["detail"])]
    assert numbers[:3] == [round(g["a"], 3), round(1 - v["a"] ** 2, 3), round(g["z"], 3)]
    assert "(1 − a²)" in w.readout and "Step 9/11 (backward)" in w.readout


def test_graph_update_changes_png_and_fast_render_is_exact():
    w = GraphStepper()
    w.widget()
    first = w.png()
    w.update(step=10, w=-1.2)
    assert w.png() != first
    assert np.array_equal(pixels(w.png()), pixels(GraphStepper(step=10, w=-1.2, x=1.5).png()))
    w.update(step=0, w=0.8)
    assert np.array_equal(pixels(w.png()), pixels(first))


def test_graph_controls():
    w = GraphStepper()
    w.widget()
    controls = w._get_controls()
    assert list(controls) == ["step", "w", "x"] and controls["step"].max == N_STEPS - 1
    controls["step"].value = 4
    assert "Step 4/11 (forward)" in w._readout_view.value
    bundle = w._repr_mimebundle_()
    assert "image/png" in bundle and WIDGET_MIME in bundle


# -- gradient norms by depth --------------------------------------------------------------------------
def test_layer_statistics_match_pytorch():
    depth, activation, init, scale = 5, "tanh", "xavier", 1.5
    stats = layer_statistics(depth, activation, init, scale)
    model = nn.MLP([WIDTH] * depth + [CLASSES], activation, init=init, scale=scale, dtype=np.float64, rng=0)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((BATCH, WIDTH)), rng.integers(0, CLASSES, BATCH)
    h, weights = torch.from_numpy(X), []
    for k, layer in enumerate(model.linear_layers()):
        W = torch.tensor(layer.weight.data, requires_grad=True)
        h = h @ W.T + torch.from_numpy(layer.bias.data)
        weights.append(W)
        if k < depth - 1:
            h = torch.tanh(h)
    torch.nn.functional.cross_entropy(h, torch.from_numpy(y)).backward()
    assert np.allclose(stats["grad_norm"], [W.grad.norm().item() for W in weights], rtol=1e-10)
    assert stats["std"].shape == stats["delta_norm"].shape == (depth,)
    assert np.isclose(stats["std"][-1], h.detach().numpy().std())


@pytest.mark.parametrize("settings_,verdict", [
    ({"depth": 12, "activation": "sigmoid", "init": "pytorch", "scale": 1.0}, "vanishing"),
    ({"depth": 20, "activation": "relu", "init": "he", "scale": 1.0}, "stable"),
    ({"depth": 20, "activation": "tanh", "init": "xavier", "scale": 1.0}, "stable"),
    ({"depth": 20, "activation": "relu", "init": "he", "scale": 2.0}, "exploding"),
    ({"depth": 20, "activation": "relu", "init": "he", "scale": 0.5}, "vanishing"),
])
def test_the_textbook_behaviours(settings_, verdict):
    data = GradientNormsByDepth.compute(**settings_)
    assert data["verdict"] == verdict
    if verdict == "vanishing":
        assert np.all(np.diff(data["delta_norm"][:-1]) > 0)  # the error shrinks on its way to the input


def test_he_keeps_relu_spread_where_a_small_init_kills_it():
    he = layer_statistics(20, "relu", "he", 1.0)
    default = layer_statistics(20, "relu", "pytorch", 1.0)  # std 1/sqrt(3 n): too small for ReLU
    assert 0.3 < he["std"][-2] < 5 and default["std"][-2] < 0.1 * he["std"][-2]


def test_gradient_widget_view():
    w = GradientNormsByDepth()
    w.widget()
    controls = w._get_controls()
    assert list(controls) == ["depth", "activation", "init", "scale"]
    assert "vanishing" in w.readout and "12 layers, sigmoid, PyTorch default init × 1.00" in w.readout
    png = w.png()
    controls["activation"].value = "relu"
    controls["init"].value = "he"
    assert "stable" in w._readout_view.value and w.png() != png
    w.update(depth=30, scale=4.0)  # overflows far past the axes: clipped, no warning, a verdict
    assert w.data["verdict"] in ("exploding", "overflow")
    w.update(**GradientNormsByDepth.defaults())
    assert np.array_equal(pixels(w.png()), pixels(png))
