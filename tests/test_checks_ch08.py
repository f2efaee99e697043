"""Chapter 08 checks: references and alternative correct answers pass, stubs are "not attempted",
hard-coded and plausible wrong answers fail with the hint aimed at that slip."""
import numpy as np
import pytest

from check_contract import contract_tests
from course_lib import curvature as C
from course_lib import landscapes as L
from course_lib import mode_connectivity as M

SEEDS = [1, 2, 3, 4, 5, 6, 7, 8]
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # some wrong answers divide by zero


# -- references and alternatives, in the learner's signatures ------------------------------------------------
def permute_by_matrix(W1, b1, W2, perm):
    P = np.eye(len(perm))[perm]
    return P @ W1, P @ b1, W2 @ P.T


def filter_normalize_loop(directions, weights):
    out = []
    for d, w in zip(directions, weights):
        if w.ndim < 2:
            out.append(np.zeros_like(d))
            continue
        new = np.empty_like(d, dtype=float)
        for f in range(w.shape[0]):
            new[f] = d[f] * np.linalg.norm(w[f]) / np.linalg.norm(d[f])
        out.append(new)
    return out


def slice_2d(loss, theta, d1, d2, ps, qs):
    return np.array([[loss(theta + p * d1 + q * d2) for p in ps] for q in qs])


def slice_2d_meshgrid(loss, theta, d1, d2, ps, qs):
    P, Q = np.meshgrid(ps, qs)
    return np.vectorize(lambda p, q: loss(theta + p * d1 + q * d2))(P, Q)


def power_two_phases(matvec, v0, iters):
    """Power iteration; if the dominant eigenvalue is negative, again on H + s I with s = |lambda|."""
    def run(mv, v):
        lam = 0.0
        for _ in range(iters):
            w = mv(v)
            lam = v @ w / (v @ v)
            v = w / np.linalg.norm(w)
        return lam
    lam = run(matvec, v0)
    if lam >= 0:
        return lam
    s = -lam
    return run(lambda x: matvec(x) + s * x, v0) - s


def power_gershgorin_shift(matvec, v0, iters):
    """Always shift, by a bound on the spectral radius from ||H v|| over a few steps (any s >= |lambda_min| works)."""
    v, s = v0 / np.linalg.norm(v0), 0.0
    for _ in range(50):
        w = matvec(v)
        s = max(s, np.linalg.norm(w))
        v = w / np.linalg.norm(w)
    v, lam = v0.copy(), 0.0
    for _ in range(iters):
        w = matvec(v) + s * v
        lam = v @ w / (v @ v)
        v = w / np.linalg.norm(w)
    return lam - s


def hutchinson(matvec, dim, m, rng, draw=lambda rng, n: rng.choice([-1.0, 1.0], size=n), mean_by=None, se=None):
    vals = np.array([z @ matvec(z) for z in (draw(rng, dim) for _ in range(m))])
    est = vals.sum() / (mean_by(m, dim) if mean_by else m)
    return est, (se(vals, m) if se else vals.std(ddof=1) / np.sqrt(m))


def pca_ref(trajectory):
    r = L.trajectory_pca(trajectory)
    return r.directions, r.coords


def pca_eigh_flipped(trajectory):
    Mx = trajectory - trajectory[-1]
    w, V = np.linalg.eigh(Mx.T @ Mx)
    d = -V[:, ::-1][:, :2].T
    return d, Mx @ d.T


# question id -> (reference, [alternative correct answers], hard-coded answer)
CORRECT = {
    "08.permute_hidden": (lambda W1, b1, W2, perm: (W1[perm], b1[perm], W2[:, perm]), [permute_by_matrix],
                          lambda W1, b1, W2, perm: (W1, b1, W2)),
    "08.rescale_layer": (lambda W1, b1, W2, c: (c * W1, c * b1, W2 / c),
                         [lambda W1, b1, W2, c: [W1 * c, b1 * c, W2 * (1 / c)]],
                         lambda W1, b1, W2, c: (2 * W1, 2 * b1, W2 / 2)),
    "08.filter_normalize": (L.filter_normalize, [filter_normalize_loop], lambda d, w: list(d)),
    "08.slice_2d": (slice_2d, [slice_2d_meshgrid], lambda loss, th, d1, d2, a, b: np.zeros((3, 5))),
    "08.hvp_central": (lambda grad, th, v, h: C.central_difference_hvp(grad, th, v, h),
                       [lambda grad, th, v, h: (grad(th + h * v) - grad(th - h * v)) / (2 * h)],
                       lambda grad, th, v, h: np.ones_like(v)),
    "08.power_iteration": (power_two_phases, [power_gershgorin_shift,
                                              lambda mv, v0, iters: C.power_iteration(mv, len(v0), v0=v0, iters=iters,
                                                                                      tol=1e-13)[0]],
                           lambda mv, v0, iters: 2.0),
    "08.hutchinson": (hutchinson, [lambda mv, n, m, rng: hutchinson(mv, n, m, rng, lambda r, k: r.standard_normal(k)),
                                   lambda mv, n, m, rng: (lambda e: (e.estimate, e.stderr))(
                                       C.hutchinson_trace(mv, n, m, rng))],
                      lambda mv, n, m, rng: (3.0, 0.1)),
    "08.rescaled_hessian": (C.reparameterized_hessian,
                            [lambda H, s: np.diag(1 / s) @ H @ np.diag(1 / s), lambda H, s: H / np.outer(s, s)],
                            lambda H, s: H),
    "08.bezier_point": (lambda a, m, b, t: (1 - t) ** 2 * a + 2 * t * (1 - t) * m + t ** 2 * b,
                        [lambda a, m, b, t: M.bezier_point([a], [m], [b], t)[0],
                         lambda a, m, b, t: M.bezier_coefficients(t) @ np.stack([a, m, b])],
                        lambda a, m, b, t: a),
    "08.loss_barrier": (M.loss_barrier,
                        [lambda ts, losses: max(l - ((1 - t) * losses[0] + t * losses[-1]) for t, l in zip(ts, losses))],
                        lambda ts, losses: 0.25),
    "08.trajectory_pca": (pca_ref, [pca_eigh_flipped], lambda traj: (np.eye(2, traj.shape[1]), np.zeros((len(traj), 2)))),
}


def _pca_mean_centred(traj):
    Mx = traj - traj.mean(axis=0)
    d = np.linalg.svd(Mx, full_matrices=False)[2][:2]
    return d, (traj - traj[-1]) @ d.T


def _pca_left(traj):
    U, s, Vt = np.linalg.svd(traj - traj[-1], full_matrices=False)
    return U[:, :2].T, U[:, :2] * s[:2]


def _pca_raw_coords(traj):
    d, _ = pca_ref(traj)
    return d, traj @ d.T


def _per_layer(d, w):
    return [a * np.linalg.norm(b) / np.linalg.norm(a) if b.ndim > 1 else np.zeros_like(a) for a, b in zip(d, w)]


# question id -> [(wrong answer, a distinctive word of the hint it must get)]
WRONG = {
    "08.permute_hidden": [
        (lambda W1, b1, W2, perm: (W1[perm], b1[perm], W2), "columns"),
        (lambda W1, b1, W2, perm: (W1[perm], b1, W2[:, perm]), "carries its bias"),
        (lambda W1, b1, W2, perm: (W1[np.argsort(perm)], b1[np.argsort(perm)], W2[:, np.argsort(perm)]), "inverse"),
        (lambda W1, b1, W2, perm: (W1[perm], b1[perm], W2[:, np.argsort(perm)]), "same perm"),
    ],
    "08.rescale_layer": [
        (lambda W1, b1, W2, c: (c * W1, b1, W2 / c), "Scale the bias"),
        (lambda W1, b1, W2, c: (c * W1, c * b1, c * W2), "Divide the second layer"),
        (lambda W1, b1, W2, c: (c * W1, c * b1, W2), "must change too"),
        (lambda W1, b1, W2, c: (W1 / c, b1 / c, W2 * c), "Multiply the first layer"),
    ],
    "08.filter_normalize": [
        (_per_layer, "not the whole layer"),
        (lambda d, w: [a * np.linalg.norm(b) / np.linalg.norm(a) for a, b in zip(d, w)], "per-layer"),
        (lambda d, w: [o if b.ndim > 1 else a for o, a, b in zip(L.filter_normalize(d, w), d, w)], "zero direction"),
        (lambda d, w: [a / np.linalg.norm(a.reshape(len(a), -1), axis=1).reshape((-1,) + (1,) * (a.ndim - 1))
                       if a.ndim > 1 else np.zeros_like(a) for a in d], "not to unit length"),
        (lambda d, w: [a * np.linalg.norm(b, axis=0) / np.linalg.norm(a, axis=0) if b.ndim == 2
                       else np.zeros_like(a) if b.ndim == 1
                       else L.filter_normalize([a.swapaxes(0, 1)], [b.swapaxes(0, 1)])[0].swapaxes(0, 1)
                       for a, b in zip(d, w)], "other axis"),
        (lambda d, w: L.flatten(L.filter_normalize(d, w)), "as a list"),
    ],
    "08.slice_2d": [
        (lambda loss, th, d1, d2, a, b: slice_2d(loss, th, d1, d2, a, b).T, "Rows follow q"),
        (lambda loss, th, d1, d2, a, b: slice_2d(loss, th, d2, d1, a, b), "Use d1 for p"),
        (lambda loss, th, d1, d2, a, b: slice_2d(loss, 0 * th, d1, d2, a, b), "Move from theta"),
    ],
    "08.hvp_central": [
        (lambda grad, th, v, h: (grad(th + h * v) - grad(th)) / h, "forward difference"),
        (lambda grad, th, v, h: (grad(th + h * v) - grad(th - h * v)) / h, "divide by 2 h"),
        (lambda grad, th, v, h: (grad(th + h) - grad(th - h)) / (2 * h), "Step along v"),
        (lambda grad, th, v, h: (grad(th - h * v) - grad(th + h * v)) / (2 * h), "in this order"),
    ],
    "08.power_iteration": [
        (lambda mv, v0, iters: C.top_eigenvalues(mv, len(v0), 1, v0=v0, iters=iters, shift=0.0).values[0],
         "largest MAGNITUDE"),
        (lambda mv, v0, iters: np.linalg.norm(mv(C.top_eigenvalues(mv, len(v0), 1, v0=v0, iters=iters,
                                                                   shift=0.0).vectors[:, 0])), "with its sign"),
        (lambda mv, v0, iters: -power_two_phases(mv, v0, iters), "no minus sign"),
    ],
    "08.hutchinson": [
        (lambda mv, n, m, rng: hutchinson(mv, n, m, rng, mean_by=lambda m, n: n), "not by the dimension"),
        (lambda mv, n, m, rng: hutchinson(mv, n, m, rng, mean_by=lambda m, n: m - 1), "not m - 1"),
        (lambda mv, n, m, rng: hutchinson(mv, n, m, rng, mean_by=lambda m, n: m * n), "one number"),
        (lambda mv, n, m, rng: hutchinson(mv, n, m, rng, se=lambda v, m: v.std(ddof=1)), "sd / sqrt(m)"),
        (lambda mv, n, m, rng: hutchinson(mv, n, m, rng, se=lambda v, m: v.std(ddof=1) / m), "not by m"),
        (lambda mv, n, m, rng: hutchinson(mv, n, m, rng, se=lambda v, m: v.std() / np.sqrt(m)), "ddof=1"),
        (lambda mv, n, m, rng: hutchinson(mv, n, m, rng, lambda r, k: r.random(k)), "mean 0"),
        (lambda mv, n, m, rng: hutchinson(mv, n, m // 2, rng), "m = "),
    ],
    "08.rescaled_hessian": [
        (lambda H, s: np.diag(s) @ H @ np.diag(s), "not D H D"),
        (lambda H, s: np.diag(1 / s) @ H, "both sides"),
        (lambda H, s: H / s[:, None] ** 2, "diagonal only"),
    ],
    "08.bezier_point": [
        (lambda a, m, b, t: (1 - t) ** 2 * a + t * (1 - t) * m + t ** 2 * b, "2t(1 - t)"),
        (lambda a, m, b, t: (1 - t) * a + t * b, "straight segment"),
        (lambda a, m, b, t: t ** 2 * a + 2 * t * (1 - t) * m + (1 - t) ** 2 * b, "starts at theta_a"),
        (lambda a, m, b, t: (1 - t) * a + 2 * t * (1 - t) * m + t * b, "Square the end weights"),
    ],
    "08.loss_barrier": [
        (lambda ts, losses: losses.max() - max(losses[0], losses[-1]), "higher end point"),
        (lambda ts, losses: losses.max() - 0.5 * (losses[0] + losses[-1]), "mean of the end losses"),
        (lambda ts, losses: losses.max() - losses[0], "not from L(0)"),
        (lambda ts, losses: ts[np.argmax(losses - ((1 - ts) * losses[0] + ts * losses[-1]))], "not where it is"),
        (lambda ts, losses: losses.max(), "largest excess"),
    ],
    "08.trajectory_pca": [
        (_pca_mean_centred, "not at their mean"),
        (_pca_left, "right singular vectors"),
        (lambda traj: (lambda d: (d, traj @ d.T))(np.linalg.svd(traj, full_matrices=False)[2][:2]),
         "Subtract the final"),
        (_pca_raw_coords, "Project the displacements"),
    ],
}


def test_the_power_iteration_cases_include_a_dominant_negative_eigenvalue():
    """Returning |lambda| or the dominant eigenvalue must fail on every seed: some case has lambda_min < -lambda_max."""
    from course_lib.checks.ch08_loss_landscapes import _spectrum

    class T:
        rng = np.random.default_rng(0)

    for kind in ("negative", "all negative"):
        for _ in range(20):
            ev = _spectrum(T, kind, 6)
            assert abs(ev.min()) > abs(ev.max()) or ev.max() < 0


globals().update(contract_tests("08", CORRECT, WRONG, seeds=SEEDS, wrong_seeds=SEEDS[:4], min_questions=10))
