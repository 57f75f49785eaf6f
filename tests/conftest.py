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
