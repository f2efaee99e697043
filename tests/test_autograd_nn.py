"""nn and optim against torch.nn and torch.optim: the same weights give the same outputs, gradients
and SGD updates; parameters are listed and named as PyTorch does; initializations have the
advertised scale."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.autograd import Tensor, nn, optim
from course_lib.autograd import functional as F

TORCH_ACTIVATIONS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}


def torch_copy(model: nn.MLP, activation: str, dtype=torch.float64) -> torch.nn.Sequential:
    """The same network in torch.nn, with our weights copied in."""
    layers = []
    for layer in model.linear_layers():
        lin = torch.nn.Linear(layer.in_features, layer.out_features, dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(layer.weight.data))
            lin.bias.copy_(torch.from_numpy(layer.bias.data))
        layers += [lin, TORCH_ACTIVATIONS[activation]()]
    return torch.nn.Sequential(*layers[:-1])


@settings(max_examples=20, deadline=None)
@given(sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4), batch=st.integers(1, 5),
       activation=st.sampled_from(list(TORCH_ACTIVATIONS)), seed=st.integers(0, 2**31))
def test_mlp_matches_torch_nn(sizes, batch, activation, seed):
    rng = np.random.default_rng(seed)
    model = nn.MLP(sizes, activation, dtype=np.float64, rng=seed)
    reference = torch_copy(model, activation)
    X, y = rng.standard_normal((batch, sizes[0])), rng.integers(0, sizes[-1], batch)
    loss = F.cross_entropy(model(Tensor(X)), y)
    loss.backward()
    tloss = torch.nn.functional.cross_entropy(reference(torch.from_numpy(X)), torch.from_numpy(y))
    tloss.backward()
    assert np.isclose(loss.item(), tloss.item(), rtol=1e-10)
    torch_params = dict(reference.named_parameters())
    assert [name for name, _ in model.named_parameters()] == list(torch_params)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, torch_params[name].grad.numpy(), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("lr", [0.5, 0.01])
def test_sgd_steps_equal_torch_optim_sgd(lr):
    rng = np.random.default_rng(0)
    model = nn.MLP([4, 8, 3], "tanh", dtype=np.float64, rng=1)
    reference = torch_copy(model, "tanh")
    opt, topt = optim.SGD(model.parameters(), lr=lr), torch.optim.SGD(reference.parameters(), lr=lr)
    for _ in range(5):
        X, y = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
        opt.zero_grad()
        F.cross_entropy(model(Tensor(X)), y).backward()
        opt.step()
        topt.zero_grad()
        torch.nn.functional.cross_entropy(reference(torch.from_numpy(X)), torch.from_numpy(y)).backward()
        topt.step()
    for p, tp in zip(model.parameters(), reference.parameters()):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_sgd_updates_in_place_in_float32_and_skips_missing_gradients():
    layer = nn.Linear(3, 2, rng=0)
    weight_array, bias_before = layer.weight.data, layer.bias.data.copy()
    opt = optim.SGD(layer.parameters(), lr=0.1)
    layer.weight.grad = np.ones((2, 3), np.float32)
    opt.step()
    assert layer.weight.data is weight_array and weight_array.dtype == np.float32
    assert np.array_equal(layer.bias.data, bias_before)  # no gradient, no update
    opt.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None


def test_sgd_rejects_bad_arguments():
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="positive"):
        optim.SGD(nn.Linear(2, 2).parameters(), lr=0.0)
    with pytest.raises(TypeError, match="Tensors"):
        optim.SGD([np.ones(2)], lr=0.1)


def test_linear_is_torch_linear_with_weight_out_by_in():
    layer = nn.Linear(5, 3, dtype=np.float64, rng=0)
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    x = np.random.default_rng(1).standard_normal((4, 5))
    expected = torch.nn.functional.linear(torch.from_numpy(x), torch.from_numpy(layer.weight.data),
                                          torch.from_numpy(layer.bias.data))
    assert np.allclose(layer(Tensor(x)).data, expected.numpy())
    assert nn.Linear(5, 3, bias=False).bias is None and len(nn.Linear(5, 3, bias=False).parameters()) == 1


def test_parameters_float32_by_default_and_seeded():
    a, b = nn.MLP([3, 4, 2], rng=7), nn.MLP([3, 4, 2], rng=7)
    assert all(p.dtype == np.float32 and p.requires_grad for p in a.parameters())
    assert all(np.array_equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters()))
    assert len(a.parameters()) == 4 and sum(p.size for p in a.parameters()) == 3 * 4 + 4 + 4 * 2 + 2


@pytest.mark.parametrize("init", nn.INIT_SCHEMES)
def test_initializations_have_the_advertised_spread(init):
    fan_in, fan_out = 400, 300
    layer = nn.Linear(fan_in, fan_out, init=init, dtype=np.float64, rng=0)
    std = nn.init_std(init, fan_in, fan_out)
    assert np.isclose(layer.weight.data.std(), std, rtol=0.02)
    if init == "pytorch":  # PyTorch's default: U(-1/sqrt(in), 1/sqrt(in)) for weights and biases
        assert np.abs(layer.weight.data).max() <= 1 / np.sqrt(fan_in) and layer.bias.data.std() > 0
        torch_layer = torch.nn.Linear(fan_in, fan_out)
        assert np.isclose(torch_layer.weight.detach().numpy().std(), std, rtol=0.02)
    else:
        assert np.all(layer.bias.data == 0)
    scaled = nn.Linear(fan_in, fan_out, init=init, scale=3.0, dtype=np.float64, rng=0)
    assert np.allclose(scaled.weight.data, 3.0 * layer.weight.data)


def test_init_std_formulas():
    assert nn.init_std("xavier", 100, 300) == pytest.approx(np.sqrt(2 / 400))
    assert nn.init_std("he", 100, 300) == pytest.approx(np.sqrt(2 / 100))
    assert nn.init_std("pytorch", 100, 300) == pytest.approx(1 / np.sqrt(300))
    with pytest.raises(ValueError, match="unknown initialization"):
        nn.init_std("glorious", 1, 1)


class TwoTowers(nn.Module):
    """A custom module: parameters found through attributes, lists and nested modules, shared once."""

    def __init__(self):
        self.shared = nn.Linear(2, 2, rng=0)
        self.towers = [nn.Sequential(self.shared, nn.ReLU()), nn.Linear(2, 2, rng=1)]
        self.scale = Tensor(np.ones(1), requires_grad=True)
        self.constant = Tensor(np.ones(1))  # not a parameter

    def forward(self, x):
        return (self.towers[0](x) + self.towers[1](x)) * self.scale


def test_custom_modules_list_each_parameter_once():
    m = TwoTowers()
    names = [name for name, _ in m.named_parameters()]
    assert names == ["shared.weight", "shared.bias", "towers.1.weight", "towers.1.bias", "scale"]
    out = m(Tensor(np.ones((3, 2), np.float32)))
    out.sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_module_repr_and_sequential_access():
    model = nn.MLP([3, 5, 2], "tanh")
    text = repr(model)
    assert "(0): Linear(in_features=3, out_features=5, bias=True)" in text and "(1): Tanh()" in text
    assert len(model) == 3 and isinstance(model[2], nn.Linear) and list(model)[1].__class__ is nn.Tanh
    with pytest.raises(ValueError, match="unknown activation"):
        nn.MLP([2, 2], "swish")
