"""The package boundaries: pyclient, pyservices and pyinterop share pykit, never each other."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib

import pytest

from pykit.testing.processes import REPO

# package -> top-level packages it must never import (its tests included)
FORBIDDEN = {
    "pyclient": {"pyservices", "pyinterop"},
    "pyservices": {"pyclient", "pyinterop"},
    "pyinterop": {"pyclient", "pyservices"},
    "pykit": {"pyclient", "pyservices", "pyinterop"},
}


def imported_packages(source: str) -> set[str]:
    """The top-level package of every absolute import in `source`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_imported_packages_sees_every_import_form() -> None:
    source = (
        "import pyservices.files\nfrom pyclient import x\n"
        "def f():\n    import pykit.cli as c\n    from . import sibling\n"
    )
    assert imported_packages(source) == {"pyservices", "pyclient", "pykit"}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_its_neighbours(package: str) -> None:
    files = sorted((REPO / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    wrong = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in files
        for name in sorted(imported_packages(path.read_text(encoding="utf-8")))
        if name in FORBIDDEN[package]
    ]
    assert not wrong, wrong


def _modules(package: str) -> list[str]:
    """Every non-test module of `package`, as dotted names."""
    root = REPO / package
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        if "tests" in parts or "testing" in parts or parts[-1] == "__main__":
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_importing_the_packages_changes_nothing_in_the_process() -> None:
    """No environment variable set, stderr left alone: entry points do that, not imports."""
    modules = _modules("pykit") + _modules("pyservices")
    assert "pykit.cli" in modules and "pyservices.runner" in modules
    probe = (
        "import importlib, os, sys\n"
        "env, err, fd = dict(os.environ), sys.stderr, os.dup(2)\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "assert dict(os.environ) == env, set(os.environ.items()) ^ set(env.items())\n"
        "assert sys.stderr is err, 'sys.stderr was replaced'\n"
        "assert os.path.samestat(os.fstat(2), os.fstat(fd)), 'fd 2 was redirected'\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRPC_")}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_every_package_is_installed_and_tested() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    testpaths = pyproject["tool"]["pytest"]["ini_options"]["testpaths"]
    for package in FORBIDDEN:
        assert f"{package}*" in include, f"{package} is not in the package list"
        assert package in testpaths, f"{package} is not in testpaths"
