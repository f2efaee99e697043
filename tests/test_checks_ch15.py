"""Chapter 15 checks: references and alternative correct answers pass, stubs are "not attempted",
hard-coded and plausible wrong answers fail with the hint aimed at that slip (2 N instead of 6 N, fp32 bytes
for a mixed-precision model, ...)."""
import numpy as np
import torch

from check_contract import contract_tests
from course_lib import scaling as S
from course_lib.precision import format_limits

SEEDS = [1, 2, 3, 4, 5]


def params_loop(D, d, K, T):
    block = sum([2 * d, 3 * d * d + 3 * d, d * d + d, 2 * d, 4 * d * d + 4 * d, 4 * d * d + d])
    return D * block + K * d + T * d + 2 * d


def params_torch(D, d, K, T):
    """Count a real module of that shape without allocating it (meta device)."""
    from course_lib.models.gpt import GPT, GPTConfig

    with torch.device("meta"):
        model = GPT(GPTConfig(vocab_size=K, context=T, n_layer=D, n_head=1, d_model=d))
    return model.num_params(exclude_position=False)


def days(c, rate, u, n):
    return c / (rate * u * n) / 86_400


def zero(psi, n, stage):
    weights, grads, optim = 2 * psi, 2 * psi, 12 * psi
    return [weights + grads + optim, weights + grads + optim / n, weights + (grads + optim) / n,
            (weights + grads + optim) / n][stage]


def formats(e, m):
    bias = 2 ** (e - 1) - 1
    return np.array([(2 - 2.0 ** -m) * 2.0 ** bias, 2.0 ** (1 - bias), 2.0 ** -m])


def formats_lib(e, m):
    name = {(5, 10): "float16", (8, 7): "bfloat16", (8, 23): "float32", (11, 52): "float64"}.get((e, m))
    if name is None:
        return formats(e, m)
    lim = format_limits(name)
    return lim["max"], lim["min_normal"], lim["eps"]


def flushed(g, scale):
    nz = g != 0
    return float(np.mean((g * scale).astype(np.float16)[nz] == 0))


def flushed_threshold(g, scale):
    # round to nearest even: |x| <= 2^-25 (half the smallest subnormal) becomes 0
    nz = g != 0
    return float(np.mean(np.abs(g[nz] * scale) <= 2.0 ** -25))


def ddp(g, sizes):
    return np.average(g, axis=0, weights=np.asarray(sizes, dtype=float))


CORRECT = {
    "15.transformer_params": (S.transformer_params, [params_loop, params_torch], lambda *a: 124_439_808),
    "15.training_flops": (S.training_flops, [lambda n, t: 6 * n * t], lambda n, t: 3.15e23),
    "15.attention_flops": (S.attention_flops, [lambda D, T, d: 12.0 * D * T * d], lambda *a: 1e9),
    "15.training_days": (S.training_days, [days], lambda *a: 36458.3),
    "15.weights_memory": (lambda n, dt: n * {"float32": 4, "bfloat16": 2, "float16": 2, "float64": 8}[dt],
                          [lambda n, dt: n * np.dtype(np.float16 if dt == "bfloat16" else dt).itemsize],
                          lambda n, dt: 3.5e11),
    "15.zero_memory": (S.sharded_bytes_per_gpu, [zero], lambda *a: 1.2e11),
    "15.matmul_intensity": (lambda m, k, n, b: 2 * m * k * n / (b * (m * k + k * n + m * n)),
                            [lambda m, k, n, b: (m * k * n) / ((m * k + k * n + m * n) * b / 2)], lambda *a: 170.7),
    "15.roofline": (lambda i, p, bw: min(p, i * bw), [lambda i, p, bw: float(np.minimum(p, i * bw))],
                    lambda *a: 1e11),
    "15.format_limits": (formats, [formats_lib], lambda e, m: (65504.0, 6.1e-5, 2 ** -10)),
    "15.fp16_flushed": (flushed, [flushed_threshold], lambda g, s: 0.1),
    "15.ddp_gradient": (ddp, [lambda g, s: (np.asarray(s)[:, None] * g).sum(0) / np.sum(s)],
                        lambda g, s: np.zeros(6)),
    "15.allreduce_bytes": (lambda n, p, b: 2 * (p - 1) / p * n * b, [lambda n, p, b: 2 * n * b * (1 - 1 / p)],
                           lambda *a: 2e9),
}

WRONG = {
    "15.transformer_params": [(lambda D, d, K, T: S.transformer_params(D, d, K, T) + K * d, "tied"),
                              (lambda D, d, K, T: S.transformer_params(D, d, K, T) - D * 11 * d, "biases"),
                              (lambda D, d, K, T: S.transformer_params(D, d, K, T) - T * d, "position")],
    "15.training_flops": [(lambda n, t: 2 * n * t, "2 N instead of 6 N"), (lambda n, t: 4 * n * t, "backward")],
    "15.attention_flops": [(lambda D, T, d: 4.0 * D * T * d, "forward")],
    "15.training_days": [(lambda c, r, u, n: c / (r * u * n), "seconds"), (lambda c, r, u, n: c / (r * n) / 86400, "mfu")],
    "15.weights_memory": [(lambda n, dt: 4 * n, "fp32"), (lambda n, dt: 8 * n * {"float32": 4, "bfloat16": 2, "float16": 2,
                                                                                 "float64": 8}[dt], "bits")],
    "15.zero_memory": [(lambda psi, n, s: {0: 16 * psi, 1: 8 * psi + 8 * psi / n, 2: 4 * psi + 12 * psi / n,
                                           3: 16 * psi / n}[s], "fp32"),
                       (lambda psi, n, s: 16 * psi / n, "shards")],
    "15.matmul_intensity": [(lambda m, k, n, b: m * k * n / (b * (m * k + k * n + m * n)), "2 FLOPs")],
    "15.roofline": [(lambda i, p, bw: max(p, i * bw), "lower roof"), (lambda i, p, bw: min(p, bw / i), "bandwidth / I")],
    "15.format_limits": [(lambda e, m: formats(e, m) * [1, 1, 0.5], "unit roundoff"),
                         (lambda e, m: formats(e, m) * [2, 1, 1], "inf and NaN")],
    "15.fp16_flushed": [(lambda g, s: float(np.mean(np.abs(g * s)[g != 0] < 2.0 ** -14)), "subnormals"),
                        (lambda g, s: flushed(g, 1.0), "Scale first")],
    "15.ddp_gradient": [(lambda g, s: g.sum(axis=0), "sums"), (lambda g, s: g.mean(axis=0), "equal size")],
    "15.allreduce_bytes": [(lambda n, p, b: (p - 1) * n * b, "every other GPU"), (lambda n, p, b: 2 * n * b, "Each phase")],
}


globals().update(contract_tests("15", CORRECT, WRONG, seeds=SEEDS))
