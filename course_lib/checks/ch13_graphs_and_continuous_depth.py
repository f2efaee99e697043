r"""Chapter 13: the graded questions on graph matrices, message passing, the GCN layer, Runge-Kutta and the adjoint.

The references are :mod:`course_lib.graphs` (tested against networkx, scipy and PyTorch Geometric in
``tests/test_graphs.py``), the dense GCN formula (tested against the engine, torch and PyG in
``tests/test_autograd_gcn.py``), and closed forms for the linear ODE :math:`d\mathbf y/dt = \mathbf B\mathbf y` (the argument ``M``)
(matrix exponentials, Van Loan's block formula for the parameter gradient). No torch is imported.
Every check draws fresh graphs (with isolated nodes and a bipartite piece) and arrays from ``t.rng``;
``mistakes`` names the usual slips: the self-loops forgotten, the symmetric normalization replaced by a
row normalization or left out, the Laplacian's sign, the missing 1/2 of the Dirichlet energy, the
neighbour itself counted in its aggregation, the Fiedler value of the wrong Laplacian, the 3/8 rule or
Euler for classical RK4, and the adjoint's sign and transpose.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg

from course_lib import graphs as G
from course_lib.grading import Tester, question


def _known(mistakes: dict) -> dict:
    """The mistakes that apply to this case (an entry is None where a slip gives the right answer)."""
    return {hint: value for hint, value in mistakes.items() if value is not None}


def _graph(t: Tester, n: int, p: float = 0.35, isolated: bool = True, weighted: bool = False) -> np.ndarray:
    """A random undirected graph on n nodes; node n-1 isolated when asked, a weighted one when asked."""
    A = np.triu(t.rng.random((n, n)) < p, 1).astype(float)
    if weighted:
        A *= t.rng.integers(1, 4, A.shape)
    A = A + A.T
    if isolated:
        A[-1], A[:, -1] = 0, 0
    return A


def _graphs(t: Tester, isolated: bool = True, weighted: bool = False):
    """A path (bipartite), a small fixed graph and random ones."""
    path = np.diag(np.ones(4), 1)
    yield path + path.T
    yield _graph(t, 6, 0.5, isolated, weighted)
    yield _graph(t, int(t.rng.integers(5, 10)), 0.35, isolated, weighted)
    yield _graph(t, int(t.rng.integers(8, 13)), 0.3, isolated, weighted)


def _expect_finite(t: Tester, got, hint: str, case: dict) -> None:
    """A NaN or inf answer on a graph with an isolated node is the division by a zero degree: say so."""
    try:
        arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return
    if arr.size and not np.all(np.isfinite(arr)):
        t.fail("Your answer has NaN or inf entries.", hint=hint, case=case)


def _inv_sqrt(d):
    return np.divide(1.0, np.sqrt(d), out=np.zeros_like(d), where=d > 0)


ISOLATED_HINT = ("The last node is isolated (degree 0): with the self-loops, A + I, every degree is at least 1 and "
                 "nothing divides by zero.")


# -- 1. the Laplacian ------------------------------------------------------------------------------------------
@question("13.laplacian", title="The graph Laplacian L = D - A")
def _check_laplacian(t: Tester):
    for A in _graphs(t, weighted=True):
        D = np.diag(A.sum(1))
        t.expect_close(t.call(A.copy()), D - A, case={"A": A}, mistakes=_known({
            "The Laplacian is D - A (positive degrees on the diagonal, -1 for each edge), not A - D.": A - D,
            "Subtract the adjacency: L = D - A, so that L 1 = 0.": D + A,
            "The degree is the row sum of A (weights included), not the number of neighbours.":
                np.diag((A > 0).sum(1)) - A if (A > 1).any() else None,
        }))


# -- 2. the GCN's normalized adjacency -------------------------------------------------------------------------
def _norm_adj_mistakes(A):
    n = len(A)
    At = A + np.eye(n)
    d, dt = A.sum(1), At.sum(1)
    return _known({
        "Add the self-loops first: A~ = A + I, so that a node keeps its own features (and an isolated node "
        "divides by 1, not 0).": _inv_sqrt(d)[:, None] * A * _inv_sqrt(d)[None, :],
        "Normalize symmetrically, D~^{-1/2} A~ D~^{-1/2}: the row normalization D~^{-1} A~ (a mean) is not "
        "symmetric.": At / dt[:, None],
        "Normalize symmetrically, D~^{-1/2} A~ D~^{-1/2}, not by columns.": At / dt[None, :],
        "Normalize: A~ alone lets high-degree nodes' features grow with every layer; scale by D~^{-1/2} on both "
        "sides.": At,
        "Take the degrees of A~ = A + I (each one more), not of A.":
            At / np.sqrt(np.outer(d, d)) if (d > 0).all() else None,
    })


@question("13.normalized_adjacency", title="The GCN's propagation matrix with self-loops")
def _check_norm_adj(t: Tester):
    for A in _graphs(t):
        case = {"A": A}
        got = t.call(A.copy())
        _expect_finite(t, got, ISOLATED_HINT, case)
        t.expect_close(got, G.normalized_adjacency(A), case=case, mistakes=_norm_adj_mistakes(A))


# -- 3-4. aggregation --------------------------------------------------------------------------------------------
@question("13.aggregate_mean", title="Mean aggregation over neighbours")
def _check_mean(t: Tester):
    for A in _graphs(t):
        X = t.rng.standard_normal((len(A), int(t.rng.integers(1, 4))))
        case = {"A": A, "X": X}
        got = t.call(A.copy(), X.copy())
        _expect_finite(t, got, "A node with no neighbours (the last one) has nothing to average: give it zeros, "
                               "as PyTorch Geometric does.", case)
        t.expect_close(got, G.aggregate(A, X, "mean"), case=case, mistakes=_known({
            "Divide the sum of the neighbours' features by the node's degree: that is the mean.": A @ X,
            "Average over the neighbours only, not the node itself (no self-loop here).":
                G.aggregate(A + np.eye(len(A)), X, "mean"),
            "Divide by each node's own degree, not by the number of nodes.": A @ X / len(A),
        }))


@question("13.aggregate_max", title="Max aggregation over neighbours")
def _check_max(t: Tester):
    for A in _graphs(t):
        X = t.rng.standard_normal((len(A), int(t.rng.integers(1, 4))))
        case = {"A": A, "X": X}
        got = t.call(A.copy(), X.copy())
        _expect_finite(t, got, "The last node has no neighbours: its max over an empty set is taken as 0 "
                               "(PyTorch Geometric's convention), not -inf.", case)
        t.expect_close(got, G.aggregate(A, X, "max"), case=case, mistakes=_known({
            "The max runs over the neighbours only, not the node itself.": G.aggregate(A + np.eye(len(A)), X, "max"),
            "Take the max per feature over the neighbours (A_ij > 0), not over every node.":
                np.broadcast_to(X.max(0), X.shape),
            "That is the sum aggregation (A X); take the max.": A @ X,
        }))


# -- 5. Dirichlet energy -----------------------------------------------------------------------------------------
@question("13.dirichlet_energy", title="The Dirichlet energy of node features")
def _check_dirichlet(t: Tester):
    for A in _graphs(t, weighted=True):
        X = t.rng.standard_normal((len(A), int(t.rng.integers(1, 4))))
        E = G.dirichlet_energy(X, G.laplacian(A))
        t.expect_close(t.call(A.copy(), X.copy()), E, case={"A": A, "X": X}, mistakes=_known({
            "Each edge appears twice in the sum over (i, j): the 1/2 counts it once. E = tr(X^T L X).": 2 * E,
            "The energy is tr(X^T L X) with L = D - A: it is never negative.": -E,
            "Use the plain Laplacian L = D - A here, not the normalized one.":
                G.dirichlet_energy(X, G.normalized_laplacian(A)),
        }))


# -- 6. Fiedler value -------------------------------------------------------------------------------------------
@question("13.fiedler_value", title="The algebraic connectivity (Fiedler value)")
def _check_fiedler(t: Tester):
    for A in _graphs(t, isolated=False, weighted=True):
        A = A + np.diag(np.ones(len(A) - 1), 1) + np.diag(np.ones(len(A) - 1), -1)  # a path through all: connected
        lam = np.linalg.eigvalsh(G.laplacian(A))
        t.expect_close(t.call(A.copy()), lam[1], case={"A": A}, mistakes=_known({
            "The smallest eigenvalue of L is always 0 (L 1 = 0); the Fiedler value is the second smallest.": lam[0],
            "That is the largest eigenvalue; the Fiedler value is the second smallest.": lam[-1],
            "Use the Laplacian L = D - A, not the normalized one.": np.linalg.eigvalsh(G.normalized_laplacian(A))[1],
            "Use the Laplacian L = D - A: the second eigenvalue of the adjacency is not it.": np.linalg.eigvalsh(A)[1],
        }))


# -- 7. frequency response ---------------------------------------------------------------------------------------
@question("13.gcn_response", title="The GCN filter's frequency response")
def _check_response(t: Tester):
    for A in _graphs(t):
        lam, r = G.gcn_frequency_response(A)
        lam_plain = np.linalg.eigvalsh(G.normalized_laplacian(A))
        t.expect_close(t.call(A.copy()), r, case={"A": A}, mistakes=_known({
            "Use the graph with self-loops, A + I: the GCN's filter is I - L~_sym, whose frequencies are those of "
            "L~_sym, not L_sym.": 1 - lam_plain,
            "Return the response g = 1 - lambda~ at each frequency, not the frequency lambda~ itself.": lam,
            "Order the responses by frequency, lowest lambda~ first (so the response decreases).": r[::-1],
        }))


# -- 8-9. the GCN layer and its backward pass ------------------------------------------------------------------
@question("13.gcn_layer", title="A graph convolution layer, from the raw adjacency")
def _check_gcn_layer(t: Tester):
    for A in _graphs(t):
        n, d_in, d_out = len(A), int(t.rng.integers(2, 5)), int(t.rng.integers(1, 4))
        X, W, b = t.rng.standard_normal((n, d_in)), t.rng.standard_normal((d_out, d_in)), t.rng.standard_normal(d_out)
        case = {"A": A, "X": X, "W": W, "b": b}
        got = t.call(A.copy(), X.copy(), W.copy(), b.copy())
        _expect_finite(t, got, ISOLATED_HINT, case)
        t.expect_close(got, G.normalized_adjacency(A) @ X @ W.T + b, case=case, mistakes=_known({
            hint: P @ X @ W.T + b for hint, P in _norm_adj_mistakes(A).items()} | {
            "Add the bias after propagating: A_hat X W^T + b (PyTorch Geometric's order).":
                G.normalized_adjacency(A) @ (X @ W.T + b),
        }))


@question("13.gcn_input_grad", title="The gradient of a graph convolution with respect to its input")
def _check_gcn_grad(t: Tester):
    for n, d_in, d_out in [(4, 3, 3), (6, 2, 4), (int(t.rng.integers(5, 9)), 3, 2)]:
        P = t.rng.random((n, n)) * (t.rng.random((n, n)) < 0.5)  # any propagation matrix, not symmetric
        X, W, Gr = t.rng.standard_normal((n, d_in)), t.rng.standard_normal((d_out, d_in)), t.rng.standard_normal((n, d_out))
        case = {"P": P, "X": X, "W": W, "G": Gr}
        t.expect_close(t.call(P.copy(), X.copy(), W.copy(), Gr.copy()), P.T @ Gr @ W, case=case, mistakes=_known({
            "The message goes back along reversed edges: multiply by R^T (the argument P, so P^T), not R.": P @ Gr @ W,
            "Do not forget the propagation: Y = R X W^T, so dL/dX = R^T G W.": Gr @ W,
            "Y = R X W^T, so the weight comes back untransposed: R^T G W.": P.T @ Gr @ W.T if d_in == d_out else None,
        }))


# -- 10. a Runge-Kutta step -----------------------------------------------------------------------------------
def _field(t: Tester, d: int):
    M = t.rng.standard_normal((d, d))
    w = t.rng.uniform(0.5, 2.0)
    return lambda tt, y: np.tanh(M @ y) + np.cos(w * tt) * y


def _step(f, tt, y, dt, rule):
    if rule == "euler":
        return y + dt * f(tt, y)
    if rule == "3/8":
        k1 = f(tt, y)
        k2 = f(tt + dt / 3, y + dt * k1 / 3)
        k3 = f(tt + 2 * dt / 3, y + dt * (k2 - k1 / 3))
        k4 = f(tt + dt, y + dt * (k1 - k2 + k3))
        return y + dt * (k1 + 3 * k2 + 3 * k3 + k4) / 8
    shift = 0.0 if rule == "no_t" else 1.0
    k1 = f(tt, y)
    k2 = f(tt + shift * dt / 2, y + dt * k1 / 2)
    k3 = f(tt + shift * dt / 2, y + dt * k2 / 2)
    k4 = f(tt + shift * dt, y + dt * k3)
    return y + dt * (k1 + 2 * k2 + 2 * k3 + k4) / 6


@question("13.rk4_step", title="One step of the classical Runge-Kutta method")
def _check_rk4(t: Tester):
    for d, dt in [(1, 0.5), (3, 0.2), (int(t.rng.integers(2, 5)), float(t.rng.uniform(0.05, 0.8)))]:
        f, tt, y = _field(t, d), float(t.rng.uniform(-1, 2)), t.rng.standard_normal(d)
        case = {"t": tt, "y": y, "dt": dt, "f": "tanh(M y) + cos(w t) y"}
        t.expect_close(t.call(f, tt, y.copy(), dt), _step(f, tt, y, dt, "classic"), case=case, rtol=1e-10,
                       atol=1e-12, mistakes=_known({
            "That is one Euler step; RK4 averages four slopes with weights 1/6, 2/6, 2/6, 1/6.": _step(f, tt, y, dt, "euler"),
            "That is Kutta's 3/8 rule (torchdiffeq's 'rk4'): the classical method samples at t + dt/2 twice "
            "with weights 1/6, 2/6, 2/6, 1/6.": _step(f, tt, y, dt, "3/8"),
            "Evaluate each slope at its own time: k2, k3 at t + dt/2 and k4 at t + dt (f depends on t).":
                _step(f, tt, y, dt, "no_t"),
        }))


# -- 11-12. the adjoint method -----------------------------------------------------------------------------------
ADJOINT_CASE = "dy/dt = C y with C = M, L = ||y(t1)||^2 / 2 with t1 = T"


def _linear_case(t: Tester):
    for d, T in [(2, 1.0), (3, 0.5), (int(t.rng.integers(2, 5)), float(t.rng.uniform(0.3, 1.5)))]:
        M = t.rng.standard_normal((d, d)) / np.sqrt(d)
        yield M, t.rng.standard_normal(d), T


@question("13.adjoint_state", title="The adjoint at t = 0: dL/dy(0)")
def _check_adjoint_state(t: Tester):
    for M, y0, T in _linear_case(t):
        yT = scipy.linalg.expm(M * T) @ y0
        case = {"M": M, "y0": y0, "T": T, "loss": ADJOINT_CASE}
        t.expect_close(t.call(M.copy(), y0.copy(), T), scipy.linalg.expm(M.T * T) @ yT, case=case, rtol=1e-6,
                       mistakes=_known({
            "Sign: da/dt = -(df/dy)^T a = -C^T a, and integrating it *backwards* from t1 to 0 gives "
            "a(0) = exp(C^T t1) a(t1), not exp(-C^T t1) a(t1).": scipy.linalg.expm(-M.T * T) @ yT,
            "The adjoint uses the transpose: da/dt = -C^T a, so a(0) = exp(C^T t1) a(t1), not exp(C t1) a(t1).":
                scipy.linalg.expm(M * T) @ yT,
            "a(t1) = dL/dy(t1) = y(t1) is where the adjoint starts; integrate it back to t = 0.": yT,
        }))


def _param_grad(M, y0, T, transpose_inside=False):
    """dL/dM = int_0^T a(t) y(t)^T dt by Van Loan's block exponential (``transpose_inside``: the slip y a^T)."""
    d = len(M)
    yT = scipy.linalg.expm(M * T) @ y0
    block = np.zeros((2 * d, 2 * d))
    block[:d, :d], block[d:, d:], block[:d, d:] = M.T, M.T, np.outer(yT, y0)
    integral = scipy.linalg.expm(block * T)[:d, d:]
    return integral.T if transpose_inside else integral


@question("13.adjoint_param_grad", title="The parameter gradient by the adjoint: dL/dM")
def _check_adjoint_param(t: Tester):
    for M, y0, T in _linear_case(t):
        ref = _param_grad(M, y0, T)
        case = {"M": M, "y0": y0, "T": T, "loss": ADJOINT_CASE}
        t.expect_close(t.call(M.copy(), y0.copy(), T), ref, case=case, rtol=1e-6, atol=1e-8, mistakes=_known({
            "Sign: integrating da_theta/dt = -a y^T from t1 back to 0 gives +int_0^t1 a(t) y(t)^T dt.": -ref,
            "dL/dC_ij = int a_i(t) y_j(t) dt: the outer product a y^T, not y a^T.": _param_grad(M, y0, T, True),
            "Integrate a(t) y(t)^T over [0, t1]; the product at t = 0 alone is not the gradient.":
                np.outer(scipy.linalg.expm(M.T * T) @ scipy.linalg.expm(M * T) @ y0, y0),
        }))
