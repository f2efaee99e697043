"""The engine's transformer ops and layers (course_lib.autograd.attention, transformer_layers) against
torch.nn.functional (values and gradients, float64, rtol 1e-6), against the shared gradient checker, and
their torch semantics: boolean masks mean "may attend", float masks are added, is_causal is aligned at the
top left, a query with nothing to attend gives 0, embedding gradients add up over repeated ids."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib.autograd import Tensor, nn
from course_lib.autograd import functional as F
from course_lib.gradcheck import gradcheck

RTOL = 1e-6
GRAD_RTOL = 1e-7  # the gradient checker's default (course_lib.gradcheck's notes): smooth ops of order one


def _compare(ours, theirs, arrays, rng, grad_of=None):
    """Run an op in the engine and in torch on the same float64 arrays with the same upstream gradient;
    returns the largest relative deviation of the value and of each input's gradient, and asserts rtol 1e-6."""
    grad_of = range(len(arrays)) if grad_of is None else grad_of
    tt = [torch.tensor(a, requires_grad=i in grad_of) for i, a in enumerate(arrays)]
    et = [Tensor(a, requires_grad=i in grad_of) for i, a in enumerate(arrays)]
    ref = theirs(*tt)
    out = ours(*et)
    assert out.shape == tuple(ref.shape)
    g = rng.standard_normal(out.shape)
    ref.backward(torch.tensor(g))
    (out * Tensor(g)).sum().backward()
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=RTOL, atol=1e-12)
    worst = float(np.max(np.abs(out.data - ref.detach().numpy())))
    for i in grad_of:
        np.testing.assert_allclose(et[i].grad, tt[i].grad.numpy(), rtol=RTOL, atol=1e-12)
        worst = max(worst, float(np.max(np.abs(et[i].grad - tt[i].grad.numpy()))))
    return worst


def _check_grad(op, x):
    """The shared gradient checker on sum(op(x) * w) with respect to x (float64)."""
    w = np.random.default_rng(5).standard_normal(op(Tensor(x)).shape)

    def f(v):
        return float((op(Tensor(v)).data * w).sum())

    def grad(v):
        t = Tensor(v, requires_grad=True)
        (op(t) * Tensor(w)).sum().backward()
        return t.grad
    return gradcheck(f, grad, x)


# -- scaled dot-product attention --------------------------------------------------------------------------

def _qkv(rng, batch=(2, 3), n_query=5, n_key=5, d_k=4, d_v=6):
    return (rng.standard_normal((*batch, n_query, d_k)), rng.standard_normal((*batch, n_key, d_k)),
            rng.standard_normal((*batch, n_key, d_v)))


@pytest.mark.parametrize("case", ["plain", "causal", "causal_rectangular", "bool_mask", "float_mask",
                                  "broadcast_mask", "scale", "no_batch"])
def test_attention_matches_torch(case):
    rng = np.random.default_rng(0)
    tsdpa = torch.nn.functional.scaled_dot_product_attention
    kw, n_key = {}, 5
    if case == "causal_rectangular":
        n_key = 7
    q, k, v = _qkv(rng, batch=() if case == "no_batch" else (2, 3), n_key=n_key)
    if case.startswith("causal"):
        kw = dict(is_causal=True)
    elif case == "bool_mask":
        mask = rng.random((2, 3, 5, 5)) < 0.6
        mask[..., 0] = True  # every query may attend something
        kw = dict(attn_mask=mask)
    elif case == "broadcast_mask":
        mask = rng.random((5, 5)) < 0.6
        mask[:, 0] = True
        kw = dict(attn_mask=mask)
    elif case == "scale":
        kw = dict(scale=0.3)
    theirs_kw = {key: torch.tensor(val) if isinstance(val, np.ndarray) else val for key, val in kw.items()}
    if case == "float_mask":  # a float mask is added, and gets a gradient
        mask = rng.standard_normal((2, 1, 5, 5))
        worst = _compare(lambda a, b, c, m: F.scaled_dot_product_attention(a, b, c, attn_mask=m),
                         lambda a, b, c, m: tsdpa(a, b, c, attn_mask=m), [q, k, v, mask], rng)
    else:
        worst = _compare(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, **kw),
                         lambda a, b, c: tsdpa(a, b, c, **theirs_kw), [q, k, v], rng)
    print(f"sdpa {case}: max |engine - torch| = {worst:.2e}")


def test_bool_mask_true_means_may_attend_and_equals_the_additive_minus_infinity_mask():
    rng = np.random.default_rng(1)
    q, k, v = _qkv(rng)
    mask = rng.random((5, 5)) < 0.5
    mask[:, 2] = True
    as_bool = F.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), attn_mask=mask)
    as_float = F.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v),
                                              attn_mask=np.where(mask, 0.0, -np.inf))
    np.testing.assert_allclose(as_bool.data, as_float.data, rtol=1e-12)
    # a value that may not be attended does not reach the output: change it and nothing moves
    v2 = v.copy()
    v2[..., ~mask[0], :] += 100.0  # keys query 0 may not see
    moved = F.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v2), attn_mask=mask)
    np.testing.assert_allclose(moved.data[..., 0, :], as_bool.data[..., 0, :], rtol=1e-12)


def test_causal_output_at_t_ignores_the_future():
    rng = np.random.default_rng(2)
    q, k, v = _qkv(rng)
    base = F.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), is_causal=True).data
    k2, v2 = k.copy(), v.copy()
    k2[..., 3:, :] = rng.standard_normal(k2[..., 3:, :].shape)
    v2[..., 3:, :] = rng.standard_normal(v2[..., 3:, :].shape)
    changed = F.scaled_dot_product_attention(Tensor(q), Tensor(k2), Tensor(v2), is_causal=True).data
    np.testing.assert_allclose(changed[..., :3, :], base[..., :3, :], rtol=1e-12)
    assert not np.allclose(changed[..., 3:, :], base[..., 3:, :])


def test_a_query_with_nothing_to_attend_gets_zero_as_in_torch():
    rng = np.random.default_rng(3)
    q, k, v = _qkv(rng, batch=(1,), n_query=3, n_key=3)
    mask = np.array([[False, False, False], [True, False, False], [True, True, False]])
    ours = F.scaled_dot_product_attention(Tensor(q, requires_grad=True), Tensor(k), Tensor(v), attn_mask=mask)
    ref = torch.nn.functional.scaled_dot_product_attention(*(torch.tensor(a) for a in (q, k, v)),
                                                           attn_mask=torch.tensor(mask))
    assert np.all(np.isfinite(ours.data)) and np.all(ours.data[:, 0] == 0)
    np.testing.assert_allclose(ours.data, ref.numpy(), rtol=RTOL, atol=1e-12)


def test_scale_is_one_over_root_head_size_not_model_width():
    """(batch, heads, time, head_size): the default scale uses the query's last axis, d_k = head_size."""
    rng = np.random.default_rng(4)
    q, k, v = _qkv(rng, batch=(2, 4), d_k=8)  # 4 heads of size 8: d_model = 32
    default = F.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v)).data
    by_head = F.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), scale=1 / np.sqrt(8)).data
    by_width = F.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), scale=1 / np.sqrt(32)).data
    np.testing.assert_allclose(default, by_head, rtol=1e-12)
    assert np.max(np.abs(default - by_width)) > 1e-2


@pytest.mark.parametrize("which", [0, 1, 2])
@pytest.mark.parametrize("causal", [False, True])
def test_attention_gradcheck(which, causal):
    rng = np.random.default_rng(6)
    arrays = list(_qkv(rng, batch=(2,), n_query=4, n_key=4, d_k=3, d_v=2))

    def op(t):
        parts = [Tensor(a) for a in arrays]
        parts[which] = t
        return F.scaled_dot_product_attention(*parts, is_causal=causal)
    assert _check_grad(op, arrays[which]).relative_error <= GRAD_RTOL


def test_attention_gradcheck_through_a_float_mask():
    rng = np.random.default_rng(7)
    q, k, v = _qkv(rng, batch=(2,), n_query=3, n_key=4, d_k=3, d_v=2)
    m = rng.standard_normal((3, 4))
    op = lambda t: F.scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), attn_mask=t)  # noqa: E731
    assert _check_grad(op, m).relative_error <= GRAD_RTOL


def test_attention_bad_input_gets_a_clear_message():
    rng = np.random.default_rng(8)
    q, k, v = (Tensor(a) for a in _qkv(rng))
    with pytest.raises(ValueError, match="do not fit"):
        F.scaled_dot_product_attention(q, Tensor(np.zeros((2, 3, 5, 7))), v)
    with pytest.raises(ValueError, match="not both"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((5, 5), bool), is_causal=True)
    with pytest.raises(ValueError, match="broadcast"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 5), bool))
    with pytest.raises(TypeError, match="is_causal=True by keyword"):
        F.scaled_dot_product_attention(q, k, v, None, True)
    with pytest.raises(TypeError, match="boolean"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((5, 5), int))


# -- layer norm ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("normalized_shape", [6, (6,), (3, 6)])
@pytest.mark.parametrize("affine", ["both", "weight_only", "none"])
def test_layer_norm_matches_torch(normalized_shape, affine):
    rng = np.random.default_rng(10)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    x = 3.0 * rng.standard_normal((2, 4, 3, 6)[-2 - len(shape):]) + 1.5
    arrays = [x]
    if affine != "none":
        arrays.append(rng.standard_normal(shape))
    if affine == "both":
        arrays.append(rng.standard_normal(shape))

    def call(fn):
        def run(x, w=None, b=None):
            return fn(x, normalized_shape if isinstance(normalized_shape, tuple) or fn is F.layer_norm
                      else (normalized_shape,), w, b, 1e-5)
        return run
    worst = _compare(call(F.layer_norm), call(torch.nn.functional.layer_norm), arrays, rng)
    print(f"layer_norm {normalized_shape} {affine}: max |engine - torch| = {worst:.2e}")


@pytest.mark.parametrize("which", [0, 1, 2])
def test_layer_norm_gradcheck(which):
    rng = np.random.default_rng(11)
    arrays = [rng.standard_normal((3, 5)) * 2 + 1, rng.standard_normal(5), rng.standard_normal(5)]

    def op(t):
        parts = [Tensor(a) for a in arrays]
        parts[which] = t
        return F.layer_norm(parts[0], 5, parts[1], parts[2])
    assert _check_grad(op, arrays[which]).relative_error <= GRAD_RTOL


def test_layer_norm_module_has_torchs_parameters_and_values():
    rng = np.random.default_rng(12)
    ours, theirs = nn.LayerNorm(8, dtype=np.float64), torch.nn.LayerNorm(8, dtype=torch.float64)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == \
           [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    np.testing.assert_array_equal(ours.weight.data, 1.0)
    np.testing.assert_array_equal(ours.bias.data, 0.0)
    x = rng.standard_normal((4, 8))
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=RTOL, atol=1e-12)
    assert [n for n, _ in nn.LayerNorm(8, bias=False).named_parameters()] == ["weight"]
    with pytest.raises(ValueError, match="trailing axes"):
        ours(Tensor(np.zeros((4, 7))))


# -- embedding -------------------------------------------------------------------------------------------

def test_embedding_matches_torch_and_adds_up_repeated_ids():
    rng = np.random.default_rng(20)
    w = rng.standard_normal((7, 3))
    ids = np.array([[1, 4, 1, 1], [0, 6, 4, 1]])  # id 1 four times, id 4 twice
    tw = torch.tensor(w, requires_grad=True)
    ref = torch.nn.functional.embedding(torch.tensor(ids), tw)
    ew = Tensor(w, requires_grad=True)
    out = F.embedding(ids, ew)
    g = rng.standard_normal(out.shape)
    ref.backward(torch.tensor(g))
    (out * Tensor(g)).sum().backward()
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    np.testing.assert_allclose(ew.grad, tw.grad.numpy(), rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(ew.grad[1], g[ids == 1].sum(axis=0), rtol=1e-12)  # four contributions, summed
    np.testing.assert_array_equal(ew.grad[[2, 3, 5]], 0.0)


def test_embedding_gradcheck_and_errors():
    rng = np.random.default_rng(21)
    ids = np.array([2, 0, 2, 2, 1])
    w = rng.standard_normal((4, 3))
    assert _check_grad(lambda t: F.embedding(ids, t), w).relative_error <= GRAD_RTOL
    with pytest.raises(IndexError, match=r"0\.\.3"):
        F.embedding(np.array([4]), Tensor(w))
    with pytest.raises(TypeError, match="integer"):
        F.embedding(np.array([0.5]), Tensor(w))


def test_embedding_module_has_torchs_layout_and_standard_normal_init():
    emb = nn.Embedding(1000, 64, rng=0)
    assert [(n, p.shape) for n, p in emb.named_parameters()] == [("weight", (1000, 64))]
    w = emb.weight.data.astype(np.float64)
    # N(0, 1): the mean of 64,000 draws is within 5 standard errors (5/sqrt(64000) = 0.02) of 0, the variance
    # within 5 of its standard errors (5 sqrt(2/64000) = 0.028) of 1
    assert abs(w.mean()) < 0.02 and abs(w.var() - 1) < 0.028
    assert emb(np.array([[3, 5]])).shape == (1, 2, 64)


# -- gelu ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch(approximate):
    rng = np.random.default_rng(30)
    x = 3 * rng.standard_normal((4, 9))
    worst = _compare(lambda t: F.gelu(t, approximate), lambda t: torch.nn.functional.gelu(t, approximate=approximate),
                     [x], rng)
    print(f"gelu {approximate}: max |engine - torch| = {worst:.2e}")
    assert _check_grad(lambda t: F.gelu(t, approximate), x).relative_error <= GRAD_RTOL


def test_gelu_exact_is_x_times_the_normal_cdf():
    from scipy.stats import norm
    x = np.linspace(-5, 5, 41)
    np.testing.assert_allclose(F.gelu(Tensor(x)).data, x * norm.cdf(x), rtol=1e-12, atol=1e-300)
    assert np.max(np.abs(F.gelu(Tensor(x), "tanh").data - x * norm.cdf(x))) > 1e-5  # the tanh form differs
    assert isinstance(nn.GELU(), nn.Module) and np.allclose(nn.GELU()(Tensor(x)).data, x * norm.cdf(x))


def test_float32_in_float32_out():
    rng = np.random.default_rng(31)
    q, k, v = (Tensor(a.astype(np.float32)) for a in _qkv(rng))
    assert F.scaled_dot_product_attention(q, k, v, is_causal=True).dtype == np.float32
    assert F.layer_norm(q, 4).dtype == np.float32
    assert F.gelu(q).dtype == np.float32
    assert nn.Embedding(5, 3)(np.array([1, 2])).dtype == np.float32
