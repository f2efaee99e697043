"""course_lib.explain against captum 0.9.0 (IntegratedGradients with method="riemann_middle", Saliency,
InputXGradient), float64; completeness (exact for a linear model, O(n^-2) for a smooth one, shrinking for a
ReLU net); Adebayo et al.'s randomization check changes the maps; bad input is refused."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import InputXGradient, IntegratedGradients, Saliency

from course_lib import explain as E
from course_lib.models import digit_classifiers as M
from course_lib.models.cnn import DigitsCNN


def _cnn(seed=0):
    torch.manual_seed(seed)
    return DigitsCNN((4, 8)).double().eval()


def _inputs(n=5, seed=0):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("n_steps", [1, 7, 50])
def test_integrated_gradients_equals_captums_riemann_middle(n_steps):
    model, x = _cnn(), _inputs()
    target = torch.tensor([0, 3, 9, 3, 1])
    baselines = _inputs(5, seed=1) * 0.2
    ours, delta = E.integrated_gradients(model, x, baselines, target, n_steps, return_convergence_delta=True)
    if n_steps > 1:  # captum asserts n > 1 for the midpoint rule's alphas
        ref, ref_delta = IntegratedGradients(model).attribute(x, baselines, target=target, n_steps=n_steps,
                                                              method="riemann_middle",
                                                              return_convergence_delta=True)
        # captum's path points are torch.linspace(...).tolist() in the default float32: each alpha is off by up
        # to 2^-24 relative, and an attribution moves by about that much relative (measured: 4.5e-8); ours
        # are exact in float64. So the agreement is float32's, a few units of 2^-24, not float64's.
        tol = 8 * np.finfo(np.float32).eps
        torch.testing.assert_close(ours, ref, rtol=tol, atol=tol * float(ref.abs().max()))
        torch.testing.assert_close(delta, ref_delta, rtol=0, atol=tol * float(ref.abs().sum(dim=(1, 2, 3)).max()))
    # one step: the gradient at the midpoint of the path, times (x - baseline)
    if n_steps == 1:
        mid = (baselines + 0.5 * (x - baselines)).requires_grad_(True)
        model(mid).gather(1, target[:, None]).sum().backward()
        torch.testing.assert_close(ours, (x - baselines) * mid.grad, rtol=1e-12, atol=1e-14)


def test_integrated_gradients_scalar_baseline_int_target_and_batches():
    model, x = _cnn(1), _inputs(4, seed=2)
    ref = IntegratedGradients(model).attribute(x, 0.0, target=2, n_steps=20, method="riemann_middle")
    tol = 8 * np.finfo(np.float32).eps  # captum's float32 alphas, as above
    ours = E.integrated_gradients(model, x, 0.0, 2, 20)
    torch.testing.assert_close(ours, ref, rtol=tol, atol=tol * float(ref.abs().max()))
    # batching the path points changes nothing but the order of the same float64 operations
    torch.testing.assert_close(E.integrated_gradients(model, x, 0.0, 2, 20, internal_batch_size=7), ours,
                               rtol=1e-13, atol=1e-15)


def test_saliency_and_gradient_x_input_equal_captums():
    model, x = _cnn(2), _inputs(3, seed=3)
    t = torch.tensor([4, 0, 7])
    torch.testing.assert_close(E.saliency(model, x, t), Saliency(model).attribute(x, target=t), rtol=1e-12,
                               atol=0)
    torch.testing.assert_close(E.gradient_x_input(model, x, t), InputXGradient(model).attribute(x, target=t),
                               rtol=1e-12, atol=0)


def test_completeness_is_exact_for_a_linear_model():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10)).double()
    x = _inputs(6)
    errors = E.completeness_errors(model, x, 0.0, 5, [1, 2, 50])
    # the gradient is constant along the path: any rule is exact up to rounding of 64 products of O(1)
    assert errors.max() < 64 * np.finfo(np.float64).eps * 10, errors
    # and with a zero baseline and no bias, gradient x input is IG
    model[1].bias.data.zero_()
    torch.testing.assert_close(E.gradient_x_input(model, x, 5), E.integrated_gradients(model, x, 0.0, 5, 3))


def test_completeness_error_falls_like_n_to_the_minus_two_for_a_smooth_model():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.Tanh(),
                                torch.nn.Linear(32, 10)).double()
    with torch.no_grad():
        model[1].weight.mul_(4)  # curved enough that the error is far above rounding at n = 64
    x = _inputs(4)
    errors = E.completeness_errors(model, x, 0.0, 1, [8, 16, 32, 64])
    ratios = errors[:-1] / errors[1:]
    assert np.allclose(ratios, 4, rtol=0.1), (errors, ratios)  # the midpoint rule's order 2


def test_completeness_error_shrinks_for_the_trained_relu_cnn():
    Xtr, ytr, X, _ = M.digits01()
    model = M.make_classifier("cnn", seed=0)
    M.train_classifier(model, Xtr[:400], ytr[:400], M.TrainConfig(epochs=3))
    model = model.double()
    x = torch.tensor(X[:5]).double()
    t = model(x).argmax(1)
    errors = E.completeness_errors(model, x, 0.0, t, [4, 32, 256])
    assert errors[2] < errors[1] < errors[0] and errors[2] < 0.05 * errors[0], errors


def test_randomization_changes_the_maps():
    Xtr, ytr, X, _ = M.digits01()
    model = M.make_classifier("mlp", seed=0)
    M.train_classifier(model, Xtr[:400], ytr[:400], M.TrainConfig(epochs=5, lr=0.1))
    before = [p.detach().clone() for p in model.parameters()]
    x = torch.tensor(X[:10])
    t = model(x).argmax(1)
    sal = E.randomization_sanity(model, x, t, "saliency")
    assert sal[0] == ("trained", 1.0) and [s[0] for s in sal[1:]] == ["1.3", "1.1"]
    assert sal[-1][1] < 0.5, sal  # every layer randomized: the saliency map changed (measured 0.03)
    # IG over all pixels: the (x - baseline) factor zeroes the shared blank background in both maps, which
    # alone keeps the rank correlation near 0.9 (measured 0.91): the input, not the model, shows
    ig_all = E.randomization_sanity(model, x, t, "integrated_gradients", n_steps=16)
    assert ig_all[-1][1] > 0.8, ig_all
    # on the digit's own pixels, the IG map of a random network is a different map (measured 0.46)
    ig_support = E.randomization_sanity(model, x, t, "integrated_gradients", n_steps=16, support_only=True)
    assert ig_support[-1][1] < 0.7 and ig_support[-1][1] < ig_all[-1][1] - 0.2, ig_support
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))  # the model itself untouched


def test_rank_correlation():
    a = np.arange(10.0)
    assert E.rank_correlation(a, a ** 3) == pytest.approx(1) and E.rank_correlation(a, -a) == pytest.approx(-1)
    assert E.rank_correlation(a, np.zeros(10)) == 0.0


def test_bad_input_is_refused():
    model, x = _cnn(), _inputs(2)
    with pytest.raises(ValueError, match="n_steps"):
        E.integrated_gradients(model, x, 0.0, 1, 0)
    with pytest.raises(ValueError, match="target"):
        E.saliency(model, x, torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="method"):
        E.attribute(model, x, 1, "lime")
