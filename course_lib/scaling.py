r"""Counting at scale: parameters, training FLOPs, days, and bytes per GPU (chapter 15).

API::

    from course_lib.scaling import (transformer_params, training_flops, attention_flops, gpt_matmul_flops,
                                    training_days, model_state_bytes, activation_bytes, sharded_bytes_per_gpu,
                                    GPT_SHAPES)
    transformer_params(**GPT_SHAPES["gpt2-small"])    # 124_439_808, exactly (Hugging Face's GPT-2 has the same)
    transformer_params(**GPT_SHAPES["gpt3"])          # 174_604_259_328: "175B"
    training_flops(175e9, 300e9)                      # 6 N_theta N_tok = 3.15e23 FLOPs
    training_days(3.15e23, 1e14)                      # 36,458 days on one 100 TFLOP/s accelerator
    model_state_bytes(175e9)                          # mixed-precision Adam: 16 bytes per parameter
    sharded_bytes_per_gpu(175e9, n_gpu=1024, stage=3) # ZeRO-3 / FSDP: the 16 bytes split across the GPUs

Conventions: a multiply-add is 2 FLOPs (as ``course_lib.hardware`` and PaLM's appendix B); sizes are in
bytes (1 GB = 1e9 bytes, as GPU datasheets print them). Kaplan et al. (2020) write :math:`N` for the
parameters and :math:`D` for the tokens; the course writes :math:`N_\theta` and :math:`N_\text{tok}`
(its :math:`N` is the number of examples and :math:`D` the depth).

Everything here is arithmetic on shapes; ``tests/test_scaling.py`` checks it against models that exist:
GPT-2 small's published count, and chapter 11's GPT (its parameters, and its FLOPs as
``torch.utils.flop_counter.FlopCounterMode`` counts them).
"""
from __future__ import annotations

import math

__all__ = ["GPT_SHAPES", "FLOPS_PER_PARAM_TOKEN", "transformer_params", "training_flops", "attention_flops",
           "gpt_matmul_flops", "training_days", "BYTES_PER_PARAM", "model_state_bytes", "activation_bytes",
           "sharded_bytes_per_gpu", "sharded_components", "SECONDS_PER_DAY"]

SECONDS_PER_DAY = 86_400.0

#: Shapes of published GPTs (keyword arguments of :func:`transformer_params`). GPT-2: Radford et al. 2019,
#: table 2, with the released checkpoints' vocabulary 50,257 and context 1,024. GPT-3 175B: Brown et al.
#: 2020, table 2.1 (96 layers, d_model 12,288, 96 heads of 128, context 2,048; GPT-2's tokenizer).
GPT_SHAPES: dict[str, dict[str, int]] = {
    "gpt2-small": dict(n_layer=12, d_model=768, vocab_size=50_257, context=1_024),
    "gpt2-medium": dict(n_layer=24, d_model=1_024, vocab_size=50_257, context=1_024),
    "gpt2-large": dict(n_layer=36, d_model=1_280, vocab_size=50_257, context=1_024),
    "gpt2-xl": dict(n_layer=48, d_model=1_600, vocab_size=50_257, context=1_024),
    "gpt3": dict(n_layer=96, d_model=12_288, vocab_size=50_257, context=2_048),
}

#: Training FLOPs per parameter per token: the forward pass does one multiply-add (2 FLOPs) with each
#: weight; the backward pass does two, one for the gradient with respect to the layer's input
#: (:math:`\mathbf{W}^\top \boldsymbol{\delta}`) and one for the weight's own gradient
#: (:math:`\boldsymbol{\delta}\mathbf{x}^\top`), so 4 FLOPs.
FLOPS_PER_PARAM_TOKEN = {"forward": 2, "backward": 4}


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _positive(name: str, value) -> float:
    value = float(value)
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return value


def transformer_params(n_layer: int, d_model: int, vocab_size: int, context: int, bias: bool = True) -> int:
    r"""Parameters of a GPT-2-style decoder: tied embeddings, learned positions, biases, a final layer norm.

    .. math::

        N_\theta = D\,(12 d^2 + 13 d) + K d + T d + 2 d

    with depth :math:`D` (``n_layer``), width :math:`d` (``d_model``), vocabulary :math:`K` and context
    :math:`T`. Per block: the two layer norms :math:`2 \cdot 2d`; the q, k, v projection
    :math:`3d^2 + 3d`; the output projection :math:`d^2 + d`; the MLP :math:`d \to 4d \to d`,
    :math:`8d^2 + 5d`. The output layer is the token embedding (tied), so it adds nothing. Without
    biases (``bias=False``, as in :class:`course_lib.models.gpt.GPTConfig`) the block has :math:`12d^2 + 2d`
    (layer-norm weights only) and the final layer norm :math:`d`.

    Returns
    -------
    int
        The exact count, which is :meth:`course_lib.models.gpt.GPT.num_params` with
        ``exclude_position=False`` for the same shape.
    """
    D, d = _positive_int("n_layer", n_layer), _positive_int("d_model", d_model)
    K, T = _positive_int("vocab_size", vocab_size), _positive_int("context", context)
    per_block = 12 * d * d + (13 * d if bias else 2 * d)
    return D * per_block + K * d + T * d + (2 * d if bias else d)


def training_flops(n_params: float, n_tokens: float) -> float:
    r"""Training compute :math:`C = 6 N_\theta N_\text{tok}` FLOPs (Kaplan et al. 2020, eq. 2.1).

    The 6 is :data:`FLOPS_PER_PARAM_TOKEN`: 2 forward + 4 backward per parameter and token. Attention's
    own :math:`12 D T d_\text{model}` per token (:func:`attention_flops`) is left out, as in Kaplan's
    :math:`C`: for GPT-3 it is :math:`12 \cdot 96 \cdot 2048 \cdot 12288 \approx 2.9 \cdot 10^{10}` per token against
    :math:`6N_\theta \approx 1.05 \cdot 10^{12}`, under 3%.

    Parameters
    ----------
    n_params : float
        :math:`N_\theta`.
    n_tokens : float
        :math:`N_\text{tok}`, the tokens seen in training (all epochs).
    """
    return 6.0 * _positive("n_params", n_params) * _positive("n_tokens", n_tokens)


def attention_flops(n_layer: int, context: int, d_model: int, n_tokens: float = 1.0) -> float:
    r"""Training FLOPs of attention's two products, :math:`12\,D\,T\,d_\text{model}` per token, times ``n_tokens``.

    Per layer and query, the scores :math:`\mathbf{q}\cdot\mathbf{k}` against :math:`T` keys and the weighted
    sum of :math:`T` values are :math:`2Td` multiply-adds, :math:`4Td` FLOPs forward; backward doubles
    it, :math:`12Td` in all. The full :math:`T \times T` matrix is counted: a causal mask's zeros are
    not subtracted (a kernel that skips them does about half).
    """
    return (12.0 * _positive_int("n_layer", n_layer) * _positive_int("context", context)
            * _positive_int("d_model", d_model) * _positive("n_tokens", n_tokens))


def gpt_matmul_flops(config, batch_size: int, seq_len: int | None = None) -> float:
    r"""Matrix-product FLOPs of one training step (forward and backward) of chapter 11's GPT.

    .. math::

        6\,(12 D d^2 + K d)\,B T + 12\,D\,T\,d\,B T

    The linear layers' weights (:math:`12d^2` per block and the tied :math:`K \times d` output layer)
    each cost 6 FLOPs per token; attention adds :func:`attention_flops`. Biases, layer norms, softmax,
    GELU and the embedding lookup are not matrix products and are not counted; this is exactly what
    ``torch.utils.flop_counter.FlopCounterMode`` counts (``tests/test_scaling.py``), with attention run by
    the math backend of ``scaled_dot_product_attention`` (the fused CPU kernel is not counted by it).

    Parameters
    ----------
    config : GPTConfig
        ``n_layer`` (:math:`D`), ``d_model`` (:math:`d`), ``vocab_size`` (:math:`K`), ``context``.
    batch_size : int
        :math:`B`, sequences per step.
    seq_len : int, optional
        :math:`T`, tokens per sequence (default ``config.context``).
    """
    D, d, K = config.n_layer, config.d_model, config.vocab_size
    T = config.context if seq_len is None else _positive_int("seq_len", seq_len)
    tokens = _positive_int("batch_size", batch_size) * T
    return 6.0 * (12 * D * d * d + K * d) * tokens + attention_flops(D, T, d, tokens)


def training_days(flops: float, flops_per_s: float, utilization: float = 1.0, n_devices: int = 1) -> float:
    r"""Days to do ``flops`` on ``n_devices`` accelerators at ``flops_per_s`` each, at a given MFU.

    :math:`C / (n_\text{gpu}\, R_\text{peak}\, \mathrm{MFU}) / 86400`. GPT-3's :math:`3.15 \cdot 10^{23}` on one
    device at :math:`10^{14}` FLOP/s: 36,458 days, about 100 years.
    """
    utilization = _positive("utilization", utilization)
    if utilization > 1:
        raise ValueError(f"utilization is a fraction of the peak (<= 1), got {utilization}")
    rate = _positive("flops_per_s", flops_per_s) * _positive_int("n_devices", n_devices) * utilization
    return _positive("flops", flops) / rate / SECONDS_PER_DAY


#: Bytes per parameter of the model states: the weights, their gradients and the optimizer's state.
#: Mixed precision (Micikevicius et al. 2018; ZeRO, Rajbhandari et al. 2020, section 3.1): bf16/fp16
#: weights and gradients (2 + 2), an fp32 master copy of the weights (4) and Adam's two fp32 moments
#: (4 + 4): 16. Plain fp32 Adam is also 16 (4 + 4 + 4 + 4): mixed precision saves time and activation
#: memory, not model-state memory.
BYTES_PER_PARAM: dict[str, dict[str, int]] = {
    "mixed": {"weights": 2, "gradients": 2, "master_weights": 4, "adam_m": 4, "adam_v": 4},
    "fp32": {"weights": 4, "gradients": 4, "master_weights": 0, "adam_m": 4, "adam_v": 4},
    "bf16_inference": {"weights": 2, "gradients": 0, "master_weights": 0, "adam_m": 0, "adam_v": 0},
    "fp32_inference": {"weights": 4, "gradients": 0, "master_weights": 0, "adam_m": 0, "adam_v": 0},
}


def model_state_bytes(n_params: float, precision: str = "mixed") -> dict[str, float]:
    r"""Bytes of the model states of :math:`N_\theta` parameters, by component and in ``"total"``.

    Parameters
    ----------
    n_params : float
    precision : {"mixed", "fp32", "bf16_inference", "fp32_inference"}
        A row of :data:`BYTES_PER_PARAM` (the two training rows use Adam).

    Returns
    -------
    dict
        ``{"weights": ..., "gradients": ..., "master_weights": ..., "adam_m": ..., "adam_v": ...,
        "total": ...}`` in bytes. 175e9 parameters in mixed precision: 2.8e12 bytes (2.8 TB), 35 GPUs of
        80 GB for the model states alone.
    """
    if precision not in BYTES_PER_PARAM:
        raise ValueError(f"precision must be one of {sorted(BYTES_PER_PARAM)}, got {precision!r}")
    n = _positive("n_params", n_params)
    out = {part: float(b) * n for part, b in BYTES_PER_PARAM[precision].items()}
    out["total"] = sum(out.values())
    return out


def activation_bytes(n_layer: int, d_model: int, n_heads: int, seq_len: int, batch_size: int,
                     bytes_per_value: int = 2) -> float:
    r"""Activation memory of a GPT's training step, after Korthikanti et al. 2022 (eq. 1, no parallelism).

    .. math::

        D \cdot T B d \left(34 + 5\,\frac{n_\text{heads}\, T}{d}\right) \text{ bytes}

    Per layer and token, in 16-bit values (2 bytes each) unless stated: the attention block keeps
    :math:`11d` bytes of its inputs and outputs (LN input :math:`2d`, q, k, v :math:`6d`, its output
    :math:`2d`, the dropout mask :math:`d`) and :math:`5 n_\text{heads} T` for the scores, softmax and its
    dropout mask; the MLP keeps :math:`19d` (input :math:`2d`, the :math:`4d`-wide hidden layer before and
    after GELU :math:`16d`, mask :math:`d`); the two layer norms :math:`4d`. The :math:`n_\text{heads} T`
    term is why long contexts cost memory quadratically (flash attention removes it by recomputation).

    ``bytes_per_value=4`` scales the whole count by 2 (fp32 activations, masks counted as 2 bytes
    then, a slight overcount).
    """
    D, d = _positive_int("n_layer", n_layer), _positive_int("d_model", d_model)
    h, T, B = _positive_int("n_heads", n_heads), _positive_int("seq_len", seq_len), _positive_int("batch_size", batch_size)
    per_layer = T * B * d * (34 + 5 * h * T / d)
    return D * per_layer * (_positive_int("bytes_per_value", bytes_per_value) / 2)


def sharded_components(n_params: float, n_gpu: int, stage: int = 0, precision: str = "mixed") -> dict[str, float]:
    r"""Model-state bytes per GPU by part, ``{"weights", "gradients", "optimizer"}``, with ZeRO stage 0-3.

    The optimizer part is the master weights and Adam's two moments (12 bytes per parameter in mixed
    precision, 8 in fp32, which has no master copy); see :func:`sharded_bytes_per_gpu` for the stages.
    """
    if precision not in ("mixed", "fp32"):
        raise ValueError(f"precision must be 'mixed' or 'fp32' (training with Adam), got {precision!r}")
    if stage not in (0, 1, 2, 3):
        raise ValueError(f"stage must be 0 (DDP), 1, 2 or 3 (ZeRO), got {stage!r}")
    n = _positive_int("n_gpu", n_gpu)
    psi = _positive("n_params", n_params)
    b = BYTES_PER_PARAM[precision]
    optim = b["master_weights"] + b["adam_m"] + b["adam_v"]
    return {"weights": b["weights"] * psi / (n if stage >= 3 else 1),
            "gradients": b["gradients"] * psi / (n if stage >= 2 else 1),
            "optimizer": optim * psi / (n if stage >= 1 else 1)}


def sharded_bytes_per_gpu(n_params: float, n_gpu: int, stage: int = 0, precision: str = "mixed") -> float:
    r"""Model-state bytes per GPU for data parallelism with ZeRO stage 0-3 (Adam; mixed precision by default).

    With :math:`\Psi = N_\theta` and :math:`n = n_\text{gpu}` (Rajbhandari et al. 2020, figure 1):

    - stage 0, plain data parallelism (DDP): every GPU holds everything, :math:`16\Psi`;
    - stage 1 shards the optimizer state (master weights and moments, 12 bytes): :math:`4\Psi + 12\Psi/n`;
    - stage 2 also shards the gradients: :math:`2\Psi + 14\Psi/n`;
    - stage 3 (FSDP's ``FULL_SHARD``) also shards the weights: :math:`16\Psi/n`, gathering each layer's
      weights just before it runs.

    Activations are not included (:func:`activation_bytes`, divided by :math:`n` since each GPU runs
    :math:`1/n` of the batch).
    """
    return sum(sharded_components(n_params, n_gpu, stage, precision).values())
