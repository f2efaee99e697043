"""The engine's graph convolution (course_lib.autograd.gcn) against the dense formula, torch.autograd (float64,
rtol 1e-6), the shared gradient checker, PyTorch Geometric's GCNConv (weights copied) and chapter 13's
PyTorch layer (course_lib.models.gcn)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib import graphs
from course_lib.autograd import Tensor, nn
from course_lib.autograd.gcn import GCNConv, gcn_conv
from course_lib.gradcheck import gradcheck
from course_lib.models.gcn import GCN, DenseGCNConv, train_node_classifier

RTOL = 1e-6


def graph(n=7, seed=0):
    rng = np.random.default_rng(seed)
    A = np.triu(rng.random((n, n)) < 0.4, 1).astype(float)
    A = A + A.T
    A[3], A[:, 3] = 0, 0  # an isolated node
    return A, rng


@pytest.mark.parametrize("with_bias", [True, False])
def test_gcn_conv_matches_the_dense_formula_and_torch(with_bias):
    A, rng = graph()
    adj = graphs.normalized_adjacency(A)
    x, w, b = rng.standard_normal((7, 4)), rng.standard_normal((3, 4)), rng.standard_normal(3)
    tx, tw, ta = (Tensor(v, requires_grad=True) for v in (x, w, adj))
    tb = Tensor(b, requires_grad=True) if with_bias else None
    out = gcn_conv(tx, ta, tw, tb)
    np.testing.assert_allclose(out.data, adj @ x @ w.T + (b if with_bias else 0), rtol=1e-12)
    g = rng.standard_normal(out.shape)
    (out * Tensor(g)).sum().backward()
    rx, rw, ra = (torch.tensor(v, requires_grad=True) for v in (x, w, adj))
    rb = torch.tensor(b, requires_grad=True) if with_bias else None
    ref = ra @ rx @ rw.T + (rb if with_bias else 0)
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=RTOL)
    for ours, theirs in [(tx, rx), (tw, rw), (ta, ra)] + ([(tb, rb)] if with_bias else []):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=RTOL, atol=1e-12)


def test_gcn_conv_gradcheck():
    A, rng = graph(6, 1)
    adj = graphs.normalized_adjacency(A)
    x, w, b = rng.standard_normal((6, 3)), rng.standard_normal((2, 3)), rng.standard_normal(2)
    probe = rng.standard_normal((6, 2))

    def check(which, value):
        def f(v):
            args = [Tensor(x), Tensor(adj), Tensor(w), Tensor(b)]
            args[which] = Tensor(v)
            return float((gcn_conv(*args) * Tensor(probe)).sum().data)

        def grad(v):
            args = [Tensor(x), Tensor(adj), Tensor(w), Tensor(b)]
            args[which] = Tensor(v, requires_grad=True)
            (gcn_conv(*args) * Tensor(probe)).sum().backward()
            return args[which].grad
        return gradcheck(f, grad, value)

    for which, value in enumerate([x, adj, w, b]):
        result = check(which, value)
        assert result.relative_error <= 1e-7, (which, result.relative_error)


def test_engine_layer_matches_pyg_gcnconv():
    from torch_geometric.nn import GCNConv as PygGCNConv
    from torch_geometric.utils import dense_to_sparse

    A, rng = graph(9, 2)
    x = rng.standard_normal((9, 5))
    layer = GCNConv(5, 4, dtype=np.float64, rng=0)
    pyg = PygGCNConv(5, 4).double()
    with torch.no_grad():
        pyg.lin.weight.copy_(torch.tensor(layer.weight.data))
        pyg.bias.copy_(torch.tensor(rng.standard_normal(4)))
    layer.bias.data[:] = pyg.bias.detach().numpy()
    edge_index, _ = dense_to_sparse(torch.tensor(A))
    ref = pyg(torch.tensor(x), edge_index).detach().numpy()
    np.testing.assert_allclose(layer(Tensor(x), graphs.normalized_adjacency(A)).data, ref, rtol=RTOL, atol=1e-12)
    # PyTorch's dense layer, same weights
    dense = DenseGCNConv(5, 4).double()
    with torch.no_grad():
        dense.weight.copy_(pyg.lin.weight)
        dense.bias.copy_(pyg.bias)
    np.testing.assert_allclose(dense(torch.tensor(x), torch.tensor(graphs.normalized_adjacency(A))).detach().numpy(),
                               ref, rtol=RTOL, atol=1e-12)


def test_layer_is_reexported_and_trains():
    assert nn.GCNConv is GCNConv
    layer = GCNConv(3, 2, rng=0)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    bound = np.sqrt(6 / 5)
    assert np.abs(layer.weight.data).max() <= bound and not layer.bias.data.any()


def test_torch_gcn_on_karate_beats_the_graph_free_network():
    import networkx as nx

    G = nx.karate_club_graph()
    A = nx.to_numpy_array(G, weight=None)
    y = np.array([G.nodes[i]["club"] == "Officer" for i in range(34)], dtype=int)
    X = np.eye(34)
    gcn = train_node_classifier(graphs.normalized_adjacency(A), X, y, [0, 33], epochs=100, seed=0)
    mlp = train_node_classifier(np.eye(34), X, y, [0, 33], epochs=100, seed=0)
    assert gcn["accuracy"] >= 0.9 and gcn["loss"][-1] < gcn["loss"][0]
    # without the graph an unlabelled node's one-hot feature was never trained: all get one prediction
    assert len(set(mlp["pred"][1:33])) == 1 and mlp["accuracy"] == 0.5
    with pytest.raises(ValueError, match="at least"):
        GCN([4])


def test_bad_shapes():
    w = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match="does not fit|do not fit"):
        gcn_conv(Tensor(np.ones((4, 2))), np.eye(4), w)
    with pytest.raises(ValueError, match="propagation matrix"):
        gcn_conv(Tensor(np.ones((4, 3))), np.eye(3), w)
