r"""A tiny GPT in the course's own engine (:mod:`course_lib.autograd`), the same network as the PyTorch
:class:`course_lib.models.gpt.GPT`, so that one can be checked against the other step for step.

API::

    from course_lib.engine_gpt import EngineGPT
    model = EngineGPT(config, dtype=np.float64, rng=0)   # config: a models.gpt.GPTConfig (dropout 0)
    model.load_state_dict(torch_model.state_dict())      # torch tensors or NumPy arrays, by name
    logits, loss = model(idx, targets)                    # idx, targets: int arrays (B, T), T <= context
    EngineGPT.from_torch(torch_model, dtype=np.float64)  # the two lines above in one
    model.state_dict()                                    # name -> ndarray, torch's names (lm_head.weight too)

It is built only from the engine's ops: :func:`~course_lib.autograd.attention.embedding`,
:func:`~course_lib.autograd.attention.layer_norm`, ``linear``,
:func:`~course_lib.autograd.attention.scaled_dot_product_attention` (``is_causal=True``, on
(batch, heads, time, head_size) asserted), :func:`~course_lib.autograd.attention.gelu`,
``cross_entropy``; its parameters have the PyTorch model's names, shapes and order, and
``lm_head`` is the token embedding (weight tying), so ``named_parameters()`` lists the same names
as ``torch_model.named_parameters()``. Trained with :class:`course_lib.optim.AdamW` or
:class:`course_lib.autograd.optim.SGD`, it follows ``torch.optim`` on the PyTorch model to rounding
in float64 (``tests/test_engine_gpt.py``). It has no dropout (the configuration must say 0). This
module does not import torch.
"""
from __future__ import annotations

import math

import numpy as np

from course_lib.autograd import nn
from course_lib.autograd.attention import embedding, gelu, scaled_dot_product_attention
from course_lib.autograd.functional import cross_entropy, linear
from course_lib.autograd.tensor import Tensor

__all__ = ["EngineGPT"]

_FIELDS = ("vocab_size", "context", "n_layer", "n_head", "d_model")


def _normal_linear(n_in: int, n_out: int, bias: bool, std: float, dtype, rng) -> nn.Linear:
    """An engine Linear with GPT-2's initialization: weight N(0, std^2), bias 0."""
    layer = nn.Linear(n_in, n_out, bias=bias, dtype=dtype, rng=rng)
    layer.weight.data[...] = rng.normal(0.0, std, layer.weight.shape)
    if layer.bias is not None:
        layer.bias.data[...] = 0.0
    return layer


class _Attention(nn.Module):
    def __init__(self, config, dtype, rng):
        d = config.d_model
        self.n_head, self.head_size = config.n_head, d // config.n_head
        self.qkv = _normal_linear(d, 3 * d, config.bias, 0.02, dtype, rng)
        self.proj = _normal_linear(d, d, config.bias, 0.02 / math.sqrt(2 * config.n_layer), dtype, rng)

    def forward(self, x: Tensor) -> Tensor:
        B, T, d = x.shape
        H, hs = self.n_head, self.head_size
        qkv = self.qkv(x)  # (B, T, 3d): queries, keys, values side by side

        def heads(part: int) -> Tensor:
            return qkv[:, :, part * d:(part + 1) * d].reshape(B, T, H, hs).permute(0, 2, 1, 3)
        q, k, v = heads(0), heads(1), heads(2)
        for name, t in (("queries", q), ("keys", k), ("values", v)):  # the scale 1/sqrt(head_size) depends on it
            assert t.shape == (B, H, T, hs), f"{name} must be (batch, heads, time, head_size), got {t.shape}"
        y = scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.permute(0, 2, 1, 3).reshape(B, T, d))


class _MLP(nn.Module):
    def __init__(self, config, dtype, rng):
        d = config.d_model
        self.fc = _normal_linear(d, 4 * d, config.bias, 0.02, dtype, rng)
        self.proj = _normal_linear(4 * d, d, config.bias, 0.02 / math.sqrt(2 * config.n_layer), dtype, rng)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(gelu(self.fc(x)))


class _Block(nn.Module):
    def __init__(self, config, dtype, rng):
        self.ln_1 = nn.LayerNorm(config.d_model, bias=config.bias, dtype=dtype)
        self.attn = _Attention(config, dtype, rng)
        self.ln_2 = nn.LayerNorm(config.d_model, bias=config.bias, dtype=dtype)
        self.mlp = _MLP(config, dtype, rng)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class EngineGPT(nn.Module):
    r"""The GPT of :mod:`course_lib.models.gpt` in the engine.

    Parameters
    ----------
    config : GPTConfig (or any object with its fields)
        ``vocab_size``, ``context``, ``n_layer``, ``n_head``, ``d_model``, ``bias``; ``dropout`` must be 0.
    dtype : numpy dtype
        float32 (default) or float64 (for checks against PyTorch).
    rng : numpy.random.Generator or int or None
        For the initial weights (GPT-2's scheme, as the PyTorch model; not the same draws).
    """

    def __init__(self, config, dtype=np.float32, rng=None):
        missing = [f for f in _FIELDS if not hasattr(config, f)]
        if missing:
            raise TypeError(f"EngineGPT: the config lacks {missing}; pass a course_lib.models.gpt.GPTConfig")
        if getattr(config, "dropout", 0.0):
            raise ValueError(f"EngineGPT has no dropout, but the config asks for {config.dropout}: use dropout=0.0")
        if config.d_model % config.n_head:
            raise ValueError(f"EngineGPT: n_head = {config.n_head} must divide d_model = {config.d_model}")
        rng = np.random.default_rng(rng)
        self.config = config
        self.bias = bool(getattr(config, "bias", True))
        d = config.d_model
        # the attributes in the PyTorch model's order, so named_parameters() lists the same names in the same order
        self.tok_emb = nn.Embedding(config.vocab_size, d, dtype=dtype, rng=rng)
        self.pos_emb = nn.Embedding(config.context, d, dtype=dtype, rng=rng)
        for emb in (self.tok_emb, self.pos_emb):
            emb.weight.data[...] = rng.normal(0.0, 0.02, emb.weight.shape)
        self.blocks = [_Block(config, dtype, rng) for _ in range(config.n_layer)]
        self.ln_f = nn.LayerNorm(d, bias=self.bias, dtype=dtype)

    def forward(self, idx, targets=None):
        r"""Logits (B, T, vocab_size) and, with ``targets`` (B, T), the mean cross-entropy (nats per token).

        :math:`\text{logits} = \operatorname{LN}_f(\mathbf{x}_D)\,\mathbf{W}_\text{tok}^\top` (weight tying).
        """
        ids = np.asarray(idx.data if isinstance(idx, Tensor) else idx)
        if ids.ndim != 2 or ids.dtype.kind not in "iu":
            raise ValueError(f"EngineGPT: idx must be integer ids of shape (batch, time), got {ids.dtype} {ids.shape}")
        B, T = ids.shape
        if T > self.config.context:
            raise ValueError(f"EngineGPT: {T} positions exceed the context of {self.config.context}")
        x = embedding(ids, self.tok_emb.weight) + embedding(np.arange(T), self.pos_emb.weight)
        for block in self.blocks:
            x = block(x)
        logits = linear(self.ln_f(x), self.tok_emb.weight)  # lm_head: the token embedding, read out
        if targets is None:
            return logits, None
        y = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
        if y.shape != (B, T):
            raise ValueError(f"EngineGPT: targets must have shape {(B, T)}, got {y.shape}")
        return logits, cross_entropy(logits.reshape(B * T, self.config.vocab_size), y.reshape(-1))

    def state_dict(self) -> dict:
        """Copies of the parameters by PyTorch's names, ``lm_head.weight`` included (the token embedding)."""
        out = {name: p.data.copy() for name, p in self.named_parameters()}
        out["lm_head.weight"] = out["tok_emb.weight"]
        return out

    def load_state_dict(self, state: dict) -> None:
        """Copy weights in by name, from NumPy arrays or torch tensors (a PyTorch GPT's ``state_dict()``).

        Every parameter must be given, with its shape; ``lm_head.weight``, if present, must equal
        ``tok_emb.weight`` (tied), and nothing else may be left over.
        """
        arrays = {k: _as_array(v) for k, v in state.items()}
        own = dict(self.named_parameters())
        missing = sorted(set(own) - set(arrays))
        extra = sorted(set(arrays) - set(own) - {"lm_head.weight"})
        if missing or extra:
            raise KeyError(f"EngineGPT.load_state_dict: missing {missing}, unexpected {extra}")
        if "lm_head.weight" in arrays and not np.array_equal(arrays["lm_head.weight"], arrays["tok_emb.weight"]):
            raise ValueError("EngineGPT.load_state_dict: lm_head.weight differs from tok_emb.weight, but the engine's "
                             "GPT ties them")
        for name, p in own.items():
            if arrays[name].shape != p.shape:
                raise ValueError(f"EngineGPT.load_state_dict: {name} has shape {arrays[name].shape}, expected {p.shape}")
            p.data[...] = arrays[name]

    @classmethod
    def from_torch(cls, torch_model, dtype=np.float32) -> "EngineGPT":
        """An engine copy of a PyTorch :class:`course_lib.models.gpt.GPT` (its config and weights)."""
        model = cls(torch_model.config, dtype=dtype)
        model.load_state_dict(torch_model.state_dict())
        return model


def _as_array(value) -> np.ndarray:
    """A NumPy array from an array or a torch tensor (duck-typed: this module does not import torch)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        if str(getattr(value, "dtype", "")) == "torch.bfloat16":
            value = value.float()
        value = value.numpy()
    return np.asarray(value)
