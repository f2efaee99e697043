"""course_lib.graphs against networkx, scipy and PyTorch Geometric, and the properties the chapter states:
the Laplacian's quadratic form, the spectra's ranges, the GCN filter diagonal in the self-loop basis with
response 1 - lambda, isolated nodes, aggregation against PyG and permutation equivariance, Fiedler's split."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse.csgraph
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import graphs as g


def random_graph(n, p, seed, weighted=False):
    rng = np.random.default_rng(seed)
    A = np.triu(rng.random((n, n)) < p, 1).astype(float)
    if weighted:
        A *= rng.uniform(0.5, 3.0, A.shape)
    return A + A.T


def karate():
    return nx.to_numpy_array(nx.karate_club_graph(), weight=None)


@given(st.integers(2, 12), st.floats(0.0, 1.0), st.integers(0, 10_000), st.booleans())
@settings(max_examples=60)
def test_laplacians_match_networkx_and_scipy(n, p, seed, weighted):
    A = random_graph(n, p, seed, weighted)
    G = nx.from_numpy_array(A)
    np.testing.assert_allclose(g.laplacian(A), nx.laplacian_matrix(G, nodelist=range(n)).toarray(), atol=1e-12)
    np.testing.assert_allclose(g.normalized_laplacian(A), nx.normalized_laplacian_matrix(G, nodelist=range(n)).toarray(),
                               atol=1e-12)  # isolated nodes included: networkx's zero rows
    np.testing.assert_allclose(g.laplacian(A), scipy.sparse.csgraph.laplacian(A), atol=1e-12)
    x = np.random.default_rng(seed).standard_normal(n)
    quad = 0.5 * sum(A[i, j] * (x[i] - x[j]) ** 2 for i in range(n) for j in range(n))
    assert np.isclose(x @ g.laplacian(A) @ x, quad, rtol=1e-10, atol=1e-12)
    assert np.isclose(g.dirichlet_energy(x, g.laplacian(A)), quad, rtol=1e-10, atol=1e-12)
    lam, U = g.graph_fourier_basis(A)
    assert lam.min() > -1e-12 and lam.max() < 2 + 1e-12
    np.testing.assert_allclose(U.T @ U, np.eye(n), atol=1e-10)
    # zero eigenvalues = connected components
    assert np.sum(np.abs(np.linalg.eigvalsh(g.laplacian(A))) < 1e-9) == nx.number_connected_components(G)


@given(st.integers(1, 12), st.floats(0.0, 1.0), st.integers(0, 10_000))
@settings(max_examples=60)
def test_normalized_adjacency_is_the_gcn_matrix_with_isolated_nodes(n, p, seed):
    A = random_graph(n, p, seed)
    A_hat = g.normalized_adjacency(A)
    d = A.sum(1) + 1
    np.testing.assert_allclose(A_hat, (A + np.eye(n)) / np.sqrt(np.outer(d, d)), rtol=1e-12)
    assert np.all(np.isfinite(A_hat))
    iso = A.sum(1) == 0
    np.testing.assert_array_equal(np.diag(A_hat)[iso], 1.0)  # an isolated node keeps its own features
    np.testing.assert_allclose(A_hat, np.eye(n) - g.normalized_laplacian(A, self_loops=True), atol=1e-12)
    ev = np.linalg.eigvalsh(A_hat)
    assert ev.max() <= 1 + 1e-10 and ev.min() > -1


def test_normalized_adjacency_matches_pyg_gcn_norm():
    from torch_geometric.nn.conv.gcn_conv import gcn_norm
    from torch_geometric.utils import dense_to_sparse, to_dense_adj

    A = random_graph(9, 0.3, 4)
    A[2], A[:, 2] = 0, 0  # an isolated node
    edge_index, w = dense_to_sparse(torch.tensor(A))
    ei, ew = gcn_norm(edge_index, w, num_nodes=9, add_self_loops=True)
    np.testing.assert_allclose(g.normalized_adjacency(A), to_dense_adj(ei, edge_attr=ew, max_num_nodes=9)[0].numpy()
                               .T, atol=1e-12)


def test_frequency_response_is_one_minus_lambda_and_low_pass():
    A = karate()
    lam, r = g.gcn_frequency_response(A)
    np.testing.assert_allclose(r, 1 - lam, atol=1e-12)
    _, U = g.graph_fourier_basis(A, self_loops=True)
    M = U.T @ g.normalized_adjacency(A) @ U
    np.testing.assert_allclose(M, np.diag(np.diag(M)), atol=1e-12)  # diagonal: a filter
    assert np.isclose(r[0], 1) and np.all(np.abs(r[1:]) < 1)
    # without self-loops a bipartite graph (a path) has lambda = 2, which the filter I - L_sym passes flipped
    path = nx.to_numpy_array(nx.path_graph(6))
    assert np.isclose(g.graph_fourier_basis(path)[0].max(), 2)
    assert g.gcn_frequency_response(path)[0].max() < 2 - 1e-3


@pytest.mark.parametrize("how,aggr", [("sum", "sum"), ("mean", "mean"), ("max", "max")])
def test_aggregation_matches_pyg_and_is_permutation_equivariant(how, aggr):
    from torch_geometric.utils import dense_to_sparse, scatter

    A = random_graph(10, 0.3, 1)
    A[7], A[:, 7] = 0, 0
    X = np.random.default_rng(1).standard_normal((10, 3))
    edge_index, _ = dense_to_sparse(torch.tensor(A))
    src, dst = edge_index  # message j -> i with A_ij: dst = i (row), src = j
    ref = scatter(torch.tensor(X)[src], dst, dim=0, dim_size=10, reduce=aggr).numpy()
    np.testing.assert_allclose(g.aggregate(A, X, how), ref, atol=1e-12)
    perm = np.random.default_rng(2).permutation(10)
    P = g.permutation_matrix(perm)
    np.testing.assert_allclose(g.aggregate(P @ A @ P.T, P @ X, how), P @ g.aggregate(A, X, how), atol=1e-12)


def test_fiedler_vector_against_networkx_and_the_karate_split():
    A = karate()
    lam2, v = g.fiedler_vector(A)
    G = nx.from_numpy_array(A)
    assert np.isclose(lam2, nx.algebraic_connectivity(G, method="lanczos", tol=1e-12), rtol=1e-8)
    ref = nx.fiedler_vector(G, method="lanczos", tol=1e-12)
    assert min(np.abs(v - ref).max(), np.abs(v + ref).max()) < 1e-6
    labels = np.array([nx.karate_club_graph().nodes[i]["club"] == "Officer" for i in range(34)])
    pred = g.spectral_bipartition(A)
    assert max((pred == labels).mean(), (pred != labels).mean()) >= 0.9
    assert np.isclose(v @ g.laplacian(A) @ v, lam2) and abs(v.sum()) < 1e-10


def test_bad_input_gets_a_clear_message():
    with pytest.raises(ValueError, match="square"):
        g.normalized_adjacency(np.ones((2, 3)))
    with pytest.raises(ValueError, match="negative"):
        g.laplacian(-np.eye(2))
    with pytest.raises(ValueError, match="one row per node"):
        g.aggregate(np.eye(3), np.ones((2, 1)))
    with pytest.raises(ValueError, match="unknown aggregation"):
        g.aggregate(np.eye(3), np.ones((3, 1)), "median")
    with pytest.raises(ValueError, match="symmetric"):
        g.graph_fourier_basis(np.triu(np.ones((3, 3)), 1))
    with pytest.raises(ValueError, match="permutation"):
        g.permutation_matrix([0, 0, 1])
