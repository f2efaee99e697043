"""course_lib.robustness: the linear worst case eps ||w||_1 is reached and never beaten; FGSM steps up the loss by
eps sign(grad); PGD's iterates stay in the eps-ball and the pixel range under L-inf and L2 and reach a loss at
least FGSM's on average; the saturated-softmax "defence" masks gradients that the margin loss recovers;
adversarial training raises robust accuracy; augmentations keep images images."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest
import torch

from course_lib import robustness as R
from course_lib.cnn_experiment import shift_by
from course_lib.models import digit_classifiers as M


@lru_cache(maxsize=None)
def _trained(kind="mlp", epochs=6, n=600):
    Xtr, ytr, _, _ = M.digits01()
    model = M.make_classifier(kind, seed=1)
    M.train_classifier(model, Xtr[:n], ytr[:n], M.TrainConfig(epochs=epochs, lr=0.1), seed=1)
    return model


def _test(n=200):
    _, _, X, y = M.digits01()
    return torch.tensor(X[:n]), torch.tensor(y[:n])


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_linear_worst_case_is_reached_and_never_beaten(norm):
    rng = np.random.default_rng(0)
    w, eps = rng.standard_normal(64), 0.3
    change, delta = R.linear_worst_case(w, eps, norm)
    expected = eps * (np.abs(w).sum() if norm == "linf" else np.linalg.norm(w))
    assert np.isclose(change, expected, rtol=1e-14) and np.isclose(w @ delta, change, rtol=1e-14)
    assert np.isclose(np.abs(delta).max() if norm == "linf" else np.linalg.norm(delta), eps, rtol=1e-14)
    # 10,000 random points of the ball's boundary (the maximum of a linear function is on it) do no better
    d = rng.standard_normal((10_000, 64))
    d = eps * (np.sign(d) * rng.uniform(0, 1, d.shape) ** 0.1 if norm == "linf" else
               d / np.linalg.norm(d, axis=1, keepdims=True))
    assert (d @ w).max() < change


def test_linear_worst_case_grows_with_dimension():
    # Goodfellow's point: eps ||w||_1 grows like d for weights of fixed size, a small eps per pixel adds up
    eps = 0.01
    assert [R.linear_worst_case(np.ones(d), eps)[0] for d in (10, 100, 1000)] == pytest.approx([0.1, 1, 10])


def test_bad_budgets_and_inputs_are_refused():
    with pytest.raises(ValueError, match="eps"):
        R.linear_worst_case(np.ones(3), -0.1)
    with pytest.raises(ValueError, match="norm"):
        R.linear_worst_case(np.ones(3), 0.1, "l1")
    model = _trained()
    x, y = _test(4)
    with pytest.raises(ValueError, match="pixel range"):
        R.fgsm(model, x * 3, y, 0.1)
    with pytest.raises(ValueError, match="labels"):
        R.pgd(model, x, y[:2], 0.1)
    with pytest.raises(ValueError, match="norm"):
        R.pgd(model, x, y, 0.1, norm="l1")


def test_projections():
    g = torch.Generator().manual_seed(0)
    d = torch.randn(50, 1, 8, 8, generator=g)
    p = R.project_linf(d, 0.2)
    assert p.abs().max() <= 0.2 and torch.equal(R.project_linf(p, 0.2), p)
    q = R.project_l2(d, 1.5)
    norms = q.flatten(1).norm(dim=1)
    assert torch.allclose(norms, torch.full_like(norms, 1.5), rtol=1e-6)  # every d is longer than 1.5
    small = d / d.flatten(1).norm(dim=1).view(-1, 1, 1, 1) * 0.5
    assert torch.equal(R.project_l2(small, 1.5), small)  # points inside are left alone
    # the projection is the closest point: no other point of the ball on the segment is closer
    assert torch.allclose(q, d / d.flatten(1).norm(dim=1).view(-1, 1, 1, 1) * 1.5, rtol=1e-6)


def test_fgsm_is_eps_times_the_sign_of_the_gradient_clamped():
    model = _trained()
    x, y = _test(64)
    eps = 0.1
    xa = R.fgsm(model, x, y, eps)
    xr = x.clone().requires_grad_(True)
    torch.nn.functional.cross_entropy(model(xr), y, reduction="sum").backward()
    assert torch.equal(xa, (x + eps * xr.grad.sign()).clamp(0, 1))
    assert (xa - x).abs().max() <= eps + 1e-7 and xa.min() >= 0 and xa.max() <= 1
    # the sign matters: a step up the loss raises it, the same step down lowers it
    down = (x - eps * xr.grad.sign()).clamp(0, 1)
    assert R.mean_loss(model, xa, y) > R.mean_loss(model, x, y) > R.mean_loss(model, down, y)


@pytest.mark.parametrize("norm,eps", [("linf", 0.1), ("linf", 0.3), ("l2", 0.5), ("l2", 2.0)])
def test_pgd_stays_in_the_ball_and_the_pixel_range(norm, eps):
    model = _trained()
    x, y = _test(100)
    xa = R.pgd(model, x, y, eps, norm=norm, n_steps=10, generator=torch.Generator().manual_seed(0))
    d = (xa - x).flatten(1)
    size = d.abs().max(1).values if norm == "linf" else d.norm(dim=1)
    assert size.max() <= eps * (1 + 1e-6), float(size.max())
    assert xa.min() >= 0 and xa.max() <= 1
    assert size.max() > 0.5 * eps  # it did move: the constraint is active, not trivially met


def test_pgd_reaches_at_least_fgsms_loss_on_average():
    model = _trained()
    x, y = _test(200)
    for eps in (0.05, 0.1, 0.2):
        lf = R.mean_loss(model, R.fgsm(model, x, y, eps), y)
        lp = R.mean_loss(model, R.pgd(model, x, y, eps, n_steps=10, generator=torch.Generator().manual_seed(0)), y)
        assert lp >= lf > R.mean_loss(model, x, y), (eps, lp, lf)


def test_accuracy_curve_falls_with_eps_and_pgd_is_stronger():
    model = _trained()
    x, y = _test(200)
    eps = [0.0, 0.05, 0.1, 0.2]
    f = R.accuracy_curve(model, x.numpy(), y.numpy(), eps, "fgsm")
    p = R.accuracy_curve(model, x.numpy(), y.numpy(), eps, "pgd", n_steps=10)
    assert f[0] == p[0] == M.accuracy(model, x.numpy(), y.numpy())
    assert (np.diff(p) <= 0).all() and (p <= f + 0.02).all() and p[-1] < 0.5 * p[0], (f, p)


def test_scaled_logits_mask_the_gradient_and_the_margin_loss_sees_through():
    model = R.ScaledLogits(_trained(), 1e4)
    x, y = _test(200)
    eps = 0.2
    clean = M.accuracy(model, x.numpy(), y.numpy())
    assert clean == M.accuracy(_trained(), x.numpy(), y.numpy())  # the same predictions
    ce = R.robust_accuracy(model, x.numpy(), y.numpy(), eps, "fgsm")
    margin = R.robust_accuracy(model, x.numpy(), y.numpy(), eps, "pgd", loss="margin", n_steps=10)
    plain = R.robust_accuracy(_trained(), x.numpy(), y.numpy(), eps, "pgd", n_steps=10)
    assert ce > clean - 0.1, (ce, clean)  # the masked gradient: FGSM barely moves the accuracy
    assert margin <= plain + 0.02 and margin < 0.5 * clean, (margin, plain, clean)


def test_adversarial_training_raises_robust_accuracy():
    Xtr, ytr, X, y = M.digits01()
    cfg = M.TrainConfig(epochs=8, lr=0.1)
    eps = 0.1
    plain, robust = M.make_classifier("logistic", seed=0), M.make_classifier("logistic", seed=0)
    M.train_classifier(plain, Xtr[:500], ytr[:500], cfg)
    M.train_classifier(robust, Xtr[:500], ytr[:500], cfg, attack=R.pgd_attack(eps, n_steps=3))
    a = [R.robust_accuracy(m, X[:200], y[:200], eps, n_steps=10) for m in (plain, robust)]
    assert a[1] > a[0] + 0.1, a


def test_random_shift_moves_each_image_by_its_own_offset():
    _, _, X, _ = M.digits01()
    xb = X[:30].copy()
    out = R.random_shift(1)(xb, np.random.default_rng(0))
    offsets = np.random.default_rng(0).integers(-1, 2, (30, 2))
    for i, (dy, dx) in enumerate(offsets):
        np.testing.assert_array_equal(out[i:i + 1], shift_by(xb[i:i + 1], int(dy), int(dx), fill=0.0))
    assert len({tuple(o) for o in offsets}) > 1


def test_pixel_noise_stays_in_range():
    _, _, X, _ = M.digits01()
    aug = R.compose(R.pixel_noise(0.3), R.random_shift(1))
    out = aug(X[:50].copy(), np.random.default_rng(0))
    assert out.shape == (50, 1, 8, 8) and out.min() >= 0 and out.max() <= 1 and not np.array_equal(out, X[:50])
