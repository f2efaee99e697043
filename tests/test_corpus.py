"""The course corpus (chapters 10 and 11): deterministic for a given lock file, fast, no download."""
import socket
import time

import numpy as np
import pytest

from course_lib import corpus as C
from course_lib.corpus import load_corpus

# The identity of the corpus built from numpy==2.4.6 (requirements-lock.txt). If this fails,
# the lock file (or the installed numpy) changed: the corpus text changed with it, and every
# figure quoted from it (the baselines, the models' losses) must be re-measured.
EXPECTED_SHA256 = "c1cdb7118a8f2a1ae21c796d7a514495d9b58d099f9d23996c553adaeb5eb3ca"
EXPECTED_LENGTH = 997_495
EXPECTED_NUMPY = "2.4.6"


def test_identity_matches_the_lock_file():
    c = load_corpus()
    lock = (C.Path(__file__).resolve().parents[1] / "requirements-lock.txt").read_text()
    assert f"numpy=={EXPECTED_NUMPY}" in lock.split(), (
        "requirements-lock.txt no longer pins numpy==2.4.6: rebuild the corpus, re-measure the "
        "baselines and models, then update EXPECTED_* in this test")
    assert all(s.startswith(f"numpy=={EXPECTED_NUMPY}:") for s in c.sources), (
        f"the installed numpy is not the locked {EXPECTED_NUMPY}: {c.sources[0]}; install from "
        "requirements-lock.txt")
    assert (len(c.text), c.sha256) == (EXPECTED_LENGTH, EXPECTED_SHA256), (
        f"corpus changed: length {len(c.text)}, sha256 {c.sha256}. The lock file (numpy) or "
        "course_lib/corpus.py's file list or normalization changed; re-measure the baselines "
        "and update this test")


def test_split_vocabulary_and_round_trip():
    c = load_corpus()
    assert c.vocab_size == len(c.chars) == len(c.itos) == len(c.stoi) <= 96
    assert c.chars == sorted(set(c.text))
    assert all(c.stoi[ch] == i for i, ch in enumerate(c.itos))
    assert c.train.dtype == c.val.dtype == np.int64
    assert c.train.size + c.val.size == len(c.text)
    assert c.val.size == round(C.VAL_FRACTION * len(c.text))
    # The split is by position: val is the end of the text.
    assert c.decode(c.val) == c.text[c.train.size:]
    assert c.decode(c.train[:5000]) == c.text[:5000]
    np.testing.assert_array_equal(c.encode(c.text[-777:]), c.val[-777:])
    assert not c.train.flags.writeable and not c.val.flags.writeable


def test_normalization_leaves_a_small_printable_vocabulary():
    assert C.normalize("a\tb\r\nc\rd\u03b1\u201c") == "a    b\nc\nd??"
    assert set(load_corpus().text) <= C.ALLOWED


def test_encode_decode_errors_are_clear():
    c = load_corpus()
    with pytest.raises(ValueError, match="not in the corpus vocabulary"):
        c.encode("caf\u00e9")
    with pytest.raises(TypeError):
        c.encode(b"abc")
    with pytest.raises(ValueError, match=r"\[0, "):
        c.decode([0, c.vocab_size])
    with pytest.raises(TypeError):
        c.decode([0.5])
    assert c.decode([]) == "" and c.encode("").shape == (0,)
    assert c.decode(np.int64(c.stoi["a"])) == "a"


def test_cached_fast_and_offline(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("the corpus must not use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    C.load_corpus.cache_clear()
    t0 = time.perf_counter()
    c = load_corpus()
    build = time.perf_counter() - t0
    assert build < 1.0, f"building the corpus took {build:.2f} s"
    assert load_corpus() is c


def test_build_rejects_bad_split():
    with pytest.raises(ValueError, match="val_fraction"):
        C.build_corpus(val_fraction=1.0)
    with pytest.raises(RuntimeError, match="missing"):
        C.build_corpus(files=("no/such/file.py",))
