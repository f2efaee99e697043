"""Compare a learner's answer with the reference and say *why* it differs.

:func:`diagnose` returns ``None`` when the answer is right, and otherwise a
:class:`Mismatch` with a message, the size of the error and a hint. Hints come first
from the question's own list of likely mistakes (candidate wrong answers), then from the
answer's dtype (float16 or float32 rounding, an integer array), then from generic patterns:
all zeros, a transposed result, a flipped sign, a factor of 2, a sequence shifted by one
step, a constant factor such as a missing ``1/N``, a missing axis, one entry too many.
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


def _low_precision(dtype: np.dtype) -> bool:
    """float16, float32, complex64: fewer digits than the float64 the references use."""
    return dtype.kind in "fc" and np.finfo(dtype).eps > np.finfo(np.float64).eps


def _dtype_note(dtype: np.dtype) -> str:
    digits = int(np.finfo(dtype).precision)
    return (f"Your answer has dtype {dtype}, which keeps only about {digits} significant digits (float64 keeps "
            "about 15).")


def _dtype_hint(raw: np.dtype, arr: np.ndarray, exp: np.ndarray, rtol: float, atol: float) -> str | None:
    """A hint when the answer is right except for the precision or kind of its dtype."""
    if _low_precision(raw):
        # Right to within the dtype's own rounding: then the dtype is the whole problem.
        eps = float(np.finfo(raw).eps)
        if np.allclose(arr, exp, rtol=max(rtol, 4 * eps), atol=max(atol, 4 * eps * float(np.max(np.abs(exp))))):
            return (f"{_dtype_note(raw)} The values are right to that precision: compute in float64 (do not "
                    f"convert with .astype({raw}) or create arrays with dtype={raw}).")
        return None
    if raw.kind in "iu" and np.isrealobj(exp) and not np.all(exp == np.round(exp)):
        return (f"Your answer has integer dtype {raw}, so it cannot hold the fractional parts of the right "
                "answer: look for floor division `//`, `np.zeros(..., dtype=int)` filled with floats, or "
                "`.astype(int)`.")
    return None


def generic_hint(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> str | None:
    """Recognize the usual slips from the numbers alone."""
    if got.size and not np.any(got) and np.any(np.abs(expected) > atol):
        return ("Your answer is all zeros. Did you return the array you started from (np.zeros...) before "
                "filling it, or return inside a loop that never ran?")
    if _close(got, -expected, rtol, atol):
        return "Your answer has the opposite sign everywhere: check a minus sign."
    if got.ndim == 2 and got.shape[0] == got.shape[1] and _close(got, expected.T, rtol, atol):
        return "Your answer is the transpose of the expected one: check the order of the operands or a `.T`."
    for factor, words in [(2.0, "twice"), (0.5, "half")]:
        if _close(got, factor * expected, rtol, atol):
            return f"Your answer is {words} the expected one: look for a factor of 2."
    if got.ndim == 1 and got.size >= 3:
        # A sequence (one value per step) shifted by one: the loop index starts or stops one step off.
        # Per-entry tolerances shift with the entries they belong to.
        rt, at = (np.broadcast_to(np.asarray(x, dtype=float), expected.shape) for x in (rtol, atol))
        if _close(got[1:], expected[:-1], rt[:-1], at[:-1]):
            return ("Your sequence is one step late: entry t holds the value expected at t - 1. Look for an "
                    "off-by-one loop (which step is the first, range(1, n) vs range(n)).")
        if _close(got[:-1], expected[1:], rt[1:], at[1:]):
            return ("Your sequence is one step early: entry t holds the value expected at t + 1. Look for an "
                    "off-by-one loop (an update applied before the value is stored, or range(n + 1)).")
    # A constant ratio, e.g. a missing 1/N or an N too many.
    mask = np.abs(expected) > 1e-8 * max(1.0, float(np.max(np.abs(expected)))) if expected.size else None
    if mask is not None and mask.sum() >= 2:
        ratio = got[mask] / expected[mask]
        r = float(np.median(ratio))
        if np.isfinite(r) and r != 0 and abs(r - 1) > 1e-3 and np.allclose(ratio, r, rtol=1e-6, atol=0):
            return (f"Every entry is {r:.4g} times the expected one: a constant factor is off "
                    "(a missing 1/N in a mean, or a normalization).")
    return None


def _off_by_one_length(got: np.ndarray, expected: np.ndarray) -> str | None:
    """The hint for a 1-D answer one entry short or long: a loop's range is off by one."""
    if got.ndim == expected.ndim == 1 and abs(got.size - expected.size) == 1:
        words = "one entry too few" if got.size < expected.size else "one entry too many"
        return (f"{words.capitalize()}: a loop's range is probably off by one (range(n) runs n times, "
                "range(1, n) n - 1 times).")
    return None


def matching_mistakes(got: np.ndarray, expected: np.ndarray, mistakes: Mapping[str, object] | None,
                      rtol: float, atol: float) -> list[str]:
    """The hints of every candidate mistake that ``got`` equals (and the right answer does not)."""
    matching = []
    for hint, candidate in (mistakes or {}).items():
        try:
            candidate = np.asarray(candidate, dtype=got.dtype)
            if candidate.ndim == 0 and got.size == 1:
                candidate = candidate.reshape(got.shape)
            # A candidate equal to the right answer cannot tell a mistake apart: skip it.
            if _close(got, candidate, rtol, atol) and not _close(candidate, expected, rtol, atol):
                matching.append(hint)
        except (TypeError, ValueError):
            continue
    return matching


def _one_hint(matching: list[str]) -> str | None:
    if not matching:
        return None
    # On an unlucky random case two slips can give the same numbers: name them all.
    return matching[0] if len(matching) == 1 else "One of these: " + " | ".join(matching)


def _abs_diff(arr: np.ndarray, exp: np.ndarray) -> np.ndarray:
    """``|arr - exp|``, with 0 where both are the same infinity (inf - inf would be nan)."""
    with np.errstate(invalid="ignore"):
        return np.where(arr == exp, 0.0, np.abs(arr - exp))


def _where(arr: np.ndarray, exp: np.ndarray, rtol: float, atol: float) -> str:
    """Name the entry that broke the tolerance the most, ``|got - ref| / (atol + rtol |ref|)``.

    Not the largest absolute difference: with a relative tolerance a big entry may be off by more
    and still pass while a small one fails.
    """
    allowed = atol + rtol * np.abs(exp)
    diff = _abs_diff(arr, exp)
    with np.errstate(divide="ignore", invalid="ignore"):  # atol = 0 with a zero reference: allowed is 0
        excess = np.where(diff == 0, 0.0, diff / allowed)
    if arr.ndim == 0:
        return (f"got {format_value(arr.item())}, expected {format_value(exp.item())} "
                f"(the tolerance is ±{float(allowed):.2g})")
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(excess)), excess.shape))
    bad = int(np.sum(excess > 1))
    return (f"{bad} of {arr.size} entries are off; the worst for the tolerance is at index "
            f"{idx[0] if len(idx) == 1 else idx}: "
            f"got {format_value(arr[idx].item())}, expected {format_value(exp[idx].item())} "
            f"(the tolerance there is ±{float(allowed[idx]):.2g})")


def diagnose(
    got,
    expected,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    mistakes: Mapping[str, object] | None = None,
) -> Mismatch | None:
    r"""``None`` if ``got`` matches ``expected``; otherwise what is wrong and a hint.

    An entry passes when :math:`|g - e| \le \mathrm{atol} + \mathrm{rtol}\,|e|` (as in
    ``np.allclose``). The message names the entry that broke that bound by the largest factor
    and does not repeat the size of the error, which the result shows once on its own line
    (:attr:`Mismatch.error`, the largest absolute difference).

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
        matches one, its hint is given. A candidate of another shape than the reference is
        compared too, so that a slip which changes the shape gets its own hint.
    """
    exp = np.asarray(expected, dtype=np.float64) if not np.iscomplexobj(expected) else np.asarray(expected)
    problem = type_problem(got, expected)
    if problem:
        # A number where an array was expected (or the reverse) may still be a known slip, such as
        # a sum over every axis: let the question's own hint explain it.
        if isinstance(got, (int, float, np.number, np.ndarray)) and np.asarray(got).dtype.kind in "biuf":
            hint = _one_hint(matching_mistakes(np.asarray(got, dtype=np.float64), exp, mistakes, rtol, atol))
            problem.hint = hint or problem.hint
        return problem
    arr = np.asarray(got)
    raw_dtype = arr.dtype
    if exp.ndim == 0 and arr.size == 1:
        arr = arr.reshape(())
    if arr.dtype.kind == "b":
        arr = arr.astype(np.float64)
    arr = arr.astype(np.complex128 if np.iscomplexobj(arr) else np.float64)
    problem = shape_problem(arr, exp)
    if problem:
        problem.hint = (_one_hint(matching_mistakes(arr, exp, mistakes, rtol, atol))
                        or _off_by_one_length(arr, exp) or problem.hint)
        return problem
    if not np.all(np.isfinite(arr)) and np.all(np.isfinite(exp)):
        bad = np.argwhere(~np.isfinite(arr))
        where = f" at index {tuple(int(i) for i in bad[0])}" if arr.ndim else ""
        kind = "NaN" if np.isnan(arr).any() else "inf"
        hint = "Look for an overflow (exp of a large number), a division by zero, or a log of 0."
        if _low_precision(raw_dtype):
            hint = f"{_dtype_note(raw_dtype)} Its largest value is {np.finfo(raw_dtype).max:.4g}: compute in float64."
        return Mismatch(
            f"Your answer contains {kind}{where} ({len(bad)} entries), but the expected answer is finite.",
            error=float("inf"), hint=hint,
        )
    if np.allclose(arr, exp, rtol=rtol, atol=atol):
        return None
    max_err = float(np.max(_abs_diff(arr, exp)))
    message = f"Wrong value{'s' if arr.ndim else ''}: {_where(arr, exp, rtol, atol)}."
    hint = (_one_hint(matching_mistakes(arr, exp, mistakes, rtol, atol))
            or _dtype_hint(raw_dtype, arr, exp, rtol, atol) or generic_hint(arr, exp, rtol, atol))
    if _low_precision(raw_dtype) and _dtype_note(raw_dtype) not in (hint or ""):
        message += f" {_dtype_note(raw_dtype)}"
    return Mismatch(message, max_err, hint)
