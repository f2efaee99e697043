r"""Chapter 15: the graded questions on counting parameters and FLOPs, memory, the roofline, number formats and
data parallelism.

The references are :mod:`course_lib.scaling` (checked against GPT-2's published count, chapter 11's model and
torch's FLOP counter in ``tests/test_scaling.py``) and :mod:`course_lib.precision` (its formats against
``torch.finfo``); the rest is short arithmetic written here. No torch is imported. ``mistakes`` names the
usual slips: 2 N instead of 6 N (the forward pass only), counting every byte of a mixed-precision model in
fp32, the untied output layer or missing biases in a parameter count, seconds for days, the unit roundoff
for the machine epsilon, max for min in the roofline, the minimum normal for the underflow threshold, a
sum where DDP averages, and the naive all-reduce's traffic.
"""
from __future__ import annotations

import numpy as np

from course_lib import scaling as S
from course_lib.grading import Tester, question


def _known(mistakes: dict, expected) -> dict:
    """The slips that give a different answer in this case (a slip that happens to be right is no slip)."""
    exp = np.asarray(expected, dtype=float)
    return {hint: v for hint, v in mistakes.items()
            if v is not None and not (np.shape(v) == exp.shape and np.allclose(v, exp, rtol=1e-9, atol=0))}


def _shapes(t: Tester, extra: int = 3):
    cases = [S.GPT_SHAPES["gpt2-small"], S.GPT_SHAPES["gpt3"], dict(n_layer=2, d_model=64, vocab_size=65, context=32)]
    for _ in range(extra):
        cases.append(dict(n_layer=int(t.rng.integers(1, 13)), d_model=int(64 * t.rng.integers(1, 17)),
                          vocab_size=int(t.rng.integers(50, 60_000)), context=int(2 ** t.rng.integers(5, 12))))
    return cases


# -- 1-3. counting --------------------------------------------------------------------------------------------
@question("15.transformer_params", title="Parameters of a GPT-2-style decoder")
def _check_params(t: Tester):
    for s in _shapes(t):
        D, d, K, T = s["n_layer"], s["d_model"], s["vocab_size"], s["context"]
        exp = S.transformer_params(D, d, K, T)
        t.expect_close(t.call(D, d, K, T), exp, case=s, rtol=0, atol=0.5, mistakes=_known({
            "The output layer is tied to the token embedding: it shares the K x d_model matrix, so count it "
            "once.": exp + K * d,
            "Each block has biases and two layer norms: 13 d_model numbers besides the 12 d_model^2 weights "
            "(q, k, v: 3d, output 1d, MLP 4d + 1d, layer norms 2 x 2d).": exp - D * 11 * d,
            "The learned position embeddings are parameters too: T x d_model of them.": exp - T * d,
            "Do not forget the final layer norm (2 d_model).": exp - 2 * d,
            "The MLP is d -> 4d -> d: 8 d^2 weights, so a block has 12 d^2, not 4 d^2 + 2 d^2.":
                exp - D * 6 * d * d,
        }, exp))


@question("15.training_flops", title="Training FLOPs: C = 6 N_theta N_tok")
def _check_flops(t: Tester):
    cases = [(175e9, 300e9), (124_439_808, 9e9), (1.0, 1.0)]
    cases += [(float(10 ** t.rng.uniform(6, 12)), float(10 ** t.rng.uniform(8, 13))) for _ in range(3)]
    for n, tok in cases:
        exp = S.training_flops(n, tok)
        t.expect_close(t.call(n, tok), exp, case={"n_params": n, "n_tokens": tok}, rtol=1e-9, atol=0, mistakes={
            "2 N instead of 6 N: 2 N_theta N_tok is the forward pass alone (one multiply-add, 2 FLOPs, per weight "
            "and token); the backward pass costs twice that (the input's gradient and the weight's), so 6 in "
            "all.": 2 * n * tok,
            "The backward pass does two multiply-adds per weight and token (4 FLOPs), the forward one (2): 6, "
            "not 4.": 4 * n * tok,
            "A multiply-add counts as 2 FLOPs: 3 multiply-adds per weight and token are 6 FLOPs.": 3 * n * tok,
        })


@question("15.attention_flops", title="Attention's own training FLOPs per token")
def _check_attn(t: Tester):
    for s in _shapes(t):
        D, d, T = s["n_layer"], s["d_model"], s["context"]
        exp = S.attention_flops(D, T, d)
        t.expect_close(t.call(D, T, d), exp, case={"n_layer": D, "context": T, "d_model": d}, rtol=1e-9, atol=0,
                       mistakes=_known({
            "That is the forward pass (4 T d per layer: scores and the weighted sum); training adds the backward, "
            "twice as much: 12 T d.": 4.0 * D * T * d,
            "Two products per layer (q.k against T keys, then the weighted sum of T values), each 2 T d FLOPs "
            "forward, times 3 for training: 12 D T d.": 6.0 * D * T * d,
            "Per token, each query meets T keys, not T^2: 12 D T d.": 12.0 * D * T * T * d,
        }, exp))


# -- 4. time ---------------------------------------------------------------------------------------------------
@question("15.training_days", title="Days of training on a fleet of accelerators")
def _check_days(t: Tester):
    cases = [(3.15e23, 1e14, 1.0, 1), (3.15e23, 1e14, 0.4, 1024)]
    for _ in range(4):
        cases.append((float(10 ** t.rng.uniform(18, 25)), float(10 ** t.rng.uniform(12, 15)),
                      float(t.rng.uniform(0.1, 0.7)), int(2 ** t.rng.integers(0, 12))))
    for c, rate, u, n in cases:
        exp = S.training_days(c, rate, u, n)
        t.expect_close(t.call(c, rate, u, n), exp, case={"flops": c, "flops_per_s": rate, "mfu": u, "n_gpu": n},
                       rtol=1e-9, atol=0, mistakes=_known({
            "That is seconds: divide by 86,400 for days.": exp * 86_400,
            "That is hours: divide by 24 once more.": exp * 24,
            "Each device does only mfu x its peak: divide by the utilization, do not multiply.": exp * u * u,
            "Forgotten: the devices run at mfu x peak, not the peak.": exp * u,
            "The devices share the work: divide by n_gpu.": exp * n,
        }, exp))


# -- 5-6. memory -----------------------------------------------------------------------------------------------
_DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2, "float64": 8}


@question("15.weights_memory", title="Bytes of a model's weights in a given format")
def _check_weights(t: Tester):
    cases = [(175e9, "bfloat16"), (124_439_808, "float32"), (7e9, "float16")]
    for _ in range(3):
        cases.append((float(int(10 ** t.rng.uniform(6, 11))), str(t.rng.choice(list(_DTYPE_BYTES)))))
    for n, dtype in cases:
        exp = _DTYPE_BYTES[dtype] * n
        t.expect_close(t.call(n, dtype), exp, case={"n_params": n, "dtype": dtype}, rtol=1e-9, atol=0,
                       mistakes=_known({
            "Counting bytes in fp32 for a 16-bit model: bfloat16 and float16 take 2 bytes per number, not 4.":
                4 * n if _DTYPE_BYTES[dtype] == 2 else None,
            "That is bits: divide by 8 for bytes.": 8 * exp,
            "Bytes per number: float32 4, bfloat16 2, float16 2, float64 8.": n * _DTYPE_BYTES[dtype] / 2,
        }, exp))


@question("15.zero_memory", title="Model-state bytes per GPU with ZeRO stage 0-3")
def _check_zero(t: Tester):
    cases = [(7.5e9, 64, 0), (7.5e9, 64, 1), (7.5e9, 64, 2), (7.5e9, 64, 3), (175e9, 1024, 2)]
    for _ in range(4):
        cases.append((float(int(10 ** t.rng.uniform(8, 11))), int(2 ** t.rng.integers(1, 11)), int(t.rng.integers(0, 4))))
    for psi, n, stage in cases:
        exp = S.sharded_bytes_per_gpu(psi, n, stage)
        fp32 = {0: 16 * psi, 1: 8 * psi + 8 * psi / n, 2: 4 * psi + 12 * psi / n, 3: 16 * psi / n}[stage]
        t.expect_close(t.call(psi, n, stage), exp, case={"n_params": psi, "n_gpu": n, "stage": stage}, rtol=1e-9,
                       atol=0, mistakes=_known({
            "Counting bytes in fp32 for a mixed-precision model: the weights and gradients the GPU computes "
            "with are 16-bit (2 + 2 bytes); only the optimizer state is fp32 (master weights 4, Adam's m and "
            "v 4 + 4 = 12 bytes).": fp32,
            "Stage 1 shards the optimizer state, stage 2 also the gradients, stage 3 also the weights: "
            "(2 + 2 + 12/n), (2 + 14/n), 16/n bytes per parameter.": {0: None, 1: 16 * psi / n, 2: 4 * psi + 12 * psi / n,
                                                                      3: 16 * psi}[stage],
            "Plain data parallelism (stage 0) shards nothing: every GPU holds all 16 bytes per parameter.":
                16 * psi / n if stage == 0 else None,
            "Mixed-precision Adam keeps 16 bytes per parameter: 2 (weights) + 2 (gradients) + 4 (master "
            "weights) + 4 + 4 (Adam's m and v).": exp * 12 / 16 if stage in (0, 3) else None,
        }, exp))


# -- 7-8. the roofline -------------------------------------------------------------------------------------------
@question("15.matmul_intensity", title="Arithmetic intensity of a matrix product")
def _check_intensity(t: Tester):
    cases = [(1024, 1024, 1024, 4), (1, 4096, 4096, 2), (64, 64, 64, 4)]
    for _ in range(3):
        m, k, n = (int(v) for v in 2 ** t.rng.integers(0, 13, 3))
        cases.append((m, k, n, int(t.rng.choice([2, 4]))))
    for m, k, n, b in cases:
        exp = 2.0 * m * k * n / (b * (m * k + k * n + m * n))
        t.expect_close(t.call(m, k, n, b), exp, case={"m": m, "k": k, "n": n, "bytes_per_value": b}, rtol=1e-9,
                       atol=0, mistakes=_known({
            "A multiply-add is 2 FLOPs: the product does 2 m k n.": exp / 2,
            "The output is written too: the traffic is (m k + k n + m n) values.": 2.0 * m * k * n / (b * (m * k + k * n)),
            "Intensity is FLOPs per *byte*: multiply the values moved by the bytes per value.": exp * b,
        }, exp))


@question("15.roofline", title="The roofline: attainable FLOP/s")
def _check_roof(t: Tester):
    cases = [(0.25, 1e11, 2e10), (100.0, 1e11, 2e10), (5.0, 1e11, 2e10)]
    for _ in range(4):
        cases.append((float(10 ** t.rng.uniform(-2, 3)), float(10 ** t.rng.uniform(10, 15)),
                      float(10 ** t.rng.uniform(9, 13))))
    for i, peak, bw in cases:
        exp = min(peak, i * bw)
        t.expect_close(t.call(i, peak, bw), exp, case={"intensity": i, "peak": peak, "bandwidth": bw}, rtol=1e-9,
                       atol=0, mistakes=_known({
            "A kernel is held back by the lower roof: min(peak, I x bandwidth), not max.": max(peak, i * bw),
            "Memory delivers bandwidth bytes/s, each byte carrying I FLOPs: I x bandwidth, not bandwidth / I.":
                min(peak, bw / i),
            "Below the ridge point the bandwidth limits: min(peak, I x bandwidth).": peak,
        }, exp))


# -- 9-10. number formats ---------------------------------------------------------------------------------------
@question("15.format_limits", title="Range and epsilon of a floating-point format from its bits")
def _check_format(t: Tester):
    cases = [(5, 10), (8, 7), (8, 23), (4, 3), (5, 2), (6, 9)]  # float64 left out: 2 x its max overflows
    for e, m in cases:
        bias = 2 ** (e - 1) - 1
        exp = np.array([(2.0 - 2.0 ** -m) * 2.0 ** bias, 2.0 ** (1 - bias), 2.0 ** -m])
        got = t.numbers(t.call(e, m), ["max", "min_normal", "eps"], case={"exponent_bits": e, "mantissa_bits": m})
        t.expect_close(got, exp, case={"exponent_bits": e, "mantissa_bits": m}, rtol=1e-12, atol=0, mistakes=_known({
            "Machine epsilon is the gap between 1 and the next float, 2^-m; 2^-(m+1) is the unit roundoff (the "
            "largest relative rounding error).": exp * [1, 1, 0.5],
            "The all-ones exponent is kept for inf and NaN, so the largest exponent is bias = 2^(e-1) - 1, and "
            "max = (2 - 2^-m) 2^bias.": exp * [2, 1, 1],
            "The largest significand is 1.11...1 in binary, 2 - 2^-m, not 2.": np.array([2.0 ** (bias + 1), exp[1], exp[2]]),
            "The smallest normal is 2^(1 - bias): exponent field 1, not 0 (0 is for the subnormals).":
                exp * [1, 0.5, 1],
        }, exp))


@question("15.fp16_flushed", title="Which gradients fp16 flushes to zero, with a loss scale")
def _check_flushed(t: Tester):
    for _ in range(4):
        g = np.concatenate([10 ** t.rng.uniform(-10, -1, 40) * t.rng.choice([-1, 1], 40), [0.0, 1e-9, 3e-5]])
        for scale in (1.0, 2.0 ** int(t.rng.integers(4, 16))):
            scaled = g * scale
            exp = float(np.mean((scaled.astype(np.float16) == 0)[g != 0]))
            normal = float(np.mean((np.abs(scaled) < 2.0 ** -14)[g != 0]))
            plain = float(np.mean((g.astype(np.float16) == 0)[g != 0]))
            t.expect_close(t.call(g, scale), exp, case={"grads": g, "scale": scale}, rtol=0, atol=1e-12,
                           mistakes=_known({
                "fp16's subnormals reach down to 2^-24 ~ 6e-8: only values below half of that become 0; the "
                "smallest *normal*, 6.1e-5, loses precision but not the value.": normal,
                "Scale first: the backward pass works on s_loss x the gradient, so test g x scale.":
                    plain if scale != 1 else None,
                "Count among the non-zero gradients only (a true 0 is not flushed).":
                    float(np.mean(scaled.astype(np.float16) == 0)),
            }, exp))


# -- 11-12. data parallelism -----------------------------------------------------------------------------------
@question("15.ddp_gradient", title="The gradient of the whole batch from per-worker gradients")
def _check_ddp(t: Tester):
    for sizes in ([4, 4], [3, 5, 8], [int(v) for v in t.rng.integers(1, 9, int(t.rng.integers(2, 6)))]):
        g = t.rng.standard_normal((len(sizes), 6))
        b = np.array(sizes, dtype=float)
        exp = (b[:, None] * g).sum(axis=0) / b.sum()
        equal = len(set(sizes)) == 1
        t.expect_close(t.call(g, np.array(sizes)), exp, case={"grads": g, "shard_sizes": sizes}, mistakes=_known({
            "The all-reduce *sums*, then each worker divides: the mean loss over the whole batch weights "
            "each worker's mean gradient by its share B_r / B.": g.sum(axis=0),
            "A plain average over workers (what DDP does) equals the whole batch's gradient only when the "
            "shards have equal size; weight each by B_r / B.": None if equal else g.mean(axis=0),
            "Weight by the shard size and divide by the total batch B = sum B_r (not by the number of "
            "workers).": (b[:, None] * g).sum(axis=0) / len(sizes),
        }, exp))


@question("15.allreduce_bytes", title="Bytes each GPU sends in a ring all-reduce")
def _check_ring(t: Tester):
    cases = [(124e6, 8, 2), (1e9, 2, 4), (1e9, 1, 2)]
    for _ in range(3):
        cases.append((float(int(10 ** t.rng.uniform(6, 11))), int(t.rng.integers(2, 1025)), int(t.rng.choice([2, 4]))))
    for n, p, b in cases:
        exp = 2.0 * (p - 1) / p * n * b
        t.expect_close(t.call(n, p, b), exp, case={"n_params": n, "n_gpu": p, "bytes_per_value": b}, rtol=1e-9,
                       atol=0, mistakes=_known({
            "A ring all-reduce is a reduce-scatter then an all-gather: each sends (n-1)/n of the gradient "
            "twice, 2 (n-1)/n N b bytes.": (p - 1) / p * n * b,
            "Each phase moves (n-1)/n of the data, not all of it: 2 (n-1)/n N b.": 2.0 * n * b,
            "That is sending the whole gradient to every other GPU; the ring sends 2 (n-1)/n N b, nearly "
            "independent of n.": (p - 1) * n * b,
        }, exp))
