"""The engine's convolution and pooling ops and layers (course_lib.autograd.conv, conv_layers) against
torch.nn.functional (values and gradients, float64, rtol 1e-6) over a grid of kernel sizes, strides,
paddings and dilations (ints and pairs, non-square inputs), against the shared gradient checker, and a
small CNN whose weights are copied from a torch model: the same loss and the same gradients."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from course_lib.autograd import Tensor, nn
from course_lib.autograd import functional as F
from course_lib.convolution import col2im, im2col
from course_lib.gradcheck import gradcheck

RTOL = 1e-6
CONV_GRID = [  # (kernel_size, stride, padding, dilation)
    *itertools.product([1, 3], [1, 2], [0, 1], [1, 2]),
    ((2, 3), (1, 2), (1, 0), (2, 1)),
    ((3, 1), (2, 1), (0, 2), (1, 3)),
    (2, 3, 1, 1),
]


def _torch_conv(x, w, b, **kw):
    tx, tw = (torch.tensor(a, requires_grad=True) for a in (x, w))
    tb = None if b is None else torch.tensor(b, requires_grad=True)
    return torch.nn.functional.conv2d(tx, tw, tb, **kw), (tx, tw, tb)


@pytest.mark.parametrize("kernel,stride,padding,dilation", CONV_GRID)
@pytest.mark.parametrize("with_bias", [True, False])
def test_conv2d_matches_torch(kernel, stride, padding, dilation, with_bias):
    rng = np.random.default_rng(0)
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    x, w = rng.standard_normal((2, 3, 7, 9)), rng.standard_normal((4, 3, kh, kw))
    b = rng.standard_normal(4) if with_bias else None
    args = dict(stride=stride, padding=padding, dilation=dilation)
    ref, (tx, tw, tb) = _torch_conv(x, w, b, **args)
    g = rng.standard_normal(tuple(ref.shape))
    ref.backward(torch.tensor(g))
    ex, ew = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    eb = None if b is None else Tensor(b, requires_grad=True)
    out = F.conv2d(ex, ew, eb, **args)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=RTOL, atol=1e-12)
    (out * Tensor(g)).sum().backward()
    np.testing.assert_allclose(ex.grad, tx.grad.numpy(), rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(ew.grad, tw.grad.numpy(), rtol=RTOL, atol=1e-12)
    if b is not None:
        np.testing.assert_allclose(eb.grad, tb.grad.numpy(), rtol=RTOL, atol=1e-12)


POOL_GRID = [(2, None, 0), (3, 1, 1), (3, 2, 1), ((2, 3), (1, 2), (1, 1)), (2, 1, 0), ((3, 2), None, (1, 0))]


@pytest.mark.parametrize("kernel,stride,padding", POOL_GRID)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_matches_torch(kernel, stride, padding, kind):
    rng = np.random.default_rng(1)
    x = rng.permutation(2 * 3 * 7 * 8).reshape(2, 3, 7, 8) / 10.0  # distinct values: the argmax is unique
    ours = F.max_pool2d if kind == "max" else F.avg_pool2d
    theirs = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d
    tx = torch.tensor(x, requires_grad=True)
    ref = theirs(tx, kernel, stride, padding)
    g = rng.standard_normal(tuple(ref.shape))
    ref.backward(torch.tensor(g))
    ex = Tensor(x, requires_grad=True)
    out = ours(ex, kernel, stride, padding)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=RTOL, atol=1e-12)
    (out * Tensor(g)).sum().backward()
    np.testing.assert_allclose(ex.grad, tx.grad.numpy(), rtol=RTOL, atol=1e-12)


def test_max_pool_ties_go_to_the_first_maximum_as_in_torch():
    x = np.zeros((1, 1, 4, 4))
    tx = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(tx, 2).sum().backward()
    ex = Tensor(x, requires_grad=True)
    F.max_pool2d(ex, 2).sum().backward()
    np.testing.assert_array_equal(ex.grad, tx.grad.numpy())
    assert ex.grad.sum() == 4  # one pixel per window, not all four


def _check_grad(op, x, *others):
    """Gradient checker on sum(op(x) * w) with respect to x, float64."""
    rng = np.random.default_rng(5)
    w = rng.standard_normal(op(Tensor(x), *others).shape)

    def f(v):
        return float((op(Tensor(v), *others).data * w).sum())

    def grad(v):
        t = Tensor(v, requires_grad=True)
        (op(t, *others) * Tensor(w)).sum().backward()
        return t.grad
    return gradcheck(f, grad, x)


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, 1), ((1, 2), (2, 0), (1, 2))])
def test_conv2d_gradcheck(stride, padding, dilation):
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((2, 2, 6, 5)), rng.standard_normal((3, 2, 2, 3)), rng.standard_normal(3)
    args = dict(stride=stride, padding=padding, dilation=dilation)
    assert _check_grad(lambda t: F.conv2d(t, Tensor(w), Tensor(b), **args), x).relative_error <= 1e-7
    assert _check_grad(lambda t: F.conv2d(Tensor(x), t, Tensor(b), **args), w).relative_error <= 1e-7
    assert _check_grad(lambda t: F.conv2d(Tensor(x), Tensor(w), t, **args), b).relative_error <= 1e-7


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_gradcheck(kind):
    rng = np.random.default_rng(3)
    x = (rng.permutation(2 * 2 * 6 * 5).reshape(2, 2, 6, 5) + rng.uniform(0, 0.5, (2, 2, 6, 5))) / 4  # gaps >> h
    op = F.max_pool2d if kind == "max" else F.avg_pool2d
    assert _check_grad(lambda t: op(t, 3, 2, 1), x).relative_error <= 1e-7


def test_im2col_and_col2im_are_torch_unfold_and_fold():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 6, 7))
    args = dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 0), dilation=(1, 2))
    cols = im2col(x, **args)
    np.testing.assert_allclose(cols, torch.nn.functional.unfold(torch.tensor(x), **args).numpy(), rtol=RTOL)
    c = rng.standard_normal(cols.shape)
    np.testing.assert_allclose(col2im(c, (6, 7), **args),
                               torch.nn.functional.fold(torch.tensor(c), (6, 7), **args).numpy(), rtol=RTOL)
    # adjoint: <im2col(x), c> = <x, col2im(c)>
    np.testing.assert_allclose(np.vdot(cols, c), np.vdot(x, col2im(c, (6, 7), **args)), rtol=1e-12)


def _torch_cnn():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                               torch.nn.Conv2d(4, 6, (3, 2), stride=(1, 2), dilation=(2, 1)), torch.nn.ReLU(),
                               torch.nn.AvgPool2d(1), torch.nn.Flatten(), torch.nn.LazyLinear(5)).double()


def test_weights_copied_from_torch_give_the_same_loss_and_gradients():
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((8, 1, 10, 8)), rng.integers(0, 5, 8)
    tmodel = _torch_cnn()
    tmodel(torch.tensor(x))  # materializes the lazy layer
    ours = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, dtype=np.float64), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, (3, 2), stride=(1, 2), dilation=(2, 1), dtype=np.float64), nn.ReLU(),
                         nn.AvgPool2d(1), nn.Flatten(), nn.Linear(tmodel[-1].in_features, 5, dtype=np.float64))
    named = dict(tmodel.named_parameters())
    for name, p in ours.named_parameters():
        assert p.shape == tuple(named[name].shape), name
        p.data[...] = named[name].detach().numpy()
    tloss = torch.nn.functional.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(y))
    tloss.backward()
    loss = F.cross_entropy(ours(Tensor(x)), y)
    loss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=RTOL)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, named[name].grad.numpy(), rtol=RTOL, atol=1e-12, err_msg=name)


def test_conv2d_default_init_matches_torch_bounds():
    layer = nn.Conv2d(3, 8, (3, 5), rng=0)
    bound = 1 / np.sqrt(3 * 3 * 5)
    assert layer.weight.shape == (8, 3, 3, 5) and layer.weight.dtype == np.float32
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.8 * bound  # uniform over the whole interval, not a narrower one
    t = torch.nn.Conv2d(3, 8, (3, 5))
    assert float(t.weight.detach().abs().max()) <= bound + 1e-7


def test_float32_stays_float32_and_errors_are_clear():
    layer = nn.Conv2d(2, 3, 3, padding=1, rng=0)
    x = Tensor(np.ones((1, 2, 5, 5), dtype=np.float32))
    out = layer(x)
    out.sum().backward()
    assert out.dtype == np.float32 and layer.weight.grad.dtype == np.float32
    with pytest.raises(ValueError, match="channels"):
        layer(Tensor(np.ones((1, 3, 5, 5), dtype=np.float32)))
    with pytest.raises(ValueError, match="NCHW"):
        layer(Tensor(np.ones((2, 5, 5), dtype=np.float32)))
    with pytest.raises(ValueError, match="empty"):
        F.conv2d(Tensor(np.ones((1, 2, 2, 2), dtype=np.float32)), layer.weight)
    with pytest.raises(ValueError, match="half"):
        F.max_pool2d(x, 2, padding=2)
