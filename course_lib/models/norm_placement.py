r"""Pre-norm vs post-norm transformers: the depth experiment of chapter 11 (PyTorch).

Two placements of layer norm in a residual block (Xiong et al. 2020):

- **post-norm** (the original transformer): :math:`\mathbf x \leftarrow \operatorname{LN}(\mathbf x + f(\mathbf x))`;
- **pre-norm** (GPT-2 and later): :math:`\mathbf x \leftarrow \mathbf x + f(\operatorname{LN}(\mathbf x))`.

In pre-norm the residual stream is a sum, :math:`\mathbf x_D = \mathbf x_0 + \sum_\ell f_\ell(\cdot)`, so
:math:`\partial\mathbf x_D/\partial\mathbf x_0 = \mathbf I + \dots` keeps an identity path from the loss to every
layer. In post-norm every block's output passes through a layer norm, whose Jacobian rescales the gradient by
:math:`1/\sqrt{v}` at each of the :math:`D` blocks, and the identity path is gone.

:func:`run` trains a stack of ``depth`` blocks on a synthetic task (predict the token ``lag`` steps back, which
needs attention and positions) with Adam at a fixed learning rate and no warm-up, and records the loss and, at
initialization, the gradient norm of each block's parameters. :func:`experiment` runs both placements at a
shallow and a deep setting. With the defaults (depths 2 and 12, Adam at 6e-3, 100 steps), post-norm at depth 12
stays at the chance loss :math:`\log V` while pre-norm solves the task; at depth 2 both do (measured in the
chapter). Small enough for a CPU notebook: a few seconds for all four runs with one thread on a quiet machine.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    """A causal self-attention + MLP block with layer norm placed ``"pre"`` or ``"post"``."""

    def __init__(self, d_model: int, n_heads: int, placement: str):
        super().__init__()
        if placement not in ("pre", "post"):
            raise ValueError(f"placement must be 'pre' or 'post', got {placement!r}")
        self.placement, self.n_heads = placement, n_heads
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def attend(self, x: torch.Tensor) -> torch.Tensor:
        B, T, d = x.shape
        q, k, v = (z.view(B, T, self.n_heads, d // self.n_heads).transpose(1, 2)
                   for z in self.qkv(x).split(d, dim=-1))   # (B, n_heads, T, head_size)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # scale 1/sqrt(head_size)
        return self.proj(y.transpose(1, 2).reshape(B, T, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.placement == "pre":
            x = x + self.attend(self.ln1(x))
            return x + self.mlp(self.ln2(x))
        x = self.ln1(x + self.attend(x))
        return self.ln2(x + self.mlp(x))


class Stack(nn.Module):
    """Token and position embeddings, ``depth`` blocks, (pre-norm: a final layer norm), a linear head."""

    def __init__(self, vocab: int, context: int, d_model: int, n_heads: int, depth: int, placement: str):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d_model), nn.Embedding(context, d_model)
        self.blocks = nn.ModuleList(Block(d_model, n_heads, placement) for _ in range(depth))
        # post-norm's last block already ends in a layer norm
        self.ln_f = nn.LayerNorm(d_model) if placement == "pre" else nn.Identity()
        self.head = nn.Linear(d_model, vocab)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def lag_task(batch: int, T: int, vocab: int, lag: int, generator: torch.Generator):
    """Random tokens ``x`` (B, T); the target at ``t >= lag`` is ``x[t - lag]`` (loss only there)."""
    x = torch.randint(vocab, (batch, T), generator=generator)
    return x, x[:, :T - lag]


@dataclass
class Run:
    placement: str
    depth: int
    losses: list = field(default_factory=list)
    grad_norms: list = field(default_factory=list)   # per block, at initialization
    seconds: float = 0.0

    @property
    def final(self) -> float:
        """The mean loss over the last tenth of the steps."""
        tail = self.losses[-max(1, len(self.losses) // 10):]
        return sum(tail) / len(tail)


def run(placement: str, depth: int, steps: int = 100, lr: float = 6e-3, d_model: int = 32, n_heads: int = 4,
        T: int = 12, vocab: int = 16, lag: int = 3, batch: int = 16, seed: int = 0) -> Run:
    r"""Train one stack with Adam (fixed ``lr``, no warm-up) on :func:`lag_task`; the chance loss is :math:`\log V`."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    model = Stack(vocab, T, d_model, n_heads, depth, placement)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    out = Run(placement, depth)
    start = time.perf_counter()
    for step in range(steps):
        x, y = lag_task(batch, T, vocab, lag, gen)
        logits = model(x)[:, lag:]
        loss = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if step == 0:
            out.grad_norms = [math.sqrt(sum(float(p.grad.pow(2).sum()) for p in b.parameters()))
                              for b in model.blocks]
        opt.step()
        out.losses.append(loss.item())
    out.seconds = time.perf_counter() - start
    return out


def experiment(depths=(2, 12), steps: int = 100, lr: float = 6e-3, seed: int = 0, **kw) -> dict:
    """``{(placement, depth): Run}`` for both placements at each depth, same data and seeds."""
    return {(p, D): run(p, D, steps=steps, lr=lr, seed=seed, **kw) for D in depths for p in ("pre", "post")}
