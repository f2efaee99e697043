"""Device and size-preset choice for the PyTorch chapters.

One rule for the whole course: use CUDA if there is a GPU, then Apple's MPS, then the
CPU; and pick the matching size preset, so that a notebook finishes in under a minute
on a laptop CPU and runs its full-size configuration on a GPU.

``COURSE_DEVICE`` (``cpu``, ``cuda``, ``mps``) overrides the choice, for example to
run the CPU tier on a GPU machine. ``torch`` is imported only when these functions are
called.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


def pick_device(prefer: str | None = None):
    """The ``torch.device`` to compute on: ``prefer``/``COURSE_DEVICE``, else CUDA, MPS, CPU.

    An unavailable preference is ignored, with a warning, rather than failing: a
    notebook written on a GPU machine must still run on a laptop.
    """
    import torch

    wanted = (prefer or os.environ.get("COURSE_DEVICE") or "").strip().lower()
    if wanted:
        try:
            device = torch.device(wanted)
        except (RuntimeError, ValueError):
            device = None
        if device is not None and _available(device):
            return device
        import warnings

        warnings.warn(f"device {wanted!r} is not available here; choosing automatically", stacklevel=2)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _available(device) -> bool:
    import torch

    if device.type == "cpu":
        return True
    if device.type == "cuda":
        return torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count()
    if device.type == "mps":
        return _mps_available()
    return False


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def tier(device=None) -> str:
    """``"gpu"`` for CUDA or MPS, ``"cpu"`` otherwise."""
    return "cpu" if _as_device(device).type == "cpu" else "gpu"


def _as_device(device=None):
    """``device`` as a ``torch.device`` (strings such as ``"cpu:0"`` accepted); default: pick one."""
    import torch

    return pick_device() if device is None else torch.device(device)


@dataclass(frozen=True)
class Presets(Generic[T]):
    """A chapter's configurations per tier: ``Presets(cpu=small, gpu=large)``."""

    cpu: T
    gpu: T

    def for_device(self, device=None) -> T:
        """The preset for ``device`` (default: :func:`pick_device`)."""
        return self.gpu if tier(device) == "gpu" else self.cpu


def describe(device=None) -> str:
    """One line naming the device, for a notebook to print: ``"cpu (2 threads)"``."""
    import torch

    device = _as_device(device)
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)


@contextmanager
def torch_threads(n: int | None):
    """A context in which torch computes on the CPU with ``n`` threads (None: leave the setting alone).

    Small models on a busy machine: a second thread that waits for a core costs more than it saves
    (chapter 11's GPT step took 0.085 s on one thread and 1.9 s on two, at load average 7 on 2 cores).
    """
    import torch

    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)
