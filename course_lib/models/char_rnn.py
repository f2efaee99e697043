r"""Chapter 10's PyTorch models: a character language model on the course corpus, and the long-range task.

Character LM
    Embedding, a recurrent layer (``nn.LSTM`` by default), a linear read-out to the K characters.
    Trained with **truncated BPTT**: the training split is cut into B parallel streams; each step
    reads the next window of ``seq_len`` characters of every stream, starting from the hidden
    state the previous window ended in, **detached** (so the gradient stops at the window's
    start while the state still carries the context forward). Gradients are clipped by their
    global norm. The CPU preset beats the bigram baseline within the notebook's budget; the GPU
    preset is larger, uses bf16 autocast and ``torch.compile`` where available.

Long-range task
    :func:`course_lib.recurrent.recall_task`: a symbol at step 1, T - 1 delay steps carrying Gaussian
    distractors, then name the symbol (the copy task with one symbol); or
    :func:`course_lib.recurrent.adding_task`. Its gradient must cross all T steps. :func:`train_long_range` trains one cell type at one length with a fixed
    budget and reports the test accuracy (or mean squared error).

Gradient flow
    :func:`gradient_norms_over_time` measures :math:`\|\partial L/\partial\mathbf{h}_t\|` (and the
    LSTM's :math:`\|\partial L/\partial\mathbf{c}_t\|`) for a loss at the last step, at every t.
"""
from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from course_lib.device import Presets
from course_lib.recurrent import adding_task, recall_task

__all__ = ["CharLMConfig", "PRESETS", "CharRNN", "train_char_lm", "evaluate", "sample", "trained_char_lm",
           "lstm_gates", "LongRangeConfig", "LONG_RANGE_PRESETS", "SequenceClassifier", "chrono_init_",
           "train_long_range", "gradient_norms_over_time"]

CELLS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


# -- the character language model --------------------------------------------------------------------------
@dataclass(frozen=True)
class CharLMConfig:
    """Sizes and training of the character LM (``steps`` Adam steps of ``batch_size`` x ``seq_len`` characters)."""

    cell: str = "lstm"
    embed: int = 32
    hidden: int = 128
    layers: int = 1
    seq_len: int = 64
    batch_size: int = 32
    steps: int = 250
    lr: float = 5e-3
    max_norm: float = 1.0
    autocast: bool = False  # bf16 autocast (GPU preset)
    compile: bool = False  # torch.compile where available (GPU preset)


PRESETS = Presets(cpu=CharLMConfig(),
                  gpu=CharLMConfig(embed=64, hidden=512, layers=2, seq_len=128, batch_size=128, steps=3000,
                                   lr=2e-3, autocast=True, compile=True))


class CharRNN(torch.nn.Module):
    """Embedding -> ``nn.LSTM``/``nn.GRU``/``nn.RNN`` (batch first) -> linear; ``forward(ids, state)`` -> (logits, state)."""

    def __init__(self, vocab_size: int, config: CharLMConfig = CharLMConfig()):
        super().__init__()
        if config.cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {config.cell!r}")
        self.config = config
        self.embed = torch.nn.Embedding(vocab_size, config.embed)
        self.rnn = CELLS[config.cell](config.embed, config.hidden, num_layers=config.layers, batch_first=True)
        self.head = torch.nn.Linear(config.hidden, vocab_size)

    def forward(self, ids, state=None):
        out, state = self.rnn(self.embed(ids), state)
        return self.head(out), state


def _detach(state):
    """Cut the graph at a window boundary, keeping the values (truncated BPTT)."""
    if state is None:
        return None
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def _streams(ids: np.ndarray, batch_size: int, device) -> torch.Tensor:
    """The ids cut into ``batch_size`` contiguous streams: (B, len // B)."""
    n = len(ids) // batch_size
    return torch.from_numpy(np.array(ids[:n * batch_size])).view(batch_size, n).to(device)  # a writable copy


@torch.no_grad()
def evaluate(model: CharRNN, ids: np.ndarray, device=None, chunk: int = 4096) -> float:
    r"""Mean next-character loss (nats per character) of ``model`` on ``ids``, read once left to right.

    The state is carried across chunks, so every character after the first is predicted from
    all the text before it (as the n-gram baselines predict from theirs).
    """
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    x = torch.from_numpy(np.array(ids)).to(device)  # a writable copy
    total, count, state = 0.0, 0, None
    for start in range(0, len(x) - 1, chunk):
        inp, tgt = x[start:start + chunk][None], x[start + 1:start + chunk + 1]
        inp = inp[:, :len(tgt)]
        logits, state = model(inp, state)
        total += torch.nn.functional.cross_entropy(logits[0].float(), tgt, reduction="sum").item()
        count += len(tgt)
    model.train(was_training)
    return total / count


def train_char_lm(corpus, config: CharLMConfig, device, seed: int = 0, eval_chars: int | None = None) -> dict:
    r"""Train :class:`CharRNN` on ``corpus.train`` with truncated BPTT; evaluate on ``corpus.val``.

    Parameters
    ----------
    corpus : course_lib.corpus.Corpus
    config : CharLMConfig
    device : torch.device
    seed : int
    eval_chars : int, optional
        Evaluate on the first ``eval_chars`` validation characters only (smoke tests); all by default.

    Returns
    -------
    dict
        ``model``, ``losses`` (training loss per step), ``val_loss`` (nats/char), ``seconds`` and
        ``chars_per_s`` of training, ``config``.
    """
    torch.manual_seed(seed)
    device = torch.device(device)
    model = CharRNN(corpus.vocab_size, config).to(device)
    step_model = model
    if config.compile and device.type == "cuda" and hasattr(torch, "compile"):
        step_model = torch.compile(model)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    streams = _streams(corpus.train, config.batch_size, device)
    n = streams.shape[1]
    autocast_device = "cuda" if device.type == "cuda" else "cpu"
    losses, state, pos = [], None, 0
    start = time.perf_counter()
    for step in range(config.steps):
        if pos + config.seq_len + 1 > n:  # wrap around: a fresh state at the streams' start
            pos, state = 0, None
        x = streams[:, pos:pos + config.seq_len]
        y = streams[:, pos + 1:pos + config.seq_len + 1]
        pos += config.seq_len
        for group in opt.param_groups:  # cosine decay to 10%: the last steps settle
            group["lr"] = config.lr * (0.55 + 0.45 * math.cos(math.pi * step / config.steps))
        with torch.autocast(autocast_device, dtype=torch.bfloat16, enabled=config.autocast):
            logits, state = step_model(x, state)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1))
        state = _detach(state)  # without this, the next backward would run into this window's freed graph
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_norm)
        opt.step()
        losses.append(loss.item())
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    val = corpus.val if eval_chars is None else corpus.val[:eval_chars]
    return {"model": model, "losses": np.array(losses), "val_loss": evaluate(model, val, device),
            "seconds": seconds, "chars_per_s": config.steps * config.batch_size * config.seq_len / seconds,
            "config": config}


@torch.no_grad()
def sample(model: CharRNN, corpus, prompt: str, n: int, tau: float = 1.0, seed: int = 0) -> str:
    r"""``n`` characters after ``prompt``, drawn from :math:`\operatorname{softmax}(\mathbf{z}/\tau)` (chapter 03's temperature).

    :math:`\tau \to 0` is greedy (argmax) decoding; :math:`\tau = 1` samples the model's own
    distribution; :math:`\tau > 1` flattens it towards uniform. ``tau == 0`` takes the argmax.
    """
    if tau < 0:
        raise ValueError(f"the temperature tau must be >= 0, got {tau}")
    if not prompt:
        raise ValueError("sample needs a non-empty prompt (the first character conditions the rest)")
    device = next(model.parameters()).device
    gen = torch.Generator(device="cpu").manual_seed(seed)
    was_training = model.training
    model.eval()
    logits, state = model(torch.from_numpy(corpus.encode(prompt)).to(device)[None])
    out = []
    for _ in range(n):
        z = logits[0, -1].float().cpu()
        nxt = int(z.argmax()) if tau == 0 else int(torch.multinomial(torch.softmax(z / tau, dim=-1), 1, generator=gen))
        out.append(nxt)
        logits, state = model(torch.tensor([[nxt]], device=device), state)
    model.train(was_training)
    return corpus.decode(out)


@functools.lru_cache(maxsize=2)
def trained_char_lm(device_type: str = "cpu") -> dict:
    """The chapter's trained character LM for the device's preset, trained once per process (the widget reuses it)."""
    from course_lib.corpus import load_corpus

    device = torch.device(device_type)
    return train_char_lm(load_corpus(), PRESETS.for_device(device), device)


@torch.no_grad()
def lstm_gates(model: CharRNN, corpus, text: str) -> dict:
    r"""The first LSTM layer's gates along ``text``: ``i``, ``f``, ``g``, ``o``, ``c``, ``h``, each (len(text), n_h).

    Recomputed from the layer's weights with torch's gate order (i, f, g, o), and checked
    against the layer's own output ``h`` (the returned ``max_h_error``; NaN for a stacked LSTM).
    """
    if model.config.cell != "lstm":
        raise ValueError("lstm_gates needs a model whose cell is 'lstm'")
    rnn = model.rnn
    x = model.embed(torch.from_numpy(corpus.encode(text)).to(next(model.parameters()).device)).float()
    W_ih, W_hh = rnn.weight_ih_l0.float(), rnn.weight_hh_l0.float()
    b = (rnn.bias_ih_l0 + rnn.bias_hh_l0).float()
    H = rnn.hidden_size
    h, c = torch.zeros(H, device=x.device), torch.zeros(H, device=x.device)
    rows = {k: [] for k in "ifgoch"}
    for x_t in x:
        a = W_ih @ x_t + W_hh @ h + b
        i, f, g, o = torch.sigmoid(a[:H]), torch.sigmoid(a[H:2 * H]), torch.tanh(a[2 * H:3 * H]), torch.sigmoid(a[3 * H:])
        c = f * c + i * g
        h = o * torch.tanh(c)
        for k, v in zip("ifgoch", (i, f, g, o, c, h)):
            rows[k].append(v)
    out = {k: torch.stack(v).cpu().numpy() for k, v in rows.items()}
    # Checked against the layer itself; a stacked LSTM's output is its top layer's, so only one layer compares.
    ref, _ = rnn(x[None])
    out["max_h_error"] = float((ref[0] - torch.stack(rows["h"])).abs().max()) if rnn.num_layers == 1 else float("nan")
    return out


# -- the long-range task -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LongRangeConfig:
    """The long-range task's training: ``n_symbols`` symbols, hidden width, ``steps`` steps of ``batch_size`` sequences.

    The same budget for every cell; the CPU preset is sized so that the notebook stays in its minute.
    ``noise`` is the standard deviation of the copy task's distractors on the delay steps
    (:func:`course_lib.recurrent.recall_task`). Measured with this preset at T = 50 over seeds 0-7:
    the vanilla RNN stays near chance (0.110-0.137) while LSTM (>= 0.994) and GRU (1.000) solve it,
    and the RNN solves T = 5 (>= 0.999); without distractors the RNN solves T = 50 on some seeds.
    """

    n_symbols: int = 8
    hidden: int = 16
    batch_size: int = 64
    steps: int = 300
    lr: float = 0.02
    noise: float = 0.3
    max_norm: float = 1.0
    chrono: bool = True
    test_size: int = 1000
    optimizer: str = "adam"  # or "sgd" (momentum 0.9)
    task: str = "copy"  # or "adding"


# A GPU does not make these small sequential runs faster, so its preset trains the same models and only
# tests on more sequences (a tighter accuracy estimate).
LONG_RANGE_PRESETS = Presets(cpu=LongRangeConfig(), gpu=LongRangeConfig(test_size=4000))


class SequenceClassifier(torch.nn.Module):
    """A recurrent layer read out at its last step: (B, T, n_in) -> (B, n_out) logits."""

    def __init__(self, cell: str, n_in: int, hidden: int, n_out: int):
        super().__init__()
        self.cell = cell
        self.rnn = CELLS[cell](n_in, hidden, batch_first=True)
        self.head = torch.nn.Linear(hidden, n_out)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


@torch.no_grad()
def chrono_init_(rnn: torch.nn.Module, T: int, generator: torch.Generator | None = None) -> None:
    r"""Chrono initialization (Tallec & Ollivier 2018) of an LSTM or GRU (layer or cell) for memories of ~T steps.

    LSTM: the forget gate's bias is the log of a number drawn uniformly from [1, T - 1] and the
    input gate's bias minus that, so a unit keeps its cell state for about that many steps. GRU:
    the same on the update gate z (which keeps the old state,
    :math:`\mathbf{h}' = (1-\mathbf{z})\odot\mathbf{n} + \mathbf{z}\odot\mathbf{h}`). A vanilla RNN has no gate,
    so nothing to set. Works on ``nn.LSTM``/``nn.GRU`` (first layer) and ``nn.LSTMCell``/``nn.GRUCell``.
    """
    lstm = isinstance(rnn, (torch.nn.LSTM, torch.nn.LSTMCell))
    if not isinstance(rnn, (torch.nn.LSTM, torch.nn.GRU, torch.nn.LSTMCell, torch.nn.GRUCell)):
        raise ValueError("chrono initialization needs an nn.LSTM or nn.GRU layer (or cell)")
    b_ih, b_hh = (rnn.bias_ih_l0, rnn.bias_hh_l0) if hasattr(rnn, "bias_ih_l0") else (rnn.bias_ih, rnn.bias_hh)
    H = rnn.hidden_size
    u = torch.empty(H).uniform_(1.0, max(T - 1.0, 1.0 + 1e-6), generator=generator)
    b = torch.log(u).to(b_ih.dtype)
    b_hh.zero_()
    b_ih[H:2 * H] = b  # LSTM order i, f, g, o: f; GRU order r, z, n: z
    if lstm:
        b_ih[:H] = -b


def train_long_range(cell: str, T: int, config: LongRangeConfig, device, seed: int = 0) -> dict:
    r"""Train a :class:`SequenceClassifier` on the copy task (or the adding task) of length ``T``.

    Returns
    -------
    dict
        ``accuracy`` on ``test_size`` fresh sequences (copy; chance 1 / n_symbols) or ``mse`` (adding;
        predicting the mean gives 1/6), ``losses`` per step, ``seconds``, ``cell``, ``T``.
    """
    if config.task not in ("copy", "adding"):
        raise ValueError(f"task must be 'copy' or 'adding', got {config.task!r}")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    device = torch.device(device)
    adding = config.task == "adding"
    n_in, n_out = (2, 1) if adding else (config.n_symbols + 1, config.n_symbols)  # + 1: the cue channel
    model = SequenceClassifier(cell, n_in, config.hidden, n_out)
    if config.chrono and cell in ("lstm", "gru"):
        chrono_init_(model.rnn, T)
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr) if config.optimizer == "adam" else \
        torch.optim.SGD(model.parameters(), lr=config.lr, momentum=0.9)

    def data(n, gen):
        x, y = adding_task(n, T, gen) if adding else recall_task(n, T, config.n_symbols, gen, config.noise)
        return torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)

    def loss_of(out, y):
        return ((out[:, 0] - y) ** 2).mean() if adding else torch.nn.functional.cross_entropy(out, y)

    losses = []
    start = time.perf_counter()
    for step in range(config.steps):
        for group in opt.param_groups:  # linear decay to 0: late steps settle instead of bouncing out
            group["lr"] = config.lr * (1 - step / config.steps)
        x, y = data(config.batch_size, rng)
        loss = loss_of(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_norm)
        opt.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - start
    x, y = data(config.test_size, np.random.default_rng(seed + 10_000))
    with torch.no_grad():
        out = model(x)
    metric = float(loss_of(out, y)) if adding else float((out.argmax(dim=1) == y).float().mean())
    return {"accuracy" if not adding else "mse": metric, "losses": np.array(losses), "seconds": seconds,
            "cell": cell, "T": T}


def gradient_norms_over_time(cell: str, T: int, hidden: int = 32, n_in: int = 8, batch: int = 32,
                             seed: int = 0, chrono: bool = False) -> dict:
    r"""Measured :math:`\|\partial L/\partial\mathbf{h}_t\|` for t = 0..T at initialization.

    torch's default initialization, or with ``chrono`` (:func:`chrono_init_`, gated cells only).

    A ``torch.nn.{RNN,LSTM,GRU}Cell`` unrolled over T random one-hot inputs; L is the squared norm
    of a random projection of the last hidden state. Each state's gradient norm (mean over the
    batch) says how much of the loss's signal reaches step t.

    Returns
    -------
    dict
        ``h`` (T + 1,); for the LSTM also ``c`` (T + 1,): the cell state's gradient norms.
    """
    torch.manual_seed(seed)
    cls = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[cell]
    layer = cls(n_in, hidden).double()
    gen = torch.Generator().manual_seed(seed)
    if chrono and cell != "rnn":
        chrono_init_(layer, T, gen)
    x = torch.nn.functional.one_hot(torch.randint(0, n_in, (T, batch), generator=gen), n_in).double()
    h = torch.zeros(batch, hidden, dtype=torch.float64, requires_grad=True)
    c = torch.zeros(batch, hidden, dtype=torch.float64, requires_grad=True)
    hs, cs = [h], [c]
    for t in range(T):
        if cell == "lstm":
            h, c = layer(x[t], (h, c))
            c.retain_grad()
            cs.append(c)
        else:
            h = layer(x[t], h)
        h.retain_grad()
        hs.append(h)
    proj = torch.randn(hidden, dtype=torch.float64, generator=gen)
    ((h @ proj) ** 2).sum().backward()
    out = {"h": np.array([v.grad.norm(dim=1).mean().item() for v in hs])}
    if cell == "lstm":
        out["c"] = np.array([v.grad.norm(dim=1).mean().item() for v in cs])
    return out


def scaled_down(config, **changes):
    """A copy of a preset with a few fields changed (the smoke tests run the GPU preset's code this way)."""
    return replace(config, **changes)
