"""Chapter 07: regularization in NumPy: penalties, dropout, batch normalization, early stopping, fits.

Every function is the reference of a formula in ``chapters/07_regularization.ipynb`` and of a
graded question; the engine-level layers (:class:`~course_lib.regularization_layers.BatchNorm1d`,
:class:`~course_lib.regularization_layers.Dropout`) call the forward and backward rules here.

Conventions: a batch ``x`` has shape ``(N, D)``, one example per row; the statistics of batch
normalization are taken over the rows (axis 0), per feature, as ``torch.nn.BatchNorm1d`` does.
"""
from __future__ import annotations

import numpy as np


# -- L2 and L1 penalties -------------------------------------------------------------------------------
def l2_penalty(w, lam: float) -> float:
    r""":math:`\tfrac\lambda2\lVert\mathbf{w}\rVert_2^2` (weight decay's penalty), for an array of any shape."""
    w = np.asarray(w, dtype=np.float64)
    return float(0.5 * lam * np.sum(w * w))


def l2_grad(w, lam: float) -> np.ndarray:
    r"""Gradient of :func:`l2_penalty`: :math:`\lambda\mathbf{w}`, shape of ``w``."""
    return lam * np.asarray(w, dtype=np.float64)


def l1_penalty(w, lam: float) -> float:
    r""":math:`\lambda\lVert\mathbf{w}\rVert_1 = \lambda\sum_i|w_i|`."""
    return float(lam * np.sum(np.abs(np.asarray(w, dtype=np.float64))))


def l1_grad(w, lam: float) -> np.ndarray:
    r"""A (sub)gradient of :func:`l1_penalty`: :math:`\lambda\,\mathrm{sign}(\mathbf{w})`, 0 where :math:`w_i = 0`.

    Notes
    -----
    :math:`|w|` has no derivative at 0; any value in :math:`[-\lambda, \lambda]` is a subgradient
    there, and 0 is the usual choice (``torch.sign``). The kink is what makes exact zeros
    stable: see :func:`soft_threshold`.
    """
    return lam * np.sign(np.asarray(w, dtype=np.float64))


def soft_threshold(x, t):
    r"""Soft-thresholding, the proximal operator of :math:`t|\cdot|`.

    Parameters
    ----------
    x : array_like
    t : float or array_like >= 0, broadcast against ``x``

    Returns
    -------
    ndarray, the shape of ``x``

    Notes
    -----
    .. math:: S_t(x) = \arg\min_z \tfrac12(z - x)^2 + t|z| = \mathrm{sign}(x)\max(|x| - t, 0).

    Values within :math:`t` of zero become exactly zero; the rest move :math:`t` towards zero.
    Compare the L2 version, :math:`\arg\min_z \tfrac12(z - x)^2 + \tfrac t2 z^2 = x/(1 + t)`, which
    shrinks every value by the same factor and never reaches zero.
    """
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.maximum(np.abs(x) - t, 0.0)


def ridge(X, y, lam: float) -> np.ndarray:
    r"""Least squares with an L2 penalty, in closed form.

    Parameters
    ----------
    X : ndarray, shape (N, d)
    y : ndarray, shape (N,)
    lam : float >= 0

    Returns
    -------
    ndarray, shape (d,)

    Notes
    -----
    :math:`\mathbf{w}^* = \arg\min \tfrac12\lVert\mathbf{X}\mathbf{w} - \mathbf{y}\rVert_2^2 + \tfrac\lambda2\lVert\mathbf{w}\rVert_2^2
    = (\mathbf{X}^\top\mathbf{X} + \lambda\mathbf{I})^{-1}\mathbf{X}^\top\mathbf{y}`; solved with
    ``lstsq`` on the augmented system :math:`[\mathbf{X}; \sqrt\lambda\mathbf{I}]`, which stays accurate when
    :math:`\mathbf{X}^\top\mathbf{X}` is ill-conditioned (high-degree polynomials).
    """
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    d = X.shape[1]
    A = np.vstack([X, np.sqrt(lam) * np.eye(d)])
    return np.linalg.lstsq(A, np.concatenate([y, np.zeros(d)]), rcond=None)[0]


def quadratic_penalized(H, w_ls, lam, norm: str, iters: int = 500) -> np.ndarray:
    r"""Minimizer of a quadratic loss plus an L1 or L2 penalty (the picture of chapter 07).

    Parameters
    ----------
    H : ndarray, shape (d, d), symmetric positive definite
        Hessian of the loss :math:`\tfrac12(\mathbf{w} - \mathbf{w}_{LS})^\top\mathbf{H}(\mathbf{w} - \mathbf{w}_{LS})`.
    w_ls : ndarray, shape (d,)
        The unpenalized minimum.
    lam : float >= 0, or ndarray of shape (k,)
        One strength, or k of them (a regularization path, solved together).
    norm : {"l2", "l1"}
        Penalty :math:`\tfrac\lambda2\lVert\mathbf{w}\rVert_2^2` or :math:`\lambda\lVert\mathbf{w}\rVert_1`.
    iters : int
        Proximal-gradient steps (L1 only).

    Returns
    -------
    ndarray, shape (d,), or (k, d) for k strengths

    Notes
    -----
    L2: :math:`(\mathbf{H} + \lambda\mathbf{I})\mathbf{w} = \mathbf{H}\mathbf{w}_{LS}`. L1: ISTA,
    :math:`\mathbf{w} \leftarrow S_{\lambda/\lambda_{\max}}\big(\mathbf{w} - \mathbf{H}(\mathbf{w} - \mathbf{w}_{LS})/\lambda_{\max}\big)`
    with :math:`\lambda_{\max}` the largest eigenvalue of :math:`\mathbf{H}` (step :math:`1/\lambda_{\max}`;
    :func:`soft_threshold`), which converges to the exact
    minimizer, zeros included. The solution is also the minimum of the loss on the ball
    :math:`\{\lVert\mathbf{w}\rVert_p \le \lVert\mathbf{w}^*\rVert_p\}` (Lagrange duality): where the ball is a
    diamond, that minimum likes its corners.
    """
    H, w_ls = np.asarray(H, dtype=np.float64), np.asarray(w_ls, dtype=np.float64)
    lam_arr = np.asarray(lam, dtype=np.float64)
    lams = lam_arr.reshape(-1, 1)  # one row per strength
    d = len(w_ls)
    if norm == "l2":
        w = np.linalg.solve(H[None] + lams[:, :, None] * np.eye(d)[None], np.broadcast_to(H @ w_ls, (len(lams), d))
                            [..., None])[..., 0]
    elif norm == "l1":
        lam_max = float(np.linalg.eigvalsh(H).max())
        w = np.broadcast_to(w_ls, (len(lams), d)).copy()
        for _ in range(iters):
            w = soft_threshold(w - (w - w_ls) @ H / lam_max, lams / lam_max)
    else:
        raise ValueError(f"norm must be 'l1' or 'l2', got {norm!r}")
    return w[0] if lam_arr.ndim == 0 else w


# -- dropout ----------------------------------------------------------------------------------------------
def dropout(x, p: float, rng, training: bool = True) -> tuple[np.ndarray, np.ndarray]:
    r"""Inverted dropout: zero each unit with probability ``p`` and scale the rest by :math:`1/(1-p)`.

    Parameters
    ----------
    x : ndarray, any shape
    p : float in [0, 1)
        Drop probability (PyTorch's ``p``).
    rng : numpy.random.Generator
    training : bool
        In evaluation mode the layer is the identity.

    Returns
    -------
    out : ndarray, shape of ``x``
    mask : ndarray, shape of ``x``: the factor each unit was multiplied by (0 or :math:`1/(1-p)`; 1 in eval)

    Notes
    -----
    :math:`y_i = x_i m_i/(1-p)` with :math:`m_i \sim \mathrm{Bernoulli}(1-p)`, so
    :math:`\mathbb{E}[y_i] = x_i`: the expected activation is the same in training and evaluation,
    and nothing needs rescaling at test time. The backward pass multiplies by the same mask.
    """
    x = np.asarray(x)
    if not training or p == 0:
        return x, np.ones_like(x)
    if not 0 <= p < 1:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    mask = (rng.random(x.shape) >= p) / (1 - p)
    return x * mask, mask.astype(x.dtype)


# -- batch normalization ----------------------------------------------------------------------------------
def batchnorm_forward(x, gamma, beta, eps: float = 1e-5) -> tuple[np.ndarray, tuple]:
    r"""Batch normalization in training mode: normalize each feature over the batch, then scale and shift.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    gamma, beta : ndarray, shape (D,)
    eps : float

    Returns
    -------
    out : ndarray, shape (N, D)
    cache : tuple ``(x_hat, inv_std, gamma)`` for :func:`batchnorm_backward`

    Notes
    -----
    .. math::
        \mu_j = \tfrac1N\sum_i x_{ij},\quad v_j = \tfrac1N\sum_i (x_{ij} - \mu_j)^2,\quad
        \hat x_{ij} = \frac{x_{ij} - \mu_j}{\sqrt{v_j + \epsilon}},\quad y_{ij} = \gamma_j\hat x_{ij} + \beta_j .

    The variance is the biased one (divide by N), as ``torch.nn.BatchNorm1d`` uses to normalize.
    """
    x = np.asarray(x)
    mu = x.mean(axis=0)
    xc = x - mu
    var = (xc * xc).mean(axis=0)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = xc * inv_std
    return gamma * x_hat + beta, (x_hat, inv_std, gamma)


def batchnorm_backward(dout, cache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Backward pass of :func:`batchnorm_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, D)
        :math:`\partial L/\partial\mathbf{Y}`.
    cache : tuple from :func:`batchnorm_forward`

    Returns
    -------
    dx : ndarray, shape (N, D)
    dgamma, dbeta : ndarray, shape (D,)

    Notes
    -----
    :math:`\partial L/\partial\beta_j = \sum_i g_{ij}` and :math:`\partial L/\partial\gamma_j = \sum_i g_{ij}\hat x_{ij}`.
    Every :math:`\hat x_{ij}` depends on the whole column through :math:`\mu_j` and :math:`v_j`;
    with :math:`\hat g_{ij} = \gamma_j g_{ij}` the three paths add up to

    .. math:: \frac{\partial L}{\partial x_{ij}} = \frac{1}{N\sqrt{v_j+\epsilon}}
        \Big(N\hat g_{ij} - \sum_k \hat g_{kj} - \hat x_{ij}\sum_k \hat g_{kj}\hat x_{kj}\Big):

    the gradient with its mean and its component along :math:`\hat{\mathbf{x}}` removed, because
    shifting or scaling a column does not change its normalized values.
    """
    x_hat, inv_std, gamma = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    g = dout * gamma
    dx = inv_std / N * (N * g - g.sum(axis=0) - x_hat * (g * x_hat).sum(axis=0))
    return dx, dgamma, dbeta


def batchnorm_eval(x, gamma, beta, running_mean, running_var, eps: float = 1e-5) -> np.ndarray:
    r"""Batch normalization in evaluation mode: the running statistics replace the batch's.

    Notes
    -----
    :math:`y = \gamma(x - \hat\mu)/\sqrt{\hat v + \epsilon} + \beta`: each example's output no longer
    depends on the rest of the batch (a batch of one works).
    """
    return gamma * (np.asarray(x) - running_mean) / np.sqrt(running_var + eps) + beta


def update_running_stats(running_mean, running_var, x, momentum: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    r"""PyTorch's update of the running statistics after a training batch.

    Parameters
    ----------
    running_mean, running_var : ndarray, shape (D,)
    x : ndarray, shape (N, D), the batch
    momentum : float
        PyTorch's ``momentum`` (0.1): the weight of the new batch.

    Returns
    -------
    new_mean, new_var : ndarray, shape (D,)

    Notes
    -----
    :math:`\hat\mu \leftarrow (1-m)\hat\mu + m\mu_{\mathcal{B}}` and :math:`\hat v \leftarrow (1-m)\hat v + m\,\tilde v_{\mathcal{B}}`,
    where :math:`\tilde v_{\mathcal{B}} = \tfrac{N}{N-1}v_{\mathcal{B}}` is the *unbiased* batch variance (divide by
    N - 1), as in PyTorch.
    """
    x = np.asarray(x)
    return ((1 - momentum) * running_mean + momentum * x.mean(axis=0),
            (1 - momentum) * running_var + momentum * x.var(axis=0, ddof=1))


# -- early stopping ---------------------------------------------------------------------------------------
def early_stopping(val_losses, patience: int, min_delta: float = 0.0) -> tuple[int, int]:
    r"""Where training stops under the patience rule, and the epoch whose weights to keep.

    Parameters
    ----------
    val_losses : sequence of float
        Validation loss after each epoch (epoch 0 first).
    patience : int >= 1
        Stop after this many epochs in a row without an improvement.
    min_delta : float >= 0
        An improvement must lower the best loss by more than this.

    Returns
    -------
    stop : int
        The epoch after which training stops (the last epoch if the rule never fires).
    best : int
        The epoch with the best validation loss so far at that point (restore its weights).

    Notes
    -----
    Epoch :math:`t` improves if its validation loss :math:`L^{\text{val}}_t < L^{\text{val}}_{t_{\text{best}}} - \delta`
    (:math:`\delta` = ``min_delta``); training stops at the first
    :math:`t` with :math:`t - t_{\text{best}} \ge` ``patience``.
    """
    best, best_loss = 0, float("inf")
    for t, loss in enumerate(val_losses):
        if loss < best_loss - min_delta:
            best, best_loss = t, float(loss)
        elif t - best >= patience:
            return t, best
    return len(val_losses) - 1, best


# -- polynomial regression and bias-variance ----------------------------------------------------------------
def polynomial_features(x, degree: int) -> np.ndarray:
    r"""Legendre polynomials :math:`P_0(x), \dots, P_{\text{degree}}(x)` as columns, shape ``(N, degree + 1)``.

    Notes
    -----
    A polynomial of degree :math:`d` is a linear model :math:`\sum_k w_kP_k(x)` in these features.
    On :math:`[-1, 1]` the Legendre basis is far better conditioned than :math:`1, x, x^2, \dots`, so
    high degrees stay solvable, and the model is the same (the span is the same).
    """
    return np.polynomial.legendre.legvander(np.asarray(x, dtype=np.float64), degree)


def fit_polynomial(x, y, degree: int, lam: float) -> np.ndarray:
    """Ridge regression on :func:`polynomial_features`: the coefficients, shape ``(degree + 1,)``."""
    return ridge(polynomial_features(x, degree), y, lam)


def bias_variance(true_f, x_test, degree: int, lam: float, n_train: int, noise: float, trials: int,
                  rng) -> dict:
    r"""Bias and variance of polynomial ridge regression, estimated over many training sets.

    Parameters
    ----------
    true_f : callable, ndarray -> ndarray
    x_test : ndarray, shape (M,), in [-1, 1]
    degree : int
    lam : float
    n_train : int
        Training points per data set, drawn uniformly on [-1, 1].
    noise : float
        Standard deviation :math:`\sqrt v` of the label noise.
    trials : int
        Number of independent training sets.
    rng : numpy.random.Generator

    Returns
    -------
    dict with ``bias2``, ``variance``, ``noise2`` (:math:`v`) and ``expected_error`` (floats, averaged over
    ``x_test``)

    Notes
    -----
    For a test point :math:`x` with label :math:`y = f(x) + \varepsilon`, :math:`\operatorname{Var}[\varepsilon] = v`,
    and predictions :math:`\hat f_{\mathcal{D}}(x)` of models trained on random data sets :math:`\mathcal{D}`,

    .. math:: \mathbb{E}_{\mathcal{D},\varepsilon}\big[(y - \hat f_{\mathcal{D}}(x))^2\big]
        = \underbrace{(f(x) - \bar f(x))^2}_{\text{bias}^2}
        + \underbrace{\mathbb{E}_{\mathcal{D}}\big[(\hat f_{\mathcal{D}}(x) - \bar f(x))^2\big]}_{\text{variance}} + v,
        \qquad \bar f = \mathbb{E}_{\mathcal{D}}\hat f_{\mathcal{D}} .

    Both expectations over :math:`\mathcal{D}` are replaced by averages over the ``trials`` fits (the
    variance with ``np.var``'s :math:`1/\text{trials}`).
    """
    Phi_test = polynomial_features(x_test, degree)
    preds = np.empty((trials, len(x_test)))
    for k in range(trials):
        x = rng.uniform(-1, 1, n_train)
        y = true_f(x) + noise * rng.standard_normal(n_train)
        preds[k] = Phi_test @ fit_polynomial(x, y, degree, lam)
    mean = preds.mean(axis=0)
    bias2 = float(np.mean((true_f(x_test) - mean) ** 2))
    variance = float(np.mean(preds.var(axis=0)))
    return {"bias2": bias2, "variance": variance, "noise2": noise ** 2,
            "expected_error": bias2 + variance + noise ** 2}


# -- data augmentation ------------------------------------------------------------------------------------
def shift_images(images, dx: int, dy: int) -> np.ndarray:
    """Shift square images by whole pixels, filling with zeros (a label-preserving augmentation).

    Parameters
    ----------
    images : ndarray, shape (N, H, W)
    dx, dy : int
        Shift right (``dx > 0``) and down (``dy > 0``).

    Returns
    -------
    ndarray, shape (N, H, W)
    """
    images = np.asarray(images)
    out = np.zeros_like(images)
    H, W = images.shape[1:]
    ys, yd = (slice(0, H - dy), slice(dy, H)) if dy >= 0 else (slice(-dy, H), slice(0, H + dy))
    xs, xd = (slice(0, W - dx), slice(dx, W)) if dx >= 0 else (slice(-dx, W), slice(0, W + dx))
    out[:, yd, xd] = images[:, ys, xs]
    return out


def augment_digits(X, rng, max_shift: int = 1, p: float = 0.5) -> np.ndarray:
    """Random whole-pixel shifts of 8x8 digits (rows of 64 pixels): a label-preserving augmentation.

    Parameters
    ----------
    X : ndarray, shape (N, 64)
    rng : numpy.random.Generator
    max_shift : int
        Offsets are drawn from [-max_shift, max_shift] in each direction.
    p : float
        Probability that an image is shifted at all (the rest are kept as they are).

    Returns
    -------
    ndarray, shape (N, 64): new images of the same digits (a shifted 3 is still a 3)
    """
    images = np.asarray(X).reshape(-1, 8, 8)
    shifts = rng.integers(-max_shift, max_shift + 1, size=(len(images), 2))
    shifts[rng.random(len(images)) >= p] = 0
    out = np.empty_like(images)
    for dx in range(-max_shift, max_shift + 1):
        for dy in range(-max_shift, max_shift + 1):
            rows = np.flatnonzero((shifts[:, 0] == dx) & (shifts[:, 1] == dy))
            out[rows] = shift_images(images[rows], dx, dy)
    return out.reshape(len(images), -1)
