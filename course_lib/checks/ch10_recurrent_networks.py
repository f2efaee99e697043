r"""Chapter 10: the graded questions on recurrent networks.

The references are :mod:`course_lib.recurrent` (the recurrence, BPTT, state Jacobians, clipping;
tested against ``torch.nn.RNN``, torch's autograd and ``clip_grad_norm_`` in ``tests/test_recurrent.py``)
and the engine's cells (:mod:`course_lib.autograd.recurrent`, tested against ``torch.nn.LSTMCell``
and ``GRUCell``). Every check draws fresh sizes and arrays from ``t.rng``. The named slips: the
LSTM gate order (i, f, o, g or i, g, f, o instead of i, f, g, o), GRU's reset gate outside
:math:`\mathbf{W}_{hn}\mathbf{h} + \mathbf{b}_{hn}` and its update gate swapped, clipping each gradient
by its own norm instead of by the global norm, forgetting to detach the hidden state between
truncated-BPTT windows (or resetting it to zero), the softmax over the wrong axis, the largest
singular value used for the spectral radius, tanh' forgotten in BPTT, a missing bias.
No torch at import time (or at all): the checks run in NumPy and the engine.
"""
from __future__ import annotations

import numpy as np

from course_lib import recurrent as R
from course_lib.autograd import Tensor
from course_lib.autograd.recurrent import GRUCell, LSTMCell
from course_lib.grading import Tester, question


def _known(mistakes: dict) -> dict:
    """The mistakes that apply to this case (None where a slip gives the right answer)."""
    return {hint: value for hint, value in mistakes.items() if value is not None}


def _sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))  # overflow-free


def _rnn_params(t: Tester, n_in: int, n_h: int, scale: float = 0.5):
    return (scale * t.rng.standard_normal((n_h, n_in)), scale * t.rng.standard_normal((n_h, n_h)),
            0.3 * t.rng.standard_normal(n_h), 0.3 * t.rng.standard_normal(n_h))


# -- 1. the recurrence ---------------------------------------------------------------------------------------
@question("10.rnn_forward", title="A vanilla RNN's hidden states")
def _check_rnn_forward(t: Tester):
    for T, n_in, n_h in [(1, 2, 3), (5, 3, 3), (int(t.rng.integers(4, 9)), int(t.rng.integers(2, 5)), 4)]:
        W_ih, W_hh, b_ih, b_hh = _rnn_params(t, n_in, n_h)
        x, h0 = t.rng.standard_normal((T, n_in)), t.rng.standard_normal(n_h)
        ref = R.rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh)[1:]
        case = {"x": x, "h0": h0, "W_ih": W_ih, "W_hh": W_hh, "b_ih": b_ih, "b_hh": b_hh}
        t.expect_close(t.call(x, h0, W_ih, W_hh, b_ih, b_hh), ref, case=case, mistakes=_known({
            "Both biases are added: W_ih x_t + b_ih + W_hh h_{t-1} + b_hh (you left out b_hh).":
                R.rnn_forward(x, h0, W_ih, W_hh, b_ih, None)[1:],
            "W_hh multiplies the state as a column: W_hh h_{t-1}, i.e. h @ W_hh.T for a row (you used W_hh^T).":
                R.rnn_forward(x, h0, W_ih, W_hh.T, b_ih, b_hh)[1:],
            "Return h_1, ..., h_T (T rows): not h_0.": R.rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh)[:-1],
            "The state is tanh of the pre-activation: h_t = tanh(z_t), z_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh.":
                R.rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, activation="linear")[1:],
        }))


# -- 2. BPTT -------------------------------------------------------------------------------------------------
@question("10.bptt_h0", title="Backpropagation through time to the initial state")
def _check_bptt(t: Tester):
    for T, n_in, n_h in [(1, 2, 3), (4, 2, 3), (int(t.rng.integers(5, 10)), 3, int(t.rng.integers(3, 6)))]:
        W_ih, W_hh, b_ih, b_hh = _rnn_params(t, n_in, n_h, scale=0.7)
        x, h0, c = t.rng.standard_normal((T, n_in)), t.rng.standard_normal(n_h), t.rng.standard_normal(n_h)
        grad_h = np.zeros((T + 1, n_h))
        grad_h[-1] = c
        ref = R.rnn_bptt(x, h0, W_ih, W_hh, b_ih, b_hh, grad_h)["h0"]
        hs = R.rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh)
        no_tanh = c.copy()
        wrong_t = c.copy()
        transposed = c.copy()
        for s in range(T, 0, -1):
            no_tanh = W_hh.T @ no_tanh
            wrong_t = W_hh.T @ (wrong_t * (1 - hs[s - 1] ** 2))
            transposed = W_hh @ (transposed * (1 - hs[s] ** 2))
        case = {"x": x, "h0": h0, "W_ih": W_ih, "W_hh": W_hh, "b_ih": b_ih, "b_hh": b_hh, "c": c}
        t.expect_close(t.call(x, h0, W_ih, W_hh, b_ih, b_hh, c), ref, case=case, mistakes=_known({
            "Each step multiplies by diag(1 - h_t^2) before W_hh^T: tanh' = 1 - tanh^2 (you left it out).": no_tanh,
            "Use tanh'(z_t) = 1 - h_t^2 of the step's *output* h_t, not of its input h_{t-1}.": wrong_t,
            "Backwards, the state's gradient is multiplied by W_hh^T (the transpose), not W_hh.": transposed
            if not np.allclose(W_hh, W_hh.T) else None,
        }))


# -- 3-4. the Jacobian norm and its growth rate --------------------------------------------------------------
@question("10.jacobian_norms", title="||dh_t/dh_0|| of a linear RNN")
def _check_jacobian_norms(t: Tester):
    for n, T in [(2, 3), (4, 6), (int(t.rng.integers(3, 7)), int(t.rng.integers(5, 12)))]:
        W = R.random_with_radius(n, float(t.rng.uniform(0.7, 1.2)), t.rng)  # non-normal: norm != rho^t
        ref = R.jacobian_norms(W, T)
        rho = R.spectral_radius(W)
        powers = [np.linalg.matrix_power(W, k) for k in range(T + 1)]
        t.expect_close(t.call(W, T), ref, case={"W": W, "T": T}, mistakes=_known({
            "rho(W)^t is the norm's growth *rate* (Gelfand), not the norm itself: for a W that is not normal, "
            "||W^t||_2 is larger. Compute the matrix power.": rho ** np.arange(T + 1),
            "||.||_2 of a matrix is its largest singular value, not the Frobenius norm.":
                np.array([np.linalg.norm(P) for P in powers]),
            "Return t = 0, ..., T (T + 1 values; ||dh_0/dh_0|| = ||I|| = 1).": ref[1:],
            "||W^t|| is not ||W||^t (that is only an upper bound).": np.linalg.norm(W, 2) ** np.arange(T + 1),
        }))


@question("10.growth_rate", title="The per-step growth rate log rho(W)")
def _check_growth_rate(t: Tester):
    for n in [2, 3, int(t.rng.integers(4, 9))]:
        W = t.rng.standard_normal((n, n)) * float(t.rng.uniform(0.2, 0.6))
        W[0, -1] += 3.0  # make it clearly non-normal: ||W||_2 well above rho(W)
        eig = np.linalg.eigvals(W)
        ref = float(np.log(np.abs(eig).max()))
        t.expect_close(t.call(W), ref, case={"W": W}, mistakes=_known({
            "The spectral radius is the largest |eigenvalue|, not the largest singular value ||W||_2.":
                float(np.log(np.linalg.norm(W, 2))),
            "Return the log: the norm behaves like rho^T, so log ||.|| grows by log rho per step.":
                float(np.abs(eig).max()),
            "Take the modulus |lambda| (eigenvalues can be complex, or negative), not the largest real part.":
                float(np.log(np.max(eig.real))) if np.max(eig.real) > 0 and
                not np.isclose(np.max(eig.real), np.abs(eig).max()) else None,
        }))


# -- 5. clipping ---------------------------------------------------------------------------------------------
@question("10.clip_grad_norm", title="Clipping gradients by their global norm")
def _check_clip(t: Tester):
    shapes = [[(3, 2), (2,)], [(4,), (2, 2), (1,)], [(int(t.rng.integers(2, 5)), 3), (5,), (2, 2, 2)]]
    for shapes_k, scale, max_norm in zip(shapes, [5.0, 0.05, 3.0], [1.0, 1.0, float(t.rng.uniform(0.2, 2.0))]):
        grads = [scale * t.rng.standard_normal(s) for s in shapes_k]
        ref, total = R.clip_grad_norm(grads, max_norm)
        each = [g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6)) for g in grads]
        always = [g * max_norm / (total + 1e-6) for g in grads]
        no_eps = [g * min(1.0, max_norm / total) for g in grads]
        got = t.call([g.copy() for g in grads], max_norm)
        got = t.parts(got, [f"grad {k}" for k in range(len(grads))], case={"grads": grads, "max_norm": max_norm})
        flat = lambda gs: np.concatenate([np.ravel(g) for g in gs])  # noqa: E731
        try:
            got_flat = flat(got)
        except ValueError:
            t.fail("Return one clipped array per gradient, each of its gradient's shape.")
        t.expect_close(got_flat, flat(ref), rtol=1e-10, atol=1e-14, case={"grads": grads, "max_norm": max_norm},
                       mistakes=_known({
            "Clip by the *global* norm sqrt(sum_k ||grad_k||^2) of all gradients together: clipping each gradient "
            "by its own norm changes the update's direction.": flat(each) if not np.allclose(flat(each), flat(ref))
            else None,
            "Only scale down: the factor is min(1, max_norm / (total + 1e-6)); a gradient already below "
            "max_norm is left alone.": flat(always) if total < max_norm else None,
            "Divide by (total + 1e-6), as torch.nn.utils.clip_grad_norm_ does.": flat(no_eps)
            if total > max_norm else None,
        }))
        for g, r in zip(got, ref):
            t.expect(np.shape(g) == r.shape, f"A clipped gradient has shape {np.shape(g)}, expected {r.shape}.",
                     hint="Keep each gradient's shape: scale it, do not flatten it.")


# -- 6-7. the gated cells ------------------------------------------------------------------------------------
def _cell_case(t: Tester, G: int, B: int, n_in: int, n_h: int):
    W_ih, W_hh = t.rng.standard_normal((G * n_h, n_in)), t.rng.standard_normal((G * n_h, n_h))
    b_ih, b_hh = t.rng.standard_normal(G * n_h), t.rng.standard_normal(G * n_h)
    return t.rng.standard_normal((B, n_in)), t.rng.standard_normal((B, n_h)), W_ih, W_hh, b_ih, b_hh


def _engine_cell(cls, W_ih, W_hh, b_ih, b_hh):
    cell = cls(W_ih.shape[1], W_hh.shape[1], dtype=np.float64)
    for name, v in zip(["weight_ih", "weight_hh", "bias_ih", "bias_hh"], [W_ih, W_hh, b_ih, b_hh]):
        setattr(cell, name, Tensor(v))
    return cell


def _lstm_np(x, h, c, W_ih, W_hh, b_ih, b_hh, order="ifgo"):
    a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    parts = dict(zip(order, np.split(a, 4, axis=1)))
    c_new = _sigmoid(parts["f"]) * c + _sigmoid(parts["i"]) * np.tanh(parts["g"])
    return _sigmoid(parts["o"]) * np.tanh(c_new), c_new


@question("10.lstm_cell", title="One LSTM step with torch's gate order")
def _check_lstm(t: Tester):
    for B, n_in, n_h in [(1, 2, 2), (3, 3, 4), (int(t.rng.integers(2, 5)), int(t.rng.integers(2, 5)), 3)]:
        x, h, W_ih, W_hh, b_ih, b_hh = _cell_case(t, 4, B, n_in, n_h)
        c = t.rng.standard_normal((B, n_h))
        h_ref, c_ref = (v.data for v in _engine_cell(LSTMCell, W_ih, W_hh, b_ih, b_hh)(Tensor(x), (Tensor(h), Tensor(c))))
        ref = np.stack([h_ref, c_ref])
        case = {"x": x, "h": h, "c": c, "W_ih": W_ih, "W_hh": W_hh, "b_ih": b_ih, "b_hh": b_hh}
        got = t.parts(t.call(x, h, c, W_ih, W_hh, b_ih, b_hh), ["h_new", "c_new"], case=case)
        try:
            got = np.stack([np.asarray(v, dtype=float) for v in got])
        except ValueError:
            t.fail(f"h_new and c_new must both have shape {h.shape}.", case=case)
        slips = {
            "torch stacks the LSTM's gates in the order i, f, g, o (input, forget, cell candidate, output): you "
            "used i, f, o, g.": "ifog",
            "torch stacks the LSTM's gates in the order i, f, g, o: you used f, i, g, o.": "figo",
            "torch stacks the LSTM's gates in the order i, f, g, o: you used i, g, f, o.": "igfo",
        }
        mistakes = {hint: np.stack(_lstm_np(x, h, c, W_ih, W_hh, b_ih, b_hh, order)) for hint, order in slips.items()}
        a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
        i, f, g, o = np.split(a, 4, axis=1)
        c_sig = _sigmoid(f) * c + _sigmoid(i) * _sigmoid(g)
        mistakes["The candidate g goes through tanh (values in (-1, 1)), not the sigmoid."] = \
            np.stack([_sigmoid(o) * np.tanh(c_sig), c_sig])
        mistakes["h_new = o * tanh(c_new): squash the new cell state before the output gate."] = \
            np.stack([_sigmoid(o) * c_ref, c_ref])
        t.expect_close(got, ref, case=case, mistakes=mistakes)


def _gru_np(x, h, W_ih, W_hh, b_ih, b_hh, variant="torch"):
    H = h.shape[1]
    ax, ah = x @ W_ih.T + b_ih, h @ W_hh.T + b_hh
    if variant == "zrn":
        z, r = _sigmoid(ax[:, :H] + ah[:, :H]), _sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    else:
        r, z = _sigmoid(ax[:, :H] + ah[:, :H]), _sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    if variant == "reset-before":  # Cho et al.'s original: r applied to h before the product
        n = np.tanh(ax[:, 2 * H:] + (r * h) @ W_hh[2 * H:].T + b_hh[2 * H:])
    elif variant == "bias-outside":
        n = np.tanh(ax[:, 2 * H:] + r * (h @ W_hh[2 * H:].T) + b_hh[2 * H:])
    else:
        n = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
    if variant == "swapped":
        return z * n + (1 - z) * h
    return (1 - z) * n + z * h


@question("10.gru_cell", title="One GRU step with torch's equations")
def _check_gru(t: Tester):
    for B, n_in, n_h in [(1, 2, 2), (3, 3, 4), (int(t.rng.integers(2, 5)), int(t.rng.integers(2, 5)), 3)]:
        x, h, W_ih, W_hh, b_ih, b_hh = _cell_case(t, 3, B, n_in, n_h)
        ref = _engine_cell(GRUCell, W_ih, W_hh, b_ih, b_hh)(Tensor(x), Tensor(h)).data
        case = {"x": x, "h": h, "W_ih": W_ih, "W_hh": W_hh, "b_ih": b_ih, "b_hh": b_hh}
        t.expect_close(t.call(x, h, W_ih, W_hh, b_ih, b_hh), ref, case=case, mistakes={
            "torch applies the reset gate to the whole term: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); you "
            "used the original paper's W_hn (r * h).": _gru_np(x, h, W_ih, W_hh, b_ih, b_hh, "reset-before"),
            "The reset gate multiplies W_hn h + b_hn, bias included.":
                _gru_np(x, h, W_ih, W_hh, b_ih, b_hh, "bias-outside"),
            "h_new = (1 - z) * n + z * h: z is the share of the *old* state kept (you swapped z and 1 - z).":
                _gru_np(x, h, W_ih, W_hh, b_ih, b_hh, "swapped"),
            "torch stacks the GRU's gates in the order r, z, n: you used z, r, n.":
                _gru_np(x, h, W_ih, W_hh, b_ih, b_hh, "zrn"),
        })


# -- 8. truncated BPTT ---------------------------------------------------------------------------------------
def _tbptt(x, W_ih, W_hh, C, k, mode="detach"):
    """dL/dW_hh for L = sum_t <C_t, h_t> (h_0 = 0, no bias), windows of k steps."""
    n_h = W_hh.shape[0]
    h = np.zeros(n_h)
    total = np.zeros_like(W_hh)
    for start in range(0, len(x), k):
        xs = x[start:start + k]
        grad_h = np.zeros((len(xs) + 1, n_h))
        grad_h[1:] = C[start:start + len(xs)]
        h_start = np.zeros(n_h) if mode == "reset" else h
        total += R.rnn_bptt(xs, h_start, W_ih, W_hh, None, None, grad_h)["W_hh"]
        h = R.rnn_forward(xs, h_start, W_ih, W_hh)[-1]
    return total


@question("10.tbptt_grad", title="Truncated BPTT: carry the state, cut the gradient")
def _check_tbptt(t: Tester):
    for T, k, n_in, n_h in [(4, 2, 2, 2), (9, 3, 2, 3), (int(t.rng.integers(8, 15)), int(t.rng.integers(2, 5)), 3, 3)]:
        W_ih, W_hh = 0.8 * t.rng.standard_normal((n_h, n_in)), 0.8 * t.rng.standard_normal((n_h, n_h))
        x, C = t.rng.standard_normal((T, n_in)), t.rng.standard_normal((T, n_h))
        case = {"x": x, "W_ih": W_ih, "W_hh": W_hh, "C": C, "k": k}
        t.expect_close(t.call(x, W_ih, W_hh, C, k), _tbptt(x, W_ih, W_hh, C, k), case=case, mistakes={
            "That is the full BPTT gradient: you forgot to detach the hidden state between windows, so the "
            "gradient flowed back into earlier windows. Start each window from h.detach() (its value, no history).":
                _tbptt(x, W_ih, W_hh, C, len(x)),
            "Carry the state's *value* into the next window (only its gradient is cut): you restarted each "
            "window from zeros.": _tbptt(x, W_ih, W_hh, C, k, "reset"),
            "Add the windows' gradients: the weights are shared by every window.":
                _tbptt(x[-((T - 1) % k + 1):], W_ih, W_hh, C[-((T - 1) % k + 1):], k) if T > k else None,
        })


# -- 9. temperature -----------------------------------------------------------------------------------------
def _softmax(z, axis=-1):
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


@question("10.temperature_probs", title="Sampling probabilities at temperature tau")
def _check_temperature(t: Tester):
    # The last case's logits / tau reach ~1e3: exp overflows unless each row's max is subtracted first
    # (the grader's own hint for a non-finite answer says so).
    for B, K, tau, scale in [(2, 3, 1.0, 1.0), (4, 5, 0.5, 3.0), (3, 6, 2.0, 2.0),
                             (int(t.rng.integers(2, 6)), int(t.rng.integers(7, 12)), float(t.rng.uniform(0.02, 0.1)), 100.0)]:
        z = scale * t.rng.standard_normal((B, K))
        ref = _softmax(z / tau)
        case = {"logits": z, "tau": tau}
        t.expect_close(t.call(z, tau), ref, case=case, atol=1e-12, mistakes=_known({
            "Each row (one example's K logits) is one distribution: take the softmax over axis=-1, not over the "
            "batch (axis=0).": _softmax(z / tau, axis=0),
            "Divide the logits by tau (tau < 1 sharpens, tau > 1 flattens), do not multiply.":
                _softmax(z * tau) if tau != 1.0 else None,
        }))


# -- 10. the cell state's additive path ---------------------------------------------------------------------
@question("10.cell_state_gradient", title="The LSTM cell state's gradient along its additive path")
def _check_cell_path(t: Tester):
    for T, n_h in [(1, 2), (5, 3), (int(t.rng.integers(10, 60)), int(t.rng.integers(2, 6)))]:
        f = t.rng.uniform(0.5, 1.0, (T, n_h))
        i = t.rng.uniform(0.0, 1.0, (T, n_h))
        ref = np.prod(f, axis=0)
        case = {"f": f, "i": i}
        t.expect_close(t.call(f, i), ref, case=case, rtol=1e-9, atol=1e-300, mistakes={
            "c_t = f_t * c_{t-1} + i_t * g_t: along the cell state, each step multiplies by f_t; the sum is the "
            "gradient's log (sum of log f_t), exponentiate it.": np.sum(np.log(f), axis=0),
            "Multiply the forget gates, do not add them.": np.sum(f, axis=0),
            "The input gate scales what is written (i_t * g_t), not what is kept: only f_t is on the path "
            "from c_{t-1} to c_t.": np.prod(f * i, axis=0),
            "Multiply over time (axis 0), one product per unit.": np.prod(f, axis=1),
        })


# -- 11. parameter counts -----------------------------------------------------------------------------------
@question("10.rnn_param_count", title="Parameters of nn.RNN, nn.GRU and nn.LSTM")
def _check_params(t: Tester):
    cases = [("rnn", 1, 1), ("lstm", 3, 5), ("gru", 4, 2)]
    cases += [(str(c), int(t.rng.integers(2, 50)), int(t.rng.integers(2, 100))) for c in t.rng.permutation(["rnn", "gru", "lstm"])]
    for cell, n_in, n_h in cases:
        G = {"rnn": 1, "gru": 3, "lstm": 4}[cell]
        ref = G * n_h * (n_in + n_h) + 2 * G * n_h
        t.expect_close(t.call(cell, n_in, n_h), ref, atol=0, case={"cell": cell, "input_size": n_in, "hidden_size": n_h},
                       mistakes=_known({
            "torch keeps two bias vectors per layer, bias_ih and bias_hh (each G n_h).": ref - G * n_h,
            "The LSTM stacks G = 4 gates (i, f, g, o) and the GRU G = 3 (r, z, n).": (n_h * (n_in + n_h) + 2 * n_h)
            if G > 1 else None,
            "weight_hh is (G n_h, n_h): n_h columns, not n_in.": G * n_h * 2 * n_in + 2 * G * n_h
            if n_in != n_h else None,
        }))
