r"""The course's character corpus: text that is on every machine, built without a download.

Chapters 10 and 11 train character-level language models and compare them with the
count-based baselines in :mod:`course_lib.ngram`. Both need one text, the same on every
machine that installed the lock file. The Python standard library would do, but its
files change with the Python patch version; the lock file pins ``numpy`` exactly, so the
text is a fixed list of numpy's own source files (docstring-heavy: English prose,
doctest examples and code), about 1 MB.

Normalization keeps the vocabulary small and fixed: ``\r\n`` and ``\r`` become ``\n``,
a tab becomes four spaces, and every character outside printable ASCII (codes 32-126)
and ``\n`` becomes ``?`` (a few hundred characters: Greek letters, typographic quotes).
The vocabulary is the set of characters that occur, at most 96.

The split is by position: the last 10% of the text is the validation split, the rest
is training. A random split of characters (or of lines) would leak: neighbouring
characters of one word would land on both sides.

``load_corpus()`` reads the files once per process (about 20 ms) and caches the result;
it never touches the network.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: The distribution the text comes from, and the version the lock file pins.
SOURCE_DISTRIBUTION = "numpy"
#: Files inside the ``numpy`` package, concatenated in this order. ``_function_base_impl.py``
#: comes last, so the validation split (its second half) has the same style as training,
#: whose first half of the same file it follows.
SOURCE_FILES: tuple[str, ...] = (
    "_core/fromnumeric.py",
    "_core/numeric.py",
    "linalg/_linalg.py",
    "lib/_npyio_impl.py",
    "polynomial/polynomial.py",
    "polynomial/polyutils.py",
    "ma/core.py",
    "lib/_function_base_impl.py",
)
#: Fraction of the text, at its end, that is the validation split.
VAL_FRACTION = 0.1
#: What a character outside the vocabulary becomes.
REPLACEMENT = "?"
#: The characters allowed to occur: newline and printable ASCII.
ALLOWED = frozenset("\n" + "".join(chr(c) for c in range(32, 127)))


@dataclass(frozen=True, eq=False)
class Corpus:
    r"""A character corpus with its vocabulary and a fixed train/validation split.

    Attributes
    ----------
    text : str
        The whole normalized text.
    chars : list of str
        Sorted unique characters; ``vocab_size == len(chars)``. ``itos`` is the same list.
    stoi : dict
        Character to id (its index in ``chars``).
    train, val : ndarray of int64, shapes (N_train,) and (N_val,)
        The ids of ``text[:N_train]`` and ``text[N_train:]`` (read-only).
    sha256 : str
        SHA-256 of ``text`` encoded as UTF-8: the corpus's identity.
    sources : tuple of str
        What it was built from: ``"numpy==<version>:<path>"`` per file.
    """

    text: str
    chars: list[str]
    train: np.ndarray
    val: np.ndarray
    sha256: str
    sources: tuple[str, ...]
    stoi: dict[str, int] = field(repr=False)
    _table: np.ndarray = field(repr=False)

    @property
    def itos(self) -> list[str]:
        """Id to character: ``itos[i] == chars[i]``."""
        return self.chars

    @property
    def vocab_size(self) -> int:
        """Number of distinct characters, :math:`K` (the classes of the next-character softmax)."""
        return len(self.chars)

    def encode(self, s: str) -> np.ndarray:
        """Ids of the characters of ``s``: (len(s),) int64. Unknown characters raise ValueError."""
        if not isinstance(s, str):
            raise TypeError(f"encode expects a str, got {type(s).__name__}")
        codes = np.frombuffer(s.encode("utf-32-le"), dtype=np.uint32)
        ids = np.full(codes.shape, -1, dtype=np.int64)
        known = codes < len(self._table)
        ids[known] = self._table[codes[known]]
        if (ids < 0).any():
            bad = sorted({s[i] for i in np.flatnonzero(ids < 0)[:50]})
            raise ValueError(
                f"characters not in the corpus vocabulary: {bad!r}; "
                f"normalize them first (the corpus maps them to {REPLACEMENT!r})")
        return ids

    def decode(self, ids) -> str:
        """The string of the ids ``ids`` (any integer array-like, 1-D or scalar)."""
        arr = np.asarray(ids)
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"decode expects integer ids, got dtype {arr.dtype}")
        arr = arr.reshape(-1).astype(np.int64, copy=False)
        if arr.size and (arr.min() < 0 or arr.max() >= self.vocab_size):
            raise ValueError(f"ids must lie in [0, {self.vocab_size}), got range "
                             f"[{arr.min()}, {arr.max()}]")
        return "".join(self.chars[i] for i in arr.tolist())

    def __repr__(self) -> str:
        return (f"Corpus({len(self.text):,} chars, vocab {self.vocab_size}, train {self.train.size:,}, "
                f"val {self.val.size:,}, sha256 {self.sha256[:12]}...)")


def normalize(text: str) -> str:
    r"""Newlines unified, tabs as four spaces, characters outside printable ASCII as ``?``."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    if all(ch in ALLOWED for ch in set(text)):
        return text
    return "".join(ch if ch in ALLOWED else REPLACEMENT for ch in text)


def _package_dir(dist: str) -> Path:
    spec = importlib.util.find_spec(dist)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the corpus is built from the installed {dist!r} package, "
                           f"which is not importable here")
    return Path(next(iter(spec.submodule_search_locations)))


def build_corpus(files: tuple[str, ...] = SOURCE_FILES, val_fraction: float = VAL_FRACTION) -> Corpus:
    """Build a :class:`Corpus` from ``files`` inside the installed numpy (no caching).

    Parameters
    ----------
    files : tuple of str
        Paths relative to the numpy package directory, in order.
    val_fraction : float in (0, 1)
        The fraction at the end of the text that becomes the validation split.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction}")
    root = _package_dir(SOURCE_DISTRIBUTION)
    version = importlib.metadata.version(SOURCE_DISTRIBUTION)
    parts = []
    for rel in files:
        path = root / rel
        if not path.is_file():
            raise RuntimeError(f"corpus source {path} is missing: the installed {SOURCE_DISTRIBUTION} "
                               f"({version}) is not the one requirements-lock.txt pins")
        parts.append(normalize(path.read_text(encoding="utf-8")))
    text = "\n".join(parts)
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    table = np.full(max(map(ord, chars)) + 1, -1, dtype=np.int64)
    table[[ord(ch) for ch in chars]] = np.arange(len(chars))
    # Every character is ASCII after normalize(), so its byte is its code point.
    ids = table[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
    n_train = len(text) - int(round(val_fraction * len(text)))
    train, val = ids[:n_train].copy(), ids[n_train:].copy()
    for arr in (train, val, table):
        arr.setflags(write=False)  # shared by every caller of the cached corpus
    return Corpus(text=text, chars=chars, train=train, val=val,
                  sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                  sources=tuple(f"{SOURCE_DISTRIBUTION}=={version}:{rel}" for rel in files),
                  stoi=stoi, _table=table)


@functools.lru_cache(maxsize=1)
def load_corpus() -> Corpus:
    """The course corpus, built once per process (deterministic for a given lock file)."""
    return build_corpus()
