"""The three places that name dependencies agree: pyproject.toml (ranges),
requirements-lock.txt (exact pins for make and CI) and environment.yml (conda/Binder)."""
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = {"jupyterlab", "numpy", "matplotlib", "ipywidgets", "torch", "nbval"}  # the mission's list


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_requirements() -> dict[str, Requirement]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["dev"]
    return {_norm(Requirement(r).name): Requirement(r) for r in reqs}


def lock_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements-lock.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"requirements-lock.txt: {line!r} is not an exact pin"
            pins[_norm(name)] = version
    return pins


def environment_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        match = re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+)\s*(==|=)\s*([^\s#]+)", line)
        if match and match.group(1) != "python":
            pins[_norm(match.group(1))] = match.group(3)
    return pins


def test_lock_pins_torch_to_the_cpu_build_version():
    assert lock_pins()["torch"] == "2.13.0"


def test_required_packages_are_declared_everywhere():
    assert REQUIRED <= set(pyproject_requirements())
    assert REQUIRED <= set(lock_pins())
    assert REQUIRED <= set(environment_pins())


def test_environment_yml_matches_pyproject_and_lock():
    declared = pyproject_requirements()
    env = environment_pins()
    lock = lock_pins()
    assert set(env) == set(declared), (
        f"only in environment.yml: {sorted(set(env) - set(declared))}; "
        f"only in pyproject.toml: {sorted(set(declared) - set(env))}")
    for name, version in env.items():
        assert lock.get(name) == version, f"{name}: environment.yml has {version}, the lock file {lock.get(name)}"
        assert declared[name].specifier.contains(version), f"{name} {version} is outside pyproject's {declared[name]}"


def test_lock_satisfies_pyproject_ranges():
    lock = lock_pins()
    for name, req in pyproject_requirements().items():
        assert name in lock, f"{name} is in pyproject.toml but not pinned in requirements-lock.txt"
        assert req.specifier.contains(lock[name]), f"{name}=={lock[name]} is outside {req}"
