"""The engine's one public door for new ops, :func:`course_lib.autograd.record`.

- the example in the package docstring (an op with three inputs, two of them broadcast) is
  run as written and passes the gradient checker and ``torch.autograd`` in float64;
- the example in ``record``'s docstring runs and prints what it says;
- misuse fails at once or at the first backward pass, with a message that names the op;
- no module of the course reaches into the engine's private helpers: every op goes through
  ``record``.
"""
from __future__ import annotations

import doctest
import pathlib
import re
import textwrap

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import course_lib
import course_lib.autograd as autograd
from course_lib.autograd import Tensor, as_tensor, no_grad, record
from test_autograd_ops import check_op, draw


def docstring_example() -> dict:
    """Run the code block of the package docstring's "Defining a new op" section; return its names."""
    section = autograd.__doc__.split("Defining a new op", 1)[1]
    block = re.search(r"::\n\n(.*?)\n\n(?=\S)", section, re.S).group(1)
    namespace: dict = {}
    exec(textwrap.dedent(block), namespace)  # noqa: S102 - our own docstring
    return namespace


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 5), d=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_the_documented_new_op_passes_gradcheck_and_matches_torch(n, d, seed):
    scale_shift = docstring_example()["scale_shift"]
    rng = np.random.default_rng(seed)
    check_op(scale_shift, lambda x, a, b: a * x + b, [draw(rng, (n, d)), draw(rng, (d,)), draw(rng, (d,))], rng)


def test_the_documented_new_op_skips_inputs_without_grad():
    scale_shift = docstring_example()["scale_shift"]
    x, a, b = Tensor(np.ones((3, 2))), Tensor(np.full(2, 2.0), requires_grad=True), Tensor(np.zeros(2))
    scale_shift(x, a, b).sum().backward()
    assert x.grad is None and b.grad is None and np.allclose(a.grad, [3.0, 3.0])


def test_the_example_in_records_docstring_runs():
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner()
    for test in finder.find(record, "record", globs={"np": np, "Tensor": Tensor, "record": record}):
        runner.run(test)
    assert runner.failures == 0 and runner.tries >= 3


def test_an_op_records_its_graph_only_when_a_gradient_is_wanted():
    x = Tensor(np.ones(2), requires_grad=True)
    calls = []
    out = record(x.data * 2, (x,), lambda g: (calls.append(1) or 2 * g,), "double")
    assert out.requires_grad and not out.is_leaf and "op='double'" in repr(out)
    out.sum().backward()
    assert calls == [1] and np.allclose(x.grad, [2.0, 2.0])
    with no_grad():
        assert record(x.data * 2, (x,), lambda g: (2 * g,), "double").is_leaf
    assert record(np.ones(2), (Tensor(np.ones(2)),), None, "constant input").is_leaf
    assert record(np.float64(3.0), (), None, "scalar").data.shape == ()  # a NumPy scalar becomes a 0-d array


def test_as_tensor_shares_memory_and_keeps_tensors():
    a = np.ones(3, np.float32)
    t = as_tensor(a)
    assert t.data is a and not t.requires_grad
    assert as_tensor(t) is t
    assert as_tensor([1.0, 2.0]).dtype == np.float32 and as_tensor(np.ones(2)).dtype == np.float64
    x = Tensor(np.ones(2), requires_grad=True)
    y = as_tensor(x, np.float32)
    assert y.dtype == np.float32 and y.requires_grad  # a differentiable cast, as torch.as_tensor


# -- misuse ---------------------------------------------------------------------------------------------
def leaf(*shape):
    return Tensor(np.ones(shape), requires_grad=True)


@pytest.mark.parametrize("backward,message", [
    (lambda g: (g, g), r"'bad' returned 2 gradients, but the op has 1 input\(s\)"),
    (lambda g: (), r"'bad' returned 0 gradients"),
    (lambda g: g, r"'bad' returned an object of type ndarray.*a tuple with one gradient \(or None\) per input"),
    (lambda g: (g.sum(axis=0),), r"'bad' returned a gradient of shape \(3,\) for an input of shape \(2, 3\)"),
    (lambda g: (g.T,), r"'bad' returned a gradient of shape \(3, 2\) for an input of shape \(2, 3\)"),
])
def test_a_wrong_backward_rule_is_named_at_the_backward_pass(backward, message):
    x = leaf(2, 3)
    out = record(x.data * 1.0, (x,), backward, "bad")
    with pytest.raises(RuntimeError, match=message):
        out.sum().backward()


@pytest.mark.parametrize("args,message", [
    ((np.ones(2), (np.ones(2),), lambda g: (g,), "f"), r"record\('f'\): every input must be a Tensor, got ndarray"),
    ((np.ones(2, int), (leaf(2),), lambda g: (g,), "f"), r"record\('f'\): the output must be a float32 or float64"),
    ((np.ones(2), (leaf(2),), None, "f"), r"record\('f'\): backward must be a function"),
    ((np.ones(2), (leaf(2),), "g", "f"), r"record\('f'\): backward must be a function"),
])
def test_a_wrong_record_call_fails_at_once(args, message):
    with pytest.raises(TypeError, match=message):
        record(*args)


def test_no_module_reaches_into_the_engine_s_private_helpers():
    """Every op of the course is defined through ``record``: nothing imports ``_record`` or other private names."""
    root = pathlib.Path(course_lib.__file__).parent
    private = re.compile(r"from course_lib\.autograd(\.\w+)? import [^\n]*\b_\w+|autograd\.\w+\._\w+")
    offenders = [str(path.relative_to(root)) for path in root.rglob("*.py") if private.search(path.read_text())]
    assert offenders == []
