"""Shared tax fixtures: the hand-built 3-asset, 6-lot case (``cases.py``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("trimtab_tests_tax_cases", Path(__file__).parent / "cases.py")
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)


@pytest.fixture(scope="session")
def hand():
    """The hand-built case module (``tests/optimizer/taxes/cases.py``)."""
    return cases
