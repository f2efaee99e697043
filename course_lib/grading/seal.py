r"""Results the grader can trust: each check result carries an HMAC made with a per-run key.

``course grade`` draws a fresh random key for every notebook it runs, writes it to a file in
its own private temporary folder (mode 0600), and starts the kernel with that file's path in
:data:`KEY_FILE_ENV` and an ``exec_lines`` entry that imports this module before any cell
runs. On import, this module takes the key: it removes the variable from ``os.environ``
(so neither the notebook nor a process it starts sees the path), reads the file and deletes
it. The key itself is never in the environment, on disk after start-up, or in any output.

:func:`seal` adds ``"hmac"``, the hex HMAC-SHA256 of the result's canonical JSON
(:func:`canonical`), to the payload that ``check()`` displays; the grader keeps a displayed
result only when :func:`verify` finds that HMAC valid for the key it drew. A bundle typed
into a cell, copied from another run or made by displaying a ``CheckResult`` by hand has no
valid HMAC and is ignored.

The limit, stated plainly: code running in the kernel can read this module's memory (or
patch ``check`` or NumPy) and forge a result. That takes deliberate effort; this is a
learning tool, not an exam proctor.

Outside the grader (a learner's JupyterLab, pytest) there is no key: results are displayed
without an HMAC, which is fine because nothing there counts them.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets

KEY_FILE_ENV = "COURSE_GRADER_KEY_FILE"
SIGNATURE_FIELD = "hmac"

# The kernel start-up line that takes the key before any cell runs. A statement that binds no
# name and displays nothing, so the notebook's namespace and outputs are the same as in JupyterLab.
TAKE_KEY_LINE = "if __import__('course_lib.grading.seal'): pass"


def new_key() -> bytes:
    """A fresh 256-bit key for one notebook run."""
    return secrets.token_bytes(32)


def canonical(payload: dict) -> bytes:
    """The bytes an HMAC covers: sorted keys, no spaces, ASCII only.

    Deterministic for a payload that has been through JSON (as every displayed result
    has), so the grader, reading the notebook's outputs, hashes exactly what the kernel did.
    """
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def signature(payload: dict, key: bytes) -> str:
    """Hex HMAC-SHA256 of :func:`canonical` ``(payload)`` under ``key``."""
    return hmac.new(key, canonical(payload), hashlib.sha256).hexdigest()


def verify(data: object, key: bytes | None) -> dict | None:
    """The payload of a displayed result if its HMAC is valid under ``key``, else ``None``."""
    if key is None or not isinstance(data, dict):
        return None
    claimed = data.get(SIGNATURE_FIELD)
    if not isinstance(claimed, str):
        return None
    payload = {k: v for k, v in data.items() if k != SIGNATURE_FIELD}
    try:
        expected = signature(payload, key)
    except (TypeError, ValueError):  # not JSON data: not something check() displayed
        return None
    return payload if hmac.compare_digest(expected, claimed) else None


def _take_key():
    """Read and remove the key this kernel was started with; return a signer that holds it."""
    path = os.environ.pop(KEY_FILE_ENV, None)
    key = None
    if path:
        try:
            with open(path, "rb") as fh:
                key = fh.read() or None
            os.unlink(path)
        except OSError:
            key = None

    def sign(payload: dict) -> str | None:
        return signature(payload, key) if key else None

    return sign


_sign = _take_key()


def seal(payload: dict) -> dict:
    """``payload`` (after a JSON round trip) with its HMAC under this kernel's key (``None`` without one)."""
    clean = json.loads(json.dumps(payload))
    clean[SIGNATURE_FIELD] = _sign(clean)
    return clean
