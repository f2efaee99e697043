"""course_lib.attention against PyTorch (float64) and against the identities the chapter states."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from course_lib import attention as A

torch.set_num_threads(1)


def _sdpa_torch(q, k, v, mask=None, is_causal=False):
    t = [torch.tensor(a) for a in (q, k, v)]
    m = None if mask is None else torch.tensor(mask)
    return torch.nn.functional.scaled_dot_product_attention(*t, attn_mask=m, is_causal=is_causal).numpy()


def test_sdpa_matches_torch_unmasked_causal_and_float_mask():
    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal((2, 3, 5, 8)), rng.standard_normal((2, 3, 5, 8)), rng.standard_normal((2, 3, 5, 4))
    np.testing.assert_allclose(A.scaled_dot_product_attention(q, k, v)[0], _sdpa_torch(q, k, v), rtol=1e-10)
    np.testing.assert_allclose(A.scaled_dot_product_attention(q, k, v, A.causal_mask(5))[0],
                               _sdpa_torch(q, k, v, is_causal=True), rtol=1e-10)
    bias = rng.standard_normal((5, 5))
    np.testing.assert_allclose(A.scaled_dot_product_attention(q, k, v, bias)[0], _sdpa_torch(q, k, v, bias),
                               rtol=1e-10)


def test_padding_mask_ignores_padded_keys_and_matches_torch():
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((3, 2, 6, 4)) for _ in range(3))
    mask = A.padding_mask([6, 3, 1], 6)
    assert mask.shape == (3, 1, 1, 6)
    out, w = A.scaled_dot_product_attention(q, k, v, mask)
    np.testing.assert_allclose(out, _sdpa_torch(q, k, v, mask), rtol=1e-10)
    assert np.all(w[1, :, :, 3:] == 0) and np.all(w[2, :, :, 1:] == 0)
    k2, v2 = k.copy(), v.copy()
    k2[1, :, 3:], v2[1, :, 3:] = 1e3, -1e3   # whatever sits in the padding changes nothing
    np.testing.assert_allclose(A.scaled_dot_product_attention(q, k2, v2, mask)[0][1], out[1], rtol=1e-12)
    with pytest.raises(ValueError):
        A.padding_mask([0, 2], 4)


def test_causal_output_does_not_see_the_future():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 7, 4))
    out = A.scaled_dot_product_attention(x, x, x, A.causal_mask(7))[0]
    x2 = x.copy()
    x2[0, 5:] += 10.0
    out2 = A.scaled_dot_product_attention(x2, x2, x2, A.causal_mask(7))[0]
    np.testing.assert_array_equal(out[0, :5], out2[0, :5])
    assert np.abs(out[0, 5:] - out2[0, 5:]).max() > 1


def test_fully_masked_row_is_a_clear_error():
    with pytest.raises(ValueError, match="may attend"):
        A.attention_weights(np.ones((2, 3)), np.ones((2, 3)), ~A.causal_mask(2))


def test_soft_lookup_is_a_convex_combination_and_hard_at_low_temperature():
    rng = np.random.default_rng(3)
    keys, values = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
    q = keys[2] * 3
    out, w = A.soft_lookup(q, keys, values)
    assert np.isclose(w.sum(), 1) and np.all(w >= 0)
    np.testing.assert_allclose(out, w @ values)
    hard, wh = A.soft_lookup(q, keys, values, temperature=1e-4)
    assert wh.argmax() == np.argmax(keys @ q)
    np.testing.assert_allclose(hard, values[np.argmax(keys @ q)], atol=1e-12)
    with pytest.raises(ValueError):
        A.soft_lookup(q[:3], keys, values)


def test_dot_product_variance_grows_like_d_k_and_the_scale_removes_it():
    for d_k in (4, 64, 512):
        r = A.dot_product_variance(d_k, n=20_000, rng=d_k)
        # 5 standard errors of the sample variance (the kurtosis of q.k is 3 + 6/d_k, exactly)
        assert abs(r["var"] - d_k) < 5 * r["se"], r
        assert abs(r["var_scaled"] - 1) < 5 * r["se"] / d_k, r


def test_saturation_without_scaling():
    scaled, raw = A.softmax_saturation(256, rng=0), A.softmax_saturation(256, scaled=False, rng=0)
    assert raw["max_weight"] > 0.9 > 0.5 > scaled["max_weight"]
    assert raw["grad_norm"] < scaled["grad_norm"] / 3


@given(st.integers(1, 3), st.integers(1, 5), st.sampled_from([1, 2, 4]), st.integers(1, 4))
def test_split_merge_round_trip_and_head_columns(B, T, n_heads, hs):
    x = np.arange(B * T * n_heads * hs, dtype=float).reshape(B, T, n_heads * hs)
    heads = A.split_heads(x, n_heads)
    assert heads.shape == (B, n_heads, T, hs)
    np.testing.assert_array_equal(A.merge_heads(heads), x)
    np.testing.assert_array_equal(heads[:, -1], x[:, :, (n_heads - 1) * hs:])


def test_multi_head_attention_matches_torch_module():
    torch.manual_seed(0)
    d, h, T = 12, 3, 5
    mha = torch.nn.MultiheadAttention(d, h, batch_first=True, dtype=torch.float64)
    for p in mha.parameters():  # torch initializes the biases to 0: give them values so they are tested
        torch.nn.init.normal_(p)
    x = np.random.default_rng(4).standard_normal((2, T, d))
    params = [mha.in_proj_weight, mha.in_proj_bias, mha.out_proj.weight, mha.out_proj.bias]
    params = [p.detach().numpy() for p in params]
    for causal in (False, True):
        mask = A.causal_mask(T) if causal else None
        tx = torch.tensor(x)
        with torch.no_grad():
            expected, w = mha(tx, tx, tx, attn_mask=None if mask is None else torch.tensor(~mask),
                              average_attn_weights=False)   # torch's module: True = NOT allowed
        got, got_w = A.multi_head_attention(x, *params, h, mask, return_weights=True)
        np.testing.assert_allclose(got, expected.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got_w, w.numpy(), rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError):
        A.multi_head_attention(x, params[0][:5], None, params[2], None, h)


def test_sinusoidal_encoding_and_the_shift_map():
    pe = A.sinusoidal_encoding(50, 16)
    assert pe.shape == (50, 16)
    np.testing.assert_allclose(pe[:, 0], np.sin(np.arange(50)))
    np.testing.assert_allclose(pe[:, 15], np.cos(np.arange(50) * 1e4 ** (-14 / 16)))
    np.testing.assert_allclose(A.sinusoidal_encoding(5, 16, start=7), pe[7:12])
    for k in (1, 5, -3, 2.5):
        M = A.pe_shift_matrix(k, 16)
        shifted = A.sinusoidal_encoding(50, 16, start=k)
        np.testing.assert_allclose(pe @ M.T, shifted, atol=1e-12)
        np.testing.assert_allclose(M @ M.T, np.eye(16), atol=1e-15)
        np.testing.assert_allclose(M.T, A.pe_shift_matrix(-k, 16), atol=1e-15)
    sim = A.pe_similarity(30, 16)
    np.testing.assert_allclose(np.diag(sim), 8.0)
    np.testing.assert_allclose(sim[3, 10], sim[10, 17])  # a function of t - s only
    with pytest.raises(ValueError):
        A.sinusoidal_encoding(4, 7)


def test_layer_norm_matches_torch():
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((3, 4, 10)) * 5 + 2, rng.standard_normal(10), rng.standard_normal(10)
    expected = torch.nn.functional.layer_norm(*(torch.tensor(a) for a in (x,)), (10,), torch.tensor(w),
                                              torch.tensor(b)).numpy()
    np.testing.assert_allclose(A.layer_norm(x, w, b), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("d,h,f,bias", [(16, 4, None, True), (12, 3, 20, True), (8, 2, None, False)])
def test_block_param_count_matches_torch_encoder_layer(d, h, f, bias):
    layer = torch.nn.TransformerEncoderLayer(d, h, dim_feedforward=4 * d if f is None else f, norm_first=True,
                                             bias=bias, batch_first=True)
    assert A.block_param_count(d, h, f, bias)["total"] == sum(p.numel() for p in layer.parameters())


def test_gpt_param_count_adds_up():
    c = A.gpt_param_count(65, 32, 2, 16, 4)
    assert c["total"] == (65 + 32) * 16 + 2 * A.block_param_count(16, 4)["total"] + 32
    assert A.gpt_param_count(65, 32, 2, 16, 4, tied=False)["total"] == c["total"] + 65 * 16


def test_sampling_distribution():
    z = np.array([[2.0, 1.0, 0.5, -1.0], [0.0, 0.0, 0.0, 3.0]])
    p = A.sampling_distribution(z, temperature=0.5, top_k=2)
    np.testing.assert_allclose(p.sum(axis=1), 1)
    assert np.all(p[0, 2:] == 0) and p[0, 0] > p[0, 1]
    np.testing.assert_allclose(p[0, :2], np.exp(z[0, :2] / 0.5) / np.exp(z[0, :2] / 0.5).sum())
    assert np.count_nonzero(p[1]) == 4 and np.allclose(p[1, :3], p[1, 0])  # ties at the threshold kept
    # the same distribution torch's generate-style sampling uses
    tz = torch.tensor(z) / 0.5
    v, _ = torch.topk(tz, 2)
    tz[tz < v[:, [-1]]] = -float("inf")
    np.testing.assert_allclose(p, torch.softmax(tz, -1).numpy(), rtol=1e-12)
