"""Imports go one way: models ← constraints ← optimizer; models uses only numpy/pandas/sklearn."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

PACKAGES = ("models", "constraints", "optimizer")
#: What each package may import among the three.
ALLOWED = {"models": set(), "constraints": {"models"}, "optimizer": {"models", "constraints"}}
#: Third-party libraries models/ may import (the rest of the stack stays out of it).
MODELS_THIRD_PARTY = {"numpy", "pandas", "sklearn", "scipy"}


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.submodule_search_locations, name
    return Path(next(iter(spec.submodule_search_locations)))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_flow_one_way(package):
    files = sorted(_package_dir(package).glob("*.py"))
    assert files
    for file in files:
        forbidden = (_imports(file) & set(PACKAGES)) - ALLOWED[package] - {package}
        assert not forbidden, f"{package}/{file.name} imports {sorted(forbidden)}"


def test_models_uses_only_the_numeric_stack():
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for file in sorted(_package_dir("models").glob("*.py")):
        third_party = _imports(file) - stdlib - {"models"}
        assert third_party <= MODELS_THIRD_PARTY, f"models/{file.name} imports {sorted(third_party - MODELS_THIRD_PARTY)}"


def test_the_checker_catches_a_backwards_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from optimizer import optimize\nimport constraints.x\n")
    assert _imports(bad) & set(PACKAGES) == {"optimizer", "constraints"}
