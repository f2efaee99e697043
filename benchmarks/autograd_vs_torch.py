r"""course_lib.autograd against PyTorch eager on CPU: one training step of three networks, timed as a user runs it.

Each step is written the idiomatic way in each framework, on the same initial weights and batch,
in float32: ``opt.zero_grad()``, forward, mean cross-entropy against integer labels,
``loss.backward()``, ``opt.step()`` with plain SGD.

- ``mlp-256``, ``mlp-64``, ``mlp-1``: chapter 05's MLP 784-256-256-10 (``nn.Linear``, ReLU) at
  batch 256, 64 and 1. The target is at most 1.2x PyTorch at batch 256 (issue 8).
- ``lstm``: chapter 10's ``LSTMCell(64, 128)`` unrolled over T = 32 steps at batch 32, a linear
  read-out to 96 classes at every step, the mean of the T cross-entropies (backprop through time).
- ``gpt``: chapter 11's GPT (2 pre-norm blocks, d_model 64, 4 heads, context 64, vocabulary 96,
  tied embeddings) on a batch of 16 windows of 64 tokens: causal attention, layer norm, GELU.
  The engine runs ``course_lib.engine_gpt.EngineGPT``, PyTorch ``course_lib.models.gpt.GPT``.

Each framework runs in a process of its own (``_per_process.py`` says why and holds the
machinery, shared with ``cnn_vs_torch.py``): the script starts workers
``--worker engine|torch``, alternating engine, torch, engine, ... for ``--rounds`` rounds. A
worker sets its thread count before its framework is imported, builds every step, checks the
traps below, times each, and prints JSON. The PyTorch worker never imports the engine
(``course_lib.autograd``, whose allocator settings would change PyTorch's memory behaviour);
the models it uses, ``course_lib.models.gpt``, import only torch.

Traps checked, not just avoided: the input batch gets no gradient (that would add a 784-wide
matmul to every MLP backward pass), and every parameter, gradient and loss stays float32 (a
float64 constant sneaking in doubles the cost of every op after it). The workers' first losses
must agree, which shows that they ran the same step.

The script prints, per step, the median time of each framework and their ratio (the figure to
quote), the fastest timed run of each (a check on a busy machine, where medians drift with the
load), and, where the step's matmul FLOPs are counted exactly (MLP, LSTM), its share of the
measured matmul peak.

    python benchmarks/autograd_vs_torch.py [--threads 2] [--rounds 6] [--repeats 15] [--steps 10] [--cases mlp-256,lstm,gpt]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _per_process import (alternate, check_isolated, check_same_loss, load_average, matmul_flops_per_s,  # noqa: E402
                          run_worker, set_threads, time_step)

MLP_SIZES = (784, 256, 256, 10)
LSTM = dict(T=32, batch=32, input_size=64, hidden_size=128, classes=96)
GPT = dict(vocab_size=96, context=64, n_layer=2, n_head=4, d_model=64, dropout=0.0, bias=True, batch=16)
CASES = ("mlp-256", "mlp-64", "mlp-1", "lstm", "gpt")
TARGETS = {"mlp-256": 1.2}
LR = 0.01


# -- the same weights and batches in both workers --------------------------------------------------------
def named_weight(name: str, shape, scale: float):
    """The weight called ``name``: U(-scale, scale), drawn with NumPy from a seed made of the name, so both
    workers draw the same values whatever order they build their parameters in."""
    import numpy as np

    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return rng.uniform(-scale, scale, shape).astype(np.float32)


def mlp_weights():
    r"""PyTorch's default ``nn.Linear`` initialization, :math:`\mathcal U(-1/\sqrt{n_\text{in}}, 1/\sqrt{n_\text{in}})`."""
    return [(named_weight(f"{i}.weight", (n_out, n_in), n_in ** -0.5), named_weight(f"{i}.bias", n_out, n_in ** -0.5))
            for i, (n_in, n_out) in enumerate(zip(MLP_SIZES[:-1], MLP_SIZES[1:]))]


def mlp_batch(batch: int):
    import numpy as np

    rng = np.random.default_rng(1)
    return rng.standard_normal((batch, MLP_SIZES[0]), dtype=np.float32), rng.integers(0, MLP_SIZES[-1], batch)


def lstm_weights() -> dict:
    """LSTMCell and read-out weights by torch's names, at torch's default scale 1/sqrt(hidden_size)."""
    I, H, K = LSTM["input_size"], LSTM["hidden_size"], LSTM["classes"]
    shapes = {"cell.weight_ih": (4 * H, I), "cell.weight_hh": (4 * H, H), "cell.bias_ih": (4 * H,),
              "cell.bias_hh": (4 * H,), "head.weight": (K, H), "head.bias": (K,)}
    return {name: named_weight(name, shape, H ** -0.5) for name, shape in shapes.items()}


def lstm_batch():
    import numpy as np

    rng = np.random.default_rng(2)
    T, B = LSTM["T"], LSTM["batch"]
    return rng.standard_normal((T, B, LSTM["input_size"]), dtype=np.float32), rng.integers(0, LSTM["classes"], (T, B))


def gpt_weights(shapes: dict) -> dict:
    """GPT weights by name: layer norms at gain 1 and shift 0, everything else U(-0.05, 0.05); the
    output layer is the token embedding (tied)."""
    import numpy as np

    out = {}
    for name, shape in shapes.items():
        if name == "lm_head.weight":
            continue
        if ".ln_" in name or name.startswith("ln_f"):
            out[name] = (np.ones if name.endswith("weight") else np.zeros)(shape, dtype=np.float32)
        else:
            out[name] = named_weight(name, shape, 0.05)
    out["lm_head.weight"] = out["tok_emb.weight"]
    return out


def gpt_batch():
    import numpy as np

    rng = np.random.default_rng(3)
    shape = (GPT["batch"], GPT["context"])
    return rng.integers(0, GPT["vocab_size"], shape), rng.integers(0, GPT["vocab_size"], shape)


def gpt_config_fields() -> dict:
    return {k: v for k, v in GPT.items() if k != "batch"}


# -- the engine's steps ----------------------------------------------------------------------------------
def engine_steps(case: str):
    """(step closure, parameters, input tensors) for the engine."""
    from course_lib.autograd import Tensor, nn, optim
    from course_lib.autograd import functional as F

    if case.startswith("mlp"):
        model = nn.MLP(MLP_SIZES)
        for layer, (w, b) in zip(model.linear_layers(), mlp_weights()):
            layer.weight.data[...], layer.bias.data[...] = w, b
        X, y = mlp_batch(int(case.split("-")[1]))
        inputs = [Tensor(X)]  # data: requires_grad=False, so no gradient is computed for it

        def loss_fn():
            return F.cross_entropy(model(inputs[0]), y)
    elif case == "lstm":
        model = nn.Module()
        model.cell = nn.LSTMCell(LSTM["input_size"], LSTM["hidden_size"])
        model.head = nn.Linear(LSTM["hidden_size"], LSTM["classes"])
        own = dict(model.named_parameters())
        for name, w in lstm_weights().items():
            own[name].data[...] = w
        X, Y = lstm_batch()
        inputs = [Tensor(x) for x in X]

        def loss_fn():
            state, total = None, 0.0
            for x, y in zip(inputs, Y):
                state = model.cell(x, state)
                total = total + F.cross_entropy(model.head(state[0]), y)
            return total / len(inputs)
    else:
        from types import SimpleNamespace

        import numpy as np

        from course_lib.engine_gpt import EngineGPT
        model = EngineGPT(SimpleNamespace(**gpt_config_fields()), dtype=np.float32, rng=0)
        model.load_state_dict(gpt_weights({k: v.shape for k, v in model.state_dict().items()}))
        idx, targets = gpt_batch()
        inputs = []

        def loss_fn():
            return model(idx, targets)[1]
    return loss_fn, list(model.parameters()), inputs, optim.SGD(model.parameters(), lr=LR)


def engine_step(case: str):
    import numpy as np

    loss_fn, params, inputs, opt = engine_steps(case)

    def step():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss

    loss = step()
    assert all(x.grad is None and not x.requires_grad for x in inputs), "the input batch must not get a gradient"
    arrays = [loss.data] + [a for p in params for a in (p.data, p.grad)]
    assert all(a.dtype == np.float32 for a in arrays), f"{case}: everything must stay float32"
    return step, loss.item()


# -- PyTorch's steps -------------------------------------------------------------------------------------
def torch_step(case: str):
    import torch

    if case.startswith("mlp"):
        layers = []
        for w, b in mlp_weights():
            lin = torch.nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(w))
                lin.bias.copy_(torch.from_numpy(b))
            layers += [lin, torch.nn.ReLU()]
        model = torch.nn.Sequential(*layers[:-1])
        X, y = mlp_batch(int(case.split("-")[1]))
        tX, ty = torch.from_numpy(X), torch.from_numpy(y)

        def loss_fn():
            return torch.nn.functional.cross_entropy(model(tX), ty)
    elif case == "lstm":
        model = torch.nn.Module()
        model.cell = torch.nn.LSTMCell(LSTM["input_size"], LSTM["hidden_size"])
        model.head = torch.nn.Linear(LSTM["hidden_size"], LSTM["classes"])
        model.load_state_dict({k: torch.from_numpy(v) for k, v in lstm_weights().items()})
        X, Y = lstm_batch()
        tX, tY = torch.from_numpy(X), torch.from_numpy(Y)

        def loss_fn():
            state, total = None, 0.0
            for x, y in zip(tX, tY):
                state = model.cell(x, state)
                total = total + torch.nn.functional.cross_entropy(model.head(state[0]), y)
            return total / len(tX)
    else:
        from course_lib.models.gpt import GPT as TorchGPT
        from course_lib.models.gpt import GPTConfig

        model = TorchGPT(GPTConfig(**gpt_config_fields()))
        shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        model.load_state_dict({k: torch.from_numpy(v) for k, v in gpt_weights(shapes).items()})
        idx, targets = (torch.from_numpy(a) for a in gpt_batch())

        def loss_fn():
            return model(idx, targets)[1]
    opt = torch.optim.SGD(model.parameters(), lr=LR)

    def step():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss

    return step, step().item()


# -- FLOPs, where counted exactly ------------------------------------------------------------------------
def step_flops(case: str) -> int | None:
    """Matmul FLOPs of one step, or None where not counted (the GPT's attention and embeddings).

    MLP: forward X W^T, backward G^T X for every layer, G W for all but the first (the input needs
    none). LSTM, per time step: forward x W_ih^T, h W_hh^T and the read-out; backward the three
    weight gradients, and the gradients of h through W_hh and the read-out (x needs none).
    """
    if case.startswith("mlp"):
        batch = int(case.split("-")[1])
        macs = [n_in * n_out for n_in, n_out in zip(MLP_SIZES[:-1], MLP_SIZES[1:])]
        return 2 * batch * (sum(macs) + sum(macs) + sum(macs[1:]))
    if case == "lstm":
        B, I, H, K = LSTM["batch"], LSTM["input_size"], LSTM["hidden_size"], LSTM["classes"]
        ih, hh, out = 4 * H * I, 4 * H * H, K * H
        return LSTM["T"] * 2 * B * ((ih + hh + out) + (ih + 2 * hh + 2 * out))
    return None


# -- worker and parent -----------------------------------------------------------------------------------
def worker(framework: str, threads: int, cases, repeats: int, steps: int) -> dict:
    pool = set_threads(framework, threads)  # before NumPy or PyTorch is imported in this process
    result = {"threads": pool, "matmul_flops": matmul_flops_per_s(framework), "cases": {}}
    for case in cases:
        step, first_loss = (torch_step if framework == "torch" else engine_step)(case)
        n = steps * (10 if case == "mlp-1" else 1)  # a batch of one is short: more steps per timed run
        result["cases"][case] = {"first_loss": first_loss, "seconds_per_step": time_step(step, repeats, n)}
    check_isolated(framework, "course_lib.autograd")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="threads for each framework (default 2)")
    parser.add_argument("--rounds", type=int, default=6,
                        help="alternating rounds, each one engine and one torch process")
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per step in each process")
    parser.add_argument("--steps", type=int, default=10, help="training steps per timed run (batch 1: 10x as many)")
    parser.add_argument("--cases", type=lambda s: tuple(s.split(",")), default=CASES,
                        help=f"comma-separated steps to time (default {','.join(CASES)})")
    parser.add_argument("--worker", choices=("engine", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    unknown = sorted(set(args.cases) - set(CASES))
    if unknown:
        parser.error(f"unknown cases {unknown}; choose from {', '.join(CASES)}")
    if args.worker:
        print(json.dumps(worker(args.worker, args.threads, args.cases, args.repeats, args.steps)))
        return 0

    runs = alternate(lambda framework: run_worker(__file__, framework, args.threads, "--repeats", str(args.repeats),
                                                  "--steps", str(args.steps), "--cases", ",".join(args.cases)),
                     args.rounds)
    loadavg = load_average()
    print(f"one training step (forward, mean cross-entropy, backward, SGD), float32, {args.threads} thread(s); "
          f"{args.rounds} alternating rounds of one process per framework, {args.repeats} timed runs each")
    print(f"threads seen by the workers: engine: {runs['engine'][0]['threads']}; torch: {runs['torch'][0]['threads']}")
    peak = max(run["matmul_flops"] for rs in runs.values() for run in rs)
    print(f"float32 matmul peak at {args.threads} thread(s), the best either framework measured: "
          f"{peak / 1e9:.1f} GFLOP/s; load average (1 min) after the runs: {loadavg:.2f}\n")
    columns = f"{'course_lib':>11} {'PyTorch':>11} {'ratio':>7}"
    print(f"{'':>8} {'median per step':^32} {'fastest timed run':^32}")
    print(f"{'step':>8} {columns}  {columns}  {'ours % peak':>11} {'torch % peak':>12}")
    ratios = {}
    for case in args.cases:
        check_same_loss([run["cases"][case]["first_loss"] for rs in runs.values() for run in rs], f"{case}: ")
        times = {f: [t for run in rs for t in run["cases"][case]["seconds_per_step"]] for f, rs in runs.items()}
        med = {f: statistics.median(t) for f, t in times.items()}
        best = {f: min(t) for f, t in times.items()}
        ratios[case] = med["engine"] / med["torch"]
        flops = step_flops(case)
        share = (f"  {100 * flops / med['engine'] / peak:>10.1f}% {100 * flops / med['torch'] / peak:>11.1f}%"
                 if flops else f"  {'-':>11} {'-':>12}")
        print(f"{case:>8} {med['engine'] * 1e3:>8.3f} ms {med['torch'] * 1e3:>8.3f} ms {ratios[case]:>6.2f}x  "
              f"{best['engine'] * 1e3:>8.3f} ms {best['torch'] * 1e3:>8.3f} ms {best['engine'] / best['torch']:>6.2f}x"
              + share)
    for case, target in TARGETS.items():
        if case in ratios:
            verdict = "within" if ratios[case] <= target else "ABOVE"
            print(f"\n{case}, {args.threads} thread(s): course_lib / PyTorch = {ratios[case]:.2f}x "
                  f"({verdict} the {target}x target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
