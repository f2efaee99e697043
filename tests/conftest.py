"""Suite-wide set-up: no network for this process or any kernel it starts."""
import os
import sys
from pathlib import Path

NETBLOCK = Path(__file__).parent / "netblock"


def pytest_configure(config):
    # Kernels (nbval, the grader, JupyterLab) inherit this environment.
    os.environ["COURSE_BLOCK_NETWORK"] = "1"
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(NETBLOCK), os.environ.get("PYTHONPATH")]))
    # Matplotlib without a display, and no per-user cache writes in odd places.
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.path.insert(0, str(NETBLOCK))
    import sitecustomize as netblock  # noqa: F401  (this folder's module, not a system one)

    if getattr(netblock, "install", None):
        netblock.install()
