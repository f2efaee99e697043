"""The backward pass as a whole: accumulation, shared subgraphs, repeated calls, no_grad, detach,
clear errors, and the dtype rules (float32 by default, float64 kept, no silent upcast)."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from course_lib.autograd import (Tensor, is_grad_enabled, no_grad, ones, randn, tensor, topological_order, unbroadcast,
                                zeros)
from course_lib.autograd import functional as F


def leaf(values, dtype=np.float64) -> Tensor:
    return Tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def count_backward_calls(node: Tensor) -> list:
    """Wrap ``node``'s backward closure so that its calls are counted."""
    calls, inner = [], node._backward

    def counted(g):
        calls.append(1)
        return inner(g)
    node._backward = counted
    return calls


# -- accumulation and the order of the pass --------------------------------------------------------
def test_a_tensor_used_twice_gets_the_sum_of_both_gradients():
    x = leaf([1.0, -2.0, 3.0])
    (x * x + x).sum().backward()  # d/dx (x^2 + x) = 2x + 1
    assert np.allclose(x.grad, 2 * x.data + 1)


def test_a_shared_subgraph_is_visited_once():
    x = leaf([0.3, -0.7])
    h = x.tanh()
    calls = count_backward_calls(h)
    out = (h * 2.0 + h * 3.0 + h.exp()).sum()
    out.backward()
    assert len(calls) == 1
    t = torch.tensor(x.data, requires_grad=True)
    th = torch.tanh(t)
    (th * 2.0 + th * 3.0 + th.exp()).sum().backward()
    assert np.allclose(x.grad, t.grad.numpy())


def test_doubling_fifty_times_is_fast_and_exact():
    """h = h + h fifty times: 2**50 paths from the output to x, but 51 nodes, each visited once."""
    x = leaf([1.0])
    h = x
    for _ in range(50):
        h = h + h
    start = time.perf_counter()
    h.sum().backward()
    assert x.grad[0] == 2.0**50 and time.perf_counter() - start < 0.5


def test_every_node_comes_after_all_of_its_inputs_in_the_order():
    x, w = leaf(np.ones(3)), leaf(np.ones(3))
    a = x * w
    b = a.exp() + a
    c = (b * a + x).sum()
    order = topological_order(c)
    position = {id(n): i for i, n in enumerate(order)}
    assert len(order) == len(position) == 8  # x, w, a, exp, +, *, +, sum: each once
    for node in order:
        assert all(position[id(p)] < position[id(node)] for p in node._prev)


def test_a_deep_chain_needs_no_recursion():
    x = leaf([0.5])
    h = x
    for _ in range(20_000):
        h = h * 1.0 + 0.0
    h.sum().backward()
    assert x.grad[0] == 1.0


def test_backward_twice_accumulates_into_leaves_as_in_pytorch():
    x = leaf([0.5, 1.5])
    h = x.tanh()
    y = (h * h).sum()
    y.backward()
    once = x.grad.copy()
    y.backward()
    t = torch.tensor(x.data, requires_grad=True)
    ty = (torch.tanh(t) ** 2).sum()
    ty.backward(retain_graph=True)
    ty.backward()
    assert np.allclose(x.grad, 2 * once) and np.allclose(x.grad, t.grad.numpy())
    # An intermediate keeps the latest pass's gradient, not a sum over passes.
    assert np.allclose(h.grad, 2 * h.data)


@pytest.mark.parametrize("clear", ["zero_grad", "None"])
def test_clearing_the_gradient_starts_afresh(clear):
    x = leaf([2.0])
    (x * 3.0).sum().backward()
    (x.zero_grad() if clear == "zero_grad" else setattr(x, "grad", None))
    (x * 3.0).sum().backward()
    assert x.grad.tolist() == [3.0]


def test_backward_with_an_explicit_gradient_is_a_vector_jacobian_product():
    x = leaf(np.arange(1.0, 4.0))
    v = np.array([1.0, -1.0, 2.0])
    (x ** 2).backward(v)
    assert np.allclose(x.grad, v * 2 * x.data)
    assert v.tolist() == [1.0, -1.0, 2.0]  # the caller's array is not modified or kept


def test_leaf_gradients_are_arrays_of_their_own():
    """A pass-through op (+) hands the same array on: each leaf must still own its .grad."""
    x, z = leaf(np.ones((2, 2))), leaf(np.ones((2, 2)))
    y = x + z
    y.backward(np.ones((2, 2)))
    assert x.grad is not z.grad and x.grad is not y.grad
    x.grad += 1.0  # an optimizer may update a gradient in place (clipping, weight decay)
    assert z.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]] and y.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    s = leaf([1.0, 2.0])
    s.sum().backward()  # the sum's gradient is a broadcast (read-only) view: the leaf gets a copy
    s.grad *= 2.0
    assert s.grad.tolist() == [2.0, 2.0]


def test_intermediate_gradients_can_be_inspected():
    w, x = leaf([2.0]), leaf([3.0])
    z = w * x
    loss = (z.tanh() - 1.0) ** 2
    loss.backward(np.ones(1))
    dz = 2 * (np.tanh(6.0) - 1.0) * (1 - np.tanh(6.0) ** 2)
    assert np.allclose(z.grad, dz) and np.allclose(w.grad, dz * 3.0) and np.allclose(x.grad, dz * 2.0)


def test_only_inputs_that_require_grad_get_one():
    W = leaf(np.ones((3, 2)))
    X = Tensor(np.ones((4, 2)))  # a data batch
    F.linear(X, W).sum().backward()
    (X @ W.T).sum().backward()
    assert X.grad is None and W.grad.shape == (3, 2)


# -- no_grad and detach ------------------------------------------------------------------------------
def test_no_grad_records_nothing_and_restores_the_mode():
    x = leaf([1.0, 2.0])
    with no_grad():
        assert not is_grad_enabled()
        y = x * 2.0 + 1.0
        with no_grad():
            pass
        assert not is_grad_enabled()
    assert is_grad_enabled()
    assert not y.requires_grad and y._prev == () and y.is_leaf
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()
    with pytest.raises(ValueError), no_grad():
        raise ValueError("inside")
    assert is_grad_enabled()


def test_no_grad_as_a_decorator_even_on_a_recursive_function():
    @no_grad()
    def evaluate(t, depth=3):
        return (t * t).sum() if depth == 0 else evaluate(t, depth - 1)

    assert not evaluate(leaf([3.0])).requires_grad and is_grad_enabled()


def test_detach_shares_data_and_stops_the_gradient():
    x = leaf([1.0, 2.0])
    d = x.detach()
    assert d.data is x.data and not d.requires_grad
    (x * d).sum().backward()  # d is a constant: d/dx (x * c) = c
    assert x.grad.tolist() == [1.0, 2.0]


def test_tensor_copies_its_input():
    a = np.ones(3)
    t = Tensor(a, requires_grad=True)
    t.data -= 1.0
    assert a.tolist() == [1.0, 1.0, 1.0]


# -- errors -------------------------------------------------------------------------------------------
def test_backward_on_a_non_scalar_needs_a_gradient():
    y = leaf(np.ones((2, 3))) * 2.0
    with pytest.raises(RuntimeError, match=r"scalar.*shape \(2, 3\).*\.sum\(\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"grad has shape \(3,\).*\(2, 3\)"):
        y.backward(np.ones(3))


def test_backward_through_a_tensor_that_does_not_require_grad():
    with pytest.raises(RuntimeError, match="does not require grad.*requires_grad=True"):
        (Tensor([1.0, 2.0]) * 3.0).sum().backward()


@pytest.mark.parametrize("a,b", [((3, 4), (5, 2)), ((4,), (3,)), ((2, 3), (2,)), ((2, 2, 3), (4, 3, 2))])
def test_matmul_shape_mismatch_names_both_shapes(a, b):
    with pytest.raises(ValueError, match="matmul") as info:
        leaf(np.ones(a)) @ leaf(np.ones(b))
    assert str(a) in str(info.value) and str(b) in str(info.value)


def test_other_misuse_is_explained():
    with pytest.raises(TypeError, match="same dtype.*float32.*float64"):
        leaf(np.ones((2, 2)), np.float32) @ leaf(np.ones((2, 2)))
    with pytest.raises(TypeError, match="float64.*float32.*astype"):
        F.linear(Tensor(np.ones((1, 2))), leaf(np.ones((3, 2)), np.float32))
    with pytest.raises(ValueError, match=r"\(1, 4\).*\(3, 2\)"):
        F.linear(Tensor(np.ones((1, 4))), leaf(np.ones((3, 2))))
    with pytest.raises(ValueError, match="0..2"):
        F.cross_entropy(leaf(np.zeros((2, 3))), [0, 3])
    with pytest.raises(ValueError, match=r"\(N, K\) and targets \(N,\)"):
        F.cross_entropy(leaf(np.zeros((2, 3))), [0, 1, 2])
    with pytest.raises(ValueError, match="mse"):
        F.mse(leaf(np.zeros(3)), np.zeros(4))


# -- dtypes ---------------------------------------------------------------------------------------------
def test_creation_dtypes():
    assert Tensor([1.0, 2.0]).dtype == np.float32  # as torch.tensor: Python floats give float32
    assert Tensor(3).dtype == np.float32 and Tensor(np.arange(3)).dtype == np.float32
    assert Tensor(np.ones(2)).dtype == np.float64  # a float64 array stays float64 (gradient checks)
    assert Tensor(np.ones(2, np.float32)).dtype == np.float32
    assert Tensor(np.ones(2), dtype=np.float32).dtype == np.float32
    assert tensor([1.0]).dtype == zeros(2, 3).dtype == ones((2,)).dtype == randn(2, rng=0).dtype == np.float32
    assert zeros(2, 3).shape == (2, 3) and ones((2,)).shape == (2,)


def test_constants_never_upcast_float32():
    x = leaf([1.0, 2.0], np.float32)
    c64 = np.array([0.5, 0.25])  # float64
    for y in [x * 2.0, 2.0 * x, x + c64, c64 - x, x / np.float64(3.0), x ** np.float64(2.0), np.float64(2.0) ** x,
              c64 @ x, F.where(x > 1.5, x, c64), F.mse(x, c64)]:
        assert y.dtype == np.float32, y
    (x * c64).sum().backward()
    assert x.grad.dtype == np.float32


def test_two_tensors_promote_as_in_pytorch_and_gradients_keep_each_dtype():
    x32, x64 = leaf([1.0, 2.0], np.float32), leaf([3.0, 4.0])
    y = x32 * x64
    expected = torch.tensor([1.0, 2.0], dtype=torch.float32) * torch.tensor([3.0, 4.0], dtype=torch.float64)
    assert str(y.dtype) == str(expected.dtype).removeprefix("torch.")
    y.sum().backward()
    assert x32.grad.dtype == np.float32 and x64.grad.dtype == np.float64
    assert np.allclose(x32.grad, [3.0, 4.0]) and np.allclose(x64.grad, [1.0, 2.0])
    z = x32.astype(np.float64)
    (z * z).sum().backward()
    assert z.dtype == np.float64 and x32.grad.dtype == np.float32


FLOAT32_OPS = {
    "arithmetic": lambda a, b: (a + b) * a - b / (1.5 + a * a) + a ** 2 + 2.0 ** a - (-b),
    "matmul": lambda a, b: a @ b.T,
    "elementwise": lambda a, b: a.exp() + (a * a + 1.0).log() + a.tanh() * b.sigmoid() + b.relu(),
    "reductions": lambda a, b: a.sum(axis=0) + a.mean(axis=0) + a.max(axis=0) + b.sum(),
    "shapes": lambda a, b: a.reshape(-1)[::2] + b.T.reshape(-1)[np.array([0, 0, 1])].sum() + a[a.data > 0].sum(),
    "functional": lambda a, b: (F.softmax(a) + F.log_softmax(a, axis=0) + F.where(a.data > 0, a, b)).sum()
    + F.cross_entropy(a, [0, 1, 2]) + F.mse(a, b) + F.concatenate([a, b]).sum() + F.stack([a, b]).mean()
    + F.linear(a, b, b[0]).sum(),
}


@pytest.mark.parametrize("name", list(FLOAT32_OPS))
def test_every_op_keeps_float32_and_agrees_with_float64(name):
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    grads = {}
    for dtype in (np.float32, np.float64):
        a, b = leaf(A, dtype), leaf(B, dtype)
        out = FLOAT32_OPS[name](a, b)
        out.backward(np.ones(out.shape))
        assert out.dtype == a.grad.dtype == b.grad.dtype == dtype
        grads[dtype] = (out.data, a.grad, b.grad)
    for x32, x64 in zip(grads[np.float32], grads[np.float64]):
        np.testing.assert_allclose(x32, x64, rtol=1e-4, atol=1e-5)


# -- small things -------------------------------------------------------------------------------------
def test_comparisons_are_plain_arrays_and_tensors_hash_by_identity():
    x = Tensor([1.0, 2.0, 3.0])
    for result in [x > 2.0, x <= 1.0, x == 2.0, x != 2.0, np.array([3.0, 2.0, 1.0]) < x, x >= x]:
        assert isinstance(result, np.ndarray) and result.dtype == bool
    assert (np.array([3.0, 2.0, 1.0]) < x).tolist() == [False, False, True]
    assert len({x, x.detach()}) == 2


def test_plain_attributes_and_repr():
    x = leaf(np.arange(6.0).reshape(2, 3))
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and len(x) == 2 and x.is_leaf
    assert float(x[1, 2]) == 5.0 and x[0, 1].item() == 1.0 and x.numpy() is x.data
    assert np.asarray(x).shape == (2, 3)
    assert "requires_grad=True" in repr(x) and "op='*'" in repr(x * 2.0)
    with pytest.raises(TypeError):
        np.exp(x)  # a NumPy function would silently drop the graph: use x.exp()


@pytest.mark.parametrize("grad_shape,shape,expected", [
    ((4, 3), (3,), lambda g: g.sum(axis=0)),
    ((4, 3), (1, 3), lambda g: g.sum(axis=0, keepdims=True)),
    ((4, 3), (4, 1), lambda g: g.sum(axis=1, keepdims=True)),
    ((2, 4, 3), (4, 3), lambda g: g.sum(axis=0)),
    ((2, 4, 3), (), lambda g: g.sum()),
    ((2, 4, 3), (2, 1, 3), lambda g: g.sum(axis=1, keepdims=True)),
    ((4, 3), (4, 3), lambda g: g),
])
def test_unbroadcast(grad_shape, shape, expected):
    g = np.random.default_rng(1).standard_normal(grad_shape)
    got = unbroadcast(g, shape)
    assert got.shape == shape and np.allclose(got, expected(g))
