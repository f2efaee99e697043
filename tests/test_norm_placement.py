"""The pre-norm / post-norm stacks of chapter 11: placement, causality, and a short run that learns."""
import math

import pytest
import torch

from course_lib.models import norm_placement as N

torch.set_num_threads(1)


@pytest.mark.parametrize("placement", ["pre", "post"])
def test_stack_is_causal_and_shaped(placement):
    torch.manual_seed(0)
    model = N.Stack(vocab=10, context=8, d_model=16, n_heads=4, depth=2, placement=placement)
    x = torch.randint(10, (2, 8))
    out = model(x)
    assert out.shape == (2, 8, 10)
    x2 = x.clone()
    x2[:, 5:] = (x2[:, 5:] + 1) % 10
    out2 = model(x2)
    assert torch.allclose(out[:, :5], out2[:, :5], atol=1e-6) and not torch.allclose(out[:, 5:], out2[:, 5:])
    assert isinstance(model.ln_f, torch.nn.LayerNorm) == (placement == "pre")


def test_post_norm_block_ends_in_a_layer_norm():
    torch.manual_seed(0)
    block = N.Block(16, 4, "post")
    y = block(torch.randn(3, 5, 16) * 7 + 2)
    # the block's last op is ln2 with weight 1 and bias 0 at initialization: each token has mean 0, variance 1
    assert torch.allclose(y.mean(-1), torch.zeros(3, 5), atol=1e-5)
    assert torch.allclose(y.var(-1, unbiased=False), torch.ones(3, 5), atol=1e-3)
    with pytest.raises(ValueError):
        N.Block(16, 4, "middle")


def test_a_short_run_learns_the_lag_task():
    r = N.run("pre", 2, steps=60, seed=0)
    assert len(r.losses) == 60 and len(r.grad_norms) == 2
    assert r.losses[0] > 0.8 * math.log(16) and r.final < 0.5 * math.log(16)
