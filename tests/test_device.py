"""course_lib.device: one rule for choosing where the PyTorch chapters compute.

GPUs are simulated by patching ``torch.cuda`` / ``torch.backends.mps``, so the tests
say the same thing on a laptop, on CI and on a GPU machine.
"""
from __future__ import annotations

import dataclasses
import subprocess
import sys
import warnings

import pytest

torch = pytest.importorskip("torch")

from course_lib import device as dev  # noqa: E402
from course_lib.device import Presets, describe, pick_device, tier  # noqa: E402


@pytest.fixture
def machine(monkeypatch):
    """Pretend to be a machine with the given accelerators; no COURSE_DEVICE set."""
    monkeypatch.delenv("COURSE_DEVICE", raising=False)

    def set_up(cuda: bool = False, mps: bool = False):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: 1 if cuda else 0)
        monkeypatch.setattr(dev, "_mps_available", lambda: mps)
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Simulated GPU 80GB")

    set_up()
    return set_up


def test_this_machine_without_a_gpu_computes_on_the_cpu(machine):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning when nothing was asked for
        assert pick_device() == torch.device("cpu")
    assert tier() == "cpu"


def test_the_real_machine_choice_is_a_torch_device(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    chosen = pick_device()
    assert isinstance(chosen, torch.device)
    expected = "cuda" if torch.cuda.is_available() else ("mps" if dev._mps_available() else "cpu")
    assert chosen.type == expected


@pytest.mark.parametrize("cuda, mps, expected", [
    (True, False, "cuda"), (True, True, "cuda"), (False, True, "mps"), (False, False, "cpu"),
])
def test_the_automatic_order_is_cuda_then_mps_then_cpu(machine, cuda, mps, expected):
    machine(cuda=cuda, mps=mps)
    assert pick_device().type == expected


@pytest.mark.parametrize("value", ["cpu", "CPU", " cpu "])
def test_course_device_cpu_is_honoured_even_with_a_gpu(machine, monkeypatch, value):
    machine(cuda=True, mps=True)
    monkeypatch.setenv("COURSE_DEVICE", value)
    assert pick_device() == torch.device("cpu")
    assert tier(pick_device()) == "cpu"


@pytest.mark.parametrize("wanted", ["cuda", "cuda:0"])
def test_course_device_cuda_is_honoured_when_available(machine, monkeypatch, wanted):
    machine(cuda=True)
    monkeypatch.setenv("COURSE_DEVICE", wanted)
    assert pick_device() == torch.device(wanted)


def test_the_prefer_argument_wins_over_the_environment(machine, monkeypatch):
    machine(cuda=True)
    monkeypatch.setenv("COURSE_DEVICE", "cuda")
    assert pick_device("cpu").type == "cpu"
    assert pick_device(prefer="cuda").type == "cuda"


def test_an_empty_course_device_means_automatic(machine, monkeypatch):
    machine(cuda=True)
    monkeypatch.setenv("COURSE_DEVICE", "")
    assert pick_device().type == "cuda"


@pytest.mark.parametrize("wanted, fallback", [("cuda", "cpu"), ("mps", "cpu"), ("tpu", "cpu")])
def test_an_unavailable_preference_warns_and_falls_back(machine, monkeypatch, wanted, fallback):
    monkeypatch.setenv("COURSE_DEVICE", wanted)
    with pytest.warns(UserWarning, match=f"{wanted!r} is not available"):
        chosen = pick_device()
    assert chosen.type == fallback


def test_an_unavailable_preference_falls_back_to_the_automatic_choice(machine):
    machine(cuda=False, mps=True)
    with pytest.warns(UserWarning, match="not available"):
        assert pick_device("cuda").type == "mps"


# -- tiers and presets -----------------------------------------------------------------------------
@pytest.mark.parametrize("device, expected", [
    (torch.device("cpu"), "cpu"), (torch.device("cuda"), "gpu"), (torch.device("cuda", 0), "gpu"),
    (torch.device("mps"), "gpu"), ("cpu", "cpu"), ("cuda", "gpu"), ("mps", "gpu"),
])
def test_tier_of_a_device(device, expected):
    assert tier(device) == expected


def test_tier_defaults_to_the_picked_device(machine):
    assert tier() == "cpu"
    machine(cuda=True)
    assert tier() == "gpu"


def test_presets_for_device():
    presets = Presets(cpu={"width": 64, "steps": 200}, gpu={"width": 1024, "steps": 5000})
    assert presets.for_device(torch.device("cpu")) == {"width": 64, "steps": 200}
    assert presets.for_device(torch.device("cuda")) == {"width": 1024, "steps": 5000}
    assert presets.for_device(torch.device("mps"))["width"] == 1024
    assert presets.for_device("cpu")["steps"] == 200


def test_presets_default_to_the_picked_device(machine, monkeypatch):
    presets = Presets(cpu="small", gpu="large")
    assert presets.for_device() == "small"
    machine(cuda=True)
    assert presets.for_device() == "large"
    monkeypatch.setenv("COURSE_DEVICE", "cpu")  # the CPU tier on a GPU machine, as CI may do
    assert presets.for_device() == "small"


def test_presets_are_immutable():
    presets = Presets(cpu=1, gpu=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        presets.cpu = 3


# -- describe --------------------------------------------------------------------------------------
def test_describe_the_cpu_names_its_threads():
    assert describe(torch.device("cpu")) == f"cpu ({torch.get_num_threads()} threads)"


def test_describe_a_cuda_device_names_the_gpu(machine):
    machine(cuda=True)
    assert describe(torch.device("cuda")) == "cuda: Simulated GPU 80GB"
    assert describe() == "cuda: Simulated GPU 80GB"


def test_describe_defaults_to_the_picked_device(machine):
    assert describe() == describe(torch.device("cpu"))
    machine(mps=True)
    assert describe() == "mps"


# -- importing is cheap ----------------------------------------------------------------------------
def test_importing_the_module_does_not_import_torch():
    code = "import sys, course_lib.device; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- device strings with an index -----------------------------------------------------------------
def test_tier_of_an_indexed_cpu_string_is_cpu():
    assert tier("cpu:0") == "cpu"


@pytest.mark.filterwarnings("ignore:device 'cpu")  # the message's ':' would end the filter's field
def test_course_device_cpu_with_an_index_is_honoured(machine, monkeypatch):
    machine(cuda=True)
    monkeypatch.setenv("COURSE_DEVICE", "cpu:0")
    assert pick_device().type == "cpu"


def test_a_missing_gpu_index_warns_and_falls_back(machine, monkeypatch):
    machine(cuda=True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.warns(UserWarning, match="not available"):
        assert pick_device("cuda:3") == torch.device("cuda")


def test_torch_threads_sets_and_restores():
    before = torch.get_num_threads()
    with dev.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with dev.torch_threads(None):
        assert torch.get_num_threads() == before
