r"""Chapter 11: the graded questions on attention, masks, multi-head shapes, positional encodings, layer norm,
the transformer's parameters and sampling.

The references are :mod:`course_lib.attention` (tested against PyTorch in ``tests/test_attention.py``).
Every check draws fresh sizes and arrays from ``t.rng``; ``mistakes`` names the usual slips: a missing mask, a
mask applied after the softmax, the mask's sense inverted, the softmax over the wrong axis, no scaling or scaling
by :math:`\sqrt{d_\text{model}}` instead of :math:`\sqrt{d_k}`, heads split by a reshape without the transpose,
sine and cosine swapped or concatenated, the rotation transposed, layer norm over the batch or with the unbiased
variance, biases or layer norms left out of a count, and temperature or top-k applied after the softmax.
No torch here: the grader imports this module.
"""
from __future__ import annotations

import numpy as np

from course_lib import attention as A
from course_lib.grading import Tester, question
from course_lib.probability.stable_softmax import softmax


def _known(mistakes: dict) -> dict:
    """The mistakes that apply to this case (an entry is None where a slip gives the right answer)."""
    return {hint: value for hint, value in mistakes.items() if value is not None}


def _logits(Q, K, scale=None):
    return Q @ np.swapaxes(K, -1, -2) * (1 / np.sqrt(Q.shape[-1]) if scale is None else scale)


def _after_softmax(Q, K, mask):
    """Softmax first, then zero the masked weights (rows no longer sum to 1): a slip."""
    return softmax(_logits(Q, K)) * mask


WRONG_AXIS = "The softmax runs over the keys, the last axis (axis=-1): each query's row must sum to 1."
MISSING_MASK = "Apply the mask: a False entry may not be attended to, so set its logit to -inf before the softmax."
AFTER_SOFTMAX = ("Mask the logits before the softmax (logit = -inf where the mask is False): zeroing weights after "
                 "the softmax leaves rows that no longer sum to 1.")
INVERTED = "True means 'may attend' (torch's convention): you masked the allowed keys and kept the others."
NO_SCALE = "Divide the logits by sqrt(d_k), d_k = Q.shape[-1]: without it the softmax saturates as d_k grows."
SCALE_D = "Divide by sqrt(d_k), not by d_k: the scale makes the variance of q.k equal to 1, and Var[q.k] = d_k."


# -- 1. the soft lookup ------------------------------------------------------------------------------------------
@question("11.soft_lookup", title="Attention as a soft dictionary lookup")
def _check_lookup(t: Tester):
    for n, d_k, d_v in [(4, 3, 2), (6, 5, 1), (int(t.rng.integers(2, 9)), int(t.rng.integers(1, 6)), 3)]:
        q, keys, values = t.rng.standard_normal(d_k), t.rng.standard_normal((n, d_k)), t.rng.standard_normal((n, d_v))
        s = keys @ q
        t.expect_close(t.call(q, keys, values), A.soft_lookup(q, keys, values)[0],
                       case={"query": q, "keys": keys, "values": values}, mistakes=_known({
            "Weight every value by softmax(k_i . q), not only the best-matching key: that is a hard lookup.":
                values[np.argmax(s)],
            "Normalize the weights: exp(k_i . q) / sum_j exp(k_j . q), so that they sum to 1.": np.exp(s) @ values,
            "Put the scores through a softmax before weighting the values.": s @ values,
        }))


# -- 2-3. attention weights and scaled dot-product attention --------------------------------------------------------
def _qk(t: Tester):
    for shape_q, T_k in [((4, 3), 4), ((2, 5, 4), 5), ((2, 3, int(t.rng.integers(2, 7)), 8), int(t.rng.integers(3, 7)))]:
        Q = t.rng.standard_normal(shape_q)
        K = t.rng.standard_normal(shape_q[:-2] + (T_k, shape_q[-1]))
        mask = t.rng.random(shape_q[-2:-1] + (T_k,)) < 0.6
        mask[:, 0] = True  # every query may attend to something
        yield Q, K, mask


@question("11.attention_weights", title="The attention weights softmax(QK^T / sqrt(d_k)) with a mask")
def _check_weights(t: Tester):
    for Q, K, mask in _qk(t):
        d_k = Q.shape[-1]
        logits = _logits(Q, K)
        t.expect_close(t.call(Q, K, mask), A.attention_weights(Q, K, mask), case={"Q": Q, "K": K, "mask": mask},
                       mistakes=_known({
            MISSING_MASK: A.attention_weights(Q, K),
            AFTER_SOFTMAX: _after_softmax(Q, K, mask),
            INVERTED: A.attention_weights(Q, K, ~mask) if np.all(np.any(~mask, axis=-1)) else None,
            WRONG_AXIS: softmax(np.where(mask, logits, -np.inf), axis=-2) if np.all(np.any(mask, axis=-2)) else None,
            NO_SCALE: A.attention_weights(Q, K, mask, scale=1.0),
            SCALE_D: A.attention_weights(Q, K, mask, scale=1.0 / d_k),
        }))


@question("11.sdpa", title="Scaled dot-product attention, causal or not")
def _check_sdpa(t: Tester):
    for (Q, K, _), causal in zip(_qk(t), [True, False, True]):
        T = Q.shape[-2]
        K = K[..., :T, :] if K.shape[-2] >= T else np.concatenate([K, t.rng.standard_normal(K.shape[:-2] + (
            T - K.shape[-2], K.shape[-1]))], axis=-2)   # self-attention sizes: T_k = T_q
        V = t.rng.standard_normal(K.shape[:-1] + (int(t.rng.integers(1, 5)),))
        mask = A.causal_mask(T) if causal else None
        full = A.scaled_dot_product_attention(Q, K, V)[0]
        t.expect_close(t.call(Q, K, V, causal), A.scaled_dot_product_attention(Q, K, V, mask)[0],
                       case={"Q": Q, "K": K, "V": V, "is_causal": causal}, mistakes=_known({
            MISSING_MASK + " With is_causal, query t sees keys 0..t only.": full if causal else None,
            AFTER_SOFTMAX: _after_softmax(Q, K, mask) @ V if causal else None,
            WRONG_AXIS: softmax(np.where(mask, _logits(Q, K), -np.inf) if causal else _logits(Q, K), axis=-2) @ V,
            NO_SCALE: A.scaled_dot_product_attention(Q, K, V, mask, scale=1.0)[0],
            "The causal mask is lower-triangular (key s <= query t); yours lets each query see the future.":
                A.scaled_dot_product_attention(Q, K, V, A.causal_mask(T).T)[0] if causal else None,
        }))


# -- 4-5. masks -------------------------------------------------------------------------------------------------------
def _expect_bool(t: Tester, got, case):
    t.expect(isinstance(got, np.ndarray) and got.dtype == bool, f"Expected a boolean array, got "
             f"{type(got).__name__}{'' if not isinstance(got, np.ndarray) else ' of dtype ' + str(got.dtype)}.",
             hint="Return True/False values (dtype bool): a float mask is *added* to the logits, a different "
                  "thing. `np.tril(np.ones((T, T), dtype=bool))` is one way.", case=case)


@question("11.causal_mask", title="The causal mask (True = may attend)")
def _check_causal(t: Tester):
    for T in [1, 2, 5, int(t.rng.integers(3, 12))]:
        got = t.call(T)
        ref = A.causal_mask(T)
        t.expect_close(got, ref, case={"T": T}, atol=0, mistakes=_known({
            INVERTED: ~ref if T > 1 else None,
            "Query t may attend to itself: keep the diagonal (np.tril with k=0).": np.tril(ref, -1),
            "Row t is query t and column s is key s: the allowed keys s <= t lie below the diagonal "
            "(lower-triangular), not above.": ref.T if T > 1 else None,
        }))
        _expect_bool(t, got, {"T": T})


@question("11.padding_mask", title="A padding mask for a batch of sequences of different lengths")
def _check_padding(t: Tester):
    for lengths, T in [([3, 1], 3), ([2, 5, 4], 5), (list(t.rng.integers(1, 8, size=int(t.rng.integers(1, 5)))), 8)]:
        lengths = [int(v) for v in lengths]
        got = t.call(np.array(lengths), T)
        ref = A.padding_mask(lengths, T)
        flat = ref[:, 0, 0]
        t.expect_close(got, ref, case={"lengths": lengths, "T": T}, atol=0, mistakes=_known({
            INVERTED + " The padding keys are the ones to mask.": ~ref,
            "Key s is real when s < length (0-based): s <= length lets one padded key through.":
                (np.arange(T)[None, :] <= np.array(lengths)[:, None])[:, None, None, :],
            "Shape (B, 1, 1, T), so that it broadcasts over heads (axis 1) and queries (axis 2).": flat,
        }))
        _expect_bool(t, got, {"lengths": lengths, "T": T})


# -- 6-7. heads ---------------------------------------------------------------------------------------------------------
RESHAPE_ONLY = ("Reshape to (B, T, n_heads, head_size), then swap the time and head axes; a reshape straight to "
                "(B, n_heads, T, head_size) mixes time steps into heads.")


@question("11.split_heads", title="Split the model width into heads: (B, T, d_model) -> (B, n_heads, T, head_size)")
def _check_split(t: Tester):
    for B, T, h, hs in [(1, 3, 2, 2), (2, 4, 3, 2), (int(t.rng.integers(1, 4)), int(t.rng.integers(2, 6)),
                                                   int(t.rng.integers(2, 5)), int(t.rng.integers(2, 5)))]:
        x = t.rng.standard_normal((B, T, h * hs))
        t.expect_close(t.call(x, h), A.split_heads(x, h), case={"x": x, "n_heads": h}, mistakes=_known({
            RESHAPE_ONLY: x.reshape(B, h, T, hs),
            "Head j takes the contiguous columns j*head_size ... (j+1)*head_size - 1: reshape to "
            "(B, T, n_heads, head_size), not (B, T, head_size, n_heads).":
                x.reshape(B, T, hs, h).transpose(0, 3, 1, 2) if hs > 1 else None,
        }))


@question("11.multi_head_attention", title="Multi-head causal self-attention")
def _check_mha(t: Tester):
    for B, T, h, hs in [(1, 4, 2, 3), (2, 5, 4, 2), (int(t.rng.integers(1, 3)), int(t.rng.integers(3, 7)),
                                                   int(t.rng.integers(2, 5)), int(t.rng.integers(2, 5)))]:
        d = h * hs
        x = t.rng.standard_normal((B, T, d))
        Wq, Wk, Wv, Wo = (t.rng.standard_normal((d, d)) / np.sqrt(d) * 2 for _ in range(4))
        mask = A.causal_mask(T)
        W_in = np.concatenate([Wq, Wk, Wv])

        def variant(scale=None, n_heads=h, m=mask, split=A.split_heads):
            q, k, v = (split(x @ W.T, n_heads) for W in (Wq, Wk, Wv))
            return A.merge_heads(A.scaled_dot_product_attention(q, k, v, m, scale)[0]) @ Wo.T

        def reshape_split(z, n):
            return z.reshape(B, n, T, d // n)

        t.expect_close(t.call(x, Wq, Wk, Wv, Wo, h), A.multi_head_attention(x, W_in, None, Wo, None, h, mask),
                       case={"x": x, "W_q": Wq, "W_k": Wk, "W_v": Wv, "W_o": Wo, "n_heads": h}, mistakes=_known({
            "Scale by sqrt(d_k) with d_k = d_model / n_heads, the width of ONE head, not sqrt(d_model): the "
            "logits of a head are sums of d_k products.": variant(scale=1 / np.sqrt(d)),
            "Split the width into n_heads heads before attending; you attended with one head of width d_model.":
                variant(n_heads=1),
            RESHAPE_ONLY: variant(split=reshape_split),
            MISSING_MASK + " This is causal self-attention: query t sees keys 0..t.": variant(m=None),
            NO_SCALE: variant(scale=1.0),
            "Apply W_o after merging the heads: out = concat(heads) W_o^T.": A.merge_heads(
                A.scaled_dot_product_attention(*(A.split_heads(x @ W.T, h) for W in (Wq, Wk, Wv)), mask)[0]),
        }))


# -- 8-9. positional encodings ------------------------------------------------------------------------------------------
@question("11.sinusoidal_pe", title="Sinusoidal positional encodings")
def _check_pe(t: Tester):
    for T, d in [(4, 2), (10, 8), (int(t.rng.integers(5, 40)), 2 * int(t.rng.integers(2, 17)))]:
        pe = A.sinusoidal_encoding(T, d)
        pos = np.arange(T)[:, None]
        w = A.pe_frequencies(d)
        w_i = 1e4 ** (-np.arange(d // 2) / d)
        t.expect_close(t.call(T, d), pe, case={"T": T, "d_model": d}, mistakes=_known({
            "Even columns (2i) are sines and odd columns (2i+1) cosines; you swapped them.":
                np.stack([np.cos(pos * w), np.sin(pos * w)], -1).reshape(T, d),
            "Interleave: column 2i is sin(omega_i t) and column 2i+1 is cos(omega_i t); you put all sines first.":
                np.concatenate([np.sin(pos * w), np.cos(pos * w)], 1) if d > 2 else None,
            "omega_i = 10000^(-2i / d_model): the exponent uses 2i (the even column index), not i.":
                np.stack([np.sin(pos * w_i), np.cos(pos * w_i)], -1).reshape(T, d) if d > 2 else None,
            "Positions count from t = 0 (the first row is PE(0) = [0, 1, 0, 1, ...]).":
                A.sinusoidal_encoding(T, d, start=1),
        }))


@question("11.pe_shift_matrix", title="The fixed linear map M_k with PE(t + k) = M_k PE(t)")
def _check_shift(t: Tester):
    for k, d in [(1, 2), (3, 8), (int(t.rng.integers(-5, 20)) or 2, 2 * int(t.rng.integers(2, 9)))]:
        ref = A.pe_shift_matrix(k, d)
        t.expect_close(t.call(k, d), ref, case={"k": k, "d_model": d}, mistakes=_known({
            "That is M_{-k} = M_k^T, the shift backwards: with PE(t) = (sin, cos) pairs, the block is "
            "[[cos wk, sin wk], [-sin wk, cos wk]].": ref.T,
            "The rotation angle of block i is omega_i k: it grows with the offset k.":
                A.pe_shift_matrix(1, d) if k != 1 else None,
            "Each 2x2 block rotates one frequency omega_i = 10000^(-2i/d_model); they differ across blocks.":
                np.kron(np.eye(d // 2), A.pe_shift_matrix(k, 2)) if d > 2 else None,
        }))


# -- 10. layer norm -------------------------------------------------------------------------------------------------------
@question("11.layer_norm", title="Layer normalization (torch's weight w and bias b)")
def _check_ln(t: Tester):
    for shape in [(2, 4), (3, 2, 5), (int(t.rng.integers(2, 5)), int(t.rng.integers(2, 9)))]:
        x = t.rng.standard_normal(shape) * 3 + 1
        w, b = t.rng.standard_normal(shape[-1]), t.rng.standard_normal(shape[-1])
        eps = 1e-5 if shape != (2, 4) else 0.5   # a visible eps, so where it goes matters
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        t.expect_close(t.call(x, w, b, eps), A.layer_norm(x, w, b, eps), case={"x": x, "w": w, "b": b, "eps": eps},
                       mistakes=_known({
            "Normalize each token over its own features (the last axis), not each feature over the batch: that "
            "is batch norm.": (x - x.mean(0)) / np.sqrt(x.var(0) + eps) * w + b,
            "Use the biased variance (divide by d, ddof=0), as torch does.":
                (x - mu) / np.sqrt(x.var(-1, ddof=1, keepdims=True) + eps) * w + b,
            "eps goes inside the square root: (x - mu) / sqrt(v + eps).": (x - mu) / (np.sqrt(var) + eps) * w + b,
            "Scale by w, then add b: y = x_hat w + b.": (x - mu) / np.sqrt(var + eps),
        }))


# -- 11. parameter count ------------------------------------------------------------------------------------------------------
@question("11.block_params", title="The parameters of one transformer block")
def _check_params(t: Tester):
    cases = [(16, 4, 64), (12, 3, 20), (64, 8, 256)]
    for _ in range(2):
        h = int(t.rng.integers(1, 9))
        cases.append((h * int(t.rng.integers(1, 17)), h, int(t.rng.integers(4, 300))))
    for d, h, f in cases:
        ref = A.block_param_count(d, h, f)
        case = {"d_model": d, "n_heads": h, "d_ff": f}
        t.expect_close(t.call(d, h, f), ref["total"], case=case, atol=0, mistakes=_known({
            "Count the biases: W_Q, W_K, W_V, W_O each have d_model, the MLP's layers d_ff and d_model.":
                A.block_param_count(d, h, f, bias=False)["total"] + 2 * d,
            "Two layer norms, each with a weight w and a bias b of size d_model: 4 d_model.":
                ref["total"] - ref["norms"],
            "The heads split d_model; they do not multiply the attention's parameters by n_heads.":
                ref["total"] + (h - 1) * ref["attention"] if h > 1 else None,
            "The MLP has two linear layers, d_model -> d_ff -> d_model.":
                ref["total"] - d * f - d if f != d else None,
        }))


# -- 12. sampling ----------------------------------------------------------------------------------------------------------------
@question("11.sampling_distribution", title="Temperature and top-k: the distribution a GPT samples from")
def _check_sampling(t: Tester):
    for V, tau, k in [(5, 0.5, 2), (6, 2.0, 6), (int(t.rng.integers(4, 30)), float(t.rng.uniform(0.3, 3)), None),
                      (int(t.rng.integers(4, 30)), float(t.rng.uniform(0.3, 3)), 3)]:
        z = t.rng.standard_normal(V) * 2
        ref = A.sampling_distribution(z, tau, k)
        p = softmax(z, temperature=tau)
        keep = z >= np.sort(z)[-k] if k else np.ones(V, bool)
        t.expect_close(t.call(z, tau, k), ref, case={"logits": z, "temperature": tau, "top_k": k}, mistakes=_known({
            "Divide the logits by the temperature (chapter 03's softmax(z / tau)), do not multiply.":
                A.sampling_distribution(z * tau * tau, tau, k) if tau != 1 else None,
            "Renormalize over the k kept tokens: the probabilities must sum to 1.":
                p * keep if k and k < V else None,
            "Apply the temperature to the logits, before the softmax: p^(1/tau) / sum is not the same unless you "
            "renormalize; softmax(z / tau) is.": p ** (1 / tau) * keep if tau != 1 else None,
            "Keep the k LARGEST logits.": softmax(np.where(z <= np.sort(z)[k - 1], z, -np.inf), temperature=tau)
            if k and k < V else None,
            "Apply top-k: set every logit below the k-th largest to -inf.": A.sampling_distribution(z, tau)
            if k and k < V else None,
        }))
