"""A corpus of bad submissions to question 01.matmul (C = A B).

Each entry is a learner's cell that defines ``matmul`` (or misbehaves at top level),
and a fragment of the message the learner must get. Neither the in-process check
(test_grading_fuzz.py) nor the notebook grader may crash on any of them.

``level``: "function" entries misbehave when the check calls them; "cell" entries
misbehave in the cell itself, so only the notebook grader sees them.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Bad:
    name: str
    code: str
    message: str  # a fragment of the result's message or hint (case-insensitive)
    level: str = "function"
    status: str = "failed"  # printing a lot is not wrong: the answer passes, with a note


CORPUS = [
    Bad("raises_value_error", "def matmul(A, B):\n    raise ValueError('bad shapes')", "raised ValueError: bad shapes"),
    Bad("returns_none", "def matmul(A, B):\n    C = A @ B", "returned None"),
    Bad("wrong_shape", "def matmul(A, B):\n    return (A @ B)[:, :1]", "shape"),
    Bad("transposed", "def matmul(A, B):\n    return B.T @ A.T", "transpose"),
    Bad("wrong_dtype_strings", "def matmul(A, B):\n    return (A @ B).astype(str)", "dtype"),
    Bad("nan", "import numpy as np\ndef matmul(A, B):\n    C = A @ B\n    C[0, 0] = np.nan\n    return C", "nan"),
    Bad("inf", "import numpy as np\ndef matmul(A, B):\n    return (A @ B) * np.inf", "inf"),
    Bad("returns_list", "def matmul(A, B):\n    return (A @ B).tolist()", "returned a list"),
    Bad("mutates_input", "def matmul(A, B):\n    A *= 2\n    return A @ B / 2", "changed its 1st argument in place"),
    Bad("infinite_loop", "def matmul(A, B):\n    while True:\n        pass", "did not finish within"),
    Bad("prints_megabytes", "def matmul(A, B):\n    print('x' * 3_000_000)\n    return A @ B",
        "characters; they are not shown in full", status="passed"),
    Bad("sys_exit", "import sys\ndef matmul(A, B):\n    sys.exit(1)", "sys.exit"),
    Bad("recursion", "def matmul(A, B):\n    return matmul(A, B)", "recursed too deeply"),
    Bad("missing_module_inside", "def matmul(A, B):\n    import numpy_but_faster\n    return A @ B",
        "ModuleNotFoundError"),
    Bad("torch_tensor", "import torch\ndef matmul(A, B):\n    return torch.from_numpy(A) @ torch.from_numpy(B)",
        "torch.Tensor"),
    Bad("hard_coded", "import numpy as np\ndef matmul(A, B):\n    return np.ones((A.shape[0], B.shape[1]))",
        "wrong values"),
    Bad("not_a_function", "matmul = 42", "expected a function"),
    Bad("keyboard_interrupt", "def matmul(A, B):\n    raise KeyboardInterrupt", "interrupted"),
    # Misbehaviour in the cell itself: only the notebook grader can meet these.
    Bad("os_exit", "import os\nos._exit(3)", "kernel died", level="cell"),
    Bad("deletes_check", "del check\ndef matmul(A, B):\n    return A @ B", "NameError", level="cell"),
    Bad("rebinds_check", "check = lambda *args: None\ndef matmul(A, B):\n    return A @ B", "rebound", level="cell"),
    Bad("missing_module_top", "import numpy_but_faster\ndef matmul(A, B):\n    return A @ B",
        "cell 1 raised ModuleNotFoundError", level="cell"),
    Bad("top_level_infinite_loop", "while True:\n    pass", "cell 1 was stopped", level="cell"),
    Bad("top_level_sys_exit", "import sys\nsys.exit(0)\ndef matmul(A, B):\n    return A @ B", "NameError",
        level="cell"),
]
