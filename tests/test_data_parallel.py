"""course_lib.data_parallel: 2 gloo processes on the CPU with DDP on chapter 11's GPT; the all-reduced gradient
equals the single-process gradient of the concatenated batch (float64), and the ranks agree exactly."""
from __future__ import annotations

import pytest
import torch

from course_lib.data_parallel import (ddp_check_and_time, default_backend, shard, single_process_gradients,
                                     single_process_throughput)
from course_lib.models.gpt import GPTConfig

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed not built")


def test_allreduced_gradient_equals_the_concatenated_batch_gradient():
    config = GPTConfig(vocab_size=13, context=8, n_layer=2, n_head=2, d_model=16)
    g = torch.Generator().manual_seed(0)
    idx, targets = torch.randint(0, 13, (4, 8), generator=g), torch.randint(0, 13, (4, 8), generator=g)
    # one start-up of 2 gloo processes: the gradient job, then 2 timed training steps (replicas must stay equal)
    run = ddp_check_and_time(config, idx, targets, world_size=2, batch_per_rank=2, steps=2, backend="gloo")
    assert run["same_weights"] and run["tokens_per_s"] > 0
    ranks = run["ranks"]
    ref = single_process_gradients(config, idx, targets)
    assert ranks[0]["loss"] != ranks[1]["loss"]  # the shards really differ
    assert set(ranks[0]["grads"]) == set(ref)
    n_terms = idx.numel()  # a gradient entry sums B*T per-token terms; reordering the sum moves it by <= n eps max|g|
    eps = torch.finfo(torch.float64).eps
    for name, r in ref.items():
        a, b = ranks[0]["grads"][name], ranks[1]["grads"][name]
        assert torch.equal(a, b), f"{name}: the ranks hold different gradients after the all-reduce"
        scale = float(r.abs().max())
        assert float((a - r).abs().max()) <= n_terms * eps * max(scale, eps), name
    # Without the all-reduce rank 0 would hold its own half's gradient, which is far from the whole batch's
    local = single_process_gradients(config, idx[:2], targets[:2])
    name = "blocks.0.attn.qkv.weight"
    assert float((local[name] - ref[name]).abs().max()) > 1e-3 * float(ref[name].abs().max())


def test_shard_needs_equal_shards():
    x = torch.arange(6)
    assert shard(x, 1, 3).tolist() == [2, 3]
    with pytest.raises(ValueError, match="equal shards"):
        shard(x, 0, 4)


def test_default_backend():
    assert default_backend() == ("nccl" if torch.cuda.is_available() else "gloo")


def test_single_process_throughput_runs_the_same_loop():
    r = single_process_throughput(GPTConfig(vocab_size=13, context=8, n_layer=1, n_head=2, d_model=16), batch_size=2,
                                  steps=2)
    assert r["tokens_per_s"] > 0 and r["step_s"] == pytest.approx(2 * 8 / r["tokens_per_s"])
