"""Keep freed memory in the process, so that every training step does not fault its arrays in afresh.

A training step allocates its activations and gradients (about 4 MB for an MLP 784-256-256-10
at batch 256, in float32) and frees them when the next step begins. glibc's ``malloc`` serves
a large array from a fresh ``mmap`` and gives it back on ``free``, and gives memory at the top
of its heap back to the operating system as soon as more than a threshold is free there. It
raises both thresholds as it sees larger blocks freed, but not far enough for this pattern:
the next step receives fresh pages, which the kernel zero-fills on first touch (a page fault
per 4 kB page) before the BLAS writes them again, an extra pass over memory. For that MLP
it was about 750 page faults per step, a quarter of the step's time on one thread. PyTorch's
allocation pattern happens to escape it (2-3 faults per step); its CPU tuning guide
recommends jemalloc or tcmalloc for the same effect.

:func:`keep_freed_memory` fixes glibc's two thresholds higher (``mallopt``):
:mod:`course_lib.autograd` calls it once on import. It changes how much memory the process
keeps (at most ``trim_bytes`` free), never a result, and does nothing where the C library is
not glibc (macOS, Windows, musl).
"""
from __future__ import annotations

import ctypes

# glibc's malloc.h
M_TRIM_THRESHOLD = -1  # free bytes at the top of the heap above which they go back to the system
M_MMAP_THRESHOLD = -3  # blocks at least this large get an mmap of their own, returned to the system on free
MMAP_BYTES = 32 << 20  # 32 MiB: glibc's largest allowed value, and the ceiling of its own adaptation
TRIM_BYTES = 64 << 20  # 64 MiB: the working set of the course's CPU-sized models, with room to spare


def keep_freed_memory(mmap_bytes: int = MMAP_BYTES, trim_bytes: int = TRIM_BYTES) -> bool:
    """Ask glibc's ``malloc`` to serve arrays below ``mmap_bytes`` from its heap and keep up to ``trim_bytes`` free.

    Parameters
    ----------
    mmap_bytes : int
        Arrays at least this large get memory of their own from the system (and give it back when freed).
    trim_bytes : int
        Free memory at the top of the heap is given back to the system only above this amount.

    Returns
    -------
    bool
        Whether both settings took (False where the C library is not glibc).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the process already uses
    except (OSError, AttributeError, TypeError):  # no mallopt there (not glibc), or no such handle (Windows)
        return False
    return mallopt(M_MMAP_THRESHOLD, int(mmap_bytes)) == 1 and mallopt(M_TRIM_THRESHOLD, int(trim_bytes)) == 1
