"""Suite-wide set-up: no network for this process or any kernel it starts; property tests that
draw the same examples on every run, and a fuzz mode (``make fuzz``) that draws fresh ones.

Hypothesis profiles
-------------------
``deterministic`` (always loaded: ``make test``, CI, a single ``pytest`` run)
    Every machine, every run, draws the same examples (``derandomize``), so a test suite that
    passed once passes again and a merge is never decided by luck. No deadline and no
    ``too_slow`` health check: both measure the machine, not the code. No example database, so
    an old failure stored by a fuzz run cannot leak into ``make test``.
``fuzz`` (``pytest tests --hypothesis-profile=fuzz``, which is what ``make fuzz`` runs)
    Fresh random examples on every run, :data:`FUZZ_FACTOR` times as many per test as the
    deterministic profile (a test's own ``@settings(max_examples=N)`` included: see
    :func:`pytest_collection_modifyitems`), only the property tests collected, failures stored
    in ``.hypothesis/`` (replayed first on the next fuzz run) and printed with a
    ``@reproduce_failure`` blob. A falsifying example is a bug to fix at its root.

Settings objects inherit the profile that is loaded when they are created, i.e. when a test
module is imported; so a test module must never load a profile itself (it would change the
examples of every module imported after it) and sets its own values with ``@settings`` only.
"""
import importlib
import os
import pkgutil
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

FUZZ_FACTOR = 10

# Both built on hypothesis's own defaults, never on whatever profile $CI made current.
_BASE = settings.get_profile("default")
settings.register_profile("deterministic", _BASE, derandomize=True, deadline=None, database=None,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", _BASE, derandomize=False, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
# Whatever CI says: hypothesis loads its own "ci" profile when it sees $CI; this replaces it, so
# a learner's machine and CI draw the same examples. `--hypothesis-profile=fuzz` (applied in the
# hypothesis plugin's pytest_configure, after this import) switches to fuzzing.
settings.load_profile("deterministic")

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


def pytest_collection_finish(session):
    # Hypothesis mixes constants it finds in local source (here: course_lib's modules) into the
    # examples it draws, and rescans whenever a new module is imported. Tests import some modules
    # lazily (check() loads a chapter's questions on first use), and xdist hands out test files in
    # whatever order its workers free up, so without this the derandomized examples of a test
    # would depend on which tests happened to run before it on its worker. Importing the whole
    # package before any test draws fixes the pool: the same code gives the same examples.
    import course_lib

    for module in pkgutil.walk_packages(course_lib.__path__, "course_lib."):
        if not module.name.endswith("__main__"):  # runs the CLI
            importlib.import_module(module.name)


# -- fuzz mode ----------------------------------------------------------------------------------
def _fuzzing() -> bool:
    return settings.get_current_profile_name() == "fuzz"


def _is_property_test(item) -> bool:
    return getattr(getattr(item, "obj", None), "is_hypothesis_test", False)


def pytest_collection_modifyitems(config, items):
    if not _fuzzing():
        return
    keep = [item for item in items if _is_property_test(item)]
    deselected = [item for item in items if not _is_property_test(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = keep
    # A test's own @settings(max_examples=N) overrides any profile, so the profile alone cannot
    # scale it: scale the settings each test actually runs with (hypothesis reads them from this
    # attribute at call time; the pytest plugin does the same). Once per function, however many
    # parametrized items share it.
    scaled = {}
    for item in keep:
        fn = getattr(item.obj, "__func__", item.obj)
        if id(fn) not in scaled:
            own = fn._hypothesis_internal_use_settings
            fn._hypothesis_internal_use_settings = settings(own, max_examples=own.max_examples * FUZZ_FACTOR,
                                                            derandomize=False)
            scaled[id(fn)] = own.max_examples * FUZZ_FACTOR
        item.user_properties.append(("fuzz_max_examples", scaled[id(fn)]))


@pytest.hookimpl(hookwrapper=True, trylast=True)  # innermost: inside the hypothesis plugin's wrapper
def pytest_runtest_call(item):
    if not (_fuzzing() and _is_property_test(item)):
        yield
        return
    # Count the examples that really ran (the plugin's statistics callback, chained).
    from hypothesis.statistics import collector

    outer = collector.value

    def count(stats):
        cases = stats.get("generate-phase", {}).get("test-cases", [])
        item.user_properties.append(("fuzz_examples", sum(c["status"] == "valid" for c in cases)))
        if outer is not None:
            outer(stats)

    with collector.with_value(count):
        yield


def pytest_terminal_summary(terminalreporter):
    if not _fuzzing():
        return
    tests, outcomes, examples = set(), {}, 0
    for reports in terminalreporter.stats.values():
        for report in reports:
            props = dict(getattr(report, "user_properties", ()))
            if getattr(report, "when", None) == "call" and "fuzz_max_examples" in props:
                tests.add(report.nodeid)
                outcomes[report.outcome] = outcomes.get(report.outcome, 0) + 1
                examples += props.get("fuzz_examples", 0)
    terminalreporter.section("fuzz")
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items()))
    terminalreporter.write_line(f"{len(tests)} property tests ran ({summary}), {examples} passing examples in all, "
                                f"{FUZZ_FACTOR}x the examples per test of `make test`.")
    seed = terminalreporter.config.getoption("--hypothesis-seed")
    if seed is not None:
        terminalreporter.write_line(f"Seed {seed}: `make fuzz FUZZ_SEED={seed}` draws these examples again.")
