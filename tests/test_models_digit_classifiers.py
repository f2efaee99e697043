"""Chapter 14's presets: the CPU preset is exactly the chapter's recipes, and the GPU preset's code path (wider CNN,
bf16 autocast on the weight updates, adversarial training with more PGD steps, transfer over several seeds) runs
on the CPU, scaled down, so that a GPU run never meets code that never ran. The attack stays in float32 because
bf16 flips gradient signs (measured here)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from course_lib import robustness as R
from course_lib import transfer as T
from course_lib.device import torch_threads
from course_lib.models import digit_classifiers as M

CPU = torch.device("cpu")


def test_cpu_preset_is_the_chapters_recipe_and_gpu_preset_is_larger():
    cpu, gpu = M.PRESETS.cpu, M.PRESETS.gpu
    assert {k: cpu.config(k) for k in M.KINDS} == M.SETTINGS  # the notebook's asserted figures were measured so
    assert cpu.channels == (16, 32) and cpu.adv_config == M.TrainConfig(epochs=15, lr=0.1)
    assert (cpu.adv_eps, cpu.adv_steps, cpu.transfer_seeds) == (0.2, 3, (0,))
    assert cpu.pretrain == T.PRETRAIN and cpu.target == T.TARGET
    configs = lambda p: [p.config(k) for k in M.KINDS] + [p.adv_config, p.pretrain, p.target]  # noqa: E731
    assert all(c.autocast is None for c in configs(cpu)) and all(c.autocast == "bfloat16" for c in configs(gpu))
    assert gpu.channels[0] > cpu.channels[0] and gpu.adv_steps > cpu.adv_steps and gpu.cnn.epochs > cpu.cnn.epochs
    assert M.PRESETS.for_device("cpu") is cpu
    with pytest.raises(ValueError, match="kind must be one of"):
        cpu.config("resnet")


def test_trained_is_cached_per_device_and_matches_a_manual_run():
    a = M.trained("logistic")
    assert M.trained("logistic", 0, torch.device("cpu")) is a and M.trained("logistic", device="cpu") is a
    manual = M.make_classifier("logistic", seed=0)
    X, y, X_test, y_test = M.digits01()
    with torch_threads(1):  # as trained() does: the thread count can change the order of float sums
        M.train_classifier(manual, X, y, M.SETTINGS["logistic"], seed=0)
    for p, q in zip(a.parameters(), manual.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert M.accuracy(a, X_test, y_test) > 0.9


def test_gpu_preset_code_path_runs_on_the_cpu_scaled_down():
    """Every training of the GPU preset, one epoch on a subset: bf16 autocast in the weight update, float32 in
    the attack, float32 master weights."""
    gpu = M.PRESETS.gpu
    X, y, X_test, y_test = M.digits01()
    X, y = X[:96], y[:96]
    seen = {"forward": set(), "attack_autocast": []}

    def record(module, args, out):
        seen["forward"].add(out.dtype)

    for kind in M.KINDS:
        model = M.make_classifier(kind, seed=0, channels=gpu.channels, device=CPU)
        handle = model[1][-1].register_forward_hook(record)
        losses = M.train_classifier(model, X, y, replace(gpu.config(kind), epochs=2), seed=0)
        handle.remove()
        assert len(losses) == 2 and np.all(np.isfinite(losses)), kind
        assert all(p.dtype == torch.float32 for p in model.parameters()), kind
    assert seen["forward"] == {torch.bfloat16}  # the last layer ran under autocast in every update

    attack = R.pgd_attack(gpu.adv_eps, n_steps=gpu.adv_steps)

    def watched(model, xb, yb, generator):
        seen["attack_autocast"].append(torch.is_autocast_enabled("cpu"))
        out = attack(model, xb, yb, generator)
        assert out.dtype == torch.float32 and float((out - xb).abs().max()) <= gpu.adv_eps * (1 + 1e-6)
        return out

    mlp = M.make_classifier("mlp", seed=0, device=CPU)
    losses = M.train_classifier(mlp, X, y, replace(gpu.adv_config, epochs=1), attack=watched)
    assert np.isfinite(losses[0]) and len(seen["attack_autocast"]) == 3 and not any(seen["attack_autocast"])
    assert 0 <= R.robust_accuracy(mlp, X_test[:64], y_test[:64], 0.1, n_steps=gpu.adv_steps) <= 1

    small = replace(gpu, pretrain=replace(gpu.pretrain, epochs=1), target=replace(gpu.target, epochs=2))
    out = T.compare("same_classes_new_style", shots=(1,), seeds=small.transfer_seeds[:1], preset=small, device=CPU)
    assert set(out["accuracy"]) == {"scratch", "probe", "finetune", "finetune_all"}
    assert all(a.shape == (1, 1) and 0 <= a[0, 0] <= 1 for a in out["accuracy"].values())


def test_bf16_flips_gradient_signs_so_the_attack_stays_float32():
    """Why no autocast for the attack: FGSM/PGD step along sign(grad), and bf16 rounding flips the sign of the
    small coordinates (on the trained CNN, 0.7% of the nonzero coordinates, in 30% of the test digits)."""
    X, y = M.digits01()[2:]
    model = M.make_classifier("cnn", seed=0, channels=M.PRESETS.gpu.channels).eval()
    x, t = torch.tensor(X[:200]), torch.tensor(y[:200])
    g32 = R._input_grad(model, x, t, "ce")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        g16 = R._input_grad(model, x, t, "ce")
    nonzero = g32 != 0
    flipped = (g32.sign() != g16.sign()) & nonzero
    assert flipped.any() and flipped.sum() < 0.1 * nonzero.sum()  # a few, not noise everywhere
