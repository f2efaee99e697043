r"""Chapter 13's graph convolutional network in PyTorch (Kipf & Welling 2017), on a dense propagation matrix,
and its semi-supervised training loop (a few labelled nodes, the rest predicted).

A layer maps node features :math:`\mathbf X` to :math:`\hat{\mathbf A}\mathbf X\mathbf W^\top + \mathbf b` with
:math:`\hat{\mathbf A} = \tilde{\mathbf D}^{-1/2}(\mathbf A + \mathbf I)\tilde{\mathbf D}^{-1/2}`
(:func:`course_lib.graphs.normalized_adjacency`); ``torch_geometric.nn.GCNConv`` computes the same from
``edge_index`` (``tests/test_autograd_gcn.py`` checks it). "The same network without the graph" is this
one with :math:`\hat{\mathbf A} = \mathbf I`: every node on its own, an MLP.
"""
from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["DenseGCNConv", "GCN", "train_node_classifier"]


class DenseGCNConv(torch.nn.Module):
    r""":math:`\mathbf Y = \hat{\mathbf A}\mathbf X\mathbf W^\top + \mathbf b`; ``weight`` (out, in) Glorot-uniform, ``bias`` zeros (PyG's init)."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True):
        super().__init__()
        bound = math.sqrt(6.0 / (in_channels + out_channels))
        self.weight = torch.nn.Parameter(torch.empty(out_channels, in_channels).uniform_(-bound, bound))
        self.bias = torch.nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        out = adj @ (x @ self.weight.T)
        return out if self.bias is None else out + self.bias


class GCN(torch.nn.Module):
    r"""``GCN([d, n_h, ..., K])``: graph convolutions with ReLU between them (and dropout, in training), logits out.

    Parameters
    ----------
    sizes : list of int
        Input features, hidden widths, classes.
    dropout : float
        Dropout on every layer's input (Kipf & Welling use 0.5).
    """

    def __init__(self, sizes, dropout: float = 0.5):
        super().__init__()
        if len(sizes) < 2:
            raise ValueError(f"a GCN needs at least an input and an output size; got {sizes}")
        self.layers = torch.nn.ModuleList(DenseGCNConv(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.dropout = dropout

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = torch.nn.functional.dropout(x, self.dropout, self.training)
            x = layer(x, adj)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x


def train_node_classifier(adj, X, y, train_idx, *, hidden: int = 16, epochs: int = 200, lr: float = 0.01,
                          weight_decay: float = 5e-4, dropout: float = 0.5, seed: int = 0) -> dict:
    r"""Semi-supervised node classification: a 2-layer :class:`GCN` trained with Adam on the labelled nodes only.

    Parameters
    ----------
    adj : ndarray, shape (N, N)
        The propagation matrix (:math:`\hat{\mathbf A}`, or the identity for the graph-free baseline).
    X : ndarray, shape (N, d)
        Node features.
    y : ndarray of int, shape (N,)
        Every node's class; only ``y[train_idx]`` is used for training.
    train_idx : sequence of int
        The labelled nodes.
    hidden, epochs, lr, weight_decay, dropout, seed
        Kipf & Welling's settings by default.

    Returns
    -------
    dict
        ``pred`` (N,), ``accuracy`` on the unlabelled nodes, ``loss`` per epoch, ``model``.
    """
    torch.manual_seed(seed)
    adj_t, X_t = torch.as_tensor(np.asarray(adj), dtype=torch.float32), torch.as_tensor(np.asarray(X), dtype=torch.float32)
    y_t, idx = torch.as_tensor(np.asarray(y), dtype=torch.long), torch.as_tensor(np.asarray(train_idx), dtype=torch.long)
    model = GCN([X_t.shape[1], hidden, int(y_t.max()) + 1], dropout=dropout)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    losses = []
    for _ in range(epochs):
        model.train()
        loss = torch.nn.functional.cross_entropy(model(X_t, adj_t)[idx], y_t[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        pred = model(X_t, adj_t).argmax(1).numpy()
    test = np.setdiff1d(np.arange(len(pred)), np.asarray(train_idx))
    return {"pred": pred, "accuracy": float((pred[test] == np.asarray(y)[test]).mean()), "loss": losses, "model": model}
