r"""Chapter 11: the mathematics of attention, in NumPy.

What the chapter computes, each function one formula, checked against PyTorch in
``tests/test_attention.py``:

- :func:`soft_lookup`: attention as a soft dictionary lookup, one query against a table of keys and values;
- :func:`scaled_dot_product_attention` with :func:`causal_mask` and :func:`padding_mask` (True = may attend,
  torch's convention for a boolean ``attn_mask``);
- :func:`dot_product_variance`: the measured variance of :math:`\mathbf q\cdot\mathbf k` for random vectors,
  whose growth with :math:`d_k` is why the logits are divided by :math:`\sqrt{d_k}`;
- :func:`split_heads`, :func:`merge_heads` and :func:`multi_head_attention` with shapes
  (batch, heads, time, head_size), in the layout of ``torch.nn.MultiheadAttention``;
- :func:`sinusoidal_encoding` and :func:`pe_shift_matrix`, the fixed linear map :math:`\mathbf M_k` with
  :math:`\mathrm{PE}(t+k) = \mathbf M_k\,\mathrm{PE}(t)`;
- :func:`layer_norm`, and :func:`block_param_count` / :func:`gpt_param_count`, the transformer's parameters.

Shapes follow PyTorch: queries ``(..., T_q, d_k)``, keys ``(..., T_k, d_k)``, values ``(..., T_k, d_v)``.
Nothing here imports torch.
"""
from __future__ import annotations

import numpy as np

from course_lib.probability.stable_softmax import softmax


# -- 1. a soft dictionary lookup ----------------------------------------------------------------------------------
def soft_lookup(query, keys, values, temperature: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Look a query up in a table of (key, value) pairs by similarity: every value, weighted.

    Parameters
    ----------
    query : array_like, shape (d_k,)
    keys : array_like, shape (n, d_k)
    values : array_like, shape (n, d_v)
    temperature : float, > 0
        :math:`\tau`; as :math:`\tau\to0` the lookup becomes a hard one (the value of the best-matching key).

    Returns
    -------
    out : ndarray, shape (d_v,)
    weights : ndarray, shape (n,)
        Non-negative, summing to 1.

    Notes
    -----
    .. math:: \alpha_s = \operatorname{softmax}_s\bigl(\mathbf k_s\cdot\mathbf q/\tau\bigr),\qquad
              \text{out} = \sum_{s=1}^{n} \alpha_s\,\mathbf v_s .

    A Python ``dict`` returns :math:`\mathbf v_s` for the one key equal to the query; attention returns a convex
    combination of all values, differentiable in the query, the keys and the values.
    """
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (query, keys, values))
    if q.ndim != 1 or k.ndim != 2 or v.ndim != 2 or k.shape[0] != v.shape[0] or k.shape[1] != q.shape[0]:
        raise ValueError(f"expected query (d_k,), keys (n, d_k), values (n, d_v); got {q.shape}, {k.shape}, {v.shape}")
    weights = softmax(k @ q, temperature=temperature)
    return weights @ v, weights


# -- 2. scaled dot-product attention and masks --------------------------------------------------------------------
def causal_mask(T: int, T_k: int | None = None) -> np.ndarray:
    r"""The causal mask: query ``t`` may attend to keys ``s <= t`` (True = may attend).

    Returns
    -------
    ndarray of bool, shape (T, T_k)
        Lower-triangular, diagonal included (``T_k`` defaults to ``T``), as torch's ``is_causal=True``:
        ``torch.ones(T, T_k).tril()``, aligned at the top-left corner.
    """
    return np.tril(np.ones((T, T if T_k is None else T_k), dtype=bool))


def padding_mask(lengths, T: int) -> np.ndarray:
    r"""Keys past each sequence's length are padding: mask them out.

    Parameters
    ----------
    lengths : array_like of int, shape (B,)
        The true length of each sequence in the batch, ``1 <= length <= T``.
    T : int

    Returns
    -------
    ndarray of bool, shape (B, 1, 1, T)
        True where key ``s < lengths[b]`` (may attend). It broadcasts against attention logits of shape
        (B, n_heads, T_q, T): every head and every query ignores the padded keys.
    """
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or np.any(lengths < 1) or np.any(lengths > T):
        raise ValueError(f"lengths must be a 1-D array of values in 1..{T}, got {lengths!r}")
    return (np.arange(T)[None, :] < lengths[:, None])[:, None, None, :]


def attention_weights(Q, K, mask=None, scale: float | None = None) -> np.ndarray:
    r"""The attention weights :math:`\operatorname{softmax}(\mathbf Q\mathbf K^\top/\sqrt{d_k})`, masked logits set to :math:`-\infty`.

    Parameters
    ----------
    Q : array_like, shape (..., T_q, d_k)
    K : array_like, shape (..., T_k, d_k)
    mask : array_like of bool or float, broadcastable to (..., T_q, T_k), optional
        Boolean: True = may attend (a False entry's logit becomes :math:`-\infty`). Float: added to the logits.
    scale : float, optional
        Defaults to :math:`1/\sqrt{d_k}` with :math:`d_k` = ``Q.shape[-1]``, the width of one head.

    Returns
    -------
    ndarray, shape (..., T_q, T_k)
        Each row (a query) is a distribution over the keys: the softmax runs over the **last** axis.

    Raises
    ------
    ValueError
        If a query may attend to no key at all (a row of :math:`-\infty`; torch returns NaN there).
    """
    Q, K = np.asarray(Q, dtype=np.float64), np.asarray(K, dtype=np.float64)
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError(f"queries and keys need the same width d_k, got {Q.shape} and {K.shape}")
    scale = 1.0 / np.sqrt(Q.shape[-1]) if scale is None else scale
    logits = (Q @ np.swapaxes(K, -1, -2)) * scale
    if mask is not None:
        mask = np.asarray(mask)
        logits = np.where(mask, logits, -np.inf) if mask.dtype == bool else logits + mask
    if np.any(np.all(np.isneginf(logits), axis=-1)):
        raise ValueError("a query row is fully masked: it may attend to no key (check the mask's sense: "
                         "True means 'may attend')")
    return softmax(logits, axis=-1)


def scaled_dot_product_attention(Q, K, V, mask=None, scale: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Scaled dot-product attention (Vaswani et al. 2017), as ``torch.nn.functional.scaled_dot_product_attention``.

    Parameters
    ----------
    Q : array_like, shape (..., T_q, d_k)
    K : array_like, shape (..., T_k, d_k)
    V : array_like, shape (..., T_k, d_v)
    mask, scale
        As in :func:`attention_weights`.

    Returns
    -------
    out : ndarray, shape (..., T_q, d_v)
    weights : ndarray, shape (..., T_q, T_k)

    Notes
    -----
    .. math:: \operatorname{Attention}(\mathbf Q, \mathbf K, \mathbf V)
              = \operatorname{softmax}\Bigl(\frac{\mathbf Q\mathbf K^\top}{\sqrt{d_k}}\Bigr)\mathbf V .

    Row :math:`t` of the output is :func:`soft_lookup` of query :math:`t` with temperature :math:`\sqrt{d_k}`.
    """
    weights = attention_weights(Q, K, mask, scale)
    return weights @ np.asarray(V, dtype=np.float64), weights


def dot_product_variance(d_k: int, n: int = 20_000, v: float = 1.0, rng=None) -> dict:
    r"""Measure the variance of :math:`\mathbf q\cdot\mathbf k` for random vectors, unscaled and scaled.

    Parameters
    ----------
    d_k : int
    n : int
        Number of independent pairs drawn.
    v : float
        The variance of every entry of :math:`\mathbf q` and :math:`\mathbf k` (mean 0, independent).
    rng : numpy.random.Generator or int, optional

    Returns
    -------
    dict
        ``var``: the sample variance of :math:`\mathbf q\cdot\mathbf k` (theory :math:`d_k v^2`);
        ``var_scaled``: of :math:`\mathbf q\cdot\mathbf k/\sqrt{d_k}` (theory :math:`v^2`);
        ``theory``: :math:`d_k v^2`; ``se``: the standard error of ``var`` for Gaussian entries,
        :math:`d_k v^2\sqrt{(2 + 6/d_k)/n}`, from the kurtosis :math:`3 + 6/d_k` of :math:`\mathbf q\cdot\mathbf k`.

    Notes
    -----
    For independent entries with mean 0 and variance :math:`v`,
    :math:`\operatorname{Var}[q_ik_i] = \mathbb E[q_i^2]\mathbb E[k_i^2] = v^2`, and the :math:`d_k` terms of
    :math:`\mathbf q\cdot\mathbf k = \sum_i q_ik_i` are independent, so :math:`\operatorname{Var}[\mathbf q\cdot\mathbf k] = d_k v^2`.
    Dividing by :math:`\sqrt{d_k}` brings it back to :math:`v^2` whatever the head size. (Gaussian entries:
    :math:`\mathbb E[(\mathbf q\cdot\mathbf k)^4] = 3d_k^2 + 6d_k` for :math:`v = 1`, hence the kurtosis.)
    """
    rng = np.random.default_rng(rng)
    q = rng.normal(0.0, np.sqrt(v), (n, d_k))
    k = rng.normal(0.0, np.sqrt(v), (n, d_k))
    dots = np.einsum("nd,nd->n", q, k)
    theory = d_k * v * v
    kurtosis = 3.0 + 6.0 / d_k   # of q.k for Gaussian entries: E[(q.k)^4] / Var[q.k]^2
    return {"d_k": d_k, "var": float(dots.var(ddof=1)), "var_scaled": float((dots / np.sqrt(d_k)).var(ddof=1)),
            "theory": theory, "se": theory * np.sqrt((kurtosis - 1.0) / n)}


def softmax_saturation(d_k: int, T: int = 16, n: int = 2_000, scaled: bool = True, rng=None) -> dict:
    r"""How peaked attention is at random initialization, with and without the :math:`1/\sqrt{d_k}`.

    Draws ``n`` queries and ``n`` sets of ``T`` keys with standard normal entries.

    Returns
    -------
    dict
        ``max_weight``: the mean largest attention weight of a row (``1/T`` is uniform, 1 is a hard lookup);
        ``grad_norm``: the mean Frobenius norm of the softmax's Jacobian
        :math:`\operatorname{diag}(\boldsymbol\alpha) - \boldsymbol\alpha\boldsymbol\alpha^\top` of a row, which goes
        to 0 as the softmax saturates: the gradient reaching the queries and keys vanishes.
    """
    rng = np.random.default_rng(rng)
    q = rng.standard_normal((n, 1, d_k))
    k = rng.standard_normal((n, T, d_k))
    a = attention_weights(q, k, scale=None if scaled else 1.0)[:, 0]
    jac = a[:, :, None] * np.eye(T) - a[:, :, None] * a[:, None, :]
    return {"d_k": d_k, "scaled": scaled, "max_weight": float(a.max(axis=1).mean()),
            "grad_norm": float(np.linalg.norm(jac, axis=(1, 2)).mean())}


# -- 3. multi-head attention --------------------------------------------------------------------------------------
def split_heads(x, n_heads: int) -> np.ndarray:
    r"""(B, T, d_model) -> (B, n_heads, T, head_size) with head_size = d_model / n_heads.

    Head :math:`j` (counted from 0) gets the columns :math:`j\,d_k, \dots, (j+1)d_k - 1` of the model's width: a reshape to
    (B, T, n_heads, head_size) then a transpose of the time and head axes. (A reshape straight to
    (B, n_heads, T, head_size) would mix time steps into heads.)
    """
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[-1] % n_heads:
        raise ValueError(f"expected (B, T, d_model) with d_model divisible by n_heads={n_heads}, got {x.shape}")
    B, T, d_model = x.shape
    return x.reshape(B, T, n_heads, d_model // n_heads).transpose(0, 2, 1, 3)


def merge_heads(x) -> np.ndarray:
    r"""(B, n_heads, T, head_size) -> (B, T, n_heads head_size): the inverse of :func:`split_heads`."""
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"expected (B, n_heads, T, head_size), got {x.shape}")
    B, H, T, hs = x.shape
    return x.transpose(0, 2, 1, 3).reshape(B, T, H * hs)


def multi_head_attention(x, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, n_heads: int,
                         mask=None, return_weights: bool = False):
    r"""Multi-head self-attention with the parameters of ``torch.nn.MultiheadAttention(d_model, n_heads)``.

    Parameters
    ----------
    x : array_like, shape (B, T, d_model)
    in_proj_weight : array_like, shape (3 d_model, d_model)
        :math:`\mathbf W_Q, \mathbf W_K, \mathbf W_V` stacked by rows, as torch stores them.
    in_proj_bias : array_like, shape (3 d_model,) or None
    out_proj_weight : array_like, shape (d_model, d_model)
    out_proj_bias : array_like, shape (d_model,) or None
    n_heads : int
        :math:`n_\text{heads}`; each head has width :math:`d_k = d_\text{model}/n_\text{heads}`.
    mask : array_like, broadcastable to (B, n_heads, T, T), optional
        As in :func:`attention_weights` (True = may attend).
    return_weights : bool
        Also return the attention weights, shape (B, n_heads, T, T).

    Returns
    -------
    ndarray, shape (B, T, d_model) (and the weights)

    Notes
    -----
    .. math:: \text{head}_h = \operatorname{softmax}\Bigl(\frac{\mathbf Q_h\mathbf K_h^\top}{\sqrt{d_k}}\Bigr)\mathbf V_h,
              \qquad \operatorname{MHA}(\mathbf X) = [\text{head}_1, \dots, \text{head}_{n_\text{heads}}]\,\mathbf W_O^\top + \mathbf b_O,

    with :math:`\mathbf Q = \mathbf X\mathbf W_Q^\top + \mathbf b_Q` split into heads by :func:`split_heads`. The
    scale is :math:`1/\sqrt{d_k}`, the width of **one head**, not :math:`1/\sqrt{d_\text{model}}`.
    """
    x = np.asarray(x, dtype=np.float64)
    B, T, d_model = x.shape
    W = np.asarray(in_proj_weight, dtype=np.float64)
    if W.shape != (3 * d_model, d_model):
        raise ValueError(f"in_proj_weight must be (3 d_model, d_model) = {(3 * d_model, d_model)}, got {W.shape}")
    qkv = x @ W.T + (0.0 if in_proj_bias is None else np.asarray(in_proj_bias, dtype=np.float64))
    q, k, v = (split_heads(part, n_heads) for part in np.split(qkv, 3, axis=-1))
    d_k = d_model // n_heads
    assert q.shape == (B, n_heads, T, d_k), q.shape  # (batch, heads, time, head_size)
    heads, weights = scaled_dot_product_attention(q, k, v, mask)  # scale 1/sqrt(d_k): q.shape[-1] is d_k
    out = merge_heads(heads) @ np.asarray(out_proj_weight, dtype=np.float64).T
    if out_proj_bias is not None:
        out = out + np.asarray(out_proj_bias, dtype=np.float64)
    return (out, weights) if return_weights else out


# -- 4. positional encodings ----------------------------------------------------------------------------------------
def pe_frequencies(d_model: int, base: float = 10_000.0) -> np.ndarray:
    r"""The angular frequencies :math:`\omega_i = \text{base}^{-2i/d_\text{model}}`, :math:`i = 0, \dots, d_\text{model}/2 - 1`."""
    if d_model < 2 or d_model % 2:
        raise ValueError(f"d_model must be a positive even number, got {d_model}")
    return base ** (-np.arange(0, d_model, 2) / d_model)


def sinusoidal_encoding(T: int, d_model: int, base: float = 10_000.0, start: int = 0) -> np.ndarray:
    r"""The sinusoidal positional encodings of positions ``start, ..., start + T - 1`` (Vaswani et al. 2017).

    Returns
    -------
    ndarray, shape (T, d_model)
        Row :math:`t` is :math:`\mathrm{PE}(t)`.

    Notes
    -----
    Positions count from :math:`t = 0` and the pair index from :math:`i = 0` (as in the paper):

    .. math:: \mathrm{PE}(t)_{2i} = \sin(\omega_i t),\qquad \mathrm{PE}(t)_{2i+1} = \cos(\omega_i t),\qquad
              \omega_i = \text{base}^{-2i/d_\text{model}} .
    """
    t = np.arange(start, start + T, dtype=np.float64)[:, None]
    angles = t * pe_frequencies(d_model, base)[None, :]
    pe = np.empty((T, d_model))
    pe[:, 0::2], pe[:, 1::2] = np.sin(angles), np.cos(angles)
    return pe


def pe_shift_matrix(k: float, d_model: int, base: float = 10_000.0) -> np.ndarray:
    r"""The fixed linear map :math:`\mathbf M_k` with :math:`\mathrm{PE}(t+k) = \mathbf M_k\,\mathrm{PE}(t)` for every :math:`t`.

    Returns
    -------
    ndarray, shape (d_model, d_model)
        Block diagonal, one 2x2 rotation per frequency; orthogonal, :math:`\mathbf M_k^\top = \mathbf M_{-k}`.

    Notes
    -----
    By the angle-addition formulas, for each pair :math:`(\sin\omega_i t, \cos\omega_i t)`,

    .. math:: \begin{pmatrix}\sin\omega_i(t+k)\\ \cos\omega_i(t+k)\end{pmatrix}
              = \begin{pmatrix}\cos\omega_i k & \sin\omega_i k\\ -\sin\omega_i k & \cos\omega_i k\end{pmatrix}
                \begin{pmatrix}\sin\omega_i t\\ \cos\omega_i t\end{pmatrix},

    a matrix that depends on the offset :math:`k` but not on the position :math:`t`.
    """
    M = np.zeros((d_model, d_model))
    for i, w in enumerate(pe_frequencies(d_model, base)):
        c, s = np.cos(w * k), np.sin(w * k)
        M[2 * i:2 * i + 2, 2 * i:2 * i + 2] = [[c, s], [-s, c]]
    return M


def pe_similarity(T: int, d_model: int, base: float = 10_000.0) -> np.ndarray:
    r""":math:`\mathrm{PE}(t)\cdot\mathrm{PE}(s) = \sum_i \cos\omega_i(t - s)`, shape (T, T): a function of
    :math:`t - s` alone (a Toeplitz matrix), largest on the diagonal, where it is :math:`d_\text{model}/2`."""
    pe = sinusoidal_encoding(T, d_model, base)
    return pe @ pe.T


# -- 5. layer norm and parameter counts -----------------------------------------------------------------------------
def layer_norm(x, weight=None, bias=None, eps: float = 1e-5) -> np.ndarray:
    r"""Layer normalization over the last axis, as ``torch.nn.functional.layer_norm(x, (d,), weight, bias, eps)``.

    Parameters
    ----------
    x : array_like, shape (..., d)
    weight, bias : array_like, shape (d,), optional
        :math:`\mathbf w` and :math:`\mathbf b` (torch's names).

    Notes
    -----
    .. math:: \mu = \frac1d\sum_j x_j,\quad v = \frac1d\sum_j (x_j - \mu)^2,\quad
              y_j = \frac{x_j - \mu}{\sqrt{v + \epsilon}}\,w_j + b_j .

    Each token is normalized over its own features (batch norm normalizes each feature over the batch);
    the variance is the biased one, :math:`1/d`.
    """
    x = np.asarray(x, dtype=np.float64)
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    y = (x - mu) / np.sqrt(var + eps)
    if weight is not None:
        y = y * np.asarray(weight, dtype=np.float64)
    if bias is not None:
        y = y + np.asarray(bias, dtype=np.float64)
    return y


def block_param_count(d_model: int, n_heads: int, d_ff: int | None = None, bias: bool = True) -> dict:
    r"""The parameters of one transformer block: attention, MLP, two layer norms.

    Parameters
    ----------
    d_model, n_heads : int
        ``n_heads`` must divide ``d_model``; it does not change the count (the heads split the width).
    d_ff : int, optional
        The MLP's hidden width, default :math:`4d_\text{model}`.
    bias : bool
        Whether the linear layers and the layer norms have biases (torch's ``bias=``).

    Returns
    -------
    dict
        ``attention`` :math:`4d^2 + 4d`, ``mlp`` :math:`2 d\,d_\text{ff} + d_\text{ff} + d`, ``norms`` :math:`4d`
        (with biases; without: :math:`4d^2`, :math:`2 d\,d_\text{ff}`, :math:`2d`) and ``total``.
    """
    if d_model % n_heads:
        raise ValueError(f"n_heads={n_heads} must divide d_model={d_model}")
    d, f = d_model, 4 * d_model if d_ff is None else d_ff
    attention = 4 * d * d + (4 * d if bias else 0)       # W_Q, W_K, W_V, W_O and their biases
    mlp = 2 * d * f + ((f + d) if bias else 0)            # d -> d_ff -> d
    norms = 2 * (2 * d if bias else d)                    # two layer norms: w (and b)
    return {"attention": attention, "mlp": mlp, "norms": norms, "total": attention + mlp + norms}


def gpt_param_count(vocab_size: int, context: int, n_layer: int, d_model: int, n_heads: int,
                    bias: bool = True, tied: bool = True) -> dict:
    r"""The parameters of a GPT: embeddings, :math:`D` blocks, the final layer norm, the output head.

    Returns
    -------
    dict
        ``embeddings`` :math:`(K + T)\,d_\text{model}` (token and position; :math:`K` = ``vocab_size``), ``blocks``
        :math:`D\times` :func:`block_param_count`, ``final_norm``, ``head`` (0 when the output layer shares the
        token embedding's weight, "weight tying", else :math:`V d_\text{model}`) and ``total``.
    """
    emb = (vocab_size + context) * d_model
    blocks = n_layer * block_param_count(d_model, n_heads, bias=bias)["total"]
    final = 2 * d_model if bias else d_model
    head = 0 if tied else vocab_size * d_model
    return {"embeddings": emb, "blocks": blocks, "final_norm": final, "head": head,
            "total": emb + blocks + final + head}


# -- 6. sampling -------------------------------------------------------------------------------------------------------
def sampling_distribution(logits, temperature: float = 1.0, top_k: int | None = None) -> np.ndarray:
    r"""The next-token distribution after temperature and top-k: what ``generate`` samples from.

    Parameters
    ----------
    logits : array_like, shape (..., K)
        One logit per token of the vocabulary (:math:`K` tokens, the classes of next-token prediction).
    temperature : float, > 0
        :math:`\tau`, chapter 03's softmax temperature: :math:`\operatorname{softmax}(\mathbf z/\tau)`.
    top_k : int, optional
        Keep the ``top_k`` largest logits (ties at the threshold kept, as torch's ``topk``-then-compare does)
        and renormalize over them.

    Returns
    -------
    ndarray, shape (..., K)
        A distribution per row; zero outside the top k.
    """
    z = np.asarray(logits, dtype=np.float64)
    if top_k is not None:
        if not 1 <= top_k:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        kth = np.sort(z, axis=-1)[..., -min(top_k, z.shape[-1])][..., None]
        z = np.where(z < kth, -np.inf, z)
    return softmax(z, axis=-1, temperature=temperature)
