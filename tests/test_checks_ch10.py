"""Chapter 10 checks: references and alternative correct answers pass, stubs are "not attempted",
hard-coded and plausible wrong answers fail with the hint aimed at that slip."""
import numpy as np
import torch

from check_contract import contract_tests
from course_lib import recurrent as R
from course_lib.autograd import Tensor

SEEDS = [1, 2, 3, 4, 5]


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


# -- references and alternatives, in the learner's signatures ------------------------------------------------
def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    hs, h = [], h0
    for x_t in x:
        h = np.tanh(W_ih @ x_t + b_ih + W_hh @ h + b_hh)
        hs.append(h)
    return np.array(hs)


def rnn_forward_torch(x, h0, W_ih, W_hh, b_ih, b_hh):
    rnn = torch.nn.RNN(W_ih.shape[1], W_hh.shape[0]).double()
    with torch.no_grad():
        for name, v in zip(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"], [W_ih, W_hh, b_ih, b_hh]):
            getattr(rnn, name).copy_(torch.tensor(v))
        return rnn(torch.tensor(x), torch.tensor(h0)[None])[0].numpy()


def bptt_h0(x, h0, W_ih, W_hh, b_ih, b_hh, c):
    hs = [h0]
    for x_t in x:
        hs.append(np.tanh(W_ih @ x_t + b_ih + W_hh @ hs[-1] + b_hh))
    h_bar = c  # dL/dh_T; each step back multiplies delta_t = dL/dz_t = h_bar_t * tanh' by W_hh^T
    for t in range(len(x), 0, -1):
        h_bar = W_hh.T @ (h_bar * (1 - hs[t] ** 2))
    return h_bar


def bptt_h0_torch(x, h0, W_ih, W_hh, b_ih, b_hh, c):
    h = torch.tensor(h0, requires_grad=True)
    hs = h
    for x_t in x:
        hs = torch.tanh(torch.tensor(W_ih) @ torch.tensor(x_t) + torch.tensor(b_ih) + torch.tensor(W_hh) @ hs
                        + torch.tensor(b_hh))
    (hs * torch.tensor(c)).sum().backward()
    return h.grad.numpy()


def jacobian_norms(W, T):
    return np.array([np.linalg.norm(np.linalg.matrix_power(W, t), 2) for t in range(T + 1)])


def growth_rate(W):
    return float(np.log(np.max(np.abs(np.linalg.eigvals(W)))))


def clip(grads, max_norm):
    total = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    coef = min(1.0, max_norm / (total + 1e-6))
    return [g * coef for g in grads]


def clip_torch(grads, max_norm):
    ps = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(ps, grads):
        p.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_norm_(ps, max_norm)
    return [p.grad.numpy() for p in ps]


def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    i, f, g, o = np.split(a, 4, axis=1)
    c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c_new), c_new


def lstm_cell_torch(x, h, c, W_ih, W_hh, b_ih, b_hh):
    cell = torch.nn.LSTMCell(W_ih.shape[1], h.shape[1]).double()
    with torch.no_grad():
        for name, v in zip(["weight_ih", "weight_hh", "bias_ih", "bias_hh"], [W_ih, W_hh, b_ih, b_hh]):
            getattr(cell, name).copy_(torch.tensor(v))
        h2, c2 = cell(torch.tensor(x), (torch.tensor(h), torch.tensor(c)))
    return h2.numpy(), c2.numpy()


def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    H = h.shape[1]
    ax, ah = x @ W_ih.T + b_ih, h @ W_hh.T + b_hh
    r, z = sigmoid(ax[:, :H] + ah[:, :H]), sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    n = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
    return (1 - z) * n + z * h


def gru_cell_torch(x, h, W_ih, W_hh, b_ih, b_hh):
    cell = torch.nn.GRUCell(W_ih.shape[1], h.shape[1]).double()
    with torch.no_grad():
        for name, v in zip(["weight_ih", "weight_hh", "bias_ih", "bias_hh"], [W_ih, W_hh, b_ih, b_hh]):
            getattr(cell, name).copy_(torch.tensor(v))
        return cell(torch.tensor(x), torch.tensor(h)).numpy()


def tbptt(x, W_ih, W_hh, C, k, detach=True):
    """The engine way: each window starts from the previous window's last state, detached."""
    Wi, Wh = Tensor(W_ih), Tensor(W_hh, requires_grad=True)
    h = Tensor(np.zeros(W_hh.shape[0]))
    for start in range(0, len(x), k):
        if detach:
            h = h.detach()
        loss = 0.0
        for t in range(start, min(start + k, len(x))):
            h = (Wi @ Tensor(x[t]) + Wh @ h).tanh()
            loss = loss + (h * Tensor(C[t])).sum()
        loss.backward()  # the gradients of every window add up in Wh.grad
    return Wh.grad


def tbptt_torch(x, W_ih, W_hh, C, k):
    Wh = torch.tensor(W_hh, requires_grad=True)
    h = torch.zeros(W_hh.shape[0], dtype=torch.float64)
    for start in range(0, len(x), k):
        h = h.detach()
        loss = 0
        for t in range(start, min(start + k, len(x))):
            h = torch.tanh(torch.tensor(W_ih) @ torch.tensor(x[t]) + Wh @ h)
            loss = loss + (h * torch.tensor(C[t])).sum()
        loss.backward()
    return Wh.grad.numpy()


def full_bptt(x, W_ih, W_hh, C, k):
    Wh = torch.tensor(W_hh, requires_grad=True)
    h = torch.zeros(W_hh.shape[0], dtype=torch.float64)
    loss = 0
    for t in range(len(x)):
        h = torch.tanh(torch.tensor(W_ih) @ torch.tensor(x[t]) + Wh @ h)
        loss = loss + (h * torch.tensor(C[t])).sum()
    loss.backward()
    return Wh.grad.numpy()


def softmax_tau(z, tau):
    e = np.exp(z / tau - (z / tau).max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def naive_softmax_tau(z, tau):
    """The slip: exp without subtracting the row's max (overflows for large z / tau)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(z / tau) / np.exp(z / tau).sum(axis=1, keepdims=True)


def param_count(cell, n_in, n_h):
    layer = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell](n_in, n_h)
    return sum(p.numel() for p in layer.parameters())


CORRECT = {
    "10.rnn_forward": (lambda *a: R.rnn_forward(*a)[1:], [rnn_forward, rnn_forward_torch], lambda *a: np.zeros((3, 3))),
    "10.bptt_h0": (bptt_h0, [bptt_h0_torch], lambda *a: np.ones(3)),
    "10.jacobian_norms": (R.jacobian_norms, [jacobian_norms], lambda W, T: np.ones(T + 1)),
    "10.growth_rate": (growth_rate, [lambda W: float(np.log(R.spectral_radius(W)))], lambda W: -0.1),
    "10.clip_grad_norm": (lambda g, m: R.clip_grad_norm(g, m)[0], [clip, clip_torch], lambda g, m: g),
    "10.lstm_cell": (lstm_cell, [lstm_cell_torch], lambda *a: (np.zeros((1, 2)), np.zeros((1, 2)))),
    "10.gru_cell": (gru_cell, [gru_cell_torch], lambda *a: np.zeros((1, 2))),
    "10.tbptt_grad": (tbptt, [tbptt_torch], lambda *a: np.zeros((2, 2))),
    "10.temperature_probs": (softmax_tau, [lambda z, tau: torch.softmax(torch.tensor(z) / tau, dim=-1).numpy()],
                             lambda z, tau: np.full(z.shape, 1 / z.shape[1])),
    "10.cell_state_gradient": (lambda f, i: np.prod(f, axis=0), [lambda f, i: np.exp(np.log(f).sum(axis=0))],
                               lambda f, i: np.ones(f.shape[1])),
    "10.rnn_param_count": (lambda c, i, h: {"rnn": 1, "gru": 3, "lstm": 4}[c] * h * (i + h + 2), [param_count],
                           lambda *a: 100),
}


def lstm_order(order):
    def cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
        a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
        p = dict(zip(order, np.split(a, 4, axis=1)))
        c_new = sigmoid(p["f"]) * c + sigmoid(p["i"]) * np.tanh(p["g"])
        return sigmoid(p["o"]) * np.tanh(c_new), c_new
    return cell


def gru_reset_before(x, h, W_ih, W_hh, b_ih, b_hh):
    H = h.shape[1]
    ax, ah = x @ W_ih.T + b_ih, h @ W_hh.T + b_hh
    r, z = sigmoid(ax[:, :H] + ah[:, :H]), sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    n = np.tanh(ax[:, 2 * H:] + (r * h) @ W_hh[2 * H:].T + b_hh[2 * H:])
    return (1 - z) * n + z * h


def gru_swapped(x, h, *w):
    H = h.shape[1]
    W_ih, W_hh, b_ih, b_hh = w
    ax, ah = x @ W_ih.T + b_ih, h @ W_hh.T + b_hh
    r, z = sigmoid(ax[:, :H] + ah[:, :H]), sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    n = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
    return z * n + (1 - z) * h


def tbptt_reset(x, W_ih, W_hh, C, k):
    grads = np.zeros_like(W_hh)
    for start in range(0, len(x), k):
        grads += full_bptt(x[start:start + k], W_ih, W_hh, C[start:start + k], k)
    return grads


WRONG = {
    "10.rnn_forward": [(lambda x, h0, W_ih, W_hh, b_ih, b_hh: R.rnn_forward(x, h0, W_ih, W_hh, b_ih)[1:], "b_hh"),
                       (lambda x, h0, W_ih, W_hh, b_ih, b_hh: R.rnn_forward(x, h0, W_ih, W_hh.T, b_ih, b_hh)[1:],
                        "W_hh^T")],
    "10.bptt_h0": [(lambda x, h0, W_ih, W_hh, b_ih, b_hh, c: np.linalg.matrix_power(W_hh.T, len(x)) @ c, "tanh'")],
    "10.jacobian_norms": [(lambda W, T: R.spectral_radius(W) ** np.arange(T + 1), "Gelfand"),
                          (lambda W, T: np.array([np.linalg.norm(np.linalg.matrix_power(W, t))
                                                  for t in range(T + 1)]), "Frobenius")],
    "10.growth_rate": [(lambda W: float(np.log(np.linalg.norm(W, 2))), "singular value"),
                       (lambda W: R.spectral_radius(W), "log")],
    "10.clip_grad_norm": [(lambda g, m: [x * min(1, m / (np.linalg.norm(x) + 1e-6)) for x in g], "global"),
                          (lambda g, m: [x * m / (np.sqrt(sum((y ** 2).sum() for y in g)) + 1e-6) for x in g],
                           "min(1")],
    "10.lstm_cell": [(lstm_order("ifog"), "i, f, g, o"), (lstm_order("figo"), "i, f, g, o")],
    "10.gru_cell": [(gru_reset_before, "r * (W_hn h + b_hn)"), (gru_swapped, "swapped")],
    "10.tbptt_grad": [(full_bptt, "detach"), (tbptt_reset, "zeros")],
    "10.temperature_probs": [(lambda z, tau: softmax_tau(z.T, tau).T, "axis"),
                             (lambda z, tau: softmax_tau(z * tau * tau, tau), "Divide"),
                             (naive_softmax_tau, "overflow")],
    "10.cell_state_gradient": [(lambda f, i: np.sum(f, axis=0), "Multiply"),
                               (lambda f, i: np.prod(f * i, axis=0), "input gate")],
    "10.rnn_param_count": [(lambda c, i, h: {"rnn": 1, "gru": 3, "lstm": 4}[c] * h * (i + h + 1), "two bias"),
                           (lambda c, i, h: h * (i + h + 2), "G = 4")],
}

globals().update(contract_tests("10", CORRECT, WRONG, seeds=SEEDS))
