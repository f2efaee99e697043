r"""Chapter 08: the graded questions on symmetries, slices, curvature and paths between minima.

The references are :mod:`course_lib.landscapes`, :mod:`course_lib.curvature` and
:mod:`course_lib.mode_connectivity` (tested against PyTorch's Hessian and the gradient checker in
``tests/test_landscapes.py``, ``tests/test_curvature.py``, ``tests/test_mode_connectivity.py``). Every
check draws fresh networks, directions and matrices from ``t.rng``; ``mistakes`` names the usual slips:
a normalization per layer instead of per filter, bias directions left in, rows and columns swapped,
a forward difference or a missing 2 in the Hessian-vector product, the eigenvalue of largest
magnitude (or its absolute value) instead of the largest, a Hutchinson mean or standard error divided
by the wrong count, Bézier weights without the 2, a barrier measured from the wrong baseline, and PCA
centred at the mean instead of the end point.
"""
from __future__ import annotations

import numpy as np

from course_lib import curvature as C
from course_lib import landscapes as L
from course_lib import mode_connectivity as M
from course_lib.checks.ch06_optimization import _check_parts
from course_lib.grading import Tester, question
from course_lib.grading.compare import format_value


def _mlp(t: Tester, n_in: int, n_h: int, n_out: int):
    return (t.rng.standard_normal((n_h, n_in)), t.rng.standard_normal(n_h), t.rng.standard_normal((n_out, n_h)))


def _sizes(t: Tester):
    """(n_in, n_h, n_out): n_out != n_h, so that rows and columns of W2 cannot be confused silently."""
    return [(3, 4, 2), (5, 6, 3), (int(t.rng.integers(2, 6)), int(t.rng.integers(3, 8)), int(t.rng.integers(1, 3)))]


# -- 1-2. symmetries ----------------------------------------------------------------------------------------
@question("08.permute_hidden", title="Permute the hidden units of a one-hidden-layer network")
def _check_permute(t: Tester):
    for n_in, n_h, n_out in _sizes(t):
        W1, b1, W2 = _mlp(t, n_in, n_h, n_out)
        perm = t.rng.permutation(n_h)
        while n_h > 1 and np.array_equal(perm, np.arange(n_h)):
            perm = t.rng.permutation(n_h)
        case = {"W1": W1, "b1": b1, "W2": W2, "perm": perm}
        inv = np.argsort(perm)
        _check_parts(t, t.call(W1, b1, W2, perm), {"W1": W1[perm], "b1": b1[perm], "W2": W2[:, perm]}, {
            "W1": {"New unit i is old unit perm[i]: take the rows W1[perm] (np.argsort(perm) is the inverse "
                   "permutation).": W1[inv],
                   "Permute the hidden units, i.e. the rows of W1 (one row per unit).": W1},
            "b1": {"Each hidden unit carries its bias: permute b1 with the same perm as the rows of W1.": b1,
                   "New unit i is old unit perm[i]: b1[perm].": b1[inv]},
            "W2": {"W2 reads the hidden units through its columns: permute its columns, W2[:, perm] (its rows are "
                   "the outputs, which keep their order).": W2,
                   "Use the same perm for the columns of W2 as for the rows of W1, so that each unit keeps its "
                   "outgoing weights: W2[:, perm].": W2[:, inv]},
        }, case, order=("W1", "b1", "W2"))


@question("08.rescale_layer", title="Rescale a ReLU layer without changing the function")
def _check_rescale(t: Tester):
    for n_in, n_h, n_out in _sizes(t):
        W1, b1, W2 = _mlp(t, n_in, n_h, n_out)
        c = float(np.exp(t.rng.uniform(-2, 2)))
        c = c if abs(c - 1) > 0.1 else 3.0
        case = {"W1": W1, "b1": b1, "W2": W2, "c": c}
        _check_parts(t, t.call(W1, b1, W2, c), {"W1": c * W1, "b1": c * b1, "W2": W2 / c}, {
            "W1": {"Multiply the first layer by c (and the second by 1/c).": W1 / c},
            "b1": {"Scale the bias with its layer: ReLU(c W1 x + c b1) = c ReLU(W1 x + b1) needs c * b1 too.": b1,
                   "The bias of the first layer is multiplied by c, like its weights.": b1 / c},
            "W2": {"Divide the second layer by c, to undo the factor c that ReLU passes through: W2 / c.": c * W2,
                   "The second layer must change too (W2 / c), or the output is c times larger.": W2},
        }, case, order=("W1", "b1", "W2"))


# -- 3-4. directions and slices -----------------------------------------------------------------------------------
def _arrays(t: Tester, got, like, case, what: str) -> np.ndarray:
    """The learner's list of arrays, checked against the parameter shapes and flattened."""
    if not isinstance(got, (list, tuple)) or len(got) != len(like):
        t.fail(f"Expected a list of {len(like)} arrays (one per parameter), but got {type(got).__name__} "
               f"{format_value(got)}.", hint=f"Return {what} as a list, one array per parameter, in the same order.",
               case=case)
    for k, (g, w) in enumerate(zip(got, like)):
        if np.shape(g) != np.shape(w):
            t.fail(f"Array {k} has shape {np.shape(g)}, but parameter {k} has shape {np.shape(w)}.",
                   hint="Each direction keeps the shape of its parameter (reshape back after working on rows).",
                   case=case)
    return L.flatten(got)


def _per_layer(directions, weights):
    return [d * np.linalg.norm(w) / np.linalg.norm(d) for d, w in zip(directions, weights)]


def _per_filter_keep_bias(directions, weights):
    out = L.filter_normalize(directions, weights)
    return [o if np.ndim(w) > 1 else np.asarray(d, dtype=float) for o, d, w in zip(out, directions, weights)]


def _unit_filters(directions, weights):
    return L.filter_normalize(directions, [np.ones_like(w) / np.sqrt(np.prod(np.shape(w)[1:]) or 1)
                                           for w in weights])


def _columns(directions, weights):
    out = []
    for d, w in zip(directions, weights):
        if np.ndim(w) == 2:
            out.append(d * np.linalg.norm(w, axis=0) / np.linalg.norm(d, axis=0))
        elif np.ndim(w) > 2:
            out.append(L.filter_normalize([np.swapaxes(d, 0, 1)], [np.swapaxes(w, 0, 1)])[0].swapaxes(0, 1))
        else:
            out.append(np.zeros_like(d))
    return out


@question("08.filter_normalize", title="Filter normalization of a direction (Li et al. 2018)")
def _check_filter_normalize(t: Tester):
    layouts = [[(4, 3), (4,), (2, 4), (2,)],
               [(5, 2, 3, 3), (5,), (3, 5 * 2 * 2), (3,)],
               [tuple(int(v) for v in t.rng.integers(2, 6, size=2)), (int(t.rng.integers(2, 6)),)]]
    layouts[2][1] = (layouts[2][0][0],)
    for layout in layouts:
        weights = [t.rng.standard_normal(s) * t.rng.uniform(0.2, 3, size=(s[0],) + (1,) * (len(s) - 1))
                   for s in layout]
        directions = [t.rng.standard_normal(s) for s in layout]
        case = {"directions": directions, "weights": weights}
        got = t.call(directions, weights)
        flat = _arrays(t, got, weights, case, "the normalized direction")
        t.expect_close(flat, L.flatten(L.filter_normalize(directions, weights)), case=case, mistakes={
            "Normalize each filter (each row of a dense weight, each output channel of a conv weight) to the norm "
            "of the same filter of the weights, not the whole layer at once.":
                L.flatten([a if np.ndim(a) > 1 else np.zeros_like(a) for a in _per_layer(directions, weights)]),
            "That is a per-layer normalization, and the biases still have a direction: normalize per filter, and "
            "give 1-D parameters (biases) a zero direction.": L.flatten(_per_layer(directions, weights)),
            "Give 1-D parameters (biases) a zero direction, as Li et al. do: only filters are rescaled.":
                L.flatten(_per_filter_keep_bias(directions, weights)),
            "Scale each filter to the norm of the weights' filter, ||w_f|| * d_f / ||d_f||, not to unit length.":
                L.flatten(_unit_filters(directions, weights)),
            "A filter is a row of a dense weight (out, in): the incoming weights of one neuron, and one output "
            "channel (axis 0) of a conv weight. You normalized along the other axis.":
                L.flatten(_columns(directions, weights)),
        })


def _loss_fn(t: Tester, P: int):
    """A smooth non-quadratic loss of a flat vector: sum log cosh(A theta - b)."""
    A = t.rng.standard_normal((P + 2, P))
    b = t.rng.standard_normal(P + 2)
    return lambda theta: float(np.sum(np.log(np.cosh(A @ np.asarray(theta, dtype=float) - b))))


@question("08.slice_2d", title="A 2-D slice of a loss")
def _check_slice(t: Tester):
    for P, n_a, n_b in [(4, 5, 3), (6, 4, 7), (int(t.rng.integers(2, 8)), int(t.rng.integers(2, 6)), 3)]:
        loss = _loss_fn(t, P)
        theta, d1, d2 = t.rng.standard_normal(P), t.rng.standard_normal(P), t.rng.standard_normal(P)
        ps = np.sort(t.rng.uniform(-1, 1, n_a))
        qs = np.sort(t.rng.uniform(-1, 1, n_b))
        case = {"theta": theta, "d1": d1, "d2": d2, "ps": ps, "qs": qs}
        expected = np.array([[loss(theta + p * d1 + q * d2) for p in ps] for q in qs])
        t.expect_close(t.call(loss, theta, d1, d2, ps, qs), expected, case=case, mistakes={
            "Rows follow q and columns p: out[i, j] = L(theta + ps[j] d1 + qs[i] d2), the layout "
            "np.meshgrid(ps, qs) and plt.contour expect.":
                np.array([[loss(theta + p * d1 + q * d2) for q in qs] for p in ps]),
            "Use d1 for p and d2 for q.": np.array([[loss(theta + p * d2 + q * d1) for p in ps] for q in qs]),
            "Move from theta: the point is theta + p d1 + q d2, not p d1 + q d2.":
                np.array([[loss(p * d1 + q * d2) for p in ps] for q in qs]),
        })


# -- 5-8. curvature ---------------------------------------------------------------------------------------------
def _smooth(t: Tester, P: int):
    """L(x) = sum log cosh(A x - b) + |x|^4 / 4: its gradient and exact Hessian."""
    A = t.rng.standard_normal((P + 3, P)) / np.sqrt(P)
    b = t.rng.standard_normal(P + 3)

    def grad(x):
        x = np.asarray(x, dtype=float)
        return A.T @ np.tanh(A @ x - b) + (x @ x) * x

    def hess(x):
        s = 1 - np.tanh(A @ x - b) ** 2
        return A.T @ (s[:, None] * A) + (x @ x) * np.eye(P) + 2 * np.outer(x, x)
    return grad, hess


@question("08.hvp_central", title="A Hessian-vector product from two gradients")
def _check_hvp(t: Tester):
    for P in [3, 6, int(t.rng.integers(2, 9))]:
        grad, hess = _smooth(t, P)
        theta, v = t.rng.standard_normal(P), t.rng.standard_normal(P)
        h = float(10 ** t.rng.uniform(-5, -3))
        case = {"theta": theta, "v": v, "h": h}
        got = t.call(grad, theta, v, h)
        # Same formula, same h: the two agree up to rounding, eps |grad| / h < 1e-10 of the result here.
        t.expect_close(got, C.central_difference_hvp(grad, theta, v, h), case=case, rtol=1e-6, atol=1e-9, mistakes={
            "That is a forward difference, (grad(theta + h v) - grad(theta)) / h: its error is O(h), not O(h^2). "
            "Use both sides: (grad(theta + h v) - grad(theta - h v)) / (2 h).":
                (grad(theta + h * v) - grad(theta)) / h,
            "The two points are 2h apart: divide by 2 h.": (grad(theta + h * v) - grad(theta - h * v)) / h,
            "Step along v: grad(theta + h v), not grad(theta + h) (a step in every coordinate).":
                (grad(theta + h) - grad(theta - h)) / (2 * h),
            "Subtract in this order: (grad(theta + h v) - grad(theta - h v)) / (2 h).":
                (grad(theta - h * v) - grad(theta + h * v)) / (2 * h),
        })
        t.expect(np.allclose(np.asarray(got, dtype=float), hess(theta) @ v, rtol=1e-4, atol=1e-6),
                 "Your product is not close to the exact H v.", case=case,
                 hint="Check the formula against a matrix whose Hessian you know, such as x^T A x / 2.")


def _spectrum(t: Tester, kind: str, n: int) -> np.ndarray:
    """Eigenvalues with well-separated top magnitudes, so that every phase converges in the iterations given."""
    mags = np.sort(t.rng.uniform(0.05, 0.5, n))[::-1]
    if kind == "positive":  # the dominant eigenvalue is positive
        ev = np.r_[t.rng.uniform(3, 5), t.rng.uniform(-1.5, 1.5, n - 1) * mags[:n - 1] * 2]
    elif kind == "negative":  # a negative eigenvalue dominates; the largest is positive and smaller
        ev = np.r_[-t.rng.uniform(4, 6), t.rng.uniform(1.5, 2.5), t.rng.uniform(-1, 1, n - 2) * 0.5]
    else:  # every eigenvalue negative: the largest is the one closest to zero
        ev = -np.r_[t.rng.uniform(0.5, 1.0), t.rng.uniform(2.0, 3.0, n - 1)]
    return ev


@question("08.power_iteration", title="The largest eigenvalue by power iteration, with its sign")
def _check_power(t: Tester):
    for kind, n in [("positive", 5), ("negative", 6), ("all negative", 4), ("negative", int(t.rng.integers(3, 9)))]:
        ev = _spectrum(t, kind, n)
        Q = np.linalg.qr(t.rng.standard_normal((n, n)))[0]
        H = Q @ np.diag(ev) @ Q.T
        H = 0.5 * (H + H.T)
        v0 = t.rng.standard_normal(n)
        case = {"H": H, "v0": v0, "iters": 500}
        expected = float(np.max(ev))
        dominant = float(ev[np.argmax(np.abs(ev))])
        slips = {"The Rayleigh quotient is v^T H v / v^T v (no minus sign).": -expected}
        if dominant < 0:
            slips["Power iteration converges to the eigenvalue of largest MAGNITUDE, here a negative one. Shift: "
                  "iterate on H + s I with s at least |lambda_min| (for example the |lambda| you just found), then "
                  "subtract s."] = dominant
            slips["Return the eigenvalue with its sign: the Rayleigh quotient v^T H v, not ||H v|| (which is "
                  "|lambda|), and shift when the dominant eigenvalue is negative."] = abs(dominant)
        if expected < 0:
            slips["The largest eigenvalue is negative here: ||H v|| gives its magnitude; use v^T H v."] = abs(expected)
        t.expect_close(t.call(lambda x: H @ np.asarray(x, dtype=float), v0, 500), expected, case=case, rtol=1e-6,
                       atol=1e-8, what=f"Your largest eigenvalue (eigenvalues {np.round(np.sort(ev)[::-1], 3)})",
                       mistakes=slips)


@question("08.hutchinson", title="Hutchinson's trace estimate and its standard error")
def _check_hutchinson(t: Tester):
    for n, m in [(5, 40), (8, 200), (int(t.rng.integers(3, 10)), int(t.rng.integers(20, 80)))]:
        A = t.rng.standard_normal((n, n))
        H = 0.5 * (A + A.T) + np.diag(t.rng.uniform(0, 3, n))
        probes = []

        def matvec(z):
            z = np.array(z, dtype=float)
            if z.shape != (n,):  # raised inside the learner's function, so t.call reports it with its line
                raise ValueError(f"matvec expects one probe vector of shape ({n},), got shape {z.shape}")
            probes.append(z)
            return H @ z
        seed = int(t.rng.integers(2**31))
        case = {"H": H, "dim": n, "m": m, "seed": seed}
        got = t.call(matvec, n, m, np.random.default_rng(seed))
        estimate, stderr = t.parts(got, ("estimate", "stderr"), case=case)
        if len(probes) != m:
            t.fail(f"Your function made {len(probes)} products H z; the estimate uses m = {m} probes.",
                   hint="Draw m probes, one product each.", case=case)
        Z = np.array(probes)
        values = np.einsum("ij,jk,ik->i", Z, H, Z)
        mean, se = float(values.mean()), float(values.std(ddof=1) / np.sqrt(m))
        t.expect_close(estimate, mean, case=case, what="Your estimate (recomputed from the probes you drew)",
                       mistakes={
            "Average over the m probes: divide the sum of z^T H z by m (not by the dimension).": values.sum() / n,
            "The mean divides by m, not m - 1 (m - 1 belongs in the sample variance).": values.sum() / (m - 1),
            "Each probe contributes one number, z^T H z; average those m numbers (you divided by m times the "
            "dimension).": values.sum() / (m * n),
        })
        t.expect_close(stderr, se, case=case, what="Your standard error (from the probes you drew)", mistakes={
            "The standard error of a mean of m samples is sd / sqrt(m): divide by sqrt(m).": se * np.sqrt(m),
            "Divide the standard deviation by sqrt(m), not by m.": se / np.sqrt(m),
            "Use the sample standard deviation, with ddof=1 (the mean was estimated from the same samples).":
                float(values.std() / np.sqrt(m)),
            "The standard error is sd / sqrt(m); you returned the variance / m.": float(values.var(ddof=1) / m),
        })
        # A probe law with E[z z^T] != I is biased; Gaussian probes have the larger variance, 2 ||H||_F^2.
        bound = 6 * np.sqrt(C.hutchinson_variance(H, "gaussian") / m)
        t.expect(abs(mean - np.trace(H)) <= bound,
                 f"Your probes give {mean:.4g}, but the trace is {np.trace(H):.4g}: more than 6 standard errors off.",
                 case=case, hint="Probes need mean 0 and E[z z^T] = I: Rademacher (+-1 with probability 1/2) or "
                                 "standard normal entries (both unbiased); uniform [0, 1) entries are biased.")


@question("08.rescaled_hessian", title="The Hessian after rescaling the parameters (Dinh et al. 2017)")
def _check_rescaled_hessian(t: Tester):
    for n in [3, 5, int(t.rng.integers(2, 8))]:
        A = t.rng.standard_normal((n, n))
        H = A @ A.T
        scales = np.exp(t.rng.uniform(-1.5, 1.5, n))
        case = {"H": H, "scales": scales}
        D = np.diag(scales)
        Dinv = np.diag(1 / scales)
        t.expect_close(t.call(H, scales), C.reparameterized_hessian(H, scales), case=case, mistakes={
            "theta' = D theta means theta = D^-1 theta': the chain rule gives D^-1 H D^-1, not D H D.": D @ H @ D,
            "Apply D^-1 on both sides: H' = D^-1 H D^-1 (the second derivative picks up one factor per "
            "differentiation).": Dinv @ H,
            "One factor of D^-1 on each side, H'_ij = H_ij / (D_i D_j), not D^-2 on the diagonal only.":
                H / scales[:, None] ** 2,
        })


# -- 9-10. paths between minima ------------------------------------------------------------------------------
@question("08.bezier_point", title="A point on a quadratic Bézier curve")
def _check_bezier(t: Tester):
    for P in [3, 7, int(t.rng.integers(1, 9))]:
        a, m, b = t.rng.standard_normal(P), t.rng.standard_normal(P), t.rng.standard_normal(P)
        for tt in [float(t.rng.uniform(0.05, 0.45)), float(t.rng.uniform(0.55, 0.95))]:
            case = {"theta_a": a, "theta_m": m, "theta_b": b, "t": tt}
            t.expect_close(t.call(a, m, b, tt), (1 - tt) ** 2 * a + 2 * tt * (1 - tt) * m + tt ** 2 * b, case=case,
                           mistakes={
                "The bend's weight is 2t(1 - t): the three weights (1-t)^2, 2t(1-t), t^2 sum to 1.":
                    (1 - tt) ** 2 * a + tt * (1 - tt) * m + tt ** 2 * b,
                "That is the straight segment (1 - t) theta_a + t theta_b: the bend theta_m must pull the curve.":
                    (1 - tt) * a + tt * b,
                "At t = 0 the curve starts at theta_a: (1 - t)^2 goes with theta_a and t^2 with theta_b.":
                    tt ** 2 * a + 2 * tt * (1 - tt) * m + (1 - tt) ** 2 * b,
                "Square the end weights: (1 - t)^2 and t^2.": (1 - tt) * a + 2 * tt * (1 - tt) * m + tt * b,
            })


@question("08.loss_barrier", title="The loss barrier of a path")
def _check_barrier(t: Tester):
    for n in [11, 21, int(t.rng.integers(5, 30))]:
        ts = np.linspace(0, 1, n)
        l0, l1 = float(t.rng.uniform(0.05, 0.3)), float(t.rng.uniform(0.4, 0.8))  # unequal ends
        bump = float(t.rng.uniform(0.2, 1.0))
        centre = float(t.rng.uniform(0.3, 0.7))
        losses = (1 - ts) * l0 + ts * l1 + bump * np.exp(-((ts - centre) / 0.15) ** 2) * np.sin(np.pi * ts)
        losses = losses + 0.01 * t.rng.standard_normal(n) * (ts * (1 - ts) > 0)
        case = {"ts": ts, "losses": losses}
        t.expect_close(t.call(ts, losses), M.loss_barrier(ts, losses), case=case, mistakes={
            "Measure from the chord (1 - t) L(0) + t L(1) at the same t, not from the higher end point.":
                float(losses.max() - max(l0, losses[-1])),
            "Measure from the chord (1 - t) L(0) + t L(1) at the same t, not from the mean of the end losses.":
                float(losses.max() - 0.5 * (losses[0] + losses[-1])),
            "Measure from the chord (1 - t) L(0) + t L(1), not from L(0).": float(losses.max() - losses[0]),
            "Return the height of the barrier (a loss), not where it is.": float(ts[np.argmax(losses -
                                                                                      ((1 - ts) * losses[0]
                                                                                       + ts * losses[-1]))]),
            "The barrier is the largest excess over the chord, max_t (L(t) - chord(t)); the highest loss alone "
            "includes the end points' own loss.": float(losses.max()),
        })


# -- 11. trajectories ---------------------------------------------------------------------------------------
@question("08.trajectory_pca", title="The PCA plane of a training trajectory")
def _check_trajectory(t: Tester):
    for T, P in [(8, 5), (12, 9), (int(t.rng.integers(5, 15)), int(t.rng.integers(4, 12)))]:
        steps = t.rng.standard_normal((T, P)) * np.linspace(2.0, 0.2, P) + 0.3  # a drift: the mean is not the end
        trajectory = np.cumsum(steps, axis=0)
        case = {"trajectory": trajectory}
        ref = L.trajectory_pca(trajectory)
        got = t.call(trajectory)
        directions, coords = t.parts(got, ("directions", "coords"), case=case)
        d = np.asarray(directions, dtype=float) if isinstance(directions, (np.ndarray, list, tuple)) else None
        if d is not None and d.shape == (2, P):
            # An eigenvector's sign is arbitrary: match each row's sign to the reference before comparing.
            signs = np.sign(np.sum(d * ref.directions, axis=1))
            signs[signs == 0] = 1.0
            d = d * signs[:, None]
            c = np.asarray(coords, dtype=float) * signs if np.shape(coords) == (T, 2) else coords
        else:
            c = coords
        def top2(A):  # the first two right singular vectors, signs matched to the reference
            v = np.linalg.svd(A, full_matrices=False)[2][:2]
            return v * np.where(np.sum(v * ref.directions, axis=1) < 0, -1.0, 1.0)[:, None]

        U = np.linalg.svd(trajectory - trajectory[-1], full_matrices=False)[0][:, :2]
        t.expect_close(d if d is not None else directions, ref.directions, case=case, what="Your directions",
                       mistakes={
            "Centre the snapshots at the end point, theta_t - theta_final (the slice is drawn around it), not at "
            "their mean as plain PCA does.": top2(trajectory - trajectory.mean(axis=0)),
            "The directions live in parameter space: they are the right singular vectors (rows of Vt, shape "
            "(2, P)), not the left ones (columns of U, one entry per snapshot).": U.T,
            "Subtract the final snapshot before the SVD.": top2(trajectory),
        })
        t.expect_close(c, ref.coords, case=case, what="Your coordinates", mistakes={
            "Project the displacements theta_t - theta_final, not the snapshots themselves.":
                trajectory @ ref.directions.T,
            "The coordinates are (theta_t - theta_final) @ directions.T, one row per snapshot.": ref.coords.T,
        })
