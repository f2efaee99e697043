"""The engine keeps freed memory: a training step reuses the last step's memory instead of faulting in fresh pages.

Run in a fresh interpreter, so that nothing else in the test session (torch, other tests) has
already shaped the C library's allocator.
"""
from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

STEP = r"""
import resource, numpy as np
from course_lib.autograd import Tensor, nn, optim
from course_lib.autograd import functional as F
rng = np.random.default_rng(0)
X, y = Tensor(rng.standard_normal((1024, 784), dtype=np.float32)), rng.integers(0, 10, 1024)
model = nn.MLP([784, 256, 256, 10], rng=0)
opt = optim.SGD(model.parameters(), lr=0.01)
def step():
    opt.zero_grad()
    F.cross_entropy(model(X), y).backward()
    opt.step()
for _ in range(5):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


def has_glibc_mallopt() -> bool:
    try:
        return hasattr(ctypes.CDLL(None), "mallopt") and hasattr(ctypes.CDLL(None), "gnu_get_libc_version")
    except (OSError, TypeError):
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux") or not has_glibc_mallopt(), reason="glibc only")
def test_a_training_step_faults_in_no_fresh_pages():
    """Without keep_freed_memory this step (batch 1024, about 12 MB of arrays) faulted in about 1,700 pages."""
    faults = float(subprocess.run([sys.executable, "-c", STEP], capture_output=True, text=True, check=True).stdout)
    assert faults < 20, f"{faults:.0f} page faults per step: the step's arrays come from fresh pages"


def test_keep_freed_memory_says_whether_it_took():
    from course_lib.autograd.memory import keep_freed_memory

    assert keep_freed_memory() is has_glibc_mallopt()
