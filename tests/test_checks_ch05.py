"""Chapter 05 checks: hand-written backward passes and alternative correct answers (the engine,
PyTorch, einsum, loops) pass; stubs are "not attempted"; hard-coded and plausible wrong answers
fail with the hint aimed at that slip."""
import numpy as np
import torch
from check_contract import contract_tests

from course_lib.autograd import Tensor
from course_lib.autograd import functional as F
from course_lib.checks.ch05_backpropagation import _preorder  # the order a depth-first search first reaches
from course_lib.gradcheck import gradcheck, numerical_gradient
from course_lib.grading import run_check

SEEDS = [1, 2, 3, 4, 5]


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax_rows(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


# -- the solutions, written by hand as a learner would ----------------------------------------------
def neuron_backward(w, x, b, y):
    a = np.tanh(w @ x + b)
    dz = 2 * (a - y) * (1 - a**2)
    return dz * x, dz


def add_backward(X, b, dZ):
    db = dZ.sum(axis=tuple(range(dZ.ndim - b.ndim)))  # the leading axes b did not have
    db = db.sum(axis=tuple(i for i, n in enumerate(b.shape) if n == 1), keepdims=True)
    return dZ, db.reshape(b.shape)


def sum_backward(x, grad_out, axis, keepdims):
    if axis is not None and not keepdims:
        grad_out = np.expand_dims(grad_out, axis)
    return np.broadcast_to(grad_out, x.shape).copy()


def mean_backward(x, grad_out, axis):
    n = x.size if axis is None else x.shape[axis]
    g = grad_out if axis is None else np.expand_dims(grad_out, axis)
    return np.broadcast_to(g, x.shape) / n


def matmul_backward(A, B, dC):
    dA = dC @ B.T
    dB = np.swapaxes(A, -1, -2) @ dC
    return dA, dB.reshape(-1, *B.shape).sum(axis=0)


def softmax_ce_backward(Z, y):
    G = softmax_rows(Z)
    G[np.arange(len(y)), y] -= 1
    return G / len(y)


def two_layer_backward(X, y, W1, b1, W2, b2):
    A1 = X @ W1.T + b1
    H = np.maximum(A1, 0)
    dZ = softmax_ce_backward(H @ W2.T + b2, y)
    dA1 = (dZ @ W2) * (A1 > 0)
    return {"W1": dA1.T @ X, "b1": dA1.sum(axis=0), "W2": dZ.T @ H, "b2": dZ.sum(axis=0)}


def grad_relative_error(f, grad, x):
    return gradcheck(f, grad, x).relative_error


def init_std(scheme, fan_in, fan_out):
    return np.sqrt(2 / (fan_in + fan_out)) if scheme == "xavier" else np.sqrt(2 / fan_in)


# -- alternative correct answers ------------------------------------------------------------------------
def neuron_backward_engine(w, x, b, y):
    tw, tb = Tensor(w, requires_grad=True), Tensor(np.float64(b), requires_grad=True)
    (((tw @ Tensor(x) + tb).tanh() - y) ** 2).backward()
    return tw.grad, float(tb.grad)


def add_backward_torch(X, b, dZ):
    tX, tb = torch.tensor(X, requires_grad=True), torch.tensor(b, requires_grad=True)
    (tX + tb).backward(torch.tensor(dZ))
    return tX.grad.numpy(), tb.grad.numpy()


def matmul_backward_einsum(A, B, dC):
    dA = np.einsum("...mn,kn->...mk", dC, B)
    dB = np.einsum("bmk,bmn->kn", A.reshape(-1, *A.shape[-2:]), dC.reshape(-1, *dC.shape[-2:]))
    return dA, dB


def two_layer_backward_torch(X, y, W1, b1, W2, b2):
    params = [torch.tensor(p, requires_grad=True) for p in (W1, b1, W2, b2)]
    H = torch.relu(torch.tensor(X) @ params[0].T + params[1])
    torch.nn.functional.cross_entropy(H @ params[2].T + params[3], torch.tensor(y)).backward()
    return {k: p.grad.numpy() for k, p in zip(["W1", "b1", "W2", "b2"], params)}


def grad_relative_error_by_hand(f, grad, x, h=1e-5):
    n = np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(len(x))])
    a = grad(x)
    return np.linalg.norm(a - n) / max(np.linalg.norm(a), np.linalg.norm(n))


def topological(root):
    """Every node after all of its inputs: a depth-first search keeping an iterator over each open node's inputs."""
    order, seen, stack = [], {id(root)}, [(root, iter(root._prev))]
    while stack:
        node, inputs = stack[-1]
        for u in inputs:
            if id(u) not in seen:
                seen.add(id(u))
                stack.append((u, iter(u._prev)))
                break
        else:  # every input listed: the node can follow them
            stack.pop()
            order.append(node)
    return order


def one_pass(root, order, seed=np.ones_like, accumulate=True, leaves=True, intermediates=True):
    """The pass over ``order`` (the answer when ``order`` is reverse topological), and its slips."""
    grads = {id(root): seed(root.data)} if seed else {}
    for node in order:
        g = grads.get(id(node))
        if g is None:
            continue
        if node.requires_grad and (leaves if node._backward is None else intermediates):
            node.grad = g
        if node._backward is None:
            continue
        for u, g_u in zip(node._prev, node._backward(g)):
            if g_u is not None:
                grads[id(u)] = grads[id(u)] + g_u if accumulate and id(u) in grads else g_u


def backward(root):
    one_pass(root, reversed(topological(root)))


def backward_kahn(root):
    """Kahn's algorithm: a node is ready once all of its users have passed on their shares."""
    users = {}
    for node in topological(root):
        for u in node._prev:
            users[id(u)] = users.get(id(u), 0) + 1
    grads, ready = {id(root): np.ones_like(root.data)}, [root]
    while ready:
        node = ready.pop()
        node.grad = grads.pop(id(node))
        shares = node._backward(node.grad) if node._backward else ()
        for u, g_u in zip(node._prev, shares):
            if g_u is not None:
                grads[id(u)] = grads.get(id(u), 0) + g_u
        for u in node._prev:
            users[id(u)] -= 1
            if users[id(u)] == 0 and id(u) in grads:
                ready.append(u)


def recursive_order(root):
    """The chapter's recursive visit."""
    order, seen = [], set()

    def visit(v):
        if id(v) not in seen:
            seen.add(id(v))
            for u in v._prev:
                visit(u)
            order.append(v)

    visit(root)
    return order


def backward_recursive(root):
    """The chapter's recursive visit, with Python's recursion limit raised for deep graphs."""
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    try:
        order = recursive_order(root)
    finally:
        sys.setrecursionlimit(limit)
    one_pass(root, reversed(order))


def preorder_accumulating(root):
    """Processes the nodes in the order a depth-first search reaches them, adding late shares to .grad."""
    grads = {id(root): np.ones_like(root.data)}
    for node in _preorder(root):
        g = grads.get(id(node))
        if g is None:
            continue
        node.grad = g
        for u, g_u in zip(node._prev, node._backward(g) if node._backward else ()):
            if g_u is not None:
                grads[id(u)] = grads.get(id(u), 0) + g_u
                if u.grad is not None:  # u was processed already: its .grad still gets the late share
                    u.grad = u.grad + g_u


def every_path(root):
    """Correct sums, but one call per path from the root: exponential on a ladder."""
    def go(v, g):
        v.grad = g if v.grad is None else v.grad + g
        for u, g_u in zip(v._prev, v._backward(g) if v._backward else ()):
            if g_u is not None:
                go(u, g_u)
    go(root, np.ones_like(root.data))


# question id -> (reference, [alternative correct answers], hard-coded answer)
CORRECT = {
    "05.neuron_backward": (neuron_backward, [neuron_backward_engine], lambda w, x, b, y: (np.ones(3), 0.5)),
    "05.tanh_backward": (lambda x, g: g * (1 - np.tanh(x) ** 2), [lambda x, g: g / np.cosh(x) ** 2],
                         lambda x, g: np.ones(5)),
    "05.sigmoid_backward": (lambda x, g: g * sigmoid(x) * (1 - sigmoid(x)),
                            [lambda x, g: g * sigmoid(x) * sigmoid(-x), lambda x, g: g * np.exp(-x) / (1 + np.exp(-x)) ** 2],
                            lambda x, g: np.full(5, 0.25)),
    "05.relu_backward": (lambda x, g: g * (x > 0), [lambda x, g: np.where(x > 0, g, 0.0)], lambda x, g: np.ones(5)),
    "05.add_backward": (add_backward, [add_backward_torch], lambda X, b, dZ: (dZ, np.zeros(3))),
    "05.sum_backward": (sum_backward, [lambda x, g, axis, keepdims: np.ones_like(x) * (
        g if axis is None or keepdims else np.expand_dims(g, axis))], lambda x, g, axis, keepdims: np.ones((3, 3))),
    "05.mean_backward": (mean_backward, [lambda x, g, axis: np.ones_like(x) * (g if axis is None else np.expand_dims(
        g, axis)) / (x.size if axis is None else x.shape[axis])], lambda x, g, axis: np.full((3, 3), 1 / 9)),
    "05.matmul_backward": (matmul_backward, [matmul_backward_einsum], lambda A, B, dC: (np.eye(3), np.eye(3))),
    "05.softmax_ce_backward": (softmax_ce_backward, [
        lambda Z, y: (softmax_rows(Z) - np.eye(Z.shape[1])[y]) / len(y),
        lambda Z, y: [t.grad for t in [Tensor(Z, requires_grad=True)] if F.cross_entropy(t, y).backward() is None][0],
    ], lambda Z, y: np.zeros((4, 3))),
    "05.two_layer_backward": (two_layer_backward, [two_layer_backward_torch],
                              lambda X, y, W1, b1, W2, b2: {"W1": np.zeros((4, 3)), "b1": np.zeros(4),
                                                            "W2": np.zeros((3, 4)), "b2": np.zeros(3)}),
    "05.grad_relative_error": (grad_relative_error, [grad_relative_error_by_hand], lambda f, g, x: 1e-10),
    "05.init_std": (init_std, [lambda s, i, o: (2 / (i + o) if s == "xavier" else 2 / i) ** 0.5],
                    lambda s, i, o: 0.1),
    "05.backward": (backward, [backward_kahn, backward_recursive], lambda root: None),
}


def _no_mask_two_layer(X, y, W1, b1, W2, b2):
    A1 = X @ W1.T + b1
    dZ = softmax_ce_backward(np.maximum(A1, 0) @ W2.T + b2, y)
    grads = two_layer_backward(X, y, W1, b1, W2, b2)
    grads["W1"], grads["b1"] = (dZ @ W2).T @ X, (dZ @ W2).sum(axis=0)
    return grads


def _no_mean_two_layer(*args):
    return {k: len(args[1]) * v for k, v in two_layer_backward(*args).items()}


# question id -> [(wrong answer, a distinctive word of the hint it must get)]
WRONG = {
    "05.neuron_backward": [
        (lambda w, x, b, y: tuple(v / 2 for v in neuron_backward(w, x, b, y)), "factor 2"),
        (lambda w, x, b, y: (2 * (np.tanh(w @ x + b) - y) * x, 2 * (np.tanh(w @ x + b) - y)), "local derivative"),
        (lambda w, x, b, y: ((2 * (np.tanh(w @ x + b) - y) * (1 - (w @ x + b) ** 2)) * x,
                             2 * (np.tanh(w @ x + b) - y) * (1 - (w @ x + b) ** 2)), "OUTPUT"),
        (lambda w, x, b, y: tuple(-v for v in neuron_backward(w, x, b, y)), "sign"),
        (lambda w, x, b, y: (np.full(len(x), neuron_backward(w, x, b, y)[1]), neuron_backward(w, x, b, y)[1]),
         "input x"),
        (lambda w, x, b, y: neuron_backward(w, x, b, y)[0], "return dw, db"),
    ],
    "05.tanh_backward": [
        (lambda x, g: 1 - np.tanh(x) ** 2, "chain rule"),
        (lambda x, g: g * (1 - x**2), "not 1 - x^2"),
        (lambda x, g: g * (1 - np.tanh(x)), "square"),
    ],
    "05.sigmoid_backward": [
        (lambda x, g: sigmoid(x) * (1 - sigmoid(x)), "chain rule"),
        (lambda x, g: g * x * (1 - x), "not x(1 - x)"),
        (lambda x, g: g * sigmoid(x), "missing"),
    ],
    "05.relu_backward": [
        (lambda x, g: (x > 0).astype(float), "only the mask"),
        (lambda x, g: np.maximum(g, 0), "INPUT x"),
        (lambda x, g: g * (x >= 0), "ReLU'(0) = 0"),
    ],
    "05.add_backward": [
        (lambda X, b, dZ: (dZ, dZ), "SUMMED"),
        (lambda X, b, dZ: (dZ, add_backward(X, b, dZ)[1] * b.size / dZ.size), "do not average"),
        (lambda X, b, dZ: (dZ.sum(axis=0), add_backward(X, b, dZ)[1]), "not broadcast"),
    ],
    "05.sum_backward": [
        (lambda x, g, axis, keepdims: g, "broadcast grad_out back"),
        (lambda x, g, axis, keepdims: np.ones_like(x), "not just ones"),
        (lambda x, g, axis, keepdims: np.broadcast_to(g, x.shape) if g.shape == x.shape[1:] or g.ndim != 1
         else sum_backward(x, g, axis, keepdims), "expand_dims"),
    ],
    "05.mean_backward": [
        (lambda x, g, axis: sum_backward(x, g, axis, False), "1/N"),
        (lambda x, g, axis: sum_backward(x, g, axis, False) / x.size, "EACH mean"),
        (lambda x, g, axis: g, "Broadcast"),
    ],
    "05.matmul_backward": [
        (lambda A, B, dC: (dC @ B, matmul_backward(A, B, dC)[1]), "no transpose"),
        (lambda A, B, dC: (matmul_backward(A, B, dC)[0], np.swapaxes(A, -1, -2) @ dC), "SUM the per-matrix"),
        (lambda A, B, dC: (matmul_backward(A, B, dC)[0], matmul_backward(A, B, dC)[1] / (len(A) if A.ndim == 3 else 1)),
         "do not average"),
        (lambda A, B, dC: (matmul_backward(A, B, dC)[0], (dC.reshape(-1, dC.shape[-1]).T @ A.reshape(-1, A.shape[-1])).T
                           if A.shape[-1] == B.shape[-1] else np.zeros((5, 5))), "shape"),
    ],
    "05.softmax_ce_backward": [
        (lambda Z, y: len(y) * softmax_ce_backward(Z, y) if len(y) > 1 else np.zeros_like(Z), "MEAN"),
        (lambda Z, y: -softmax_ce_backward(Z, y), "sign"),
        (lambda Z, y: softmax_rows(Z) / len(y), "one-hot"),
    ],
    "05.two_layer_backward": [
        (_no_mean_two_layer, "1/N"),
        (_no_mask_two_layer, "mask"),
        (lambda *a: {k: (v.T if v.ndim == 2 else v) for k, v in two_layer_backward(*a).items()}, "transpose"),
        (lambda *a: [two_layer_backward(*a)[k] for k in ["W1", "b1", "W2", "b2"]], "dict"),
    ],
    "05.grad_relative_error": [
        (lambda f, g, x: np.linalg.norm(g(x) - numerical_gradient(f, x)), "absolute error"),
        (lambda f, g, x: gradcheck(f, g, x), "GradcheckResult"),
        (lambda f, g, x: np.max(np.abs(g(x) - numerical_gradient(f, x)) / np.abs(numerical_gradient(f, x))),
         "element-wise"),
    ],
    "05.init_std": [
        (lambda s, i, o: init_std(s, i, o) ** 2, "VARIANCE"),
        (lambda s, i, o: np.sqrt(1 / i) if s == "xavier" else init_std(s, i, o), "averages the fans"),
        (lambda s, i, o: np.sqrt(6 / (i + o)) if s == "xavier" else init_std(s, i, o), "BOUND"),
        (lambda s, i, o: np.sqrt(1 / i) if s == "he" else init_std(s, i, o), "factor 2"),
        (lambda s, i, o: np.sqrt(2 / o) if s == "he" else init_std(s, i, o), "fan_in"),
    ],
}


WRONG["05.backward"] = [
    (lambda root: one_pass(root, reversed(topological(root)), accumulate=False), "SUM"),
    (lambda root: one_pass(root, _preorder(root)), "reverse topological order"),
    (preorder_accumulating, "AFTER all of its inputs"),
    (lambda root: one_pass(root, topological(root)), "REVERSE"),
    (lambda root: one_pass(root, reversed(topological(root)), seed=None), "np.ones_like(root.data)"),
    (lambda root: one_pass(root, reversed(topological(root)), seed=np.zeros_like), "np.ones_like(root.data)"),
    (lambda root: one_pass(root, reversed(topological(root)), seed=np.copy), "scaled by the root's value"),
    (lambda root: one_pass(root, reversed(topological(root)), intermediates=False), "intermediate results too"),
    (lambda root: one_pass(root, reversed(topological(root)), leaves=False), "leaves too"),
    (lambda root: {id(v): v for v in topological(root)}, "dictionary"),
    (lambda root: root.backward(), "switches them off"),
    (every_path, "2^30"),
]


WRONG["05.backward"].append((lambda root: one_pass(root, reversed(recursive_order(root))), "stack of your own"))


def test_the_backward_check_restores_the_engine():
    """The check switches Tensor.backward and topological_order off while the learner's pass runs, and back on."""
    import course_lib.autograd as package
    from course_lib.autograd import graph

    saved = Tensor.backward, graph.topological_order, package.topological_order
    assert run_check("05.backward", lambda root: root.backward()).status == "failed"
    assert run_check("05.backward", backward).status == "passed"
    assert (Tensor.backward, graph.topological_order, package.topological_order) == saved


# The five contract tests: coverage, references and alternatives pass, stubs are "not attempted",
# hard-coded answers fail, each wrong answer gets its hint.
globals().update(contract_tests("05", CORRECT, WRONG, seeds=SEEDS, hard_coded_seeds=SEEDS[:3], min_questions=10))


def test_mutating_the_upstream_gradient_is_reported():
    def relu_backward_in_place(x, g):
        g[x <= 0] = 0.0
        return g

    result = run_check("05.relu_backward", relu_backward_in_place)
    assert result.status == "failed" and "in place" in result.message
