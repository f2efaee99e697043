"""Compare a learner's answer with the reference and say *why* it differs.

:func:`diagnose` returns ``None`` when the answer is right, and otherwise a
:class:`Mismatch` with a message, the size of the error and a hint. Hints come first
from the question's own list of likely mistakes (candidate wrong answers), then from
generic patterns: a transposed result, a flipped sign, a factor of 2, a constant
factor such as a missing ``1/N``, a missing axis.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np


@dataclass
class Mismatch:
    message: str
    error: float | None = None
    hint: str | None = None


def format_value(value, precision: int = 4) -> str:
    """Print a value small enough for a feedback box."""
    if isinstance(value, np.ndarray):
        body = np.array2string(value, precision=precision, threshold=36, edgeitems=3, max_line_width=76,
                               suppress_small=True)
        return f"{body}  (shape {value.shape}, {value.dtype})"
    if isinstance(value, float):
        return f"{value:.{precision + 2}g}"
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + " ..."


def format_case(case: Mapping[str, object] | None) -> str | None:
    if not case:
        return None
    lines = []
    for name, value in case.items():
        text = format_value(value)
        if "\n" in text:
            lines.append(f"{name} =")
            lines.extend("  " + line for line in text.splitlines())
        else:
            lines.append(f"{name} = {text}")
    return "\n".join(lines)


def type_problem(got, expected) -> Mismatch | None:
    """A message when ``got`` is not even the right kind of object."""
    if got is None:
        return Mismatch("Your function returned None.", hint="Did you forget the `return` statement?")
    module = type(got).__module__.split(".")[0]
    if module == "torch":
        return Mismatch(
            f"Your function returned a {type(got).__module__}.{type(got).__name__}, "
            "but this question works with NumPy arrays.",
            hint="Convert with `.detach().cpu().numpy()`, or use NumPy operations throughout.",
        )
    expected_is_array = isinstance(expected, np.ndarray) and expected.ndim > 0
    if expected_is_array and isinstance(got, (list, tuple)):
        return Mismatch(
            f"Your function returned a {type(got).__name__}, not a NumPy array.",
            hint="Wrap the result with `np.asarray(...)`, or build it with NumPy operations.",
        )
    if expected_is_array and not isinstance(got, np.ndarray):
        return Mismatch(f"Your function returned {type(got).__name__} {format_value(got)}; expected an array "
                        f"of shape {expected.shape}.")
    if not expected_is_array:
        if isinstance(got, np.ndarray) and got.size != 1:
            return Mismatch(f"Expected a single number, but got an array of shape {got.shape}.",
                            hint="Reduce it to a scalar (for example with `.sum()` or `float(...)`).")
        if not isinstance(got, (int, float, complex, np.number, np.ndarray, bool, np.bool_)):
            return Mismatch(f"Expected a number, but got {type(got).__name__}.")
    arr = np.asarray(got)
    if arr.dtype == object or arr.dtype.kind in "SUV":
        return Mismatch(f"Your answer has dtype {arr.dtype}; expected numbers.",
                        hint="Make sure every entry is a number, not a string, list or None.")
    if np.iscomplexobj(arr) and not np.iscomplexobj(expected):
        return Mismatch("Your answer is complex, but the expected answer is real.",
                        hint="`np.linalg.eig` returns complex numbers for general matrices even when the "
                             "imaginary parts are zero: take `.real` once you know they vanish (for a "
                             "symmetric matrix, `np.linalg.eigh` returns real values directly).")
    return None


def shape_problem(got: np.ndarray, expected: np.ndarray) -> Mismatch | None:
    if got.shape == expected.shape:
        return None
    msg = f"Shape {got.shape}, expected {expected.shape}."
    if got.ndim == 2 and got.shape == expected.shape[::-1]:
        return Mismatch(msg, hint="The shape is transposed: check the order of the operands or a missing `.T`.")
    if got.size == expected.size:
        if got.squeeze().shape == expected.squeeze().shape:
            return Mismatch(msg, hint="Same numbers of entries, but an extra or missing axis of length 1: "
                                      "check `keepdims` or a reshape.")
        return Mismatch(msg, hint="The right number of entries in the wrong shape: check a reshape or transpose.")
    if got.ndim < expected.ndim:
        return Mismatch(msg, hint="Your result has fewer axes than expected: did you sum or average over an "
                                  "axis that should stay (or over all axes)?")
    if got.ndim > expected.ndim:
        return Mismatch(msg, hint="Your result has more axes than expected: did broadcasting create an outer "
                                  "product where an element-wise or reduced result was meant?")
    return Mismatch(msg, hint="Check which axis you reduce over and the order of the operands.")


def _close(a, b, rtol, atol) -> bool:
    a = np.asarray(a)
    b = np.asarray(b)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=False))


def generic_hint(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> str | None:
    """Recognize the usual slips from the numbers alone."""
    if _close(got, -expected, rtol, atol):
        return "Your answer has the opposite sign everywhere: check a minus sign."
    if got.ndim == 2 and got.shape[0] == got.shape[1] and _close(got, expected.T, rtol, atol):
        return "Your answer is the transpose of the expected one: check the order of the operands or a `.T`."
    for factor, words in [(2.0, "twice"), (0.5, "half")]:
        if _close(got, factor * expected, rtol, atol):
            return f"Your answer is {words} the expected one: look for a factor of 2."
    # A constant ratio, e.g. a missing 1/N or an N too many.
    mask = np.abs(expected) > 1e-8 * max(1.0, float(np.max(np.abs(expected)))) if expected.size else None
    if mask is not None and mask.sum() >= 2:
        ratio = got[mask] / expected[mask]
        r = float(np.median(ratio))
        if np.isfinite(r) and abs(r - 1) > 1e-3 and np.allclose(ratio, r, rtol=1e-6, atol=0):
            return (f"Every entry is {r:.4g} times the expected one: a constant factor is off "
                    "(a missing 1/N in a mean, or a normalization).")
    return None


def diagnose(
    got,
    expected,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    mistakes: Mapping[str, object] | None = None,
) -> Mismatch | None:
    """``None`` if ``got`` matches ``expected``; otherwise what is wrong and a hint.

    Parameters
    ----------
    got : object
        The learner's answer.
    expected : ndarray or number
        The reference answer.
    rtol, atol : float
        As in ``np.allclose``.
    mistakes : mapping hint -> candidate
        Likely wrong answers for this question (each an array or a number); when ``got``
        matches one, its hint is given.
    """
    problem = type_problem(got, expected)
    if problem:
        return problem
    exp = np.asarray(expected, dtype=np.float64) if not np.iscomplexobj(expected) else np.asarray(expected)
    arr = np.asarray(got)
    if exp.ndim == 0 and arr.size == 1:
        arr = arr.reshape(())
    problem = shape_problem(arr, exp)
    if problem:
        return problem
    if arr.dtype.kind == "b":
        arr = arr.astype(np.float64)
    arr = arr.astype(np.complex128 if np.iscomplexobj(arr) else np.float64)
    if not np.all(np.isfinite(arr)) and np.all(np.isfinite(exp)):
        bad = np.argwhere(~np.isfinite(arr))
        where = f" at index {tuple(int(i) for i in bad[0])}" if arr.ndim else ""
        kind = "NaN" if np.isnan(arr).any() else "inf"
        return Mismatch(
            f"Your answer contains {kind}{where} ({len(bad)} entries), but the expected answer is finite.",
            error=float("inf"),
            hint="Look for an overflow (exp of a large number), a division by zero, or a log of 0.",
        )
    if np.allclose(arr, exp, rtol=rtol, atol=atol):
        return None
    diff = np.abs(arr - exp)
    max_err = float(np.max(diff))
    scale = float(np.max(np.abs(exp))) if exp.size else 0.0
    if arr.ndim:
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))
        where = f"largest difference at index {idx}: got {format_value(arr[idx].item())}, expected {format_value(exp[idx].item())}"
    else:
        where = f"got {format_value(arr.item())}, expected {format_value(exp.item())}"
    rel = f" (relative {max_err / scale:.2g})" if scale > 0 else ""
    message = f"Wrong values: max abs error {max_err:.3g}{rel}; {where}."
    matching = []
    for hint, candidate in (mistakes or {}).items():
        try:
            candidate = np.asarray(candidate, dtype=arr.dtype)
            # A candidate equal to the answer itself cannot tell a mistake apart: skip it.
            if _close(arr, candidate, rtol, atol) and not _close(candidate, exp, rtol, atol):
                matching.append(hint)
        except (TypeError, ValueError):
            continue
    if matching:
        # On an unlucky random case two slips can give the same numbers: name them all.
        return Mismatch(message, max_err, matching[0] if len(matching) == 1 else
                        "One of these: " + " | ".join(matching))
    return Mismatch(message, max_err, generic_hint(arr, exp, rtol, atol))
