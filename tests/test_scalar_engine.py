"""The micrograd-style scalar engine: each op's derivative, shared subgraphs, deep graphs, and a
small MLP whose gradients equal the tensor engine's."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.autograd import Tensor, nn
from course_lib.autograd import functional as F
from course_lib.autograd.scalar import ScalarMLP, Value, cross_entropy
from course_lib.gradcheck import gradcheck

OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** 3 + b ** -2.0,
    "exp, log": lambda a, b: (a.exp() + b * b).log() if isinstance(a, Value) else math.log(math.exp(a) + b * b),
    "tanh": lambda a, b: a.tanh() * b if isinstance(a, Value) else math.tanh(a) * b,
    "relu": lambda a, b: a.relu() + b.relu() if isinstance(a, Value) else max(a, 0.0) + max(b, 0.0),
    "constants": lambda a, b: 2.0 - a + 3.0 * b + 1.0 / b + a / 4.0 - (-a),
}


@pytest.mark.parametrize("name", list(OPS))
@settings(max_examples=30, deadline=None)
@given(a=st.floats(0.2, 2.0), b=st.floats(0.2, 2.0), signs=st.sampled_from([(1, 1), (1, -1), (-1, 1)]))
def test_each_op_against_central_differences(name, a, b, signs):
    op = OPS[name]
    a, b = a * signs[0], b * signs[1]
    if name == "exp, log" or name == "pow":
        a, b = abs(a), abs(b)
    va, vb = Value(a), Value(b)
    out = op(va, vb)
    out.backward()
    assert math.isclose(out.data, op(a, b), rel_tol=1e-12, abs_tol=1e-12)
    result = gradcheck(lambda x: op(float(x[0]), float(x[1])), np.array([va.grad, vb.grad]), np.array([a, b]))
    assert result, str(result)


def test_reuse_accumulates_and_shared_nodes_run_once():
    x = Value(0.5)
    h = x.tanh()
    calls, inner = [], h._backward
    h._backward = lambda: (calls.append(1), inner())
    y = h * h + h * 3.0
    y.backward()
    assert len(calls) == 1
    assert math.isclose(x.grad, (2 * math.tanh(0.5) + 3.0) * (1 - math.tanh(0.5) ** 2))


def test_a_deep_graph_needs_no_recursion():
    x = Value(1.0)
    y = x
    for _ in range(20_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == 1.0


def test_scalar_mlp_gradients_equal_the_tensor_engine():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((4, 3)), rng.integers(0, 2, 4)
    scalar = ScalarMLP([3, 5, 2], activation="tanh", seed=0)
    loss = sum((cross_entropy(scalar(list(map(float, x))), int(t)) for x, t in zip(X, y)), Value(0.0)) / len(X)
    loss.backward()

    model = nn.MLP([3, 5, 2], "tanh", dtype=np.float64)
    for layer, neurons in zip(model.linear_layers(), scalar.layers):  # copy the scalar weights in
        layer.weight.data[:] = [[w.data for w in n.w] for n in neurons]
        layer.bias.data[:] = [n.b.data for n in neurons]
    tloss = F.cross_entropy(model(Tensor(X)), y)
    tloss.backward()
    assert math.isclose(loss.data, tloss.item(), rel_tol=1e-12)
    for layer, neurons in zip(model.linear_layers(), scalar.layers):
        assert np.allclose(layer.weight.grad, [[w.grad for w in n.w] for n in neurons], rtol=1e-10)
        assert np.allclose(layer.bias.grad, [n.b.grad for n in neurons], rtol=1e-10)
    assert len(scalar.parameters()) == 3 * 5 + 5 + 5 * 2 + 2
    scalar.zero_grad()
    assert all(p.grad == 0.0 for p in scalar.parameters())


def test_repr():
    assert repr(Value(1.5)) == "Value(data=1.5, grad=0)"
