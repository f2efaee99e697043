"""Chapter 13 checks: references and alternative correct answers pass, stubs are "not attempted", hard-coded
and plausible wrong answers fail with the hint aimed at that slip (self-loops, symmetric normalization, the
adjoint's sign and transpose among them). The adjoint references are checked against finite differences."""
import networkx as nx
import numpy as np
import scipy.linalg
import scipy.sparse.csgraph
import torch

from check_contract import contract_tests
from course_lib import graphs as G
from course_lib import neural_ode as N
from course_lib.checks import ch13_graphs_and_continuous_depth as C13

SEEDS = [1, 2, 3, 4, 5]


# -- references and alternatives, in the learner's signatures ------------------------------------------------
def laplacian_nx(A):
    return nx.laplacian_matrix(nx.from_numpy_array(A), nodelist=range(len(A))).toarray().astype(float)


def norm_adj_loops(A):
    n = len(A)
    At = A + np.eye(n)
    d = At.sum(1)
    return np.array([[At[i, j] / np.sqrt(d[i] * d[j]) for j in range(n)] for i in range(n)])


def norm_adj_pyg(A):
    from torch_geometric.nn.conv.gcn_conv import gcn_norm
    from torch_geometric.utils import dense_to_sparse, to_dense_adj

    ei, w = dense_to_sparse(torch.tensor(A))
    ei, w = gcn_norm(ei, w, num_nodes=len(A), add_self_loops=True)
    return to_dense_adj(ei, edge_attr=w, max_num_nodes=len(A))[0].numpy().T


def mean_loops(A, X):
    out = np.zeros_like(X)
    for i in range(len(A)):
        nb = np.flatnonzero(A[i])
        if len(nb):
            out[i] = (A[i, nb, None] * X[nb]).sum(0) / A[i].sum()
    return out


def max_loops(A, X):
    out = np.zeros_like(X)
    for i in range(len(A)):
        nb = np.flatnonzero(A[i])
        if len(nb):
            out[i] = X[nb].max(0)
    return out


def dirichlet_edges(A, X):
    return 0.5 * sum(A[i, j] * np.sum((X[i] - X[j]) ** 2) for i in range(len(A)) for j in range(len(A)))


def fiedler_nx(A):
    return nx.algebraic_connectivity(nx.from_numpy_array(A), method="lanczos", tol=1e-12)


def response_eigs(A):
    return np.sort(np.linalg.eigvalsh(G.normalized_adjacency(A)))[::-1]


def gcn_layer(A, X, W, b):
    return G.normalized_adjacency(A) @ X @ W.T + b


def gcn_layer_torch(A, X, W, b):
    P = torch.tensor(norm_adj_loops(A))
    return (P @ torch.tensor(X) @ torch.tensor(W).T + torch.tensor(b)).numpy()


def input_grad_torch(P, X, W, g):
    x = torch.tensor(X, requires_grad=True)
    (torch.tensor(P) @ x @ torch.tensor(W).T).backward(torch.tensor(g))
    return x.grad.numpy()


def rk4(f, t, y, dt):
    k1 = f(t, y)
    k2 = f(t + dt / 2, y + dt / 2 * k1)
    k3 = f(t + dt / 2, y + dt / 2 * k2)
    k4 = f(t + dt, y + dt * k3)
    return y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def rk4_via_course_lib(f, t, y, dt):
    g = lambda tt, yy: torch.as_tensor(f(float(tt), yy.numpy()))  # noqa: E731
    return (torch.tensor(y) + N.rk4_classic_step(g, torch.tensor(t, dtype=torch.float64), dt, torch.tensor(y))).numpy()


def adjoint_state(M, y0, T):
    yT = scipy.linalg.expm(M * T) @ y0
    return scipy.linalg.expm(M.T * T) @ yT


def adjoint_state_rk4(M, y0, T, steps=400):
    """Solve forward, then the adjoint da/dt = -M^T a backwards with classical RK4."""
    dt = T / steps
    y = y0.copy()
    for k in range(steps):
        y = rk4(lambda t, v: M @ v, k * dt, y, dt)
    a = y.copy()
    for k in range(steps):
        a = rk4(lambda t, v: -M.T @ v, T - k * dt, a, -dt)
    return a


def adjoint_state_torch(M, y0, T):
    y = torch.tensor(y0, requires_grad=True)
    out = torch.linalg.matrix_exp(torch.tensor(M) * T) @ y
    (0.5 * (out ** 2).sum()).backward()
    return y.grad.numpy()


def param_grad_torch(M, y0, T):
    m = torch.tensor(M, requires_grad=True)
    out = torch.linalg.matrix_exp(m * T) @ torch.tensor(y0)
    (0.5 * (out ** 2).sum()).backward()
    return m.grad.numpy()


def param_grad_adjoint(M, y0, T, steps=400):
    """Augmented backward solve [y, a, g] with RK4: dg/dt = -a y^T."""
    d = len(M)
    y = scipy.linalg.expm(M * T) @ y0
    state = np.concatenate([y, y, np.zeros(d * d)])

    def f(t, s):
        yy, a = s[:d], s[d:2 * d]
        return np.concatenate([M @ yy, -M.T @ a, -np.outer(a, yy).ravel()])
    dt = T / steps
    for k in range(steps):
        state = rk4(f, T - k * dt, state, -dt)
    return state[2 * d:].reshape(d, d)


def test_adjoint_references_against_finite_differences():
    rng = np.random.default_rng(0)
    M, y0, T = rng.standard_normal((3, 3)) / 2, rng.standard_normal(3), 0.8
    loss = lambda M_, y_: 0.5 * np.sum((scipy.linalg.expm(M_ * T) @ y_) ** 2)  # noqa: E731
    h = 1e-6
    num_y = np.array([(loss(M, y0 + h * e) - loss(M, y0 - h * e)) / (2 * h) for e in np.eye(3)])
    num_M = np.array([[(loss(M + h * E, y0) - loss(M - h * E, y0)) / (2 * h)
                       for E in np.eye(9).reshape(9, 3, 3)[3 * i:3 * i + 3]] for i in range(3)])
    np.testing.assert_allclose(adjoint_state(M, y0, T), num_y, rtol=1e-7)
    np.testing.assert_allclose(C13._param_grad(M, y0, T), num_M, rtol=1e-6)


CORRECT = {
    "13.laplacian": (G.laplacian, [laplacian_nx, lambda A: scipy.sparse.csgraph.laplacian(A)], lambda A: np.eye(5)),
    "13.normalized_adjacency": (G.normalized_adjacency, [norm_adj_loops, norm_adj_pyg], lambda A: np.eye(5)),
    "13.aggregate_mean": (lambda A, X: G.aggregate(A, X, "mean"), [mean_loops], lambda A, X: np.zeros((5, 2))),
    "13.aggregate_max": (lambda A, X: G.aggregate(A, X, "max"), [max_loops], lambda A, X: np.zeros((5, 2))),
    "13.dirichlet_energy": (lambda A, X: G.dirichlet_energy(X, G.laplacian(A)), [dirichlet_edges],
                            lambda A, X: 3.0),
    "13.fiedler_value": (lambda A: G.fiedler_vector(A)[0], [fiedler_nx], lambda A: 0.5),
    "13.gcn_response": (lambda A: G.gcn_frequency_response(A)[1], [response_eigs], lambda A: np.linspace(1, -0.5, 5)),
    "13.gcn_layer": (gcn_layer, [gcn_layer_torch], lambda A, X, W, b: np.zeros((5, 2))),
    "13.gcn_input_grad": (lambda P, X, W, g: P.T @ g @ W, [input_grad_torch], lambda P, X, W, g: np.zeros((4, 3))),
    "13.rk4_step": (rk4, [rk4_via_course_lib], lambda f, t, y, dt: np.zeros(1)),
    "13.adjoint_state": (adjoint_state, [adjoint_state_rk4, adjoint_state_torch], lambda M, y0, T: np.ones(2)),
    "13.adjoint_param_grad": (C13._param_grad, [param_grad_adjoint, param_grad_torch],
                              lambda M, y0, T: np.ones((2, 2))),
}


def _no_loops(A):
    d = A.sum(1)
    s = np.divide(1, np.sqrt(d), out=np.zeros_like(d), where=d > 0)
    return s[:, None] * A * s[None, :]


def _no_loops_nan(A):
    d = A.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return A / np.sqrt(np.outer(d, d))


def _row_norm(A):
    At = A + np.eye(len(A))
    return At / At.sum(1, keepdims=True)


def _mean_dividing_by_zero(A, X):
    with np.errstate(divide="ignore", invalid="ignore"):
        return (A @ X) / A.sum(1, keepdims=True)


WRONG = {
    "13.laplacian": [(lambda A: A - np.diag(A.sum(1)), "D - A"), (lambda A: np.diag(A.sum(1)) + A, "Subtract")],
    "13.normalized_adjacency": [(_no_loops, "self-loops"), (_no_loops_nan, "self-loops"), (_row_norm, "symmetric"),
                                (lambda A: A + np.eye(len(A)), "Normalize")],
    "13.aggregate_mean": [(lambda A, X: A @ X, "degree"), (lambda A, X: mean_loops(A + np.eye(len(A)), X), "itself"),
                          (_mean_dividing_by_zero, "no neighbours")],
    "13.aggregate_max": [(lambda A, X: max_loops(A + np.eye(len(A)), X), "itself"),
                         (lambda A, X: np.where(A[:, :, None] > 0, X[None], -np.inf).max(1), "-inf")],
    "13.dirichlet_energy": [(lambda A, X: 2 * dirichlet_edges(A, X), "1/2"),
                            (lambda A, X: -dirichlet_edges(A, X), "negative")],
    "13.fiedler_value": [(lambda A: np.linalg.eigvalsh(G.normalized_laplacian(A))[1], "normalized"),
                         (lambda A: np.linalg.eigvalsh(G.laplacian(A))[-1], "largest")],
    "13.gcn_response": [(lambda A: 1 - np.linalg.eigvalsh(G.normalized_laplacian(A)), "self-loops"),
                        (lambda A: G.gcn_frequency_response(A)[0], "not the frequency")],
    "13.gcn_layer": [(lambda A, X, W, b: _no_loops(A) @ X @ W.T + b, "self-loops"),
                     (lambda A, X, W, b: _row_norm(A) @ X @ W.T + b, "symmetric"),
                     (lambda A, X, W, b: _no_loops_nan(A) @ X @ W.T + b, "isolated")],
    "13.gcn_input_grad": [(lambda P, X, W, g: P @ g @ W, "P^T"), (lambda P, X, W, g: g @ W, "propagation")],
    "13.rk4_step": [(lambda f, t, y, dt: C13._step(f, t, y, dt, "3/8"), "3/8"),
                    (lambda f, t, y, dt: C13._step(f, t, y, dt, "euler"), "Euler"),
                    (lambda f, t, y, dt: C13._step(f, t, y, dt, "no_t"), "own time")],
    "13.adjoint_state": [(lambda M, y0, T: scipy.linalg.expm(-M.T * T) @ scipy.linalg.expm(M * T) @ y0, "Sign"),
                         (lambda M, y0, T: scipy.linalg.expm(M * T) @ scipy.linalg.expm(M * T) @ y0, "transpose")],
    "13.adjoint_param_grad": [(lambda M, y0, T: -C13._param_grad(M, y0, T), "Sign"),
                              (lambda M, y0, T: C13._param_grad(M, y0, T).T, "outer product")],
}

globals().update(contract_tests("13", CORRECT, WRONG, seeds=SEEDS))
