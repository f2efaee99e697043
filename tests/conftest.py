"""Suite-wide set-up: no network for this process or any kernel it starts; in CI, property
tests draw the same examples on every run."""
import os
import sys
from pathlib import Path

from hypothesis import settings

# CI gates a merge, so its property tests are reproducible (derandomize) and never fail on a
# slow, shared machine's timing (no deadline). Locally they keep exploring new examples.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

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
