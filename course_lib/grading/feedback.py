"""The result of one check, and how it is shown to a learner.

A :class:`CheckResult` is plain data (it round-trips through JSON) so that the
notebook grader can read it back from a notebook's outputs: ``check()`` displays it
with the mime type :data:`RESULT_MIME` (sealed with an HMAC, see :mod:`seal`) next to its
HTML and plain-text forms. Displaying a ``CheckResult`` object by hand shows only the HTML
and text: the machine-readable form comes from ``check()`` alone.
"""
from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field

RESULT_MIME = "application/vnd.deeplearningmath.check+json"

PASSED = "passed"
FAILED = "failed"
NOT_ATTEMPTED = "not attempted"
STATUSES = (PASSED, FAILED, NOT_ATTEMPTED)

# Blue / orange / grey from the Okabe-Ito palette: distinguishable with any colour
# vision, and every status also carries a word and a symbol.
_STYLE = {
    PASSED: ("#0072B2", "✔", "Passed"),
    FAILED: ("#D55E00", "✘", "Not yet"),
    NOT_ATTEMPTED: ("#6b6b6b", "…", "Not attempted"),
}


@dataclass
class CheckResult:
    """Outcome of ``check(qid, submission)``.

    Attributes
    ----------
    qid : str            question id, ``"NN.name"``
    title : str          what the question asks, in a few words
    status : str         one of ``"passed"``, ``"failed"``, ``"not attempted"``
    points, max_points : float
    message : str        what happened, in one or two sentences
    case : str or None   the failing input, printed small
    error : float or None  size of the error (largest absolute difference) where one was
                           measured; shown once, on its own line (messages do not repeat it)
    hint : str or None   aimed at the likely mistake
    seed : int or None   the random seed of this run (``COURSE_SEED`` reproduces it)
    output : str or None  the start of what the submission printed, if it printed a lot
    """

    qid: str
    title: str
    status: str
    points: float
    max_points: float
    message: str = ""
    case: str | None = None
    error: float | None = None
    hint: str | None = None
    seed: int | None = None
    output: str | None = None
    details: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def to_json(self) -> dict:
        data = asdict(self)
        if data["error"] is not None and not _finite(data["error"]):
            data["error"] = str(data["error"])  # JSON has no inf / nan
        return data

    @classmethod
    def from_json(cls, data: dict) -> "CheckResult":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        if isinstance(known.get("error"), str):
            known["error"] = float(known["error"])
        return cls(**known)

    # -- presentation -------------------------------------------------------------
    def __str__(self) -> str:
        _, symbol, word = _STYLE.get(self.status, _STYLE[FAILED])
        lines = [f"{symbol} {word}: {self.qid} {self.title} ({_pts(self.points)}/{_pts(self.max_points)})"]
        if self.message:
            lines.append(f"  {self.message}")
        if self.error is not None:
            lines.append(f"  size of the error (largest absolute difference): {self.error:.3g}")
        if self.case:
            lines.append("  failing case:")
            lines.extend("    " + line for line in self.case.splitlines())
        if self.output:
            lines.append("  your code printed (start):")
            lines.extend("    " + line for line in self.output.splitlines()[:10])
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        if self.seed is not None and self.status == FAILED:
            lines.append(f"  (random seed {self.seed}: set COURSE_SEED={self.seed} to repeat this case)")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour, symbol, word = _STYLE.get(self.status, _STYLE[FAILED])
        esc = html.escape
        parts = [
            f'<div class="course-check course-check-{self.status.replace(" ", "-")}" '
            f'style="border-left: 6px solid {colour}; padding: 6px 10px; margin: 4px 0; '
            f'background: rgba(127,127,127,0.06)">',
            f'<div><b style="color:{colour}">{symbol} {word}</b> &nbsp; <code>{esc(self.qid)}</code> '
            f"{esc(self.title)} &nbsp; <span>{_pts(self.points)}/{_pts(self.max_points)} pt</span></div>",
        ]
        if self.message:
            parts.append(f"<div>{esc(self.message)}</div>")
        if self.error is not None:
            parts.append(f"<div>Size of the error (largest absolute difference): <code>{self.error:.3g}</code></div>")
        if self.case:
            parts.append(f"<details open><summary>Failing case</summary><pre>{esc(self.case)}</pre></details>")
        if self.output:
            parts.append(f"<details><summary>Your code printed (start)</summary><pre>{esc(self.output)}</pre></details>")
        if self.hint:
            parts.append(f"<div><b>Hint:</b> {esc(self.hint)}</div>")
        if self.seed is not None and self.status == FAILED:
            parts.append(
                f'<div style="opacity:0.7; font-size:85%">Random seed {self.seed}: '
                f"set <code>COURSE_SEED={self.seed}</code> to repeat this case.</div>"
            )
        parts.append("</div>")
        return "".join(parts)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        # No RESULT_MIME here: only check() emits the machine-readable, sealed form.
        return {"text/plain": str(self), "text/html": self._repr_html_()}


def _pts(x: float) -> str:
    return f"{x:g}"


def _finite(x: float) -> bool:
    return x == x and x not in (float("inf"), float("-inf"))
