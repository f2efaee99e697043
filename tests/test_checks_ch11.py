"""Chapter 11 checks: references and alternative correct answers pass, stubs are "not attempted",
hard-coded and plausible wrong answers fail with the hint aimed at that slip (among them a missing mask,
a mask applied after the softmax, the softmax over the wrong axis and the scale sqrt(d_model))."""
import numpy as np
import torch

from check_contract import contract_tests
from course_lib import attention as A
from course_lib.probability.stable_softmax import softmax

SEEDS = [1, 2, 3, 4, 5]
tt = torch.tensor


# -- references and alternatives, in the learner's signatures ------------------------------------------------
def lookup_loops(q, keys, values):
    scores = [float(np.dot(k, q)) for k in keys]
    m = max(scores)
    e = [np.exp(s - m) for s in scores]
    return sum(ei * v for ei, v in zip(e, values)) / sum(e)


def weights_torch(Q, K, mask):
    logits = tt(Q) @ tt(K).transpose(-1, -2) / Q.shape[-1] ** 0.5
    return torch.softmax(logits.masked_fill(~tt(mask), -torch.inf), -1).numpy()


def weights_renormalized(Q, K, mask):
    """Mask after the softmax AND renormalize: the same distribution, another correct way."""
    p = softmax(Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])) * mask
    return p / p.sum(-1, keepdims=True)


def sdpa_torch(Q, K, V, causal):
    return torch.nn.functional.scaled_dot_product_attention(tt(Q), tt(K), tt(V), is_causal=causal).numpy()


def causal_loops(T):
    return np.array([[s <= t for s in range(T)] for t in range(T)], dtype=bool).reshape(T, T)


def split_einops_style(x, h):
    B, T, d = x.shape
    return np.stack([x[:, :, i * (d // h):(i + 1) * (d // h)] for i in range(h)], axis=1)


def mha_reference(x, Wq, Wk, Wv, Wo, h):
    return A.multi_head_attention(x, np.concatenate([Wq, Wk, Wv]), None, Wo, None, h, A.causal_mask(x.shape[1]))


def mha_torch(x, Wq, Wk, Wv, Wo, h):
    d = x.shape[-1]
    m = torch.nn.MultiheadAttention(d, h, bias=False, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        m.in_proj_weight.copy_(tt(np.concatenate([Wq, Wk, Wv])))
        m.out_proj.weight.copy_(tt(Wo))
        T = x.shape[1]
        return m(tt(x), tt(x), tt(x), attn_mask=torch.ones(T, T, dtype=torch.bool).triu(1), need_weights=False)[0].numpy()


def mha_loops(x, Wq, Wk, Wv, Wo, h):
    """Head by head, query by query."""
    B, T, d = x.shape
    hs = d // h
    Q, K, V = x @ Wq.T, x @ Wk.T, x @ Wv.T
    out = np.zeros((B, T, d))
    for b in range(B):
        for head in range(h):
            cols = slice(head * hs, (head + 1) * hs)
            for t in range(T):
                s = K[b, :t + 1, cols] @ Q[b, t, cols] / np.sqrt(hs)
                w = np.exp(s - s.max())
                out[b, t, cols] = (w / w.sum()) @ V[b, :t + 1, cols]
    return out @ Wo.T


def pe_loops(T, d):
    pe = np.zeros((T, d))
    for t in range(T):
        for i in range(d // 2):
            pe[t, 2 * i] = np.sin(t / 10000 ** (2 * i / d))
            pe[t, 2 * i + 1] = np.cos(t / 10000 ** (2 * i / d))
    return pe


def shift_by_least_squares(k, d):
    """Fit M from the encodings themselves: PE(t + k) = M PE(t) at 4d positions t spread over [0, 60000],
    solved by least squares (consecutive t would leave the slowest sines almost constant: ill-conditioned)."""
    ts = np.linspace(0, 60_000, 4 * d)
    P = np.array([A.sinusoidal_encoding(1, d, start=t)[0] for t in ts])
    Pk = np.array([A.sinusoidal_encoding(1, d, start=t + k)[0] for t in ts])
    return np.linalg.lstsq(P, Pk, rcond=None)[0].T   # P M^T = Pk


def ln_torch(x, w, b, eps):
    return torch.nn.functional.layer_norm(tt(x), (x.shape[-1],), tt(w), tt(b), eps).numpy()


def block_params_torch(d, h, f):
    layer = torch.nn.TransformerEncoderLayer(d, h, dim_feedforward=f, batch_first=True)
    return sum(p.numel() for p in layer.parameters())


def sampling_torch(z, tau, k):
    z = tt(z) / tau
    if k is not None:
        z[z < torch.topk(z, k).values[-1]] = -torch.inf
    return torch.softmax(z, -1).numpy()


CORRECT = {
    "11.soft_lookup": (lambda q, k, v: A.soft_lookup(q, k, v)[0], [lookup_loops], lambda q, k, v: np.zeros(2)),
    "11.attention_weights": (A.attention_weights, [weights_torch, weights_renormalized],
                             lambda Q, K, m: np.full((4, 4), 0.25)),
    "11.sdpa": (lambda Q, K, V, c: A.scaled_dot_product_attention(Q, K, V, A.causal_mask(Q.shape[-2]) if c else None)[0],
                [sdpa_torch], lambda Q, K, V, c: np.zeros((4, 2))),
    "11.causal_mask": (A.causal_mask, [causal_loops], lambda T: np.tril(np.ones((5, 5), dtype=bool))),
    "11.padding_mask": (A.padding_mask, [lambda lengths, T: (np.arange(T) < np.asarray(lengths)[:, None])
                                         .reshape(len(lengths), 1, 1, T)],
                        lambda lengths, T: np.ones((2, 1, 1, 3), dtype=bool)),
    "11.split_heads": (A.split_heads, [split_einops_style, lambda x, h: tt(x).view(x.shape[0], x.shape[1], h, -1)
                                       .transpose(1, 2).numpy()], lambda x, h: np.zeros((1, 2, 3, 2))),
    "11.multi_head_attention": (mha_reference, [mha_torch, mha_loops], lambda *a: np.zeros((1, 4, 6))),
    "11.sinusoidal_pe": (A.sinusoidal_encoding, [pe_loops], lambda T, d: A.sinusoidal_encoding(10, 8)),
    "11.pe_shift_matrix": (A.pe_shift_matrix, [shift_by_least_squares], lambda k, d: A.pe_shift_matrix(1, 2)),
    "11.layer_norm": (A.layer_norm, [ln_torch], lambda x, w, b, eps: np.zeros((2, 4))),
    "11.block_params": (lambda d, h, f: A.block_param_count(d, h, f)["total"], [block_params_torch],
                        lambda *a: 3_216),
    "11.sampling_distribution": (A.sampling_distribution, [sampling_torch], lambda z, tau, k: np.full(5, 0.2)),
}


def _weights_after(Q, K, mask):
    return softmax(Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])) * mask


def _mha_variant(scale=None, n_heads=None, causal=True):
    def answer(x, Wq, Wk, Wv, Wo, h):
        hh = h if n_heads is None else n_heads
        q, k, v = (A.split_heads(x @ W.T, hh) for W in (Wq, Wk, Wv))
        m = A.causal_mask(x.shape[1]) if causal else None
        sc = None if scale is None else scale(x.shape[-1])
        return A.merge_heads(A.scaled_dot_product_attention(q, k, v, m, sc)[0]) @ Wo.T
    return answer


WRONG = {
    "11.soft_lookup": [(lambda q, k, v: v[np.argmax(k @ q)], "hard lookup"),
                       (lambda q, k, v: np.exp(k @ q) @ v, "Normalize")],
    "11.attention_weights": [(lambda Q, K, m: A.attention_weights(Q, K), "Apply the mask"),
                             (_weights_after, "before the softmax"),
                             (lambda Q, K, m: softmax(np.where(m, Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1]),
                                                               -np.inf), axis=-2), "last axis"),
                             (lambda Q, K, m: A.attention_weights(Q, K, m, scale=1.0), "sqrt(d_k)")],
    "11.sdpa": [(lambda Q, K, V, c: A.scaled_dot_product_attention(Q, K, V)[0], "Apply the mask"),
                (lambda Q, K, V, c: (_weights_after(Q, K, A.causal_mask(Q.shape[-2])) if c else
                                     A.attention_weights(Q, K)) @ V, "before the softmax"),
                (lambda Q, K, V, c: softmax(np.where(A.causal_mask(Q.shape[-2]), Q @ np.swapaxes(K, -1, -2) /
                                                     np.sqrt(Q.shape[-1]), -np.inf) if c else
                                            Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1]), axis=-2) @ V,
                 "last axis")],
    "11.causal_mask": [(lambda T: ~A.causal_mask(T), "may attend"), (lambda T: np.tril(A.causal_mask(T), -1), "diagonal"),
                       (lambda T: A.causal_mask(T).astype(float), "boolean")],
    "11.padding_mask": [(lambda lengths, T: ~A.padding_mask(lengths, T), "padding keys"),
                        (lambda lengths, T: A.padding_mask(lengths, T)[:, 0, 0], "broadcasts")],
    "11.split_heads": [(lambda x, h: x.reshape(x.shape[0], h, x.shape[1], -1), "swap the time and head")],
    "11.multi_head_attention": [(_mha_variant(scale=lambda d: 1 / np.sqrt(d)), "ONE head"),
                                (_mha_variant(causal=False), "Apply the mask"),
                                (_mha_variant(n_heads=1), "Split the width")],
    "11.sinusoidal_pe": [(lambda T, d: A.sinusoidal_encoding(T, d)[:, np.arange(d) ^ 1], "swapped"),
                         (lambda T, d: A.sinusoidal_encoding(T, d, start=1), "t = 0")],
    "11.pe_shift_matrix": [(lambda k, d: A.pe_shift_matrix(-k, d), "M_{-k}")],
    "11.layer_norm": [(lambda x, w, b, eps: (x - x.mean(0)) / np.sqrt(x.var(0) + eps) * w + b, "batch norm"),
                      (lambda x, w, b, eps: (x - x.mean(-1, keepdims=True)) /
                       np.sqrt(x.var(-1, ddof=1, keepdims=True) + eps) * w + b, "biased"),
                      (lambda x, w, b, eps: (x - x.mean(-1, keepdims=True)) / (x.std(-1, keepdims=True) + eps) * w + b,
                       "inside the square root")],
    "11.block_params": [(lambda d, h, f: 4 * d * d + 2 * d * f + 4 * d, "biases"),
                        (lambda d, h, f: A.block_param_count(d, h, f)["total"] - 4 * d, "layer norms")],
    "11.sampling_distribution": [(lambda z, tau, k: A.sampling_distribution(z * tau * tau, tau, k), "Divide the logits"),
                                 (lambda z, tau, k: softmax(z, temperature=tau) * (z >= np.sort(z)[-k] if k else 1), "Renormalize")],
}

globals().update(contract_tests("11", CORRECT, WRONG, seeds=SEEDS))
