r"""The engine's transformer ops (chapter 11), with ``torch.nn.functional``'s names and semantics.

- :func:`scaled_dot_product_attention` ``(query, key, value, attn_mask=None, dropout_p=0.0,
  is_causal=False, scale=None)``: :math:`\operatorname{softmax}(\mathbf{Q}\mathbf{K}^\top/\sqrt{d_k}
  + \mathbf{M})\,\mathbf{V}`, :math:`\mathbf{M}` the additive mask. A boolean mask's True means "may attend", a float mask is added to the
  scores; ``is_causal`` lets query :math:`i` see keys :math:`j \le i`. The scale is
  :math:`1/\sqrt{d_k}` with :math:`d_k` = ``query.shape[-1]``, the head size of a
  (batch, heads, time, head_size) query, never the model width.
- :func:`layer_norm` ``(input, normalized_shape, weight=None, bias=None, eps=1e-5)``.
- :func:`embedding` ``(input, weight)``: rows of ``weight`` picked by integer ids; the gradient
  *adds up* over repeated ids.
- :func:`gelu` ``(input, approximate="none")``: the exact :math:`x\,\Phi(x)` (or the tanh form).

Each is one node of the graph, defined through :func:`~course_lib.autograd.tensor.record` with its
backward rule beside it (fused: attention's backward reuses the forward's probabilities). They are
re-exported by :mod:`course_lib.autograd.functional`, so ``F.scaled_dot_product_attention`` works,
and checked against ``torch.nn.functional`` (float64, rtol 1e-6) and with
:func:`course_lib.gradcheck.gradcheck` in ``tests/test_autograd_attention.py``.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import erfc as _erfc

from course_lib.autograd.tensor import Tensor, as_tensor, record, unbroadcast

__all__ = ["scaled_dot_product_attention", "layer_norm", "embedding", "gelu", "causal_mask"]


def causal_mask(n_query: int, n_key: int | None = None) -> np.ndarray:
    r"""The boolean causal mask of ``is_causal=True``: True where query :math:`i` may attend key :math:`j \le i`.

    Shape (n_query, n_key), aligned at the top left as PyTorch's ``is_causal`` (``torch.ones(L, S).tril()``).
    """
    n_key = n_query if n_key is None else n_key
    return np.tril(np.ones((n_query, n_key), dtype=bool))


def _softmax_rows(s: np.ndarray) -> np.ndarray:
    """Softmax over the last axis; a row whose every score is -inf (nothing may be attended) gives zeros, as
    PyTorch's attention does, instead of 0/0 = NaN."""
    top = s.max(axis=-1, keepdims=True)
    dead = ~np.isfinite(top)  # -inf: the whole row is masked out
    e = np.exp(s - np.where(dead, 0.0, top))
    total = e.sum(axis=-1, keepdims=True)
    return np.where(dead, 0.0, e / np.where(dead, 1.0, total))


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None) -> Tensor:
    r"""Scaled dot-product attention, as ``torch.nn.functional.scaled_dot_product_attention``.

    Parameters
    ----------
    query : Tensor, shape (..., L, d_k)
        For multi-head attention (batch, heads, time, head_size): :math:`d_k` is the head size.
    key : Tensor, shape (..., S, d_k)
    value : Tensor, shape (..., S, d_v)
        Leading axes broadcast against each other (NumPy's rules).
    attn_mask : bool array or float Tensor/array, broadcastable to (..., L, S), optional
        Boolean: True where the query may attend the key (False entries get weight 0).
        Float: added to the scores (``-inf`` forbids); a float Tensor that requires grad gets one.
    dropout_p : float
        Only 0.0 (the engine has no attention dropout); here so that calls written for PyTorch run.
    is_causal : bool
        Query :math:`i` attends keys :math:`j \le i` (:func:`causal_mask`, aligned at the top left as in
        PyTorch); not together with ``attn_mask``.
    scale : float, optional
        Default :math:`1/\sqrt{d_k}`, :math:`d_k` = ``query.shape[-1]``.

    Returns
    -------
    Tensor, shape (..., L, d_v)

    Notes
    -----
    With :math:`\mathbf{M}` the additive mask (0 or :math:`-\infty` for a boolean one) and the scale
    :math:`1/\sqrt{d_k}` (or ``scale``), the scores :math:`\mathbf{Z}` and weights :math:`\boldsymbol{\alpha}` are

    .. math::  \mathbf{Z} = \frac{\mathbf{Q}\mathbf{K}^\top}{\sqrt{d_k}} + \mathbf{M},\quad
               \boldsymbol{\alpha} = \operatorname{softmax}_\text{rows}(\mathbf{Z}),\quad
               \text{out} = \boldsymbol{\alpha}\mathbf{V},

    and backwards, with :math:`\mathbf{G} = \partial L/\partial\,\text{out}` and
    :math:`\mathbf{G}_\alpha = \mathbf{G}\mathbf{V}^\top`,

    .. math::  \frac{\partial L}{\partial\mathbf{V}} = \boldsymbol{\alpha}^\top\mathbf{G},\quad
               \frac{\partial L}{\partial\mathbf{Z}} = \boldsymbol{\alpha}\odot\bigl(\mathbf{G}_\alpha
                   - \operatorname{rowsum}(\boldsymbol{\alpha}\odot\mathbf{G}_\alpha)\bigr),\quad
               \frac{\partial L}{\partial\mathbf{Q}} = \frac{1}{\sqrt{d_k}}\frac{\partial L}{\partial\mathbf{Z}}\mathbf{K},\quad
               \frac{\partial L}{\partial\mathbf{K}} = \frac{1}{\sqrt{d_k}}\Bigl(\frac{\partial L}{\partial\mathbf{Z}}\Bigr)^{\!\top}\mathbf{Q},\quad
               \frac{\partial L}{\partial\mathbf{M}} = \frac{\partial L}{\partial\mathbf{Z}}.

    :math:`1/\sqrt{d_k}` keeps the scores' variance at that of one product of entries: for
    independent zero-mean unit-variance entries, :math:`\operatorname{Var}(\mathbf{q}\cdot\mathbf{k}) = d_k`.
    A query that may attend nothing gets output 0 (PyTorch's behaviour), not NaN.
    """
    if isinstance(dropout_p, bool) or not isinstance(dropout_p, (int, float)):
        raise TypeError(f"scaled_dot_product_attention: dropout_p must be a float, got {dropout_p!r}; as in "
                        "PyTorch the fifth positional argument is dropout_p, so pass is_causal=True by keyword")
    if dropout_p != 0.0:
        raise ValueError("scaled_dot_product_attention: the engine has no attention dropout; use dropout_p=0.0")
    q, k, v = (as_tensor(t) for t in (query, key, value))
    if not (q.dtype == k.dtype == v.dtype):
        raise TypeError(f"scaled_dot_product_attention: query, key and value need one dtype, got {q.dtype}, "
                        f"{k.dtype}, {v.dtype}")
    if min(q.ndim, k.ndim, v.ndim) < 2:
        raise ValueError(f"scaled_dot_product_attention: query, key, value need at least 2 axes (..., time, size), "
                         f"got shapes {q.shape}, {k.shape}, {v.shape}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: query (..., L, d_k) {q.shape}, key (..., S, d_k) {k.shape} "
                         f"and value (..., S, d_v) {v.shape} do not fit: query and key need one d_k, key and "
                         "value one S")
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: pass either attn_mask or is_causal=True, not both (PyTorch's rule)")
    n_query, n_key = q.shape[-2], k.shape[-2]
    c = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)  # d_k = head_size in (B, heads, T, d_k)

    mask_t = None  # a float mask Tensor that may need a gradient
    if is_causal:
        attn_mask = causal_mask(n_query, n_key)
    if attn_mask is not None:
        m = attn_mask.data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
        try:
            np.broadcast_shapes(m.shape, q.shape[:-2] + (n_query, n_key))
        except ValueError:
            raise ValueError(f"scaled_dot_product_attention: attn_mask of shape {m.shape} does not broadcast to the "
                             f"scores' shape (..., L, S) = (..., {n_query}, {n_key})") from None
        if m.dtype == bool:
            additive = np.where(m, 0.0, -np.inf).astype(q.dtype)
        elif m.dtype.kind == "f":
            mask_t = attn_mask if isinstance(attn_mask, Tensor) else None
            additive = m.astype(q.dtype, copy=False)
        else:
            raise TypeError(f"scaled_dot_product_attention: attn_mask must be boolean (True = may attend) or float "
                            f"(added to the scores), got dtype {m.dtype}")
    else:
        additive = None

    kt = np.swapaxes(k.data, -1, -2)
    s = (q.data @ kt) * c
    if additive is not None:
        s = s + additive
    p = _softmax_rows(s).astype(q.dtype, copy=False)
    out = p @ v.data
    inputs = (q, k, v) if mask_t is None else (q, k, v, mask_t)

    def backward(g):
        gv = np.swapaxes(p, -1, -2) @ g if v.requires_grad else None
        gp = g @ np.swapaxes(v.data, -1, -2)
        d = p * (gp - (p * gp).sum(axis=-1, keepdims=True))  # dL/dZ: softmax's vector-Jacobian product, row by row
        gq = (d @ k.data) * c if q.requires_grad else None
        gk = (np.swapaxes(d, -1, -2) @ q.data) * c if k.requires_grad else None
        grads = (None if gq is None else unbroadcast(gq, q.shape),
                 None if gk is None else unbroadcast(gk, k.shape),
                 None if gv is None else unbroadcast(gv, v.shape))
        if mask_t is not None:
            grads += (unbroadcast(d, mask_t.shape) if mask_t.requires_grad else None,)
        return grads
    return record(out, inputs, backward, "scaled_dot_product_attention")


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    r"""Layer normalization over the last axes, as ``torch.nn.functional.layer_norm``.

    Parameters
    ----------
    input : Tensor, shape (..., *normalized_shape)
    normalized_shape : int or tuple of int
        The trailing axes to normalize over (:math:`N` entries in all).
    weight, bias : Tensor, shape normalized_shape, optional
        The elementwise affine map's :math:`\mathbf{w}` and :math:`\mathbf{b}` (torch's names).
    eps : float
        Added to the variance.

    Returns
    -------
    Tensor, shape of ``input``

    Notes
    -----
    Per example, over its :math:`N` normalized entries, with the biased variance (divisor :math:`N`):

    .. math::  \mu = \tfrac1N\textstyle\sum_i x_i,\quad v = \tfrac1N\sum_i (x_i-\mu)^2,\quad
               \hat x_i = \frac{x_i - \mu}{\sqrt{v + \epsilon}},\quad y_i = w_i\hat x_i + b_i.

    Backwards, with :math:`\hat g_i = w_i g_i`,

    .. math::  \frac{\partial L}{\partial x_i} = \frac{1}{\sqrt{v+\epsilon}}\Bigl(\hat g_i
               - \tfrac1N\textstyle\sum_j \hat g_j - \hat x_i\,\tfrac1N\sum_j \hat g_j\hat x_j\Bigr),\quad
               \frac{\partial L}{\partial w_i} = \sum_\text{examples} g_i\hat x_i,\quad
               \frac{\partial L}{\partial b_i} = \sum_\text{examples} g_i.
    """
    x = as_tensor(input)
    shape = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or x.shape[-k:] != shape:
        raise ValueError(f"layer_norm: normalized_shape {shape} must be the trailing axes of the input, "
                         f"whose shape is {x.shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.shape != shape:
            raise ValueError(f"layer_norm: {name} has shape {t.shape}, expected normalized_shape {shape}")
    axes = tuple(range(x.ndim - k, x.ndim))
    lead = tuple(range(x.ndim - k))
    mu = x.data.mean(axis=axes, keepdims=True)
    xc = x.data - mu
    rstd = 1.0 / np.sqrt((xc * xc).mean(axis=axes, keepdims=True) + eps)
    xhat = xc * rstd
    out = xhat
    if weight is not None:
        out = out * weight.data
    if bias is not None:
        out = out + bias.data
    if out is xhat:
        out = xhat.copy()  # the output array must not be the saved x-hat
    inputs = (x,) + tuple(t for t in (weight, bias) if t is not None)

    def backward(g):
        grads = []
        if x.requires_grad:
            gh = g * weight.data if weight is not None else g
            gx = rstd * (gh - gh.mean(axis=axes, keepdims=True)
                         - xhat * (gh * xhat).mean(axis=axes, keepdims=True))
            grads.append(gx)
        else:
            grads.append(None)
        if weight is not None:
            grads.append((g * xhat).sum(axis=lead) if weight.requires_grad else None)
        if bias is not None:
            grads.append(g.sum(axis=lead) if bias.requires_grad else None)
        return tuple(grads)
    return record(out.astype(x.dtype, copy=False), inputs, backward, "layer_norm")


def embedding(input, weight: Tensor) -> Tensor:
    r"""Rows of ``weight`` picked by integer ids, as ``torch.nn.functional.embedding(input, weight)``.

    Parameters
    ----------
    input : array_like of int (or an integer-valued Tensor), any shape
        Ids in ``0 .. num_embeddings - 1`` (no gradient).
    weight : Tensor, shape (num_embeddings, embedding_dim)

    Returns
    -------
    Tensor, shape input.shape + (embedding_dim,)

    Notes
    -----
    :math:`\mathbf{Y}_{n} = \mathbf{W}_{x_n,:}`, so row :math:`r` of the gradient sums the output
    gradients of every position that picked it: :math:`\partial L/\partial\mathbf{W}_{r,:} =
    \sum_{n:\,x_n = r}\mathbf{G}_{n}`. Computed with ``np.add.at``: assigning ``grad[ids] = G``
    would keep only the last of repeated ids.
    """
    ids = np.asarray(input.data if isinstance(input, Tensor) else input)
    if ids.dtype.kind not in "iu":
        if ids.dtype.kind == "f" and np.array_equal(ids, np.round(ids)):
            ids = ids.astype(np.intp)
        else:
            raise TypeError(f"embedding: input must hold integer ids, got dtype {ids.dtype}")
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError("embedding: weight must be a Tensor of shape (num_embeddings, embedding_dim)")
    n = weight.shape[0]
    if ids.size and (ids.min() < 0 or ids.max() >= n):
        raise IndexError(f"embedding: ids must lie in 0..{n - 1} (num_embeddings = {n}), got ids from "
                         f"{ids.min()} to {ids.max()}")

    def backward(g):
        grad = np.zeros_like(weight.data)
        np.add.at(grad, ids.ravel(), g.reshape(-1, weight.shape[1]))  # repeated ids add up
        return (grad,)
    return record(weight.data[ids], (weight,), backward, "embedding")


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    r"""The Gaussian error linear unit, as ``torch.nn.functional.gelu``.

    Parameters
    ----------
    input : Tensor
    approximate : {"none", "tanh"}
        ``"none"``: the exact form with the error function; ``"tanh"``: GPT-2's approximation.

    Notes
    -----
    Exact, with :math:`\Phi` and :math:`\varphi` the standard normal CDF and density:

    .. math::  \operatorname{GELU}(x) = x\,\Phi(x) = \tfrac{x}{2}\bigl(1 + \operatorname{erf}(x/\sqrt2)\bigr)
               = \tfrac{x}{2}\operatorname{erfc}(-x/\sqrt2),\qquad
               \frac{d}{dx}\operatorname{GELU}(x) = \Phi(x) + x\,\varphi(x).

    The tanh form: :math:`\tfrac{x}{2}\bigl(1 + \tanh u\bigr)`, :math:`u = \sqrt{2/\pi}\,(x + 0.044715\,x^3)`,
    with derivative :math:`\tfrac12(1 + \tanh u) + \tfrac{x}{2}(1 - \tanh^2 u)\,\sqrt{2/\pi}\,(1 + 3\cdot0.044715\,x^2)`.
    """
    x = as_tensor(input)
    a = x.data
    if approximate == "none":
        # Phi(x) = erfc(-x/sqrt2)/2: 1 + erf(x/sqrt2) cancels for x << 0 (relative error eps/Phi(x), 4e-11 at
        # x = -5), erfc keeps full relative precision in the left tail
        cdf = 0.5 * _erfc(-a / math.sqrt(2.0))
        out = a * cdf

        def backward(g):
            pdf = np.exp(-0.5 * a * a) / math.sqrt(2.0 * math.pi)
            return (g * (cdf + a * pdf),)
    elif approximate == "tanh":
        c = math.sqrt(2.0 / math.pi)
        t = np.tanh(c * (a + 0.044715 * a ** 3))
        out = 0.5 * a * (1.0 + t)

        def backward(g):
            return (g * (0.5 * (1.0 + t) + 0.5 * a * (1.0 - t * t) * c * (1.0 + 3 * 0.044715 * a * a)),)
    else:
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return record(out.astype(x.dtype, copy=False), (x,), backward, "gelu")
