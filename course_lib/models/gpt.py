r"""Chapter 11's GPT in PyTorch: a decoder-only transformer for characters, with a KV cache.

API (stable; the chapter and ``course_lib.engine_gpt`` build on it)::

    from course_lib.models.gpt import GPT, GPTConfig, GPT_PRESETS
    config = GPTConfig(vocab_size=96, context=64, n_layer=2, n_head=4, d_model=64)   # dropout=0.0, bias=True
    model = GPT(config)                                   # seeded by torch.manual_seed beforehand
    logits, loss = model(idx, targets)                    # idx, targets: int64 (B, T), T <= context
                                                          # logits (B, T, vocab_size); loss: mean NLL (nats/char)
    out = model.generate(idx, max_new_tokens=200, temperature=0.8, top_k=None, use_kv_cache=True,
                         generator=torch.Generator().manual_seed(0))   # (B, T + max_new_tokens)
    preset = GPT_PRESETS.for_device(device)               # a GPTPreset: size and training settings
    config = preset.config(vocab_size)                    # its GPTConfig

Architecture (GPT-2's, pre-norm): token embedding plus learned position embedding, ``n_layer`` blocks
:math:`\mathbf{x} \leftarrow \mathbf{x} + \operatorname{Attn}(\operatorname{LN}_1(\mathbf{x}))`,
:math:`\mathbf{x} \leftarrow \mathbf{x} + \operatorname{MLP}(\operatorname{LN}_2(\mathbf{x}))`, a final
layer norm, and an output layer whose weight *is* the token embedding (weight tying). Attention is
causal, with ``n_head`` heads of size :math:`d_k = d_\text{model}/n_\text{heads}` (``head_size``);
every query, key and value is asserted to have shape (batch, heads, time, head_size) before
``torch.nn.functional.scaled_dot_product_attention``, which gets the scale :math:`1/\sqrt{d_k}` from
``head_size`` (the same as its default from that last axis), so scaling by the model width cannot happen. The MLP is
:math:`d_\text{model} \to 4d_\text{model} \to d_\text{model}` with the exact GELU.

Parameter names (shared with the engine's :class:`course_lib.engine_gpt.EngineGPT`, so a
``state_dict`` moves between them): ``tok_emb.weight`` (V, d), ``pos_emb.weight`` (T, d),
``blocks.{l}.ln_1.{weight,bias}``, ``blocks.{l}.attn.qkv.{weight,bias}`` (3d, d) rows ordered
q, k, v, ``blocks.{l}.attn.proj.{weight,bias}``, ``blocks.{l}.ln_2.*``, ``blocks.{l}.mlp.fc.*`` (4d, d),
``blocks.{l}.mlp.proj.*`` (d, 4d), ``ln_f.*``, ``lm_head.weight`` (the same tensor as ``tok_emb.weight``).

Initialization (GPT-2's): every linear and embedding weight :math:`\mathcal{N}(0, 0.02^2)`, biases 0,
the two projections back into the residual stream (``attn.proj``, ``mlp.proj``)
:math:`\mathcal{N}(0, (0.02/\sqrt{2 n_\text{layer}})^2)`, so that the residual stream's variance does not
grow with depth; layer norms start as the identity.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.device import Presets

__all__ = ["GPTConfig", "GPTPreset", "GPT_PRESETS", "GPT", "CausalSelfAttention", "Block"]


@dataclass(frozen=True)
class GPTConfig:
    r"""The shape of a GPT.

    Parameters
    ----------
    vocab_size : int
        :math:`V`, the number of distinct tokens (characters).
    context : int
        :math:`T`, the longest sequence the model sees (the number of position embeddings).
    n_layer : int
        Number of transformer blocks (the depth :math:`D`).
    n_head : int
        :math:`n_\text{heads}`; must divide ``d_model``.
    d_model : int
        Width of the residual stream, :math:`d_\text{model}`.
    dropout : float
        Dropout probability on the attention weights, after each residual branch and on the embeddings.
    bias : bool
        Biases in the linear layers and layer norms (GPT-2 has them).
    """

    vocab_size: int
    context: int
    n_layer: int
    n_head: int
    d_model: int
    dropout: float = 0.0
    bias: bool = True

    def __post_init__(self):
        for name in ("vocab_size", "context", "n_layer", "n_head", "d_model"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"GPTConfig: {name} must be a positive int, got {value!r}")
        if self.d_model % self.n_head:
            raise ValueError(f"GPTConfig: n_head = {self.n_head} must divide d_model = {self.d_model} "
                             "(each head gets d_model / n_head features)")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPTConfig: dropout must lie in [0, 1), got {self.dropout}")

    @property
    def head_size(self) -> int:
        r""":math:`d_k = d_\text{model} / n_\text{heads}`."""
        return self.d_model // self.n_head


@dataclass(frozen=True)
class GPTPreset:
    r"""A model size with its training settings, one per device tier (:data:`GPT_PRESETS`).

    Attributes
    ----------
    context, n_layer, n_head, d_model, dropout
        The model (:class:`GPTConfig` without the vocabulary, which comes from the corpus).
    batch_size : int
        Sequences per step (:math:`B`); each step sees ``batch_size * context`` tokens.
    lr, min_lr : float
        AdamW's peak learning rate, and where the cosine schedule ends.
    warmup_steps, max_steps : int
        Linear warm-up, then cosine decay until ``max_steps``.
    max_seconds : float
        Training stops after this much time even if ``max_steps`` is not reached; the schedule's
        progress is the larger of the step and time fractions, so a slow machine still anneals.
    weight_decay, grad_clip : float
        AdamW's decoupled decay (weights and embeddings only, not biases or layer norms) and the
        global gradient-norm clip (``torch.nn.utils.clip_grad_norm_``).
    autocast : str or None
        ``"bfloat16"`` for bf16 autocast (the GPU preset), None for float32.
    compile : bool
        ``torch.compile`` the model where available (skipped with a note where it is not).
    """

    context: int
    n_layer: int
    n_head: int
    d_model: int
    dropout: float
    batch_size: int
    lr: float
    min_lr: float
    warmup_steps: int
    max_steps: int
    max_seconds: float
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    autocast: str | None = None
    compile: bool = False

    def config(self, vocab_size: int, bias: bool = True) -> GPTConfig:
        """The :class:`GPTConfig` of this preset for a vocabulary of ``vocab_size`` tokens."""
        return GPTConfig(vocab_size=int(vocab_size), context=self.context, n_layer=self.n_layer, n_head=self.n_head,
                         d_model=self.d_model, dropout=self.dropout, bias=bias)


#: CPU: 0.1 M parameters, 800 steps of 32 windows of 32 characters: about 17 s of CPU time on one thread
#: (600 steps took 13.1 s of process time, 31 s of wall time at load average 9.4 on 2 cores). Validation loss
#: (nats/char, whole split): 1.858 after 800 steps, 1.932 after 600, 1.992 after 500, against bigram 2.558 and
#: trigram 2.033. Per 2048 tokens a step: batch 32 x context 32 with lr 6e-3 beat 64 x 32 with 3e-3 (1.911 after
#: 600 steps) and 32 x 64 (1.973, both on 400 validation windows); with 64 x 32, lr 2e-2 or a 10-step warm-up did
#: worse (2.39, 2.48 after 300 steps against 2.05). ``max_seconds`` only guards a very busy machine.
#: GPU: 25 M parameters with heads of 64 (the size fused attention kernels like), bf16 and torch.compile; 2000
#: steps of 64 x 512 tokens are about 70 passes over the 0.9 M training characters, so dropout 0.2 (nanoGPT's
#: character-level Shakespeare model, 80 passes, uses the same). Not yet run on a GPU.
GPT_PRESETS: Presets[GPTPreset] = Presets(
    cpu=GPTPreset(context=32, n_layer=2, n_head=4, d_model=64, dropout=0.0, batch_size=32, lr=6e-3, min_lr=6e-4,
                  warmup_steps=40, max_steps=800, max_seconds=45.0, weight_decay=0.01),
    gpu=GPTPreset(context=512, n_layer=8, n_head=8, d_model=512, dropout=0.2, batch_size=64, lr=1e-3, min_lr=1e-4,
                  warmup_steps=100, max_steps=2000, max_seconds=60.0, weight_decay=0.1, autocast="bfloat16",
                  compile=True),
)


class CausalSelfAttention(nn.Module):
    r"""Multi-head causal self-attention with an optional KV cache.

    ``qkv`` maps :math:`\mathbf{x}` (B, T, d) to queries, keys and values at once (rows q, k, v); each is
    split into :math:`n_\text{heads}` heads of size :math:`d_k` and moved to (B, heads, T, d_k); attention
    runs per head; the heads are concatenated back to (B, T, d) and projected by ``proj``.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head, self.head_size, self.dropout = config.n_head, config.head_size, config.dropout
        self.scale = 1.0 / math.sqrt(config.head_size)  # 1/sqrt(d_k): the head's size, not d_model
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model, bias=config.bias)
        self.proj = nn.Linear(config.d_model, config.d_model, bias=config.bias)
        self.resid_drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, past: tuple | None = None):
        r"""Attend.

        Parameters
        ----------
        x : Tensor, shape (B, T, d_model)
            The new positions.
        past : (keys, values) each of shape (B, heads, T_past, head_size), optional
            The cache of the positions before ``x``.

        Returns
        -------
        y : Tensor, shape (B, T, d_model)
        present : (keys, values), each of shape (B, heads, T_past + T, head_size)
        """
        B, T, d = x.shape
        H, hs = self.n_head, self.head_size
        q, k, v = self.qkv(x).split(d, dim=2)
        q, k, v = (t.view(B, T, H, hs).transpose(1, 2) for t in (q, k, v))  # (B, heads, T, head_size)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        n_key = k.shape[2]
        # The layout every line below relies on: the scale is 1/sqrt(head_size) (passed, and also what
        # scaled_dot_product_attention would take from q.shape[-1] in this layout).
        assert q.shape == (B, H, T, hs), f"queries must be (batch, heads, time, head_size), got {tuple(q.shape)}"
        assert k.shape == v.shape == (B, H, n_key, hs), \
            f"keys and values must be (batch, heads, time, head_size), got {tuple(k.shape)}, {tuple(v.shape)}"
        drop = self.dropout if self.training else 0.0
        if n_key == T:  # no cache: query t sees keys 0..t
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, is_causal=True, scale=self.scale)
        elif T == 1:  # one new position sees every cached one and itself
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, scale=self.scale)
        else:  # several new positions after a cache: query t (absolute n_key - T + t) sees keys 0..n_key - T + t
            offset = n_key - T
            mask = torch.arange(T, device=x.device)[:, None] + offset >= torch.arange(n_key, device=x.device)[None, :]
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop, scale=self.scale)
        y = y.transpose(1, 2).contiguous().view(B, T, d)  # heads side by side again
        return self.resid_drop(self.proj(y)), (k, v)


class MLP(nn.Module):
    r""":math:`d_\text{model} \to 4 d_\text{model}` (``fc``), exact GELU, :math:`\to d_\text{model}` (``proj``), dropout."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.fc = nn.Linear(config.d_model, 4 * config.d_model, bias=config.bias)
        self.gelu = nn.GELU()
        self.proj = nn.Linear(4 * config.d_model, config.d_model, bias=config.bias)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.drop(self.proj(self.gelu(self.fc(x))))


class Block(nn.Module):
    r"""A pre-norm transformer block: :math:`\mathbf{x} + \operatorname{Attn}(\operatorname{LN}_1\mathbf{x})`,
    then :math:`\mathbf{x} + \operatorname{MLP}(\operatorname{LN}_2\mathbf{x})`."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.d_model, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.d_model, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, past=None):
        a, present = self.attn(self.ln_1(x), past)
        x = x + a
        return x + self.mlp(self.ln_2(x)), present


class GPT(nn.Module):
    """The GPT of the module docstring: ``GPT(config)``, ``model(idx, targets) -> (logits, loss)``, ``generate``."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"GPT expects a GPTConfig, got {type(config).__name__} (a GPTPreset? use "
                            "preset.config(vocab_size))")
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.d_model)
        self.pos_emb = nn.Embedding(config.context, config.d_model)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.d_model, bias=config.bias)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.lm_head.weight = self.tok_emb.weight  # weight tying: one (V, d) matrix reads tokens in and out
        self.apply(self._init_weights)
        residual_std = 0.02 / math.sqrt(2 * config.n_layer)  # two residual branches per block
        for block in self.blocks:
            nn.init.normal_(block.attn.proj.weight, mean=0.0, std=residual_std)
            nn.init.normal_(block.mlp.proj.weight, mean=0.0, std=residual_std)

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_params(self, exclude_position: bool = True) -> int:
        """Parameters, the tied embedding counted once; without the position embeddings by default
        (they are looked up, not multiplied: :func:`course_lib.hardware.gpt_compute_params`)."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.pos_emb.weight.numel() if exclude_position else n

    def _check_idx(self, idx: torch.Tensor, start: int = 0) -> None:
        if not isinstance(idx, torch.Tensor) or idx.dim() != 2 or idx.dtype not in (torch.int64, torch.int32):
            raise ValueError("GPT: idx must be an integer tensor of shape (batch, time), e.g. "
                             "torch.as_tensor(ids, dtype=torch.long)[None]")
        if start + idx.shape[1] > self.config.context:
            raise ValueError(f"GPT: positions {start}..{start + idx.shape[1] - 1} exceed the context of "
                             f"{self.config.context}: crop the input to its last {self.config.context} tokens")

    def _run(self, idx: torch.Tensor, cache: list | None = None, start: int = 0):
        """Logits (B, T, V) for tokens at positions start..start+T-1, and the new per-layer KV cache."""
        self._check_idx(idx, start)
        pos = torch.arange(start, start + idx.shape[1], device=idx.device)
        x = self.drop(self.tok_emb(idx) + self.pos_emb(pos))
        presents = []
        for i, block in enumerate(self.blocks):
            x, present = block(x, None if cache is None else cache[i])
            presents.append(present)
        return self.lm_head(self.ln_f(x)), presents

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        r"""Next-token logits at every position, and the mean cross-entropy if ``targets`` are given.

        Parameters
        ----------
        idx : LongTensor, shape (B, T), T <= context
        targets : LongTensor, shape (B, T), optional
            The next token at every position (``idx`` shifted left by one).

        Returns
        -------
        logits : Tensor, shape (B, T, vocab_size)
        loss : Tensor, shape (), or None
            :math:`L = -\frac{1}{BT}\sum_{b,t}\log \hat p_{b,t}(y_{b,t})` in nats per token.
        """
        logits, _ = self._run(idx)
        if targets is None:
            return logits, None
        if targets.shape != idx.shape:
            raise ValueError(f"GPT: targets must have the shape of idx {tuple(idx.shape)}, got {tuple(targets.shape)}")
        # (under bf16 autocast, cross_entropy runs in float32 by itself; float64 stays float64 for the checks)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        return logits, loss

    @staticmethod
    def _sample(logits: torch.Tensor, temperature: float, top_k: int | None, generator) -> torch.Tensor:
        """One token per row of ``logits`` (B, V): softmax(logits / temperature) over the top_k largest."""
        if temperature == 0:
            return logits.argmax(dim=-1, keepdim=True)
        logits = logits.to(torch.promote_types(logits.dtype, torch.float32)) / temperature  # bf16 -> float32
        if top_k is not None and top_k < logits.shape[-1]:
            kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        probs = torch.softmax(logits, dim=-1)
        return torch.multinomial(probs, num_samples=1, generator=generator)

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 use_kv_cache: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
        r"""Sample ``max_new_tokens`` tokens after ``idx``, one at a time.

        Parameters
        ----------
        idx : LongTensor, shape (B, T0), T0 >= 1
            The prompt.
        max_new_tokens : int
        temperature : float
            :math:`\tau` of chapter 03's softmax, :math:`\hat p \propto e^{z/\tau}`; 0 picks the most likely token.
        top_k : int, optional
            Sample only among the ``top_k`` most likely tokens (ties at the k-th logit are kept).
        use_kv_cache : bool
            Keep every layer's keys and values, so a step computes one new position instead of all of
            them. Gives the same tokens as without (``tests/test_models_gpt.py``).
        generator : torch.Generator, optional
            The random source of the draws (for reproducible samples).

        Returns
        -------
        LongTensor, shape (B, T0 + max_new_tokens)

        Notes
        -----
        The model has ``context`` learned positions. Without the cache, each step reads the last
        ``context`` tokens at positions 0..context-1. With it, each step feeds only the newest token, at
        the next position; once the cache holds ``context`` positions there is no next position, and the
        step re-reads the last ``context`` tokens from scratch (as the uncached step does), so both
        give the same logits at every step. Eval mode (no dropout) during generation; the mode is restored.
        """
        if temperature < 0:
            raise ValueError(f"generate: temperature must be >= 0, got {temperature}")
        if top_k is not None and top_k < 1:
            raise ValueError(f"generate: top_k must be a positive int or None, got {top_k}")
        if idx.dim() != 2 or idx.shape[1] < 1:
            raise ValueError(f"generate: idx must be a (batch, time) prompt of at least one token, got {tuple(idx.shape)}")
        context, was_training = self.config.context, self.training
        self.eval()
        try:
            cache, n_cached = None, 0
            for _ in range(int(max_new_tokens)):
                if not use_kv_cache:
                    logits, _ = self._run(idx[:, -context:])
                elif cache is None or n_cached == context:  # (re)fill the cache from the last `context` tokens
                    window = idx[:, -context:]
                    logits, cache = self._run(window)
                    n_cached = window.shape[1]
                else:  # the newest token at the next free position
                    logits, cache = self._run(idx[:, -1:], cache, start=n_cached)
                    n_cached += 1
                nxt = self._sample(logits[:, -1, :], temperature, top_k, generator)
                idx = torch.cat([idx, nxt], dim=1)
        finally:
            self.train(was_training)
        return idx
