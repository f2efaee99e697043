r"""Chapter 10's mathematics of recurrent networks, in NumPy.

A vanilla (Elman) RNN reads inputs :math:`\mathbf{x}_1, \dots, \mathbf{x}_T` and keeps a hidden
state (PyTorch's ``nn.RNNCell`` layout: weights ``W_ih`` (n_h, n_in) and ``W_hh`` (n_h, n_h)):

.. math::

    \mathbf{z}_t = \mathbf{W}_{ih}\mathbf{x}_t + \mathbf{b}_{ih} + \mathbf{W}_{hh}\mathbf{h}_{t-1} + \mathbf{b}_{hh},
    \qquad \mathbf{h}_t = f(\mathbf{z}_t),

with the activation :math:`f = \tanh` (or the identity: a *linear* RNN), :math:`\mathbf{h}_0` given (time
:math:`t = 0` is the initial state, so indices start at 0 here). The state Jacobian is a product,

.. math::

    \frac{\partial\mathbf{h}_T}{\partial\mathbf{h}_0}
    = \prod_{t=T}^{1} \operatorname{diag}(f'(\mathbf{z}_t))\,\mathbf{W}_{hh},

so for a linear RNN it is :math:`\mathbf{W}_{hh}^T` and its norm grows or decays like
:math:`\rho(\mathbf{W}_{hh})^T` (Gelfand's formula: :math:`\|\mathbf{W}^T\|^{1/T} \to \rho(\mathbf{W})`;
exactly :math:`\rho^T` when :math:`\mathbf{W}` is a multiple of an orthogonal matrix).

Also here: backpropagation through time (BPTT) written out, gradient clipping by global norm
with ``torch.nn.utils.clip_grad_norm_``'s semantics, and the long-range tasks (adding,
copy) whose length :math:`T` sets the difficulty.
"""
from __future__ import annotations

import numpy as np

#: torch.nn.utils.clip_grad_norm_ divides by (total_norm + CLIP_EPS).
CLIP_EPS = 1e-6


# -- the recurrence ----------------------------------------------------------------------------------------
def _activation(activation: str):
    """The activation f and its derivative written in terms of the output h = f(z)."""
    if activation == "tanh":
        return np.tanh, lambda h: 1.0 - h * h  # derivative from the output: tanh' = 1 - tanh^2
    if activation == "linear":
        return (lambda a: a), (lambda h: np.ones_like(h))
    raise ValueError(f"activation must be 'tanh' or 'linear', got {activation!r}")


def rnn_forward(x, h0, W_ih, W_hh, b_ih=None, b_hh=None, activation: str = "tanh") -> np.ndarray:
    r"""Hidden states of a vanilla RNN, :math:`\mathbf{h}_t = f(\mathbf{W}_{ih}\mathbf{x}_t + \mathbf{b}_{ih} + \mathbf{W}_{hh}\mathbf{h}_{t-1} + \mathbf{b}_{hh})`.

    Parameters
    ----------
    x : ndarray, shape (T, n_in) or (T, B, n_in)
        Inputs, time first (as ``torch.nn.RNN`` without ``batch_first``).
    h0 : ndarray, shape (n_h,) or (B, n_h)
    W_ih : ndarray, shape (n_h, n_in)
    W_hh : ndarray, shape (n_h, n_h)
    b_ih, b_hh : ndarray, shape (n_h,), optional
    activation : {"tanh", "linear"}

    Returns
    -------
    ndarray, shape (T + 1, ...) : ``h[0] = h0`` and ``h[t]`` after input ``x[t - 1]``.
    """
    x, h = np.asarray(x, dtype=float), np.asarray(h0, dtype=float)
    W_ih, W_hh = np.asarray(W_ih, dtype=float), np.asarray(W_hh, dtype=float)
    if W_hh.shape != (W_ih.shape[0],) * 2 or h.shape[-1] != W_hh.shape[0] or x.shape[-1] != W_ih.shape[1]:
        raise ValueError(f"shapes do not fit: x {x.shape}, h0 {h.shape}, W_ih {W_ih.shape} (n_h, n_in), "
                         f"W_hh {W_hh.shape} (n_h, n_h)")
    f, _ = _activation(activation)
    b = (0.0 if b_ih is None else np.asarray(b_ih)) + (0.0 if b_hh is None else np.asarray(b_hh))
    hs = [h]
    for x_t in x:
        h = f(x_t @ W_ih.T + h @ W_hh.T + b)
        hs.append(h)
    return np.stack(hs)


def rnn_bptt(x, h0, W_ih, W_hh, b_ih, b_hh, grad_h, activation: str = "tanh") -> dict:
    r"""Backpropagation through time for :func:`rnn_forward`, given :math:`\partial L/\partial\mathbf{h}_t` for every t.

    Parameters
    ----------
    x, h0, W_ih, W_hh, b_ih, b_hh, activation
        As in :func:`rnn_forward` (one sequence: x (T, n_in), h0 (n_h,)).
    grad_h : ndarray, shape (T + 1, n_h)
        The *direct* gradient of the loss with respect to each state (row 0: :math:`\mathbf{h}_0`).

    Returns
    -------
    dict with ``W_ih``, ``W_hh``, ``b_ih``, ``b_hh``, ``h0`` (gradients, the parameters' shapes),
    ``h_bar`` (T + 1, n_h): the *total* gradient of each state, :math:`\bar{\mathbf{h}}_t = \mathrm{d}L/\mathrm{d}\mathbf{h}_t`
    (the adjoint of :math:`\mathbf{h}_t`), and ``delta`` (T + 1, n_h): the gradient at each pre-activation,
    :math:`\boldsymbol\delta_t = \mathrm{d}L/\mathrm{d}\mathbf{z}_t` (chapter 05's :math:`\boldsymbol\delta_\ell`; row 0 is zero: no
    pre-activation produces :math:`\mathbf{h}_0`).

    Notes
    -----
    Going backwards from :math:`\bar{\mathbf{h}}_T = \partial L/\partial\mathbf{h}_T`, with
    :math:`\boldsymbol\delta_t = \bar{\mathbf{h}}_t \odot f'(\mathbf{z}_t)`,

    .. math::

        \bar{\mathbf{h}}_{t-1} = \frac{\partial L}{\partial\mathbf{h}_{t-1}} + \mathbf{W}_{hh}^\top\boldsymbol\delta_t,\qquad
        \frac{\partial L}{\partial\mathbf{W}_{hh}} = \sum_t \boldsymbol\delta_t\mathbf{h}_{t-1}^\top,\qquad
        \frac{\partial L}{\partial\mathbf{W}_{ih}} = \sum_t \boldsymbol\delta_t\mathbf{x}_t^\top,\qquad
        \frac{\partial L}{\partial\mathbf{b}} = \sum_t \boldsymbol\delta_t .

    The same weights are used at every step, so their gradient is a **sum over time**.
    """
    hs = rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, activation)
    grad_h = np.asarray(grad_h, dtype=float)
    if grad_h.shape != hs.shape:
        raise ValueError(f"grad_h must have the states' shape {hs.shape}, got {grad_h.shape}")
    _, df = _activation(activation)
    W_hh = np.asarray(W_hh, dtype=float)
    x = np.asarray(x, dtype=float)
    gW_ih, gW_hh, gb = np.zeros_like(np.asarray(W_ih, float)), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
    h_bar, delta = np.zeros_like(hs), np.zeros_like(hs)
    h_bar[-1] = grad_h[-1]
    for t in range(len(x), 0, -1):
        delta[t] = h_bar[t] * df(hs[t])
        gW_hh += np.outer(delta[t], hs[t - 1])
        gW_ih += np.outer(delta[t], x[t - 1])
        gb += delta[t]
        h_bar[t - 1] = grad_h[t - 1] + W_hh.T @ delta[t]
    return {"W_ih": gW_ih, "W_hh": gW_hh, "b_ih": gb, "b_hh": gb.copy(), "h0": h_bar[0], "h_bar": h_bar, "delta": delta}


def state_jacobians(W_hh, T: int, activation: str = "linear", x_drive=None, h0=None) -> np.ndarray:
    r"""The Jacobians :math:`\mathbf{J}_t = \partial\mathbf{h}_t/\partial\mathbf{h}_0` for t = 0..T: (T + 1, n_h, n_h).

    Parameters
    ----------
    W_hh : ndarray, shape (n_h, n_h)
    T : int
    activation : {"linear", "tanh"}
    x_drive : ndarray, shape (T, n_h), optional
        The input term :math:`\mathbf{W}_{ih}\mathbf{x}_t + \mathbf{b}` of each step (zeros by default).
        For tanh it moves the pre-activations and so :math:`f'`; a linear RNN ignores it.
    h0 : ndarray, shape (n_h,), optional (zeros)

    Notes
    -----
    :math:`\mathbf{J}_t = \operatorname{diag}(f'(\mathbf{z}_t))\,\mathbf{W}_{hh}\,\mathbf{J}_{t-1}`, :math:`\mathbf{J}_0 = \mathbf{I}`.
    """
    W_hh = np.asarray(W_hh, dtype=float)
    n = W_hh.shape[0]
    if W_hh.shape != (n, n):
        raise ValueError(f"W_hh must be square, got shape {W_hh.shape}")
    f, df = _activation(activation)
    drive = np.zeros((T, n)) if x_drive is None else np.asarray(x_drive, dtype=float)
    if drive.shape != (T, n):
        raise ValueError(f"x_drive must have shape (T, n_h) = {(T, n)}, got {drive.shape}")
    h = np.zeros(n) if h0 is None else np.asarray(h0, dtype=float)
    J = np.empty((T + 1, n, n))
    J[0] = np.eye(n)
    for t in range(1, T + 1):
        h = f(W_hh @ h + drive[t - 1])
        J[t] = df(h)[:, None] * (W_hh @ J[t - 1])
    return J


def jacobian_norms(W_hh, T: int, activation: str = "linear", x_drive=None, h0=None) -> np.ndarray:
    r""":math:`\|\partial\mathbf{h}_t/\partial\mathbf{h}_0\|_2` (largest singular value) for t = 0..T: (T + 1,)."""
    J = state_jacobians(W_hh, T, activation, x_drive, h0)
    return np.linalg.norm(J, ord=2, axis=(1, 2))


def spectral_radius(W) -> float:
    r""":math:`\rho(\mathbf{W}) = \max_i |\lambda_i(\mathbf{W})|`: the largest eigenvalue modulus (not the largest singular value)."""
    W = np.asarray(W, dtype=float)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"the spectral radius needs a square matrix, got shape {W.shape}")
    return float(np.abs(np.linalg.eigvals(W)).max())


def scaled_orthogonal(n: int, rho: float, rng=None) -> np.ndarray:
    r"""A random :math:`\rho\,\mathbf{U}` with :math:`\mathbf{U}` orthogonal (Haar): every eigenvalue has modulus :math:`\rho`,
    and :math:`\|(\rho\mathbf{U})^T\|_2 = \rho^T` exactly."""
    rng = np.random.default_rng(rng)
    U, R = np.linalg.qr(rng.standard_normal((n, n)))  # numpy's QR names its orthogonal factor Q; it is our U
    return rho * U * np.sign(np.diag(R))  # the sign fix makes U Haar-distributed


def random_with_radius(n: int, rho: float, rng=None) -> np.ndarray:
    r"""A Gaussian :math:`n \times n` matrix rescaled to spectral radius :math:`\rho` (not normal: its norm exceeds :math:`\rho`)."""
    rng = np.random.default_rng(rng)
    W = rng.standard_normal((n, n))
    return W * (rho / spectral_radius(W))


def log_slope(T, norms) -> float:
    r"""Least-squares slope of :math:`\log\|\cdot\|` against :math:`T`: the growth rate per step (log rho for a linear RNN)."""
    T, norms = np.asarray(T, dtype=float), np.asarray(norms, dtype=float)
    return float(np.polyfit(T, np.log(norms), 1)[0])


# -- clipping ----------------------------------------------------------------------------------------------
def clip_grad_norm(grads, max_norm: float, norm_type: float = 2.0):
    r"""Clip a list of gradients by their **global** norm, as ``torch.nn.utils.clip_grad_norm_``.

    Parameters
    ----------
    grads : list of ndarray
    max_norm : float
        :math:`c_\max`.
    norm_type : float
        2 by default; ``np.inf`` for the largest absolute entry.

    Returns
    -------
    (clipped, total_norm) : (list of ndarray, float)
        ``total_norm`` is the norm of all the gradients together *before* clipping.

    Notes
    -----
    :math:`\|\mathbf{g}\| = \big(\sum_k \|\mathbf{g}_k\|^p\big)^{1/p}`, and every gradient is scaled by
    the same :math:`\min\big(1,\ c_\max / (\|\mathbf{g}\| + 10^{-6})\big)`, which keeps the update's
    direction. Clipping each gradient by its own norm changes the direction.
    """
    if max_norm < 0:
        raise ValueError(f"max_norm must be >= 0, got {max_norm}")
    grads = [np.asarray(g, dtype=float) for g in grads]
    if not grads:
        return [], 0.0
    if norm_type == np.inf:
        total = max(float(np.abs(g).max()) if g.size else 0.0 for g in grads)
    else:
        per = np.array([np.sum(np.abs(g) ** norm_type) for g in grads])
        total = float(per.sum() ** (1.0 / norm_type))
    coef = min(1.0, max_norm / (total + CLIP_EPS))
    return [g * coef for g in grads], total


# -- long-range tasks --------------------------------------------------------------------------------------
def adding_task(n: int, T: int, rng=None) -> tuple[np.ndarray, np.ndarray]:
    r"""The adding problem (Hochreiter & Schmidhuber 1997): sum the two marked numbers of a length-T sequence.

    Returns
    -------
    x : ndarray, shape (n, T, 2), float32
        Channel 0: values uniform on [0, 1); channel 1: a marker, 1 at one step of the first half
        and one of the second half, 0 elsewhere.
    y : ndarray, shape (n,), float32
        The sum of the two marked values. Predicting the mean, 1, has mean squared error 1/6.
    """
    if T < 2:
        raise ValueError(f"the adding task needs T >= 2, got {T}")
    rng = np.random.default_rng(rng)
    x = np.zeros((n, T, 2), dtype=np.float32)
    x[:, :, 0] = rng.random((n, T))
    first, second = rng.integers(0, T // 2, n), rng.integers(T // 2, T, n)
    rows = np.arange(n)
    x[rows, first, 1] = x[rows, second, 1] = 1.0
    return x, (x[rows, first, 0] + x[rows, second, 0]).astype(np.float32)


def recall_task(n: int, T: int, n_symbols: int = 8, rng=None, noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Copy one symbol across a delay: a symbol at step 1, then T - 1 delay steps; report the symbol after step T.

    The copy task of Hochreiter & Schmidhuber (1997) and Arjovsky et al. (2016) with one symbol:
    the only information is at the first step, so the loss's gradient must cross all T steps to
    reach it, and T sets the difficulty. With ``noise > 0`` every delay step carries Gaussian
    **distractors** on the symbol channels, which the network must ignore: a gated cell can shut
    its input (or keep its memory with a forget/update gate near 1) on those steps, while a vanilla
    RNN adds :math:`\mathbf{W}_{ih}\mathbf{x}_t` to its state at every step whatever it holds. A
    cue channel marks the symbol's step (as the adding task's marker marks its numbers), so
    *when* to read is never in doubt.

    Parameters
    ----------
    n : int
        Number of sequences.
    T : int >= 1
        Length: the symbol, then T - 1 delay steps.
    n_symbols : int
        K symbols; chance accuracy is 1 / K.
    rng : seed or numpy Generator
    noise : float >= 0
        Standard deviation of the distractors on the delay steps (0: blank delay steps).

    Returns
    -------
    x : ndarray, shape (n, T, n_symbols + 1), float32
        Channels 0..K-1: the one-hot symbol at step 0 (0-based), N(0, noise^2) distractors at
        steps 1..T-1. Channel K: the cue, 1 at step 0 and 0 elsewhere.
    y : ndarray, shape (n,), int64: the symbol.
    """
    if T < 1:
        raise ValueError(f"T must be >= 1, got {T}")
    if noise < 0:
        raise ValueError(f"the distractors' standard deviation must be >= 0, got {noise}")
    rng = np.random.default_rng(rng)
    s = rng.integers(0, n_symbols, n)
    x = np.zeros((n, T, n_symbols + 1), dtype=np.float32)
    if noise > 0:
        x[:, 1:, :n_symbols] = noise * rng.standard_normal((n, T - 1, n_symbols))
    x[np.arange(n), 0, s] = 1.0
    x[:, 0, n_symbols] = 1.0
    return x, s.astype(np.int64)
