r"""Training chapter 11's GPT (:mod:`course_lib.models.gpt`) on the course corpus.

API::

    from course_lib.corpus import load_corpus
    from course_lib.models.gpt_training import train_gpt, evaluate
    run = train_gpt(load_corpus(), device="cpu", seed=0)   # preset: GPT_PRESETS.for_device(device)
    run.val_loss, run.tokens_per_s, run.model, run.history  # nats/char on the whole validation split

``train_gpt(corpus, preset=None, device=None, seed=0, *, max_seconds=None, max_steps=None,
eval_windows=None, compile=None, threads=None, log_every=50, callback=None) -> GPTRun``: AdamW (decoupled
weight decay on weights and embeddings only), linear warm-up then cosine decay, global
gradient-norm clipping, random windows of ``context + 1`` characters from the training split; with
the preset's ``autocast="bfloat16"`` the forward pass runs under ``torch.autocast`` in bf16, and
with ``compile=True`` the model goes through ``torch.compile`` where that works (else eager, with a
note in ``run.notes``). Training stops at ``max_steps`` or after ``max_seconds`` of training
(the first step, which includes any compilation, is timed apart), whichever comes first; the
learning-rate schedule follows the larger of the two fractions, so a run cut short by time still
anneals. ``evaluate`` scores every position of non-overlapping ``context``-long windows.
"""
from __future__ import annotations

import dataclasses
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch

from course_lib.device import pick_device, torch_threads
from course_lib.models.gpt import GPT, GPT_PRESETS, GPTConfig, GPTPreset

__all__ = ["GPTRun", "train_gpt", "evaluate", "learning_rate", "batch_windows"]


@dataclass
class GPTRun:
    """What :func:`train_gpt` returns.

    Attributes
    ----------
    model : GPT
        The trained model (the eager module even when a compiled one was trained; they share weights).
    config : GPTConfig
    preset : GPTPreset
    device : torch.device
    steps : int
        Optimizer steps taken.
    seconds : float
        Training time after the first step (the first step, which compiles, is ``first_step_seconds``).
    tokens_per_s : float
        Training tokens per second over the steps after the first.
    val_loss : float
        Mean cross-entropy on the validation split, nats per character (:func:`evaluate`).
    history : list of (step, train_loss)
        The training loss every ``log_every`` steps (and at the last).
    notes : list of str
        Anything that did not go as the preset asked (torch.compile unavailable, ...).
    """

    model: GPT
    config: GPTConfig
    preset: GPTPreset
    device: torch.device
    steps: int = 0
    seconds: float = 0.0
    first_step_seconds: float = 0.0
    tokens_per_s: float = 0.0
    val_loss: float = float("nan")
    history: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def learning_rate(step: int, progress: float, preset: GPTPreset) -> float:
    r"""The learning rate at ``step`` with training ``progress`` in [0, 1]: linear warm-up over
    ``warmup_steps``, then :math:`\eta_\min + \tfrac12(\eta - \eta_\min)(1 + \cos \pi q)` with
    :math:`q` the progress since the end of the warm-up, rescaled to [0, 1]."""
    if step < preset.warmup_steps:
        return preset.lr * (step + 1) / preset.warmup_steps
    start = preset.warmup_steps / preset.max_steps
    q = min(max((progress - start) / max(1.0 - start, 1e-12), 0.0), 1.0)
    return preset.min_lr + 0.5 * (preset.lr - preset.min_lr) * (1.0 + math.cos(math.pi * q))


def batch_windows(ids: torch.Tensor, context: int) -> torch.Tensor:
    """Every window of ``context + 1`` consecutive ids, as a view of shape (len - context, context + 1):
    row ``i`` is the input ``ids[i:i+context]`` followed by its last target."""
    if len(ids) < context + 1:
        raise ValueError(f"the split has {len(ids)} ids, fewer than context + 1 = {context + 1}")
    return ids.unfold(0, context + 1, 1)


def _autocast(device: torch.device, dtype_name: str | None):
    if dtype_name is None:
        return torch.autocast(device_type=device.type, enabled=False)
    return torch.autocast(device_type=device.type, dtype=getattr(torch, dtype_name))


@torch.no_grad()
def evaluate(model: GPT, ids, context: int | None = None, batch_size: int = 128, max_windows: int | None = None,
             device=None, autocast: str | None = None) -> float:
    r"""Mean next-character cross-entropy (nats) over ``ids``, cut into non-overlapping windows.

    Parameters
    ----------
    model : GPT
    ids : array_like of int, shape (N,)
        A split of the corpus (e.g. ``corpus.val``).
    context : int, optional
        Window length (default: the model's context).
    batch_size : int
    max_windows : int, optional
        Score only this many windows, evenly spread over the split (a cheaper estimate).
    device, autocast
        Where to compute, and ``"bfloat16"`` to evaluate under autocast.

    Returns
    -------
    float
        :math:`-\frac{1}{n}\sum \log \hat p(x_{t+1} \mid x_{s..t})` over every scored position, where a window
        starting at :math:`s` gives position :math:`t` the :math:`t - s + 1` characters before it.
    """
    context = model.config.context if context is None else int(context)
    device = next(model.parameters()).device if device is None else torch.device(device)
    data = torch.tensor(np.asarray(ids), dtype=torch.long, device=device)
    n_windows = (len(data) - 1) // context
    if n_windows < 1:
        raise ValueError(f"evaluate: {len(data)} ids are too few for one window of {context} + 1")
    starts = torch.arange(n_windows, device=device) * context
    if max_windows is not None and max_windows < n_windows:
        starts = starts[torch.linspace(0, n_windows - 1, max_windows, device=device).round().long()]
    windows = batch_windows(data, context)[starts]
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        for i in range(0, len(windows), batch_size):
            chunk = windows[i:i + batch_size]
            with _autocast(device, autocast):
                _, loss = model(chunk[:, :-1], chunk[:, 1:])
            total += float(loss) * chunk[:, 1:].numel()
            count += chunk[:, 1:].numel()
    finally:
        model.train(was_training)
    return total / count


def _optimizer(model: GPT, preset: GPTPreset, device: torch.device) -> torch.optim.AdamW:
    """AdamW; weight decay on matrices (linear weights, embeddings), none on biases and layer norms."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": preset.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    extra = {"fused": True} if device.type == "cuda" else {}
    return torch.optim.AdamW(groups, lr=preset.lr, betas=(0.9, 0.99), **extra)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_gpt(corpus, preset: GPTPreset | None = None, device=None, seed: int = 0, *, max_seconds: float | None = None,
              max_steps: int | None = None, eval_windows: int | None = None, compile: bool | None = None,
              threads: int | None = None, log_every: int = 50, callback=None) -> GPTRun:
    r"""Train a :class:`GPT` of ``preset``'s size on ``corpus.train``; score it on ``corpus.val``.

    Parameters
    ----------
    corpus : course_lib.corpus.Corpus
        Needs ``train``, ``val`` (int ids) and ``vocab_size``.
    preset : GPTPreset, optional
        Default ``GPT_PRESETS.for_device(device)``.
    device : torch.device or str, optional
        Default :func:`course_lib.device.pick_device`.
    seed : int
        Seeds the initial weights and the batches.
    max_seconds, max_steps : optional
        Override the preset's limits.
    eval_windows : int, optional
        Evaluate on this many evenly spread validation windows instead of all of them.
    compile : bool, optional
        Override the preset's ``compile``.
    threads : int, optional
        torch's CPU threads during the run (:func:`course_lib.device.torch_threads`); default: as set. On a
        busy 2-core machine 1 is faster for the CPU preset than 2.
    log_every : int
    callback : callable ``(step, train_loss) -> None``, optional
        Called at every logged step.

    Returns
    -------
    GPTRun
    """
    with torch_threads(threads):
        return _train(corpus, preset, device, seed, max_seconds, max_steps, eval_windows, compile, log_every, callback)


def _train(corpus, preset, device, seed, max_seconds, max_steps, eval_windows, compile, log_every, callback) -> GPTRun:
    device = pick_device() if device is None else torch.device(device)
    preset = GPT_PRESETS.for_device(device) if preset is None else preset
    overrides = {k: v for k, v in (("max_seconds", max_seconds), ("max_steps", max_steps), ("compile", compile))
                 if v is not None}
    preset = dataclasses.replace(preset, **overrides)
    config = preset.config(corpus.vocab_size)
    torch.manual_seed(seed)
    model = GPT(config).to(device)
    run = GPTRun(model=model, config=config, preset=preset, device=device)
    step_model = model
    if preset.compile:
        if hasattr(torch, "compile") and device.type == "cuda":
            step_model = torch.compile(model)
        else:
            run.notes.append(f"torch.compile skipped on {device.type} (used on CUDA only)")
    train = torch.tensor(np.asarray(corpus.train), dtype=torch.long, device=device)  # a copy: the corpus is read-only
    windows = batch_windows(train, config.context)
    gen = torch.Generator(device=device).manual_seed(seed)
    opt = _optimizer(model, preset, device)
    params = list(model.parameters())

    def one_step(step: int, progress: float) -> torch.Tensor:
        for group in opt.param_groups:
            group["lr"] = learning_rate(step, progress, preset)
        batch = windows[torch.randint(len(windows), (preset.batch_size,), generator=gen, device=device)]
        with _autocast(device, preset.autocast):
            _, loss = step_model(batch[:, :-1], batch[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, preset.grad_clip)
        opt.step()
        return loss

    model.train()
    t0 = time.perf_counter()
    try:
        loss = one_step(0, 0.0)
    except Exception as exc:  # torch.compile can fail late (no C++ compiler, unsupported op): fall back to eager
        if step_model is model:
            raise
        warnings.warn(f"torch.compile failed ({type(exc).__name__}: {exc}); training eagerly", stacklevel=2)
        run.notes.append(f"torch.compile failed ({type(exc).__name__}); eager")
        step_model = model
        loss = one_step(0, 0.0)
    run.history.append((0, loss.item()))
    _sync(device)
    start = time.perf_counter()
    run.first_step_seconds = start - t0
    step, elapsed = 1, 0.0
    while step < preset.max_steps and elapsed < preset.max_seconds:
        loss = one_step(step, max(step / preset.max_steps, elapsed / preset.max_seconds))
        step += 1
        if step % log_every == 0:
            run.history.append((step, loss.item()))  # .item() waits for the device: time stays honest
            if callback is not None:
                callback(step, run.history[-1][1])
        elapsed = time.perf_counter() - start
    _sync(device)
    run.seconds = time.perf_counter() - start
    if run.history[-1][0] != step:
        run.history.append((step, loss.item()))
    run.steps = step
    run.tokens_per_s = (step - 1) * preset.batch_size * config.context / max(run.seconds, 1e-9)
    run.val_loss = evaluate(model, corpus.val, config.context, max_windows=eval_windows, device=device,
                            autocast=preset.autocast)
    return run
