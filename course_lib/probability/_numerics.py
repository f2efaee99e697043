r"""The floating-point conventions shared by every probability module (see the package docstring).

:math:`0 \log 0 = 0` and :math:`\log 0 = -\infty` without a warning, and an underflow of
``exp`` to 0 is not reported: those are exact to rounding. Nothing else is silenced.
"""
from __future__ import annotations

import numpy as np


def _log(q) -> np.ndarray:
    """``np.log`` that returns ``-inf`` for 0 without a warning (the exact value)."""
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(q, dtype=np.float64))


def _weighted(p, log_q) -> np.ndarray:
    r"""``p * log_q`` element-wise, with 0 wherever ``p == 0`` (so :math:`0\log 0 = 0`)."""
    p, log_q = np.broadcast_arrays(np.asarray(p, dtype=np.float64), np.asarray(log_q, dtype=np.float64))
    with np.errstate(under="ignore"):  # a subnormal p times a log: the rounded product is right
        return np.multiply(p, log_q, out=np.zeros(p.shape), where=p != 0)


def _exp(x) -> np.ndarray:
    """``np.exp`` whose underflow to 0 (arguments below about -745) is not reported: it is exact to rounding."""
    with np.errstate(under="ignore"):
        return np.exp(x)
