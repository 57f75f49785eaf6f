"""Shared fixtures."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "trimtab_tests_skfolio_files", Path(__file__).parent / "models" / "skfolio_files.py"
)
skfolio_files = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(skfolio_files)


@pytest.fixture
def skfolio_user_files(tmp_path: Path) -> dict[str, Path]:
    """CSV universe/returns/holdings files of 20 real S&P 500 stocks (see ``skfolio_files``)."""
    return skfolio_files.write_skfolio_user_files(tmp_path)


_toy_spec = importlib.util.spec_from_file_location("trimtab_tests_toy_data", Path(__file__).parent / "toy_data.py")
toy_data = importlib.util.module_from_spec(_toy_spec)
_toy_spec.loader.exec_module(toy_data)


@pytest.fixture(scope="session")
def toy():
    """(snapshot, risk_model) of a 40-name random universe; see ``tests/toy_data.py``."""
    return toy_data.make_toy()


def _tree_root() -> str:
    """The folder whose ``trimtab`` the tests import: site-packages, or the repository root."""
    import trimtab

    return str(Path(trimtab.__file__).resolve().parents[1])


@pytest.fixture
def trimtab_process():
    """Run ``python -m trimtab ARGS`` in a fresh process on the trimtab under test.

    The child imports the same ``trimtab`` as the tests (the installed copy, or the source
    tree under ``python -m pytest``), so a subprocess never tests a stale install. Returns a
    function ``run(*args, cwd=None, env=None, timeout=120, input=None) -> CompletedProcess``
    (text mode, output captured, never raising on a non-zero exit).
    """
    import os
    import subprocess
    import sys

    def run(*args, cwd=None, env=None, timeout=120, input=None):
        environment = {**os.environ, **(env or {})}
        environment["PYTHONPATH"] = os.pathsep.join(p for p in (_tree_root(), environment.get("PYTHONPATH")) if p)
        environment.setdefault("COLUMNS", "200")
        return subprocess.run(
            [sys.executable, "-m", "trimtab", *map(str, args)],
            cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout, input=input, check=False,
        )

    return run
