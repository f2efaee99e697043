r"""Chapter 12: the mathematics of generative models, in NumPy.

Autoencoders and PCA (principal angles between subspaces), the VAE's pieces (the Gaussian KL, the
Bernoulli likelihood and the entropy floor of grey pixels, the ELBO, the reparameterization and
score-function gradient estimators), the GAN's (the optimal discriminator, the Jensen-Shannon link,
the generator losses' gradients, simultaneous gradient descent on a bilinear game, mode coverage on
a ring of Gaussians), the DDPM forward process (schedule and closed-form :math:`q(\mathbf x_t\mid\mathbf x_0)`),
and two-sample distances (energy distance, MMD). The PyTorch models that use them live in
:mod:`course_lib.models.autoencoder`, :mod:`course_lib.models.gan` and :mod:`course_lib.models.ddpm`.

Notation (chapter 00): latent :math:`\boldsymbol\zeta` (Kingma and Welling's :math:`\mathbf z`; code calls it ``z``),
logits :math:`z_i`; encoder mean :math:`\boldsymbol\mu` and log-variance
``logvar`` (variance :math:`v = e^{\text{logvar}}`); DDPM per-step noise variance :math:`v_t` (Ho et al.'s
:math:`\beta_t`), :math:`a_t = 1 - v_t`, :math:`\bar a_t = \prod_{s\le t} a_s` (Ho et al.'s :math:`\alpha_t`,
:math:`\bar\alpha_t`); discriminator :math:`D_{\boldsymbol\phi}`, generator :math:`G_{\boldsymbol\theta}`, :math:`p_\text{data}`, :math:`p_g`.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

from course_lib.linalg.subspaces import column_space

__all__ = [
    "gaussian_kl", "reparameterize", "bernoulli_log_likelihood", "bernoulli_entropy", "elbo",
    "gradient_estimators", "principal_angles", "optimal_discriminator", "gan_value", "js_divergence",
    "generator_logit_grads", "simultaneous_gd_bilinear", "ring_centers", "sample_ring", "mode_coverage",
    "ddpm_schedule", "q_sample", "q_moments", "forward_chain", "energy_distance", "mmd2",
]


def _softplus(a):
    """log(1 + e^a) without overflow."""
    return np.logaddexp(0.0, a)


# -- VAE ------------------------------------------------------------------------------------------------------
def gaussian_kl(mu, logvar):
    r"""Closed-form :math:`D_{\mathrm{KL}}(\mathcal N(\boldsymbol\mu, \operatorname{diag} e^{\text{logvar}}) \,\|\, \mathcal N(\mathbf 0, \mathbf I))`.

    Parameters
    ----------
    mu, logvar : array_like, shape (..., k)
        Means and log-variances (``logvar`` = :math:`\log v`, not :math:`\log\sqrt v`).

    Returns
    -------
    ndarray, shape (...)
        Summed over the last axis, in nats.

    Notes
    -----
    .. math:: D_{\mathrm{KL}} = \tfrac12\sum_{j=1}^k \bigl(v_j + \mu_j^2 - 1 - \log v_j\bigr),\quad v_j = e^{\text{logvar}_j}.

    :math:`v - 1 - \log v` is computed as ``expm1(logvar) - logvar``, which keeps its accuracy near
    :math:`v = 1` where the two terms cancel.
    """
    mu, logvar = np.asarray(mu, dtype=np.float64), np.asarray(logvar, dtype=np.float64)
    if mu.shape != logvar.shape:
        raise ValueError(f"gaussian_kl: mu {mu.shape} and logvar {logvar.shape} must have the same shape")
    if mu.ndim == 0:
        raise ValueError("gaussian_kl: mu and logvar need a last axis (the latent dimensions)")
    return 0.5 * np.sum(np.expm1(logvar) - logvar + mu ** 2, axis=-1)


def reparameterize(mu, logvar, eps):
    r""":math:`\boldsymbol\zeta = \boldsymbol\mu + e^{\text{logvar}/2}\odot\boldsymbol\varepsilon`, :math:`\boldsymbol\varepsilon\sim\mathcal N(\mathbf 0,\mathbf I)`.

    Parameters
    ----------
    mu, logvar, eps : array_like, broadcastable, shape (..., k)

    Returns
    -------
    ndarray
        A sample of :math:`\mathcal N(\boldsymbol\mu, \operatorname{diag} e^{\text{logvar}})` that is a
        differentiable function of :math:`(\boldsymbol\mu, \text{logvar})`: the standard deviation is
        :math:`\sqrt v = e^{\text{logvar}/2}`.
    """
    return np.asarray(mu, dtype=np.float64) + np.exp(0.5 * np.asarray(logvar, dtype=np.float64)) * eps


def bernoulli_log_likelihood(x, logits):
    r"""Bernoulli log-likelihood :math:`\log p(\mathbf x\mid\boldsymbol\zeta) = \sum_i x_i\log\sigma(z_i) + (1-x_i)\log(1-\sigma(z_i))`.

    Parameters
    ----------
    x : array_like, shape (..., d)
        Targets in [0, 1] (grey values allowed: the formula is then a cross-entropy, not a density).
    logits : array_like, shape (..., d)
        The decoder's logits :math:`z_i`, :math:`\sigma(z_i)` the pixel's probability.

    Returns
    -------
    ndarray, shape (...)
        Summed over the last axis, in nats: :math:`\sum_i x_i z_i - \operatorname{softplus}(z_i)`
        (no overflow for large :math:`|z_i|`).
    """
    x, logits = np.asarray(x, dtype=np.float64), np.asarray(logits, dtype=np.float64)
    return np.sum(x * logits - _softplus(logits), axis=-1)


def bernoulli_entropy(x):
    r"""Entropy of independent Bernoulli pixels with means ``x``: :math:`\sum_i \mathrm H[x_i]`, in nats.

    Parameters
    ----------
    x : array_like, shape (..., d), entries in [0, 1]

    Returns
    -------
    ndarray, shape (...)

    Notes
    -----
    :math:`\mathrm H[x] = -x\log x - (1-x)\log(1-x)`, with :math:`0\log 0 = 0`. For a target :math:`x`
    the Bernoulli cross-entropy :math:`-x\log p - (1-x)\log(1-p)` is smallest at :math:`p = x`, where it
    equals :math:`\mathrm H[x]`: no decoder can take :math:`-\log p(\mathbf x\mid\boldsymbol\zeta)` below
    :math:`\sum_i\mathrm H[x_i]`, which is zero only for black-and-white images.
    """
    x = np.asarray(x, dtype=np.float64)
    if np.any((x < 0) | (x > 1)):
        raise ValueError("bernoulli_entropy: pixel values must lie in [0, 1]")
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(x > 0, x * np.log(x), 0.0) - np.where(x < 1, (1 - x) * np.log1p(-x), 0.0)
    return np.sum(h, axis=-1)


def elbo(x, logits, mu, logvar):
    r"""The evidence lower bound of a VAE with a Bernoulli decoder, one sample of :math:`\boldsymbol\zeta`.

    Parameters
    ----------
    x, logits : array_like, shape (N, d)
        Targets and the decoder's logits at :math:`\boldsymbol\zeta\sim q(\boldsymbol\zeta\mid\mathbf x)`.
    mu, logvar : array_like, shape (N, k)
        The encoder's output.

    Returns
    -------
    ndarray, shape (N,)

    Notes
    -----
    .. math:: \log p(\mathbf x) \ge \mathbb E_{q(\mathbf z\mid\mathbf x)}[\log p(\mathbf x\mid\mathbf z)]
       - D_{\mathrm{KL}}(q(\mathbf z\mid\mathbf x)\,\|\,p(\mathbf z)),

    the gap being :math:`D_{\mathrm{KL}}(q(\boldsymbol\zeta\mid\mathbf x)\,\|\,p(\boldsymbol\zeta\mid\mathbf x)) \ge 0`.
    """
    return bernoulli_log_likelihood(x, logits) - gaussian_kl(mu, logvar)


def gradient_estimators(f, df, mu: float, logvar: float, n: int, rng: np.random.Generator) -> dict:
    r"""Per-sample gradient estimates of :math:`\nabla_{(\mu,\text{logvar})}\,\mathbb E_{\zeta\sim\mathcal N(\mu, v)}[f(\zeta)]`, two ways.

    Parameters
    ----------
    f, df : callable
        A test function :math:`f` of the sample and its derivative, vectorized over a 1-D array.
    mu, logvar : float
    n : int
        Number of samples.
    rng : numpy.random.Generator

    Returns
    -------
    dict
        ``reparam`` and ``score``: arrays of shape (n, 2), one estimate of
        :math:`(\partial/\partial\mu, \partial/\partial\,\text{logvar})` per sample.

    Notes
    -----
    Reparameterization, :math:`\zeta = \mu + \sqrt v\,\varepsilon`: :math:`\partial_\mu = f'(\zeta)`,
    :math:`\partial_{\text{logvar}} = f'(\zeta)\,\varepsilon\sqrt v/2`.
    Score function (REINFORCE), :math:`\nabla\mathbb E[f] = \mathbb E[f(\zeta)\nabla\log q(\zeta)]`:
    :math:`\partial_\mu = f(\zeta)(\zeta-\mu)/v`, :math:`\partial_{\text{logvar}} = f(\zeta)\bigl((\zeta-\mu)^2/v - 1\bigr)/2`.
    Both are unbiased; their variances differ.
    """
    eps = rng.standard_normal(n)
    sd = np.exp(0.5 * logvar)
    z = mu + sd * eps
    fz, dfz = f(z), df(z)
    reparam = np.stack([dfz, dfz * eps * sd / 2], axis=1)
    score = np.stack([fz * eps / sd, fz * (eps ** 2 - 1) / 2], axis=1)
    return {"reparam": reparam, "score": score, "z": z}


# -- autoencoders and PCA -------------------------------------------------------------------------------------
def principal_angles(A, B) -> np.ndarray:
    r"""Principal angles between the column spaces of ``A`` and ``B``, ascending, in radians.

    Parameters
    ----------
    A : array_like, shape (d, p)
    B : array_like, shape (d, q)

    Returns
    -------
    ndarray, shape (min(rank A, rank B),)

    Notes
    -----
    With orthonormal bases :math:`\mathbf Q_A, \mathbf Q_B` (:func:`course_lib.linalg.subspaces.column_space`),
    the cosines are the singular values of :math:`\mathbf Q_A^\top\mathbf Q_B` (Björck and Golub 1973).
    An angle near 0 has a cosine near 1, where :math:`\arccos` loses half the digits; there the angle is
    read from the sines, the singular values of :math:`(\mathbf I - \mathbf Q_A\mathbf Q_A^\top)\mathbf Q_B`
    (as :func:`scipy.linalg.subspace_angles` does). All angles are 0 iff the subspaces are equal (same rank).
    """
    qa, qb = column_space(A), column_space(B)
    if qa.shape[0] != qb.shape[0]:
        raise ValueError(f"principal_angles: A has {qa.shape[0]} rows, B has {qb.shape[0]}")
    if qa.shape[1] < qb.shape[1]:
        qa, qb = qb, qa
    cos = np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), 0.0, 1.0)[::-1]  # ascending cosines
    sin = np.clip(np.linalg.svd(qb - qa @ (qa.T @ qb), compute_uv=False), 0.0, 1.0)  # descending sines
    angles = np.where(cos ** 2 < 0.5, np.arccos(cos), np.arcsin(sin))[::-1]
    return np.sort(angles)


# -- GANs -----------------------------------------------------------------------------------------------------
def optimal_discriminator(p_data, p_g):
    r""":math:`D^*_{\boldsymbol\phi}(x) = p_\text{data}(x) / (p_\text{data}(x) + p_g(x))`, the best discriminator for a fixed generator.

    Parameters
    ----------
    p_data, p_g : array_like, same shape, nonnegative
        The two densities at the same points.

    Returns
    -------
    ndarray
        :math:`D^*_{\boldsymbol\phi}`; 1/2 where both densities vanish (no evidence either way).

    Notes
    -----
    Pointwise, :math:`y\mapsto p_\text{data}\log y + p_g\log(1-y)` is concave on (0, 1) with its maximum
    where :math:`p_\text{data}/y = p_g/(1-y)` (Goodfellow et al. 2014, Prop. 1).
    """
    p_data, p_g = np.asarray(p_data, dtype=np.float64), np.asarray(p_g, dtype=np.float64)
    total = p_data + p_g
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, p_data / np.where(total > 0, total, 1.0), 0.5)


def _trapezoid(y, x):
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2)


def gan_value(d, p_data, p_g, x) -> float:
    r""":math:`V(D_{\boldsymbol\phi}, G_{\boldsymbol\theta}) = \int p_\text{data}\log D_{\boldsymbol\phi} + p_g\log(1 - D_{\boldsymbol\phi})\,dx` on a 1-D grid (trapezoid rule).

    Parameters
    ----------
    d, p_data, p_g, x : array_like, shape (n,)
        The discriminator's output in (0, 1), the two densities, and the grid.

    Returns
    -------
    float
        In nats. At :math:`D_{\boldsymbol\phi} = D^*_{\boldsymbol\phi}` it is :math:`-\log 4 + 2\,D_{\mathrm{JS}}(p_\text{data}\,\|\,p_g)`.
    """
    d, p_data, p_g, x = (np.asarray(a, dtype=np.float64) for a in (d, p_data, p_g, x))
    with np.errstate(divide="ignore", invalid="ignore"):
        integrand = np.where(p_data > 0, p_data * np.log(d), 0.0) + np.where(p_g > 0, p_g * np.log1p(-d), 0.0)
    return _trapezoid(integrand, x)


def js_divergence(p, q, x=None) -> float:
    r"""Jensen-Shannon divergence :math:`\tfrac12D_{\mathrm{KL}}(p\,\|\,m) + \tfrac12D_{\mathrm{KL}}(q\,\|\,m)`, :math:`m = (p+q)/2`, in nats.

    Parameters
    ----------
    p, q : array_like, shape (n,)
        Probability vectors (``x`` None), or densities on the grid ``x`` (integrated by the trapezoid rule).
    x : array_like, shape (n,), optional

    Returns
    -------
    float
        In :math:`[0, \log 2]`.
    """
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = 0.5 * (np.where(p > 0, p * np.log(p / m), 0.0) + np.where(q > 0, q * np.log(q / m), 0.0))
    return float(np.sum(terms)) if x is None else _trapezoid(terms, np.asarray(x, dtype=np.float64))


def generator_logit_grads(logits) -> dict:
    r"""Gradients of the two generator losses with respect to the discriminator's logit :math:`z` on a fake sample.

    Parameters
    ----------
    logits : array_like
        :math:`z = \operatorname{logit} D_{\boldsymbol\phi}(G_{\boldsymbol\theta}(\boldsymbol\zeta))`.

    Returns
    -------
    dict
        ``saturating``: :math:`\partial_z \log(1 - \sigma(z)) = -\sigma(z)`;
        ``non_saturating``: :math:`\partial_z\,[-\log\sigma(z)] = -(1 - \sigma(z))`.

    Notes
    -----
    Early in training :math:`D_{\boldsymbol\phi}` rejects the fakes, :math:`\sigma(z)\to 0`: the minimax loss's gradient
    vanishes with :math:`\sigma(z)`, the non-saturating one tends to :math:`-1` (Goodfellow et al. 2014, sec. 3).
    """
    a = np.asarray(logits, dtype=np.float64)
    e = np.exp(-np.abs(a))  # sigmoid and 1 - sigmoid without overflow or cancellation
    d, one_minus_d = np.where(a >= 0, 1 / (1 + e), e / (1 + e)), np.where(a >= 0, e / (1 + e), 1 / (1 + e))
    return {"saturating": -d, "non_saturating": -one_minus_d}


def simultaneous_gd_bilinear(x0: float, y0: float, lr: float, steps: int, alternating: bool = False) -> np.ndarray:
    r"""Gradient descent-ascent on :math:`\min_x\max_y\; xy`.

    Parameters
    ----------
    x0, y0 : float
    lr : float
        Step size :math:`\eta > 0`.
    steps : int
    alternating : bool
        False: both players step from the same point (simultaneous); True: :math:`y` sees the new :math:`x`.

    Returns
    -------
    ndarray, shape (steps + 1, 2)

    Notes
    -----
    Simultaneous: :math:`(x, y)\mapsto(x - \eta y,\; y + \eta x)`, a rotation scaled by :math:`\sqrt{1+\eta^2}`: the
    distance to the equilibrium (0, 0) grows by that factor every step, for every :math:`\eta > 0`. Alternating
    has determinant 1 and, for :math:`\eta < 2`, stays on an ellipse: it cycles without converging.
    """
    out = np.empty((steps + 1, 2))
    x, y = float(x0), float(y0)
    out[0] = x, y
    for t in range(steps):
        if alternating:
            x = x - lr * y
            y = y + lr * x
        else:
            x, y = x - lr * y, y + lr * x
        out[t + 1] = x, y
    return out


def ring_centers(n_modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """The ``n_modes`` centres on a circle of ``radius``, shape (n_modes, 2), the first on the positive x-axis."""
    angles = 2 * np.pi * np.arange(n_modes) / n_modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def sample_ring(n: int, rng: np.random.Generator, n_modes: int = 8, radius: float = 2.0, std: float = 0.05):
    """``n`` points from an equal mixture of isotropic Gaussians (sd ``std``) on a ring, shape (n, 2)."""
    centers = ring_centers(n_modes, radius)
    return centers[rng.integers(n_modes, size=n)] + std * rng.standard_normal((n, 2))


def mode_coverage(samples, centers, std: float, min_share: float = 0.01) -> dict:
    r"""Which modes a generator's samples cover, and how many samples are near any mode.

    Parameters
    ----------
    samples : array_like, shape (n, 2)
    centers : array_like, shape (K, 2)
    std : float
        The modes' standard deviation; a sample within :math:`3\,\text{std}` of a centre belongs to it.
    min_share : float
        A mode counts as covered when at least this share of the samples belongs to it.

    Returns
    -------
    dict
        ``covered`` (int), ``per_mode`` (K,) shares, ``high_quality`` (share of samples near some mode).
    """
    samples, centers = np.asarray(samples, dtype=np.float64), np.asarray(centers, dtype=np.float64)
    dist = np.linalg.norm(samples[:, None, :] - centers[None], axis=2)
    nearest = dist.argmin(axis=1)
    good = dist[np.arange(len(samples)), nearest] < 3 * std
    per_mode = np.bincount(nearest[good], minlength=len(centers)) / len(samples)
    return {"covered": int((per_mode >= min_share).sum()), "per_mode": per_mode, "high_quality": float(good.mean())}


# -- diffusion (DDPM) -----------------------------------------------------------------------------------------
def ddpm_schedule(T: int = 100, v_first: float = 1e-4, v_last: float = 0.02) -> dict:
    r"""A linear noise schedule: :math:`v_t` from ``v_first`` to ``v_last`` over :math:`t = 1..T`.

    Returns
    -------
    dict
        ``v``, ``a`` = :math:`1 - v_t`, ``abar`` = :math:`\bar a_t = \prod_{s\le t} a_s`, each shape (T,);
        entry ``t - 1`` is step :math:`t` (the math is 1-based, the arrays 0-based).

    Notes
    -----
    Ho et al. (2020) call these :math:`\beta_t`, :math:`\alpha_t`, :math:`\bar\alpha_t`; with T = 1000 they use
    1e-4 to 0.02. A shorter chain needs larger steps to reach :math:`\bar a_T\approx 0`.
    """
    if not (0 < v_first <= v_last < 1):
        raise ValueError(f"ddpm_schedule: need 0 < v_first <= v_last < 1, got {v_first}, {v_last}")
    v = np.linspace(v_first, v_last, T)
    a = 1 - v
    return {"v": v, "a": a, "abar": np.cumprod(a)}


def q_moments(x0, abar_t):
    r"""Mean and variance of :math:`q(\mathbf x_t\mid\mathbf x_0) = \mathcal N(\sqrt{\bar a_t}\,\mathbf x_0,\ (1-\bar a_t)\mathbf I)`."""
    return np.sqrt(abar_t) * np.asarray(x0, dtype=np.float64), 1 - abar_t


def q_sample(x0, abar_t, eps):
    r""":math:`\mathbf x_t = \sqrt{\bar a_t}\,\mathbf x_0 + \sqrt{1-\bar a_t}\,\boldsymbol\varepsilon`, one jump from
    :math:`\mathbf x_0` to step :math:`t`.

    Parameters
    ----------
    x0, eps : array_like, shape (N, d)
    abar_t : float or array_like, shape (N, 1)
    """
    return np.sqrt(abar_t) * np.asarray(x0, dtype=np.float64) + np.sqrt(1 - abar_t) * eps


def forward_chain(x0, v, rng: np.random.Generator) -> np.ndarray:
    r"""Simulate the forward chain :math:`\mathbf x_t = \sqrt{a_t}\,\mathbf x_{t-1} + \sqrt{v_t}\,\boldsymbol\varepsilon_t` step by step.

    Parameters
    ----------
    x0 : array_like, shape (N, d)
    v : array_like, shape (T,)
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (T + 1, N, d)
        :math:`\mathbf x_0, \dots, \mathbf x_T`.
    """
    x = np.asarray(x0, dtype=np.float64)
    out = np.empty((len(v) + 1, *x.shape))
    out[0] = x
    for t, vt in enumerate(v):
        x = np.sqrt(1 - vt) * x + np.sqrt(vt) * rng.standard_normal(x.shape)
        out[t + 1] = x
    return out


# -- two-sample distances -------------------------------------------------------------------------------------
def _pairwise(X, Y):
    X, Y = np.atleast_2d(np.asarray(X, dtype=np.float64)), np.atleast_2d(np.asarray(Y, dtype=np.float64))
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"two samples of different dimension: {X.shape[1]} and {Y.shape[1]}")
    # from the differences (scipy's cdist), not |x|^2 + |y|^2 - 2 x.y, whose rounding puts sqrt(eps)-sized
    # distances where points coincide (the diagonal of a sample against itself)
    return cdist(X, Y, "sqeuclidean")


def energy_distance(X, Y) -> float:
    r"""Squared energy distance :math:`2\,\mathbb E\lVert\mathbf x-\mathbf y\rVert - \mathbb E\lVert\mathbf x-\mathbf x'\rVert - \mathbb E\lVert\mathbf y-\mathbf y'\rVert` (V-statistic).

    Parameters
    ----------
    X : array_like, shape (n, d)
    Y : array_like, shape (m, d)

    Returns
    -------
    float
        Nonnegative; zero in the population iff the two distributions are equal (Székely and Rizzo 2013).
        In 1-D it is the square of :func:`scipy.stats.energy_distance`.
    """
    dxy = np.sqrt(_pairwise(X, Y)).mean()
    dxx = np.sqrt(_pairwise(X, X)).mean()
    dyy = np.sqrt(_pairwise(Y, Y)).mean()
    return float(max(2 * dxy - dxx - dyy, 0.0))


def mmd2(X, Y, bandwidth: float) -> float:
    r"""Unbiased squared maximum mean discrepancy with the Gaussian kernel :math:`k(\mathbf x,\mathbf y)=e^{-\lVert\mathbf x-\mathbf y\rVert^2/(2\ell^2)}`.

    Parameters
    ----------
    X : array_like, shape (n, d), n >= 2
    Y : array_like, shape (m, d), m >= 2
    bandwidth : float
        :math:`\ell > 0`.

    Returns
    -------
    float
        :math:`\frac{1}{n(n-1)}\sum_{i\ne j}k(\mathbf x_i,\mathbf x_j) + \frac{1}{m(m-1)}\sum_{i\ne j}k(\mathbf y_i,\mathbf y_j)
        - \frac{2}{nm}\sum_{i,j}k(\mathbf x_i,\mathbf y_j)` (Gretton et al. 2012); can be slightly negative.
    """
    if bandwidth <= 0:
        raise ValueError("mmd2: bandwidth must be positive")
    kxx = np.exp(-_pairwise(X, X) / (2 * bandwidth ** 2))
    kyy = np.exp(-_pairwise(Y, Y) / (2 * bandwidth ** 2))
    kxy = np.exp(-_pairwise(X, Y) / (2 * bandwidth ** 2))
    n, m = len(kxx), len(kyy)
    if n < 2 or m < 2:
        raise ValueError("mmd2: each sample needs at least 2 points")
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                 - 2 * kxy.mean())
